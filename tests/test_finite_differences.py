"""A third opinion that shares nothing with either the manual code or the twin: central finite
differences of the loss. If the backward pass and the twin ever shared a mistake in the
forward equations' derivative, the two would agree and this check would not.

Directional derivatives keep it cheap: for each gradient g (each parameter, xs, h0) and a
random direction v, (L(θ + εv) - L(θ - εv)) / 2ε must equal <g, v>. With ε = 1e-6 in float64
the truncation error is O(eps^2 L''') ~ 1e-12 relative and the round-off about 2u |L| / eps
= 2.2e-10 |L|, which grows with the loss (large ReLU networks make it big); so we allow 1e-6
relative plus 1e-8 |L|, bounds that any real gradient error (a missing term is O(1)) exceeds.
"""
import numpy as np
from hypothesis import assume, given, settings, strategies as st

import manual_rnn as mr
from manual_rnn.verify.gradcheck import compare, numerical_gradient
from cases import cases
from conftest import examples
from helpers import as_dict, state_parts

EPS = 1e-6


def named_inputs(a):
    named = dict(a["params"], xs=a["xs"])
    if isinstance(a["h0"], tuple):
        named.update({f"h0[{i}]": s for i, s in enumerate(a["h0"])})
    elif a["h0"] is not None:
        named["h0"] = a["h0"]
    return named


def params_and_h0(a, named):
    """The inverse of named_inputs: (params, h0) back out of one dict."""
    params = {k: named[k] for k in a["params"]}
    h0 = a["h0"]
    if isinstance(h0, tuple):
        h0 = (named["h0[0]"], named["h0[1]"])
    elif h0 is not None:
        h0 = named["h0"]
    return params, h0


def loss_of(case, a):
    """The loss as a function of one dict holding params, xs and h0."""
    def f(named):
        params, h0 = params_and_h0(a, named)
        return mr.loss_and_grad(case.spec, params, named["xs"], a["targets"], case.loss, h0,
                                a["lengths"], a["masks"])[0]
    return f


def assert_directional_derivatives(f, named, analytic, rng):
    """For a random direction v in each input, (f(x + eps v) - f(x - eps v)) / 2 eps is
    <analytic gradient, v>."""
    center = f(named)
    for key, x in named.items():
        v = rng.normal(size=x.shape)
        plus = f({**named, key: x + EPS * v})
        minus = f({**named, key: x - EPS * v})
        numeric = (plus - minus) / (2 * EPS)
        exact = float(np.sum(analytic[key] * v))
        # A ReLU kink within eps makes f non-differentiable there, which shows as one-sided
        # slopes that disagree by far more than the O(eps f'') of smooth functions. Such a
        # draw says nothing about the gradient, so it is rejected, never loosened.
        slopes_differ = abs((plus - center) - (center - minus)) / EPS
        assume(slopes_differ <= 1e-4 * max(1.0, abs(numeric)))
        tolerance = 1e-6 * max(1.0, abs(exact)) + 1e-8 * abs(center)
        assert abs(numeric - exact) <= tolerance, (key, numeric, exact, center)


@settings(max_examples=examples(8))
@given(cases(), st.one_of(st.none(), st.integers(1, 13)))
def test_directional_derivatives_match_central_differences(case, every):
    a = case.arrays()
    _, grads, dxs, dh0 = mr.loss_and_grad(case.spec, a["params"], a["xs"], a["targets"],
                                           case.loss, a["h0"], a["lengths"], a["masks"],
                                           checkpoint_every=every, full=True)[:4]
    assert_directional_derivatives(loss_of(case, a), named_inputs(a), as_dict(grads, dxs, dh0),
                                   np.random.default_rng(case.seed + 1))


@settings(max_examples=examples(14))
@given(cases(), st.one_of(st.none(), st.integers(1, 13)))
def test_backward_is_the_derivative_of_outputs_and_final_state(case, every):
    """backward(dys, dstate) is the gradient of <dys, ys> + <dstate, final state>, in every
    direction. The losses never put a gradient on the final state; this does, with and
    without lengths (where it enters each sequence at its own last step), and through the
    checkpointed backward pass (checkpoint_every) as well as the plain one."""
    a = case.arrays()

    def f(named):
        params, h0 = params_and_h0(a, named)
        ys, state, _ = mr.forward(case.spec, params, named["xs"], h0, a["lengths"], a["masks"])
        pairs = zip(state_parts(state), state_parts(a["dstate"]))
        return float(np.sum(ys * a["dys"]) + sum(np.sum(s * d) for s, d in pairs))

    _, _, cache = mr.forward(case.spec, a["params"], a["xs"], a["h0"], a["lengths"], a["masks"],
                             checkpoint_every=every)
    analytic = as_dict(*mr.backward(case.spec, a["params"], cache, a["dys"], a["dstate"]))
    assert_directional_derivatives(f, named_inputs(a), analytic,
                                   np.random.default_rng(case.seed + 2))


@settings(max_examples=examples(1.5))
@given(cases(max_layers=2, max_T=5, max_B=2).filter(lambda c: c.spec.nonlinearity != "relu"))
def test_every_entry_matches_central_differences(case):
    """Entry by entry on small networks, with the public gradcheck module (smooth activations:
    the directional test above covers ReLU, with its guard against kinks)."""
    a = case.arrays()
    named = named_inputs(a)
    _, grads, dxs, dh0 = mr.loss_and_grad(case.spec, a["params"], a["xs"], a["targets"],
                                           case.loss, a["h0"], a["lengths"], a["masks"], full=True)[:4]
    analytic = {k: v for k, v in as_dict(grads, dxs, dh0).items() if k in named}
    f = loss_of(case, a)
    numeric = numerical_gradient(f, named, eps=EPS)
    round_off = 1e-8 * abs(f(named))
    for key, error in compare(analytic, numeric).items():
        assert error.ok(atol=1e-7 + round_off, rtol=1e-5), (key, error)
