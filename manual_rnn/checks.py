"""Checking what users pass, and converting between their layout and the time-major one.

The one set of argument validators of the package: every error names the argument, what was
expected and what came. Every array is copied on the way in, so nothing we do can modify the
caller's data.
"""
import math
import numbers
from dataclasses import dataclass

import numpy as np


def _array(name, value):
    try:
        a = np.array(value)  # a copy: we never write into the caller's arrays
    except Exception as error:
        raise TypeError(f"{name} must be an array, got {type(value).__name__}") from error
    if a.dtype.kind not in "biufc":                    # bool, integers, floats, complex
        raise TypeError(f"{name} must hold numbers, got dtype {a.dtype}")
    return a


def all_finite(a):
    """Whether every entry of a float array is finite, in one reduction when it is: a sum of
    finite numbers is finite unless it overflows, and then the entry-wise test settles it."""
    return math.isfinite(np.add.reduce(a, axis=None)) or bool(np.isfinite(a).all())


def _real(name, value, dtype):
    a = _array(name, value)
    if a.dtype.kind == "c":
        raise TypeError(f"{name} must be real, got dtype {a.dtype}")
    a = a.astype(dtype, copy=False)                    # already our own copy
    if not all_finite(a):
        raise ValueError(f"{name} must be finite, got {np.size(a) - np.isfinite(a).sum()} "
                         f"non-finite values")
    return a


def _shape(name, a, expected):
    if a.shape != tuple(expected):
        raise ValueError(f"{name} must have shape {tuple(expected)}, got {a.shape}")


@dataclass(frozen=True)
class Layout:
    """How the user's arrays are laid out: (T, B, .), (B, T, .) with batch_first, or (T, .)."""
    unbatched: bool
    batch_first: bool
    T: int
    B: int

    def sequence_shape(self, features=None):
        """The user-facing shape of a per-step array with `features` (None: no feature axis)."""
        shape = (self.T,) if self.unbatched else (
            (self.B, self.T) if self.batch_first else (self.T, self.B))
        return shape if features is None else shape + (features,)

    def to_time_major(self, a):
        if self.unbatched:
            return a[:, None]
        return a.swapaxes(0, 1) if self.batch_first else a

    def from_time_major(self, a):
        if self.unbatched:
            return a[:, 0]
        return a.swapaxes(0, 1) if self.batch_first else a


def inputs(spec, xs, dtype):
    """xs as a time-major (T, B, I) copy in `dtype`, and the layout it came in."""
    xs = _real("xs", xs, dtype)
    if xs.ndim not in (2, 3):
        raise ValueError(f"xs must be 3-D (T, B, input_size) ({'B, T' if spec.batch_first else 'T, B'}"
                         f" with batch_first={spec.batch_first}) or 2-D (T, input_size) for one "
                         f"sequence, got shape {xs.shape}")
    if xs.shape[-1] != spec.input_size:
        raise ValueError(f"xs must have input_size={spec.input_size} features on its last axis, "
                         f"got shape {xs.shape}")
    unbatched = xs.ndim == 2
    T, B = (xs.shape[0], 1) if unbatched else (
        xs.shape[1::-1] if spec.batch_first else xs.shape[:2])
    if T == 0 or B == 0:
        raise ValueError(f"xs must have at least one step and one sequence, got shape {xs.shape}")
    layout = Layout(unbatched, bool(spec.batch_first), T, B)
    return layout.to_time_major(xs), layout


def state(spec, name, value, layout, dtype):
    """A user state (an array, or (h, c) for the LSTM) as a tuple of (rows, B, .) copies.

    None means zeros."""
    shapes = spec.state_shapes(None if layout.unbatched else layout.B)
    if value is None:
        parts = [np.zeros(s, dtype) for s in shapes]
    elif len(shapes) == 2:
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise TypeError(f"{name} must be a pair (h, c) for cell={spec.cell!r}, "
                            f"got {type(value).__name__}")
        parts = [_real(f"{name}[{i}]", v, dtype) for i, v in enumerate(value)]
        for i, (part, shape) in enumerate(zip(parts, shapes)):
            _shape(f"{name}[{i}]", part, shape)
    else:
        if isinstance(value, (tuple, list)):
            raise TypeError(f"{name} must be one array for cell={spec.cell!r}, got a "
                            f"{type(value).__name__}")
        parts = [_real(name, value, dtype)]
        _shape(name, parts[0], shapes[0])
    return tuple(p[:, None] if layout.unbatched else p for p in parts)


def state_out(parts, layout):
    """A time-major state tuple in the user's form: an array, or (h, c) for the LSTM."""
    parts = tuple(p[:, 0] if layout.unbatched else p for p in parts)
    return parts if len(parts) > 1 else parts[0]


def lengths(value, layout):
    """lengths as a (B,) int array in [1, T], or None."""
    if value is None:
        return None
    if layout.unbatched:
        raise ValueError("lengths applies to batched xs only; got unbatched xs of "
                         f"{layout.T} steps with lengths={value!r}")
    a = _array("lengths", value)
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"lengths must be integers, got dtype {a.dtype}")
    _shape("lengths", a, (layout.B,))
    if a.min() < 1 or a.max() > layout.T:
        raise ValueError(f"lengths must lie in [1, T={layout.T}], got {a.tolist()}")
    return a.astype(np.intp)


def valid_steps(layout, lengths, dtype):
    """(T, B): 1 at the steps that exist (t < lengths[b]), 0 at padding."""
    if lengths is None:
        return np.ones((layout.T, layout.B), dtype)
    return (np.arange(layout.T)[:, None] < lengths).astype(dtype)


def loss_mask(value, layout, dtype):
    """Which steps carry loss, time-major (T, B), from 0/1 values in the layout of xs."""
    a = _real("loss_mask", value, dtype)
    _shape("loss_mask", a, layout.sequence_shape())
    if not np.all((a == 0) | (a == 1)):
        raise ValueError(f"loss_mask must hold only 0 and 1, got values {np.unique(a)[:5]}")
    return layout.to_time_major(a)


def targets(spec, loss, value, layout, dtype):
    """Loss targets, time-major: (T, B, O) floats for "mse", (T, B) class indices otherwise."""
    a = _array("targets", value)
    if loss == "mse":
        _shape("targets", a, layout.sequence_shape(spec.output_features))
        return layout.to_time_major(_real("targets", a, dtype))
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"targets must be integer class indices for loss='cross_entropy', "
                        f"got dtype {a.dtype}")
    _shape("targets", a, layout.sequence_shape())
    return layout.to_time_major(a.astype(np.intp))


def class_range(spec, targets_tm, valid):
    """Cross-entropy targets must name a class (an output feature) at every valid step; padding
    may hold anything."""
    classes = spec.output_features
    bad = valid.astype(bool) & ((targets_tm < 0) | (targets_tm >= classes))
    if bad.any():
        size = f"output_size={classes}" if spec.has_head else f"{classes} output features"
        raise ValueError(f"targets must lie in [0, {size}) at valid steps, got "
                         f"{targets_tm[bad][:5].tolist()}")
    return np.where(valid.astype(bool), targets_tm, 0)


def dropout_masks(spec, value, layout, dtype):
    """None, or num_layers - 1 masks in the layout of xs, each (T, B, directions * state_size)."""
    if value is None:
        return None
    if isinstance(value, np.ndarray) and value.ndim == 4 - layout.unbatched:
        value = list(value)
    if not isinstance(value, (list, tuple)) or len(value) != spec.num_layers - 1:
        raise ValueError(f"dropout_masks must be a sequence of num_layers - 1 = "
                         f"{spec.num_layers - 1} arrays, got {value!r:.80}")
    shape = layout.sequence_shape(spec.num_directions * spec.state_size)
    masks = []
    for k, m in enumerate(value):
        m = _real(f"dropout_masks[{k}]", m, dtype)
        _shape(f"dropout_masks[{k}]", m, shape)
        masks.append(layout.to_time_major(m))
    return masks


# ---- scalar arguments ----------------------------------------------------------------------

def integer(name, value, lowest):
    """value as an int >= lowest; bools, floats and strings are refused."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < lowest:
        raise ValueError(f"{name} must be >= {lowest}, got {value}")
    return int(value)


def real(name, value, expected, ok):
    """value as a Python float for which ok(value) holds; `expected` says what ok accepts.

    Python floats because NumPy scalars would promote float32 arrays to float64 (NEP 50)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    if not ok(float(value)):  # NaN fails every comparison, so it is refused here too
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return float(value)


def flag(name, value):
    """value as a bool; 0, 1 and strings are refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__} {value!r}")
    return bool(value)


def choice(name, value, allowed):
    """value, which must be one of `allowed` (a sequence, or a dict's keys)."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
    return value


def same_forward(spec, params, cache):
    """`backward` must get the spec and the very parameter arrays `forward` ran with: its
    gradients are taken at the point the cache holds."""
    if not isinstance(cache, dict) or "stack" not in cache:
        raise TypeError(f"cache must be the third value forward returned, got "
                        f"{type(cache).__name__}")
    if cache["spec"] != spec:
        raise ValueError(f"cache comes from forward of another spec: {cache['spec']}, not {spec}")
    other = [name for name in params if params[name] is not cache["params"].get(name)]
    if other:
        raise ValueError(f"params must be the arrays forward was given; {other[:3]} are not")


def upstream(name, value, shape, dtype):
    a = _real(name, value, dtype)
    _shape(name, a, shape)
    return a
