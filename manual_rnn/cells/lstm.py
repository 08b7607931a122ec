"""The LSTM cell, gates stacked (i, f, g, o) as in PyTorch, with an optional projection.

    [a_i, a_f, a_g, a_o] = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
    i, f, g, o = sigmoid(a_i), sigmoid(a_f), tanh(a_g), sigmoid(a_o)
    c_t = f * c_{t-1} + i * g
    m_t = o * tanh(c_t)
    h_t = W_hr m_t    (with proj_size; otherwise h_t = m_t)

Backward, with dh_t and dc_t the gradients reaching h_t and c_t (from outside and from t+1):

    dm = W_hr^T dh_t                    do = dm * tanh(c_t)
    dc_t += dm * o * (1 - tanh(c_t)^2)
    di, df, dg = dc_t * g, dc_t * c_{t-1}, dc_t * i
    da_t = [di * i(1-i), df * f(1-f), dg * (1-g^2), do * o(1-o)]
    dh_{t-1} += W_hh^T da_t             dc_{t-1} += dc_t * f
    dW_hh = sum_t da_t h_{t-1}^T   db_hh = sum_t da_t   dW_hr = sum_t dh_t m_t^T   dxproj_t = da_t
"""
import numpy as np

from ..activations import sigmoid, sigmoid_grad, tanh, tanh_grad
from .gates import split


def forward(spec, p, xproj, state0):
    T, B, G = xproj.shape
    H, P = G // 4, state0[0].shape[-1]
    a = xproj if p["b_hh"] is None else xproj + p["b_hh"]
    gates = np.empty_like(a)                           # i, f, g, o after their activations
    i, f, g, o = split(gates, 4)
    hs = np.empty((T + 1, B, P), dtype=a.dtype)        # hs[t + 1] is h_t, hs[0] is h0
    cs = np.empty((T + 1, B, H), dtype=a.dtype)
    tanh_cs = np.empty((T, B, H), dtype=a.dtype)
    # m_t = o * tanh(c_t) is h_t itself unless a projection follows.
    ms = hs[1:] if p["w_hr"] is None else np.empty((T, B, H), dtype=a.dtype)
    hs[0], cs[0] = state0
    z = np.empty((B, G), dtype=a.dtype)
    for t in range(T):
        np.matmul(hs[t], p["w_hh"].T, out=z)
        z += a[t]
        sigmoid(z[:, :2 * H], out=gates[t, :, :2 * H])  # i, f
        tanh(z[:, 2 * H:3 * H], out=g[t])
        sigmoid(z[:, 3 * H:], out=o[t])
        np.multiply(f[t], cs[t], out=cs[t + 1])
        cs[t + 1] += i[t] * g[t]
        tanh(cs[t + 1], out=tanh_cs[t])
        np.multiply(o[t], tanh_cs[t], out=ms[t])
        if p["w_hr"] is not None:
            np.matmul(ms[t], p["w_hr"].T, out=hs[t + 1])
    return (hs[1:], cs[1:]), (gates, hs, cs, ms, tanh_cs)


def backward(spec, p, cache, dstates):
    gates, hs, cs, ms, tanh_cs = cache
    dhs_out, dcs_out = dstates
    T, B, P = dhs_out.shape
    H = cs.shape[-1]
    i, f, g, o = split(gates, 4)
    # Every step's local derivatives at once; the loop then only chains them:
    # da_t = [dc_t * (dc/da_i, dc/da_f, dc/da_g), dm * dm/da_o].
    da = np.empty_like(gates)
    dc_da_i, dc_da_f, dc_da_g, dm_da_o = split(da, 4)
    np.multiply(g, sigmoid_grad(i), out=dc_da_i)
    np.multiply(cs[:-1], sigmoid_grad(f), out=dc_da_f)
    np.multiply(i, tanh_grad(g), out=dc_da_g)
    np.multiply(tanh_cs, sigmoid_grad(o), out=dm_da_o)
    dm_dc = o * tanh_grad(tanh_cs)
    dc_da = da.reshape(T, B, 4, H)[:, :, :3]
    dhs = np.empty_like(dhs_out)                       # total dh_t, kept for dW_hr
    dh = np.zeros((B, P), dtype=gates.dtype)
    dc = np.zeros((B, H), dtype=gates.dtype)
    for t in reversed(range(T)):
        np.add(dh, dhs_out[t], out=dhs[t])
        dm = dhs[t] if p["w_hr"] is None else dhs[t] @ p["w_hr"]
        dc += dcs_out[t]
        dc += dm * dm_dc[t]
        dc_da[t] *= dc[:, None]
        dm_da_o[t] *= dm
        dc *= f[t]
        np.matmul(da[t], p["w_hh"], out=dh)
    dp = {"w_hh": da.reshape(T * B, 4 * H).T @ hs[:-1].reshape(T * B, P)}
    if p["b_hh"] is not None:
        dp["b_hh"] = da.sum(axis=(0, 1))
    if p["w_hr"] is not None:
        dp["w_hr"] = dhs.reshape(T * B, P).T @ ms.reshape(T * B, H)
    return da, dp, (dh, dc)
