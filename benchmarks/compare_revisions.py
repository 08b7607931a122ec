#!/usr/bin/env python
"""Is a change faster? Time the working tree's manual_rnn against a git revision of it, in one
process, alternating the two step by step (so that a noisy, shared machine hits both alike),
and print the medians and their ratio.

    PYTHONPATH=. python benchmarks/compare_revisions.py HEAD~1
    PYTHONPATH=. python benchmarks/compare_revisions.py 541d448 --configs small long \
        --cells lstm --dtypes float32 --budget 5

The revision's package is exported with `git archive` to a temporary directory and imported
as `manual_rnn_old` (manual_rnn imports itself relatively, so a renamed copy runs as it is).
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import manual_rnn as new

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_step import CELLS, CONFIGS, DTYPES, make_data  # noqa: E402


def import_revision(revision):
    root = os.path.dirname(os.path.dirname(os.path.abspath(new.__file__)))
    folder = tempfile.mkdtemp(prefix="manual_rnn_rev_")
    archive = subprocess.run(["git", "-C", root, "archive", revision, "manual_rnn"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
    os.rename(os.path.join(folder, "manual_rnn"), os.path.join(folder, "manual_rnn_old"))
    sys.path.insert(0, folder)
    import manual_rnn_old
    return manual_rnn_old


def compare(old, config, cell, dtype, budget):
    T, B, I, H, O = CONFIGS[config]
    steps = {}
    for name, package in (("old", old), ("new", new)):
        spec = package.Spec(cell=cell, input_size=I, hidden_size=H, output_size=O)
        params = {k: v.astype(dtype) for k, v in package.init_params(spec, seed=0).items()}
        xs, targets = make_data(spec, T, B, dtype)
        steps[name] = (lambda p=package, s=spec, w=params, x=xs, y=targets:
                       p.loss_and_grad(s, w, x, y, loss="mse"))
    losses = {name: float(step()[0]) for name, step in steps.items()}
    if not np.isclose(losses["old"], losses["new"], rtol=1e-5):
        raise SystemExit(f"the revisions disagree on the loss: {losses}")
    times = {"old": [], "new": []}
    end, rounds = time.perf_counter() + budget, 0
    while time.perf_counter() < end or rounds < 6:
        for name in (("old", "new") if rounds % 2 else ("new", "old")):
            start = time.perf_counter()
            steps[name]()
            times[name].append(time.perf_counter() - start)
        rounds += 1
    old_ms, new_ms = (1e3 * statistics.median(times[k]) for k in ("old", "new"))
    print(f"{config:6} {cell:4} {dtype}: old {old_ms:9.3f} ms  new {new_ms:9.3f} ms  "
          f"new/old {new_ms / old_ms:.2f}  ({rounds} rounds)", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision")
    parser.add_argument("--configs", nargs="+", choices=CONFIGS, default=["tiny", "small", "long"])
    parser.add_argument("--cells", nargs="+", choices=CELLS, default=list(CELLS))
    parser.add_argument("--dtypes", nargs="+", choices=DTYPES, default=list(DTYPES))
    parser.add_argument("--budget", type=float, default=3.0, help="seconds per row")
    args = parser.parse_args()
    old = import_revision(args.revision)
    for config in args.configs:
        for cell in args.cells:
            for dtype in args.dtypes:
                compare(old, config, cell, dtype, args.budget)


if __name__ == "__main__":
    main()
