"""
The unrolled graph of the notebook's network
============================================

A recurrent network run over a sequence is one feed-forward network with a layer per step,
every layer using the same weights. Unrolled over the toy problem's two steps (inputs
:math:`x_0 = 1, x_1 = 2`, targets :math:`0.5, 0.8`), the notebook's sigmoid network

.. math::

   z_t = W_x x_t + W_h h_{t-1} + b_x, \\qquad h_t = \\sigma(z_t),

   y_t = W_y h_t + b_y, \\qquad L = \\sum_t \\tfrac12 (y_t - \\text{target}_t)^2

is the graph below. Black arrows run forward; the coloured labels mark the three shared
weight matrices, each used once per step. Backpropagation through time walks the same graph
backwards (red): every arrow that leaves a node returns a gradient to it, and a node or
weight that several arrows leave receives the *sum* of their gradients. :math:`W_y` leaves
through two arrows, so :math:`\\partial L / \\partial W_y` has two terms, one per step.
"""
import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

WEIGHTS = {"Wx": "tab:blue", "Wh": "tab:green", "Wy": "tab:orange"}

# node: (x, y, label)
NODES = {
    "h-1": (0.0, 2.0, r"$h_{-1} = 0$"),
    "x0": (2.0, 0.0, r"$x_0 = 1$"), "z0": (2.0, 1.0, r"$z_0$"), "h0": (2.0, 2.0, r"$h_0$"),
    "y0": (2.0, 3.0, r"$y_0$"), "L0": (2.0, 4.0, r"$L_0$"),
    "x1": (5.0, 0.0, r"$x_1 = 2$"), "z1": (5.0, 1.0, r"$z_1$"), "h1": (5.0, 2.0, r"$h_1$"),
    "y1": (5.0, 3.0, r"$y_1$"), "L1": (5.0, 4.0, r"$L_1$"),
    "L": (3.5, 5.0, r"$L = L_0 + L_1$"),
}
# forward edges: (from, to, weight or None, label)
EDGES = [
    ("x0", "z0", "Wx", r"$W_x$"), ("h-1", "z0", "Wh", r"$W_h$"), ("z0", "h0", None, r"$\sigma$"),
    ("h0", "y0", "Wy", r"$W_y$"), ("y0", "L0", None, ""), ("L0", "L", None, ""),
    ("x1", "z1", "Wx", r"$W_x$"), ("h0", "z1", "Wh", r"$W_h$"), ("z1", "h1", None, r"$\sigma$"),
    ("h1", "y1", "Wy", r"$W_y$"), ("y1", "L1", None, ""), ("L1", "L", None, ""),
]
# gradients walking back: (from, to, label, label offset, curvature)
BACKWARD = [
    ("y1", "h1", r"$W_y^\top dy_1$", (-0.62, 0.0), 0.35),
    ("h1", "z1", r"$\odot\, h_1(1-h_1)$", (0.78, -0.12), -0.35),
    ("z1", "h0", r"$W_h^\top dz_1$", (0.0, 0.72), 0.35),
    ("y0", "h0", r"$W_y^\top dy_0$", (-0.62, 0.0), 0.35),
    ("h0", "z0", r"$\odot\, h_0(1-h_0)$", (0.78, -0.12), -0.35),
]


def centre(name):
    return NODES[name][:2]


fig, ax = plt.subplots(figsize=(11, 5.8), layout="constrained")
for name, (x, y, label) in NODES.items():
    half = 0.8 if name == "L" else 0.42
    ax.add_patch(FancyBboxPatch((x - half, y - 0.2), 2 * half, 0.4,
                                boxstyle="round,pad=0.02,rounding_size=0.12",
                                fc="white" if not name.startswith("L") else "0.93", ec="0.2"))
    ax.text(x, y, label, ha="center", va="center", fontsize=11)

for start, end, weight, label in EDGES:
    (x0, y0), (x1, y1) = centre(start), centre(end)
    colour = WEIGHTS.get(weight, "black")
    ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=14,
                                 shrinkA=16, shrinkB=16, color=colour,
                                 lw=2.2 if weight else 1.2))
    if label:
        ax.text((x0 + x1) / 2 + 0.12, (y0 + y1) / 2, label, color=colour, fontsize=10,
                va="center", ha="left")

for start, end, label, (dx, dy), rad in BACKWARD:
    (x0, y0), (x1, y1) = centre(start), centre(end)
    ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=12,
                                 shrinkA=16, shrinkB=16, color="tab:red", lw=1.2, ls="--",
                                 connectionstyle=f"arc3,rad={rad}"))
    ax.text((x0 + x1) / 2 + dx, (y0 + y1) / 2 + dy, label, color="tab:red", fontsize=9,
            ha="center", va="center")

SUMS = [("Wy", r"$\partial L / \partial W_y = dy_0\, h_0^\top + dy_1\, h_1^\top$"),
        ("Wh", r"$\partial L / \partial W_h = dz_0\, h_{-1}^\top + dz_1\, h_0^\top$"),
        ("Wx", r"$\partial L / \partial W_x = dz_0\, x_0^\top + dz_1\, x_1^\top$")]
ax.text(6.3, 4.3, "each shared weight:\none term per step", fontsize=10, va="top")
for row, (weight, text) in enumerate(SUMS):
    ax.text(6.3, 3.2 - 0.6 * row, text, color=WEIGHTS[weight], fontsize=12, va="center")
ax.text(-0.5, 5.3, "forward: black, shared weights in colour\nbackward: red, dashed",
        fontsize=9, va="top", color="0.25")
ax.set(xlim=(-0.6, 9.6), ylim=(-0.4, 5.4))
ax.set_aspect("equal")
ax.axis("off")

# %%
# Read the red arrows from the top. :math:`dy_t = y_t - \text{target}_t` enters each step
# from its own loss. Step 1 is last, so :math:`dh_1 = W_y^\top dy_1` alone; step 0 receives two
# gradients, one from its own output and one back through :math:`z_1`, and adds them:
# :math:`dh_0 = W_y^\top dy_0 + W_h^\top dz_1`. The tutorial derives every arrow.

plt.show()
