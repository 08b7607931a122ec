"""manual_rnn: recurrent networks with backpropagation through time written by hand in NumPy.

The package has three parts, and imports flow one way, core <- verify <- app:

- the numerical core: `spec`, `cells`, `layers`, `model`, `losses` (with `checks`,
  `activations`, `sequences`);
- `verify`: the tools that check gradients (finite differences, RTRL);
- `app`: tasks, optimisers, training, checkpoints, the demo and the command line.
"""
__version__ = "0.2.0"

from . import losses
from .app import optim, tasks
from .app.optim import clip_grad_norm
from .model import backward, dropout_masks, forward, LossAndGrad, loss_and_grad
from .spec import Spec, init_params, param_shapes, zero_state

__all__ = ["Spec", "init_params", "param_shapes", "zero_state", "forward", "backward",
           "loss_and_grad", "LossAndGrad", "losses", "dropout_masks", "optim", "clip_grad_norm",
           "tasks", "__version__"]
