"""BPTT by hand for the smallest recurrent network, a classic bug in it, and how a check finds it.

The network (one sequence, column vectors, as in min-char-rnn and many course notebooks):

    z_t = Wx x_t + Wh h_{t-1} + bx          h_t = sigmoid(z_t)          h_{-1} = 0
    y_t = Wy h_t + by                        L = sum_t 0.5 (y_t - target_t)^2

Its backward pass runs the time loop in reverse. Every weight is shared by all steps, so every
weight gradient is a *sum* over steps:

    dy_t = y_t - target_t
    dWy += dy_t h_t^T                        dby += dy_t
    dz_t = (Wy^T dy_t + Wh^T dz_{t+1}) * h_t (1 - h_t)
    dWx += dz_t x_t^T     dWh += dz_t h_{t-1}^T     dbx += dz_t

The bug: writing `dWy = dy_t h_t^T` (assignment) instead of `dWy += ...`. Each step overwrites
the last, so only step 0's term survives (the loop runs backward). The loss still falls, a little
more slowly, so training alone never shows it. A finite-difference check does, and so does
comparing with manual_rnn, whose `Spec(cell="rnn", nonlinearity="sigmoid")` is this network.

    python examples/notebook_bptt.py
"""
import numpy as np

import manual_rnn as mr
from manual_rnn.verify.gradcheck import numerical_gradient


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def forward(w, xs):
    """The hidden states h[t] (h[-1] = 0) and outputs y[t], as column vectors."""
    h, y = {-1: np.zeros((len(w["Wh"]), 1))}, {}
    for t, x in enumerate(xs):
        h[t] = sigmoid(w["Wx"] @ x + w["Wh"] @ h[t - 1] + w["bx"])
        y[t] = w["Wy"] @ h[t] + w["by"]
    return h, y


def loss(w, xs, targets):
    _, y = forward(w, xs)
    return sum(0.5 * float(np.sum((y[t] - targets[t]) ** 2)) for t in range(len(xs)))


def backward(w, xs, targets, accumulate_dWy=True):
    """The gradients of `loss`; accumulate_dWy=False plants the assignment bug."""
    h, y = forward(w, xs)
    grads = {name: np.zeros_like(value) for name, value in w.items()}
    dz_next = np.zeros_like(h[-1])
    for t in reversed(range(len(xs))):
        dy = y[t] - targets[t]
        if accumulate_dWy:
            grads["Wy"] += dy @ h[t].T
        else:
            grads["Wy"] = dy @ h[t].T                      # the bug: `=` where `+=` belongs
        grads["by"] += dy
        dz = (w["Wy"].T @ dy + w["Wh"].T @ dz_next) * h[t] * (1 - h[t])   # backprop into z_t
        grads["Wx"] += dz @ xs[t].T
        grads["Wh"] += dz @ h[t - 1].T
        grads["bx"] += dz
        dz_next = dz
    return grads


def as_manual_rnn(w):
    """The same weights under PyTorch's names: one hidden bias, so bias_hh_l0 is zero."""
    return {"weight_ih_l0": w["Wx"], "weight_hh_l0": w["Wh"], "bias_ih_l0": w["bx"][:, 0],
            "bias_hh_l0": np.zeros(len(w["bx"])), "head.weight": w["Wy"],
            "head.bias": w["by"][:, 0]}


def main():
    rng = np.random.default_rng(0)
    w = {"Wx": rng.normal(size=(3, 1)), "Wh": rng.normal(size=(3, 3)) / np.sqrt(3),
         "Wy": rng.normal(size=(1, 3)) / np.sqrt(3), "bx": np.zeros((3, 1)),
         "by": np.zeros((1, 1))}
    xs = [np.array([[1.0]]), np.array([[2.0]])]
    targets = [np.array([[0.5]]), np.array([[0.8]])]

    numeric = numerical_gradient(lambda v: loss(v, xs, targets), w)
    spec = mr.Spec(cell="rnn", input_size=1, hidden_size=3, output_size=1,
                   nonlinearity="sigmoid")
    _, reference = mr.loss_and_grad(spec, as_manual_rnn(w), np.concatenate(xs, axis=1).T,
                                    np.concatenate(targets, axis=1).T)
    # Central differences with eps = 1e-6 are good to about 1e-9 here; a real bug is far above.
    tolerance = 1e-6
    for title, accumulate in (("backward with dWy +=", True), ("backward with dWy =", False)):
        grads = backward(w, xs, targets, accumulate)
        print(title)
        for name in w:
            error = float(np.max(np.abs(grads[name] - numeric[name])))
            print(f"  d{name:<3} max |hand - finite differences| = {error:.1e}  "
                  f"{'ok' if error <= tolerance else 'WRONG'}")
    fixed = backward(w, xs, targets)
    agree = np.allclose(fixed["Wy"], reference["head.weight"], rtol=1e-12, atol=0)
    print(f"dWy with += equals manual_rnn's head.weight gradient: {agree}")


if __name__ == "__main__":
    main()
