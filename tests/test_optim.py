"""manual_rnn.optim against the update rules torch.optim documents, and against torch.optim itself.

The references below are the documented pseudo-code written out for one scalar parameter, in
plain Python floats, independently of optim.py. Adagrad's and RMSprop's pseudo-code omit
`maximize`; the references negate the gradient first, as torch's argument docs (and its SGD and
Adam pseudo-code) say.
"""
import dataclasses
import io
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from manual_rnn.app import optim
from manual_rnn.spec import Spec, init_params
from conftest import examples
from helpers import assert_allclose, ground_truth

NAMES = list(optim.OPTIMIZERS)
# Float64, parameters of order 1. Adagrad and RMSprop divide by square roots of running averages
# that Hypothesis can make as small as ~1e-6, which amplifies a one-ulp difference in the order
# of operations (ours, the written-out rule's, torch's fused kernels) by up to ~1e3: hence an
# absolute 1e-12 (seen: 4.8e-13 against torch's RMSprop), still far below any wrong update.
TOL64 = dict(rtol=1e-12, atol=1e-12)
FAST = settings(max_examples=examples(6), deadline=None)


# ---- the documented rules, one scalar parameter at a time ---------------------------------------

def ref_sgd(theta, grads, lr, momentum, dampening, weight_decay, nesterov, maximize):
    out, b = [], None
    for t, g in enumerate(grads, start=1):
        g = -g if maximize else g
        if weight_decay != 0:
            g = g + weight_decay * theta
        if momentum != 0:
            b = g if t == 1 else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        theta = theta - lr * g
        out.append(theta)
    return out


def ref_adagrad(theta, grads, lr, lr_decay, weight_decay, initial_accumulator_value, eps,
                maximize):
    out, state_sum = [], initial_accumulator_value
    for t, g in enumerate(grads, start=1):
        g = -g if maximize else g
        lr_t = lr / (1 + (t - 1) * lr_decay)
        if weight_decay != 0:
            g = g + weight_decay * theta
        state_sum = state_sum + g ** 2
        theta = theta - lr_t * g / (math.sqrt(state_sum) + eps)
        out.append(theta)
    return out


def ref_rmsprop(theta, grads, lr, alpha, eps, weight_decay, momentum, centered, maximize):
    out, v, b, g_ave = [], 0.0, 0.0, 0.0
    for g in grads:
        g = -g if maximize else g
        if weight_decay != 0:
            g = g + weight_decay * theta
        v = alpha * v + (1 - alpha) * g ** 2
        v_tilde = v
        if centered:
            g_ave = g_ave * alpha + (1 - alpha) * g
            v_tilde = v_tilde - g_ave ** 2
        if momentum > 0:
            b = momentum * b + g / (math.sqrt(v_tilde) + eps)
            theta = theta - lr * b
        else:
            theta = theta - lr * g / (math.sqrt(v_tilde) + eps)
        out.append(theta)
    return out


def ref_adam(theta, grads, lr, betas, eps, weight_decay, amsgrad, maximize, decoupled=False):
    beta1, beta2 = betas
    out, m, v, v_max = [], 0.0, 0.0, 0.0
    for t, g in enumerate(grads, start=1):
        g = -g if maximize else g
        if decoupled:
            theta = theta - lr * weight_decay * theta
        elif weight_decay != 0:
            g = g + weight_decay * theta
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g ** 2
        m_hat = m / (1 - beta1 ** t)
        if amsgrad:
            v_max = max(v_max, v)
            v_hat = v_max / (1 - beta2 ** t)
        else:
            v_hat = v / (1 - beta2 ** t)
        theta = theta - lr * m_hat / (math.sqrt(v_hat) + eps)
        out.append(theta)
    return out


def ref_adamw(theta, grads, **options):
    return ref_adam(theta, grads, decoupled=True, **options)


REFERENCES = {"sgd": ref_sgd, "adagrad": ref_adagrad, "rmsprop": ref_rmsprop, "adam": ref_adam,
              "adamw": ref_adamw}


def reference_run(name, params, grad_seq, options):
    """The reference rule applied entry by entry: the params after each step."""
    steps = [{k: np.empty_like(p) for k, p in params.items()} for _ in grad_seq]
    for k, p in params.items():
        for i in np.ndindex(p.shape):
            thetas = REFERENCES[name](float(p[i]), [float(g[k][i]) for g in grad_seq], **options)
            for after, theta in zip(steps, thetas):
                after[k][i] = theta
    return steps


# ---- what Hypothesis draws ----------------------------------------------------------------------

def either(value, strategy):
    """An option at its 'off' value or anywhere in its range, so both branches get tested."""
    return st.one_of(st.just(value), strategy)


LR = st.floats(1e-3, 1.0)
EPS = st.sampled_from([1e-10, 1e-8, 1e-3])
DECAY = either(0.0, st.floats(1e-3, 0.5))


@st.composite
def sgd_options(draw):
    nesterov = draw(st.booleans())
    momentum = draw(st.floats(0.1, 0.99) if nesterov else either(0.0, st.floats(0.1, 0.99)))
    return dict(lr=draw(LR), momentum=momentum,
                dampening=0.0 if nesterov else draw(either(0.0, st.floats(0.0, 1.0))),
                weight_decay=draw(DECAY), nesterov=nesterov, maximize=draw(st.booleans()))


OPTIONS = {
    "sgd": sgd_options(),
    "adagrad": st.fixed_dictionaries(dict(
        lr=LR, lr_decay=either(0.0, st.floats(1e-3, 1.0)), weight_decay=DECAY,
        initial_accumulator_value=either(0.0, st.floats(1e-3, 1.0)), eps=EPS,
        maximize=st.booleans())),
    # alpha >= 0.5: over a few steps the centered variance stays far above rounding, so the
    # reference's sqrt never meets a negative number
    "rmsprop": st.fixed_dictionaries(dict(
        lr=LR, alpha=st.floats(0.5, 0.99), eps=EPS, weight_decay=DECAY,
        momentum=either(0.0, st.floats(0.1, 0.99)), centered=st.booleans(),
        maximize=st.booleans())),
    "adam": st.fixed_dictionaries(dict(
        lr=LR, betas=st.tuples(either(0.0, st.floats(0.1, 0.99)), st.floats(0.5, 0.999)),
        eps=EPS, weight_decay=DECAY, amsgrad=st.booleans(), maximize=st.booleans())),
}
OPTIONS["adamw"] = OPTIONS["adam"]

# Zero, or far enough from it that squares neither underflow nor vanish next to eps.
VALUES = st.one_of(st.just(0.0), st.floats(1e-3, 5.0), st.floats(-5.0, -1e-3))


@st.composite
def problems(draw, max_steps=5):
    """(params, [grads at step 1, 2, ...]) for a few float64 parameters of random shapes."""
    names = draw(st.lists(st.sampled_from(["weight_ih_l0", "bias_hh_l0", "head.weight"]),
                          min_size=1, max_size=3, unique=True))
    shapes = {k: draw(array_shapes(min_dims=0, max_dims=2, max_side=3)) for k in names}
    params = {k: draw(arrays(np.float64, s, elements=VALUES)) for k, s in shapes.items()}
    grad_seq = [{k: draw(arrays(np.float64, s, elements=VALUES)) for k, s in shapes.items()}
                for _ in range(draw(st.integers(1, max_steps)))]
    return params, grad_seq


def run(opt, params, grad_seq):
    """The params after each step."""
    state, after = opt.init(params), []
    for grads in grad_seq:
        params, state = opt.step(params, grads, state)
        after.append(params)
    return after


# ---- the update rules ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
@FAST
@given(data=st.data())
def test_matches_documented_rule(name, data):
    options = data.draw(OPTIONS[name], label="options")
    params, grad_seq = data.draw(problems(), label="problem")
    got = run(optim.make(name, **options), params, grad_seq)
    for step, (mine, want) in enumerate(zip(got, reference_run(name, params, grad_seq, options))):
        for k in params:
            assert mine[k].dtype == np.float64
            assert_allclose(mine[k], want[k], **TOL64, err_msg=f"step {step + 1}, {k}")


def test_sgd_first_step_takes_the_gradient_as_momentum_buffer():
    opt = optim.SGD(lr=0.1, momentum=0.9, dampening=0.5)
    params, grads = {"w": np.array([1.0])}, {"w": np.array([2.0])}
    state = opt.init(params)
    params, state = opt.step(params, grads, state)
    assert state["momentum_buffer/w"][0] == 2.0  # not (1 - dampening) * g
    params, state = opt.step(params, grads, state)
    assert state["momentum_buffer/w"][0] == 0.9 * 2.0 + 0.5 * 2.0


@pytest.mark.parametrize("name", NAMES)
def test_float32_stays_float32(name):
    params = init_params(Spec("gru", 3, 4, 2), seed=1, dtype=np.float32)
    rng = np.random.default_rng(0)
    grads = {k: rng.normal(size=p.shape) for k, p in params.items()}  # float64 grads on purpose
    opt = optim.make(name, lr=0.01)
    state = opt.init(params)
    new, state = opt.step(params, grads, state)
    new, state = opt.step(new, grads, state)
    assert all(p.dtype == np.float32 for p in new.values())
    assert all(v.dtype == np.float32 for k, v in state.items() if k != "step")
    want = run(opt, {k: p.astype(np.float64) for k, p in params.items()}, [grads, grads])[-1]
    for k in params:
        assert_allclose(new[k], want[k], rtol=1e-5, atol=1e-6)


# ---- purity and checkpoints ---------------------------------------------------------------------

EVERYTHING_ON = {
    "sgd": dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01, maximize=True),
    "adagrad": dict(lr_decay=0.1, weight_decay=0.01, initial_accumulator_value=0.1),
    "rmsprop": dict(momentum=0.9, centered=True, weight_decay=0.01),
    "adam": dict(amsgrad=True, weight_decay=0.01),
    "adamw": dict(amsgrad=True),
}


def lstm_problem(steps, dtype=np.float64):
    params = init_params(Spec("lstm", 3, 5, 2, num_layers=2), seed=0, dtype=dtype)
    rng = np.random.default_rng(1)
    return params, [{k: rng.normal(size=p.shape).astype(dtype) for k, p in params.items()}
                    for _ in range(steps)]


def copies(arrays):
    return {k: np.array(v, copy=True) for k, v in arrays.items()}


def assert_identical(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        assert np.array_equal(a[k], b[k]), k


@pytest.mark.parametrize("name", NAMES)
def test_step_modifies_none_of_its_arguments(name):
    opt = optim.make(name, **EVERYTHING_ON[name])
    params, grad_seq = lstm_problem(3)
    state = opt.init(params)
    for grads in grad_seq:
        before = [copies(params), copies(grads), copies(state)]
        new_params, new_state = opt.step(params, grads, state)
        for arg, saved in zip([params, grads, state], before):
            assert_identical(arg, saved)
        for out in [*new_params.values(), *new_state.values()]:  # nothing shared with the inputs
            for arg in [*params.values(), *grads.values(), *state.values()]:
                assert not np.shares_memory(out, arg)
        params, state = new_params, new_state


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NAMES)
def test_state_round_trips_through_npz(name, dtype):
    opt = optim.make(name, **EVERYTHING_ON[name])
    params, grad_seq = lstm_problem(4, dtype)
    state = opt.init(params)
    for grads in grad_seq[:2]:
        params, state = opt.step(params, grads, state)
    file = io.BytesIO()
    np.savez(file, **state)
    file.seek(0)
    with np.load(file) as saved:
        restored = dict(saved)
    assert_identical(restored, state)
    params_b, state_b = params, restored
    for grads in grad_seq[2:]:
        params, state = opt.step(params, grads, state)
        params_b, state_b = opt.step(params_b, grads, state_b)
    assert_identical(params_b, params)
    assert_identical(state_b, state)


@pytest.mark.parametrize("name", NAMES)
def test_config_round_trips_through_asdict(name):
    opt = optim.make(name, **EVERYTHING_ON[name])
    config = dataclasses.asdict(opt)
    assert optim.make(name, **config) == opt
    assert optim.make(name, **{k: list(v) if isinstance(v, tuple) else v  # as from JSON
                               for k, v in config.items()}) == opt
    with pytest.raises(dataclasses.FrozenInstanceError):
        opt.lr = 1.0


# ---- clip_grad_norm -----------------------------------------------------------------------------

@FAST
@given(data=st.data(), max_norm=st.floats(1e-3, 100.0))
def test_clip_grad_norm(data, max_norm):
    _, (grads, *_) = data.draw(problems(max_steps=1))
    saved = copies(grads)
    clipped, total = optim.clip_grad_norm(grads, max_norm)
    assert_identical(grads, saved)
    assert math.isclose(total, math.sqrt(math.fsum(x * x for g in grads.values() for x in g.flat)),
                        rel_tol=1e-12, abs_tol=1e-300)
    norm = math.sqrt(math.fsum(x * x for g in clipped.values() for x in g.flat))
    if max_norm / (total + 1e-6) < 1:
        assert math.isclose(norm, max_norm * total / (total + 1e-6), rel_tol=1e-12)
        assert math.isclose(norm, max_norm, rel_tol=1e-6 / total + 1e-12)
    else:
        assert_identical(clipped, grads)
    assert all(not np.shares_memory(clipped[k], grads[k]) for k in grads)


def test_clip_grad_norm_keeps_float32():
    grads = {"w": np.full(4, 3.0, np.float32)}
    clipped, total = optim.clip_grad_norm(grads, 1.0)
    assert clipped["w"].dtype == np.float32 and total == 6.0


# ---- bad arguments ------------------------------------------------------------------------------

@pytest.mark.parametrize("name, kwargs, argument", [
    ("sgd", dict(lr=0.0), "lr"),
    ("sgd", dict(lr=-0.1), "lr"),
    ("sgd", dict(lr=float("nan")), "lr"),
    ("sgd", dict(momentum=-0.9), "momentum"),
    ("sgd", dict(dampening=1.5), "dampening"),
    ("sgd", dict(weight_decay=-1e-4), "weight_decay"),
    ("sgd", dict(nesterov=True), "nesterov"),
    ("sgd", dict(nesterov=True, momentum=0.9, dampening=0.1), "nesterov"),
    ("adagrad", dict(lr_decay=-1.0), "lr_decay"),
    ("adagrad", dict(initial_accumulator_value=-0.1), "initial_accumulator_value"),
    ("adagrad", dict(eps=-1e-10), "eps"),
    ("rmsprop", dict(alpha=1.0), "alpha"),
    ("rmsprop", dict(eps=-1e-8), "eps"),
    ("rmsprop", dict(momentum=-0.5), "momentum"),
    ("adam", dict(betas=(1.0, 0.999)), "betas[0]"),
    ("adam", dict(betas=(0.9, -0.1)), "betas[1]"),
    ("adam", dict(betas=(0.9,)), "betas"),
    ("adam", dict(eps=-1e-8), "eps"),
    ("adamw", dict(weight_decay=-0.01), "weight_decay"),
    ("adamw", dict(lr=math.inf), "lr"),
])
def test_bad_arguments_name_themselves(name, kwargs, argument):
    with pytest.raises(ValueError, match=f"^{re.escape(argument)}.*got"):
        optim.make(name, **kwargs)


def test_wrong_types_are_type_errors():
    with pytest.raises(TypeError, match="lr"):
        optim.SGD(lr="0.1")
    with pytest.raises(TypeError, match="amsgrad"):
        optim.Adam(amsgrad=1)


def test_unknown_optimizer_lists_the_choices():
    with pytest.raises(ValueError, match="adagrad.*adam.*adamw.*rmsprop.*sgd.*got 'adamax'"):
        optim.make("adamax")


def test_clip_grad_norm_needs_positive_max_norm():
    for max_norm in [0.0, -1.0, float("nan")]:
        with pytest.raises(ValueError, match="max_norm"):
            optim.clip_grad_norm({"w": np.ones(2)}, max_norm)


def test_grads_and_state_must_match_params():
    opt = optim.Adam()
    params = {"w": np.ones((2, 3)), "b": np.zeros(3)}
    state = opt.init(params)
    with pytest.raises(ValueError, match="missing keys \\['b'\\]"):
        opt.step(params, {"w": np.ones((2, 3))}, state)
    with pytest.raises(ValueError, match="unexpected keys \\['c'\\]"):
        opt.step(params, {"w": np.ones((2, 3)), "b": np.ones(3), "c": np.ones(1)}, state)
    with pytest.raises(ValueError, match="grads\\['w'\\].*\\(2, 3\\).*\\(3, 2\\)"):
        opt.step(params, {"w": np.ones((3, 2)), "b": np.ones(3)}, state)
    with pytest.raises(ValueError, match="max_exp_avg_sq/w"):
        optim.Adam(amsgrad=True).step(params, {k: np.ones_like(p) for k, p in params.items()},
                                      state)


# ---- against torch.optim itself -----------------------------------------------------------------

@pytest.fixture(scope="module")
def torch():
    return ground_truth("torch", "the checks of the optimisers against torch.optim")


TORCH_NAMES = {"sgd": "SGD", "adagrad": "Adagrad", "rmsprop": "RMSprop", "adam": "Adam",
               "adamw": "AdamW"}


@pytest.mark.parametrize("name", NAMES)
def test_defaults_match_torch(torch, name):
    import inspect
    signature = inspect.signature(getattr(torch.optim, TORCH_NAMES[name]))
    for field in dataclasses.fields(optim.OPTIMIZERS[name]):
        assert field.default == signature.parameters[field.name].default, field.name


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=examples(3), deadline=None)
@given(data=st.data())
def test_matches_torch(torch, name, data):
    options = data.draw(OPTIONS[name], label="options")
    params, grad_seq = data.draw(problems(), label="problem")
    tensors = {k: torch.tensor(p, requires_grad=True) for k, p in params.items()}
    torch_opt = getattr(torch.optim, TORCH_NAMES[name])(list(tensors.values()), **options)
    for mine, grads in zip(run(optim.make(name, **options), params, grad_seq), grad_seq):
        for k, t in tensors.items():
            t.grad = torch.tensor(grads[k])
        torch_opt.step()
        for k, t in tensors.items():
            assert_allclose(mine[k], t.detach().numpy(), **TOL64, err_msg=k)


@FAST
@given(data=st.data(), max_norm=st.floats(1e-3, 100.0))
def test_clip_grad_norm_matches_torch(torch, data, max_norm):
    _, (grads, *_) = data.draw(problems(max_steps=1))
    tensors = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
               for g in grads.values()]
    for t, g in zip(tensors, grads.values()):
        t.grad = torch.tensor(g)
    total = torch.nn.utils.clip_grad_norm_(tensors, max_norm)
    clipped, mine = optim.clip_grad_norm(grads, max_norm)
    assert math.isclose(mine, float(total), rel_tol=1e-12, abs_tol=1e-300)
    for t, g in zip(tensors, clipped.values()):
        assert_allclose(g, t.grad.numpy(), **TOL64)
