"""The test suite's own assertions: they must fail where they claim to."""
import numpy as np
import pytest

import helpers
from helpers import assert_allclose, assert_dicts_close


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("side", ["actual", "desired", "both"])
def test_assert_allclose_fails_on_non_finite_values(bad, side):
    good = np.ones(3)
    spoiled = np.array([1.0, bad, 1.0])
    actual = spoiled if side in ("actual", "both") else good
    desired = spoiled if side in ("desired", "both") else good
    with pytest.raises(AssertionError, match="non-finite"):
        assert_allclose(actual, desired, rtol=1e300, atol=1e300)
    with pytest.raises(AssertionError, match="non-finite"):
        assert_dicts_close({"w": actual}, {"w": desired}, 1e300, 1e300)


def test_assert_allclose_is_the_combined_tolerance():
    assert_allclose([1.0, 1e-9], [1.0, 0.0], rtol=0, atol=1e-9)
    with pytest.raises(AssertionError, match="1 of 2 entries"):
        assert_allclose([1.0, 2e-9], [1.0, 0.0], rtol=1e-3, atol=1e-9)
    # scale_atol: atol relative to max(1, max |desired|)
    assert_allclose([1000.0, 5e-7], [1000.0, 0.0], rtol=0, atol=1e-9, scale_atol=True)
    with pytest.raises(AssertionError):
        assert_allclose([1000.0, 5e-7], [1000.0, 0.0], rtol=0, atol=1e-9)
    with pytest.raises(AssertionError, match="shape"):
        assert_allclose(np.zeros(3), np.zeros((1, 3)))
    with pytest.raises(AssertionError, match="keys"):
        assert_dicts_close({"a": 1.0}, {"b": 1.0}, 0, 0)


def test_ground_truth_skips_for_users_and_fails_in_ci(monkeypatch):
    assert helpers.ground_truth("numpy", "nothing") is np
    monkeypatch.setattr(helpers, "REQUIRE_GROUND_TRUTH", False)
    with pytest.raises(pytest.skip.Exception, match="no_such_module_here"):
        helpers.ground_truth("no_such_module_here", "this check")
    monkeypatch.setattr(helpers, "REQUIRE_GROUND_TRUTH", True)
    with pytest.raises(pytest.fail.Exception, match="MANUAL_RNN_REQUIRE_GROUND_TRUTH"):
        helpers.ground_truth("no_such_module_here", "this check")
