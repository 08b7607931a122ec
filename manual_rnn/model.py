"""The public model: a recurrent stack and, unless the spec is headless, a linear read-out.

    ys, state, cache = forward(spec, params, xs, h0=None, lengths=None)
    grads, dxs, dh0 = backward(spec, params, cache, dys, dstate=None)
    loss, grads = loss_and_grad(spec, params, xs, targets, loss="mse")
    result = loss_and_grad(spec, params, xs, targets, full=True)   # .loss .grads .dxs .dh0 .state

The read-out is y_t = W_head top_t + b_head, zero at padded steps; its backward is
dW_head = sum_t dy_t top_t^T, db_head = sum_t dy_t, dtop_t = W_head^T dy_t. A headless network
(output_size=None) outputs top_t itself, also zero at padded steps.
"""
from __future__ import annotations

from typing import Any, NamedTuple, Optional, Sequence, Union

import numpy as np

from . import checks, layers
from .losses import LOSSES
from .sequences import matmul_steps, sum_over_steps
from .spec import Spec, check_params, param_shapes

Params = dict[str, np.ndarray]
State = Union[np.ndarray, tuple[np.ndarray, np.ndarray]]   # h, or (h, c) for the LSTM
ArrayLike = Any


class LossAndGrad(NamedTuple):
    """What `loss_and_grad(..., full=True)` returns."""
    loss: np.floating          # the loss, in the params' dtype
    grads: Params              # dL/dparams, with exactly the keys of params
    dxs: np.ndarray            # dL/dxs, shaped like xs
    dh0: State                 # dL/dh0, shaped like the state
    state: State               # forward's final state (truncated BPTT carries it on)


def head_forward(params, top):
    """y_t = W_head top_t + b_head at every step: (T, B, D*P) -> (T, B, output_size)."""
    ys = matmul_steps(top, params["head.weight"].T)
    ys += params["head.bias"]
    return ys


def head_backward(params, top, dys):
    """dW_head = sum_t dy_t top_t^T, db_head = sum_t dy_t, dtop_t = W_head^T dy_t."""
    grads = {"head.weight": sum_over_steps(dys, top), "head.bias": dys.sum(axis=(0, 1))}
    return grads, matmul_steps(dys, params["head.weight"])


def forward(spec: Spec, params: Params, xs: ArrayLike, h0: Optional[State] = None,
            lengths: Optional[ArrayLike] = None, dropout_masks: Optional[Sequence] = None,
            checkpoint_every: Optional[int] = None) -> tuple[np.ndarray, State, dict]:
    """Run the network. Returns ys (xs' layout, `spec.output_features` features), the final
    state (an array, or (h, c) for the LSTM, shaped (layers * directions, B, .)) and a cache
    for `backward`.

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
    ys = head_forward(params, top) if spec.has_head else top.copy()  # the cache keeps top
    if lengths is not None:
        ys *= valid[..., None]
    cache = {"spec": spec, "params": dict(params), "layout": layout, "lengths": lengths,
             "valid": valid, "top": top, "stack": stack}
    return layout.from_time_major(ys), checks.state_out(final, layout), cache


def backward(spec: Spec, params: Params, cache: dict, dys: ArrayLike,
             dstate: Optional[State] = None) -> tuple[Params, np.ndarray, State]:
    """Gradients given dys = dL/dys (ys' shape) and optionally dstate = dL/dstate.

    `params` and `spec` must be the ones `forward` was given (the same arrays, unchanged).
    Returns (grads with exactly the keys of params, dxs shaped like xs, dh0 shaped like the
    state)."""
    dtype = check_params(spec, params)
    checks.same_forward(spec, params, cache)
    layout = cache["layout"]
    dys = checks.upstream("dys", dys, layout.sequence_shape(spec.output_features), dtype)
    dfinal = None if dstate is None else checks.state(spec, "dstate", dstate, layout, dtype)
    return backprop(spec, params, cache, layout.to_time_major(dys), dfinal)[:3]


def backprop(spec, params, cache, dys, dfinal, keep_step_grads=False):
    """`backward` on checked, time-major arrays (dfinal None: no gradient on the state), for
    the tools built on it. With keep_step_grads, also returns the gradient reaching each step's
    state, per layer and direction (see `layers.backward`)."""
    layout, valid, top = cache["layout"], cache["valid"], cache["top"]
    if cache["lengths"] is not None:                   # padding gets no gradient
        dys = dys * valid[..., None]
    if dfinal is None:
        dfinal = checks.state(spec, "dstate", None, layout, dys.dtype)
    grads, dtop = head_backward(params, top, dys) if spec.has_head else ({}, dys)
    stack_grads, dxs, dstate0, step_grads = layers.backward(spec, cache["stack"], dtop, dfinal,
                                                            keep_step_grads)
    grads |= stack_grads
    grads = {name: grads[name] for name in param_shapes(spec)}
    return grads, layout.from_time_major(dxs), checks.state_out(dstate0, layout), step_grads


def loss_and_grad(spec: Spec, params: Params, xs: ArrayLike, targets: ArrayLike,
                  loss: str = "mse", h0: Optional[State] = None,
                  lengths: Optional[ArrayLike] = None, dropout_masks: Optional[Sequence] = None,
                  loss_mask: Optional[ArrayLike] = None, checkpoint_every: Optional[int] = None,
                  *, full: bool = False) -> Union[tuple[np.floating, Params], LossAndGrad]:
    """The loss (see `losses`) and its gradient for every parameter: (loss, grads).

    With full=True, a `LossAndGrad` (loss, grads, dxs, dh0, state): also the gradients of the
    inputs and of the initial state, and forward's final state.
    `loss_mask` (xs' layout without features, 0 or 1) keeps only some steps' losses, for tasks
    whose answer comes at the end; padding past `lengths` never carries loss."""
    checks.choice("loss", loss, LOSSES)
    checks.flag("full", full)
    ys, state, cache = forward(spec, params, xs, h0, lengths, dropout_masks, checkpoint_every)
    value, dys = loss_terms(spec, loss, ys, targets, cache, loss_mask)
    grads, dxs, dh0, _ = backprop(spec, params, cache, dys, None)
    return LossAndGrad(value, grads, dxs, dh0, state) if full else (value, grads)


def loss_terms(spec, loss, ys, targets, cache, loss_mask=None):
    """The loss of forward's ys and its gradient dys, time-major, for `backprop`."""
    layout, valid = cache["layout"], cache["valid"]
    if loss_mask is not None:
        valid = valid * checks.loss_mask(loss_mask, layout, valid.dtype)
    goal = checks.targets(spec, loss, targets, layout, ys.dtype)
    if loss == "cross_entropy":
        goal = checks.class_range(spec, goal, valid)
    value, dys = LOSSES[loss](layout.to_time_major(ys), goal, valid)
    return ys.dtype.type(value), dys


def dropout_masks(spec: Spec, xs: ArrayLike, seed: int) -> Optional[list[np.ndarray]]:
    """Fresh dropout masks for one training step, drawn from np.random.default_rng(seed).

    One per layer boundary (num_layers - 1), shaped like the next layer's input in the layout of
    xs, holding 0 with probability spec.dropout and 1 / (1 - spec.dropout) otherwise (inverted
    dropout, as PyTorch scales). None when there is nothing to drop."""
    if spec.dropout == 0 or spec.num_layers == 1:
        return None
    shape = np.shape(xs)[:-1] + (spec.num_directions * spec.state_size,)
    rng = np.random.default_rng(seed)
    keep = 1.0 - spec.dropout
    return [(rng.random(shape) < keep) / keep for _ in range(spec.num_layers - 1)]
