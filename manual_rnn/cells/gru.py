"""The GRU cell, gates stacked (r, z, n) as in PyTorch.

    [x_r, x_z, x_n] = W_ih x_t + b_ih          [u_r, u_z, u_n] = W_hh h_{t-1} + b_hh
    r = sigmoid(x_r + u_r)       z = sigmoid(x_z + u_z)       n = tanh(x_n + r * u_n)
    h_t = (1 - z) * n + z * h_{t-1}

Backward, with dh_t the gradient reaching h_t from outside and from step t+1 (for the last
step, from beyond the sequence: dlast):

    dn = dh_t * (1 - z)          dz = dh_t * (h_{t-1} - n)
    da_n = dn * (1 - n^2)        da_r = da_n * u_n * r(1-r)        da_z = dz * z(1-z)
    dxproj_t = [da_r, da_z, da_n]          du_t = [da_r, da_z, da_n * r]
    dh_{t-1} += dh_t * z + W_hh^T du_t
    dW_hh = sum_t du_t h_{t-1}^T     db_hh = sum_t du_t     db_ih = sum_t dxproj_t
"""
import numpy as np

from ..activations import (overflow_to_zero, sigmoid_grad, sigmoid_in_loop as sigmoid, tanh,
                           tanh_grad)
from ..sequences import sum_over_steps
from .gates import split

GATES = 3
STATES = ("h",)


def input_bias(p):
    """b_ih + [b_hr, b_hz, 0]: b_hr and b_hz enter like b_ih, but b_hn is scaled by r."""
    if p["b_ih"] is None:
        return None
    H = len(p["b_ih"]) // 3
    bias = p["b_ih"].copy()
    bias[:2 * H] += p["b_hh"][:2 * H]
    return bias


def forward(spec, p, xproj, state0):
    T, B, G = xproj.shape
    H = G // 3
    # Step t reads xproj[t] once, and then its gates (r, z, n after their activations)
    # overwrite it: the step's largest array is allocated once, not twice.
    gates = xproj
    r, z, n = split(gates, 3)
    u_ns = np.empty((T, B, H), dtype=xproj.dtype)      # W_hn h_{t-1} + b_hn, which r scales
    hs = np.empty((T + 1, B, H), dtype=xproj.dtype)    # hs[t + 1] is h_t, hs[0] is h0
    hs[0] = state0[0]
    u = np.empty((B, G), dtype=xproj.dtype)            # W_hh h_{t-1}; b_hr, b_hz are in xproj
    u_rz, u_n = u[:, :2 * H], u[:, 2 * H:]
    # r, z and n are formed in contiguous buffers and copied into gates[t] once: on the strided
    # gate blocks of gates[t], each of the step's passes would cost 2-4 times as much.
    rz = np.empty((B, 2 * H), dtype=xproj.dtype)
    n_t = np.empty((B, H), dtype=xproj.dtype)
    b_hn = 0 if p["b_hh"] is None else p["b_hh"][2 * H:]
    with overflow_to_zero():
        for t in range(T):
            np.dot(hs[t], p["w_hh"].T, out=u)
            np.add(gates[t, :, :2 * H], u_rz, out=rz)  # x_r + u_r, x_z + u_z
            sigmoid(rz, out=rz)
            gates[t, :, :2 * H] = rz                   # r, z
            np.add(u_n, b_hn, out=u_ns[t])
            np.multiply(r[t], u_ns[t], out=n_t)
            n_t += n[t]                                # x_n + r * u_n
            tanh(n_t, out=n_t)
            n[t] = n_t
            np.subtract(hs[t], n_t, out=hs[t + 1])     # h_t = n + z * (h_{t-1} - n)
            hs[t + 1] *= z[t]
            hs[t + 1] += n_t
    return (hs[1:],), (gates, u_ns, hs)


def backward(spec, p, cache, dstates, dlast):
    gates, u_ns, hs = cache
    (dhs,) = dstates
    T, B, H = dhs.shape
    r, z, n = split(gates, 3)
    # Every step's local derivatives at once, dh_t/da for a = [a_r, a_z, a_n] (the
    # pre-activations) and dh_t/du; the loop then only multiplies in dh_t and chains.
    dh_da = sigmoid_grad(gates)                        # r(1-r), z(1-z) in one pass; n's next
    dh_da_r, dh_da_z, dh_da_n = split(dh_da, 3)
    tanh_grad(n, out=dh_da_n)
    dh_total = np.empty_like(dhs)                      # the loop fills it; scratch till then
    scratch = np.subtract(1, z, out=dh_total)
    dh_da_n *= scratch                                 # (1 - z) (1 - n^2)
    np.subtract(hs[:-1], n, out=scratch)
    dh_da_z *= scratch                                 # (h_{t-1} - n) z (1 - z)
    dh_da_r *= u_ns
    dh_da_r *= dh_da_n                                 # dh/da_n u_n r (1 - r)
    du = dh_da.copy()
    _, _, du_n = split(du, 3)
    du_n *= r                                          # u_n enters n through r * u_n
    du_gates = du.reshape(T, B, 3, H)
    dh = dlast[0].copy()
    recurrent = np.empty((B, H), dtype=dhs.dtype)
    for t in reversed(range(T)):
        dh += dhs[t]
        dh_total[t] = dh
        du_gates[t] *= dh[:, None]
        np.dot(du[t], p["w_hh"], out=recurrent)
        dh *= z[t]
        dh += recurrent
    dxproj = dh_da                                     # dh_t/da * dh_t, in place: no new array
    dxproj.reshape(T, B, 3, H)[...] *= dh_total[:, :, None]
    dp = {"w_hh": sum_over_steps(du, hs[:-1])}
    if p["b_hh"] is not None:
        dp["b_hh"] = du.sum(axis=(0, 1))
        dp["b_ih"] = dxproj.sum(axis=(0, 1))           # b_hn enters scaled by r, so not db_hh
    return dxproj, dp, (dh,)
