"""
Exploding gradients, and what clipping does about them
======================================================

The gradient that reaches step :math:`t` is a product of Jacobians,
:math:`\\partial L / \\partial h_t = \\big(\\prod_{k>t} \\partial h_k / \\partial h_{k-1}\\big)^{\\top}
\\partial L / \\partial h_{T-1}`. For an Elman network each factor is
:math:`\\operatorname{diag}(f'(a_k))\\, W_{hh}`: when :math:`W_{hh}` stretches vectors by more
than the activation's slope shrinks them, their product grows geometrically and the gradient
explodes backwards in time.

Clipping by the global norm (:func:`manual_rnn.clip_grad_norm`, PyTorch's
``clip_grad_norm_``) rescales the whole gradient to at most ``max_norm`` when it is longer,
keeping its direction:

.. math::

   g \\leftarrow g \\cdot \\min\\Big(1, \\frac{\\text{max\\_norm}}{\\|g\\|}\\Big).
"""

# %%
# Growing backwards in time
# -------------------------
# An Elman network with tanh units on the adding problem, its recurrent matrix an orthogonal
# matrix times a gain. Gain 1 keeps lengths, and the activations' slopes below 1 make the
# gradient shrink backwards; gains of 2 and 3 make it grow, by orders of magnitude over 50
# steps.
import matplotlib.pyplot as plt
import numpy as np

import manual_rnn as mr
from manual_rnn.app.plot import plot_gradient_flow
from manual_rnn.app.tasks import Adding
from manual_rnn.verify.traces import gradient_norms, trace

T, H = 50, 32
task = Adding(seq_len=T)
spec = mr.Spec(cell="rnn", input_size=2, hidden_size=H, output_size=1)
batch = task.batch(np.random.default_rng(1), 32)


def with_gain(gain, seed=0):
    params = mr.init_params(spec, seed=seed)
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(H, H)))
    params["weight_hh_l0"] = gain * q
    return params


fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
for gain, colour in ((1.0, "tab:blue"), (2.0, "tab:orange"), (3.0, "tab:red")):
    steps = trace(spec, with_gain(gain), batch.xs, batch.targets, loss_mask=batch.loss_mask)
    plot_gradient_flow(steps, ax=ax, label=f"gain {gain:g}", color=colour)
    norms = np.median(gradient_norms(steps)["l0"], axis=1)
    print(f"gain {gain:g}: ||dL/dh_0|| / ||dL/dh_T-1|| = {norms[0] / norms[-1]:.1e}")
ax.set_title(r"Elman (tanh), $W_{hh}$ = gain $\times$ orthogonal: the loss at the last step")

# %%
# A cliff in the loss
# -------------------
# Pascanu, Mikolov and Bengio (2013) drew where exploding gradients come from with the
# smallest recurrent network there is: one sigmoid unit, :math:`h_t = \sigma(w\, h_{t-1} + b)`,
# :math:`h_0 = 0.5`, no input, and the loss :math:`\tfrac12 (h_{50} - 0.7)^2` on its last
# state. For :math:`w > 4` the map has two stable fixed points, and which one :math:`h_t`
# settles in switches abruptly across a curve in the :math:`(w, b)` plane: a wall, on which
# the gradient is enormous. This is a one-unit Elman network,
# ``Spec(cell="rnn", nonlinearity="sigmoid", hidden_size=1)``, so manual_rnn computes its
# gradients with the same backward pass as any other.
T_CLIFF = 50
cliff = mr.Spec(cell="rnn", input_size=1, hidden_size=1, nonlinearity="sigmoid")
xs, h0 = np.zeros((T_CLIFF, 1)), np.array([[0.5]])
targets = np.full((T_CLIFF, 1), 0.7)
last_only = np.zeros(T_CLIFF)
last_only[-1] = 1.0


def point(w, b):
    return {"weight_ih_l0": np.zeros((1, 1)), "weight_hh_l0": np.array([[w]]),
            "bias_ih_l0": np.array([b]), "bias_hh_l0": np.zeros(1)}


def loss_and_grad(w, b):
    loss, grads = mr.loss_and_grad(cliff, point(w, b), xs, targets, h0=h0,
                                   loss_mask=last_only)
    return loss, {"w": grads["weight_hh_l0"][0, 0], "b": grads["bias_ih_l0"][0]}


def descend(w, b, clip, lr=2.0, steps=150):
    """Gradient descent on (w, b), the gradient clipped to norm `clip` (None: never)."""
    path, norms = [(w, b)], []
    for _ in range(steps):
        _, g = loss_and_grad(w, b)
        if clip is not None:
            g, norm = mr.clip_grad_norm(g, clip)
        else:
            norm = float(np.hypot(g["w"], g["b"]))
        w, b = w - lr * g["w"], b - lr * g["b"]
        path.append((w, b))
        norms.append(norm)
    return np.array(path), np.array(norms)


start = (5.0, -3.5)
paths = {"no clipping": descend(*start, clip=None), "clipped to norm 1": descend(*start, clip=1.0)}
for name, (path, norms) in paths.items():
    jump = int(np.argmax(norms))
    print(f"{name:>18}: largest gradient norm {norms.max():.3g} at step {jump}; ends at "
          f"w = {path[-1, 0]:.2f}, b = {path[-1, 1]:.2f}, loss {loss_and_grad(*path[-1])[0]:.4f}")

# %%
# The loss surface, computed on a grid with the forward recurrence in NumPy, and the two
# descents from the same start. Without clipping, the step that lands on the wall is as long
# as the gradient there: it throws :math:`(w, b)` far off, onto a plateau where the unit is
# saturated and the gradient is zero, and descent stops. Clipped, the same step has length
# at most ``lr * max_norm``; the descent crosses the wall and goes on to a low loss.
W, B = np.meshgrid(np.linspace(0, 12, 241), np.linspace(-8, 2, 201))
h = np.full_like(W, 0.5)
for _ in range(T_CLIFF):
    h = 1 / (1 + np.exp(-(W * h + B)))
surface = 0.5 * (h - 0.7) ** 2

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4), layout="constrained")
shown = left.contourf(W, B, np.log10(surface + 1e-8), levels=30, cmap="viridis")
fig.colorbar(shown, ax=left, label=r"$\log_{10}$ loss")
for (name, (path, _)), colour in zip(paths.items(), ("tab:red", "white")):
    left.plot(path[:, 0], path[:, 1], ".-", color=colour, ms=3, lw=1, label=name)
    if np.abs(path).max() > 12:
        far = path[np.argmax(np.abs(path).max(axis=1) > 12)]
        left.annotate(f"thrown to w = {far[0]:.0f}, b = {far[1]:.0f}", xy=(11.8, 1.8),
                      ha="right", va="top", color=colour, fontsize=8)
left.plot(*start, "o", color="white", mec="black")
left.set(xlim=(0, 12), ylim=(-8, 2), xlabel="w", ylabel="b",
         title=r"$h_t = \sigma(w\,h_{t-1} + b)$, loss $\frac{1}{2}(h_{50} - 0.7)^2$")
left.legend(loc="lower right", fontsize=8)
for (name, (_, norms)), colour in zip(paths.items(), ("tab:red", "black")):
    right.semilogy(np.arange(len(norms)), norms, color=colour, label=name)
right.set(xlabel="descent step", ylabel="gradient norm (before clipping)",
          title="the gradient along each descent")
right.grid(alpha=0.3, which="both")
right.legend()

# %%
# Clipping changes the length of a step, never its direction, and only on the rare steps that
# hit a wall. That is why training with long sequences clips by default here:
# ``manual-rnn train --clip 1.0`` is the default, and :func:`manual_rnn.clip_grad_norm`
# returns the norm before clipping, so a training loop can log how often it fires.

plt.show()
