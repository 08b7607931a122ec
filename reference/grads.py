"""Loss and gradients in one jitted call, returned as numpy arrays."""
from functools import partial

import jax
import numpy as np

from . import network


# jit caches one compiled version per (spec, loss) and per input shapes/dtypes; Spec is hashable.
@partial(jax.jit, static_argnames=("spec", "loss"))
def _value_and_grads(spec, params, xs, targets, loss, h0, lengths, dropout_masks, loss_mask):
    f = jax.value_and_grad(network.loss, argnums=(1, 2, 5))
    return f(spec, params, xs, targets, loss, h0, lengths, dropout_masks, loss_mask)


def loss_and_grads(spec, params, xs, targets, loss="mse", h0=None, lengths=None,
                   dropout_masks=None, loss_mask=None):
    """(value, {name: dparam}, dxs, dh0); dh0 has the state's structure, (dh, dc) for the LSTM.

    Computes in the params' dtype, float64 included, whatever the caller's jax_enable_x64: 64-bit
    types are enabled for this call only (jax.enable_x64 is a thread-local context manager) and
    the caller's setting is back when it returns. With h0=None the gradient is taken at an
    explicit zero initial state. loss_mask is network.loss's: shaped like xs without its feature
    axis, 0 or 1, 1 where a valid step counts.
    """
    with jax.enable_x64(True):
        if h0 is None:
            xs_shape = np.shape(xs)
            batch = () if len(xs_shape) == 2 else (xs_shape[0 if spec.batch_first else 1],)
            h0 = network.zero_state(spec, batch, network.param_dtype(params))
        value, (dparams, dxs, dh0) = _value_and_grads(spec, params, xs, targets, loss, h0,
                                                      lengths, dropout_masks, loss_mask)
        to_numpy = partial(jax.tree.map, np.asarray)
        return np.asarray(value), to_numpy(dparams), np.asarray(dxs), to_numpy(dh0)
