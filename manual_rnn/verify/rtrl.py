"""Real-time recurrent learning (Williams & Zipser 1989): the exact gradient, forward in time.

    loss, grads, dh0 = rtrl.loss_and_grad(spec, params, xs, targets, loss="mse", h0=None,
                                          lengths=None, loss_mask=None)

returns what `manual_rnn.loss_and_grad(..., full=True)` returns (minus dL/dxs and the state) for one-layer, one-direction
networks, computed without backpropagation through time. It shares no code with the BPTT path
(only input checking, the activations and the losses), so the two agreeing is strong evidence
that both are right.

The network
-----------
Write s_t for the state (h_t; for the LSTM (h_t, c_t) stacked), theta for the recurrent
parameters (weight_ih, weight_hh, bias_ih, bias_hh and, for a projected LSTM, weight_hr), and
split every pre-activation into its input and its recurrent part

    gi_t = W_ih x_t + b_ih,        gh_t = W_hh h_{t-1} + b_hh        (G*H rows, gates stacked)

    Elman:  h_t = f(gi + gh)
    LSTM:   i, f, g, o = sig, sig, tanh, sig of the blocks of gi + gh
            c_t = f * c_{t-1} + i * g,   m_t = o * tanh(c_t),   h_t = W_hr m_t (or h_t = m_t)
    GRU:    r = sig(gi_r + gh_r),  z = sig(gi_z + gh_z),  n = tanh(gi_n + r * gh_n)
            h_t = (1 - z) * n + z * h_{t-1}
    read-out y_t = W_head h_t + b_head; loss L = sum_t l_t(y_t) over the steps that carry loss.

The algorithm
-------------
Every s_t = F(s_{t-1}, x_t; theta) depends on theta directly and through s_{t-1}, so its total
derivative, the sensitivity S_t = ds_t/dtheta (n_state x n_theta), obeys

    S_t = J_state(t) S_{t-1} + J_theta(t),     J_state = dF/ds_{t-1},  J_theta = dF/dtheta
                                                 (the immediate Jacobians: s_{t-1} held fixed)

and dL/dtheta = sum_t (dl_t/dh_t) S_t. The immediate Jacobians factor through the
pre-activations: with D_i = dF/dgi and D_h = dF/dgh,

    dF/dW_ih[j, k] = D_i[:, j] x_t[k],        dF/db_ih = D_i,
    dF/dW_hh[j, k] = D_h[:, j] h_{t-1}[k],    dF/db_hh = D_h,
    J_state        = D_h W_hh (on h_{t-1}) + the direct paths (c_{t-1} through f; z * h_{t-1}),

so each cell below only says how its state moves with gi, gh and s_{t-1}. The initial state is
treated as n_state more inputs: S_0 = [0 | I], whose last columns give dL/dh0 (per sequence, as
each sequence's h0 touches only its own state). The head's gradients need no sensitivities:
dW_head = sum_t dy_t h_t^T, db_head = sum_t dy_t. Padded steps (t >= lengths[b]) leave both
s and S of sequence b unchanged and carry no loss.

Why two algorithms, and what each costs
---------------------------------------
BPTT runs forward storing every state, then backward once: memory O(T) stored states (times
B * H), time O(T * P_cost) with P_cost the cost of one step (O(H^2) for the Elman cell) -- the
cheap choice whenever the whole sequence is at hand. RTRL stores nothing from the past: it
carries S, O(n_state * n_theta) numbers per sequence whatever T is, and has the exact gradient
so far at every step, so it can learn online on unbounded streams. It pays for that in time:
each step multiplies the n_state x n_state J_state by the n_state x n_theta S, O(H * n_theta),
i.e. O(H^4) per step for the Elman cell (n_theta ~ H^2), and memory O(H^3) -- fine for small
H, prohibitive for big H.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from .. import checks
from ..activations import ACTIVATIONS, sigmoid, tanh
from ..losses import LOSSES
from ..spec import Spec, check_params, param_shapes


# ----------------------------------------------------------------------------- one cell step

class Step(NamedTuple):
    """One step of a cell: the new state and its immediate Jacobians (batch first)."""
    state: np.ndarray             # s_t                      (B, n_state)
    d_gi: np.ndarray              # ds_t/dgi_t               (B, n_state, G*H)
    d_gh: np.ndarray              # ds_t/dgh_t               (B, n_state, G*H)
    d_prev: np.ndarray            # J_state = ds_t/ds_{t-1}  (B, n_state, n_state)
    d_hr: Optional[np.ndarray]    # ds_t/dW_hr (projected LSTM only)  (B, n_state, P * H)


def _diag(v):
    """(B, n) -> (B, n, n): a batch of diagonal matrices."""
    return v[:, :, None] * np.eye(v.shape[1], dtype=v.dtype)


def _elman_step(spec, W_hh, gi, gh, s_prev):
    """h_t = f(a), a = gi + gh:  dh/da = diag(f'(a)),  J_state = diag(f'(a)) W_hh."""
    f, f_grad = ACTIVATIONS[spec.nonlinearity]
    h = f(gi + gh)
    dh_da = _diag(f_grad(h))
    return Step(h, dh_da, dh_da, dh_da @ W_hh, None)


def _lstm_step(spec, W_hh, gi, gh, s_prev, W_hr=None):
    """State s = (h, c). With a = gi + gh split into the blocks i, f, g, o:

        dc/da_i = g i(1-i),  dc/da_f = c_{t-1} f(1-f),  dc/da_g = i (1-g^2),  dc/da_o = 0
        dm/da   = o (1 - tanh^2 c) dc/da  +  [block o: tanh(c) o(1-o)]
        dh/da   = W_hr dm/da (or dm/da)
        dc/dc_{t-1} = f,   dh/dc_{t-1} = W_hr (o (1 - tanh^2 c) f),   ds/dh_{t-1} = ds/da W_hh
        dh_p/dW_hr[q, k] = [p == q] m_k
    """
    H, P = spec.hidden_size, spec.state_size
    c_prev = s_prev[:, P:]             # h_{t-1} enters only through gh = W_hh h_{t-1}
    a = gi + gh
    i, f = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H])
    g, o = tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
    c = f * c_prev + i * g
    tanh_c = tanh(c)
    m = o * tanh_c

    dc_da = np.concatenate([_diag(g * i * (1 - i)), _diag(c_prev * f * (1 - f)),
                            _diag(i * (1 - g * g)), np.zeros_like(_diag(o))], axis=2)
    dm_dc = o * (1 - tanh_c * tanh_c)
    dm_da = dm_dc[:, :, None] * dc_da
    dm_da[:, :, 3 * H:] += _diag(tanh_c * o * (1 - o))
    dm_dc_prev = _diag(dm_dc * f)

    if W_hr is None:
        h, dh_da, dh_dc_prev, d_hr = m, dm_da, dm_dc_prev, None
    else:
        h = m @ W_hr.T
        dh_da = W_hr @ dm_da
        dh_dc_prev = W_hr @ dm_dc_prev
        dh_dW_hr = np.eye(P, dtype=m.dtype)[None, :, :, None] * m[:, None, None, :]  # (B,P,P,H)
        d_hr = np.concatenate([dh_dW_hr.reshape(len(m), P, P * H),
                               np.zeros((len(m), H, P * H), m.dtype)], axis=1)

    ds_da = np.concatenate([dh_da, dc_da], axis=1)                       # (B, P + H, 4H)
    ds_dh_prev = ds_da @ W_hh                                            # (B, P + H, P)
    ds_dc_prev = np.concatenate([dh_dc_prev, _diag(f)], axis=1)          # (B, P + H, H)
    d_prev = np.concatenate([ds_dh_prev, ds_dc_prev], axis=2)
    return Step(np.concatenate([h, c], axis=1), ds_da, ds_da, d_prev, d_hr)


def _gru_step(spec, W_hh, gi, gh, s_prev):
    """h = (1-z) n + z h_{t-1}, n = tanh(gi_n + r gh_n):

        dh/d(n's pre-activation) = (1-z)(1-n^2)              (gh_n enters it times r)
        dh/dgi_r = dh/dgh_r = (1-z)(1-n^2) gh_n r(1-r)
        dh/dgi_z = dh/dgh_z = (h_{t-1} - n) z(1-z)
        J_state = dh/dgh W_hh + diag(z)
    """
    H = spec.hidden_size
    h_prev = s_prev
    r = sigmoid(gi[:, :H] + gh[:, :H])
    z = sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
    gh_n = gh[:, 2 * H:]
    n = tanh(gi[:, 2 * H:] + r * gh_n)
    h = (1 - z) * n + z * h_prev

    dh_dn_pre = (1 - z) * (1 - n * n)
    dh_dr_pre = dh_dn_pre * gh_n * r * (1 - r)
    dh_dz_pre = (h_prev - n) * z * (1 - z)
    d_gi = np.concatenate([_diag(dh_dr_pre), _diag(dh_dz_pre), _diag(dh_dn_pre)], axis=2)
    d_gh = np.concatenate([_diag(dh_dr_pre), _diag(dh_dz_pre), _diag(dh_dn_pre * r)], axis=2)
    return Step(h, d_gi, d_gh, d_gh @ W_hh + _diag(z), None)


# ------------------------------------------------------------------- immediate Jacobian J_theta

def _outer(d_pre, inputs):
    """dF/dW for pre = W inputs: dF/dW[j, k] = dF/dpre[j] inputs[k], flattened row-major."""
    B, n_state, rows = d_pre.shape
    return (d_pre[:, :, :, None] * inputs[:, None, None, :]).reshape(B, n_state, -1)


def _immediate(step, x, h_prev, names):
    """J_theta(t) for each recurrent parameter, in `names` order, each (B, n_state, size)."""
    blocks = {"weight_ih_l0": lambda: _outer(step.d_gi, x),
              "weight_hh_l0": lambda: _outer(step.d_gh, h_prev),
              "bias_ih_l0": lambda: step.d_gi,
              "bias_hh_l0": lambda: step.d_gh,
              "weight_hr_l0": lambda: step.d_hr}
    return [blocks[name]() for name in names]


# ------------------------------------------------------------------------------- the public API

def _check_spec(spec):
    if not isinstance(spec, Spec):
        raise TypeError(f"spec must be a manual_rnn.Spec, got {type(spec).__name__}")
    if spec.num_layers != 1:
        raise ValueError(f"spec.num_layers must be 1 for RTRL, got num_layers={spec.num_layers}")
    if spec.bidirectional:
        raise ValueError("spec.bidirectional must be False for RTRL (a reverse direction "
                         "needs the future), got bidirectional=True")
    if not spec.reset_after:
        raise ValueError("RTRL computes PyTorch's GRU (reset_after=True) only, got "
                         "reset_after=False")


def loss_and_grad(spec, params, xs, targets, loss="mse", h0=None, lengths=None,
                  loss_mask=None):
    """The loss, dL/d(every parameter) and dL/dh0, by real-time recurrent learning.

    Arguments and results are those of `manual_rnn.loss_and_grad` (without dropout, which a
    single layer never applies, and without dL/dxs): xs time-major (T, B, I), (B, T, I) with
    spec.batch_first, or one unbatched (T, I) sequence; h0 None (zeros), (1, B, P) or for the
    LSTM ((1, B, P), (1, B, H)); dh0 comes back in h0's form. Only num_layers == 1 and
    bidirectional False are supported.
    """
    _check_spec(spec)
    checks.choice("loss", loss, LOSSES)
    dtype = check_params(spec, params)
    xs, layout = checks.inputs(spec, xs, dtype)
    state0 = checks.state(spec, "h0", h0, layout, dtype)
    lengths = checks.lengths(lengths, layout)
    valid = checks.valid_steps(layout, lengths, dtype)            # (T, B): the step exists
    carries = valid if loss_mask is None else valid * checks.loss_mask(loss_mask, layout, dtype)
    goal = checks.targets(spec, loss, targets, layout, dtype)
    if loss == "cross_entropy":
        goal = checks.class_range(spec, goal, carries)
    loss_fn = LOSSES[loss]

    step_fn = {"rnn": _elman_step, "lstm": _lstm_step, "gru": _gru_step}[spec.cell]
    P = spec.state_size
    W_ih, W_hh = params["weight_ih_l0"], params["weight_hh_l0"]
    b_ih = params.get("bias_ih_l0", 0)
    b_hh = params.get("bias_hh_l0", 0)
    extra = {"W_hr": params["weight_hr_l0"]} if spec.proj_size else {}
    # A headless network reads out h itself: the identity, with no parameters.
    W_head = params["head.weight"] if spec.has_head else np.eye(P, dtype=dtype)
    b_head = params["head.bias"] if spec.has_head else np.zeros(P, dtype)

    # Columns of S: every recurrent parameter flattened, then this sequence's initial state.
    names = [k for k in param_shapes(spec) if not k.startswith("head.")]
    sizes = [params[k].size for k in names]
    n_params = sum(sizes)
    s = np.concatenate([part[0] for part in state0], axis=1)     # (B, n_state)
    B, n_state = s.shape
    S = np.zeros((B, n_state, n_params + n_state), dtype)        # S_0 = [0 | I]
    S[:, :, n_params:] = np.eye(n_state, dtype=dtype)
    J = np.zeros_like(S)                                         # J_theta; its h0 part stays 0

    total = dtype.type(0)
    grad = np.zeros((B, n_params + n_state), dtype)              # dL/dtheta per sequence
    dW_head, db_head = np.zeros_like(W_head), np.zeros_like(b_head)

    for t in range(layout.T):
        h_prev = s[:, :P]
        gi = xs[t] @ W_ih.T + b_ih
        gh = h_prev @ W_hh.T + b_hh
        step = step_fn(spec, W_hh, gi, gh, s, **extra)
        J[:, :, :n_params] = np.concatenate(_immediate(step, xs[t], h_prev, names), axis=2)
        S_next = step.d_prev @ S + J                              # S_t = J_state S_{t-1} + J_theta

        keep = valid[t][:, None]                                  # padded steps: nothing moves
        s = np.where(keep > 0, step.state, s)
        S = np.where(keep[:, :, None] > 0, S_next, S)

        h = s[:, :P]
        y = h @ W_head.T + b_head
        value, dy = loss_fn(y[None], goal[t][None], carries[t][None])
        dy = dy[0]
        total += value
        dW_head += dy.T @ h
        db_head += dy.sum(axis=0)
        dh = dy @ W_head                                          # dl_t/dh_t  (B, P)
        grad += np.einsum("bp,bpk->bk", dh, S[:, :P])             # += dl_t/dh_t S_t (h rows)

    grads = {}
    flat = grad[:, :n_params].sum(axis=0)                         # shared parameters: sum over b
    offsets = np.cumsum([0] + sizes)
    for name, start, stop in zip(names, offsets[:-1], offsets[1:]):
        grads[name] = flat[start:stop].reshape(params[name].shape)
    if spec.has_head:
        grads["head.weight"], grads["head.bias"] = dW_head, db_head

    dstate0 = grad[:, n_params:]                                  # (B, n_state), per sequence
    parts = (dstate0[None, :, :P],) + ((dstate0[None, :, P:],) if len(state0) == 2 else ())
    return total, grads, checks.state_out(parts, layout)
