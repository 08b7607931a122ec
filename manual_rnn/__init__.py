"""manual_rnn: recurrent networks with backpropagation through time written by hand in NumPy."""
from . import losses
from .model import backward, forward, loss_and_grad, loss_and_grads
from .spec import Spec, init_params, param_shapes

__all__ = ["Spec", "init_params", "param_shapes", "forward", "backward", "loss_and_grad",
           "loss_and_grads", "losses"]
