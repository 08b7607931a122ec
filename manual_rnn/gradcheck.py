"""Check any gradient against central finite differences, for whole dicts of arrays.

    numeric = numerical_gradient(lambda a: my_loss(a["W"], a["b"]), {"W": W, "b": b})
    report = compare({"W": dW, "b": db}, numeric)      # {"W": Error(...), "b": Error(...)}

`numerical_gradient` perturbs one entry at a time by +-eps in float64: the error is O(eps^2)
truncation plus O(u / eps) round-off, so eps = 1e-6 gives about 1e-9 relative accuracy on
smooth functions. Functions with kinks (relu at 0) are only checked away from them.
"""
from typing import NamedTuple

import numpy as np


def numerical_gradient(f, arrays, eps=1e-6, keys=None):
    """dF/d(every entry) of the scalar f(arrays) by central differences, as float64 arrays.

    `arrays` is not modified: f sees float64 copies, one entry of one array perturbed."""
    point = {k: np.array(v, dtype=np.float64) for k, v in arrays.items()}
    grads = {}
    for key in (point if keys is None else keys):
        x = point[key]
        grad = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            saved = x[index]
            x[index] = saved + eps
            plus = float(f(point))
            x[index] = saved - eps
            minus = float(f(point))
            x[index] = saved
            grad[index] = (plus - minus) / (2 * eps)
        grads[key] = grad
    return grads


class Error(NamedTuple):
    max_abs: float   # max |a - b|
    max_rel: float   # max |a - b| / max(|a|, |b|, floor), so near-zero entries don't explode

    def ok(self, atol, rtol):
        return self.max_abs <= atol or self.max_rel <= rtol


def compare(analytic, numeric, floor=1e-8):
    """Per-key (max absolute, max relative) differences of two dicts with the same keys."""
    if set(analytic) != set(numeric):
        raise ValueError(f"the two dicts must share their keys, got {sorted(analytic)} and "
                         f"{sorted(numeric)}")
    report = {}
    for key in analytic:
        a = np.asarray(analytic[key], dtype=np.float64)
        b = np.asarray(numeric[key], dtype=np.float64)
        if a.shape != b.shape:
            raise ValueError(f"{key!r}: shapes differ, {a.shape} and {b.shape}")
        diff = np.abs(a - b)
        scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), floor)
        report[key] = Error(float(diff.max(initial=0.0)), float((diff / scale).max(initial=0.0)))
    return report
