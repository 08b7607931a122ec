"""LSTM cell, gates stacked in rows (i, f, g, o), with PyTorch's optional projection W_hr.

    i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of (W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(c_t)              (proj_size > 0:  h_t = W_hr (o * tanh(c_t)))
"""
import jax.numpy as jnp
from jax.nn import sigmoid


def step(spec, w, xw_t, state):
    """One time step. xw_t = W_ih x_t + b_ih (precomputed for all t); state = (h, c)."""
    h, c = state
    i, f, g, o = jnp.split(xw_t + h @ w.w_hh.T + w.b_hh, 4, axis=-1)
    c = sigmoid(f) * c + sigmoid(i) * jnp.tanh(g)
    h = sigmoid(o) * jnp.tanh(c)
    if w.w_hr is not None:
        h = h @ w.w_hr.T
    return h, c
