"""Activations, and their derivatives written in terms of their outputs.

Writing f'(a) through y = f(a) (tanh' = 1 - y^2, sigmoid' = y (1 - y), relu' = [y > 0]) is what
lets the forward pass keep only the states, never the pre-activations, for the backward pass.
Every function takes `out=` so that the cells' loops allocate nothing.
"""
import numpy as np


def overflow_to_zero():
    """A context in which exp(-a) may overflow to inf silently: 1 / (1 + inf) = 0 is exactly
    the sigmoid of a < -709 (float64) or < -88 (float32), so the warning would be noise.

    The cells enter it once around their time loop and call `sigmoid_in_loop`, rather than
    entering np.errstate again at every step."""
    return np.errstate(over="ignore")


def sigmoid_in_loop(a, out=None):
    """1 / (1 + exp(-a)), to be called inside `overflow_to_zero()`."""
    # Not np.negative: NumPy 2.4's float32 negative reads a strided input as if it were
    # contiguous when `out` is strided too (tests/test_bad_input.py pins this down). (And not
    # (1 + tanh(a/2)) / 2, which never overflows but costs more: NumPy's tanh is the slower.)
    out = np.multiply(a, -1, out=out)
    np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)


def sigmoid(a, out=None):
    with overflow_to_zero():
        return sigmoid_in_loop(a, out)


def tanh(a, out=None):
    return np.tanh(a, out=out)


def relu(a, out=None):
    return np.maximum(a, 0, out=out)


def sigmoid_grad(y, out=None):
    out = np.subtract(1, y, out=out)
    out *= y
    return out


def tanh_grad(y, out=None):
    out = np.multiply(y, y, out=out)
    return np.subtract(1, out, out=out)


def relu_grad(y, out=None):
    if out is None:
        out = np.empty_like(y)
    return np.greater(y, 0, out=out)


ACTIVATIONS = {"sigmoid": (sigmoid, sigmoid_grad), "tanh": (tanh, tanh_grad),
               "relu": (relu, relu_grad)}
