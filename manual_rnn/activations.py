"""Activations, and their derivatives written in terms of their outputs.

Writing f'(a) through y = f(a) (tanh' = 1 - y^2, sigmoid' = y (1 - y), relu' = [y > 0]) is what
lets the forward pass keep only the states, never the pre-activations, for the backward pass.
"""
import numpy as np


def sigmoid(a, out=None):
    # 1/(1+exp(-a)) overflows for a << 0; this identity stays finite and silent for any a.
    out = np.multiply(a, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


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
