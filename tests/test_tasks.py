"""The training tasks: determinism, shapes, each task's structure, errors, and text sampling."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import manual_rnn as mr
from manual_rnn.app import tasks
from manual_rnn.app.tasks import Adding, Batch, CharText, CopyMemory, Sine, Toy, make, sample_text
from helpers import assert_allclose

TEXT = "".join(f"line {i}: the quick brown fox jumps over the lazy dog.\n" for i in range(40))


def rng(seed=0):
    return np.random.default_rng(seed)


def small_tasks():
    return [Toy(), Sine(seq_len=7), Adding(seq_len=9), CopyMemory(seq_len=5, n_symbols=4,
            copy_len=3), CharText(TEXT, seq_len=12)]


def batches_equal(a, b):
    return (np.array_equal(a.xs, b.xs) and np.array_equal(a.targets, b.targets)
            and ((a.loss_mask is None and b.loss_mask is None)
                 or np.array_equal(a.loss_mask, b.loss_mask)))


# ---- the common interface ----------------------------------------------------------------------

@pytest.mark.parametrize("task", small_tasks(), ids=lambda t: t.name)
def test_shapes_dtypes_and_interface(task):
    for split in ("train", "eval"):
        batch = task.batch(rng(), 5, split=split)
        assert isinstance(batch, Batch)
        T, B = batch.xs.shape[:2]
        assert B == 5 and T >= 1
        assert batch.xs.shape == (T, B, task.input_size) and batch.xs.dtype == np.float64
        if task.loss == "mse":
            assert batch.targets.shape == (T, B, task.output_size)
            assert batch.targets.dtype == np.float64
        else:
            assert task.loss == "cross_entropy"
            assert batch.targets.shape == (T, B) and batch.targets.dtype == np.int64
            assert batch.targets.min() >= 0 and batch.targets.max() < task.output_size
        if batch.loss_mask is not None:
            assert batch.loss_mask.shape == (T, B) and batch.loss_mask.dtype == np.float64
            assert set(np.unique(batch.loss_mask)) <= {0.0, 1.0}
    ys = rng(1).standard_normal(batch.xs.shape[:2] + (task.output_size,))
    assert isinstance(task.metric(ys, batch), float)
    line = task.describe()
    assert isinstance(line, str) and "\n" not in line and task.name in line
    with pytest.raises(ValueError, match="ys must have shape"):
        task.metric(ys[:, :-1], batch)


@pytest.mark.parametrize("task", small_tasks(), ids=lambda t: t.name)
def test_batches_feed_the_model_and_its_losses(task):
    batch = task.batch(rng(), 3)
    spec = mr.Spec(cell="gru", input_size=task.input_size, hidden_size=4,
                   output_size=task.output_size)
    params = mr.init_params(spec, seed=0)
    ys, _, cache = mr.forward(spec, params, batch.xs)
    mask = np.ones(ys.shape[:2]) if batch.loss_mask is None else batch.loss_mask
    loss, dys = mr.losses.LOSSES[task.loss](ys, batch.targets, mask)
    grads, _, _ = mr.backward(spec, params, cache, dys)
    assert np.isfinite(loss) and set(grads) == set(params)
    if batch.loss_mask is None:
        value, _ = mr.loss_and_grad(spec, params, batch.xs, batch.targets, loss=task.loss)
        assert value == pytest.approx(loss)


@pytest.mark.parametrize("task", small_tasks(), ids=lambda t: t.name)
def test_same_seed_same_batch(task):
    for split in ("train", "eval"):
        assert batches_equal(task.batch(rng(3), 4, split), task.batch(rng(3), 4, split))


@pytest.mark.parametrize("task", small_tasks()[1:], ids=lambda t: t.name)
def test_different_seeds_differ(task):
    assert not batches_equal(task.batch(rng(3), 4), task.batch(rng(4), 4))


def test_bad_batch_arguments():
    task = Adding(seq_len=4)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        task.batch(0, 2)
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        task.batch(rng(), 0)
    with pytest.raises(TypeError, match="batch_size must be an int"):
        task.batch(rng(), 2.0)
    with pytest.raises(ValueError, match="split must be one of .*'test'"):
        task.batch(rng(), 2, split="test")


@pytest.mark.parametrize("factory, message", [
    (lambda: Sine(seq_len=0), "seq_len must be >= 1, got 0"),
    (lambda: Sine(noise=-0.1), "noise must be a finite number >= 0, got -0.1"),
    (lambda: Sine(noise=float("nan")), "noise must be a finite number >= 0"),
    (lambda: Adding(seq_len=1), "seq_len must be >= 2, got 1"),
    (lambda: CopyMemory(seq_len=0), "seq_len must be >= 1, got 0"),
    (lambda: CopyMemory(n_symbols=0), "n_symbols must be >= 1, got 0"),
    (lambda: CopyMemory(copy_len=-1), "copy_len must be >= 1, got -1"),
    (lambda: CharText(TEXT, seq_len=0), "seq_len must be >= 1, got 0"),
])
def test_bad_constructor_arguments(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


def test_non_int_arguments_are_type_errors():
    with pytest.raises(TypeError, match="seq_len must be an int, got float 50.0"):
        Adding(seq_len=50.0)


def test_registry():
    assert set(tasks.TASKS) == {"toy", "sine", "adding", "copy", "char"}
    assert make("adding", seq_len=7) == Adding(seq_len=7)
    assert make("toy") == Toy()
    assert make("char", path_or_text=TEXT, seq_len=5).seq_len == 5
    with pytest.raises(ValueError, match=r"unknown task 'nope'; choose one of \['adding', "):
        make("nope")


# ---- the tasks one by one ----------------------------------------------------------------------

def test_toy_is_the_notebooks_problem():
    task = Toy()
    batch = task.batch(rng(), 3)
    assert batch.xs[:, :, 0].tolist() == [[1.0] * 3, [2.0] * 3]
    assert batch.targets[:, :, 0].tolist() == [[0.5] * 3, [0.8] * 3]
    assert batch.loss_mask is None
    assert batches_equal(batch, task.batch(rng(9), 3, split="eval"))
    ys = np.zeros((2, 3, 1))
    assert task.metric(ys, batch) == pytest.approx(0.445)
    assert task.metric(batch.targets, batch) == 0.0
    assert task.metric(ys, batch) == pytest.approx(mr.losses.mse(ys, batch.targets,
                                                                 np.ones((2, 3)))[0])


def test_sine_inputs_are_noisy_and_targets_the_clean_next_value():
    clean = Sine(seq_len=30, noise=0.0).batch(rng(5), 50)
    noisy = Sine(seq_len=30, noise=0.05).batch(rng(5), 50)
    # Without noise, the input at t + 1 is the target at t.
    np.testing.assert_array_equal(clean.xs[1:], clean.targets[:-1])
    # The same draws of amplitude, frequency and phase, so the noise adds to the same clean waves.
    np.testing.assert_array_equal(noisy.targets, clean.targets)
    residual = noisy.xs - clean.xs
    assert 0.04 < residual.std() < 0.06
    assert np.all(np.abs(clean.targets) <= 1.5)


def test_sine_baselines_match_their_formulas():
    task = Sine(seq_len=50, noise=0.05)
    batch = task.batch(rng(6), 4000)
    zero, repeat = task.baselines()
    assert task.metric(np.zeros_like(batch.targets), batch) == pytest.approx(zero, rel=0.03)
    assert task.metric(batch.xs, batch) == pytest.approx(repeat, rel=0.03)
    assert task.metric(batch.targets, batch) == 0.0


@pytest.mark.parametrize("seq_len", [2, 3, 10, 51])
def test_adding_structure(seq_len):
    task = Adding(seq_len=seq_len)
    batch = task.batch(rng(seq_len), 200)
    values, markers = batch.xs[..., 0], batch.xs[..., 1]
    half = seq_len // 2
    assert np.all((values >= 0) & (values < 1))
    assert set(np.unique(markers)) <= {0.0, 1.0}
    np.testing.assert_array_equal(markers[:half].sum(axis=0), 1)
    np.testing.assert_array_equal(markers[half:].sum(axis=0), 1)
    assert_allclose(batch.targets[-1, :, 0], (values * markers).sum(axis=0))
    assert np.all(batch.targets[:-1] == 0)
    expected_mask = np.zeros((seq_len, 200))
    expected_mask[-1] = 1
    np.testing.assert_array_equal(batch.loss_mask, expected_mask)


def test_adding_baseline_scores_a_sixth():
    task = Adding(seq_len=20)
    batch = task.batch(rng(7), 20000)
    assert task.metric(np.ones((20, 20000, 1)), batch) == pytest.approx(1 / 6, abs=0.006)
    assert "0.167" in task.describe()
    perfect = np.zeros((20, 20000, 1))
    perfect[-1] = batch.targets[-1]
    assert task.metric(perfect, batch) == 0.0


def test_copy_structure():
    task = CopyMemory(seq_len=6, n_symbols=5, copy_len=4)
    assert (task.input_size, task.output_size, task.total_len) == (7, 6, 14)
    batch = task.batch(rng(8), 30)
    assert batch.loss_mask is None
    inputs = batch.xs.argmax(axis=-1)
    np.testing.assert_array_equal(batch.xs.sum(axis=-1), 1)  # one-hot
    symbols = inputs[:4]
    assert symbols.max() < 5
    np.testing.assert_array_equal(inputs[4:9], task.blank)  # seq_len - 1 blanks
    np.testing.assert_array_equal(inputs[9], task.delimiter)
    np.testing.assert_array_equal(inputs[10:], task.blank)
    np.testing.assert_array_equal(batch.targets[:10], task.blank)
    np.testing.assert_array_equal(batch.targets[10:], symbols)


def test_copy_metric_and_baseline():
    task = CopyMemory(seq_len=100, n_symbols=8, copy_len=10)
    batch = task.batch(rng(9), 50)
    assert task.baseline_cross_entropy() == pytest.approx(10 * math.log(8) / 120)
    perfect = np.eye(9)[batch.targets] * 10
    assert task.metric(perfect, batch) == 1.0
    wrong = perfect.copy()
    wrong[-10:] = np.eye(9)[(batch.targets[-10:] + 1) % 8] * 10
    assert task.metric(wrong, batch) == 0.0
    # The memoryless baseline: certain blank, then uniform over the symbols.
    memoryless = np.full((120, 50, 9), -1e9)
    memoryless[:110, :, 8] = 0.0
    memoryless[110:, :, :8] = 0.0
    loss, _ = mr.losses.cross_entropy(memoryless, batch.targets, np.ones((120, 50)))
    assert loss / 120 == pytest.approx(task.baseline_cross_entropy())
    assert f"{task.baseline_cross_entropy():.4f}" in task.describe()


# ---- the character task ------------------------------------------------------------------------

def test_char_vocabulary_encode_decode_and_splits():
    task = CharText(TEXT, seq_len=12)
    assert task.vocab == "".join(sorted(set(TEXT)))
    assert task.input_size == task.output_size == len(task.vocab)
    ids = task.encode(TEXT)
    assert ids.dtype == np.int64 and task.decode(ids) == TEXT
    assert len(task.train_ids) == 9 * len(TEXT) // 10
    assert len(task.train_ids) + len(task.eval_ids) == len(TEXT)
    np.testing.assert_array_equal(np.concatenate([task.train_ids, task.eval_ids]), ids)
    assert task.decode([]) == ""
    with pytest.raises(ValueError, match="'Z', which is not in the vocabulary"):
        task.encode("the Zoo")
    with pytest.raises(ValueError, match="ids must lie in"):
        task.decode([0, len(task.vocab)])


@given(st.text(min_size=1, max_size=30))
def test_char_round_trip_any_unicode(sample):
    task = CharText(sample * 200, seq_len=3)
    assert task.decode(task.encode(sample)) == sample


def test_char_batches_are_windows_of_their_split():
    # Train text only 'a'/'b', eval text only 'x'/'y': each split's batches show its own letters.
    text = "ab" * 450 + "xy" * 50
    task = CharText(text, seq_len=20)
    for split, letters in (("train", "ab"), ("eval", "xy")):
        batch = task.batch(rng(), 64, split)
        seen = task.decode(np.unique(batch.xs.argmax(-1)))
        assert set(seen) <= set(letters)
        np.testing.assert_array_equal(batch.xs.argmax(-1)[1:], batch.targets[:-1])
        assert set(task.decode(np.unique(batch.targets))) <= set(letters)


def test_char_metric_is_bits_per_character():
    task = CharText(TEXT, seq_len=12)
    batch = task.batch(rng(), 8)
    uniform = np.zeros((12, 8, len(task.vocab)))
    assert task.metric(uniform, batch) == pytest.approx(math.log2(len(task.vocab)))
    loss, _ = mr.losses.cross_entropy(uniform, batch.targets, np.ones((12, 8)))
    assert task.metric(uniform, batch) == pytest.approx(loss / 12 / math.log(2))
    assert 0 < task.unigram_bits() < math.log2(len(task.vocab))


def test_char_reads_files(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(TEXT, encoding="utf-8")
    for given_as in (path, str(path)):
        task = CharText(given_as, seq_len=12)
        assert task.decode(np.concatenate([task.train_ids, task.eval_ids])) == TEXT
        assert "corpus.txt" in task.describe()


def test_char_needed_length_is_exact():
    for seq_len in (1, 2, 7, 64):
        needed = CharText.min_chars(seq_len)
        task = CharText("a\n" * (needed // 2) + "a" * (needed % 2), seq_len=seq_len)
        assert min(len(task.train_ids), len(task.eval_ids)) >= seq_len + 1
        task.batch(rng(), 3, "eval")
        with pytest.raises(ValueError, match=f"has {needed - 1} characters; seq_len={seq_len} "
                                             f"needs at least {needed}"):
            CharText("\n" + "a" * (needed - 2), seq_len=seq_len)


def test_char_errors(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(FileNotFoundError, match="no such text file: .*nope.txt"):
        CharText(missing)
    with pytest.raises(FileNotFoundError, match="no such text file: .*nope.txt"):
        CharText(str(missing))
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(ValueError, match="file .*empty.txt' is empty"):
        CharText(empty)
    short = tmp_path / "short.txt"
    short.write_text("hello\nworld\n")
    with pytest.raises(ValueError, match=r"short.txt' has 12 characters; seq_len=64 needs at "
                                         r"least 641"):
        CharText(short)
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("caf\xe9\n".encode("latin-1") * 200)
    with pytest.raises(ValueError, match="latin1.txt' is not UTF-8"):
        CharText(latin1)
    with pytest.raises(TypeError, match="path_or_text must be a str or os.PathLike"):
        CharText(123)


# ---- sampling ----------------------------------------------------------------------------------

@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_sample_text_length_vocabulary_and_determinism(cell):
    task = CharText(TEXT, seq_len=12)
    V = len(task.vocab)
    spec = mr.Spec(cell=cell, input_size=V, hidden_size=8, output_size=V)
    params = mr.init_params(spec, seed=0)
    text = sample_text(spec, params, task, length=40, seed=1)
    assert len(text) == 40 and set(text) <= set(task.vocab)
    assert sample_text(spec, params, task, length=40, seed=1) == text
    assert sample_text(spec, params, task, length=40, seed=2) != text
    primed = sample_text(spec, params, task, length=25, prime="the ", seed=1)
    assert len(primed) == 25 and set(primed) <= set(task.vocab)
    assert sample_text(spec, params, task, length=0) == ""


def test_sample_text_temperature():
    task = CharText(TEXT, seq_len=12)
    V = len(task.vocab)
    spec = mr.Spec(cell="lstm", input_size=V, hidden_size=8, output_size=V)
    params = mr.init_params(spec, seed=0)
    params["head.bias"] = params["head.bias"] * 1e3  # a huge margin that exp must survive
    cold = sample_text(spec, params, task, length=20, temperature=1e-3, seed=0)
    assert cold == task.vocab[int(np.argmax(params["head.bias"]))] * 20
    for bad in (0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
            sample_text(spec, params, task, temperature=bad)


def test_sample_text_checks_its_arguments():
    task = CharText(TEXT, seq_len=12)
    V = len(task.vocab)
    spec = mr.Spec(cell="gru", input_size=V, hidden_size=4, output_size=V)
    params = mr.init_params(spec, seed=0)
    with pytest.raises(ValueError, match="not in the vocabulary"):
        sample_text(spec, params, task, prime="Zebra")
    with pytest.raises(ValueError, match="length must be >= 0, got -1"):
        sample_text(spec, params, task, length=-1)
    wrong = mr.Spec(cell="gru", input_size=V + 1, hidden_size=4, output_size=V)
    with pytest.raises(ValueError, match=f"input_size = output_size = {V}"):
        sample_text(wrong, mr.init_params(wrong), task)
    both = mr.Spec(cell="gru", input_size=V, hidden_size=4, output_size=V, bidirectional=True)
    with pytest.raises(ValueError, match="bidirectional"):
        sample_text(both, mr.init_params(both), task)
    with pytest.raises(TypeError, match="task must be a CharText"):
        sample_text(spec, params, Toy())
