#!/usr/bin/env python
"""What single NumPy calls cost on this machine: the prices behind a small step's time loop.

For each configuration's (B, H) and dtype it prices, as medians of batches of calls:

    multiply    an in-place multiply of two contiguous (B, H) arrays, out= given
    strided     the same multiply on a gate block of a (B, 4H) array (a view with row stride 4H),
                as the LSTM's f[t] * c_{t-1} reads it
    sigmoid     the product's sigmoid over a step's (B, 4H) LSTM gates (4 calls, one exp)
    tanh        np.tanh over a (B, H) array
    np.dot      the recurrent (B, H) @ (H, 4H)
    finite?     checks.all_finite on a 12-number parameter, as every step checks each parameter

(multiply and np.dot are floor.py's own prices) and, per number on a 2^20-element array, exp,
tanh and multiply: how much of a call is the arithmetic itself. Nothing here needs JAX.

    PYTHONPATH=. python benchmarks/call_costs.py
    PYTHONPATH=. python benchmarks/call_costs.py --configs small --out /tmp/costs.md
"""
import argparse
import os
import sys

import numpy as np

from manual_rnn.activations import overflow_to_zero, sigmoid_in_loop
from manual_rnn.checks import all_finite

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_step import (CONFIGS, DTYPES, OpenBLAS, loadavg, machine_header,  # noqa: E402
                        markdown_table)
from floor import call_price, prices  # noqa: E402


def step_prices(B, H, dtype, calls):
    """{operation: microseconds per call} on one time step's shapes."""
    rng = np.random.default_rng(0)
    a, b, out = (rng.uniform(-1, 1, (B, H)).astype(dtype) for _ in range(3))
    gates = rng.uniform(-3, 3, (B, 4 * H)).astype(dtype)
    block = gates[:, H:2 * H]
    activated = np.empty_like(gates)
    param = rng.uniform(-1, 1, 12).astype(dtype)

    ops = {"strided": lambda: np.multiply(block, b, out=out),
           "sigmoid": lambda: sigmoid_in_loop(gates, out=activated),
           "tanh": lambda: np.tanh(a, out=out),
           "finite?": lambda: all_finite(param)}
    with overflow_to_zero():           # entered once, as the cells enter it around their loop
        us = {name: 1e6 * call_price(fn, calls) for name, fn in ops.items()}
    us["multiply"], us["np.dot"] = (1e6 * s for s in prices("lstm", B, H, dtype, calls))
    return us


def per_number(dtype, n=1 << 20):
    """{function: nanoseconds per number} over an n-element contiguous array."""
    x = np.random.default_rng(1).uniform(-3, 3, n).astype(dtype)
    out = np.empty_like(x)
    ops = {"exp": lambda: np.exp(x, out=out), "tanh": lambda: np.tanh(x, out=out),
           "multiply": lambda: np.multiply(x, x, out=out)}
    return {name: 1e9 * call_price(fn, calls=5) / n for name, fn in ops.items()}


def simd_found():
    """The SIMD extensions NumPy dispatches to here (its exp and tanh loops depend on them)."""
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:                                # NumPy < 2: not reported
        return "n/a"
    return ", ".join(f for f in __cpu_dispatch__ if __cpu_features__.get(f)) or "none"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", choices=CONFIGS, default=["small", "long"])
    parser.add_argument("--dtypes", nargs="+", choices=DTYPES, default=list(DTYPES))
    parser.add_argument("--calls", type=int, default=2000, help="calls per timed batch")
    parser.add_argument("--out", help="also write the header and tables to this file")
    args = parser.parse_args(argv)

    lines = ["## Machine", ""] + machine_header(None, None, OpenBLAS(), "library defaults",
                                                no_torch="PyTorch not used here",
                                                no_jax="JAX not used here",
                                                per_row_load=False)
    lines.append(f"- NumPy SIMD extensions found: {simd_found()}")
    names = ["multiply", "strided", "sigmoid", "tanh", "np.dot", "finite?"]
    rows = []
    for config in args.configs:
        T, B, I, H, O = CONFIGS[config]
        for dtype in args.dtypes:
            us = step_prices(B, H, np.dtype(dtype), args.calls)
            rows.append([f"{config} (B={B}, H={H})", dtype] + [f"{us[n]:.2f}" for n in names])
    lines += ["", "## One call, microseconds (median of 7 batches)", ""]
    lines += markdown_table(["config", "dtype"] + names, rows)
    lines += ["", "## Per number on 2^20 numbers, nanoseconds", ""]
    lines += markdown_table(["dtype", "exp", "tanh", "multiply"], [
        [dtype] + [f"{ns:.2f}" for ns in per_number(np.dtype(dtype)).values()]
        for dtype in args.dtypes])
    lines += ["", f"- load average at end: {loadavg()}"]
    print("\n".join(lines))
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
