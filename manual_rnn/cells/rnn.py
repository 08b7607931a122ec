"""The Elman cell.

    a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
    h_t = f(a_t)                                     f = tanh, relu or sigmoid

Backward, with dh_t the gradient reaching h_t from outside plus from step t+1 (for the last
step, from beyond the sequence: dlast):

    da_t      = dh_t * f'(a_t)                       (f' written through h_t)
    dh_{t-1} += W_hh^T da_t
    dW_hh = sum_t da_t h_{t-1}^T      db_hh = db_ih = sum_t da_t      dxproj_t = da_t
"""
import numpy as np

from ..activations import ACTIVATIONS
from ..sequences import sum_over_steps

GATES = 1
STATES = ("h",)


def input_bias(spec, p):
    """b_ih + b_hh: both enter a_t alike, so the input projection adds them in one pass."""
    return None if p["b_ih"] is None else p["b_ih"] + p["b_hh"]


def forward(spec, p, xproj, state0):
    f, _ = ACTIVATIONS[spec.nonlinearity]
    T, B, H = xproj.shape
    hs = np.empty((T + 1, B, H), dtype=xproj.dtype)  # hs[t + 1] is h_t; hs[0] is h0
    hs[0] = state0[0]
    for t in range(T):
        np.dot(hs[t], p["w_hh"].T, out=hs[t + 1])
        hs[t + 1] += xproj[t]
        f(hs[t + 1], out=hs[t + 1])
    return (hs[1:],), hs


def backward(spec, p, hs, dstates, dlast):
    _, f_grad = ACTIVATIONS[spec.nonlinearity]
    (dhs,) = dstates
    T, B, H = dhs.shape
    da = f_grad(hs[1:])         # f'(a_t) of every step at once; the loop multiplies in dh_t
    dh = dlast[0].copy()
    for t in reversed(range(T)):
        dh += dhs[t]
        da[t] *= dh
        np.dot(da[t], p["w_hh"], out=dh)
    dp = {"w_hh": sum_over_steps(da, hs[:-1])}
    if p["b_hh"] is not None:
        dp["b_hh"] = da.sum(axis=(0, 1))
        dp["b_ih"] = dp["b_hh"].copy()                 # b_ih enters a_t as b_hh does
    return da, dp, (dh,)
