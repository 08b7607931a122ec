"""The benchmark scripts and the examples run, and what they print holds together.

Nothing here is timed: every script runs its smallest configuration for a few rounds as
`python -m benchmarks.<script>` (or `python examples/<name>.py`) from the repository root,
and the test reads its report, never how fast anything was.
"""
import os
import subprocess
import sys

import pytest

from helpers import ground_truth
from manual_rnn.cells import CELLS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAST = ["--repeats", "2", "--settle-ms", "1", "--turn-ms", "0"]


def run(*args):
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def rows(text, first):
    return [[c.strip() for c in line.strip("|").split("|")]
            for line in text.splitlines() if line.startswith(f"| {first}")]


def test_bench_step_times_every_cell_and_dtype_and_the_contenders_agree(tmp_path):
    ground_truth("jax", "bench_step's JAX contender")
    ground_truth("torch", "bench_step's PyTorch contender")
    out = tmp_path / "bench_step.md"
    printed = run("-m", "benchmarks.bench_step", "--configs", "tiny", *FAST, "--out", str(out))
    report = out.read_text()
    assert "DISAGREE" not in printed and "## Machine" in report and "NumPy BLAS" in report
    table = rows(report, "tiny (2, 1, 1, 3, 1)")
    assert sorted((r[1], r[2]) for r in table) == sorted(
        (cell, dtype) for cell in CELLS for dtype in ("float32", "float64"))
    for r in table:  # manual, JAX and torch ms; manual/JAX and manual/torch; losses agree
        assert all(float(ms.split()[0]) > 0 for ms in r[3:6])
        assert all(ratio.startswith("**") and float(ratio.strip("*")) > 0 for ratio in r[6:8])
        assert r[9] == "yes"
    (summary,) = rows(report, "tiny |")
    assert len(summary) == 3 and all(float(x) > 0 for x in summary[1:])


def test_compare_revisions_imports_two_revisions_side_by_side(tmp_path):
    out = tmp_path / "ab.md"
    run("-m", "benchmarks.compare_revisions", "HEAD", "worktree", "--configs", "tiny",
        "--dtypes", "float64", *FAST, "--out", str(out))
    table = rows(out.read_text(), "tiny (")
    assert [r[1] for r in table] == list(CELLS)
    assert all(r[5].startswith("**") and r[7] == "yes" for r in table)


def test_checkpoint_memory_reports_every_segment_length(tmp_path):
    out = tmp_path / "checkpoint.md"
    run("-m", "benchmarks.checkpoint_memory", "--T", "12", "--H", "4", *FAST, "--out", str(out))
    report = out.read_text()
    assert [r[0] for r in rows(report, "off")] == ["off"]
    assert [r[1] for r in rows(report, "10 ")] == ["2"]      # two segments of 10 and 2 steps


def test_adding_problem_example_trains_every_cell_and_writes_its_report(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "adding"
    run("examples/adding_problem.py", "--steps", "3", "--eval-every", "2", "--eval-batch", "8",
        "--batch", "4", "--seq-len", "5", "--hidden", "4", "--out", str(out))
    table = rows((tmp_path / "adding.md").read_text(), "")
    assert [r[0] for r in table[1:]] == list(CELLS)       # after the head
    assert (tmp_path / "adding.png").stat().st_size > 0


def test_char_model_example_trains_and_samples(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "char"
    run("examples/char_model.py", "--steps", "4", "--eval-every", "2", "--hidden", "8",
        "--batch", "4", "--eval-batch", "4", "--seq-len", "16", "--tbptt", "8",
        "--out", str(out))
    report = (tmp_path / "char.md").read_text()
    assert [r[0] for r in rows(report, "")[1:]] == ["0", "2", "4"]   # evaluated steps
    assert report.count("Temperature") == 3 and (tmp_path / "char.png").stat().st_size > 0
