"""The adding problem with T = 50: the LSTM and the GRU learn it, the Elman RNN does not.

Trains every cell with the same settings (Adam, gradients clipped to norm 1, one seed) through
`manual_rnn.app.train`, evaluates on held-out sequences, and writes

    examples/adding_problem.png   test MSE against step, every cell in one picture
    examples/adding_problem.md    the settings and the results table

Always answering 1.0 scores MSE 1/6 (the sum of two U(0, 1) has variance 1/6); the problem
counts as solved below 0.01.

    python examples/adding_problem.py                 # the defaults: several minutes
    python examples/adding_problem.py --steps 300     # a quick look
"""
import argparse
import os
import sys

# The matrices are small (batch x hidden): BLAS threads cost more than they give here.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from manual_rnn.app import train  # noqa: E402
from manual_rnn.app.plot import moving_average, require_matplotlib  # noqa: E402
from manual_rnn.cells import CELLS  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOLVED, BASELINE = 0.01, 1 / 6


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seq-len", type=int, default=50)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=4000)
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--eval-batch", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", choices=["float32", "float64"], default="float64")
    p.add_argument("--cells", nargs="+", choices=list(CELLS), default=list(CELLS))
    p.add_argument("--out", default=os.path.join(HERE, "adding_problem"),
                   help="path of the outputs without extension (.png and .md are added)")
    return p.parse_args(argv)


def train_cell(cell, args):
    config = train.Config(task="adding", seq_len=args.seq_len, cell=cell, hidden=args.hidden,
                          optimizer="adam", lr=args.lr, clip=1.0, steps=args.steps,
                          batch=args.batch, seed=args.seed, eval_every=args.eval_every,
                          eval_batch=args.eval_batch, dtype=args.dtype)

    def report(state):
        if state.history.eval_step[-1] == state.step:
            print(f"  {cell:5} step {state.step:>5}  test MSE {state.history.eval_metric[-1]:.5f}",
                  flush=True)
    return train.train(config, callback=report)


def plot(path, states, args):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(9, 5.5), layout="constrained")
    ax = fig.subplots()
    for (cell, state), colour in zip(states.items(), ("tab:red", "tab:blue", "tab:green",
                                                        "tab:purple", "tab:orange")):
        h = state.history
        # The training loss is 0.5 (y - target)^2 averaged over the batch: twice it is an MSE.
        ax.plot(np.arange(1, len(h.train_loss) + 1),
                moving_average(2 * np.asarray(h.train_loss), 50), color=colour, alpha=0.3, lw=1)
        ax.plot(h.eval_step, h.eval_metric, "o-", ms=2.5, color=colour,
                label=f"{cell}: test MSE {h.eval_metric[-1]:.4f}")
    ax.axhline(BASELINE, color="grey", ls="--", lw=1, label="always 1.0: MSE 1/6")
    ax.axhline(SOLVED, color="black", ls=":", lw=1, label=f"solved: MSE < {SOLVED}")
    ax.set_yscale("log")
    ax.set(xlabel="training step", ylabel=f"MSE (points: {args.eval_batch} held-out sequences; "
                                          "faint: training, mean of 50 steps)")
    ax.set_title(f"Adding problem, T = {args.seq_len}: hidden {args.hidden}, Adam lr {args.lr}, "
                 f"clip 1.0, batch {args.batch}, {args.dtype}, seed {args.seed}", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.savefig(path, dpi=110)


def report(states, args, argv):
    rows = []
    for cell, state in states.items():
        h = state.history
        solved = next((s for s, m in zip(h.eval_step, h.eval_metric) if m < SOLVED), "never")
        verdict = ("solved" if h.eval_metric[-1] < SOLVED
                   else f"not solved ({h.eval_metric[-1] / BASELINE:.0%} of the baseline)")
        rows.append(f"| {cell} | {sum(p.size for p in state.params.values()):,} | {state.step} | "
                    f"{h.eval_metric[-1]:.5f} | {min(h.eval_metric):.5f} | {solved} | "
                    f"{verdict} |")
    name = os.path.basename(args.out)
    return "\n".join([
        f"# Adding problem, T = {args.seq_len}", "",
        f"`python examples/adding_problem.py {' '.join(argv)}`".replace(" `", "`"), "",
        f"Each cell trained for {args.steps} steps of {args.batch} sequences with Adam "
        f"(lr {args.lr}), gradients clipped to norm 1.0, hidden size {args.hidden}, "
        f"{args.dtype}, seed {args.seed}, full BPTT; test MSE on {args.eval_batch} held-out "
        f"sequences every {args.eval_every} steps. Always answering 1.0 scores 1/6 = 0.167.",
        "", "| cell | parameters | steps | final test MSE | best test MSE | first step below "
        f"{SOLVED} | verdict |", "|---|---:|---:|---:|---:|---:|---|", *rows, "",
        f"![test MSE against step]({name}.png)", ""])


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    require_matplotlib()
    states = {}
    for cell in args.cells:
        print(f"training {cell} ...", flush=True)
        states[cell] = train_cell(cell, args)
    plot(args.out + ".png", states, args)
    text = report(states, args, argv)
    with open(args.out + ".md", "w") as f:
        f.write(text)
    print(text + f"\nwrote {args.out}.png and {args.out}.md")


if __name__ == "__main__":
    main()
