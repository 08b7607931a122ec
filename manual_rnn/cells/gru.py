"""The GRU cell, gates stacked (r, z, n) as in PyTorch, with the reset gate after the recurrent
matmul (PyTorch, cuDNN) or before it (Cho et al. 2014; Spec(reset_after=False)).

    [x_r, x_z, x_n] = W_ih x_t + b_ih + [b_hr, b_hz, 0]      (+ b_hn too, reset before)
    r = sigmoid(x_r + W_hr h_{t-1})          z = sigmoid(x_z + W_hz h_{t-1})
    reset after:    u_n = W_hn h_{t-1} + b_hn          n = tanh(x_n + r * u_n)
    reset before:   u_n = W_hn (r * h_{t-1})           n = tanh(x_n + u_n)
    h_t = (1 - z) * n + z * h_{t-1}

Backward, with dh_t the gradient reaching h_t from outside and from step t+1 (for the last
step, from beyond the sequence: dlast):

    dn = dh_t * (1 - z)                  dz = dh_t * (h_{t-1} - n)
    da_n = dn * (1 - n^2)                da_z = dz * z(1-z)
    reset after:    du_n = da_n * r      da_r = da_n * u_n * r(1-r)
                    dh_{t-1} += W_hn^T du_n
    reset before:   du_n = da_n          drh = W_hn^T du_n
                    da_r = drh * h_{t-1} * r(1-r)      dh_{t-1} += drh * r
    dh_{t-1} += dh_t * z + W_hr^T da_r + W_hz^T da_z
    dxproj_t = [da_r, da_z, da_n]
    dW_hh = sum_t [da_r h_{t-1}^T; da_z h_{t-1}^T; du_n v_t^T]    (v_t = h_{t-1}, or r * h_{t-1})
    db_ih = sum_t dxproj_t               db_hh = sum_t [da_r, da_z, du_n]
"""
import numpy as np

from ..activations import overflow_to_zero, sigmoid_grad, sigmoid_in_loop as sigmoid, tanh_grad
from ..sequences import sum_over_steps
from .gates import split

GATES = 3
GATE_NAMES = ("r", "z", "n")
STATES = ("h",)


def input_bias(spec, p):
    """b_ih + [b_hr, b_hz, 0]: b_hr and b_hz enter like b_ih. So does b_hn when the reset gate
    comes before the matmul; after it, r scales b_hn, which the step adds itself."""
    if p["b_ih"] is None:
        return None
    H = len(p["b_ih"]) // 3
    bias = p["b_ih"].copy()
    unscaled = 3 * H if not spec.reset_after else 2 * H
    bias[:unscaled] += p["b_hh"][:unscaled]
    return bias


def forward(spec, p, xproj, state0):
    """xproj (T, B, 3H) holds W_ih x_t + input_bias; state0 is (h0 (B, H),).
    Returns ((h_t of every step, (T, B, H)),) and the cache."""
    T, B, G = xproj.shape
    H = G // 3
    w_hrz, w_hn = p["w_hh"][:2 * H], p["w_hh"][2 * H:]
    gates = np.empty_like(xproj)                       # r, z, n of every step
    r, z, n = split(gates, 3)
    u_n = np.empty((T, B, H), xproj.dtype)
    hs = np.empty((T + 1, B, H), xproj.dtype)          # hs[t + 1] is h_t, hs[0] is h0
    # v_t, what W_hn multiplies: h_{t-1} (reset after), or r * h_{t-1} (reset before)
    vs = hs[:-1] if spec.reset_after else np.empty((T, B, H), xproj.dtype)
    b_hn = 0 if p["b_hh"] is None else p["b_hh"][2 * H:]
    hs[0] = state0[0]
    u_rz = np.empty((B, 2 * H), xproj.dtype)
    with overflow_to_zero():
        for t in range(T):
            x_r, x_z, x_n = split(xproj[t], 3)
            np.dot(hs[t], w_hrz.T, out=u_rz)
            u_r, u_z = split(u_rz, 2)
            r[t], z[t] = sigmoid(x_r + u_r), sigmoid(x_z + u_z)
            if spec.reset_after:
                u_n[t] = hs[t] @ w_hn.T + b_hn
                n[t] = np.tanh(x_n + r[t] * u_n[t])
            else:
                vs[t] = r[t] * hs[t]
                np.dot(vs[t], w_hn.T, out=u_n[t])
                n[t] = np.tanh(x_n + u_n[t])
            hs[t + 1] = (1 - z[t]) * n[t] + z[t] * hs[t]           # h_t
    return (hs[1:],), {"gates": gates, "u_n": u_n, "hs": hs, "vs": vs}


def backward(spec, p, cache, dstates, dlast):
    """dstates: (dh reaching each step from outside, (T, B, H)); dlast: (dh on the last step's
    state,). Returns (dxproj, dp, (dh0,), (dh_t of every step,))."""
    gates, u_n, hs, vs = (cache[k] for k in ("gates", "u_n", "hs", "vs"))
    (dhs_out,) = dstates
    H = u_n.shape[-1]
    w_hrz, w_hn = p["w_hh"][:2 * H], p["w_hh"][2 * H:]
    r, z, n = split(gates, 3)
    dxproj = np.empty_like(gates)                      # [da_r, da_z, da_n] of every step
    da_r, da_z, da_n = split(dxproj, 3)
    da_rz = dxproj[..., :2 * H]
    du_n = np.empty_like(u_n)
    dhs = np.empty_like(dhs_out)                       # dh_t of every step
    dh = dlast[0]
    for t in reversed(range(len(gates))):
        dhs[t] = dh + dhs_out[t]                                   # dh_t
        dn, dz = dhs[t] * (1 - z[t]), dhs[t] * (hs[t] - n[t])
        da_n[t], da_z[t] = dn * tanh_grad(n[t]), dz * sigmoid_grad(z[t])
        if spec.reset_after:
            du_n[t] = da_n[t] * r[t]
            da_r[t] = da_n[t] * u_n[t] * sigmoid_grad(r[t])
            dh_through_n = du_n[t] @ w_hn
        else:
            du_n[t] = da_n[t]
            drh = du_n[t] @ w_hn
            da_r[t] = drh * hs[t] * sigmoid_grad(r[t])
            dh_through_n = drh * r[t]
        dh = dhs[t] * z[t] + dh_through_n + da_rz[t] @ w_hrz      # dh_{t-1}
    dp = {"w_hh": np.concatenate([sum_over_steps(da_rz, hs[:-1]), sum_over_steps(du_n, vs)])}
    if p["b_hh"] is not None:
        dp["b_ih"] = dxproj.sum(axis=(0, 1))
        dp["b_hh"] = np.concatenate([dp["b_ih"][:2 * H], du_n.sum(axis=(0, 1))])
    return dxproj, dp, (dh,), (dhs,)
