"""The adding problem with T = 50: LSTM and GRU learn it, the tanh RNN does not.

Evidence, not a unit test. Trains the three cells one after the other with the same settings
(Adam, gradient clipping at norm 1, one seed) through `manual_rnn.train`, evaluates each on
held-out sequences from its own seeded stream, and writes

    benchmarks/adding_problem.png   test MSE against step, the three cells in one picture
    benchmarks/adding_problem.md    the results table and the settings

Always answering 1.0 scores MSE 1/6 = 0.167 (the sum of two U(0, 1) has variance 1/6); the
problem counts as solved below 0.01.

    python benchmarks/adding_problem.py                  # the defaults: about 10-15 minutes here
    python benchmarks/adding_problem.py --steps 300      # a quick look
"""
import argparse
import os
import sys
import time

# The matrices here are small (batch x hidden); on 2 shared cores OpenBLAS threads cost more
# in synchronisation than they give. Set before NumPy loads OpenBLAS.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import numpy as np  # noqa: E402

from manual_rnn.app import train  # noqa: E402
from manual_rnn.app.plot import moving_average, require_matplotlib  # noqa: E402

CELLS = {"lstm": "LSTM", "gru": "GRU", "rnn": "tanh RNN"}
COLOURS = {"lstm": "tab:blue", "gru": "tab:green", "rnn": "tab:red"}
SOLVED = 0.01
BASELINE = 1 / 6


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seq-len", type=int, default=50)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--eval-batch", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float64")
    parser.add_argument("--cells", nargs="+", choices=list(CELLS), default=list(CELLS))
    parser.add_argument("--out", default=os.path.join(HERE, "adding_problem"),
                        help="path of the outputs without extension (.png and .md are added)")
    return parser.parse_args(argv)


def train_cell(cell, args):
    """(config, final state, wall seconds) of one cell's run, printing each evaluation."""
    config = train.Config(task="adding", seq_len=args.seq_len, cell=cell, hidden=args.hidden,
                          optimizer="adam", lr=args.lr, clip=1.0, steps=args.steps,
                          batch=args.batch, seed=args.seed, eval_every=args.eval_every,
                          eval_batch=args.eval_batch, dtype=args.dtype)
    started = time.perf_counter()
    for state in train.run(config):
        history = state.history
        if history.eval_step[-1] == state.step:
            elapsed = time.perf_counter() - started
            print(f"  {CELLS[cell]:<8} step {state.step:>5}  test MSE {history.eval_metric[-1]:.5f}"
                  f"  ({elapsed:.0f} s)", flush=True)
    return config, state, time.perf_counter() - started


def first_solved(history):
    return next((s for s, m in zip(history.eval_step, history.eval_metric) if m < SOLVED), None)


def minutes(seconds):
    return f"{int(seconds // 60)}m{int(round(seconds % 60)):02d}s"


def plot(path, results, args):
    require_matplotlib()
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 5.5), layout="constrained")
    ax = fig.subplots()
    for cell, (config, state, wall) in results.items():
        h = state.history
        steps = np.arange(1, len(h.train_loss) + 1)
        # The training loss is 0.5 (y - target)^2 averaged over the batch: twice it is an MSE.
        ax.plot(steps, moving_average(2 * np.asarray(h.train_loss), 50), color=COLOURS[cell],
                alpha=0.3, lw=1)
        ax.plot(h.eval_step, h.eval_metric, "o-", ms=2.5, color=COLOURS[cell],
                label=f"{CELLS[cell]}: test MSE {h.eval_metric[-1]:.4f}, wall {minutes(wall)}")
    ax.axhline(BASELINE, color="grey", ls="--", lw=1, label="always 1.0: MSE 1/6 = 0.167")
    ax.axhline(SOLVED, color="black", ls=":", lw=1, label=f"solved: MSE < {SOLVED}")
    ax.set_yscale("log")
    ax.set(xlabel="training step",
           ylabel=f"MSE (points: {args.eval_batch} held-out sequences; faint: training, "
                  f"mean of 50 steps)")
    ax.set_title(f"Adding problem, T = {args.seq_len}: hidden {args.hidden}, Adam lr {args.lr}, "
                 f"clip 1.0, batch {args.batch}, {args.dtype}, seed {args.seed}", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.savefig(path, dpi=110)


def table(results):
    lines = ["| cell | parameters | steps | final test MSE | best test MSE | first step below "
             f"{SOLVED} | wall time | ms / step |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for cell, (config, state, wall) in results.items():
        h = state.history
        n = sum(p.size for p in state.params.values())
        solved = first_solved(h)
        lines.append(f"| {CELLS[cell]} | {n:,} | {state.step} | {h.eval_metric[-1]:.5f} | "
                     f"{min(h.eval_metric):.5f} | {solved if solved is not None else 'never'} | "
                     f"{minutes(wall)} | {1000 * wall / state.step:.0f} |")
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    require_matplotlib()
    results = {}
    for cell in args.cells:
        print(f"training {CELLS[cell]} ...", flush=True)
        results[cell] = train_cell(cell, args)
    plot(args.out + ".png", results, args)
    summary = table(results)
    print("\n" + summary)
    command = "python benchmarks/adding_problem.py " + " ".join(sys.argv[1:] if argv is None
                                                               else argv)
    verdicts = []
    for cell, (_, state, _) in results.items():
        final = state.history.eval_metric[-1]
        verdicts.append(f"- {CELLS[cell]}: final test MSE {final:.5f}, "
                        + ("solved (< 0.01)" if final < SOLVED else
                           f"not solved ({final / BASELINE:.0%} of the always-1.0 baseline)"))
    with open(args.out + ".md", "w") as file:
        file.write(
            f"# Adding problem, T = {args.seq_len}\n\n"
            f"`{command.strip()}`: each cell trained for {args.steps} steps of {args.batch} "
            f"sequences with Adam (lr {args.lr}), gradients clipped to norm 1.0, hidden size "
            f"{args.hidden}, {args.dtype}, seed {args.seed}, full BPTT; test MSE on "
            f"{args.eval_batch} held-out sequences (a separately seeded stream) every "
            f"{args.eval_every} steps. Always answering 1.0 scores 1/6 = 0.167. Wall times are "
            f"on this project's 2-core shared machine, the cells run one after the other "
            f"(in all {minutes(sum(wall for _, _, wall in results.values()))}).\n\n"
            f"{summary}\n\n" + "\n".join(verdicts) + "\n\n"
            f"![test MSE against step]({os.path.basename(args.out)}.png)\n")
    print(f"\nwrote {args.out}.png and {args.out}.md")


if __name__ == "__main__":
    main()
