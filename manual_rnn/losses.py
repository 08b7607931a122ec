"""Losses over the read-out at every valid step, each returning (value, dL/dys).

All arrays are time-major: ys (T, B, O); `valid` (T, B) is 1 at steps t < lengths[b], else 0.
Both losses sum over valid steps and average over the B sequences, so for one sequence the MSE
is exactly the notebook's sum_t 0.5 (y_t - target_t)^2.
"""
import numpy as np


def mse(ys, targets, valid):
    """L = (1/B) sum_{b, valid t} 0.5 ||y[t,b] - target[t,b]||^2;   dL/dy = (y - target) / B."""
    B = ys.shape[1]
    # diff becomes the gradient in place: every extra array the size of ys costs a pass over
    # memory, and pages the system must map afresh. (np.sum, not np.vdot, for the value: its
    # pairwise sum keeps float32 losses accurate to ~1e-8, where a BLAS dot drifts to ~1e-6.)
    diff = np.subtract(ys, targets)
    diff *= valid[..., None]
    value = 0.5 * np.sum(np.square(diff)) / B
    diff /= B
    return value, diff


def log_softmax(ys):
    """log softmax over the last axis, shifted by the max so that exp never overflows."""
    shifted = ys - ys.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def cross_entropy(ys, targets, valid):
    """L = -(1/B) sum_{b, valid t} log softmax(y[t,b])[target[t,b]];
    dL/dy = (softmax(y) - onehot(target)) / B at valid steps."""
    B = ys.shape[1]
    log_p = log_softmax(ys)
    picked = np.take_along_axis(log_p, targets[..., None], axis=-1)[..., 0]
    dys = np.exp(log_p)
    np.put_along_axis(dys, targets[..., None], np.exp(picked)[..., None] - 1, axis=-1)
    dys *= valid[..., None] / B
    return -np.sum(picked * valid) / B, dys


LOSSES = {"mse": mse, "cross_entropy": cross_entropy}
