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
GATE_NAMES = ()
STATES = ("h",)


def input_bias(spec, p):
    """b_ih + b_hh: both enter a_t alike, so the input projection adds them in one pass."""
    return None if p["b_ih"] is None else p["b_ih"] + p["b_hh"]


def forward(spec, p, xproj, state0):
    """xproj (T, B, H) holds W_ih x_t + b_ih + b_hh; state0 is (h0 (B, H),).
    Returns ((h_t of every step, (T, B, H)),) and the cache."""
    f, _ = ACTIVATIONS[spec.nonlinearity]
    T, B, H = xproj.shape
    hs = np.empty((T + 1, B, H), xproj.dtype)          # hs[t + 1] is h_t, hs[0] is h0
    hs[0] = state0[0]
    for t in range(T):
        np.dot(hs[t], p["w_hh"].T, out=hs[t + 1])
        hs[t + 1] += xproj[t]                                      # a_t
        f(hs[t + 1], out=hs[t + 1])                                # h_t = f(a_t)
    return (hs[1:],), {"hs": hs}


def backward(spec, p, cache, dstates, dlast):
    """dstates: (dh reaching each step from outside, (T, B, H)); dlast: (dh on the last step's
    state,). Returns (dxproj, dp, (dh0,), (dh_t of every step,))."""
    _, f_grad = ACTIVATIONS[spec.nonlinearity]
    hs = cache["hs"]
    (dhs_out,) = dstates
    da = np.empty_like(dhs_out)                        # da_t of every step
    dhs = np.empty_like(dhs_out)                       # dh_t of every step
    dh = dlast[0]
    for t in reversed(range(len(dhs_out))):
        dhs[t] = dh + dhs_out[t]                                   # dh_t
        da[t] = dhs[t] * f_grad(hs[t + 1])                         # da_t
        dh = da[t] @ p["w_hh"]                                     # dh_{t-1}
    dp = {"w_hh": sum_over_steps(da, hs[:-1])}
    if p["b_hh"] is not None:
        dp["b_hh"] = da.sum(axis=(0, 1))
        dp["b_ih"] = dp["b_hh"].copy()                 # b_ih enters a_t as b_hh does
    return da, dp, (dh,), (dhs,)
