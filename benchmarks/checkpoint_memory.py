"""Checkpointed BPTT: peak memory and time of one training step against checkpoint_every.

    PYTHONPATH=. python benchmarks/checkpoint_memory.py [--T 1000] [--cell lstm]

Peak memory is tracemalloc's peak during one `loss_and_grad` call (NumPy reports its
allocations to tracemalloc), so it is exact and does not depend on the machine's load; times
are medians over alternating rounds, and do.
"""
import argparse
import time
import tracemalloc

import numpy as np

import manual_rnn as mr


def step(spec, params, xs, targets, every):
    return mr.loss_and_grad(spec, params, xs, targets, checkpoint_every=every)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--T", type=int, default=1000)
    parser.add_argument("--B", type=int, default=8)
    parser.add_argument("--H", type=int, default=64)
    parser.add_argument("--cell", default="lstm")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    spec = mr.Spec(cell=args.cell, input_size=16, hidden_size=args.H, output_size=16)
    params = mr.init_params(spec, seed=0)
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(args.T, args.B, 16))
    targets = rng.normal(size=(args.T, args.B, 16))
    choices = [None] + [k for k in (10, 32, 100, 316) if k < args.T]
    reference = step(spec, params, xs, targets, None)[1]
    peaks, times = {}, {k: [] for k in choices}
    for every in choices:
        grads = step(spec, params, xs, targets, every)[1]
        worst = max(float(np.max(np.abs(grads[n] - reference[n]))) for n in grads)
        assert worst < 1e-10, (every, worst)
        tracemalloc.start()
        step(spec, params, xs, targets, every)
        peaks[every] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    for _ in range(args.rounds):
        for every in choices:
            start = time.perf_counter()
            step(spec, params, xs, targets, every)
            times[every].append(time.perf_counter() - start)
    base = np.median(times[None])
    print(f"{args.cell}, T={args.T}, B={args.B}, H={args.H}, float64; same gradients to 1e-10\n")
    print("| checkpoint_every | cached segments | peak MiB | ms / step | time vs plain |")
    print("|---|---:|---:|---:|---:|")
    for every in choices:
        segments = 1 if every is None else -(-args.T // every)
        median = np.median(times[every])
        print(f"| {every or 'off'} | {segments} | {peaks[every]:.1f} | {median * 1e3:.0f} | "
              f"{median / base:.2f} |")


if __name__ == "__main__":
    main()
