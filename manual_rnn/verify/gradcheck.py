"""Check any gradient against central finite differences, for whole dicts of arrays.

    numeric = numerical_gradient(lambda a: my_loss(a["W"], a["b"]), {"W": W, "b": b})
    report = compare({"W": dW, "b": db}, numeric)      # {"W": Error(...), "b": Error(...)}

`numerical_gradient` perturbs one entry at a time by +-eps in float64: the error is O(eps^2)
truncation plus O(u / eps) round-off, so eps = 1e-6 gives about 1e-9 relative accuracy on
smooth functions. Functions with kinks (relu at 0) are only checked away from them.
"""
from typing import NamedTuple

import numpy as np


def numerical_gradient(f, arrays, eps=1e-6, keys=None, entries=None, seed=0):
    """dF/d(every entry) of the scalar f(arrays) by central differences, as float64 arrays.

    `arrays` is not modified: f sees float64 copies, one entry of one array perturbed. Each
    entry costs two calls of f, so for big arrays `entries=n` checks only n of them per array,
    drawn with np.random.default_rng(seed); the others come back as NaN, which `compare` skips."""
    point = {k: np.array(v, dtype=np.float64) for k, v in arrays.items()}
    rng = np.random.default_rng(seed)
    grads = {}
    for key in (point if keys is None else keys):
        x = point[key]
        indices = list(np.ndindex(x.shape))
        grad = np.zeros_like(x)
        if entries is not None and entries < len(indices):
            grad[...] = np.nan
            indices = [indices[i] for i in rng.choice(len(indices), entries, replace=False)]
        for index in indices:
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
    """Per-key (max absolute, max relative) differences of two dicts with the same keys,
    over the entries where `numeric` is not NaN."""
    if set(analytic) != set(numeric):
        raise ValueError(f"the two dicts must share their keys, got {sorted(analytic)} and "
                         f"{sorted(numeric)}")
    report = {}
    for key in analytic:
        a = np.asarray(analytic[key], dtype=np.float64)
        b = np.asarray(numeric[key], dtype=np.float64)
        if a.shape != b.shape:
            raise ValueError(f"{key!r}: shapes differ, {a.shape} and {b.shape}")
        checked = ~np.isnan(b)
        a, b = a[checked], b[checked]
        diff = np.abs(a - b)
        scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), floor)
        report[key] = Error(float(diff.max(initial=0.0)), float((diff / scale).max(initial=0.0)))
    return report


# --- Checking a whole model: every parameter, the inputs and each initial state --------------

# Agreement needed for a verdict of "ok", by the dtype the model computes in. Float64: central
# differences are good to ~1e-9 relative (see above) and the twin to round-off; float32
# gradients carry ~1e-4 relative round-off through the recurrence, whatever they are compared to.
TOLERANCES = {"float64": {"fd": (1e-7, 1e-5), "jax": (1e-11, 1e-8)},
              "float32": {"fd": (1e-5, 2e-3), "jax": (1e-5, 2e-3)}}


class Row(NamedTuple):
    name: str
    shape: tuple
    errors: dict     # {"fd": Error, "jax": Error}, the references that were available
    ok: bool


def _named(params, xs, h0):
    named = dict(params, xs=xs)
    if isinstance(h0, tuple):
        named.update({"h0": h0[0], "c0": h0[1]})
    else:
        named["h0"] = h0
    return named


def _split(spec, named):
    params = {k: named[k] for k in named if k not in ("xs", "h0", "c0")}
    h0 = (named["h0"], named["c0"]) if spec.cell == "lstm" else named["h0"]
    return params, named["xs"], h0


def load_twin():
    """The JAX twin, or None with the reason when JAX is not installed."""
    try:
        import jax
        jax.config.update("jax_enable_x64", True)  # the twin must compute in float64 too
        import manual_rnn_reference as reference
    except ImportError as error:
        return None, f"JAX twin not available ({error}); checked against finite differences only"
    return reference, None


def check_model(spec, params, xs, targets, loss="mse", h0=None, lengths=None, use_twin=True,
                fd_entries=None):
    """Compare every gradient of `loss_and_grad` with central differences (in float64; at
    most `fd_entries` sampled entries per array when given) and, when JAX is installed and
    use_twin, with the JAX twin (every entry). Returns (rows, note)."""
    from ..model import loss_and_grad
    from ..spec import zero_state

    dtype = next(iter(params.values())).dtype
    if h0 is None:   # check the gradient at the zero state, which forward uses for None
        batch = None if np.ndim(xs) == 2 else np.shape(xs)[0 if spec.batch_first else 1]
        h0 = zero_state(spec, batch, dtype)
    _, grads, dxs, dh0, _ = loss_and_grad(spec, params, xs, targets, loss, h0, lengths, full=True)
    analytic = _named(grads, dxs, dh0)
    point = _named(params, np.asarray(xs, dtype), h0)

    def f(named):
        p, x, h = _split(spec, named)
        return loss_and_grad(spec, p, x, targets, loss, h, lengths)[0]

    references = {"fd": numerical_gradient(f, point, entries=fd_entries)}
    note = None
    if use_twin:
        twin, note = load_twin()
        if twin is not None:
            _, g, dx, d0 = twin.loss_and_grads(spec, params, xs, targets, loss, h0, lengths)
            references["jax"] = _named(g, dx, tuple(d0) if isinstance(d0, (tuple, list)) else d0)
    tolerances = TOLERANCES[np.dtype(dtype).name]
    rows = []
    errors = {kind: compare(analytic, ref) for kind, ref in references.items()}
    for name, value in analytic.items():
        row_errors = {kind: errors[kind][name] for kind in errors}
        ok = all(e.ok(*tolerances[kind]) for kind, e in row_errors.items())
        rows.append(Row(name, np.shape(value), row_errors, ok))
    return rows, note


def format_table(rows):
    kinds = [k for k in ("fd", "jax") if any(k in r.errors for r in rows)]
    titles = {"fd": "finite differences", "jax": "JAX twin"}
    head = f"{'gradient':<22} {'shape':<12}" + "".join(
        f" {titles[k] + ' abs':>24} {'rel':>9}" for k in kinds) + "  verdict"
    lines = [head, "-" * len(head)]
    for r in rows:
        cells = "".join(f" {r.errors[k].max_abs:>24.2e} {r.errors[k].max_rel:>9.2e}"
                        for k in kinds)
        lines.append(f"{r.name:<22} {str(r.shape):<12}{cells}  {'ok' if r.ok else 'FAIL'}")
    return "\n".join(lines)
