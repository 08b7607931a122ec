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
import statistics
import sys
import time

import numpy as np

import manual_rnn as mr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_step import (CELLS, CONFIGS, DTYPES, GATES, OpenBLAS, alternate,  # noqa: E402
                        gemm_rate, loadavg, machine_header, make_data, product_contender,
                        step_flops, warm_up)


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
    spec = mr.Spec(cell=cell, input_size=I, hidden_size=H, output_size=O)
    params = mr.init_params(spec, seed=0, dtype=np.dtype(dtype))
    xs, targets = make_data(spec, T, B, dtype)
    load_before = loadavg().split()[0]
    contenders = {"product": product_contender(spec, params, xs, targets),
                  "matmuls": matmuls_contender(cell, T, B, I, H, O, dtype)}
    for fn in contenders.values():
        warm_up(fn)
    samples, rounds = alternate(contenders, 10 ** 6, least=5,
                                deadline=time.perf_counter() + budget,
                                calls={name: 2 for name in contenders}, settle=settle)
    ms = {name: 1e3 * statistics.median(ts) for name, ts in samples.items()}
    gflop = step_flops(cell, T, B, I, H, O) / 1e9
    return {"config": config, "cell": cell, "dtype": dtype, "ms": ms, "rounds": rounds,
            "product %": 100 * gflop / (ms["product"] / 1e3) / peak,
            "matmuls %": 100 * gflop / (ms["matmuls"] / 1e3) / peak,
            "load": f"{load_before} -> {loadavg().split()[0]}"}


def table(rows):
    head = ["config (T,B,I,H,O)", "cell", "dtype", "product ms", "matmuls ms", "matmul share",
            "product % GEMM peak", "matmuls alone % GEMM peak", "rounds",
            "1-min load before -> after"]
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        ms = r["ms"]
        out.append("| " + " | ".join([
            f"{r['config']} {CONFIGS[r['config']]}", r["cell"], r["dtype"],
            f"{ms['product']:.3g}", f"{ms['matmuls']:.3g}",
            f"{ms['matmuls'] / ms['product']:.0%}", f"{r['product %']:.0f}%",
            f"**{r['matmuls %']:.0f}%**", str(r["rounds"]), r["load"]]) + " |")
    return out


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
    rows = []
    for config in args.configs:
        for cell in args.cells:
            for dtype in args.dtypes:
                rows.append(row(config, cell, dtype, args.budget, args.settle_ms / 1e3,
                                peaks[dtype]))
                print(table(rows)[-1], flush=True)
    lines += [f"- load average at end: {loadavg()}", "", "## Results", ""] + table(rows)
    print("\n".join(lines[-len(rows) - 2:]))
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
