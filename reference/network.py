"""The network around the cells: layers, directions, padding, the read-out head and the loss.

Everything inside runs time-major and batched, (T, B, F); `forward` and `loss` convert from and
to the caller's layout (batch_first, or unbatched (T, F)) at the edges only. Inside, a state is a
tuple: (h,) for the Elman and GRU cells, (h, c) for the LSTM; h is always state[0].

The outputs are y_t = W_head h_t + b_head with a head (spec.output_size set), else the top layer's
h_t itself, [forward, reverse] concatenated: (T, B, D * P). Either way they are 0 at padded steps.
"""
from functools import partial
from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp

from . import gru, losses, lstm, rnn

CELLS = {"rnn": rnn, "lstm": lstm, "gru": gru}
DIRECTIONS = ("", "_reverse")  # PyTorch's state_dict suffixes: forward, then reverse


class Weights(NamedTuple):
    """One direction of one layer, in PyTorch's layout."""
    w_ih: jax.Array
    w_hh: jax.Array
    b_ih: jax.Array  # 0.0 when spec.bias is False
    b_hh: jax.Array  # 0.0 when spec.bias is False
    w_hr: Optional[jax.Array]  # LSTM projection; None when proj_size == 0


def layer_weights(params, layer, suffix):
    def get(kind, absent=None):
        return params.get(f"{kind}_l{layer}{suffix}", absent)

    return Weights(get("weight_ih"), get("weight_hh"), get("bias_ih", 0.0), get("bias_hh", 0.0),
                   get("weight_hr"))


def run_direction(spec, w, xs, state0, valid, reverse):
    """One direction of one layer over the sequence: (final state, outputs h_t of shape (T, B, P)).

    valid is None (every step exists) or (T, B) bool. A missing step leaves the state as it was
    and outputs zero. That also gives the reverse direction packed-sequence semantics for free:
    scanning t = T-1 .. 0, sequence b crosses its padding still holding state0 and so starts its
    real work at t = lengths[b] - 1 from h0, as PyTorch's packed sequences do.
    """
    step = CELLS[spec.cell].step
    xw = xs @ w.w_ih.T + w.b_ih  # the input projection of every step at once, outside the loop

    def body(state, inputs):
        xw_t, valid_t = inputs
        new = step(spec, w, xw_t, state)
        if valid_t is None:
            return new, new[0]
        keep = valid_t[:, None]
        new = tuple(jnp.where(keep, n, s) for n, s in zip(new, state))
        return new, jnp.where(keep, new[0], 0.0)

    return jax.lax.scan(body, state0, (xw, valid), reverse=reverse)


def run_network(spec, params, xs, state0, valid, masks):
    """Time-major core: xs (T, B, I), state0 a tuple of (L*D, B, .) arrays -> (ys, final state)."""
    D = spec.num_directions
    finals, inputs = [], xs
    for k in range(spec.num_layers):
        if k > 0 and masks is not None:
            inputs = inputs * masks[k - 1]  # dropout between layers, masks pre-scaled
        outputs = []
        for d, suffix in enumerate(DIRECTIONS[:D]):
            start = tuple(s[k * D + d] for s in state0)
            final, out = run_direction(spec, layer_weights(params, k, suffix), inputs, start, valid,
                                       reverse=(d == 1))
            finals.append(final)
            outputs.append(out)
        inputs = jnp.concatenate(outputs, axis=-1)  # [forward, reverse] on the feature axis
    ys = inputs
    if spec.has_head:
        ys = ys @ params["head.weight"].T + params["head.bias"]
    if valid is not None:
        ys = jnp.where(valid[..., None], ys, 0.0)  # padded steps read out 0, not a head's bias
    # finals run in index order layer * D + direction, PyTorch's order for h_n.
    return ys, tuple(jnp.stack(parts) for parts in zip(*finals))


# ---- layout: the caller's arrays <-> time-major batched ------------------------------------------

def to_time_major(spec, a, unbatched):
    if unbatched:
        return a[:, None]
    return jnp.swapaxes(a, 0, 1) if spec.batch_first else a


def from_time_major(spec, a, unbatched):
    if unbatched:
        return a[:, 0]
    return jnp.swapaxes(a, 0, 1) if spec.batch_first else a


def param_dtype(params):
    """The dtype every computation takes: the parameters' (weight_ih_l0 exists in every network)."""
    return jnp.result_type(params["weight_ih_l0"])


def zero_state(spec, batch_shape, dtype):
    """Zeros shaped like the caller's state: h (L*D, *batch, P), and for the LSTM (h, c)."""
    LD = spec.num_layers * spec.num_directions
    h = jnp.zeros((LD, *batch_shape, spec.state_size), dtype)
    if spec.cell == "lstm":
        return h, jnp.zeros((LD, *batch_shape, spec.hidden_size), dtype)
    return h


def _prepare(spec, params, xs, h0, lengths, dropout_masks):
    """The caller's inputs, time-major, batched and in the params' dtype."""
    dtype = param_dtype(params)
    xs = jnp.asarray(xs, dtype)
    if xs.ndim not in (2, 3):
        raise ValueError(f"xs must be (T, I), (T, B, I) or (B, T, I), got shape {xs.shape}")
    unbatched = xs.ndim == 2
    if unbatched and lengths is not None:
        raise ValueError("lengths must be None for unbatched input")
    xs = to_time_major(spec, xs, unbatched)
    T, B = xs.shape[:2]

    if h0 is None:
        h0 = zero_state(spec, (B,), dtype)
    elif unbatched:
        h0 = jax.tree.map(lambda s: s[:, None], h0)
    state0 = tuple(jnp.asarray(s, dtype) for s in (h0 if spec.cell == "lstm" else (h0,)))

    valid = None
    if lengths is not None:
        valid = jnp.arange(T)[:, None] < jnp.asarray(lengths)[None, :]
        xs = jnp.where(valid[..., None], xs, 0.0)  # whatever padding holds (even NaN) stays out

    masks = None
    if dropout_masks is not None:
        masks = [to_time_major(spec, jnp.asarray(m, dtype), unbatched) for m in dropout_masks]
    return xs, state0, valid, masks, unbatched


# forward and loss are jitted (spec, loss static) so that repeated calls, and jax.grad of them,
# reuse one compiled program per spec and shapes; eager op-by-op dispatch of the scans is ~100x
# slower. They still compose with an outer jax.jit or jax.grad.

@partial(jax.jit, static_argnames=("spec",))
def forward(spec, params, xs, h0=None, lengths=None, dropout_masks=None):
    """ys (the layout of xs; output_size features, or D * P headless) and the final state (h_n,
    or (h_n, c_n) for the LSTM)."""
    xs, state0, valid, masks, unbatched = _prepare(spec, params, xs, h0, lengths, dropout_masks)
    ys, state = run_network(spec, params, xs, state0, valid, masks)
    ys = from_time_major(spec, ys, unbatched)
    if unbatched:
        state = tuple(s[:, 0] for s in state)
    return ys, (state if spec.cell == "lstm" else state[0])


def count_mask(spec, loss_mask, xs_shape, unbatched):
    """The caller's loss_mask (xs_shape without its feature axis) -> (T, B) bool, nonzero counts.

    Its values should be 0 or 1; under jit they cannot be checked, so any nonzero entry counts
    (as 1) and a zero leaves its step out. Only the shape is checked, from static shapes.
    """
    loss_mask = jnp.asarray(loss_mask)
    if loss_mask.shape != tuple(xs_shape[:-1]):
        raise ValueError(f"loss_mask must have the shape of xs without its feature axis, "
                         f"{tuple(xs_shape[:-1])}, got shape {loss_mask.shape}")
    return to_time_major(spec, loss_mask != 0, unbatched)


@partial(jax.jit, static_argnames=("spec", "loss"))
def loss(spec, params, xs, targets, loss="mse", h0=None, lengths=None, dropout_masks=None,
         loss_mask=None):
    """(1/B) * sum over sequences and counted steps of the per-step loss ("mse" or
    "cross_entropy"); B = 1 for unbatched xs.

    A step counts if it is valid (t < lengths[b]) and, when loss_mask is given, loss_mask is 1
    there. loss_mask is shaped like xs without its feature axis: (T,) for unbatched xs, (T, B)
    time-major, (B, T) batch_first; its values must be 0 or 1 (bool or any real dtype), and any
    nonzero value counts as 1. The normalisation stays 1/B, not a mean over counted steps.
    Targets at steps that do not count may hold anything (NaN, out-of-range classes).
    """
    if loss not in losses.LOSSES:
        raise ValueError(f"loss must be one of {tuple(losses.LOSSES)}, got {loss!r}")
    xs_shape = jnp.shape(xs)
    xs, state0, valid, masks, unbatched = _prepare(spec, params, xs, h0, lengths, dropout_masks)
    ys, _ = run_network(spec, params, xs, state0, valid, masks)
    targets = to_time_major(spec, jnp.asarray(targets), unbatched)
    if valid is None:
        valid = jnp.ones(ys.shape[:2], bool)
    if loss_mask is not None:
        # Combined into `valid` only after the forward pass: a masked-out step still advances the
        # state for the steps after it; only its loss is left out, by the losses' `where`.
        valid = valid & count_mask(spec, loss_mask, xs_shape, unbatched)
    per_step = losses.LOSSES[loss](ys, targets, valid)  # (T, B), zero at steps that don't count
    return per_step.sum() / ys.shape[1]
