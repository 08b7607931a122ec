"""Check any gradient against central finite differences, for whole dicts of arrays.

    numeric = numerical_gradient(lambda a: my_loss(a["W"], a["b"]), {"W": W, "b": b})
    report = compare({"W": dW, "b": db}, numeric)      # {"W": Error(...), "b": Error(...)}
    report["W"].ok(atol=1e-7, rtol=1e-5)

`numerical_gradient` perturbs one entry at a time by +-eps in float64: the error is O(eps^2)
truncation plus O(u / eps) round-off, so eps = 1e-6 gives about 1e-9 relative accuracy on
smooth functions. Functions with kinks (relu at 0) are only checked away from them.

The verdict of a comparison of `a` (the gradient under test) with `b` (the reference) is

    |a - b| <= atol * scale + rtol * |b|   at every compared entry,   scale = max(1, max |b|)

and a NaN or infinite value on either side fails it, whatever the tolerances. `atol` is
relative to the array's scale because the round-off of an entry is a multiple of the unit
round-off times the size of the terms summed into it, which the array's largest entry bounds,
not the entry's own size (a gradient entry that cancels to 1e-6 may carry the round-off of
terms of size 1).
"""
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np


def numerical_gradient(f, arrays, eps=1e-6, keys=None, entries=None, seed=0):
    """dF/d(every entry) of the scalar f(arrays) by central differences, as float64 arrays.

    `arrays` is not modified: f sees float64 copies, one entry of one array perturbed. Each
    entry costs two calls of f, so for big arrays `entries=n` checks only n of them per array,
    drawn with np.random.default_rng(seed). Such an array comes back as a numpy masked array
    whose unsampled entries are masked (their data is 0): `compare` skips exactly those, while
    a NaN that f produced stays a value and fails the comparison."""
    if entries is not None:
        from ..checks import integer
        entries = integer("entries", entries, 1)
    point = {k: np.array(v, dtype=np.float64) for k, v in arrays.items()}
    rng = np.random.default_rng(seed)
    grads = {}
    for key in (point if keys is None else keys):
        x = point[key]
        indices = list(np.ndindex(x.shape))
        grad = np.zeros_like(x)
        sampled = None
        if entries is not None and entries < len(indices):
            indices = [indices[i] for i in rng.choice(len(indices), entries, replace=False)]
            sampled = np.zeros(x.shape, bool)
        for index in indices:
            saved = x[index]
            x[index] = saved + eps
            plus = float(f(point))
            x[index] = saved - eps
            minus = float(f(point))
            x[index] = saved
            grad[index] = (plus - minus) / (2 * eps)
            if sampled is not None:
                sampled[index] = True
        grads[key] = grad if sampled is None else np.ma.MaskedArray(grad, mask=~sampled)
    return grads


@dataclass(frozen=True, eq=False)
class Error:
    """How one array `a` differs from its reference `b`, over the compared entries.

    max_abs:   max |a - b| (inf when any compared value is NaN or infinite)
    max_rel:   max |a - b| / max(|a|, |b|, 1e-8), for reading (the verdict uses `ok`)
    scale:     max(1, max |b|, at_least): what atol is multiplied by
    nonfinite: entries that are NaN or infinite in a (any entry) or b (any compared entry)
    compared:  entries compared (all, or those finite differences sampled)
    """
    max_abs: float
    max_rel: float
    scale: float
    nonfinite: int
    compared: int
    diff: np.ndarray = field(repr=False)       # |a - b| at the compared entries
    size: np.ndarray = field(repr=False)       # |b| there

    def shares(self, atol, rtol):
        """|a - b| / (atol * scale + rtol * |b|) at each compared entry, flattened: the share
        of the tolerance it takes (<= 1 passes); inf where a or b is not finite."""
        bound = atol * self.scale + rtol * self.size
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(self.diff == 0, 0.0, self.diff / bound)
        return np.where(np.isnan(share), np.inf, share)

    def used(self, atol, rtol):
        """The share of the tolerance the worst entry takes (<= 1 passes); inf when any value
        is not finite."""
        if self.nonfinite:
            return float("inf")
        return float(self.shares(atol, rtol).max(initial=0.0))

    def ok(self, atol, rtol):
        """Every compared entry within atol * scale + rtol * |b|, and every value finite."""
        if self.nonfinite:
            return False
        return bool(np.all(self.diff <= atol * self.scale + rtol * self.size))


def compare(analytic, reference, at_least=1.0):
    """Per-key `Error` of the arrays of `analytic` against those of `reference` (two dicts with
    the same keys and shapes). Masked entries of `reference` (see `numerical_gradient`) are not
    compared; every other entry is, and a NaN or infinity on either side makes it fail.
    `at_least` raises the scale atol is multiplied by to max(1, max |b|, at_least)."""
    if set(analytic) != set(reference):
        raise ValueError(f"the two dicts must share their keys, got {sorted(analytic)} and "
                         f"{sorted(reference)}")
    report = {}
    for key in analytic:
        if np.ma.isMaskedArray(analytic[key]):
            raise TypeError(f"{key!r}: the gradient under test must be a plain array")
        a = np.asarray(analytic[key], dtype=np.float64)
        checked = ~np.ma.getmaskarray(reference[key])
        b = np.asarray(np.ma.getdata(reference[key]), dtype=np.float64)
        if a.shape != b.shape:
            raise ValueError(f"{key!r}: shapes differ, {a.shape} and {b.shape}")
        nonfinite = int(np.sum(~np.isfinite(a)) + np.sum(~np.isfinite(b[checked])))
        a, b = a[checked], b[checked]
        with np.errstate(invalid="ignore", over="ignore"):
            diff = np.abs(a - b)
        size = np.abs(b)
        finite_size = size[np.isfinite(size)]
        scale = max(1.0, float(finite_size.max(initial=0.0)), float(at_least))
        if nonfinite:
            max_abs = max_rel = float("inf")
        else:
            max_abs = float(diff.max(initial=0.0))
            max_rel = float((diff / np.maximum(np.maximum(np.abs(a), size), 1e-8))
                            .max(initial=0.0))
        report[key] = Error(max_abs, max_rel, scale, nonfinite, int(checked.sum()), diff, size)
    return report


# --- Checking a whole model: every parameter, the inputs and each initial state --------------

# Agreement needed for a verdict of "ok", as (atol, rtol), by the dtype the model computes in.
# Float64: central differences are good to ~1e-9 relative (see above) and the twin to
# round-off; float32 gradients carry ~1e-4 relative round-off through the recurrence, whatever
# they are compared to.
TOLERANCES = {"float64": {"fd": (1e-7, 1e-5), "jax": (1e-11, 1e-8)},
              "float32": {"fd": (1e-5, 2e-3), "jax": (1e-5, 2e-3)}}
TITLES = {"fd": "finite differences", "jax": "JAX twin"}

# Central differences of the loss L carry round-off of about 2 u |L| / eps = 4.4e-10 |L| in
# float64 at eps = 1e-6, beyond atol = 1e-7 once |L| > ~200 (a long sequence's summed loss):
# their atol is multiplied by at least |L| / 20, which leaves a 10x margin over that round-off.
FD_LOSS_SCALE = 1 / 20


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
    """The JAX twin, or None with the reason when JAX is not installed.

    JAX's global configuration is left alone: the twin's calls run inside `twin_float64()`."""
    try:
        import manual_rnn_reference as reference
    except ImportError as error:
        return None, f"JAX twin not available ({error}); checked against finite differences only"
    return reference, None


def twin_float64():
    """A context in which JAX computes float64 arrays in float64 (jax.enable_x64, a
    thread-local setting restored on exit), without touching the global jax_enable_x64."""
    import jax
    return jax.enable_x64(True)


def _twin_reference(twin, spec, params, xs, targets, loss, h0, lengths, dropout_masks,
                    loss_mask):
    """The twin's gradients, named as `_named` names them."""
    with twin_float64():
        _, g, dx, d0 = twin.loss_and_grads(spec, params, xs, targets, loss, h0, lengths,
                                           dropout_masks, loss_mask)
    return _named(g, dx, tuple(d0) if isinstance(d0, (tuple, list)) else d0)


def check_model(spec, params, xs, targets, loss="mse", h0=None, lengths=None, use_twin=True,
                fd_entries=None, dropout_masks=None, loss_mask=None, checkpoint_every=None,
                fd_seed=0, use_fd=True):
    """Compare every gradient of `loss_and_grad` with central differences (unless not use_fd;
    in float64; at most `fd_entries` sampled entries per array when given) and, when JAX is
    installed and use_twin, with the JAX twin (every entry). Dropout masks, the loss mask and
    checkpointing are passed on to `loss_and_grad`; the references see the same masks.
    Returns (rows, note); raises ValueError when no reference is left to compare with."""
    from ..model import loss_and_grad
    from ..spec import zero_state

    dtype = next(iter(params.values())).dtype
    if h0 is None:   # check the gradient at the zero state, which forward uses for None
        batch = None if np.ndim(xs) == 2 else np.shape(xs)[0 if spec.batch_first else 1]
        h0 = zero_state(spec, batch, dtype)
    value, grads, dxs, dh0, _ = loss_and_grad(spec, params, xs, targets, loss, h0, lengths,
                                              dropout_masks, loss_mask, checkpoint_every,
                                              full=True)
    analytic = _named(grads, dxs, dh0)
    point = _named(params, np.asarray(xs, dtype), h0)

    def f(named):
        p, x, h = _split(spec, named)
        return loss_and_grad(spec, p, x, targets, loss, h, lengths, dropout_masks,
                             loss_mask)[0]

    references = {}
    if use_fd:
        references["fd"] = numerical_gradient(f, point, entries=fd_entries, seed=fd_seed)
    at_least = {"fd": abs(float(value)) * FD_LOSS_SCALE, "jax": 1.0}
    notes = []
    if use_twin:
        twin, note = load_twin()
        if twin is not None:
            references["jax"] = _twin_reference(twin, spec, params, xs, targets, loss, h0,
                                                lengths, dropout_masks, loss_mask)
        if note:
            notes.append(note)
    if not references:
        raise ValueError("nothing to check against: finite differences are off and "
                         + (notes[-1] if notes else "the twin is off"))
    tolerances = TOLERANCES[np.dtype(dtype).name]
    rows = []
    errors = {kind: compare(analytic, ref, at_least[kind]) for kind, ref in references.items()}
    for name, value in analytic.items():
        row_errors = {kind: errors[kind][name] for kind in errors}
        ok = all(e.ok(*tolerances[kind]) for kind, e in row_errors.items())
        rows.append(Row(name, np.shape(value), row_errors, ok))
    return rows, "\n".join(notes) or None


def describe_tolerances(dtype, kinds=("fd", "jax")):
    """The rule behind the verdict, in words, for the references in `kinds`."""
    tolerances = TOLERANCES[np.dtype(dtype).name]
    lines = [f"verdict ({np.dtype(dtype).name}): ok when every entry has |a - b| <= atol * "
             f"scale + rtol * |b|, scale = max(1, max |b|), and nothing is NaN or infinite"]
    for kind in kinds:
        atol, rtol = tolerances[kind]
        extra = " (scale at least |loss| / 20: round-off)" if kind == "fd" else ""
        lines.append(f"  {TITLES[kind]}: atol {atol:.0e}, rtol {rtol:.0e}{extra}")
    return "\n".join(lines)


def format_table(rows, tolerances=None):
    """One line per gradient: for each reference, max |a - b| and the share of the tolerance
    the worst entry uses (`used`, <= 1 passes; given `tolerances` as in TOLERANCES[dtype])."""
    kinds = [k for k in ("fd", "jax") if any(k in r.errors for r in rows)]
    head = f"{'gradient':<22} {'shape':<12}" + "".join(
        f" {TITLES[k] + ' max|a-b|':>28}" + (f" {'used':>8}" if tolerances else "")
        for k in kinds) + "  verdict"
    lines = [head, "-" * len(head)]
    for r in rows:
        cells = ""
        for k in kinds:
            e = r.errors[k]
            cells += f" {e.max_abs:>28.2e}"
            if tolerances:
                cells += f" {e.used(*tolerances[k]):>8.2g}"
        lines.append(f"{r.name:<22} {str(r.shape):<12}{cells}  {'ok' if r.ok else 'FAIL'}")
    return "\n".join(lines)
