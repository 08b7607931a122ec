"""mr.init_params and mr.dropout_masks as distributions.

The comparisons with the twin and PyTorch draw their own weights and masks (tests/cases.py), so
these two functions are checked here, on their own: every parameter's range, mean, variance
and shape of distribution against U(-1/sqrt(H), 1/sqrt(H)) (the read-out's against nn.Linear's
U(-1/sqrt(fan_in), 1/sqrt(fan_in)), weight and bias alike), PyTorch's own modules against the
same targets, and the masks' rate, values, unbiasedness and independence.

Statistical tolerances, for n draws of U(-b, b): the mean has standard error b / sqrt(3n); the
sample variance (of x^2, whose variance is b^4/5 - b^4/9 = 4 b^4 / 45) sqrt(4/45) b^2 / sqrt(n);
both are allowed 5 standard errors (a false alarm once in ~2 million). The Kolmogorov-Smirnov
distance to the uniform CDF is allowed 2.23 / sqrt(n) (a false alarm once in 10,000). The
largest |x| of n draws falls below b (1 - 20/n) with probability (1 - 20/n)^n < e^-20. A 100x
too small init (variance 1e-4 of the target) misses the variance bound by thousands of
standard errors, and tests below plant such inits to show each check catches them.
"""
import math

import numpy as np
import pytest
from hypothesis import given

import manual_rnn as mr
from cases import param_shapes, specs
from helpers import ground_truth

BIG = [mr.Spec("lstm", 40, 64, 30, num_layers=2, bidirectional=True, proj_size=16),
       mr.Spec("gru", 25, 48, 20, num_layers=2, reset_after=False),
       mr.Spec("rnn", 30, 80, 50, bidirectional=True, nonlinearity="relu", bias=True),
       mr.Spec("gru", 12, 40, None, num_layers=3, bidirectional=True)]


def bound(spec, name):
    """PyTorch's init bound: 1/sqrt(hidden_size) for the recurrent parameters (weight_hr too),
    1/sqrt(fan_in) for the read-out (nn.Linear's weight and bias)."""
    if name.startswith("head."):
        fan_in = spec.num_directions * (spec.proj_size or spec.hidden_size)
        return 1 / math.sqrt(fan_in)
    return 1 / math.sqrt(spec.hidden_size)


def check_uniform(x, b, what):
    """Raise AssertionError unless the sample x fits U(-b, b) (see the module's tolerances)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    n = x.size
    assert np.all(np.isfinite(x)), what
    assert np.all(np.abs(x) <= b), (what, float(np.abs(x).max()), b)
    assert np.abs(x).max() >= b * (1 - 20 / n), (what, "never reaches near the bound",
                                                 float(np.abs(x).max()), b)
    assert abs(x.mean()) <= 5 * b / math.sqrt(3 * n), (what, "mean", float(x.mean()))
    variance = float(np.mean(x ** 2))                  # the mean is 0 by the line above
    assert abs(variance - b * b / 3) <= 5 * math.sqrt(4 / 45) * b * b / math.sqrt(n), (
        what, "variance", variance, b * b / 3)
    u = np.sort((x + b) / (2 * b))                     # U(0, 1) if x is U(-b, b)
    steps = np.arange(1, n + 1) / n
    ks = max(float(np.max(steps - u)), float(np.max(u - (steps - 1 / n))))
    assert ks <= 2.23 / math.sqrt(n), (what, "Kolmogorov-Smirnov distance", ks)


@pytest.mark.parametrize("spec", BIG, ids=lambda s: f"{s.cell}-{s.num_layers}")
@pytest.mark.parametrize("seed", [0, 1])
def test_every_parameter_is_uniform_within_pytorchs_bound(spec, seed):
    params = mr.init_params(spec, seed=seed)
    assert list(params) == list(param_shapes(spec))
    for name, value in params.items():
        assert value.shape == param_shapes(spec)[name] and value.dtype == np.float64
        check_uniform(value, bound(spec, name), name)


# nn.Linear draws its bias with the weight's bound, 1/sqrt(in_features), not 1/sqrt(output_size).
@pytest.mark.parametrize("spec", [s for s in BIG if s.has_head], ids=lambda s: s.cell)
def test_read_out_bias_is_nn_linears(spec):
    """The read-out's weight and bias, pooled, are one sample of nn.Linear's distribution."""
    params = mr.init_params(spec, seed=0)
    check_uniform(params["head.bias"], bound(spec, "head.bias"), "head.bias")
    check_uniform(np.concatenate([params["head.weight"].ravel(), params["head.bias"]]),
                  bound(spec, "head.weight"), "head")


def test_the_checks_catch_wrong_inits():
    """A 100x too small init, a normal init of the right variance, 1/H for 1/sqrt(H), a shifted
    one and a sample cut short of the bound: each fails `check_uniform`."""
    rng = np.random.default_rng(0)
    b, n = 1 / math.sqrt(64), 64 * 256
    check_uniform(rng.uniform(-b, b, n), b, "right")
    wrong = {"100x too small": rng.uniform(-b, b, n) / 100,
             "normal": np.clip(rng.normal(0, b / math.sqrt(3), n), -b, b),
             "1/H": rng.uniform(-1 / 64, 1 / 64, n),
             "shifted": np.clip(rng.uniform(-b, b, n) + 0.05 * b, -b, b),
             "0.9 of the bound": rng.uniform(-0.9 * b, 0.9 * b, n)}
    for what, sample in wrong.items():
        with pytest.raises(AssertionError):
            check_uniform(sample, b, what)


def test_float32_init_is_the_float64_init_rounded():
    spec = BIG[0]
    p64, p32 = mr.init_params(spec, seed=3), mr.init_params(spec, seed=3, dtype=np.float32)
    for name in p64:
        assert p32[name].dtype == np.float32
        assert np.array_equal(p32[name], p64[name].astype(np.float32)), name


def test_seeds_give_independent_draws():
    spec = BIG[1]
    a, b = mr.init_params(spec, seed=0), mr.init_params(spec, seed=1)
    x, y = a["weight_hh_l0"].ravel(), b["weight_hh_l0"].ravel()
    assert abs(np.corrcoef(x, y)[0, 1]) <= 5 / math.sqrt(x.size)
    # and two parameters of one draw are not copies of each other
    assert not np.array_equal(a["bias_ih_l0"], a["bias_hh_l0"])
    assert all(np.array_equal(v, mr.init_params(spec, seed=0)[k]) for k, v in a.items())


@given(specs())
def test_param_shapes_are_pytorchs_layout(spec):
    """mr.param_shapes against the layout written out in tests/cases.py (and that one against
    PyTorch's state_dict in test_pytorch_draws_from_the_same_distributions)."""
    assert mr.param_shapes(spec) == param_shapes(spec)
    assert list(mr.param_shapes(spec)) == list(param_shapes(spec))


def test_pytorch_draws_from_the_same_distributions():
    """The targets above are PyTorch's: its nn.LSTM / nn.GRU / nn.RNN (projection included) and
    nn.Linear pass the same checks with the same bounds, and have the same names and shapes."""
    torch = ground_truth("torch", "the check of PyTorch's own init")
    torch.manual_seed(0)
    for spec in BIG:
        kwargs = dict(num_layers=spec.num_layers, bidirectional=spec.bidirectional,
                      bias=spec.bias)
        if spec.cell == "lstm":
            rnn = torch.nn.LSTM(spec.input_size, spec.hidden_size, proj_size=spec.proj_size,
                                **kwargs)
        elif spec.cell == "gru":
            rnn = torch.nn.GRU(spec.input_size, spec.hidden_size, **kwargs)
        else:
            rnn = torch.nn.RNN(spec.input_size, spec.hidden_size,
                               nonlinearity=spec.nonlinearity, **kwargs)
        params = {k: v.detach().double().numpy() for k, v in rnn.state_dict().items()}
        if spec.has_head:
            head = torch.nn.Linear(spec.num_directions * (spec.proj_size or spec.hidden_size),
                                   spec.output_size)
            params |= {"head." + k: v.detach().double().numpy()
                       for k, v in head.state_dict().items()}
        assert {k: v.shape for k, v in params.items()} == param_shapes(spec)
        assert list(params) == list(param_shapes(spec))
        for name, value in params.items():
            check_uniform(value, bound(spec, name), f"torch {spec.cell} {name}")


# ---- dropout masks ------------------------------------------------------------------------------

@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
@pytest.mark.parametrize("layout", ["time_major", "batch_first", "unbatched"])
def test_dropout_masks_are_bernoulli_at_the_rate_and_unbiased(rate, layout):
    spec = mr.Spec("lstm", 2, 6, 1, num_layers=3, bidirectional=True, dropout=rate,
                   proj_size=4, batch_first=layout == "batch_first")
    shape = {"time_major": (60, 50, 2), "batch_first": (50, 60, 2), "unbatched": (3000, 2)}
    xs = np.zeros(shape[layout])
    masks = mr.dropout_masks(spec, xs, seed=0)
    assert len(masks) == spec.num_layers - 1
    keep = 1 - rate
    n = masks[0].size
    for m in masks:
        assert m.shape == shape[layout][:-1] + (2 * 4,)
        assert set(np.unique(m)) == {0.0, 1 / keep}
        dropped = float(np.mean(m == 0))
        assert abs(dropped - rate) <= 5 * math.sqrt(rate * keep / n), dropped
        # inverted dropout leaves the expected input unchanged: mean 1
        assert abs(float(m.mean()) - 1) <= 5 * math.sqrt(rate / keep / n)
    # the layers' masks are independent draws, and so are the draws of two seeds
    a, b = (masks[0] == 0).ravel(), (masks[1] == 0).ravel()
    assert abs(np.corrcoef(a, b)[0, 1]) <= 5 / math.sqrt(n)
    other = mr.dropout_masks(spec, xs, seed=1)[0]
    assert abs(np.corrcoef(a, (other == 0).ravel())[0, 1]) <= 5 / math.sqrt(n)
    again = mr.dropout_masks(spec, xs, seed=0)
    assert all(np.array_equal(x, y) for x, y in zip(masks, again))


def test_no_masks_where_nothing_is_dropped():
    xs = np.zeros((3, 2, 1))
    assert mr.dropout_masks(mr.Spec("rnn", 1, 2, 1, num_layers=2), xs, seed=0) is None
    with pytest.warns(UserWarning, match="dropout"):
        one_layer = mr.Spec("rnn", 1, 2, 1, dropout=0.5)
    assert mr.dropout_masks(one_layer, xs, seed=0) is None
