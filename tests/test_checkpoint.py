"""Checkpoints: one .npz without pickles, written atomically, read back exactly, and refused
with a clear error (naming the file) when truncated, corrupt or inconsistent."""
import json
import os
import zipfile
from dataclasses import replace

import numpy as np
import pytest

from manual_rnn.app import checkpoint, train
from manual_rnn.app.train import Config

CONFIG = Config(task="sine", seq_len=6, cell="lstm", hidden=3, layers=2, steps=3, batch=2,
                eval_every=2, eval_batch=4)


@pytest.fixture(scope="module")
def state():
    return train.train(CONFIG)


@pytest.fixture
def saved(tmp_path, state):
    return checkpoint.save(tmp_path / "run.npz", state)


def test_round_trip_is_exact(saved, state):
    loaded = checkpoint.load(saved)
    assert loaded.config == state.config and loaded.spec == state.spec
    assert loaded.step == state.step == 3 and loaded.rng == state.rng
    assert loaded.history == state.history and loaded.history.eval_step == [0, 2, 3]
    for ours, theirs in ((loaded.params, state.params), (loaded.opt_state, state.opt_state)):
        assert list(ours) == list(theirs)
        for k in ours:
            assert ours[k].dtype == theirs[k].dtype
            np.testing.assert_array_equal(ours[k], theirs[k])


def test_one_npz_without_pickles(saved):
    with np.load(saved, allow_pickle=False) as archive:
        names = set(archive.files)
        meta = json.loads(str(archive["meta"]))
    assert "params/weight_hh_l1" in names and "opt/exp_avg/head.bias" in names
    assert meta["format"] == "manual_rnn.checkpoint" and meta["spec"]["cell"] == "lstm"
    assert meta["config"]["hidden"] == 3 and meta["step"] == 3
    assert set(meta["rng"]) == {"data", "dropout"}
    assert os.listdir(os.path.dirname(saved)) == ["run.npz"]  # no temporary file left


def test_float32_runs_keep_their_dtype(tmp_path):
    state = train.train(Config(task="toy", cell="gru", hidden=2, steps=2, eval_batch=1,
                               dtype="float32"))
    loaded = checkpoint.load(checkpoint.save(tmp_path / "f32.npz", state))
    assert {p.dtype for p in loaded.params.values()} == {np.dtype(np.float32)}


# ---- atomic writes --------------------------------------------------------------------------

def test_a_crash_before_the_rename_keeps_the_old_checkpoint(saved, state, monkeypatch):
    before = open(saved, "rb").read()

    def crash(*args):
        raise OSError("simulated crash")

    newer = train.train(replace(CONFIG, steps=4), state)
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        checkpoint.save(saved, newer)
    assert open(saved, "rb").read() == before
    assert os.listdir(os.path.dirname(saved)) == ["run.npz"]
    monkeypatch.undo()
    assert checkpoint.load(saved).step == 3


def test_a_crash_while_writing_keeps_the_old_checkpoint(saved, state, monkeypatch):
    before = open(saved, "rb").read()

    def half_written(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", half_written)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save(saved, state)
    assert open(saved, "rb").read() == before
    assert os.listdir(os.path.dirname(saved)) == ["run.npz"]


def test_saving_into_a_missing_directory_is_an_oserror(tmp_path, state):
    with pytest.raises(OSError):
        checkpoint.save(tmp_path / "no" / "such" / "run.npz", state)


# ---- refusing bad files ----------------------------------------------------------------------

def rewrite(path, meta=None, drop=(), change=None):
    """A copy of the checkpoint at `path` with its meta edited, entries dropped or changed."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    old = json.loads(str(arrays["meta"]))
    if meta is not None:
        meta(old)
    arrays["meta"] = np.array(json.dumps(old))
    for k in drop:
        del arrays[k]
    arrays.update(change or {})
    out = os.path.join(os.path.dirname(path), "bad.npz")
    with open(out, "wb") as file:
        np.savez(file, **arrays)
    return out


def expect_refusal(path, *words):
    before = open(path, "rb").read()
    with pytest.raises(ValueError) as info:
        checkpoint.load(path)
    message = str(info.value)
    assert repr(os.fspath(path)) in message, message
    for word in words:
        assert word in message, (word, message)
    assert "\n" not in message
    assert open(path, "rb").read() == before  # load changes nothing


@pytest.mark.parametrize("keep", [0, 10, 100, 0.5, -22, -1])
def test_truncated_files_are_refused(saved, keep):
    data = open(saved, "rb").read()
    cut = int(len(data) * keep) if isinstance(keep, float) else keep
    with open(saved, "wb") as file:
        file.write(data[:cut])
    expect_refusal(saved, "truncated or corrupt")


def test_corrupt_bytes_are_refused(saved):
    data = bytearray(open(saved, "rb").read())
    with zipfile.ZipFile(saved) as archive:
        info = archive.getinfo("params/weight_hh_l0.npy")
    middle = info.header_offset + 30 + len(info.filename) + info.file_size - 8  # in the data
    data[middle] ^= 0xFF
    with open(saved, "wb") as file:
        file.write(bytes(data))
    expect_refusal(saved, "truncated or corrupt")


def test_other_files_are_refused(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("not a checkpoint\n")
    expect_refusal(text, "not a readable .npz")
    single = tmp_path / "array.npz"
    with open(single, "wb") as file:
        np.save(file, np.zeros(3))
    expect_refusal(single, "single array")
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(3))
    expect_refusal(other, "no 'meta' entry")


def test_a_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such checkpoint file"):
        checkpoint.load(tmp_path / "nothing.npz")


@pytest.mark.parametrize("edit, words", [
    (lambda m: m.update(format="something else"), ["not a manual_rnn checkpoint"]),
    (lambda m: m.update(version=99), ["version 99"]),
    (lambda m: m.pop("rng"), ["lacks ['rng']"]),
    (lambda m: m["spec"].update(hidden_size=4), ["hidden_size=4", "hidden=3"]),
    (lambda m: (m["spec"].update(hidden_size=4), m["config"].update(hidden=4)),
     ["weight_ih_l0", "shape"]),
    (lambda m: m["spec"].update(cell="tree"), ["cell must be one of"]),
    (lambda m: m["config"].update(optimizer="sgd"), ["sgd state does not fit",
                                                     "unexpected"]),
    (lambda m: m["config"].update(colour="red"), ["unknown fields ['colour']"]),
    (lambda m: m["config"].update(dtype="float32"), ["float64", "float32"]),
    (lambda m: m.update(step=2), ["optimiser has taken 3 steps, the run 2"]),
    (lambda m: m.update(step=9), ["step must be an int in [0, steps=3]"]),
    (lambda m: m["history"]["train_loss"].pop(), ["2 training losses for 3 steps"]),
    (lambda m: m["history"]["eval_loss"].pop(), ["evaluation columns"]),
    (lambda m: m["rng"].pop("dropout"), ["'data' and 'dropout'"]),
    (lambda m: m["rng"]["data"].update(bit_generator="MT19937"), ["PCG64"]),
])
def test_inconsistent_meta_is_refused(saved, edit, words):
    expect_refusal(rewrite(saved, meta=edit), *words)


def test_inconsistent_arrays_are_refused(saved):
    expect_refusal(rewrite(saved, drop=["params/head.bias"]), "missing ['head.bias']")
    expect_refusal(rewrite(saved, change={"params/head.bias": np.zeros(5)}), "head.bias",
                   "(1,)", "(5,)")
    expect_refusal(rewrite(saved, drop=["opt/exp_avg_sq/head.bias"]),
                   "missing ['exp_avg_sq/head.bias']")
    expect_refusal(rewrite(saved, change={"opt/exp_avg/head.bias": np.zeros((2, 2))}),
                   "exp_avg/head.bias")
    expect_refusal(rewrite(saved, change={"extra": np.zeros(1)}), "unexpected entries")
    expect_refusal(rewrite(saved, change={"meta": np.array("{not json")}), "corrupt 'meta'")
    nan = rewrite(saved)
    with np.load(nan) as archive:
        arrays = dict(archive)
    arrays["params/head.weight"] = np.full_like(arrays["params/head.weight"], np.nan)
    with open(nan, "wb") as file:
        np.savez(file, **arrays)
    expect_refusal(nan, "non-finite")
