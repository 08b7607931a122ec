"""An independent JAX twin of manual_rnn's forward pass and loss.

It shares only `manual_rnn.spec` with the hand-written library, so `jax.grad` of this forward pass
is an independent check of manual_rnn's hand-written backward pass.

    ys, state = forward(spec, params, xs, h0=None, lengths=None, dropout_masks=None)
    value = loss(spec, params, xs, targets, loss="mse", h0=None, lengths=None, dropout_masks=None)
    value, dparams, dxs, dh0 = loss_and_grads(spec, params, xs, targets, ...)   # numpy, jitted
"""
from .grads import loss_and_grads
from .network import forward, loss

__all__ = ["forward", "loss", "loss_and_grads"]
