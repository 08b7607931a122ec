"""Per-step traces: what a forward and backward pass computed at every time step, by name.

    steps = trace(spec, params, xs, targets=targets)            # or dys=..., the upstream grad
    steps["h_l0"], steps["c_l0"], steps["i_l0"]                 # states and gates, (T, B, .)
    steps["dh_l0"], steps["dc_l0"]                              # dL/dh_t and dL/dc_t
    norms = gradient_norms(steps)                               # ||dL/dh_t|| per layer and step

Names end in the parameter names' suffix, `_l{layer}` plus `_reverse` for the second direction,
and every array is in the layout of xs: (T, B, .), (B, T, .) with batch_first, (T, .) unbatched.

- h, and c for the LSTM: the state after each step (h_t = W_hr m_t with a projection).
- the gates after their activations: i, f, g, o (LSTM), r, z, n (GRU); none for the Elman cell.
- dh (and dc): the gradient of the loss in each step's state, taken as the input of all that
  follows it: dh_t comes from the layer above (or the loss) and from step t+1, dc_t from step
  t+1 (c_t's path through h_t = o * tanh(c_t) belongs to step t itself). This is what
  `*_step_backward` functions receive as dnext_h and dnext_c, and where vanishing and
  exploding gradients show: plot ||dL/dh_t|| against t.
- y and dy: the network's outputs and the gradient of the loss on them.

A reverse direction's arrays are given in time order too: its step t is the one that read x_t.
At padded steps (past lengths[b]) the values are those of computation the model never reads.
"""
from typing import Optional, Sequence

import numpy as np

from .. import checks
from ..cells import CELLS
from ..cells.gates import split
from ..layers import reverse_in_time
from ..model import ArrayLike, Params, State, backprop, forward, loss_terms
from ..spec import Spec, direction_suffixes


def trace(spec: Spec, params: Params, xs: ArrayLike, targets: Optional[ArrayLike] = None,
          loss: str = "mse", *, dys: Optional[ArrayLike] = None, h0: Optional[State] = None,
          lengths: Optional[ArrayLike] = None, dstate: Optional[State] = None,
          dropout_masks: Optional[Sequence] = None,
          loss_mask: Optional[ArrayLike] = None) -> dict[str, np.ndarray]:
    """Run forward and backward once and return every step's named arrays (see the module).

    The gradient comes from the loss of `targets` (as in `loss_and_grad`), or from an
    upstream gradient `dys` shaped like the outputs (and `dstate`, as in `backward`): pass one
    of the two. With a loss, the result also holds "loss" (a 0-d array)."""
    if (targets is None) == (dys is None):
        raise ValueError("pass either targets (and a loss) or dys, the gradient on the outputs; "
                         f"got targets={'None' if targets is None else 'an array'} and "
                         f"dys={'None' if dys is None else 'an array'}")
    ys, _, cache = forward(spec, params, xs, h0, lengths, dropout_masks)
    layout = cache["layout"]
    steps = {"y": ys}
    if targets is not None:
        checks.choice("loss", loss, ("mse", "cross_entropy"))
        value, dys_tm = loss_terms(spec, loss, ys, targets, cache, loss_mask)
        steps["loss"] = np.asarray(value)
        dfinal = None
    else:
        dtype = ys.dtype
        dys_tm = layout.to_time_major(
            checks.upstream("dys", dys, layout.sequence_shape(spec.output_features), dtype))
        dfinal = None if dstate is None else checks.state(spec, "dstate", dstate, layout, dtype)
    *_, step_grads = backprop(spec, params, cache, dys_tm, dfinal, keep_step_grads=True)
    steps["dy"] = layout.from_time_major(dys_tm * cache["valid"][..., None])
    cell = CELLS[spec.cell]
    layers, lengths_tm = cache["stack"][0], cache["lengths"]
    for k, (_, directions) in enumerate(layers):
        for d, (_, _, saved) in enumerate(directions):
            name = f"_l{k}{direction_suffixes(spec)[d]}"
            (_, _, cell_cache), = saved                    # one segment: no checkpointing
            values = {}
            if cell.GATE_NAMES:                            # the Elman cell has no gates
                values = dict(zip(cell.GATE_NAMES, split(cell_cache["gates"], spec.gates)))
            values["h"] = cell_cache["hs"][1:]
            if "cs" in cell_cache:
                values["c"] = cell_cache["cs"][1:]
            values |= {"d" + state: g for state, g in zip(cell.STATES, step_grads[name[1:]])}
            for key, value in values.items():
                if d == 1 and not key.startswith("d"):     # step_grads are in time order
                    value = reverse_in_time(value, lengths_tm)
                steps[key + name] = layout.from_time_major(np.array(value))
    return steps


def gradient_norms(steps: dict[str, np.ndarray], state: str = "dh") -> dict[str, np.ndarray]:
    """||dL/dh_t|| (or another per-step gradient: state="dc") at every step, per layer and
    direction: {"l0": (T,) or (B, T) array, ...}, the Euclidean norm over the features of each
    sequence's state (so (T,) for unbatched xs, else (B, T) with batch_first or (T, B))."""
    prefix = state + "_"
    return {name[len(prefix):]: np.linalg.norm(value, axis=-1)
            for name, value in steps.items() if name.startswith(prefix)}
