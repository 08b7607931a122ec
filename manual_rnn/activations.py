"""Activations, and their derivatives written in terms of their outputs.

Writing f'(a) through y = f(a) (tanh' = 1 - y^2, sigmoid' = y (1 - y), relu' = [y > 0]) is what
lets the forward pass keep only the states, never the pre-activations, for the backward pass.
"""
import numpy as np


def sigmoid(a, out=None):
    # For a < -709 (float64) exp(-a) overflows to inf and 1 / (1 + inf) = 0 is exactly the
    # right answer, so that overflow is harmless and we silence its warning. (The other
    # common form, (1 + tanh(a/2)) / 2, never overflows but costs twice as much: NumPy's tanh
    # is the slower of the two.)
    with np.errstate(over="ignore"):
        # Not np.negative: NumPy 2.4's float32 negative reads a strided input as if it were
        # contiguous when `out` is strided too (tests/test_bad_input.py pins this down).
        out = np.multiply(a, -1, out=out)
        np.exp(out, out=out)
        out += 1
        return np.reciprocal(out, out=out)


def tanh(a, out=None):
    return np.tanh(a, out=out)


def relu(a, out=None):
    return np.maximum(a, 0, out=out)


def sigmoid_grad(y):
    return y * (1 - y)


def tanh_grad(y):
    return 1 - y * y


def relu_grad(y):
    return (y > 0).astype(y.dtype)


ACTIVATIONS = {"sigmoid": (sigmoid, sigmoid_grad), "tanh": (tanh, tanh_grad),
               "relu": (relu, relu_grad)}
