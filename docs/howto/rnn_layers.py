"""An Elman layer's forward and backward pass, written by hand as CS231n's rnn_layers.py writes
them: batch-major data x (N, T, D), row vectors, weights multiplied from the right. The guide
"Check your own backward pass" checks these functions; they stand for yours."""
import numpy as np


def rnn_forward(x, h0, Wx, Wh, b):
    """h (N, T, H): h_t = tanh(x_t Wx + h_{t-1} Wh + b), and a cache for rnn_backward."""
    N, T, _ = x.shape
    h, prev = np.empty((N, T, len(b))), h0
    for t in range(T):
        prev = h[:, t] = np.tanh(x[:, t] @ Wx + prev @ Wh + b)
    return h, (x, h0, Wx, Wh, h)


def rnn_backward(dh, cache):
    """dx, dh0, dWx, dWh, db given dh = dL/dh (N, T, H), the upstream gradient at every step."""
    x, h0, Wx, Wh, h = cache
    dx, dWx, dWh = np.zeros_like(x), np.zeros_like(Wx), np.zeros_like(Wh)
    db, dnext = np.zeros(Wh.shape[0]), np.zeros_like(h0)
    for t in reversed(range(x.shape[1])):
        da = (dh[:, t] + dnext) * (1 - h[:, t] ** 2)          # through tanh
        prev = h[:, t - 1] if t > 0 else h0
        dx[:, t] = da @ Wx.T
        dWx += x[:, t].T @ da                                 # every weight: a sum over steps
        dWh += prev.T @ da
        db += da.sum(axis=0)
        dnext = da @ Wh.T                                     # to step t - 1
    return dx, dnext, dWx, dWh, db
