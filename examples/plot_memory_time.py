"""
Full, checkpointed and truncated BPTT, and RTRL: memory and time
================================================================

Four ways to get the gradient of a loss over a sequence of :math:`T` steps, measured here on
one small network as :math:`T` grows. Peak memory is what :mod:`tracemalloc` sees during one
gradient (NumPy reports its buffers to it), time the best of a few runs.

- **Full BPTT** (:func:`manual_rnn.loss_and_grad`) keeps every step's activations for the
  backward pass: memory :math:`O(T)`, time :math:`O(T)`.
- **Checkpointed BPTT** (``checkpoint_every=k``) keeps only every :math:`k`-th state and
  recomputes one segment at a time on the way back: memory :math:`O(T/k + k)`, smallest at
  :math:`k = \\sqrt{T}`, for one more forward pass. Same gradient, to round-off.
- **Truncated BPTT** (:func:`manual_rnn.app.train.tbptt_grads`, windows of :math:`k` steps)
  cuts the gradient at every window boundary: memory :math:`O(k)`, time :math:`O(T)`, but a
  *different* gradient, blind to dependencies longer than a window.
- **RTRL** (:mod:`manual_rnn.verify.rtrl`) carries :math:`\\mathrm{d}h_t/\\mathrm{d}\\theta`
  forward and stores nothing from the past: memory independent of :math:`T`, but
  :math:`O(H \\cdot |\\theta|)` per sequence, and time :math:`O(H^2 |\\theta|)` per step, i.e.
  :math:`O(H^4)` for the Elman cell.
"""

# %%
# The networks and the measurements
# ----------------------------------
# Two networks of 16 units on 4 sequences with an MSE loss at every step: an Elman network,
# with RTRL beside the three BPTTs (RTRL is exact for one-layer networks, and its cost grows
# as :math:`H^4`: it is practical only small), and an LSTM, whose cells cache far more per
# step than their outputs (four gates, the cell state and its tanh).
import math
import time
import tracemalloc

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import NullLocator

import manual_rnn as mr
from manual_rnn.app.train import tbptt_grads
from manual_rnn.verify import rtrl

WINDOW = 25
LENGTHS = [25, 50, 100, 200, 400, 800]
NETWORKS = {cell: mr.Spec(cell=cell, input_size=4, hidden_size=16, output_size=4)
            for cell in ("rnn", "lstm")}
PARAMS = {cell: mr.init_params(spec, seed=0) for cell, spec in NETWORKS.items()}


def methods(cell, T):
    spec, params = NETWORKS[cell], PARAMS[cell]
    every = math.isqrt(T)
    found = {
        "full BPTT": lambda xs, ys: mr.loss_and_grad(spec, params, xs, ys)[1],
        "checkpointed BPTT, k = sqrt(T)":
            lambda xs, ys: mr.loss_and_grad(spec, params, xs, ys, checkpoint_every=every)[1],
        f"truncated BPTT, k = {WINDOW}": lambda xs, ys: tbptt_grads(spec, params, xs, ys,
                                                                     k=WINDOW)[1],
    }
    if cell == "rnn":
        found["RTRL"] = lambda xs, ys: rtrl.loss_and_grad(spec, params, xs, ys)[1]
    return found


def peak_mib(function, *args):
    tracemalloc.start()
    function(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2 ** 20


def best_ms(function, *args, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - start)
    return 1e3 * min(times)


def data(T):
    rng = np.random.default_rng(T)
    return rng.normal(size=(T, 4, 4)), rng.normal(size=(T, 4, 4))


memory, seconds = {}, {}
for cell in NETWORKS:
    for T in LENGTHS:
        xs, ys = data(T)
        for name, function in methods(cell, T).items():
            memory.setdefault((cell, name), []).append(peak_mib(function, xs, ys))
            seconds.setdefault((cell, name), []).append(best_ms(function, xs, ys))

# %%
# Are they the same gradient? Checkpointed BPTT and RTRL compute the gradient full BPTT
# computes, to round-off; truncated BPTT does not.
for cell in NETWORKS:
    grads = {name: function(*data(100)) for name, function in methods(cell, 100).items()}
    full = grads["full BPTT"]
    for name, g in list(grads.items())[1:]:
        worst = max(float(np.max(np.abs(g[k] - full[k])) / np.max(np.abs(full[k])))
                    for k in full)
        print(f"{cell:>4}, T = 100, {name:>30}: largest difference from full BPTT, relative "
              f"to the largest entry: {worst:.1e}")

# %%
# Memory and time against the length of the sequence
# ---------------------------------------------------
STYLE = {"full BPTT": ("tab:blue", "o"), "checkpointed BPTT, k = sqrt(T)": ("tab:green", "s"),
         f"truncated BPTT, k = {WINDOW}": ("tab:orange", "^"), "RTRL": ("tab:red", "D")}
TITLES = {"rnn": "Elman network", "lstm": "LSTM"}
fig, axes = plt.subplots(2, 2, figsize=(11, 8), layout="constrained")
for row, cell in zip(axes, NETWORKS):
    for (c, name), values in memory.items():
        if c == cell:
            colour, marker = STYLE[name]
            row[0].loglog(LENGTHS, values, marker=marker, color=colour, label=name)
            row[1].loglog(LENGTHS, seconds[c, name], marker=marker, color=colour, label=name)
    row[0].set(ylabel="peak memory of one gradient (MiB)", title=f"{TITLES[cell]}: memory")
    row[1].set(ylabel="time of one gradient (ms)", title=f"{TITLES[cell]}: time")
    row[0].legend(fontsize=8)
for ax in axes.flat:
    ax.set_xticks(LENGTHS, labels=[str(T) for T in LENGTHS])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("sequence length T")
    ax.grid(alpha=0.3, which="both")
fig.suptitle("16 units, 4 sequences, float64")

# %%
# What the curves show
# --------------------
# Full BPTT's memory grows in proportion to :math:`T`. Truncation holds it at the window's,
# and RTRL's does not grow with :math:`T` at all, but starts high: it carries a sensitivity
# matrix of :math:`H \times |\theta|` numbers per sequence where BPTT keeps a few
# :math:`H`-vectors per step.
#
# Checkpointing drops the cells' caches, not the layers' outputs: the next layer and the
# read-out need every step's :math:`h_t`, and the gradient needs every step's input. So it
# still grows with :math:`T`, and what it saves depends on how much a cell caches beyond its
# outputs. The Elman cell caches little else (its cache is :math:`h_t` itself), so there
# checkpointing saves little, and its extra forward pass costs time. The LSTM caches its
# four gates, :math:`c_t` and :math:`\tanh c_t` at every step, and checkpointing saves a
# large part of its memory.
#
# In time, all three BPTTs grow linearly, checkpointing paying its extra forward pass; RTRL
# grows linearly too, with a per-step cost that a larger network multiplies by :math:`H^4`.
# The how-to guide on :doc:`checkpointed BPTT </howto/checkpointed_bptt>` shows how to
# choose :math:`k`.

plt.show()
