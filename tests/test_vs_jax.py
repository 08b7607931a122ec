"""Every gradient of the hand-written backward pass equals jax.grad of the independent twin.

The bulk is a deterministic plan (tests/grid.py): every combination of cell, depth, directions,
lengths, bias and loss, each with the other options dealt out over them (layouts, h0, headless,
dropout rates, loss_mask, checkpoint_every, float32, saturating weights, projection,
nonlinearities, the GRU's reset placement), several independent data draws per network. On
top, Hypothesis draws cases freely, and checks backward(dys, dstate) against the twin's VJP.

Every array both sides see is drawn here (tests/cases.py), never by mr.init_params or
mr.dropout_masks, so the twin and manual_rnn share nothing but the parameter names.

Float64 comparisons are tight: both sides compute the same sums in a different order, so they
agree to a few hundred ulps (rtol 1e-9, atol 1e-11). atol is relative to each array's largest
entry, max(1, max |b|): an entry's round-off is a few ulps of the terms summed into it, which
that scale bounds, not the entry itself (with saturating weights some gradients reach 1e3 while
others in the same array cancel to near 0). Float32 networks are compared with the twin run in
float64 on the same float32-rounded arrays (see test_float32.py for the tolerance).
"""

import numpy as np
import pytest
from hypothesis import given, note, settings

import grid
from cases import (cases, draw_masks, draw_params, draw_state, draw_targets,
                   sequence_shape, state_shapes)
from conftest import examples
from helpers import as_dict, assert_allclose, assert_dicts_close, ground_truth

jax = ground_truth("jax", "the comparisons with the JAX twin")
ref = ground_truth("manual_rnn_reference", "the comparisons with the JAX twin")

import manual_rnn as mr  # noqa: E402

RTOL, ATOL = 1e-9, 1e-11
# float32 against float64: see test_float32.test_float32_matches_float64 for the derivation.
RTOL32, ATOL32 = 1e-3, 1e-4


@pytest.fixture(autouse=True)
def float64_jax():
    """The twin computes float64 arrays in float64 inside this context only (thread-local):
    nothing here flips JAX's global jax_enable_x64."""
    with jax.enable_x64(True):
        yield


# ---- the plan ---------------------------------------------------------------------------------

def draw(network, k):
    """Draw k of a network: every array either side sees, from its own generator."""
    rng = np.random.default_rng([network.index, k, 7])
    spec, T = network.spec, network.T
    B = None if network.unbatched else network.B
    dtype = np.dtype(network.dtype)
    params = draw_params(spec, rng, grid.GAINS[network.gain], dtype)
    xs = rng.normal(size=sequence_shape(spec, T, B, spec.input_size)).astype(dtype)
    h0 = draw_state(spec, rng, B, dtype) if network.with_h0 else None
    lengths = None
    if network.with_lengths:
        lengths = rng.integers(1, T + 1, size=network.B)
    masks = (draw_masks(spec, rng, T, B, network.dropout_rate, dtype)
             if network.dropout_rate else None)
    loss_mask = ((rng.random(sequence_shape(spec, T, B)) < 0.6).astype(dtype)
                 if network.loss_mask else None)
    targets = draw_targets(spec, rng, network.loss, T, B, dtype)
    return dict(params=params, xs=xs, h0=h0, lengths=lengths, masks=masks, loss_mask=loss_mask,
                targets=targets)


def twin(network, a):
    """(loss, {name: gradient}) of the twin, in float64, with the initial state explicit."""
    spec = network.spec
    f64 = lambda x: None if x is None else (tuple(np.asarray(p, np.float64) for p in x)
                                            if isinstance(x, tuple) else np.asarray(x, np.float64))
    params = {k: f64(v) for k, v in a["params"].items()}
    B = None if network.unbatched else network.B
    h0 = a["h0"]
    if h0 is None:
        zeros = tuple(np.zeros(s) for s in state_shapes(spec, B))
        h0 = zeros if spec.cell == "lstm" else zeros[0]
    h0 = f64(h0)
    masks = None if a["masks"] is None else [f64(m) for m in a["masks"]]
    targets = f64(a["targets"]) if network.loss == "mse" else a["targets"]
    value, grads, dxs, dh0 = ref.loss_and_grads(spec, params, f64(a["xs"]), targets,
                                                network.loss, h0, a["lengths"], masks,
                                                f64(a["loss_mask"]))
    dh0 = tuple(np.asarray(d) for d in dh0) if isinstance(dh0, (tuple, list)) else dh0
    grads = {k: np.asarray(v) for k, v in grads.items()}
    return np.asarray(value), as_dict(grads, np.asarray(dxs), dh0)


@pytest.mark.parametrize("network", grid.plan(), ids=lambda n: n.id)
def test_grid_network_matches_twin(network):
    """The loss and every gradient (parameters, xs, h0) on each of the network's data draws."""
    float32 = network.dtype == "float32"
    rtol, atol = (RTOL32, ATOL32) if float32 else (RTOL, ATOL)
    for k in range(grid.DRAWS):
        a = draw(network, k)
        result = mr.loss_and_grad(network.spec, a["params"], a["xs"], a["targets"], network.loss,
                                  a["h0"], a["lengths"], a["masks"], a["loss_mask"],
                                  network.checkpoint_every or None, full=True)
        mine = as_dict(result.grads, result.dxs, result.dh0)
        assert all(g.dtype == np.dtype(network.dtype) for g in mine.values())
        value, expected = twin(network, a)
        what = f"{network.id} draw {k}: "
        assert_allclose(result.loss, value, rtol=rtol, atol=atol, err_msg=what + "loss")
        assert_dicts_close(mine, expected, rtol, atol, what, scale_atol=True)
        grid.record("grid", network.id, {**network.factors(), "spec": repr(network.spec)})


def test_the_plan_covers_every_combination_and_the_minimum_counts():
    networks = grid.plan()
    factors = [n.factors() for n in networks]
    assert grid.missing(factors) == []
    f64 = [n for n in networks if n.dtype == "float64"]
    assert len(f64) * grid.DRAWS >= grid.MIN_CASES
    assert len({n.spec for n in f64}) >= grid.MIN_NETWORKS
    assert sum(n.T >= 2 for n in networks) >= 0.9 * len(networks)
    assert len({n.id for n in networks}) == len(networks)
    assert [n.id for n in grid.plan()] == [n.id for n in networks]          # deterministic
    # every gap is reported
    assert ("core", "gru", "1", 1, False, True, "mse") in grid.missing(
        [f for f in factors if grid.core_of(f) != ("gru", "1", 1, False, True, "mse")])
    assert ("reset_after", False, "gru") in grid.missing(
        [f for f in factors if f["reset_after"]])


# ---- Hypothesis on top ------------------------------------------------------------------------

def case_factors(case):
    spec = case.spec
    return {"cell": spec.cell, "layers": "1" if spec.num_layers == 1 else "2+",
            "directions": spec.num_directions, "lengths": case.with_lengths, "bias": spec.bias,
            "loss": case.loss, "layout": ("unbatched" if case.unbatched else
                                          "batch_first" if spec.batch_first else "time_major"),
            "h0": case.with_h0, "head": spec.has_head, "dtype": "float64",
            "dropout": spec.dropout if case.with_dropout else 0.0, "loss_mask": False,
            "checkpoint_every": False, "gain": "double", "projection": spec.proj_size > 0,
            "nonlinearity": spec.nonlinearity, "reset_after": spec.reset_after,
            "T>=2": case.T >= 2, "spec": repr(spec)}


@settings(max_examples=examples(2))
@given(cases())
def test_loss_and_every_gradient_match_twin(case):
    a = case.arrays()
    note(f"lengths={a['lengths']}")
    args = (case.spec, a["params"], a["xs"], a["targets"], case.loss, a["h0"], a["lengths"],
            a["masks"])
    value, grads, dxs, dh0 = mr.loss_and_grad(*args, full=True)[:4]
    ref_value, ref_grads, ref_dxs, ref_dh0 = ref.loss_and_grads(*args)
    assert_allclose(value, ref_value, rtol=RTOL, atol=ATOL)
    assert_dicts_close(as_dict(grads, dxs, dh0), as_dict(ref_grads, ref_dxs, ref_dh0),
                       RTOL, ATOL, scale_atol=True)
    grid.record("hypothesis", "", case_factors(case))


@settings(max_examples=examples(3))
@given(cases())
def test_forward_and_backward_match_twin_vjp(case):
    """backward(dys, dstate) is the vector-Jacobian product of forward, state gradient included."""
    a = case.arrays()
    spec, params, xs, lengths = case.spec, a["params"], a["xs"], a["lengths"]
    ys, state, cache = mr.forward(spec, params, xs, a["h0"], lengths, a["masks"])
    h0 = a["h0"]
    if h0 is None:
        zeros = tuple(np.zeros_like(s) for s in (state if isinstance(state, tuple) else (state,)))
        h0 = zeros if spec.cell == "lstm" else zeros[0]

    @jax.jit   # forward and its transpose as one compiled program: half the compile time
    def twin_vjp(p, x, h, cotangents):
        outputs, vjp = jax.vjp(lambda p, x, h: ref.forward(spec, p, x, h, lengths, a["masks"]),
                               p, x, h)
        return outputs, vjp(cotangents)

    (ref_ys, ref_state), (ref_grads, ref_dxs, ref_dh0) = twin_vjp(params, xs, h0,
                                                                  (a["dys"], a["dstate"]))
    assert_allclose(ys, ref_ys, rtol=RTOL, atol=ATOL, err_msg="ys", scale_atol=True)
    as_parts = lambda s: dict(enumerate(s)) if isinstance(s, tuple) else {0: s}
    assert_dicts_close(as_parts(state), as_parts(tuple(ref_state) if spec.cell == "lstm"
                                                 else ref_state), RTOL, ATOL, "state ",
                       scale_atol=True)
    grads, dxs, dh0 = mr.backward(spec, params, cache, a["dys"], a["dstate"])
    assert_dicts_close(as_dict(grads, dxs, dh0), as_dict(ref_grads, ref_dxs, tuple(ref_dh0)
                       if isinstance(ref_dh0, (tuple, list)) else ref_dh0), RTOL, ATOL,
                       scale_atol=True)
    grid.record("hypothesis", "", case_factors(case))
