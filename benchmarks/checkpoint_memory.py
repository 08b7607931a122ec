"""What does checkpointed BPTT save and cost? Peak memory and time of a step per checkpoint_every.

`mr.loss_and_grad(..., checkpoint_every=k)` keeps the forward's cache for one segment of k
steps at a time and recomputes the others. For each k it reports the tracemalloc peak during
one step (NumPy reports its buffers to tracemalloc, so the peak does not depend on the load),
the median time of alternating rounds, and checks that the gradients equal the plain step's.

    python -m benchmarks.checkpoint_memory
    python -m benchmarks.checkpoint_memory --T 200 --cell gru --out /tmp/checkpoint.md
"""
import tracemalloc

import numpy as np

import manual_rnn as mr

from . import harness


def main(argv=None):
    p = harness.parser(__doc__)
    p.add_argument("--T", type=int, default=1000)
    p.add_argument("--B", type=int, default=8)
    p.add_argument("--H", type=int, default=64)
    p.add_argument("--cell", default="lstm", choices=harness.cell_names())
    harness.add_options(p, budget=6.0)
    args = p.parse_args(argv)
    header = harness.machine_header()
    spec = mr.Spec(cell=args.cell, input_size=16, hidden_size=args.H, output_size=16)
    params = mr.init_params(spec, seed=0)
    rng = np.random.default_rng(1)
    xs, targets = (rng.standard_normal((args.T, args.B, 16)) for _ in range(2))

    def step(every):
        return lambda: mr.loss_and_grad(spec, params, xs, targets, checkpoint_every=every)

    plain = step(None)()[1]
    choices = [None] + [k for k in (10, 32, 100, 316) if k < args.T]
    peaks, worst = {}, 0.0
    for every in choices:
        tracemalloc.start()
        grads = step(every)()[1]
        peaks[every] = tracemalloc.get_traced_memory()[1] / 2 ** 20
        tracemalloc.stop()
        worst = max([worst] + [float(np.max(np.abs(grads[n] - plain[n]))) for n in grads])
    samples, rounds, _ = harness.measure({every: step(every) for every in choices}, args)
    base = harness.median_ms(samples[None])
    rows = [[every or "off", 1 if every is None else -(-args.T // every), f"{peaks[every]:.1f}",
             harness.fmt_ms(samples[every]), f"{harness.median_ms(samples[every]) / base:.2f}"]
            for every in choices]
    body = [f"{args.cell}, T={args.T}, B={args.B}, H={args.H}, float64, {rounds} rounds; "
            f"largest gradient difference from the plain step: {worst:.1e}", "",
            *harness.markdown_table(["checkpoint_every", "segments", "peak MiB", "ms / step",
                                     "time / plain"], rows)]
    body.append(f"\n- load average at end: {harness.loadavg()}")
    harness.report(args.out, "Checkpointed BPTT: memory and time", header, body)


if __name__ == "__main__":
    main()
