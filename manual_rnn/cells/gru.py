"""The GRU cell, gates stacked (r, z, n) as in PyTorch.

    [x_r, x_z, x_n] = W_ih x_t + b_ih          [u_r, u_z, u_n] = W_hh h_{t-1} + b_hh
    r = sigmoid(x_r + u_r)       z = sigmoid(x_z + u_z)       n = tanh(x_n + r * u_n)
    h_t = (1 - z) * n + z * h_{t-1}

Backward, with dh_t the gradient reaching h_t from outside and from step t+1:

    dn = dh_t * (1 - z)          dz = dh_t * (h_{t-1} - n)
    da_n = dn * (1 - n^2)        da_r = da_n * u_n * r(1-r)        da_z = dz * z(1-z)
    dxproj_t = [da_r, da_z, da_n]          du_t = [da_r, da_z, da_n * r]
    dh_{t-1} += dh_t * z + W_hh^T du_t
    dW_hh = sum_t du_t h_{t-1}^T     db_hh = sum_t du_t
"""
import numpy as np

from ..activations import sigmoid, sigmoid_grad, tanh, tanh_grad
from .gates import split


def forward(spec, p, xproj, state0):
    T, B, G = xproj.shape
    H = G // 3
    gates = np.empty_like(xproj)                       # r, z, n after their activations
    u_ns = np.empty((T, B, H), dtype=xproj.dtype)      # W_hn h_{t-1} + b_hn, which r scales
    hs = np.empty((T + 1, B, H), dtype=xproj.dtype)    # hs[t + 1] is h_t, hs[0] is h0
    hs[0] = state0[0]
    for t in range(T):
        u = hs[t] @ p["w_hh"].T
        if p["b_hh"] is not None:
            u += p["b_hh"]
        sigmoid(xproj[t, :, :2 * H] + u[:, :2 * H], out=gates[t, :, :2 * H])
        r, z = gates[t, :, :H], gates[t, :, H:2 * H]
        u_ns[t] = u[:, 2 * H:]
        n = tanh(xproj[t, :, 2 * H:] + r * u_ns[t], out=gates[t, :, 2 * H:])
        hs[t + 1] = (1 - z) * n + z * hs[t]
    return (hs[1:],), (gates, u_ns, hs)


def backward(spec, p, cache, dstates):
    gates, u_ns, hs = cache
    (dhs,) = dstates
    T, B, H = dhs.shape
    dxproj = np.empty_like(gates)
    du = np.empty_like(gates)
    dh = np.zeros((B, H), dtype=dhs.dtype)
    for t in reversed(range(T)):
        dh += dhs[t]
        r, z, n = split(gates[t], 3)
        dn = dh * (1 - z)
        dz = dh * (hs[t] - n)
        da_n = dn * tanh_grad(n)
        dxproj[t, :, :H] = da_n * u_ns[t] * sigmoid_grad(r)
        dxproj[t, :, H:2 * H] = dz * sigmoid_grad(z)
        dxproj[t, :, 2 * H:] = da_n
        du[t, :, :2 * H] = dxproj[t, :, :2 * H]
        du[t, :, 2 * H:] = da_n * r
        dh = dh * z + du[t] @ p["w_hh"]
    dp = {"w_hh": du.reshape(T * B, 3 * H).T @ hs[:-1].reshape(T * B, H)}
    if p["b_hh"] is not None:
        dp["b_hh"] = du.sum(axis=(0, 1))
    return dxproj, dp, (dh,)
