"""The public model: a recurrent stack and a linear read-out at every step.

    ys, state, cache = forward(spec, params, xs, h0=None, lengths=None)
    grads, dxs, dh0 = backward(spec, params, cache, dys, dstate=None)
    loss, grads = loss_and_grad(spec, params, xs, targets, loss="mse", h0=None, lengths=None)

The read-out is y_t = W_head top_t + b_head, zero at padded steps; its backward is
dW_head = sum_t dy_t top_t^T, db_head = sum_t dy_t, dtop_t = W_head^T dy_t.
"""
import numpy as np

from . import checks, layers
from .losses import LOSSES
from .sequences import matmul_steps, sum_over_steps
from .spec import check_params, param_shapes


def forward(spec, params, xs, h0=None, lengths=None, dropout_masks=None, checkpoint_every=None):
    """Run the network. Returns ys (xs' layout, output_size features), the final state
    (an array, or (h, c) for the LSTM, shaped (layers * directions, B, .)) and a cache.

    checkpoint_every=k trades time for memory: the cache keeps the state at every k-th step
    and `backward` recomputes the rest one segment at a time (same gradients, to round-off)."""
    dtype = check_params(spec, params)
    xs, layout = checks.inputs(spec, xs, dtype)
    state0 = checks.state(spec, "h0", h0, layout, dtype)
    lengths = checks.lengths(lengths, layout)
    masks = checks.dropout_masks(spec, dropout_masks, layout, dtype)
    if checkpoint_every is not None:
        checks.integer("checkpoint_every", checkpoint_every, 1)
    top, final, stack = layers.forward(spec, params, xs, state0, lengths, masks, checkpoint_every)
    valid = checks.valid_steps(layout, lengths, dtype)
    ys = matmul_steps(top, params["head.weight"].T)
    ys += params["head.bias"]
    if lengths is not None:
        ys *= valid[..., None]
    cache = {"layout": layout, "lengths": lengths, "valid": valid, "top": top, "stack": stack}
    return layout.from_time_major(ys), checks.state_out(spec, final, layout), cache


def backward(spec, params, cache, dys, dstate=None):
    """Gradients given dys = dL/dys (ys' shape) and optionally dstate = dL/dstate.

    Returns (grads with exactly the keys of params, dxs shaped like xs, dh0 shaped like the
    state)."""
    dtype = check_params(spec, params)
    layout = cache["layout"]
    dys = checks.upstream("dys", dys, layout.sequence_shape(spec.output_size), dtype)
    dfinal = None if dstate is None else checks.state(spec, "dstate", dstate, layout, dtype)
    return _backward(spec, params, cache, layout.to_time_major(dys), dfinal)


def _backward(spec, params, cache, dys, dfinal):
    """`backward` on checked, time-major arrays; dfinal None means no gradient on the state."""
    layout, valid, top = cache["layout"], cache["valid"], cache["top"]
    if cache["lengths"] is not None:                   # padding gets no gradient
        dys = dys * valid[..., None]
    if dfinal is None:
        dfinal = tuple(np.zeros(s, dys.dtype) for s in checks.state_shapes(spec, layout))
        dfinal = tuple(d[:, None] if layout.unbatched else d for d in dfinal)
    dtop = matmul_steps(dys, params["head.weight"])
    grads, dxs, dstate0 = layers.backward(spec, cache["stack"], dtop, dfinal)
    grads["head.weight"] = sum_over_steps(dys, top)
    grads["head.bias"] = dys.sum(axis=(0, 1))
    grads = {name: grads[name] for name in param_shapes(spec)}
    return grads, layout.from_time_major(dxs), checks.state_out(spec, dstate0, layout)


def loss_and_grad(spec, params, xs, targets, loss="mse", h0=None, lengths=None,
                  dropout_masks=None, loss_mask=None, checkpoint_every=None):
    """The loss (see `losses`) and its gradient for every parameter.

    `loss_mask` (xs' layout without features, 0 or 1) keeps only some steps' losses, for tasks
    whose answer comes at the end; padding past `lengths` never carries loss."""
    value, grads, _, _ = loss_and_grads(spec, params, xs, targets, loss, h0, lengths,
                                        dropout_masks, loss_mask, checkpoint_every)
    return value, grads


def loss_and_grads(spec, params, xs, targets, loss="mse", h0=None, lengths=None,
                   dropout_masks=None, loss_mask=None, checkpoint_every=None):
    """Like `loss_and_grad`, but also returns dL/dxs and dL/dh0: (loss, grads, dxs, dh0)."""
    return loss_grads_and_state(spec, params, xs, targets, loss, h0, lengths, dropout_masks,
                                loss_mask, checkpoint_every)[:4]


def loss_grads_and_state(spec, params, xs, targets, loss="mse", h0=None, lengths=None,
                         dropout_masks=None, loss_mask=None, checkpoint_every=None):
    """Like `loss_and_grads`, but also returns forward's final state: (loss, grads, dxs, dh0,
    state). Truncated BPTT carries that state into its next window without a second forward
    pass (see `train.tbptt_grads`)."""
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {tuple(LOSSES)}, got {loss!r}")
    ys, state, cache = forward(spec, params, xs, h0, lengths, dropout_masks, checkpoint_every)
    layout, valid = cache["layout"], cache["valid"]
    if loss_mask is not None:
        valid = valid * checks.loss_mask(loss_mask, layout, valid.dtype)
    goal = checks.targets(spec, loss, targets, layout, ys.dtype)
    if loss == "cross_entropy":
        goal = checks.class_range(goal, valid, spec.output_size)
    value, dys = LOSSES[loss](layout.to_time_major(ys), goal, valid)
    grads, dxs, dh0 = _backward(spec, params, cache, dys, None)
    return ys.dtype.type(value), grads, dxs, dh0, state


def dropout_masks(spec, xs, seed):
    """Fresh dropout masks for one training step, drawn from np.random.default_rng(seed).

    One per layer boundary (num_layers - 1), shaped like the next layer's input in the layout of
    xs, holding 0 with probability spec.dropout and 1 / (1 - spec.dropout) otherwise (inverted
    dropout, as PyTorch scales). None when there is nothing to drop. Passing the same masks to
    the JAX twin gives it the same network, so the gradients still compare exactly."""
    if spec.dropout == 0 or spec.num_layers == 1:
        return None
    shape = np.shape(xs)[:-1] + (spec.num_directions * spec.state_size,)
    rng = np.random.default_rng(seed)
    keep = 1.0 - spec.dropout
    return [(rng.random(shape) < keep) / keep for _ in range(spec.num_layers - 1)]
