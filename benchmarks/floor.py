#!/usr/bin/env python
"""How much of a step is the time loop? The product's step, its cell pair alone, and JAX.

    product   mr.loss_and_grad(spec, params, xs, targets, loss="mse"), as in bench_step.py
    cells     the product's own cell.forward + cell.backward for its one layer, on a ready input
              projection and output gradient: the time loops and the whole-array passes of
              the local derivatives, nothing else (no checks, no input projection or its
              gradients, no read-out, no loss)
    jax       the jitted JAX twin's whole step, as in bench_step.py

If `cells` alone takes longer than JAX's whole step, no work outside the cells can bring the
product under JAX: the gap is in the time loop. The loop's cost is then its NumPy calls per step
times the price of one call, and the table prints that price, measured on the step's own
shapes: one in-place multiply of two (B, H) arrays, one (B, H) @ (H, G*H) np.dot.

    PYTHONPATH=. python benchmarks/floor.py                       # tiny, small, long: ~2 min
    PYTHONPATH=. python benchmarks/floor.py --configs small --cells lstm --budget 5
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

import manual_rnn as mr
from manual_rnn import checks, layers
from manual_rnn.cells import CELLS as CELL_MODULES

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_step import (CELLS, CONFIGS, DTYPES, GATES, alternate, import_jax,  # noqa: E402
                        jax_contender, loadavg, make_data, machine_header, product_contender,
                        OpenBLAS, warm_up)


def cells_contender(spec, params, xs):
    """The cell pair of the product's one layer, on what `layers` would hand it."""
    cell = CELL_MODULES[spec.cell]
    p = layers.direction_params(params, 0, "")
    xproj = layers.project(cell, p, xs)
    _, layout = checks.inputs(spec, xs, xs.dtype)
    state0 = tuple(s[0] for s in checks.state(spec, "h0", None, layout, xs.dtype))  # layer 0
    rng = np.random.default_rng(2)
    dhs = rng.standard_normal(xs.shape[:2] + state0[0].shape[-1:]).astype(xs.dtype)
    dstates = (dhs,) + (None,) * (len(state0) - 1)
    dlast = tuple(np.zeros_like(s) for s in state0)

    def step():
        # The forward writes its gates over xproj, so every call starts from a fresh copy (as
        # the product's does: it projects the inputs anew).
        _, cache = cell.forward(spec, p, xproj.copy(), state0)
        cell.backward(spec, p, cache, dstates, dlast)
    return step


def call_price(fn, calls=2000, repeats=7):
    """Median seconds of one call of fn, over `repeats` batches of `calls` calls."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - t0) / calls)
    return statistics.median(times)


def prices(cell, B, H, dtype):
    """(one in-place (B, H) multiply, one (B, H) @ (H, G*H) np.dot), in seconds."""
    rng = np.random.default_rng(3)
    a, b, out = (rng.standard_normal((B, H)).astype(dtype) for _ in range(3))
    w = rng.standard_normal((GATES[cell] * H, H)).astype(dtype)
    u = np.empty((B, GATES[cell] * H), dtype)
    return (call_price(lambda: np.multiply(a, b, out=out)),
            call_price(lambda: np.dot(a, w.T, out=u)))


def row(jax, ref, config, cell, dtype, budget, settle):
    T, B, I, H, O = CONFIGS[config]
    spec = mr.Spec(cell=cell, input_size=I, hidden_size=H, output_size=O)
    params = mr.init_params(spec, seed=0, dtype=np.dtype(dtype))
    xs, targets = make_data(spec, T, B, dtype)
    load_before = loadavg().split()[0]
    contenders = {"product": product_contender(spec, params, xs, targets),
                  "cells": cells_contender(spec, params, xs),
                  "jax": jax_contender(jax, ref, spec, params, xs, targets)[0]}
    for fn in contenders.values():
        warm_up(fn)
    # A pause before each turn and three calls a turn, the first not counted (see
    # bench_step.alternate: threads left spinning by the previous contender).
    samples, rounds = alternate(contenders, 10 ** 6, least=5,
                                deadline=time.perf_counter() + budget,
                                calls={name: 3 for name in contenders}, settle=settle)
    ms = {name: 1e3 * statistics.median(ts) for name, ts in samples.items()}
    multiply, dot = prices(cell, B, H, dtype)
    return {"config": config, "cell": cell, "dtype": dtype, "ms": ms, "rounds": rounds, "T": T,
            "multiply_us": 1e6 * multiply, "dot_us": 1e6 * dot,
            "load": f"{load_before} -> {loadavg().split()[0]}"}


def table(rows):
    head = ["config (T,B,I,H,O)", "cell", "dtype", "product ms", "cells ms", "JAX ms",
            "product/JAX", "cells/JAX", "cells us/time step", "JAX us/time step",
            "one (B,H) multiply us", "one recurrent np.dot us", "rounds",
            "1-min load before -> after"]
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        ms = r["ms"]
        out.append("| " + " | ".join([
            f"{r['config']} {CONFIGS[r['config']]}", r["cell"], r["dtype"],
            f"{ms['product']:.3g}", f"{ms['cells']:.3g}", f"{ms['jax']:.3g}",
            f"**{ms['product'] / ms['jax']:.2f}**", f"**{ms['cells'] / ms['jax']:.2f}**",
            f"{1e3 * ms['cells'] / r['T']:.3g}", f"{1e3 * ms['jax'] / r['T']:.3g}",
            f"{r['multiply_us']:.2f}", f"{r['dot_us']:.2f}", str(r["rounds"]), r["load"]]) + " |")
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", choices=CONFIGS, default=["tiny", "small", "long"])
    parser.add_argument("--cells", nargs="+", choices=CELLS, default=list(CELLS))
    parser.add_argument("--dtypes", nargs="+", choices=DTYPES, default=list(DTYPES))
    parser.add_argument("--budget", type=float, default=6.0, help="seconds per row")
    parser.add_argument("--settle-ms", type=float, default=100.0,
                        help="sleep before every turn (as in bench_step.py)")
    parser.add_argument("--out", help="also write the header and table to this file")
    args = parser.parse_args()
    jax, ref = import_jax()
    if jax is None:
        raise SystemExit("floor.py compares against the JAX twin: pip install -e '.[test]'")
    lines = ["## Machine", ""] + machine_header(jax, None, OpenBLAS(), "library defaults",
                                                no_torch="PyTorch not used here")
    print("\n".join(lines), flush=True)
    rows = []
    for config in args.configs:
        for cell in args.cells:
            for dtype in args.dtypes:
                rows.append(row(jax, ref, config, cell, dtype, args.budget, args.settle_ms / 1e3))
                print(table(rows)[-1], flush=True)
    lines += [f"- load average at end: {loadavg()}", "", "## Results", ""] + table(rows)
    print("\n".join(lines[-len(rows) - 2:]))
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
