"""RTRL (forward sensitivities) against BPTT (the hand-written backward pass), and finite differences.

The two algorithms share no gradient code, so agreement to round-off on random networks, shapes,
layouts, initial states, lengths and losses checks both at once.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import manual_rnn as mr
from manual_rnn.verify import rtrl
from manual_rnn.verify.gradcheck import compare, numerical_gradient

from conftest import examples
from helpers import assert_allclose, assert_dicts_close, state_parts

RTOL, ATOL = 1e-9, 1e-11


@st.composite
def cases(draw):
    cell = draw(st.sampled_from(["rnn", "lstm", "gru"]))
    I, H, O = (draw(st.integers(1, 5)) for _ in range(3))
    nonlinearity = draw(st.sampled_from(["tanh", "relu", "sigmoid"])) if cell == "rnn" else "tanh"
    proj = draw(st.integers(0, H - 1)) if cell == "lstm" else 0
    layout = draw(st.sampled_from(["time_major", "batch_first", "unbatched"]))
    spec = mr.Spec(cell, I, H, O, nonlinearity=nonlinearity, bias=draw(st.booleans()),
                   proj_size=proj, batch_first=layout == "batch_first")
    T = draw(st.integers(1, 10))
    B = 1 if layout == "unbatched" else draw(st.integers(1, 3))
    loss = draw(st.sampled_from(["mse", "cross_entropy"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from([0.5, 1.0, 2.0]))        # 2.0: saturating, strongly nonlinear
    params = {k: scale * v for k, v in mr.init_params(spec, seed=int(rng.integers(1 << 30))).items()}

    def sequence(features=None):                           # time-major, then the user's layout
        a = rng.normal(size=(T, B) + (() if features is None else (features,)))
        return a[:, 0] if layout == "unbatched" else a.swapaxes(0, 1) if spec.batch_first else a

    kwargs = {}
    xs = sequence(I)
    if loss == "mse":
        targets = sequence(O)
    else:
        targets = rng.integers(0, O, size=sequence().shape)
    if draw(st.booleans()):
        shapes = [(1, B, spec.state_size)] + ([(1, B, H)] if cell == "lstm" else [])
        parts = [rng.normal(size=s[:1] + s[2:] if layout == "unbatched" else s) for s in shapes]
        kwargs["h0"] = tuple(parts) if cell == "lstm" else parts[0]
    if layout != "unbatched" and draw(st.booleans()):
        kwargs["lengths"] = rng.integers(1, T + 1, size=B)
    if draw(st.booleans()):
        kwargs["loss_mask"] = (rng.random(sequence().shape) < 0.6).astype(float)
    return spec, params, xs, targets, loss, kwargs


def _states(dh0):
    return {f"h0[{i}]": d for i, d in enumerate(state_parts(dh0))}


@settings(max_examples=examples(20))
@given(cases())
def test_rtrl_equals_bptt(case):
    spec, params, xs, targets, loss, kwargs = case
    value, grads, _, dh0 = mr.loss_and_grad(spec, params, xs, targets, loss, **kwargs, full=True)[:4]
    r_value, r_grads, r_dh0 = rtrl.loss_and_grad(spec, params, xs, targets, loss, **kwargs)
    assert_allclose(r_value, value, rtol=RTOL, atol=ATOL)
    assert_dicts_close(r_grads, grads, RTOL, ATOL, "rtrl vs bptt: ")
    assert_dicts_close(_states(r_dh0), _states(dh0), RTOL, ATOL, "rtrl vs bptt: ")
    for key, g in r_grads.items():
        assert g.dtype == params[key].dtype


@pytest.mark.parametrize("spec", [
    mr.Spec("rnn", 2, 3, 2, nonlinearity="tanh"),
    mr.Spec("lstm", 2, 4, 3, proj_size=2),
    mr.Spec("gru", 3, 3, 2, bias=False),
], ids=["rnn", "lstm-proj", "gru-nobias"])
def test_rtrl_matches_finite_differences(spec):
    rng = np.random.default_rng(7)
    T, B = 5, 2
    params = mr.init_params(spec, seed=3)
    xs = rng.normal(size=(T, B, spec.input_size))
    targets = rng.integers(0, spec.output_size, size=(T, B))
    lengths = np.array([T, 3])
    h_shape = (1, B, spec.state_size)
    arrays = dict(params, h=rng.normal(size=h_shape))
    if spec.cell == "lstm":
        arrays["c"] = rng.normal(size=(1, B, spec.hidden_size))

    def split(a):
        p = {k: v for k, v in a.items() if k not in ("h", "c")}
        return p, ((a["h"], a["c"]) if spec.cell == "lstm" else a["h"])

    def f(a):
        p, h0 = split(a)
        return rtrl.loss_and_grad(spec, p, xs, targets, "cross_entropy", h0, lengths)[0]

    p, h0 = split(arrays)
    _, grads, dh0 = rtrl.loss_and_grad(spec, p, xs, targets, "cross_entropy", h0, lengths)
    analytic = dict(grads, h=dh0[0] if spec.cell == "lstm" else dh0)
    if spec.cell == "lstm":
        analytic["c"] = dh0[1]
    report = compare(analytic, numerical_gradient(f, arrays))
    bad = {k: e for k, e in report.items() if not e.ok(atol=1e-8, rtol=1e-6)}
    assert not bad, bad


@pytest.mark.parametrize("field, value", [("num_layers", 2), ("bidirectional", True)])
def test_unsupported_specs_raise(field, value):
    spec = mr.Spec("gru", 2, 3, 2, **{field: value})
    params = mr.init_params(spec)
    xs, targets = np.zeros((3, 1, 2)), np.zeros((3, 1, 2))
    with pytest.raises(ValueError, match=field):
        rtrl.loss_and_grad(spec, params, xs, targets)


def test_bad_loss_raises():
    spec = mr.Spec("rnn", 2, 3, 2)
    with pytest.raises(ValueError, match="loss"):
        rtrl.loss_and_grad(spec, mr.init_params(spec), np.zeros((3, 2)), np.zeros((3, 2)),
                           loss="hinge")


def test_float32_runs_in_float32():
    spec = mr.Spec("lstm", 2, 3, 2)
    params = mr.init_params(spec, dtype=np.float32)
    xs, targets = np.ones((4, 2, 2)), np.zeros((4, 2, 2))
    value, grads, dh0 = rtrl.loss_and_grad(spec, params, xs, targets)
    _, expected, _, _ = mr.loss_and_grad(spec, params, xs, targets, full=True)[:4]
    assert all(g.dtype == np.float32 for g in grads.values())
    assert dh0[0].dtype == np.float32
    assert_dicts_close(grads, expected, rtol=1e-4, atol=1e-6)
