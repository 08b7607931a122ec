"""Layers and directions, written once for every cell.

A layer runs each direction's cell over its input; layer k > 0 reads the concatenated directions
of layer k - 1 (times a dropout mask, when training with one).

Lengths (PyTorch's packed sequences) cost no masking inside the cells. Padding is trailing, and
recurrence only looks back, so the steps a cell computes past a sequence's end can never reach
one of its valid steps: we let the cell run over them and simply never read them. The final
state is read at step lengths[b] - 1 instead of T - 1, and the model zeroes the outputs there.
The reverse direction runs the same cell over each sequence reversed *within its length*
(padding stays at the end), so it starts at the sequence's own last step.

All arrays here are time-major, (T, B, features); states are tuples (h,) or (h, c) of
(layers * directions, B, features) arrays, indexed layer * directions + direction.
"""
import numpy as np

from .cells import CELLS
from .spec import direction_suffixes

_LONG_NAMES = {"w_ih": "weight_ih", "w_hh": "weight_hh", "b_ih": "bias_ih", "b_hh": "bias_hh",
               "w_hr": "weight_hr"}


def direction_params(params, layer, suffix):
    """This direction's weights under short names; None where the spec has no such weight."""
    return {short: params.get(f"{long}_l{layer}{suffix}") for short, long in _LONG_NAMES.items()}


def reverse_in_time(x, lengths):
    """Each sequence's first lengths[b] steps reversed, its padding left in place.

    Its own inverse, so it also maps the reversed outputs back to their time steps."""
    if lengths is None:
        return x[::-1]
    T, B = x.shape[:2]
    t = np.arange(T)[:, None]
    return x[np.where(t < lengths, lengths - 1 - t, t), np.arange(B)]


def last_steps(T, B, lengths):
    """Index (step, sequence) of every sequence's final state in a (T, B, .) array."""
    last = np.full(B, T - 1) if lengths is None else lengths - 1
    return last, np.arange(B)


def forward(spec, params, xs, state0, lengths=None, dropout_masks=None):
    """Run the stack over xs (T, B, I). Returns the top layer's outputs (T, B, D*P), the final
    states (tuple like state0) and the cache for `backward`."""
    cell = CELLS[spec.cell]
    T, B, _ = xs.shape
    final = tuple(np.empty_like(s) for s in state0)
    cache = []
    x = xs
    for k in range(spec.num_layers):
        if k > 0 and dropout_masks is not None:
            x = x * dropout_masks[k - 1]
        outputs, directions = [], []
        for d, suffix in enumerate(direction_suffixes(spec)):
            p = direction_params(params, k, suffix)
            x_dir = x if d == 0 else reverse_in_time(x, lengths)
            xproj = x_dir @ p["w_ih"].T
            if p["b_ih"] is not None:
                xproj += p["b_ih"]
            index = k * spec.num_directions + d
            states, cell_cache = cell.forward(spec, p, xproj, tuple(s[index] for s in state0))
            for f, s in zip(final, states):
                f[index] = s[last_steps(T, B, lengths)]
            outputs.append(states[0] if d == 0 else reverse_in_time(states[0], lengths))
            directions.append((p, x_dir, cell_cache))
        cache.append((x, directions))
        x = np.concatenate(outputs, axis=-1)
    return x, final, (cache, lengths, dropout_masks)


def backward(spec, cache, dtop, dfinal):
    """Gradients of the stack given dtop (T, B, D*P) for the top outputs and dfinal (tuple like
    the final states). Returns (grads by parameter name, dxs, dstate0)."""
    cell = CELLS[spec.cell]
    layers, lengths, dropout_masks = cache
    T, B, _ = dtop.shape
    grads = {}
    dstate0 = tuple(np.empty_like(s) for s in dfinal)
    dout = dtop
    for k in reversed(range(spec.num_layers)):
        x, directions = layers[k]
        dx = np.zeros_like(x)
        for d, (p, x_dir, cell_cache) in enumerate(directions):
            index = k * spec.num_directions + d
            dh = np.split(dout, spec.num_directions, axis=-1)[d]
            dh = (dh if d == 0 else reverse_in_time(dh, lengths)).copy()  # we add dfinal to it
            dstates = (dh,) + tuple(np.zeros((T, B, s.shape[-1]), s.dtype) for s in dfinal[1:])
            for ds, df in zip(dstates, dfinal):
                ds[last_steps(T, B, lengths)] += df[index]
            dxproj, dp, dstart = cell.backward(spec, p, cell_cache, dstates)
            for f, s in zip(dstate0, dstart):
                f[index] = s
            dp["w_ih"] = dxproj.reshape(T * B, -1).T @ x_dir.reshape(T * B, -1)
            if p["b_ih"] is not None:
                dp["b_ih"] = dxproj.sum(axis=(0, 1))
            suffix = direction_suffixes(spec)[d]
            grads.update({f"{_LONG_NAMES[n]}_l{k}{suffix}": g for n, g in dp.items()})
            dx_dir = dxproj @ p["w_ih"]
            dx += dx_dir if d == 0 else reverse_in_time(dx_dir, lengths)
        if k > 0 and dropout_masks is not None:
            dx *= dropout_masks[k - 1]
        dout = dx
    return grads, dout, dstate0
