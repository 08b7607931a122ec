"""Truncated BPTT and the training loop: TBPTT against full BPTT, against windows computed
independently (and against PyTorch's detach idiom), loss going down, determinism, and a
resumed run ending bit-identical to an uninterrupted one."""
from dataclasses import replace

import numpy as np
import pytest

import manual_rnn as mr
from manual_rnn.app import checkpoint, train
from manual_rnn.app.train import Config, tbptt_grads
from helpers import assert_allclose, ground_truth, state_parts

T, B = 11, 3


def problem(cell, loss, layers=2, dropout=0.3, seed=0, batch_first=False, input_size=3,
            output_size=4):
    """A spec, params and a batch with targets, a loss mask and dropout masks."""
    spec = mr.Spec(cell=cell, input_size=input_size, hidden_size=5, output_size=output_size,
                   num_layers=layers, dropout=dropout, batch_first=batch_first)
    params = mr.init_params(spec, seed=seed)
    rng = np.random.default_rng(seed + 100)
    shape = (B, T) if batch_first else (T, B)
    xs = rng.normal(size=shape + (input_size,))
    if loss == "mse":
        targets = rng.normal(size=shape + (output_size,))
    else:
        targets = rng.integers(0, output_size, size=shape)
    loss_mask = (rng.random(shape) < 0.7).astype(float)
    masks = mr.dropout_masks(spec, xs, seed=seed + 7)
    return spec, params, xs, targets, loss_mask, masks


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize("k", [None, T, T + 4])
def test_one_window_is_full_bptt_bit_for_bit(cell, loss, k):
    spec, params, xs, targets, loss_mask, masks = problem(cell, loss)
    value, grads, state = tbptt_grads(spec, params, xs, targets, loss, k, loss_mask=loss_mask,
                                      dropout_masks=masks)
    full_value, full_grads = mr.loss_and_grad(spec, params, xs, targets, loss,
                                              dropout_masks=masks, loss_mask=loss_mask)
    assert value == full_value
    assert list(grads) == list(full_grads)
    for name in full_grads:
        np.testing.assert_array_equal(grads[name], full_grads[name], err_msg=name)
    _, full_state, _ = mr.forward(spec, params, xs, dropout_masks=masks)
    for a, b in zip(state_parts(state), state_parts(full_state)):
        np.testing.assert_array_equal(a, b)


def independent_tbptt(spec, params, xs, targets, loss, k, loss_mask, masks, h0=None):
    """TBPTT written from the public API alone: each window's loss and gradients from
    loss_and_grad started at the carried state, the state carried on by forward."""
    total, grads, state = 0.0, {n: np.zeros_like(p) for n, p in params.items()}, h0
    for start in range(0, xs.shape[0], k):
        w = slice(start, start + k)
        window_masks = None if masks is None else [m[w] for m in masks]
        value, g = mr.loss_and_grad(spec, params, xs[w], targets[w], loss, h0=state,
                                    dropout_masks=window_masks, loss_mask=loss_mask[w])
        total += value
        grads = {n: grads[n] + g[n] for n in grads}
        _, state, _ = mr.forward(spec, params, xs[w], h0=state, dropout_masks=window_masks)
    return total, grads, state


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize("k", [1, 3, 4, T - 1])
def test_windows_equal_independent_windows_with_carried_state(cell, loss, k):
    spec, params, xs, targets, loss_mask, masks = problem(cell, loss, seed=k)
    value, grads, state = tbptt_grads(spec, params, xs, targets, loss, k, loss_mask=loss_mask,
                                      dropout_masks=masks)
    ref_value, ref_grads, ref_state = independent_tbptt(spec, params, xs, targets, loss, k,
                                                        loss_mask, masks)
    assert_allclose(value, ref_value, rtol=1e-12, atol=1e-12)
    for name in ref_grads:
        assert_allclose(grads[name], ref_grads[name], rtol=1e-12, atol=1e-12,
                                   err_msg=name)
    for a, b in zip(state_parts(state), state_parts(ref_state)):
        assert_allclose(a, b, rtol=1e-12, atol=1e-12)

    # The forward pass is the full one (the state is carried), so the loss is the full loss;
    # the gradients are not, since nothing flows back across window boundaries.
    full_value, full_grads = mr.loss_and_grad(spec, params, xs, targets, loss,
                                              dropout_masks=masks, loss_mask=loss_mask)
    assert_allclose(value, full_value, rtol=1e-12)
    assert not np.allclose(grads["weight_hh_l0"], full_grads["weight_hh_l0"], rtol=1e-6)


def test_windows_with_h0_and_batch_first():
    spec, params, xs, targets, loss_mask, masks = problem("lstm", "mse", batch_first=True)
    rng = np.random.default_rng(5)
    h0 = (rng.normal(size=(2, B, 5)), rng.normal(size=(2, B, 5)))
    value, grads, _ = tbptt_grads(spec, params, xs, targets, "mse", 4, h0=h0,
                                  loss_mask=loss_mask, dropout_masks=masks)
    time_major = replace(spec, batch_first=False)
    ref_value, ref_grads, _ = independent_tbptt(
        time_major, params, xs.swapaxes(0, 1), targets.swapaxes(0, 1), "mse", 4,
        loss_mask.swapaxes(0, 1), [m.swapaxes(0, 1) for m in masks], h0=h0)
    assert_allclose(value, ref_value, rtol=1e-12)
    for name in ref_grads:
        assert_allclose(grads[name], ref_grads[name], rtol=1e-12, atol=1e-13)


def test_windows_equal_pytorch_with_detached_state():
    """PyTorch's TBPTT idiom: backward per window, accumulating grads, state.detach()."""
    torch = ground_truth("torch", "the check of truncated BPTT against PyTorch")
    spec, params, xs, targets, _, _ = problem("lstm", "mse", layers=2, dropout=0.0)
    rnn = torch.nn.LSTM(3, 5, num_layers=2).double()
    head = torch.nn.Linear(5, 4).double()
    rnn.load_state_dict({k: torch.from_numpy(v) for k, v in params.items()
                         if not k.startswith("head.")})
    head.load_state_dict({"weight": torch.from_numpy(params["head.weight"]),
                          "bias": torch.from_numpy(params["head.bias"])})
    state, total = None, 0.0
    for start in range(0, T, 4):
        out, state = rnn(torch.from_numpy(xs[start:start + 4]), state)
        diff = head(out) - torch.from_numpy(targets[start:start + 4])
        window_loss = 0.5 * (diff * diff).sum() / B
        window_loss.backward()
        total += window_loss.item()
        state = tuple(s.detach() for s in state)
    value, grads, _ = tbptt_grads(spec, params, xs, targets, "mse", 4)
    assert_allclose(value, total, rtol=1e-12)
    expected = {n: p.grad.numpy() for n, p in rnn.named_parameters()}
    expected |= {"head." + n: p.grad.numpy() for n, p in head.named_parameters()}
    for name, grad in expected.items():
        assert_allclose(grads[name], grad, rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("k, error, message", [
    (0, ValueError, r"k \(the truncation length\) must be >= 1, got 0"),
    (-1, ValueError, r"must be >= 1, got -1"),
    (2.5, TypeError, r"k \(the truncation length\) must be an int, got float 2.5"),
    (True, TypeError, r"must be an int, got bool True")])
def test_bad_truncation_length(k, error, message):
    spec, params, xs, targets, loss_mask, _ = problem("rnn", "mse", layers=1, dropout=0.0)
    with pytest.raises(error, match=message):
        tbptt_grads(spec, params, xs, targets, "mse", k)


# ---- the loop -----------------------------------------------------------------------------------

def test_training_decreases_the_loss_on_the_toy_task():
    config = Config(task="toy", cell="rnn", hidden=3, steps=150, batch=1, eval_every=50,
                    eval_batch=1, lr=0.05)
    state = train.train(config)
    h = state.history
    assert h.eval_step == [0, 50, 100, 150]
    assert h.eval_loss[-1] < h.eval_loss[0] / 20
    assert h.eval_metric[-1] == pytest.approx(h.eval_loss[-1])  # the toy metric is its loss
    assert len(h.train_loss) == 150 and h.train_loss[-1] < h.train_loss[0] / 20


def test_training_decreases_the_loss_on_the_sine_task():
    config = Config(task="sine", seq_len=30, cell="gru", hidden=12, steps=120, batch=16,
                    eval_every=40, eval_batch=64, tbptt=10)
    state = train.train(config)
    h = state.history
    assert h.eval_loss[-1] < h.eval_loss[0] / 10
    zero_mse, repeat_mse = train.build_task(config).baselines()
    assert h.eval_metric[-1] < repeat_mse < zero_mse  # better than both trivial answers
    early, late = np.mean(h.train_loss[:10]), np.mean(h.train_loss[-10:])
    assert late < early / 10


SMALL = Config(task="adding", seq_len=12, cell="gru", hidden=6, layers=2, dropout=0.25,
               tbptt=5, steps=16, batch=4, eval_every=4, eval_batch=8, optimizer="adam",
               lr=0.01)


def assert_states_identical(a, b):
    assert a.step == b.step and a.config == b.config and a.spec == b.spec
    for ours, theirs in ((a.params, b.params), (a.opt_state, b.opt_state)):
        assert list(ours) == list(theirs)
        for name in ours:
            assert ours[name].dtype == theirs[name].dtype
            np.testing.assert_array_equal(ours[name], theirs[name], err_msg=name)
    assert a.rng == b.rng
    assert a.history.upto(a.step) == b.history.upto(b.step)


def test_a_run_is_a_pure_function_of_its_config():
    assert_states_identical(train.train(SMALL), train.train(SMALL))
    other = train.train(replace(SMALL, seed=1))
    assert not np.array_equal(other.params["weight_hh_l0"],
                              train.train(SMALL).params["weight_hh_l0"])


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_resume_from_a_checkpoint_is_bit_identical(tmp_path, optimizer):
    config = replace(SMALL, optimizer=optimizer, lr=0.05)
    straight = train.train(config)
    half = train.train(replace(config, steps=config.steps // 2))
    path = checkpoint.save(tmp_path / "half.npz", half)
    loaded = checkpoint.load(path)
    assert_states_identical(loaded, half)
    resumed = train.train(config, loaded)
    assert_states_identical(resumed, straight)


def test_stopping_the_generator_anywhere_resumes_identically(tmp_path):
    """Pausing mid-run (as Ctrl-C does) at a step that is no evaluation step."""
    straight = train.train(SMALL)
    for state in train.run(SMALL):
        if state.step == 7:
            break
    loaded = checkpoint.load(checkpoint.save(tmp_path / "run.npz", state))
    resumed = train.train(SMALL, loaded)
    assert_states_identical(resumed, straight)
    assert resumed.history.eval_step == [0, 4, 8, 12, 16]


def test_resume_keeps_the_configuration():
    half = train.train(replace(SMALL, steps=8))
    with pytest.raises(ValueError, match=r"lr=0.1 \(saved 0.01\)"):
        train.train(replace(SMALL, lr=0.1), half)
    with pytest.raises(ValueError, match="at step 8, past steps=4"):
        train.train(replace(SMALL, steps=4), half)
    longer = train.train(replace(SMALL, steps=10, eval_every=5), half)  # these may change
    assert longer.step == 10 and longer.history.eval_step == [0, 4, 8, 10]
    same = train.train(replace(SMALL, steps=8), half)  # nothing left to do
    assert same.step == 8


def test_the_char_task_resumes_only_on_the_same_text(tmp_path):
    text = tmp_path / "text.txt"
    text.write_text("the cat sat on the mat. " * 20)
    config = Config(task="char", text=str(text), seq_len=8, cell="rnn", hidden=8, steps=4,
                    batch=2, eval_every=2, eval_batch=4)
    state = train.train(config)
    assert state.vocab == " .acehmnost" and state.data_fingerprint
    text.write_text("the dog sat on the mat. " * 20)
    with pytest.raises(ValueError, match="not the one the saved run was trained on"):
        train.train(replace(config, steps=6), state)


@pytest.mark.parametrize("kwargs, words", [
    (dict(task="maze"), "task must be one of"),
    (dict(optimizer="lbfgs"), "optimizer must be one of"),
    (dict(lr=0.0), "lr must be a finite number > 0"),
    (dict(lr=float("nan")), "lr must be"),
    (dict(clip=-1.0), "clip must be"),
    (dict(tbptt=0), "tbptt must be >= 1"),
    (dict(steps=0), "steps must be >= 1"),
    (dict(batch=0), "batch must be >= 1"),
    (dict(seed=-1), "seed must be >= 0"),
    (dict(dropout=1.0), "dropout must be a probability"),
    (dict(task="char"), "needs a text file"),
    (dict(text="a.txt"), "applies to task 'char' only"),
    (dict(task="toy", seq_len=4), "fixed length"),
])
def test_bad_config(kwargs, words):
    with pytest.raises(ValueError, match=words):
        Config(**kwargs)


def test_divergence_is_an_error_not_nans():
    config = Config(task="sine", cell="rnn", hidden=4, optimizer="sgd", lr=1e6, clip=None,
                    steps=50, eval_every=50, eval_batch=4, batch=2, seq_len=20)
    with np.errstate(all="ignore"), pytest.raises(ValueError, match="diverged at step"):
        train.train(config)
