"""The twin's headless networks, its textbook GRU and its float64 against PyTorch (float64).

Headless networks (output_size=None) output the top layer's hidden states: outputs, final states
and gradients must equal nn.RNN / nn.LSTM / nn.GRU and autograd. The textbook GRU
(reset_after=False) has no PyTorch module, so it is checked against a short PyTorch version of
its equations written here, run sequence by sequence over each one's own length (what packed
sequences mean); that same code with reset_after=True must equal nn.GRU, which checks the code
itself. Parameters are drawn here (np.random.default_rng) under PyTorch's state_dict names and
handed to its modules as they are (torch.func.functional_call), so autograd's gradients land on
them; nothing of manual_rnn but its Spec is used.
"""
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from helpers import ground_truth

torch = ground_truth("torch", "the twin's new variants against PyTorch")
jax = ground_truth("jax", "the JAX twin")
from hypothesis import given, settings, strategies as st  # noqa: E402
from torch.func import functional_call  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

import manual_rnn_reference as ref  # noqa: E402
from manual_rnn.spec import Spec  # noqa: E402

TOL64 = dict(rtol=1e-10, atol=1e-12)
TORCH_CELLS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
# Every example compiles new XLA programs, which dominates the suite's time, so these tests
# draw a sixth of the examples of the profile that tests/conftest.py loads (dev or thorough):
# the twin's bulk comparisons with the manual code are in test_vs_jax.py.
TWIN_EXAMPLES = max(3, settings.default.max_examples // 6)


@pytest.fixture(autouse=True, scope="module")
def x64():
    """The twin's forward is plain JAX: float64 needs 64-bit types, enabled for this module only."""
    with jax.enable_x64(True):
        yield


# ---- random problems ----------------------------------------------------------------------------

SCALES = st.sampled_from([None, 2.0])  # None: U(±1/sqrt(H)) as PyTorch draws; 2.0: saturating


@st.composite
def specs(draw, cells=("rnn", "lstm", "gru"), reset_after=True, head=False):
    cell = draw(st.sampled_from(cells))
    hidden = draw(st.integers(1, 4))
    return Spec(
        cell, input_size=draw(st.integers(1, 3)), hidden_size=hidden,
        output_size=draw(st.integers(1, 3)) if head and draw(st.booleans()) else None,
        num_layers=draw(st.integers(1, 3)), bidirectional=draw(st.booleans()),
        nonlinearity=draw(st.sampled_from(["tanh", "relu"])) if cell == "rnn" else "tanh",
        bias=draw(st.booleans()), batch_first=draw(st.booleans()),
        proj_size=draw(st.integers(0, hidden - 1)) if cell == "lstm" else 0,
        reset_after=reset_after if cell == "gru" else True)


problems = dict(T=st.integers(1, 5), B=st.one_of(st.none(), st.integers(1, 3)),
                with_h0=st.booleans(), with_lengths=st.booleans(),
                loss=st.sampled_from(["mse", "cross_entropy"]), scale=SCALES,
                seed=st.integers(0, 2**16))


def make_inputs(spec, rng, T, B, with_h0, with_lengths):
    """xs, h0, lengths in the spec's layout; B=None means unbatched (and no lengths)."""
    batch = () if B is None else (B,)
    xs = rng.normal(size=(B, T, spec.input_size) if B and spec.batch_first
                    else (T, *batch, spec.input_size))
    h0 = lengths = None
    if with_h0:
        LD = spec.num_layers * spec.num_directions
        h0 = rng.normal(size=(LD, *batch, spec.state_size))
        if spec.cell == "lstm":
            h0 = (h0, rng.normal(size=(LD, *batch, spec.hidden_size)))
    if with_lengths and B is not None:
        lengths = rng.integers(1, T + 1, size=B)
        lengths[rng.integers(B)] = T  # pad_packed_sequence's width is the longest sequence
    return xs, h0, lengths


def draw_params(spec, seed, scale):
    """Every parameter of the spec's PyTorch module (names and shapes from its state_dict) and
    of its head: uniform in ±scale, or if scale is None in ±1/sqrt(H) (±1/sqrt(fan_in) for the
    head), as PyTorch draws them."""
    rng = np.random.default_rng(seed)
    shapes = {k: v.shape for k, v in torch_rnn(spec).state_dict().items()}
    if spec.has_head:
        width = spec.num_directions * spec.state_size
        shapes |= {"head.weight": (spec.output_size, width), "head.bias": (spec.output_size,)}
    params = {}
    for name, shape in shapes.items():
        bound = scale or 1 / np.sqrt(shape[-1] if name.startswith("head.") else spec.hidden_size)
        params[name] = rng.uniform(-bound, bound, size=shape)
    return params


def zero_h0(spec, B):
    batch = () if B is None else (B,)
    h = np.zeros((spec.num_layers * spec.num_directions, *batch, spec.state_size))
    return (h, np.zeros((*h.shape[:-1], spec.hidden_size))) if spec.cell == "lstm" else h


# ---- PyTorch side -------------------------------------------------------------------------------

def torch_rnn(spec):
    kwargs = dict(input_size=spec.input_size, hidden_size=spec.hidden_size,
                  num_layers=spec.num_layers, bias=spec.bias, batch_first=spec.batch_first,
                  bidirectional=spec.bidirectional)
    if spec.cell == "rnn":
        kwargs["nonlinearity"] = spec.nonlinearity
    if spec.proj_size:
        kwargs["proj_size"] = spec.proj_size
    return TORCH_CELLS[spec.cell](**kwargs).double()


def nn_module(spec):
    """run_torch through PyTorch's own module, called with the params as its parameters, through
    packed sequences when lengths are given."""
    def run(params_t, xs_t, h0_t, lengths):
        rnn = torch_rnn(spec)
        weights = {k: v for k, v in params_t.items() if not k.startswith("head.")}
        if lengths is None:
            out, state = functional_call(rnn, weights, (xs_t, h0_t))
        else:
            packed = pack_padded_sequence(xs_t, torch.as_tensor(lengths),
                                          batch_first=spec.batch_first, enforce_sorted=False)
            out, state = functional_call(rnn, weights, (packed, h0_t))
            out, _ = pad_packed_sequence(out, batch_first=spec.batch_first,
                                         total_length=xs_t.shape[1 if spec.batch_first else 0])
        return read_out(spec, params_t, out, lengths), state
    return run


def read_out(spec, params_t, out, lengths):
    """The head, if any; padded steps read out 0."""
    if not spec.has_head:
        return out
    ys = out @ params_t["head.weight"].T + params_t["head.bias"]
    if lengths is not None:
        ys = ys * valid_mask(spec, lengths, out.shape[1 if spec.batch_first else 0])[..., None]
    return ys


def valid_mask(spec, lengths, T):
    """(T, B) or (B, T) float mask of the steps that exist."""
    mask = (torch.arange(T)[:, None] < torch.as_tensor(lengths)[None, :]).double()
    return mask.T if spec.batch_first else mask


def torch_loss(spec, ys, targets, lengths, loss, loss_mask=None):
    """The twin's loss written in PyTorch: (1/B) * sum over valid steps (where loss_mask is 1)."""
    B = 1 if ys.dim() == 2 else ys.shape[0 if spec.batch_first else 1]
    if loss == "mse":
        per_step = 0.5 * ((ys - targets) ** 2).sum(-1)
    else:
        per_step = -torch.log_softmax(ys, dim=-1).gather(-1, targets[..., None]).squeeze(-1)
    if lengths is not None:
        per_step = per_step * valid_mask(spec, lengths, ys.shape[1 if spec.batch_first else 0])
    if loss_mask is not None:
        per_step = per_step * loss_mask
    return per_step.sum() / B


def to_torch(a, requires_grad=False):
    if isinstance(a, tuple):
        return tuple(to_torch(x, requires_grad) for x in a)
    return torch.tensor(a, requires_grad=requires_grad)


# ---- a GRU written out in PyTorch, both variants ------------------------------------------------

def gru_cell(x, h, w_ih, w_hh, b_ih, b_hh, reset_after):
    x_r, x_z, x_n = (x @ w_ih.T + b_ih).chunk(3, -1)
    w_hr, w_hz, w_hn = w_hh.chunk(3)
    b_hr, b_hz, b_hn = b_hh.chunk(3)
    r = torch.sigmoid(x_r + h @ w_hr.T + b_hr)
    z = torch.sigmoid(x_z + h @ w_hz.T + b_hz)
    if reset_after:
        n = torch.tanh(x_n + r * (h @ w_hn.T + b_hn))
    else:
        n = torch.tanh(x_n + (r * h) @ w_hn.T + b_hn)
    return (1 - z) * n + z * h


def written_out_gru(spec):
    """run_torch for the GRU of the spec, every sequence alone over its own steps."""
    L, D, H = spec.num_layers, spec.num_directions, spec.hidden_size

    def run(params_t, xs_t, h0_t, lengths):
        unbatched = xs_t.dim() == 2
        xs = xs_t[:, None] if unbatched else xs_t.transpose(0, 1) if spec.batch_first else xs_t
        h0 = h0_t[:, None] if unbatched else h0_t
        T, B = xs.shape[:2]
        outs, finals = [], []
        for b in range(B):
            inputs = xs[:(T if lengths is None else lengths[b]), b]
            finals_b = []
            for k in range(L):
                directions = []
                for d, suffix in enumerate(["", "_reverse"][:D]):
                    def p(kind):  # bias_* are absent with bias=False
                        return params_t.get(f"{kind}_l{k}{suffix}", xs.new_zeros(3 * H))
                    h, out = h0[k * D + d, b], [None] * len(inputs)
                    for t in range(len(inputs))[::-1] if d else range(len(inputs)):
                        h = out[t] = gru_cell(inputs[t], h, p("weight_ih"), p("weight_hh"),
                                              p("bias_ih"), p("bias_hh"), spec.reset_after)
                    directions.append(torch.stack(out))
                    finals_b.append(h)
                inputs = torch.cat(directions, -1)
            outs.append(torch.cat([inputs, inputs.new_zeros(T - len(inputs), D * H)]))
            finals.append(torch.stack(finals_b))
        out, h_n = torch.stack(outs, 1), torch.stack(finals, 1)
        out = out[:, 0] if unbatched else out.transpose(0, 1) if spec.batch_first else out
        return read_out(spec, params_t, out, lengths), (h_n[:, 0] if unbatched else h_n)
    return run


# ---- the check: twin against a PyTorch function and its autograd -------------------------------

def assert_close(actual, expected, what):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} vs {expected.shape}"
    assert np.all(np.isfinite(actual)) and np.all(np.isfinite(expected)), what
    np.testing.assert_allclose(actual, expected, **TOL64, err_msg=what)


def check_twin(spec, params, run_torch, T, B, with_h0, with_lengths, loss, seed):
    """ref.forward and ref.loss_and_grads against run_torch(params_t, xs_t, h0_t, lengths) ->
    (ys_t, state_t) and autograd of torch_loss w.r.t. every parameter, xs and h0 (zeros if none).
    Padded steps hold NaN in xs and targets: they must not matter."""
    rng = np.random.default_rng(seed + 1)
    xs, h0, lengths = make_inputs(spec, rng, T, B, with_h0, with_lengths)
    width = spec.output_features
    ys_shape = (*xs.shape[:-1], width)
    targets = (rng.normal(size=ys_shape) if loss == "mse"
               else rng.integers(0, width, size=ys_shape[:-1]))
    if lengths is not None:
        pad = ~valid_mask(spec, lengths, T).numpy().astype(bool)
        xs[pad] = np.nan
        targets[pad] = np.nan if loss == "mse" else -7

    ys, state = ref.forward(spec, params, xs, h0, lengths)
    value, dparams, dxs, dh0 = ref.loss_and_grads(spec, params, xs, targets, loss, h0, lengths)

    params_t = {k: to_torch(v, True) for k, v in params.items()}
    xs_t = to_torch(np.nan_to_num(xs), True)
    h0_t = to_torch(zero_h0(spec, B) if h0 is None else h0, True)
    ys_t, state_t = run_torch(params_t, xs_t, h0_t, lengths)
    targets_t = torch.from_numpy(np.nan_to_num(targets) if loss == "mse"
                                 else np.maximum(targets, 0))
    value_t = torch_loss(spec, ys_t, targets_t, lengths, loss)
    value_t.backward()

    assert_close(ys, ys_t.detach(), "ys")
    if lengths is not None:  # padded steps output exactly 0, as pad_packed_sequence gives
        assert np.all(np.asarray(ys)[pad] == 0)
    assert len(jax.tree.leaves(state)) == len(jax.tree.leaves(state_t))  # (h_n, c_n) or h_n
    for i, (s, s_t) in enumerate(zip(jax.tree.leaves(state), jax.tree.leaves(state_t))):
        assert_close(s, s_t.detach(), f"state[{i}]")
    assert_close(value, value_t.detach(), "loss")
    assert set(dparams) == set(params_t)
    for name, p in params_t.items():
        assert_close(dparams[name], p.grad, name)
    assert_close(dxs, xs_t.grad, "xs")
    assert len(jax.tree.leaves(dh0)) == len(jax.tree.leaves(h0_t))
    for i, (d, h) in enumerate(zip(jax.tree.leaves(dh0), jax.tree.leaves(h0_t))):
        assert_close(d, h.grad, f"h0[{i}]")


# ---- tests --------------------------------------------------------------------------------------

@settings(max_examples=TWIN_EXAMPLES)
@given(spec=specs(), **problems)
def test_headless_network_matches_torch(spec, T, B, with_h0, with_lengths, loss, scale, seed):
    """Outputs are the top layer's h_t (D * P features), the losses read them unchanged."""
    params = draw_params(spec, seed, scale)
    check_twin(spec, params, nn_module(spec), T, B, with_h0, with_lengths, loss, seed)


@settings(max_examples=TWIN_EXAMPLES)
@given(spec=specs(cells=["gru"], reset_after=False, head=True), **problems)
def test_textbook_gru_matches_written_out_torch(spec, T, B, with_h0, with_lengths, loss, scale,
                                                seed):
    """reset_after=False: n = tanh(W_in x + b_in + W_hn (r * h) + b_hn)."""
    params = draw_params(spec, seed, scale)
    check_twin(spec, params, written_out_gru(spec), T, B, with_h0, with_lengths, loss, seed)


@settings(max_examples=TWIN_EXAMPLES // 3)  # the first test draws nn.GRU too
@given(spec=specs(cells=["gru"], reset_after=True, head=True), **problems)
def test_pytorch_gru_still_matches_nn_gru(spec, T, B, with_h0, with_lengths, loss, scale, seed):
    """reset_after=True is nn.GRU; so is the written-out GRU, the textbook test's reference."""
    params = draw_params(spec, seed, scale)
    check_twin(spec, params, nn_module(spec), T, B, with_h0, with_lengths, loss, seed)
    xs, h0, lengths = make_inputs(spec, np.random.default_rng(seed), T, B, True, with_lengths)
    params_t = {k: to_torch(v) for k, v in params.items()}
    with torch.no_grad():
        expected = nn_module(spec)(params_t, to_torch(xs), to_torch(h0), lengths)
        written = written_out_gru(spec)(params_t, to_torch(xs), to_torch(h0), lengths)
    for a, e, what in zip(written, expected, ["ys", "h_n"]):
        assert_close(a, e, what)


def test_reset_after_changes_the_gru():
    """The two variants differ (so neither side can ignore the flag and pass)."""
    pytorch = Spec("gru", 2, 3, None, num_layers=2, bidirectional=True)
    textbook = Spec("gru", 2, 3, None, num_layers=2, bidirectional=True, reset_after=False)
    params = draw_params(pytorch, 0, 2.0)
    xs = np.random.default_rng(1).normal(size=(5, 2, 2))
    ys, _ = ref.forward(pytorch, params, xs)
    ys_textbook, _ = ref.forward(textbook, params, xs)
    assert np.max(np.abs(np.asarray(ys) - np.asarray(ys_textbook))) > 1e-2
    with torch.no_grad():
        written, _ = written_out_gru(textbook)({k: to_torch(v) for k, v in params.items()},
                                               to_torch(xs), to_torch(zero_h0(textbook, 2)), None)
    assert_close(ys_textbook, written, "ys")


def test_loss_and_grads_is_float64_without_enabling_x64_globally():
    """In a fresh interpreter (x64 off, as JAX starts): float64 in, float64 out, accurate to
    float64 (float32 would be off by ~1e-7), and JAX's setting is still off afterwards."""
    script = textwrap.dedent("""
        import jax, jax.numpy as jnp, numpy as np, torch
        import manual_rnn_reference as ref
        from manual_rnn.spec import Spec

        assert not jax.config.jax_enable_x64
        spec = Spec("lstm", 2, 3, None, num_layers=2, bidirectional=True)
        rnn = torch.nn.LSTM(2, 3, 2, bidirectional=True).double()
        rng = np.random.default_rng(0)
        params = {k: rng.uniform(-1, 1, v.shape) for k, v in rnn.state_dict().items()}
        rnn.load_state_dict({k: torch.from_numpy(v) for k, v in params.items()})
        xs, targets = rng.normal(size=(4, 2, 2)), rng.normal(size=(4, 2, 6))

        value, dparams, dxs, dh0 = ref.loss_and_grads(spec, params, xs, targets)

        assert not jax.config.jax_enable_x64
        assert jnp.asarray(np.zeros(1)).dtype == np.float32  # the setting really is off
        xs_t = torch.tensor(xs, requires_grad=True)
        value_t = 0.5 * ((rnn(xs_t)[0] - torch.from_numpy(targets)) ** 2).sum() / 2
        value_t.backward()
        assert all(np.asarray(a).dtype == np.float64 for a in [value, dxs, *dparams.values(), *dh0])
        grads_t = {k: p.grad.numpy() for k, p in rnn.named_parameters()}
        assert set(dparams) == set(grads_t)
        pairs = [(value, value_t.item()), (dxs, xs_t.grad.numpy())]
        for a, e in pairs + [(dparams[k], g) for k, g in grads_t.items()]:
            assert np.all(np.isfinite(a)) and np.all(np.isfinite(e))
            np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-12)
        print("ok")
    """)
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, timeout=300)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr


# ---- loss_mask: which valid steps the loss counts -----------------------------------------------

# One small network per cell and layout, and one T and B, so that each case compiles one program.
MASK_T, MASK_B = 4, 3


def mask_spec(cell, batch_first):
    return Spec(cell, 2, 3, 4, bidirectional=True, batch_first=batch_first,
                proj_size=2 if cell == "lstm" else 0)


# Any real dtype, or bool, may hold the 0/1 mask; one per cell. The tests of all ones and all
# zeros below take their cell's dtype and a shape drawn here too, to reuse its compiled program.
MASK_DTYPES = {"rnn": bool, "lstm": np.float64, "gru": np.int32}


def masked_problem(cell, layout, with_lengths, loss, seed=0):
    """spec, params, xs, h0, lengths, targets and a random 0/1 loss_mask (the cell's dtype).
    Targets are NaN (mse) or out of range (cross_entropy) wherever a step does not count, and xs
    is NaN at padded steps: none of it may reach the value or a gradient."""
    spec = mask_spec(cell, layout == "batch_first")
    B = None if layout == "unbatched" else MASK_B
    params = draw_params(spec, seed, None)
    rng = np.random.default_rng(seed + 1)
    xs, h0, lengths = make_inputs(spec, rng, MASK_T, B, True, with_lengths)
    loss_mask = rng.integers(0, 2, size=xs.shape[:-1]).astype(MASK_DTYPES[cell])
    width = spec.output_features
    targets = (rng.normal(size=(*xs.shape[:-1], width)) if loss == "mse"
               else rng.integers(0, width, size=xs.shape[:-1]))
    counts = loss_mask != 0
    if lengths is not None:
        valid = valid_mask(spec, lengths, MASK_T).numpy().astype(bool)
        xs[~valid] = np.nan
        counts &= valid
    if loss == "mse":
        targets[~counts] = np.nan
    else:
        targets[~counts] = rng.choice([-1, 999], size=int((~counts).sum()))
    return spec, params, xs, h0, lengths, targets, loss_mask


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize("layout, with_lengths", [("unbatched", False), ("time_major", False),
                                                  ("time_major", True), ("batch_first", False),
                                                  ("batch_first", True)])
@pytest.mark.parametrize("cell", list(TORCH_CELLS))
def test_loss_mask_matches_torch(cell, layout, with_lengths, loss):
    """The loss and its gradients (params, xs, h0) with a loss_mask equal PyTorch's module, its
    head and the per-step losses times the mask and the validity mask, summed, over B."""
    spec, params, xs, h0, lengths, targets, loss_mask = masked_problem(cell, layout, with_lengths,
                                                                       loss)
    value, dparams, dxs, dh0 = ref.loss_and_grads(spec, params, xs, targets, loss, h0, lengths,
                                                  loss_mask=loss_mask)

    params_t = {k: to_torch(v, True) for k, v in params.items()}
    xs_t, h0_t = to_torch(np.nan_to_num(xs), True), to_torch(h0, True)
    ys_t, _ = nn_module(spec)(params_t, xs_t, h0_t, lengths)
    # Targets where a step does not count are replaced by harmless ones: the mask zeroes them.
    targets_t = torch.from_numpy(np.nan_to_num(targets) if loss == "mse"
                                 else np.where((targets >= 0) & (targets < spec.output_features),
                                               targets, 0))
    value_t = torch_loss(spec, ys_t, targets_t, lengths, loss, torch.from_numpy(loss_mask))
    value_t.backward()

    assert_close(value, value_t.detach(), "loss")
    assert set(dparams) == set(params_t)
    for name, p in params_t.items():
        assert_close(dparams[name], p.grad, name)
    assert_close(dxs, xs_t.grad, "xs")
    for i, (d, h) in enumerate(zip(jax.tree.leaves(dh0), jax.tree.leaves(h0_t))):
        assert_close(d, h.grad, f"h0[{i}]")


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_loss_mask_of_ones_is_no_mask(loss):
    """All ones counts every valid step: loss_mask=None's numbers. Not bit for bit: the mask is
    an input of a different XLA program, whose fusions may round exp/log differently (by 1 ulp
    in cross_entropy's gradients), so rtol is 1e-14, still 1e4 x tighter than TOL64's."""
    spec, params, xs, h0, lengths, targets, loss_mask = masked_problem(
        "lstm", "batch_first", True, loss)
    valid = valid_mask(spec, lengths, MASK_T).numpy().astype(bool)
    targets[valid & (loss_mask == 0)] = 0  # valid steps get real targets: they all count now
    ones = np.ones_like(loss_mask)
    masked = ref.loss_and_grads(spec, params, xs, targets, loss, h0, lengths, loss_mask=ones)
    unmasked = ref.loss_and_grads(spec, params, xs, targets, loss, h0, lengths)
    assert masked[0] != ref.loss_and_grads(spec, params, xs, targets, loss, h0, lengths,
                                           loss_mask=loss_mask)[0]  # the mask does something
    for a, e in zip(jax.tree.leaves(masked), jax.tree.leaves(unmasked)):
        assert np.all(np.isfinite(a))
        np.testing.assert_allclose(a, e, rtol=1e-14, atol=1e-16)


def test_loss_mask_of_zeros_counts_nothing():
    """No step counts: the loss is 0 and every gradient is 0, even with every target NaN."""
    spec, params, xs, h0, _, targets, loss_mask = masked_problem("gru", "time_major", False, "mse")
    targets[:] = np.nan
    value, dparams, dxs, dh0 = ref.loss_and_grads(spec, params, xs, targets, "mse", h0,
                                                  loss_mask=np.zeros_like(loss_mask))
    assert value == 0
    for g in [dxs, *dparams.values(), *jax.tree.leaves(dh0)]:
        np.testing.assert_array_equal(g, 0)


@pytest.mark.parametrize("layout, shape", [("time_major", (MASK_B, MASK_T)),
                                           ("batch_first", (MASK_T, MASK_B)),
                                           ("time_major", (MASK_T, MASK_B, 1)),
                                           ("unbatched", (MASK_T, 1))])
def test_loss_mask_of_wrong_shape_is_refused(layout, shape):
    """The shape is xs's without its feature axis; anything else is an error naming both."""
    spec, params, xs, h0, _, targets, _ = masked_problem("rnn", layout, False, "mse")
    match = f"loss_mask.*{re.escape(str(xs.shape[:-1]))}.*{re.escape(str(shape))}"
    with pytest.raises(ValueError, match=match):
        ref.loss_and_grads(spec, params, xs, targets, "mse", h0, loss_mask=np.ones(shape))
    with pytest.raises(ValueError, match=match):
        ref.loss(spec, params, xs, targets, loss_mask=np.ones(shape))
