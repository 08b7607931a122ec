"""The LSTM cell, gates stacked (i, f, g, o) as in PyTorch, with an optional projection.

    [a_i, a_f, a_g, a_o] = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
    i, f, g, o = sigmoid(a_i), sigmoid(a_f), tanh(a_g), sigmoid(a_o)
    c_t = f * c_{t-1} + i * g
    m_t = o * tanh(c_t)
    h_t = W_hr m_t    (with proj_size; otherwise h_t = m_t)

The forward takes tanh(a_g) as 2 sigmoid(2 a_g) - 1, the same number, so that one sigmoid pass
covers all four gates.

Backward, with dh_t and dc_t the gradients reaching h_t and c_t (from outside and from t+1;
for the last step, from beyond the sequence: dlast):

    dm = W_hr^T dh_t                    do = dm * tanh(c_t)
    dc_t += dm * o * (1 - tanh(c_t)^2)
    di, df, dg = dc_t * g, dc_t * c_{t-1}, dc_t * i
    da_t = [di * i(1-i), df * f(1-f), dg * (1-g^2), do * o(1-o)]
    dh_{t-1} += W_hh^T da_t             dc_{t-1} += dc_t * f
    dW_hh = sum_t da_t h_{t-1}^T   db_hh = db_ih = sum_t da_t   dW_hr = sum_t dh_t m_t^T
    dxproj_t = da_t
"""
import numpy as np

from ..activations import (overflow_to_zero, sigmoid_grad, sigmoid_in_loop as sigmoid, tanh,
                           tanh_grad)
from ..sequences import sum_over_steps
from .gates import split

GATES = 4
STATES = ("h", "c")


def input_bias(p):
    """b_ih + b_hh: both enter a_t alike, so the input projection adds them in one pass."""
    return None if p["b_ih"] is None else p["b_ih"] + p["b_hh"]


def forward(spec, p, xproj, state0):
    T, B, G = xproj.shape
    H, P = G // 4, state0[0].shape[-1]
    # Step t reads xproj[t] once, and then its gates (i, f, g, o after their activations)
    # overwrite it: the step's largest array is allocated once, not twice.
    gates = xproj
    i, f, g, o = split(gates, 4)
    hs = np.empty((T + 1, B, P), dtype=xproj.dtype)    # hs[t + 1] is h_t, hs[0] is h0
    cs = np.empty((T + 1, B, H), dtype=xproj.dtype)
    tanh_cs = np.empty((T, B, H), dtype=xproj.dtype)
    # m_t = o * tanh(c_t) is h_t itself unless a projection follows.
    ms = hs[1:] if p["w_hr"] is None else np.empty((T, B, H), dtype=xproj.dtype)
    hs[0], cs[0] = state0
    a = np.empty((B, G), dtype=xproj.dtype)
    ig = np.empty((B, H), dtype=xproj.dtype)
    # g = tanh(a_g) = 2 sigmoid(2 a_g) - 1. With g's rows of W_hh and of xproj doubled, one
    # sigmoid pass over all four gate blocks covers g too, and saves a tanh: NumPy's float64
    # tanh costs 2-4 times its exp per number.
    w_hh = p["w_hh"].copy()                # the caller's weights stay as they are
    w_hh[2 * H:3 * H] *= 2
    g *= 2                                 # xproj's g block, which g[t] overwrites at step t
    with overflow_to_zero():
        for t in range(T):
            np.dot(hs[t], w_hh.T, out=a)
            a += xproj[t]                          # [a_i, a_f, 2 a_g, a_o]
            sigmoid(a, out=gates[t])               # i, f, s = sigmoid(2 a_g), o
            np.multiply(f[t], cs[t], out=cs[t + 1])
            np.multiply(i[t], g[t], out=ig)
            ig *= 2
            ig -= i[t]                             # i (2 s - 1) = i g
            cs[t + 1] += ig
            tanh(cs[t + 1], out=tanh_cs[t])
            np.multiply(o[t], tanh_cs[t], out=ms[t])
            if p["w_hr"] is not None:
                np.dot(ms[t], p["w_hr"].T, out=hs[t + 1])
    g *= 2
    g -= 1                                         # the cache keeps g itself
    return (hs[1:], cs[1:]), (gates, hs, cs, ms, tanh_cs)


def backward(spec, p, cache, dstates, dlast):
    gates, hs, cs, ms, tanh_cs = cache
    dhs_out, dcs_out = dstates
    T, B, P = dhs_out.shape
    H = cs.shape[-1]
    i, f, g, o = split(gates, 4)
    # Every step's local derivatives at once, written into da; the loop then only chains them:
    # da_t = [dc_t * (dc/da_i, dc/da_f, dc/da_g), dm * dm/da_o]. The sigmoid derivative is
    # taken of all four blocks in one contiguous pass (g's is then overwritten by tanh's):
    # whole-array passes cost a fraction of per-block ones when H is small.
    da = sigmoid_grad(gates)
    dc_da_i, dc_da_f, dc_da_g, dm_da_o = split(da, 4)
    tanh_grad(g, out=dc_da_g)
    dc_da_i *= g
    dc_da_f *= cs[:-1]
    dc_da_g *= i
    dm_da_o *= tanh_cs
    dm_dc = tanh_grad(tanh_cs)
    dm_dc *= o
    dc_da = da.reshape(T, B, 4, H)[:, :, :3]
    dh, dc = (d.copy() for d in dlast)
    # The total dh_t of every step is kept only for dW_hr; otherwise one step's is enough.
    dhs = None if p["w_hr"] is None else np.empty_like(dhs_out)
    dm = None if p["w_hr"] is None else np.empty((B, H), dtype=gates.dtype)
    dc_through_m = np.empty((B, H), dtype=gates.dtype)
    for t in reversed(range(T)):
        dh_t = dh if dhs is None else dhs[t]
        np.add(dh, dhs_out[t], out=dh_t)
        dm_t = dh_t if dm is None else np.dot(dh_t, p["w_hr"], out=dm)
        if dcs_out is not None:                        # only with lengths
            dc += dcs_out[t]
        np.multiply(dm_t, dm_dc[t], out=dc_through_m)
        dc += dc_through_m
        dc_da[t] *= dc[:, None]
        dm_da_o[t] *= dm_t
        dc *= f[t]
        np.dot(da[t], p["w_hh"], out=dh)
    dp = {"w_hh": sum_over_steps(da, hs[:-1])}
    if p["b_hh"] is not None:
        dp["b_hh"] = da.sum(axis=(0, 1))
        dp["b_ih"] = dp["b_hh"].copy()                 # b_ih enters a_t as b_hh does
    if p["w_hr"] is not None:
        dp["w_hr"] = sum_over_steps(dhs, ms)
    return da, dp, (dh, dc)
