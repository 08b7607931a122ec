"""Matmuls over whole sequences (T, B, features), each as one 2-D matmul over all T*B rows.

np.matmul on a 3-D array runs one small matmul per time step, where one large matmul keeps the
BLAS busy; and a weight gradient sums over steps and sequences alike. So both flatten (T, B)
into one axis.
"""
import numpy as np


def matmul_steps(x, w, out=None):
    """x_t @ w for every step of x (T, B, n) and a matrix w (n, m): (T, B, m), written into
    `out` when given (C-contiguous, so that its 2-D reshape is a view of it)."""
    T, B, n = x.shape
    flat_out = None if out is None else out.reshape(T * B, -1)
    return np.matmul(x.reshape(T * B, n), w, out=flat_out).reshape(T, B, -1)


def sum_over_steps(a, b):
    """sum_t a_t^T b_t for a (T, B, m) and b (T, B, n): (m, n), the weight gradient of
    a_t = b_t W^T (or W b_t per sequence) when a holds the gradients and b the inputs."""
    return a.reshape(-1, a.shape[-1]).T @ b.reshape(-1, b.shape[-1])
