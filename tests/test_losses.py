"""The losses on their own: values from their definitions, gradients by differences, masking,
and stability at extreme logits.

Central differences of L with eps = 1e-6 carry round-off of about u |L| / eps ~ 1e-10 |L|
(the truncation error is zero for the quadratic MSE), so their absolute tolerance scales with
|L|: 1e-8 * max(1, |L|) leaves a 100x margin."""
import warnings

import numpy as np
from hypothesis import given, strategies as st

from manual_rnn import losses
from manual_rnn.verify.gradcheck import compare, numerical_gradient
from helpers import assert_allclose


@st.composite
def problems(draw):
    T, B, O = draw(st.integers(1, 6)), draw(st.integers(1, 4)), draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    valid = (rng.random((T, B)) < 0.7).astype(float)
    return (rng.normal(size=(T, B, O)) * 3, rng.normal(size=(T, B, O)),
            rng.integers(0, O, size=(T, B)), valid)


@given(problems())
def test_mse_value_gradient_and_mask(problem):
    ys, targets, _, valid = problem
    B = ys.shape[1]
    value, dys = losses.mse(ys, targets, valid)
    expected = sum(0.5 * np.sum((ys[t, b] - targets[t, b]) ** 2)
                   for t in range(ys.shape[0]) for b in range(B) if valid[t, b]) / B
    assert_allclose(value, expected, rtol=1e-12, atol=1e-14)
    numeric = numerical_gradient(lambda a: losses.mse(a["ys"], targets, valid)[0], {"ys": ys})
    assert compare({"ys": dys}, numeric)["ys"].ok(1e-8 * max(1.0, value), 1e-6)
    assert np.all(dys[valid == 0] == 0)


def test_float32_mse_of_a_long_sequence_stays_accurate():
    # A million float32 squares summed one after another (as a BLAS dot does) drift by ~1e-6
    # relative; NumPy's pairwise sum stays near 1e-8. 2e-7 separates the two with margin.
    rng = np.random.default_rng(0)
    ys, targets = (rng.standard_normal((1000, 64, 16)).astype(np.float32) for _ in range(2))
    valid = np.ones((1000, 64), np.float32)
    value, _ = losses.mse(ys, targets, valid)
    diff = ys.astype(np.float64) - targets.astype(np.float64)
    exact = 0.5 * np.sum(diff * diff) / 64
    assert value.dtype == np.float32
    assert abs(value / exact - 1) < 2e-7


@given(problems())
def test_cross_entropy_value_gradient_and_mask(problem):
    ys, _, classes, valid = problem
    B = ys.shape[1]
    value, dys = losses.cross_entropy(ys, classes, valid)
    expected = 0.0
    for t in range(ys.shape[0]):
        for b in range(B):
            if valid[t, b]:
                p = np.exp(ys[t, b]) / np.exp(ys[t, b]).sum()
                expected -= np.log(p[classes[t, b]]) / B
    assert_allclose(value, expected, rtol=1e-12, atol=1e-14)
    numeric = numerical_gradient(lambda a: losses.cross_entropy(a["ys"], classes, valid)[0],
                                 {"ys": ys})
    assert compare({"ys": dys}, numeric)["ys"].ok(1e-8 * max(1.0, value), 1e-6)
    assert np.all(dys[valid == 0] == 0)


def test_cross_entropy_of_extreme_logits_is_finite_and_silent():
    ys = np.array([[[1000.0, -1000.0, 0.0]], [[-1000.0, 1000.0, 999.0]]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, dys = losses.cross_entropy(ys, np.array([[1], [1]]), np.ones((2, 1)))
    assert np.isfinite(value) and np.all(np.isfinite(dys))
    assert_allclose(value, 2000.0 + np.log1p(np.exp(-1.0)), rtol=1e-12)


def test_log_softmax_shifts_each_step_by_its_own_max():
    """Rows of very different scale: shifting by one global max would underflow the small row
    to log(0) = -inf; each row's own max keeps both exact."""
    ys = np.array([[[1000.0, 999.0]], [[-1000.0, -1001.0]]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, dys = losses.cross_entropy(ys, np.array([[0], [1]]), np.ones((2, 1)))
    expected = np.log1p(np.exp(-1.0)) + (1 + np.log1p(np.exp(-1.0)))
    assert_allclose(value, expected, rtol=1e-12)
    assert np.all(np.isfinite(dys))
