"""The `train`, `sample` and `gradcheck --checkpoint` commands: resume through the command line
ends bit-identical, progress is plain lines off a terminal and one line on it, bad input is one
line on stderr and a non-zero exit, --plot writes a PNG or says how to get matplotlib."""
import fcntl
import json
import os
import pty
import signal
import struct
import subprocess
import sys
import termios

import numpy as np
import pytest

from manual_rnn.app import checkpoint, cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
       "OPENBLAS_NUM_THREADS": "1"}
RUN = ["--task", "adding", "--seq-len", "10", "--cell", "gru", "--hidden", "6", "--layers", "2",
       "--dropout", "0.2", "--tbptt", "4", "--batch", "4", "--eval-every", "5",
       "--eval-batch", "8"]
TEXT = ("It was the best of times, it was the worst of times, it was the age of wisdom, it "
        "was the age of foolishness, it was the epoch of belief, it was the epoch of "
        "incredulity.\n") * 3


def command(*args, **kw):
    return subprocess.run([sys.executable, "-m", "manual_rnn", *args], capture_output=True,
                          text=True, env=ENV, timeout=120, **kw)


def contents(path):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    return json.loads(str(arrays.pop("meta"))), arrays


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    path = tmp_path_factory.mktemp("straight") / "run.npz"
    done = command("train", *RUN, "--steps", "20", "--save", str(path))
    assert done.returncode == 0, done.stderr
    return path, done.stdout


def test_resume_through_the_command_line_is_bit_identical(straight, tmp_path):
    path, _ = straight
    half = tmp_path / "half.npz"
    first = command("train", *RUN, "--steps", "10", "--save", str(half))
    assert first.returncode == 0, first.stderr
    second = command("train", "--resume", str(half), "--steps", "20", "--save", str(half))
    assert second.returncode == 0, second.stderr
    assert f"resuming {str(half)!r} at step 10 of 20" in second.stdout
    meta, arrays = contents(half)
    expected_meta, expected = contents(path)
    assert meta == expected_meta  # config, step, rng states and history too
    assert sorted(arrays) == sorted(expected)
    for name in expected:
        assert arrays[name].dtype == expected[name].dtype
        np.testing.assert_array_equal(arrays[name], expected[name], err_msg=name)


def test_off_a_terminal_progress_is_plain_lines(straight):
    _, out = straight
    assert "\r" not in out and "\x1b" not in out
    lines = out.splitlines()
    steps = [l for l in lines if l.startswith("step ")]
    assert [l.split()[1] for l in steps] == ["5/20", "10/20", "15/20", "20/20"]
    assert all("train loss" in l and "eval loss" in l and "MSE" in l and "steps/s" in l
               and "ETA" in l for l in steps)
    assert lines[0].startswith("task: adding:") and lines[1].startswith("model: gru, 2 layer")
    final = [l for l in lines if l.startswith("final evaluation at step 20 on 8 held-out")]
    assert len(final) == 1 and "MSE" in final[0]
    assert any(l.startswith("baseline: adding:") and "0.167" in l for l in lines)


def test_on_a_terminal_progress_is_one_line_updated_in_place(tmp_path):
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    process = subprocess.Popen([sys.executable, "-m", "manual_rnn", "train", *RUN, "--steps",
                                "12"], stdout=follower, stderr=subprocess.PIPE, env=ENV)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=120) == 0, process.stderr.read()
    screen = b"".join(chunks).decode()
    assert "\r" in screen and "step/s" in screen and "12/12" in screen
    assert "step 5: eval loss" in screen  # evaluations stay on their own lines
    assert not any(l.startswith("step 5/12") for l in screen.splitlines())


def error_of(capsys, argv):
    """main(argv)'s exit code and its stderr, which must be one line without a traceback."""
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith(f"manual-rnn {argv[0]}: error: "), err
    return code, err


@pytest.fixture
def files(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "short.txt").write_text("too short\n")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1") * 100)
    (tmp_path / "corrupt.npz").write_bytes(b"PK\x03\x04 not really")
    return tmp_path


@pytest.mark.parametrize("argv, words", [
    (["--lr", "0"], "lr must be a finite number > 0"),
    (["--lr", "-0.1"], "lr must be"),
    (["--tbptt", "0"], "tbptt must be >= 1"),
    (["--steps", "0"], "steps must be >= 1"),
    (["--batch", "0"], "batch must be >= 1"),
    (["--hidden", "0"], "hidden must be >= 1"),
    (["--eval-every", "0"], "eval_every must be >= 1"),
    (["--dropout", "1.5"], "dropout must be a probability"),
    (["--clip", "-1"], "clip must be"),
    (["--task", "toy", "--seq-len", "3"], "fixed length"),
    (["--task", "char"], "needs a text file"),
    (["--task", "char", "--text", "{d}/missing.txt"], "no such text file"),
    (["--task", "char", "--text", "{d}/empty.txt"], "is empty"),
    (["--task", "char", "--text", "{d}/short.txt"], "needs at least"),
    (["--task", "char", "--text", "{d}/latin1.txt", "--seq-len", "4"], "not UTF-8"),
    (["--text", "{d}/short.txt"], "applies to task 'char' only"),
    (["--resume", "{d}/missing.npz"], "no such checkpoint file"),
    (["--resume", "{d}/corrupt.npz"], "truncated or corrupt"),
    (["--save", "{d}/no/such/dir/run.npz"], "does not exist"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, files, argv, words):
    argv = ["train"] + [a.format(d=files) for a in argv]
    code, err = error_of(capsys, argv)
    assert code == 2 and words in err, err


def test_unknown_choices_exit_2(capsys):
    for argv in (["train", "--task", "maze"], ["train", "--optimizer", "lbfgs"],
                 ["train", "--cell", "tree"]):
        with pytest.raises(SystemExit) as info:
            cli.main(argv)
        assert info.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_bad_input_through_the_command_line_has_no_traceback(files):
    for args in (["--resume", str(files / "corrupt.npz")], ["--lr", "0"]):
        done = command("train", *args)
        assert done.returncode == 2 and done.stdout == ""
        assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr


def test_resume_refuses_other_settings(capsys, straight):
    path, _ = straight
    code, err = error_of(capsys, ["train", "--resume", str(path), "--lr", "0.5"])
    assert code == 2 and "keeps its configuration" in err and "lr=0.5 (saved 0.01)" in err
    code, err = error_of(capsys, ["train", "--resume", str(path), "--steps", "10"])
    assert code == 2 and "at step 20, past steps=10" in err


def test_plot_writes_a_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    picture = tmp_path / "loss.png"
    assert cli.main(["train", "--task", "toy", "--cell", "rnn", "--hidden", "3", "--steps",
                     "30", "--eval-every", "10", "--plot", str(picture)]) == 0
    assert f"plot: {str(picture)!r}" in capsys.readouterr().out
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and picture.stat().st_size > 10_000


def test_plot_without_matplotlib_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    save = tmp_path / "run.npz"
    code, err = error_of(capsys, ["train", "--task", "toy", "--steps", "5", "--save", str(save),
                                  "--plot", str(tmp_path / "loss.png")])
    assert code == 2
    assert err == ("manual-rnn train: error: matplotlib is not installed: "
                   "pip install 'manual_rnn[plot]'\n")
    assert not save.exists()  # refused before training, not after


@pytest.fixture(scope="module")
def char_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("char")
    (folder / "text.txt").write_text(TEXT)
    path = folder / "char.npz"
    assert cli.main(["train", "--task", "char", "--text", str(folder / "text.txt"),
                     "--seq-len", "12", "--cell", "lstm", "--hidden", "8", "--steps", "6",
                     "--eval-every", "3", "--batch", "4", "--eval-batch", "4",
                     "--save", str(path)]) == 0
    return path


def test_sample_writes_the_prime_and_length_characters(char_model, capsys):
    capsys.readouterr()
    assert cli.main(["sample", "--checkpoint", str(char_model), "--length", "120",
                     "--temperature", "0.8", "--prime", "It was", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert out.endswith("\n") and out.startswith("It was")
    generated = out[len("It was"):-1]
    assert len(generated) == 120 and set(generated) <= set(TEXT)
    assert cli.main(["sample", "--checkpoint", str(char_model), "--length", "120",
                     "--temperature", "0.8", "--prime", "It was", "--seed", "3"]) == 0
    assert capsys.readouterr().out == out  # the seed decides


def test_sample_refuses_bad_requests(char_model, straight, capsys):
    capsys.readouterr()
    cases = [(["--checkpoint", str(straight[0])], "sampling needs a character model"),
             (["--checkpoint", str(char_model), "--prime", "Zebra"], "not in the vocabulary"),
             (["--checkpoint", str(char_model), "--length", "-1"], "length must be >= 0"),
             (["--checkpoint", str(char_model), "--temperature", "0"], "temperature must be")]
    for argv, words in cases:
        code, err = error_of(capsys, ["sample", *argv])
        assert code == 2 and words in err, err


def test_gradcheck_of_a_trained_model(char_model, capsys):
    capsys.readouterr()
    assert cli.main(["gradcheck", "--checkpoint", str(char_model), "--seq-len", "3",
                     "--batch", "2", "--no-jax"]) == 0
    out = capsys.readouterr().out
    assert f"gradcheck of {str(char_model)!r} (step 6)" in out and "task char T=3 B=2" in out
    import re
    agree = re.search(r"^(\d+) of (\d+) gradients agree$", out, re.MULTILINE)
    assert "FAIL" not in out and agree and agree[1] == agree[2] and "weight_hh_l0" in out


def test_interrupt_saves_and_the_run_resumes(tmp_path):
    save = tmp_path / "run.npz"
    process = subprocess.Popen(
        [sys.executable, "-m", "manual_rnn", "train", *RUN, "--steps", "100000", "--eval-every",
         "2", "--save", str(save)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=ENV)
    for line in process.stdout:
        if line.startswith("step 4/"):
            break
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "interrupted at step" in out
    state = checkpoint.load(save)
    assert 4 <= state.step < 100000 and f"interrupted at step {state.step}" in out
    done = command("train", "--resume", str(save), "--steps", str(state.step + 2))
    assert done.returncode == 0, done.stderr
