"""The LSTM cell, gates stacked (i, f, g, o) as in PyTorch, with an optional projection.

    a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh          a_t = [a_i, a_f, a_g, a_o]
    i, f, g, o = sigmoid(a_i), sigmoid(a_f), tanh(a_g), sigmoid(a_o)
    c_t = f * c_{t-1} + i * g
    m_t = o * tanh(c_t)
    h_t = W_hr m_t    (with proj_size; otherwise h_t = m_t)

Backward, with dh_t and dc_t the gradients reaching h_t and c_t from outside and from step t+1
(for the last step, from beyond the sequence: dlast):

    dm = W_hr^T dh_t    (with proj_size; otherwise dm = dh_t)
    do = dm * tanh(c_t)
    dc_t += dm * o * (1 - tanh(c_t)^2)
    di, df, dg = dc_t * g, dc_t * c_{t-1}, dc_t * i
    da_t = [di * i(1-i), df * f(1-f), dg * (1-g^2), do * o(1-o)]
    dh_{t-1} += W_hh^T da_t          dc_{t-1} += dc_t * f
    dW_hh = sum_t da_t h_{t-1}^T     db_hh = db_ih = sum_t da_t     dW_hr = sum_t dh_t m_t^T
    dxproj_t = da_t
"""
import numpy as np

from ..activations import overflow_to_zero, sigmoid_grad, sigmoid_in_loop as sigmoid, tanh_grad
from ..sequences import sum_over_steps
from .gates import split

GATES = 4
GATE_NAMES = ("i", "f", "g", "o")
STATES = ("h", "c")


def input_bias(spec, p):
    """b_ih + b_hh: both enter a_t alike, so the input projection adds them in one pass."""
    return None if p["b_ih"] is None else p["b_ih"] + p["b_hh"]


def forward(spec, p, xproj, state0):
    """xproj (T, B, 4H) holds W_ih x_t + b_ih + b_hh; state0 is (h0 (B, P), c0 (B, H)).
    Returns ((h_t, c_t) of every step, (T, B, P) and (T, B, H)), and the cache."""
    T, B, G = xproj.shape
    H, P = G // 4, state0[0].shape[-1]
    gates = np.empty_like(xproj)                       # i, f, g, o of every step
    i, f, g, o = split(gates, 4)
    hs = np.empty((T + 1, B, P), xproj.dtype)          # hs[t + 1] is h_t, hs[0] is h0
    cs = np.empty((T + 1, B, H), xproj.dtype)          # cs[t + 1] is c_t, cs[0] is c0
    tanh_cs = np.empty((T, B, H), xproj.dtype)
    ms = hs[1:] if p["w_hr"] is None else np.empty((T, B, H), xproj.dtype)
    hs[0], cs[0] = state0
    a = np.empty((B, G), xproj.dtype)
    with overflow_to_zero():
        for t in range(T):
            np.dot(hs[t], p["w_hh"].T, out=a)
            a += xproj[t]                                          # a_t
            a_i, a_f, a_g, a_o = split(a, 4)
            i[t], f[t], g[t], o[t] = sigmoid(a_i), sigmoid(a_f), np.tanh(a_g), sigmoid(a_o)
            cs[t + 1] = f[t] * cs[t] + i[t] * g[t]                 # c_t
            np.tanh(cs[t + 1], out=tanh_cs[t])
            ms[t] = o[t] * tanh_cs[t]                              # m_t
            if p["w_hr"] is not None:
                np.dot(ms[t], p["w_hr"].T, out=hs[t + 1])          # h_t = W_hr m_t
    return (hs[1:], cs[1:]), {"gates": gates, "hs": hs, "cs": cs, "tanh_cs": tanh_cs, "ms": ms}


def backward(spec, p, cache, dstates, dlast):
    """dstates: (dh, dc) reaching each step from outside, (T, B, P) and (T, B, H) or None;
    dlast: (dh, dc) on the last step's state.
    Returns (dxproj, dp, (dh0, dc0), (dh_t, dc_t reaching every step))."""
    gates, hs, cs, tanh_cs, ms = (cache[k] for k in ("gates", "hs", "cs", "tanh_cs", "ms"))
    dhs_out, dcs_out = dstates
    i, f, g, o = split(gates, 4)
    da = np.empty_like(gates)                          # da_t of every step
    da_i, da_f, da_g, da_o = split(da, 4)
    dhs = np.empty_like(dhs_out)                       # dh_t of every step
    dcs = np.empty_like(tanh_cs)                       # dc_t reaching every step
    dh, dc = (d.copy() for d in dlast)
    for t in reversed(range(len(gates))):
        dhs[t] = dh + dhs_out[t]                                   # dh_t
        dm = dhs[t] if p["w_hr"] is None else dhs[t] @ p["w_hr"]
        do = dm * tanh_cs[t]
        if dcs_out is not None:                                    # only with lengths
            dc += dcs_out[t]
        dcs[t] = dc                                                # dc_t, reaching c_t
        dc += dm * o[t] * tanh_grad(tanh_cs[t])
        di, df, dg = dc * g[t], dc * cs[t], dc * i[t]
        da_i[t], da_f[t] = di * sigmoid_grad(i[t]), df * sigmoid_grad(f[t])
        da_g[t], da_o[t] = dg * tanh_grad(g[t]), do * sigmoid_grad(o[t])
        np.dot(da[t], p["w_hh"], out=dh)                           # dh_{t-1}
        dc *= f[t]                                                 # dc_{t-1}
    dp = {"w_hh": sum_over_steps(da, hs[:-1])}
    if p["b_hh"] is not None:
        dp["b_hh"] = da.sum(axis=(0, 1))
        dp["b_ih"] = dp["b_hh"].copy()                 # b_ih enters a_t as b_hh does
    if p["w_hr"] is not None:
        dp["w_hr"] = sum_over_steps(dhs, ms)
    return da, dp, (dh, dc), (dhs, dcs)
