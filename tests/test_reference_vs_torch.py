"""The JAX twin (`reference`) against PyTorch's nn.RNN / nn.LSTM / nn.GRU + nn.Linear.

PyTorch is the ground truth for the semantics (gate order, projection, packed sequences, state
layout); once the twin matches it, jax.grad of the twin can stand in for the truth when checking
manual_rnn's hand-written backward pass.
"""
import numpy as np
import pytest

from helpers import assert_allclose, ground_truth

torch = ground_truth("torch", "the checks of the twin against PyTorch")
jax = ground_truth("jax", "the checks of the twin against PyTorch")
ref = ground_truth("manual_rnn_reference", "the checks of the twin against PyTorch")

from hypothesis import given, settings, strategies as st  # noqa: E402

from conftest import examples  # noqa: E402
from manual_rnn.spec import Spec, init_params  # noqa: E402
from pytorch_models import (assert_state_close, make_inputs, run_rnn, specs,  # noqa: E402
                            to_torch, torch_forward, torch_loss, torch_model, torch_rnn,
                            valid_mask)

TOL64 = dict(rtol=1e-10, atol=1e-12)


@pytest.fixture(autouse=True)
def float64_jax():
    """The twin's forward and loss compute in JAX's precision of the moment: float64 here,
    for each test only (jax.enable_x64 is a context), never by flipping the global flag."""
    with jax.enable_x64(True):
        yield

# ---- forward ------------------------------------------------------------------------------------

@settings(max_examples=examples(4), deadline=None)
@given(spec=specs(), T=st.integers(1, 5), B=st.one_of(st.none(), st.integers(1, 3)),
       with_h0=st.booleans(), with_lengths=st.booleans(), seed=st.integers(0, 2**16))
def test_forward_matches_torch(spec, T, B, with_h0, with_lengths, seed):
    rnn, head, params = torch_model(spec, seed)
    xs, h0, lengths = make_inputs(spec, np.random.default_rng(seed), T, B, with_h0, with_lengths)

    ys, state = ref.forward(spec, params, xs, h0, lengths)
    with torch.no_grad():
        ys_t, state_t = torch_forward(spec, rnn, head, to_torch(xs), to_torch(h0), lengths)

    assert ys.shape == ys_t.shape
    assert_allclose(np.asarray(ys), ys_t.numpy(), **TOL64)
    assert_state_close(state, state_t, **TOL64)
    if lengths is not None:  # padded steps read out exactly zero
        pad = ~valid_mask(spec, lengths, T).numpy().astype(bool)
        assert np.all(np.asarray(ys)[pad] == 0)


@pytest.mark.parametrize("spec", [
    Spec("rnn", 3, 4, 2, num_layers=3, bidirectional=True, nonlinearity="relu", batch_first=True),
    Spec("lstm", 3, 5, 2, num_layers=3, bidirectional=True, proj_size=3, bias=False),
    Spec("gru", 2, 4, 3, num_layers=3, bidirectional=True, batch_first=True),
], ids=lambda s: s.cell)
def test_deep_packed_bidirectional_with_dropout_masks(spec):
    """Dropout masks multiply each upper layer's input: checked against a stack of one-layer
    PyTorch modules with the masks applied by hand, on the hardest combination of every cell
    (3 layers, both directions, packed sequences, h0) rather than leaving it to Hypothesis."""
    params = init_params(spec, seed=3)
    rng = np.random.default_rng(4)
    T, B, D = 6, 4, spec.num_directions
    xs, h0, _ = make_inputs(spec, rng, T, B, True, False)
    lengths = np.array([6, 1, 4, 3])
    width = D * spec.state_size
    shape = (B, T, width) if spec.batch_first else (T, B, width)
    masks = [rng.binomial(1, 0.5, size=shape) / 0.5 for _ in range(spec.num_layers - 1)]

    inputs, finals = to_torch(xs), []
    with torch.no_grad():
        for k in range(spec.num_layers):
            if k > 0:
                inputs = inputs * torch.from_numpy(masks[k - 1])
            layer = torch_rnn(spec, num_layers=1, input_size=spec.layer_input_size(k))
            layer.load_state_dict({
                name.replace(f"_l{k}", "_l0"): torch.from_numpy(value)
                for name, value in params.items()
                if name.endswith(f"_l{k}") or name.endswith(f"_l{k}_reverse")})
            h0_k = jax.tree.map(lambda s: to_torch(s[k * D:(k + 1) * D]), h0)
            inputs, state = run_rnn(spec, layer, inputs, h0_k, lengths)
            finals.append(state if spec.cell == "lstm" else (state,))
        head = torch.nn.Linear(width, spec.output_size).double()
        head.load_state_dict({"weight": torch.from_numpy(params["head.weight"]),
                              "bias": torch.from_numpy(params["head.bias"])})
        ys_t = head(inputs) * valid_mask(spec, lengths, T)[..., None]
    state_t = tuple(torch.cat(parts) for parts in zip(*finals))

    ys, state = ref.forward(spec, params, xs, h0, lengths, masks)
    assert_allclose(np.asarray(ys), ys_t.numpy(), **TOL64)
    assert_state_close(state, state_t if spec.cell == "lstm" else state_t[0], **TOL64)


def test_float32_matches_torch_float64_within_float32_rounding():
    """Twin in float32 against PyTorch in float64 on the same (float32-rounded) weights.

    Every float32 op rounds at about 6e-8 relative; through 3 layers x 6 steps of saturating
    tanh/sigmoid cells (which do not amplify errors) with O(1) values the observed error is ~1e-7.
    1e-5 leaves 100x margin for other platforms' summation orders and is still far below what a
    semantic bug (wrong gate, wrong step, wrong direction) produces, ~1e-2 or more.
    """
    spec = Spec("lstm", 3, 8, 4, num_layers=3, bidirectional=True, proj_size=5)
    params32 = init_params(spec, seed=5, dtype=np.float32)
    rnn, head, _ = torch_model(spec, 0)
    with torch.no_grad():
        for name, p in list(rnn.named_parameters()) + [("head." + n, p) for n, p in
                                                        head.named_parameters()]:
            p.copy_(torch.from_numpy(params32[name].astype(np.float64)))
    xs, h0, _ = make_inputs(spec, np.random.default_rng(6), 6, 3, True, False, np.float32)
    lengths = np.array([6, 3, 1])

    ys, (h, c) = ref.forward(spec, params32, xs, h0, lengths)
    assert ys.dtype == h.dtype == c.dtype == np.float32
    with torch.no_grad():
        ys_t, state_t = torch_forward(spec, rnn, head, to_torch(xs).double(),
                                      tuple(s.double() for s in to_torch(h0)), lengths)
    assert_allclose(np.asarray(ys), ys_t.numpy(), rtol=1e-5, atol=1e-5)
    assert_state_close((h, c), state_t, rtol=1e-5, atol=1e-5)
    value = jax.eval_shape(lambda p, x: ref.loss(spec, p, x, np.zeros(ys.shape)), params32, xs)
    assert value.dtype == np.float32


# ---- gradients ----------------------------------------------------------------------------------

@pytest.mark.parametrize("spec, loss, B, with_h0, with_lengths", [
    (Spec("lstm", 3, 5, 2, num_layers=2, bidirectional=True, proj_size=3, batch_first=True),
     "mse", 3, False, True),
    (Spec("gru", 2, 4, 5, num_layers=2, bidirectional=True), "cross_entropy", 3, True, True),
    (Spec("rnn", 3, 4, 2, num_layers=3, nonlinearity="relu", bias=False), "mse", 2, True, False),
    (Spec("rnn", 2, 3, 4, bidirectional=True), "cross_entropy", None, True, False),
    (Spec("lstm", 2, 4, 3, bias=False), "mse", None, True, False),
], ids=["lstm-proj-packed-no-h0", "gru-ce-packed", "rnn-relu-3layers", "rnn-unbatched",
        "lstm-unbatched"])
def test_gradients_match_torch_autograd(spec, loss, B, with_h0, with_lengths):
    """ref.loss_and_grads (jax.value_and_grad, jitted) against PyTorch autograd of the same loss,
    w.r.t. every parameter, xs and h0 (an explicit zero state when h0 is None)."""
    rnn, head, params = torch_model(spec, 7)
    rng = np.random.default_rng(8)
    T = 5
    xs, h0, lengths = make_inputs(spec, rng, T, B, with_h0, with_lengths)
    ys_shape = jax.eval_shape(lambda p, x: ref.forward(spec, p, x)[0], params, xs).shape
    if loss == "mse":
        targets = rng.normal(size=ys_shape)
    else:
        targets = rng.integers(0, spec.output_size, size=ys_shape[:-1])
    if lengths is not None:  # padding must not matter, even when it is garbage
        pad = ~valid_mask(spec, lengths, T).numpy().astype(bool)
        targets[pad] = np.nan if loss == "mse" else -7
        xs[pad] = np.nan

    value, dparams, dxs, dh0 = ref.loss_and_grads(spec, params, xs, targets, loss, h0, lengths)

    if h0 is None:
        zero = ref.network.zero_state(spec, () if B is None else (B,), np.float64)
        h0_t = to_torch(jax.tree.map(np.asarray, zero), True)
    else:
        h0_t = to_torch(h0, True)
    xs_t = to_torch(np.nan_to_num(xs), True)
    ys_t, _ = torch_forward(spec, rnn, head, xs_t, h0_t, lengths)
    targets_t = torch.from_numpy(np.nan_to_num(targets) if loss == "mse" else np.maximum(targets, 0))
    value_t = torch_loss(spec, ys_t, targets_t, lengths, loss)
    value_t.backward()

    assert_allclose(value, value_t.item(), **TOL64)
    expected = {n: p.grad for n, p in rnn.named_parameters()}
    expected |= {"head." + n: p.grad for n, p in head.named_parameters()}
    assert set(dparams) == set(params) == set(expected)
    for name, grad in expected.items():
        assert_allclose(dparams[name], grad.numpy(), **TOL64, err_msg=name)
    assert np.all(np.isfinite(dxs))
    assert_allclose(dxs, xs_t.grad.numpy(), **TOL64)
    if spec.cell == "lstm":
        assert isinstance(dh0, tuple) and len(dh0) == 2
    for d, d_t in zip(jax.tree.leaves(dh0), jax.tree.leaves(h0_t)):
        assert_allclose(d, d_t.grad.numpy(), **TOL64)


def test_plain_jax_grad_of_loss_equals_loss_and_grads():
    """The tests of manual_rnn call jax.grad(ref.loss) directly: same numbers."""
    spec = Spec("lstm", 2, 3, 2)
    params = init_params(spec, seed=11)
    rng = np.random.default_rng(12)
    xs, h0, lengths = make_inputs(spec, rng, 4, 2, True, True)
    targets = rng.normal(size=(4, 2, 2))
    _, dparams, dxs, dh0 = ref.loss_and_grads(spec, params, xs, targets, "mse", h0, lengths)
    grads = jax.grad(ref.loss, argnums=(1, 2, 5))(spec, params, xs, targets, "mse", h0, lengths)
    assert jax.tree.structure(grads) == jax.tree.structure((dparams, dxs, dh0))
    for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves((dparams, dxs, dh0))):
        assert_allclose(a, b, **TOL64)
