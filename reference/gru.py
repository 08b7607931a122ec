"""GRU cell, gates stacked in rows (r, z, n).

    r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
    z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
    n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))      reset_after=True (PyTorch, cuDNN)
    n  = tanh(W_in x + b_in + W_hn (r * h) + b_hn)      reset_after=False (Cho et al. 2014)
    h' = (1 - z) * n + z * h

Both variants share PyTorch's parameters: weight_hh's rows are (W_hr, W_hz, W_hn), bias_hh's
(b_hr, b_hz, b_hn), and b_hn is added after the recurrent matmul in both.
"""
import jax.numpy as jnp
from jax.nn import sigmoid


def step(spec, w, xw_t, state):
    """One time step. xw_t = W_ih x_t + b_ih (precomputed for all t); state = (h,)."""
    (h,) = state
    x_r, x_z, x_n = jnp.split(xw_t, 3, axis=-1)
    w_hr, w_hz, w_hn = jnp.split(w.w_hh, 3)
    b_hr, b_hz, b_hn = jnp.split(jnp.broadcast_to(w.b_hh, w.w_hh.shape[:1]), 3)  # b_hh may be 0.0
    r = sigmoid(x_r + h @ w_hr.T + b_hr)
    z = sigmoid(x_z + h @ w_hz.T + b_hz)
    if spec.reset_after:
        n = jnp.tanh(x_n + r * (h @ w_hn.T + b_hn))
    else:
        n = jnp.tanh(x_n + (r * h) @ w_hn.T + b_hn)
    return ((1 - z) * n + z * h,)
