#!/usr/bin/env python
"""How much of NumPy's GEMM peak can a step reach at all? The step's matmuls alone, timed.

    product   mr.loss_and_grad(spec, params, xs, targets, loss="mse"), as in bench_step.py
    matmuls   the same step's matmuls and nothing else, on its shapes and in its order: the
              input projection, T recurrent (B, H) @ (H, G*H) np.dots, the read-out, its two
              gradients, T recurrent np.dots back, dW_hh, dW_ih and dx

bench_step.py's "% GEMM peak" divides a step's matmul FLOPs by its time and by the rate of one
2048x2048 matmul. The `matmuls` row divides the same FLOPs by the time of the matmuls alone:
that is the most any implementation of this step can reach with NumPy's BLAS, whatever it does
between the matmuls. "matmul share" is matmuls ms / product ms: the part of the product's step
that its matmuls would take by themselves.

    PYTHONPATH=. python benchmarks/gemm_ceiling.py                    # medium, large: ~3 min
    PYTHONPATH=. python benchmarks/gemm_ceiling.py --configs large --cells lstm --budget 20
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_step import (CELLS, CONFIGS, DTYPES, GATES, OpenBLAS, gemm_rate,  # noqa: E402
                        machine_header, markdown_table, measure_all, product_contender,
                        step_flops, time_row)


def matmuls_contender(cell, T, B, I, H, O, dtype):
    """Every matmul of one step of the product, on random arrays of its shapes."""
    G = GATES[cell] * H
    rng = np.random.default_rng(4)

    def array(*shape):
        return rng.standard_normal(shape).astype(dtype)

    x, w_ih, w_hh, w_head = array(T * B, I), array(G, I), array(G, H), array(O, H)
    hs, da, dys = array(T + 1, B, H), array(T, B, G), array(T * B, O)
    xproj, dx = np.empty((T * B, G), dtype), np.empty((T * B, I), dtype)
    a, dh = np.empty((B, G), dtype), np.empty((B, H), dtype)
    tops, das = hs[1:].reshape(T * B, H), da.reshape(T * B, G)

    def step():
        np.matmul(x, w_ih.T, out=xproj)                # input projection
        for t in range(T):
            np.dot(hs[t], w_hh.T, out=a)               # recurrence
        tops @ w_head.T                                # read-out
        dys @ w_head                                   # its input gradient
        dys.T @ tops                                   # dW_head
        for t in reversed(range(T)):
            np.dot(da[t], w_hh, out=dh)                # recurrence, backward
        das.T @ hs[:-1].reshape(T * B, H)              # dW_hh
        das.T @ x                                      # dW_ih
        np.matmul(das, w_ih, out=dx)                   # dx
    return step


def row(config, cell, dtype, budget, settle, peak):
    T, B, I, H, O = CONFIGS[config]

    def contenders(spec, params, xs, targets):
        return {"product": product_contender(spec, params, xs, targets),
                "matmuls": matmuls_contender(cell, T, B, I, H, O, dtype)}
    result = time_row(config, cell, dtype, contenders, budget, settle, calls=2)
    gflop = step_flops(cell, T, B, I, H, O) / 1e9
    return dict(result, **{f"{name} %": 100 * gflop / (ms / 1e3) / peak
                           for name, ms in result["ms"].items()})


def table(rows):
    head = ["config (T,B,I,H,O)", "cell", "dtype", "product ms", "matmuls ms", "matmul share",
            "product % GEMM peak", "matmuls alone % GEMM peak", "rounds",
            "1-min load before -> after"]
    return markdown_table(head, [[
        f"{r['config']} {CONFIGS[r['config']]}", r["cell"], r["dtype"],
        f"{r['ms']['product']:.3g}", f"{r['ms']['matmuls']:.3g}",
        f"{r['ms']['matmuls'] / r['ms']['product']:.0%}", f"{r['product %']:.0f}%",
        f"**{r['matmuls %']:.0f}%**", str(r["rounds"]), r["load"]]
        for r in rows])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", choices=CONFIGS, default=["medium", "large"])
    parser.add_argument("--cells", nargs="+", choices=CELLS, default=list(CELLS))
    parser.add_argument("--dtypes", nargs="+", choices=DTYPES, default=list(DTYPES))
    parser.add_argument("--budget", type=float, default=8.0, help="seconds per row")
    parser.add_argument("--settle-ms", type=float, default=100.0,
                        help="sleep before every turn (as in bench_step.py)")
    parser.add_argument("--gemm-size", type=int, default=2048)
    parser.add_argument("--out", help="also write the header and table to this file")
    args = parser.parse_args()
    peaks = {dtype: gemm_rate(dtype, args.gemm_size, 5) for dtype in args.dtypes}
    lines = ["## Machine", ""] + machine_header(None, None, OpenBLAS(), "library defaults",
                                                no_torch="PyTorch not used here",
                                                no_jax="JAX not used here")
    lines.append("- NumPy GEMM peak (%dx%d matmul, median of 5): %s" % (
        args.gemm_size, args.gemm_size,
        ", ".join(f"{dtype} {rate:.1f} GFLOP/s" for dtype, rate in peaks.items())))
    print("\n".join(lines), flush=True)
    measure_all(args, lambda config, cell, dtype: row(config, cell, dtype, args.budget,
                                                      args.settle_ms / 1e3, peaks[dtype]),
                table, lines)


if __name__ == "__main__":
    main()
