"""A character model on a small text: an LSTM on the opening of *Pride and Prejudice*.

The text (examples/pride_and_prejudice_ch1.txt, Jane Austen, 1813, public domain) is split
90% / 10%: the model trains on windows of the first part with truncated BPTT through
`manual_rnn.app.train` and is evaluated on the last part, never trained on. Writes

    examples/char_model.png   training and held-out loss, held-out bits/char, against step
    examples/char_model.md    the settings, bits/char at every evaluation, and samples

    python examples/char_model.py                              # the defaults: a few minutes
    python examples/char_model.py --steps 20 --hidden 16 --out /tmp/char
"""
import argparse
import math
import os
import sys

import numpy as np

from manual_rnn.app import tasks, train
from manual_rnn.app.plot import plot_history, require_matplotlib

HERE = os.path.dirname(os.path.abspath(__file__))
TEXT = "pride_and_prejudice_ch1.txt"


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seq-len", type=int, default=64)
    p.add_argument("--tbptt", type=int, default=32)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--eval-every", type=int, default=50)
    p.add_argument("--eval-batch", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--prime", default="My dear")
    p.add_argument("--out", default=os.path.join(HERE, "char_model"),
                   help="path of the outputs without extension (.png and .md are added)")
    return p.parse_args(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    require_matplotlib()
    config = train.Config(task="char", text=os.path.join(HERE, TEXT), seq_len=args.seq_len,
                          tbptt=args.tbptt, cell="lstm", hidden=args.hidden, batch=args.batch,
                          lr=args.lr, steps=args.steps, eval_every=args.eval_every,
                          eval_batch=args.eval_batch, seed=args.seed)
    task = train.build_task(config)

    def progress(state):
        if state.history.eval_step[-1] == state.step:
            print(f"step {state.step:>5}  held-out bits/char {state.history.eval_metric[-1]:.3f}",
                  flush=True)
    state = train.train(config, task=task, callback=progress)
    h = state.history
    plot_history(args.out + ".png", h, metric_name="bits/char",
                 title=f"LSTM on {TEXT}, {state.step} steps")

    # The training loss is the cross-entropy in nats summed over a sequence, batch mean.
    bits = np.asarray(h.train_loss) / (args.seq_len * math.log(2))
    rows = [f"| {s} | {bits[max(0, s - args.eval_every):s].mean():.3f} | {m:.3f} |" if s else
            f"| 0 | - | {m:.3f} |" for s, m in zip(h.eval_step, h.eval_metric)]
    best = h.eval_step[int(np.argmin(h.eval_metric))]
    samples = []
    for temperature in (0.5, 0.8, 1.0):
        text = tasks.sample_text(state.spec, state.params, task, length=300,
                                 temperature=temperature, prime=args.prime, seed=0)
        samples += [f"Temperature {temperature}:", "", "```", args.prime + text, "```", ""]
    lines = [
        "# A character model on a small text", "",
        f"`python examples/char_model.py {' '.join(argv)}`".replace(" `", "`"), "",
        f"Text: `{TEXT}`, {len(task.train_ids) + len(task.eval_ids):,} characters, "
        f"{len(task.vocab)} distinct; the first {len(task.train_ids):,} train, the last "
        f"{len(task.eval_ids):,} are held out. LSTM, one layer of {args.hidden} "
        f"({sum(p.size for p in state.params.values()):,} parameters, float64), Adam lr "
        f"{args.lr}, clip 1.0, windows of {args.seq_len} steps trained with truncated BPTT "
        f"over {args.tbptt}, batch {args.batch}, seed {args.seed}. Uniform guessing scores "
        f"{math.log2(len(task.vocab)):.3f} bits/char, the train text's character frequencies "
        f"{task.unigram_bits():.3f}.", "",
        f"| step | train bits/char (mean of the {args.eval_every} steps before) | held-out "
        "bits/char |", "|---:|---:|---:|", *rows, "",
        f"Lowest held-out loss: {min(h.eval_metric):.3f} bits/char at step {best}.", "",
        f"![loss curves]({os.path.basename(args.out)}.png)", "",
        f"## Samples at step {state.step}, primed with \"{args.prime}\"", "", *samples]
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines) + f"\nwrote {args.out}.png and {args.out}.md")


if __name__ == "__main__":
    main()
