"""Per-step losses, (T, B, O) outputs -> (T, B), zero where `valid` (T, B) is False: padded
steps, and steps a loss_mask leaves out.

O is the head's output_size, or D * P for a headless network: its hidden states are scored as
they are (mse targets shaped like them, cross_entropy classes over their features).

Targets at those steps may hold anything (NaN, out-of-range classes), so they are masked with
`where` before any arithmetic that could turn them into a NaN gradient (0 * NaN is NaN).
"""
import jax.numpy as jnp
from jax.scipy.special import logsumexp


def mse(ys, targets, valid):
    """0.5 * ||y_t - target_t||^2."""
    diff = jnp.where(valid[..., None], ys - jnp.asarray(targets, ys.dtype), 0.0)
    return 0.5 * jnp.sum(diff ** 2, axis=-1)


def cross_entropy(ys, targets, valid):
    """-log softmax(y_t)[target_t], through logsumexp so large logits don't overflow."""
    targets = jnp.where(valid, targets, 0)
    log_p = ys - logsumexp(ys, axis=-1, keepdims=True)
    nll = -jnp.take_along_axis(log_p, targets[..., None].astype(jnp.int32), axis=-1)[..., 0]
    return jnp.where(valid, nll, 0.0)


LOSSES = {"mse": mse, "cross_entropy": cross_entropy}
