"""Elman cell: h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), f = tanh, relu or sigmoid."""
import jax
import jax.numpy as jnp

ACTIVATIONS = {"tanh": jnp.tanh, "relu": jax.nn.relu, "sigmoid": jax.nn.sigmoid}


def step(spec, w, xw_t, state):
    """One time step. xw_t = W_ih x_t + b_ih (precomputed for all t); state = (h,)."""
    (h,) = state
    f = ACTIVATIONS[spec.nonlinearity]
    return (f(xw_t + h @ w.w_hh.T + w.b_hh),)
