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

from manual_rnn import checks, layers
from manual_rnn.cells import CELLS as CELL_MODULES

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_step import (CELLS, CONFIGS, DTYPES, GATES, import_jax, jax_contender,  # noqa: E402
                        machine_header, markdown_table, measure_all, product_contender,
                        time_row, OpenBLAS)


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


def prices(cell, B, H, dtype, calls=2000):
    """(one in-place (B, H) multiply, one (B, H) @ (H, G*H) np.dot), in seconds."""
    rng = np.random.default_rng(3)
    a, b, out = (rng.standard_normal((B, H)).astype(dtype) for _ in range(3))
    w = rng.standard_normal((GATES[cell] * H, H)).astype(dtype)
    u = np.empty((B, GATES[cell] * H), dtype)
    return (call_price(lambda: np.multiply(a, b, out=out), calls),
            call_price(lambda: np.dot(a, w.T, out=u), calls))


def row(jax, ref, config, cell, dtype, budget, settle):
    def contenders(spec, params, xs, targets):
        return {"product": product_contender(spec, params, xs, targets),
                "cells": cells_contender(spec, params, xs),
                "jax": jax_contender(jax, ref, spec, params, xs, targets)[0]}
    # A pause before each turn and three calls a turn, the first not counted (see
    # bench_step.alternate: threads left spinning by the previous contender).
    result = time_row(config, cell, dtype, contenders, budget, settle, calls=3)
    T, B, I, H, O = CONFIGS[config]
    multiply, dot = prices(cell, B, H, dtype)
    return dict(result, T=T, multiply_us=1e6 * multiply, dot_us=1e6 * dot)


def table(rows):
    head = ["config (T,B,I,H,O)", "cell", "dtype", "product ms", "cells ms", "JAX ms",
            "product/JAX", "cells/JAX", "cells us/time step", "JAX us/time step",
            "one (B,H) multiply us", "one recurrent np.dot us", "rounds",
            "1-min load before -> after"]
    return markdown_table(head, [[
        f"{r['config']} {CONFIGS[r['config']]}", r["cell"], r["dtype"],
        f"{r['ms']['product']:.3g}", f"{r['ms']['cells']:.3g}", f"{r['ms']['jax']:.3g}",
        f"**{r['ms']['product'] / r['ms']['jax']:.2f}**",
        f"**{r['ms']['cells'] / r['ms']['jax']:.2f}**",
        f"{1e3 * r['ms']['cells'] / r['T']:.3g}", f"{1e3 * r['ms']['jax'] / r['T']:.3g}",
        f"{r['multiply_us']:.2f}", f"{r['dot_us']:.2f}", str(r["rounds"]), r["load"]]
        for r in rows])


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
    measure_all(args, lambda config, cell, dtype: row(jax, ref, config, cell, dtype, args.budget,
                                                      args.settle_ms / 1e3), table, lines)


if __name__ == "__main__":
    main()
