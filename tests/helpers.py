"""Assertions shared by the test modules, and the one way to import a ground truth.

Every comparison here fails on a NaN or infinite value on either side: numpy's own
assert_allclose lets NaN equal NaN (equal_nan=True) and inf equal inf, so a gradient that is
NaN wherever its reference is NaN would pass it.
"""
import importlib
import os

import numpy as np
import pytest

REQUIRE_GROUND_TRUTH = os.environ.get("MANUAL_RNN_REQUIRE_GROUND_TRUTH", "") not in ("", "0")


def ground_truth(name, why):
    """Import module `name` (PyTorch, JAX, the JAX twin) that a test module checks against.

    Missing, it skips the module with the reason, unless MANUAL_RNN_REQUIRE_GROUND_TRUTH is set
    (CI sets it): then a missing ground truth is a failure, never a silent skip."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        message = f"{name} is not installed ({error}): {why} cannot run"
        if REQUIRE_GROUND_TRUTH:
            pytest.fail(f"{message}, and MANUAL_RNN_REQUIRE_GROUND_TRUTH is set",
                        pytrace=False)
        pytest.skip(message, allow_module_level=True)


def state_parts(state):
    """A state as a tuple of arrays: (h, c) for the LSTM, (h,) for the others."""
    return state if isinstance(state, tuple) else (state,)


def assert_allclose(actual, desired, rtol=1e-7, atol=0.0, err_msg="", scale_atol=False):
    """|actual - desired| <= atol * s + rtol * |desired| at every entry, s = 1, or with
    scale_atol s = max(1, max |desired|); both all finite; same shapes (no broadcasting)."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(desired, dtype=np.float64)
    assert a.shape == e.shape, f"{err_msg}: shape {a.shape} vs {e.shape}"
    bad_a, bad_e = int(np.sum(~np.isfinite(a))), int(np.sum(~np.isfinite(e)))
    assert not (bad_a or bad_e), (f"{err_msg}: {bad_a} non-finite values in actual, {bad_e} in "
                                  f"desired")
    scale = max(1.0, float(np.abs(e).max(initial=0.0))) if scale_atol else 1.0
    diff = np.abs(a - e)
    bound = atol * scale + rtol * np.abs(e)
    over = diff > bound
    if over.any():
        worst = np.unravel_index(np.argmax(np.where(over, diff - bound, -np.inf)), a.shape)
        raise AssertionError(
            f"{err_msg}: {int(over.sum())} of {a.size} entries differ by more than "
            f"atol={atol:g}{' * ' + format(scale, 'g') if scale_atol else ''} + rtol={rtol:g} "
            f"* |desired|; worst at {tuple(int(i) for i in worst)}: actual {a[worst]!r}, "
            f"desired {e[worst]!r}, |diff| {diff[worst]:.3e} > {bound[worst]:.3e}")


def assert_dicts_close(actual, expected, rtol, atol, what="", scale_atol=False):
    assert set(actual) == set(expected), f"{what}: keys differ: {sorted(actual)} vs {sorted(expected)}"
    for key in expected:
        assert_allclose(actual[key], expected[key], rtol=rtol, atol=atol, err_msg=f"{what}{key}",
                        scale_atol=scale_atol)


def as_dict(grads, dxs, dh0):
    """Every gradient of a backward pass under one name each, states split into parts."""
    out = dict(grads)
    out["xs"] = dxs
    if isinstance(dh0, tuple):
        out.update({f"h0[{i}]": d for i, d in enumerate(dh0)})
    else:
        out["h0"] = dh0
    return out


def twin_available():
    """Whether the JAX twin imports. False lets a test check the finite-difference-only path,
    unless MANUAL_RNN_REQUIRE_GROUND_TRUTH is set: then a missing twin fails the test."""
    try:
        import manual_rnn_reference  # noqa: F401
    except ImportError as error:
        if REQUIRE_GROUND_TRUTH:
            pytest.fail(f"the JAX twin does not import ({error}), and "
                        f"MANUAL_RNN_REQUIRE_GROUND_TRUTH is set", pytrace=False)
        return False
    return True
