"""Bad input is refused with an error naming the argument, what was expected and what came;
nothing modifies the caller's arrays; the numerics stay finite and silent where the math is."""
import warnings

import numpy as np
import pytest
from hypothesis import given

import manual_rnn as mr
from cases import cases
from helpers import assert_allclose

SPEC = mr.Spec(cell="rnn", input_size=2, hidden_size=3, output_size=4)
LSTM = mr.Spec(cell="lstm", input_size=2, hidden_size=3, output_size=4, num_layers=2)
PARAMS = mr.init_params(SPEC, seed=0)
XS = np.zeros((5, 2, 2))


def raises(error, *words):
    """pytest.raises whose message must contain every word given."""
    class Check:
        def __enter__(self):
            self.ctx = pytest.raises(error)
            self.info = self.ctx.__enter__()
        def __exit__(self, *exc):
            handled = self.ctx.__exit__(*exc)
            for word in words:
                assert word in str(self.info.value), (word, str(self.info.value))
            return handled
    return Check()


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(cell="transformer"), ValueError, ["cell", "transformer"]),
    (dict(nonlinearity="softplus"), ValueError, ["nonlinearity", "softplus"]),
    (dict(cell="gru", nonlinearity="relu"), ValueError, ["nonlinearity", "gru"]),
    (dict(hidden_size=0), ValueError, ["hidden_size", ">= 1", "0"]),
    (dict(input_size=2.5), TypeError, ["input_size", "2.5"]),
    (dict(num_layers=0), ValueError, ["num_layers"]),
    (dict(proj_size=2), ValueError, ["proj_size", "lstm"]),
    (dict(cell="lstm", proj_size=3), ValueError, ["proj_size", "< hidden_size=3"]),
    (dict(dropout=1.0), ValueError, ["dropout", "1.0"]),
    (dict(bidirectional="yes"), TypeError, ["bidirectional"]),
])
def test_bad_spec(kwargs, error, words):
    base = dict(cell="rnn", input_size=2, hidden_size=3, output_size=4)
    with raises(error, *words):
        mr.Spec(**{**base, **kwargs})


def test_bad_params():
    with raises(ValueError, "missing", "weight_hh_l0"):
        mr.forward(SPEC, {k: v for k, v in PARAMS.items() if k != "weight_hh_l0"}, XS)
    with raises(ValueError, "unexpected", "extra"):
        mr.forward(SPEC, {**PARAMS, "extra": np.zeros(1)}, XS)
    with raises(ValueError, "weight_ih_l0", "(3, 2)", "(2, 3)"):
        mr.forward(SPEC, {**PARAMS, "weight_ih_l0": np.zeros((2, 3))}, XS)
    with raises(TypeError, "float32 or float64", "int64"):
        mr.forward(SPEC, {**PARAMS, "head.bias": np.zeros(4, dtype=np.int64)}, XS)
    with raises(TypeError, "one dtype"):
        mr.forward(SPEC, {**PARAMS, "head.bias": np.zeros(4, dtype=np.float32)}, XS)
    with raises(ValueError, "head.weight", "non-finite"):
        mr.forward(SPEC, {**PARAMS, "head.weight": np.full((4, 3), np.nan)}, XS)
    with raises(TypeError, "params", "list"):
        mr.forward(SPEC, list(PARAMS.values()), XS)


def test_bad_xs():
    with raises(ValueError, "xs", "3-D", "(2,)"):
        mr.forward(SPEC, PARAMS, np.zeros(2))
    with raises(ValueError, "xs", "input_size=2", "(5, 2, 3)"):
        mr.forward(SPEC, PARAMS, np.zeros((5, 2, 3)))
    with raises(ValueError, "xs", "at least one step", "(0, 2, 2)"):
        mr.forward(SPEC, PARAMS, np.zeros((0, 2, 2)))
    with raises(ValueError, "xs", "finite"):
        mr.forward(SPEC, PARAMS, np.full((5, 2, 2), np.inf))
    with raises(TypeError, "xs", "numbers"):
        mr.forward(SPEC, PARAMS, np.array([["a", "b"]]))


def test_bad_h0():
    with raises(ValueError, "h0", "(1, 2, 3)", "(1, 3)"):
        mr.forward(SPEC, PARAMS, XS, h0=np.zeros((1, 3)))
    lstm_params = mr.init_params(LSTM)
    with raises(TypeError, "h0", "pair", "lstm"):
        mr.forward(LSTM, lstm_params, XS, h0=np.zeros((2, 2, 3)))
    with raises(ValueError, "h0[1]", "(2, 2, 3)", "(1, 2, 3)"):
        mr.forward(LSTM, lstm_params, XS, h0=(np.zeros((2, 2, 3)), np.zeros((1, 2, 3))))
    with raises(TypeError, "h0", "one array"):
        mr.forward(SPEC, PARAMS, XS, h0=(np.zeros((1, 2, 3)), np.zeros((1, 2, 3))))


def test_bad_lengths():
    with raises(ValueError, "lengths", "[1, T=5]", "[0, 3]"):
        mr.forward(SPEC, PARAMS, XS, lengths=[0, 3])
    with raises(ValueError, "lengths", "[1, T=5]", "[6, 3]"):
        mr.forward(SPEC, PARAMS, XS, lengths=[6, 3])
    with raises(TypeError, "lengths", "integers", "float"):
        mr.forward(SPEC, PARAMS, XS, lengths=[2.0, 3.0])
    with raises(ValueError, "lengths", "(2,)", "(3,)"):
        mr.forward(SPEC, PARAMS, XS, lengths=[1, 2, 3])
    with raises(ValueError, "lengths", "unbatched"):
        mr.forward(SPEC, PARAMS, XS[:, 0], lengths=[2])


def test_bad_targets_and_loss():
    with raises(ValueError, "loss", "hinge"):
        mr.loss_and_grad(SPEC, PARAMS, XS, np.zeros((5, 2, 4)), loss="hinge")
    with raises(ValueError, "targets", "(5, 2, 4)", "(5, 2, 3)"):
        mr.loss_and_grad(SPEC, PARAMS, XS, np.zeros((5, 2, 3)))
    with raises(TypeError, "targets", "integer", "float64"):
        mr.loss_and_grad(SPEC, PARAMS, XS, np.zeros((5, 2)), loss="cross_entropy")
    with raises(ValueError, "targets", "(5, 2)", "(5, 2, 4)"):
        mr.loss_and_grad(SPEC, PARAMS, XS, np.zeros((5, 2, 4), int), loss="cross_entropy")
    with raises(ValueError, "targets", "[0, output_size=4)", "4"):
        mr.loss_and_grad(SPEC, PARAMS, XS, np.full((5, 2), 4), loss="cross_entropy")
    with raises(ValueError, "targets", "[0, output_size=4)", "-1"):
        mr.loss_and_grad(SPEC, PARAMS, XS, np.full((5, 2), -1), loss="cross_entropy")
    with raises(ValueError, "targets", "finite"):
        mr.loss_and_grad(SPEC, PARAMS, XS, np.full((5, 2, 4), np.nan))


@pytest.mark.parametrize("padding", [-100, 4, 10**6])
def test_padding_may_hold_any_class_index(padding):
    """Past a sequence's end the targets are never read: any integer there (a common padding
    value, one past the classes, a huge one) gives the loss and gradients of class 0 there."""
    xs = np.random.default_rng(0).normal(size=(5, 2, 2))
    targets = np.random.default_rng(1).integers(0, 4, size=(5, 2))
    padded = targets.copy()
    padded[3:, 0] = padding          # past sequence 0's end (length 3)
    plain = targets.copy()
    plain[3:, 0] = 0
    value, grads, dxs, dh0, _ = mr.loss_and_grad(SPEC, PARAMS, xs, padded, loss="cross_entropy",
                                                 lengths=[3, 5], full=True)
    expected = mr.loss_and_grad(SPEC, PARAMS, xs, plain, loss="cross_entropy", lengths=[3, 5],
                                full=True)
    assert np.isfinite(value) and value > 0 and value == expected.loss
    for name, grad in grads.items():
        assert np.array_equal(grad, expected.grads[name]), name
    assert np.array_equal(dxs, expected.dxs) and np.array_equal(dh0, expected.dh0)
    # the padding's target is not read, but the step's input still is not either
    assert np.all(dxs[3:, 0] == 0) and np.any(dxs[:3, 0] != 0)
    # and a bad class at a step that exists is still refused
    padded[2, 0] = padding
    with raises(ValueError, "targets", str(padding)):
        mr.loss_and_grad(SPEC, PARAMS, xs, padded, loss="cross_entropy", lengths=[3, 5])


def test_bad_upstream_gradients():
    ys, state, cache = mr.forward(SPEC, PARAMS, XS)
    with raises(ValueError, "dys must have shape", "(5, 2, 4)", "(5, 2, 3)"):
        mr.backward(SPEC, PARAMS, cache, np.zeros((5, 2, 3)))
    with raises(ValueError, "dstate must have shape", "(1, 2, 3)", "(2, 3)"):
        mr.backward(SPEC, PARAMS, cache, np.zeros((5, 2, 4)), np.zeros((2, 3)))


@given(cases())
def test_nothing_modifies_the_callers_arrays(case):
    a = case.arrays()
    copies = {k: (tuple(x.copy() for x in v) if isinstance(v, tuple) else
                  {n: x.copy() for n, x in v.items()} if isinstance(v, dict) else
                  None if v is None else v.copy()) for k, v in a.items()}
    _, _, cache = mr.forward(case.spec, a["params"], a["xs"], a["h0"], a["lengths"])
    mr.backward(case.spec, a["params"], cache, a["dys"], a["dstate"])
    mr.loss_and_grad(case.spec, a["params"], a["xs"], a["targets"], case.loss, a["h0"],
                      a["lengths"], full=True)[:4]
    for key, value in a.items():
        before = copies[key]
        if isinstance(value, dict):
            assert all(np.array_equal(value[n], before[n]) for n in value), key
        elif isinstance(value, tuple):
            assert all(np.array_equal(x, y) for x, y in zip(value, before)), key
        elif value is not None:
            assert np.array_equal(value, before), key


@given(cases())
def test_every_gradient_is_an_array_of_its_own(case):
    # An optimiser updates gradients in place (clipping, momentum): two names sharing memory,
    # as db_ih and db_hh could (they are the same sum for the Elman cell and the LSTM), would
    # then change together.
    a = case.arrays()
    _, grads, dxs, dh0 = mr.loss_and_grad(case.spec, a["params"], a["xs"], a["targets"],
                                           case.loss, a["h0"], a["lengths"], full=True)[:4]
    arrays = list(grads.values()) + [dxs] + (list(dh0) if isinstance(dh0, tuple) else [dh0])
    for i, x in enumerate(arrays):
        assert not any(np.shares_memory(x, y) for y in arrays[i + 1:]), list(grads)[i:i + 1]


@pytest.mark.parametrize("nonlinearity", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("scale", [1000.0, -1000.0])
def test_saturated_activations_and_softmax_stay_finite_and_silent(nonlinearity, scale):
    spec = mr.Spec(cell="rnn", input_size=1, hidden_size=2, output_size=3,
                   nonlinearity=nonlinearity)
    params = {k: np.full_like(v, scale) for k, v in mr.init_params(spec).items()}
    xs = np.ones((4, 2, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for loss, targets in [("mse", np.zeros((4, 2, 3))),
                              ("cross_entropy", np.zeros((4, 2), int))]:
            value, grads, dxs, dh0 = mr.loss_and_grad(spec, params, xs, targets, loss, full=True)[:4]
            assert np.isfinite(value)
            assert all(np.all(np.isfinite(g)) for g in [*grads.values(), dxs, dh0])


def test_sigmoid_of_large_arguments_is_exact():
    from manual_rnn.activations import sigmoid
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sigmoid(np.array([-1000.0]))[0] == 0.0
        assert sigmoid(np.array([1000.0]))[0] == 1.0


def test_bad_options_of_deeper_networks():
    spec = mr.Spec(cell="gru", input_size=2, hidden_size=3, output_size=4, num_layers=3,
                   bidirectional=True, dropout=0.5)
    params = mr.init_params(spec)
    with raises(ValueError, "h0", "(6, 2, 3)", "(3, 2, 3)"):
        mr.forward(spec, params, XS, h0=np.zeros((3, 2, 3)))
    with raises(ValueError, "dropout_masks", "num_layers - 1 = 2"):
        mr.forward(spec, params, XS, dropout_masks=[np.ones((5, 2, 6))])
    with raises(ValueError, "dropout_masks[1]", "(5, 2, 6)", "(5, 2, 3)"):
        mr.forward(spec, params, XS, dropout_masks=[np.ones((5, 2, 6)), np.ones((5, 2, 3))])
    with raises(ValueError, "checkpoint_every must be >= 1", "0"):
        mr.forward(spec, params, XS, checkpoint_every=0)
    with raises(TypeError, "checkpoint_every must be an int"):
        mr.forward(spec, params, XS, checkpoint_every=2.5)
    with raises(ValueError, "params", "missing", "weight_ih_l2_reverse"):
        mr.forward(spec, mr.init_params(mr.Spec(cell="gru", input_size=2, hidden_size=3,
                                                output_size=4, num_layers=2,
                                                bidirectional=True)), XS)
    batch_first = mr.Spec(cell="rnn", input_size=2, hidden_size=3, output_size=4,
                          batch_first=True)
    with raises(ValueError, "targets", "(2, 5, 4)", "(5, 2, 4)"):
        mr.loss_and_grad(batch_first, mr.init_params(batch_first), np.zeros((2, 5, 2)),
                         np.zeros((5, 2, 4)))


def test_masks_from_dropout_masks_follow_the_layout_and_rate():
    spec = mr.Spec(cell="lstm", input_size=2, hidden_size=4, output_size=1, num_layers=3,
                   bidirectional=True, dropout=0.25, proj_size=3, batch_first=True)
    masks = mr.dropout_masks(spec, np.zeros((50, 40, 2)), seed=0)
    assert len(masks) == 2 and all(m.shape == (50, 40, 6) for m in masks)
    assert set(np.unique(masks[0])) == {0.0, 1 / 0.75}
    assert abs((masks[0] == 0).mean() - 0.25) < 0.02
    assert np.array_equal(masks[1], mr.dropout_masks(spec, np.zeros((50, 40, 2)), seed=0)[1])
    assert mr.dropout_masks(mr.Spec(cell="rnn", input_size=1, hidden_size=1, output_size=1,
                                    num_layers=2), np.zeros((3, 1)), seed=0) is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_on_strided_gate_blocks(dtype):
    """Cells activate gate blocks in place, views of views: NumPy 2.4.6's float32 np.negative
    once gave wrong numbers there (it read the strided input as contiguous)."""
    from manual_rnn.activations import ACTIVATIONS
    z = np.linspace(-3, 3, 64).astype(dtype).reshape(16, 4)
    for name, (f, _) in ACTIVATIONS.items():
        out = np.zeros((16, 4), dtype)
        f(z[:, 3:], out=out[:, 3:])
        assert_allclose(out[:, 3], f(z[:, 3].copy()), rtol=1e-6, err_msg=name)


def test_backward_checks_its_params():
    _, _, cache = mr.forward(SPEC, PARAMS, XS)
    with raises(ValueError, "params", "missing", "head.bias"):
        mr.backward(SPEC, {k: v for k, v in PARAMS.items() if k != "head.bias"}, cache,
                    np.zeros((5, 2, 4)))
