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
from .sequences import matmul_steps, sum_over_steps
from .cells.gates import split
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


def join(arrays, axis):
    """np.concatenate, but one array is passed on as it is rather than copied."""
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays, axis=axis)


def segments(T, every):
    """[start, stop) of the stretches of time the cells run over: all of it, or every k steps."""
    every = every or T
    return [(a, min(a + every, T)) for a in range(0, T, every)]


def forward(spec, params, xs, state0, lengths=None, dropout_masks=None, checkpoint_every=None):
    """Run the stack over xs (T, B, I). Returns the top layer's outputs (T, B, D*P), the final
    states (tuple like state0) and the cache for `backward`.

    With checkpoint_every=k the cells' caches are not kept: only each layer's outputs and the
    state at every k-th step, from which `backward` recomputes one segment's cache at a time
    (O(T/k + k) cached steps instead of O(T), for one more forward pass)."""
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
            index = k * spec.num_directions + d
            hs, last_state, saved = run_direction(spec, p, x_dir, tuple(s[index] for s in state0),
                                                  lengths, checkpoint_every)
            for f, s in zip(final, last_state):
                f[index] = s
            outputs.append(hs if d == 0 else reverse_in_time(hs, lengths))
            directions.append((p, x_dir, saved))
        cache.append((x, directions))
        x = join(outputs, axis=-1)
    return x, final, (cache, lengths, dropout_masks, checkpoint_every)


def project(spec, cell, p, x):
    """W_ih x_t + the cell's input bias for every step at once (see `input_bias` in each cell:
    b_ih, plus b_hh where the cell adds it unchanged)."""
    xproj = matmul_steps(x, p["w_ih"].T)
    bias = cell.input_bias(spec, p)
    if bias is not None:
        xproj += bias
    return xproj


def run_direction(spec, p, x, state0, lengths, checkpoint_every):
    """One direction of one layer, segment by segment. Returns its outputs h_t (T, B, P), its
    final state (read at each sequence's last step) and, per segment, its bounds, the state it
    started from and the cell's cache (None when checkpointing: backward recomputes it)."""
    cell = CELLS[spec.cell]
    T, B, _ = x.shape
    last = None if lengths is None else lengths - 1           # each sequence's last step
    outputs, saved, state = [], [], state0
    final = None if lengths is None else [np.empty_like(s) for s in state0]
    for a, b in segments(T, checkpoint_every):
        states, cell_cache = cell.forward(spec, p, project(spec, cell, p, x[a:b]), state)
        saved.append(((a, b), state, None if checkpoint_every else cell_cache))
        outputs.append(states[0])
        if lengths is not None:
            ending = (a <= last) & (last < b)
            for f, s in zip(final, states):
                f[ending] = s[last[ending] - a, ending]
        state = tuple(s[-1] for s in states)
    hs = join(outputs, axis=0)
    return hs, state if lengths is None else tuple(final), saved


def backprop_direction(spec, p, x, saved, dhs, dfinal, lengths, keep_step_grads=False):
    """Gradients of one direction given dhs (T, B, P) on its outputs and dfinal on its final
    state. Returns (dp with short names, dx (T, B, in), dstate0, and with keep_step_grads the
    gradient reaching each step's state, a tuple like the states, else None), walking the
    segments backward and carrying the state gradient across their boundaries."""
    cell = CELLS[spec.cell]
    T, B, _ = x.shape
    last = None if lengths is None else lengths - 1           # each sequence's last step
    dx = np.empty(x.shape, x.dtype)                   # C-contiguous: matmul_steps writes into it
    dp, step_grads = {}, []
    # Without lengths the final state is the last step's, so dfinal enters there, as the
    # gradient carried back from a next segment would; with lengths it enters each sequence at
    # its own last step, through dstates.
    carry = dfinal if lengths is None else tuple(np.zeros_like(d) for d in dfinal)
    for (a, b), state, cell_cache in reversed(saved):
        if cell_cache is None:
            _, cell_cache = cell.forward(spec, p, project(spec, cell, p, x[a:b]), state)
        if lengths is None:
            dstates = (dhs[a:b],) + (None,) * (len(state) - 1)
        else:
            dstates = (dhs[a:b].copy(),) + tuple(np.zeros((b - a, B, s.shape[-1]), s.dtype)
                                                 for s in state[1:])
            ending = (a <= last) & (last < b)
            for ds, df in zip(dstates, dfinal):
                ds[last[ending] - a, ending] += df[ending]
        dxproj, dp_segment, carry, dsteps = cell.backward(spec, p, cell_cache, dstates, carry)
        if keep_step_grads:             # O(T) memory, which checkpointing would otherwise save
            step_grads.insert(0, dsteps)
        dp_segment["w_ih"] = sum_over_steps(dxproj, x[a:b])
        matmul_steps(dxproj, p["w_ih"], out=dx[a:b])
        if dp:                                         # a later segment adds in place
            for name, g in dp_segment.items():
                dp[name] += g
        else:                                          # the first is taken as it is, not copied
            dp = dp_segment
    if not keep_step_grads:
        return dp, dx, carry, None
    return dp, dx, carry, tuple(join(parts, axis=0) for parts in zip(*step_grads))


def backward(spec, cache, dtop, dfinal, keep_step_grads=False):
    """Gradients of the stack given dtop (T, B, D*P) for the top outputs and dfinal (tuple like
    the final states). Returns (grads by parameter name, dxs, dstate0, step_grads), where with
    keep_step_grads step_grads["l{k}{suffix}"] is the gradient reaching each step's state in that
    layer and direction, in time order: (dh_t,), or (dh_t, dc_t) for the LSTM, each (T, B, .);
    without, step_grads is empty."""
    layers, lengths, dropout_masks, checkpoint_every = cache
    grads, step_grads = {}, {}
    dstate0 = tuple(np.empty_like(s) for s in dfinal)
    dout = dtop
    for k in reversed(range(spec.num_layers)):
        x, directions = layers[k]
        dx = None
        for d, (p, x_dir, saved) in enumerate(directions):
            index = k * spec.num_directions + d
            dh = split(dout, spec.num_directions)[d]
            dh = dh if d == 0 else reverse_in_time(dh, lengths)
            dp, dx_dir, dstart, dsteps = backprop_direction(
                spec, p, x_dir, saved, dh, tuple(f[index] for f in dfinal), lengths,
                keep_step_grads)
            for f, s in zip(dstate0, dstart):
                f[index] = s
            suffix = direction_suffixes(spec)[d]
            grads.update({f"{_LONG_NAMES[n]}_l{k}{suffix}": g for n, g in dp.items()})
            if keep_step_grads:
                step_grads[f"l{k}{suffix}"] = tuple(
                    g if d == 0 else reverse_in_time(g, lengths) for g in dsteps)
            if d == 0:
                dx = dx_dir
            else:
                dx += reverse_in_time(dx_dir, lengths)
        if k > 0 and dropout_masks is not None:
            dx *= dropout_masks[k - 1]
        dout = dx
    return grads, dout, dstate0, step_grads
