"""An independent JAX twin of manual_rnn's forward pass and loss.

It shares nothing with the hand-written library but the `Spec` it is given, so `jax.grad` of
this forward pass is an independent check of manual_rnn's hand-written backward pass.

    ys, state = forward(spec, params, xs, h0=None, lengths=None, dropout_masks=None)
    value = loss(spec, params, xs, targets, loss="mse", h0=None, lengths=None, dropout_masks=None,
                 loss_mask=None)
    value, dparams, dxs, dh0 = loss_and_grads(spec, params, xs, targets, ...)   # numpy, jitted

Float64: the twin never changes JAX's global configuration. `loss_and_grads` computes in the
params' dtype, float64 too, by enabling 64-bit types for that call only (`jax.enable_x64(True)`,
a thread-local context manager), and leaves the caller's jax_enable_x64 as it found it.
`forward` and `loss` are plain JAX functions (to compose with jax.grad, jax.vjp, jax.jit), so
they follow the caller's setting: without x64 JAX computes float64 inputs in float32; call them
inside `with jax.enable_x64(True):` (or enable x64 globally) to get float64.
"""
from .grads import loss_and_grads
from .network import forward, loss

__all__ = ["forward", "loss", "loss_and_grads"]
