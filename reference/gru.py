"""GRU cell, gates stacked in rows (r, z, n).

    r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
    z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
    n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    h' = (1 - z) * n + z * h
"""
import jax.numpy as jnp
from jax.nn import sigmoid


def step(spec, w, xw_t, state):
    """One time step. xw_t = W_ih x_t + b_ih (precomputed for all t); state = (h,)."""
    (h,) = state
    x_r, x_z, x_n = jnp.split(xw_t, 3, axis=-1)
    # The hidden projection stays split from the input one: r multiplies only (W_hn h + b_hn).
    h_r, h_z, h_n = jnp.split(h @ w.w_hh.T + w.b_hh, 3, axis=-1)
    r = sigmoid(x_r + h_r)
    z = sigmoid(x_z + h_z)
    n = jnp.tanh(x_n + r * h_n)
    return ((1 - z) * n + z * h,)
