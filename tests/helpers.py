"""Assertions shared by the test modules."""
import numpy as np


def state_parts(state):
    """A state as a tuple of arrays: (h, c) for the LSTM, (h,) for the others."""
    return state if isinstance(state, tuple) else (state,)


def assert_dicts_close(actual, expected, rtol, atol, what=""):
    assert set(actual) == set(expected), f"{what}: keys differ: {sorted(actual)} vs {sorted(expected)}"
    for key in expected:
        a, e = np.asarray(actual[key]), np.asarray(expected[key])
        assert a.shape == e.shape, f"{what}{key}: shape {a.shape} vs {e.shape}"
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, err_msg=f"{what}{key}")


def as_dict(grads, dxs, dh0):
    """Every gradient of a backward pass under one name each, states split into parts."""
    out = dict(grads)
    out["xs"] = dxs
    if isinstance(dh0, tuple):
        out.update({f"h0[{i}]": d for i, d in enumerate(dh0)})
    else:
        out["h0"] = dh0
    return out
