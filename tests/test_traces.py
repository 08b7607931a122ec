"""Per-step traces name what forward and backward computed at every step, and name it right.

dL/dh_t is checked against finite differences of the loss as a function of h_t: the network is
run up to step t, h_t is perturbed, and the rest of the sequence runs from the perturbed state.
That uses forward passes only, so it shares nothing with the backward pass it checks.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import manual_rnn as mr
from manual_rnn.verify.gradcheck import numerical_gradient
from manual_rnn.verify.traces import gradient_norms, trace


def draw_network(cell, seed, hidden=3, head=True, **options):
    spec = mr.Spec(cell=cell, input_size=2, hidden_size=hidden, output_size=2 if head else None,
                   **options)
    rng = np.random.default_rng(seed)
    params = {k: rng.uniform(-1, 1, size=v.shape) for k, v in mr.init_params(spec).items()}
    return spec, params, rng


def loss_from_step(spec, params, xs, targets, t, state_t):
    """The MSE loss of a one-layer network whose state after step t is state_t: step t's own
    loss term plus the loss of steps t+1.. run from state_t (the losses add over steps)."""
    h_t = state_t[0]
    if spec.has_head:
        y_t = h_t @ params["head.weight"].T + params["head.bias"]
    else:
        y_t = h_t
    total = 0.5 * np.sum((y_t[0] - targets[t]) ** 2) / xs.shape[1]
    if t + 1 < len(xs):
        h0 = tuple(state_t) if len(state_t) == 2 else state_t[0]
        total += mr.loss_and_grad(spec, params, xs[t + 1:], targets[t + 1:], h0=h0)[0]
    return total


@given(cell=st.sampled_from(["rnn", "lstm", "gru"]), seed=st.integers(0, 2**16),
       head=st.booleans(), T=st.integers(2, 6), reset_after=st.booleans())
def test_state_gradients_are_the_loss_derivative_in_each_steps_state(cell, seed, head, T,
                                                                     reset_after):
    options = {"reset_after": reset_after} if cell == "gru" else {}
    spec, params, rng = draw_network(cell, seed, head=head, **options)
    xs = rng.normal(size=(T, 2, 2))
    targets = rng.normal(size=(T, 2, spec.output_features))
    steps = trace(spec, params, xs, targets)
    for t in range(T):
        _, state, _ = mr.forward(spec, params, xs[:t + 1])
        parts = state if isinstance(state, tuple) else (state,)
        names = ["h", "c"][:len(parts)]

        def f(named):
            return loss_from_step(spec, params, xs, targets, t, [named[n] for n in names])

        numeric = numerical_gradient(f, dict(zip(names, parts)))
        for name in names:
            analytic = steps[f"d{name}_l0"][t]
            assert np.all(np.isfinite(analytic)) and np.all(np.isfinite(numeric[name][0]))
            np.testing.assert_allclose(analytic, numeric[name][0], rtol=1e-6, atol=1e-9,
                                       err_msg=f"d{name} at step {t}")


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_states_and_gates_are_the_forward_pass_in_time_order(cell):
    """A headless bidirectional network's outputs are [h, h_reverse] of its top layer; the
    final state is h at each sequence's last step (forward) and at step 0 (reverse)."""
    spec, params, rng = draw_network(cell, 7, head=False, num_layers=2, bidirectional=True)
    xs = rng.normal(size=(5, 3, 2))
    lengths = np.array([5, 2, 4])
    ys, state, _ = mr.forward(spec, params, xs, lengths=lengths)
    steps = trace(spec, params, xs, dys=rng.normal(size=ys.shape), lengths=lengths)
    H = spec.hidden_size
    for b, n in enumerate(lengths):
        np.testing.assert_array_equal(steps["h_l1"][:n, b], ys[:n, b, :H])
        np.testing.assert_array_equal(steps["h_l1_reverse"][:n, b], ys[:n, b, H:])
    h_n = state[0] if isinstance(state, tuple) else state
    b = np.arange(3)
    np.testing.assert_array_equal(steps["h_l0"][lengths - 1, b], h_n[0])
    np.testing.assert_array_equal(steps["h_l0_reverse"][0], h_n[1])
    gates = {"rnn": (), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}[cell]
    for gate in gates:
        value = steps[f"{gate}_l1_reverse"]
        assert value.shape == (5, 3, H)
        low = -1 if gate in ("g", "n") else 0        # tanh gates, the others are sigmoids
        assert np.all((low <= value) & (value <= 1))
    if cell == "lstm":   # h = o * tanh(c), step by step, in both directions
        for name in ("_l0", "_l0_reverse"):
            np.testing.assert_allclose(steps["h" + name],
                                       steps["o" + name] * np.tanh(steps["c" + name]),
                                       rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_last_steps_state_gradient_is_what_reaches_it_from_outside(cell):
    """Nothing comes back from beyond the sequence but dstate: dh at the forward direction's
    last step (and the reverse direction's step 0) is the upstream gradient plus dstate."""
    spec, params, rng = draw_network(cell, 3, head=False, bidirectional=True)
    xs = rng.normal(size=(4, 2, 2))
    dys = rng.normal(size=(4, 2, 2 * spec.hidden_size))
    dstate = mr.zero_state(spec, 2)
    dstate = tuple(rng.normal(size=s.shape) for s in dstate) if isinstance(dstate, tuple) \
        else rng.normal(size=dstate.shape)
    steps = trace(spec, params, xs, dys=dys, dstate=dstate)
    dh_n = dstate[0] if isinstance(dstate, tuple) else dstate
    H = spec.hidden_size
    np.testing.assert_allclose(steps["dh_l0"][-1], dys[-1, :, :H] + dh_n[0], rtol=1e-14)
    np.testing.assert_allclose(steps["dh_l0_reverse"][0], dys[0, :, H:] + dh_n[1], rtol=1e-14)


def test_gradient_norms_show_a_vanishing_elman_gradient():
    """With small recurrent weights, ||dL/dh_t|| falls geometrically from the loss at the end."""
    spec = mr.Spec("rnn", 1, 8, 1)
    params = {k: v * 0.3 for k, v in mr.init_params(spec, seed=0).items()}
    xs = np.random.default_rng(0).normal(size=(30, 1))
    targets = np.zeros((30, 1))
    mask = np.zeros(30)
    mask[-1] = 1                                         # only the last step carries loss
    norms = gradient_norms(trace(spec, params, xs, targets, loss_mask=mask))["l0"]
    assert norms.shape == (30,)
    assert np.all(np.diff(norms) > 0)                    # growing towards the loss
    assert norms[0] < 1e-6 * norms[-1]


def test_trace_needs_exactly_one_source_of_gradient():
    spec, params, rng = draw_network("rnn", 0)
    xs = rng.normal(size=(3, 2))
    with pytest.raises(ValueError, match="either targets .* or dys"):
        trace(spec, params, xs)
    with pytest.raises(ValueError, match="either targets .* or dys"):
        trace(spec, params, xs, np.zeros((3, 2)), dys=np.zeros((3, 2)))
