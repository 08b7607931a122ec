"""manual_rnn: recurrent networks with backpropagation through time written by hand in NumPy."""
from . import losses
from . import optim, tasks
from .model import backward, dropout_masks, forward, loss_and_grad, loss_and_grads
from .optim import clip_grad_norm
from .spec import Spec, init_params, param_shapes

__all__ = ["Spec", "init_params", "param_shapes", "forward", "backward", "loss_and_grad",
           "loss_and_grads", "losses", "dropout_masks", "optim", "clip_grad_norm", "tasks"]
