"""
Gradient flow through time: Elman, LSTM and GRU
===============================================

How much of the loss reaches each step of a sequence? The per-step traces answer with the
hand-written backward pass itself: :func:`manual_rnn.verify.traces.trace` returns
:math:`\\partial L / \\partial h_t` at every step, the gradient that backpropagation through
time carries from step :math:`t+1` (and the layer above) into step :math:`t`.

The task is the adding problem: two of the :math:`T` inputs are marked, one in each half of
the sequence, and the target is their sum, due at the last step only. So the loss touches
:math:`h_{T-1}` alone, and every earlier :math:`\\partial L / \\partial h_t` got there through
the recurrence,

.. math::

   \\frac{\\partial L}{\\partial h_{t-1}}
   = \\Big(\\frac{\\partial h_t}{\\partial h_{t-1}}\\Big)^{\\!\\top}
     \\frac{\\partial L}{\\partial h_t},
   \\qquad
   \\frac{\\partial L}{\\partial h_t}
   = \\Big(\\prod_{k=t+1}^{T-1} \\frac{\\partial h_k}{\\partial h_{k-1}}\\Big)^{\\!\\top}
     \\frac{\\partial L}{\\partial h_{T-1}} .

For the Elman cell each factor is :math:`\\operatorname{diag}(1 - h_k^2)\\, W_{hh}`, and the
product shrinks geometrically unless the weights are large enough to make it explode. The
LSTM's cell state and the GRU's interpolation :math:`h_t = (1-z) \\odot n + z \\odot h_{t-1}`
add a path whose factor is a gate (:math:`f`, or :math:`z`): near 1, the gradient passes.
"""

# %%
# Train the three cells briefly
# -----------------------------
# Every cell gets the same settings, PyTorch's initialisation, Adam and gradients clipped to
# norm 1 (see :mod:`manual_rnn.app.train`). The runs are short, a few hundred steps of a small
# network, which is enough for the gated cells to solve the problem at this length and for
# the Elman network not to.
import matplotlib.pyplot as plt
import numpy as np

from manual_rnn.app import train
from manual_rnn.app.plot import plot_gradient_flow
from manual_rnn.app.tasks import Adding
from manual_rnn.verify.traces import gradient_norms, trace

T = 30
task = Adding(seq_len=T)
CELLS = {"rnn": "Elman (tanh)", "lstm": "LSTM", "gru": "GRU"}
COLOURS = {"rnn": "tab:red", "lstm": "tab:blue", "gru": "tab:green"}

initial, trained, specs = {}, {}, {}
for cell in CELLS:
    config = train.Config(task="adding", seq_len=T, cell=cell, hidden=16, optimizer="adam",
                          lr=0.02, clip=1.0, steps=600, batch=32, seed=0, eval_every=100,
                          eval_batch=256)
    specs[cell] = train.build_spec(config, task)
    initial[cell] = train.start(config, task).params
    state = train.train(config)
    trained[cell] = state.params
    print(f"{CELLS[cell]:>12}: test MSE {state.history.eval_metric[-1]:.4f} after "
          f"{state.step} steps (always answering 1.0 scores {1 / 6:.4f})")

# %%
# Trace one held-out batch
# ------------------------
# ``loss_mask`` puts the loss on the last step, as in training. ``trace`` returns, among
# others, ``"dh_l0"``: :math:`\partial L / \partial h_t` for every step and sequence, shaped
# (T, B, H); :func:`~manual_rnn.verify.traces.gradient_norms` takes its norm over the units.
batch = task.batch(np.random.default_rng(1), 64, split="eval")


def steps_of(cell, params):
    return trace(specs[cell], params, batch.xs, batch.targets, loss_mask=batch.loss_mask)


traces = {(cell, when): steps_of(cell, params)
          for when, all_params in (("init", initial), ("trained", trained))
          for cell, params in all_params.items()}

for (cell, when), steps in traces.items():
    norms = np.median(gradient_norms(steps)["l0"], axis=1)
    print(f"{CELLS[cell]:>12} {when:>8}: ||dL/dh_0|| / ||dL/dh_T-1|| = "
          f"{norms[0] / norms[-1]:.1e}")

# %%
# :math:`\|\partial L / \partial h_t\|` against :math:`t`
# ---------------------------------------------------------
# One call per line: :func:`~manual_rnn.app.plot.plot_gradient_flow` takes the trace (or the
# norms) and draws the median over the batch with the band from its 10th to 90th percentile.
# The grey band is the first half of the sequence, where the first marked value sits: a
# network can learn to use it only if some gradient arrives there.
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True, layout="constrained")
for ax, when, title in zip(axes, ("init", "trained"),
                           ("at initialisation", "after 600 training steps")):
    ax.axvspan(0, T // 2 - 1, color="0.92", lw=0)
    for cell in CELLS:
        plot_gradient_flow(traces[cell, when], ax=ax, label=CELLS[cell], color=COLOURS[cell])
    ax.set_title(title)
axes[1].set_ylabel("")
fig.suptitle(f"Adding problem, T = {T}: the loss at the last step, carried back in time")

# %%
# At initialisation every cell loses the gradient on its way back: the LSTM's forget gate and
# the GRU's update gate start near :math:`\sigma(0) = 1/2`, and half per step is little better
# than the Elman network's shrinking Jacobians. After training, the curves of the LSTM and the
# GRU are flat: the loss reaches the first half of the sequence, and with it the first marked
# value. The Elman network's gradient still vanishes, and it stays at the baseline.
#
# What changed is a few gates. Below on the left, each unit's gate averaged over the steps
# and the batch, units sorted: training pushes some of them towards 1, and those units keep
# what they hold (:math:`c_t = f \odot c_{t-1} + \dots`, :math:`h_t = z \odot h_{t-1} +
# \dots`) and pass the gradient back unchanged. On the right, the LSTM's gradient in its cell
# state, :math:`\|\partial L / \partial c_t\|` (``state="dc"``), the path it travels.
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
for cell, gate, name in (("lstm", "f", "LSTM forget gate f"), ("gru", "z", "GRU update gate z")):
    for when, marker in (("init", "o"), ("trained", "s")):
        per_unit = np.sort(traces[cell, when][f"{gate}_l0"].mean(axis=(0, 1)))
        left.plot(per_unit, marker, ms=4, color=COLOURS[cell],
                  mfc="none" if when == "init" else COLOURS[cell], label=f"{name}, {when}")
left.set(xlabel="unit (sorted)", ylabel="mean gate value", ylim=(0, 1.02),
         title="gates, unit by unit")
left.grid(alpha=0.3)
left.legend(fontsize=8)
for when, colour in (("init", "tab:gray"), ("trained", COLOURS["lstm"])):
    plot_gradient_flow(traces["lstm", when], ax=right, state="dc", label=f"LSTM, {when}",
                       color=colour)
right.set_title("the LSTM's cell state")

# %%
# Per step and per unit
# ---------------------
# The norm hides which units carry the gradient. :math:`|\partial L / \partial h_t|` of one
# sequence, unit by unit (rows) and step by step (columns), on one logarithmic colour scale
# for the three trained networks; the dashed lines mark the two inputs whose sum is the
# target.
from matplotlib.colors import LogNorm  # noqa: E402

sequence = 0
marked = np.flatnonzero(batch.xs[:, sequence, 1])
grids = {cell: np.abs(traces[cell, "trained"]["dh_l0"][:, sequence, :]).T for cell in CELLS}
low = max(min(g[g > 0].min() for g in grids.values()), 1e-12)
high = max(g.max() for g in grids.values())
fig, axes = plt.subplots(3, 1, figsize=(9, 7.5), sharex=True, layout="constrained")
for ax, (cell, grid) in zip(axes, grids.items()):
    image = ax.imshow(np.maximum(grid, low), aspect="auto", cmap="magma",
                      norm=LogNorm(vmin=low, vmax=high), interpolation="nearest")
    for t in marked:
        ax.axvline(t, color="white", ls="--", lw=1)
    ax.set(ylabel="unit", title=f"{CELLS[cell]}, trained")
axes[-1].set_xlabel("step t")
fig.colorbar(image, ax=axes, label=r"$|\partial L / \partial h_t|$ per unit", shrink=0.8)

# %%
# The Elman network's gradient fades steadily towards the start of the sequence, in every
# unit alike. The GRU carries it in a few units across the whole sequence (the bright rows).
# The LSTM carries it in its cell state, and it is brightest in :math:`h_t` at the marked steps
# themselves, where the gates decide what to write. To look at your own model the same way,
# trace it and pass the result on:
#
# .. code-block:: python
#
#    steps = trace(spec, params, xs, targets)
#    plot_gradient_flow(steps, "flow.png")      # or ax=... to draw into your own figure
#
# A trained model saved by ``manual-rnn train --save`` loads with
# :func:`manual_rnn.app.checkpoint.load`, which gives its spec and parameters.

plt.show()
