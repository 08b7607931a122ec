"""The benchmark scripts still run, and their contenders still compute the same loss.

Nothing here is timed: each script runs its smallest configuration for a few rounds, and the
test reads what it prints, never how fast anything was.
"""
import os
import subprocess
import sys

import pytest

pytest.importorskip("jax")  # bench_step.py and floor.py compare against the JAX twin

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(script, *args):
    env = dict(os.environ, PYTHONPATH=ROOT)
    done = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", script), *args],
                          capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def table_rows(text, config):
    return [line for line in text.splitlines() if line.startswith(f"| {config} (")]


def test_bench_step_runs_every_cell_and_its_contenders_agree_on_the_loss(tmp_path):
    out = tmp_path / "table.md"
    text = run("bench_step.py", "--configs", "tiny", "--repeats", "2", "--gemm-size", "64",
               "--out", str(out))
    rows = table_rows(out.read_text(), "tiny")
    assert len(rows) == 6                                  # 3 cells x 2 dtypes
    assert "DISAGREE" not in text
    assert all(row.count("**") >= 2 for row in rows)       # a product/JAX ratio in every row


def test_floor_runs_and_times_product_cells_and_jax(tmp_path):
    out = tmp_path / "floor.md"
    run("floor.py", "--configs", "tiny", "--cells", "lstm", "--dtypes", "float32",
        "--budget", "0.05", "--out", str(out))
    (row,) = table_rows(out.read_text(), "tiny")
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[:3] == ["tiny (2, 1, 1, 3, 1)", "lstm", "float32"]
    assert all(float(ms) > 0 for ms in cells[3:6])         # product, cells and JAX all timed


def test_gemm_ceiling_runs_and_times_product_and_its_matmuls(tmp_path):
    out = tmp_path / "gemm.md"
    run("gemm_ceiling.py", "--configs", "tiny", "--cells", "gru", "--dtypes", "float64",
        "--budget", "0.05", "--gemm-size", "64", "--out", str(out))
    (row,) = table_rows(out.read_text(), "tiny")
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[:3] == ["tiny (2, 1, 1, 3, 1)", "gru", "float64"]
    assert all(float(ms) > 0 for ms in cells[3:5])         # product and matmuls both timed


def test_call_costs_prices_every_operation(tmp_path):
    out = tmp_path / "costs.md"
    run("call_costs.py", "--configs", "small", "--dtypes", "float32", "--calls", "20",
        "--out", str(out))
    (row,) = [line for line in out.read_text().splitlines() if line.startswith("| small (")]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[:2] == ["small (B=16, H=32)", "float32"]
    assert len(cells) == 8 and all(float(us) > 0 for us in cells[2:])
