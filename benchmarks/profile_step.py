#!/usr/bin/env python
"""Where one training step of manual_rnn spends its time: per function (cProfile) and per
source line of manual_rnn (a small tracing line timer: every interval between two line events
is charged to the line that was running, calls into manual_rnn's own functions are split off,
and time inside NumPy -- matmuls, ufuncs, np.split -- stays with the line that called it).

    PYTHONPATH=. python benchmarks/profile_step.py --config tiny --cell lstm
    PYTHONPATH=. python benchmarks/profile_step.py --config large --cell lstm --steps 2 --top 25
    PYTHONPATH=. python benchmarks/profile_step.py --config large --cell lstm --threads 1

The line timer adds about a microsecond per traced line, so for the tiny configuration its
shares are only indicative (compare with the cProfile view); for medium and large ones, where a
line costs hundreds of microseconds, they are accurate.
"""
import argparse
import cProfile
import linecache
import os
import pstats
import sys
import time
from collections import defaultdict

import manual_rnn as mr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_step import CONFIGS, PRODUCT_SOURCE, OpenBLAS, problem  # noqa: E402

PACKAGE = os.path.dirname(os.path.abspath(mr.__file__))


def line_times(step, steps):
    """{(file, line): [seconds, hits]} over `steps` calls of step(), for manual_rnn's lines."""
    stats = defaultdict(lambda: [0.0, 0])
    current = [None]           # the (file, line) being charged
    stack = []                 # callers' (file, line) while inside a traced callee
    clock = [time.perf_counter()]

    def charge():
        now = time.perf_counter()
        if current[0] is not None:
            stats[current[0]][0] += now - clock[0]
        clock[0] = now

    def tracer(frame, event, arg):
        if not frame.f_code.co_filename.startswith(PACKAGE):
            return None
        if event == "call":
            charge()
            stack.append(current[0])
            current[0] = None
            return tracer
        if event == "line":
            charge()
            current[0] = (frame.f_code.co_filename, frame.f_lineno)
            stats[current[0]][1] += 1
        elif event == "return":
            charge()
            current[0] = stack.pop() if stack else None
        return tracer

    sys.settrace(tracer)
    try:
        for _ in range(steps):
            step()
    finally:
        sys.settrace(None)
    return stats


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", choices=CONFIGS, default="tiny")
    p.add_argument("--cell", choices=("rnn", "lstm", "gru"), default="lstm")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--steps", type=int, default=0, help="steps to profile (default: ~2 s worth)")
    p.add_argument("--top", type=int, default=20)
    p.add_argument("--threads", type=int, default=0, help="NumPy's OpenBLAS threads (0: as found)")
    args = p.parse_args(argv)

    if args.threads:
        OpenBLAS().set_num_threads(args.threads)
    spec, params, xs, targets = problem(args.config, args.cell, args.dtype)

    def step():
        return mr.loss_and_grad(spec, params, xs, targets, loss="mse")

    step()
    t0 = time.perf_counter()
    step()
    one = time.perf_counter() - t0
    steps = args.steps or max(1, int(2.0 / one))
    print(f"manual_rnn source sha256 {PRODUCT_SOURCE[0]} (newest file {PRODUCT_SOURCE[1]})")
    print(f"{args.config} {CONFIGS[args.config]} {args.cell} {args.dtype}: {1e3 * one:.3f} ms "
          f"per step untraced; profiling {steps} steps\n")

    prof = cProfile.Profile()
    prof.runcall(lambda: [step() for _ in range(steps)])
    print("## cProfile, by own time (NumPy ufuncs and @ are not calls cProfile sees: their time "
          "is in the calling function's own time)")
    pstats.Stats(prof).sort_stats("tottime").print_stats(args.top)

    stats = line_times(step, steps)
    total = sum(s for s, _ in stats.values())
    print(f"## manual_rnn lines by time ({1e3 * total / steps:.3f} ms traced per step)")
    print(f"{'share':>6} {'ms/step':>9} {'hits/step':>9}  line")
    for (path, line), (sec, hits) in sorted(stats.items(), key=lambda kv: -kv[1][0])[:args.top]:
        src = linecache.getline(path, line).strip()
        where = f"{os.path.relpath(path, os.path.dirname(PACKAGE))}:{line}"
        print(f"{100 * sec / total:5.1f}% {1e3 * sec / steps:9.3f} {hits / steps:9.0f}  "
              f"{where:32s} {src[:90]}")


if __name__ == "__main__":
    main()
