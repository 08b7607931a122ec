"""`manual-rnn train`: its options, and a run with progress, checkpoints, resume and a plot.

The training itself is `train.run`; this module only turns options into a `train.Config`,
shows progress, saves checkpoints (at every evaluation and at the end, and on Ctrl-C) and
reports the final evaluation.
"""
import os
import signal
import sys
from dataclasses import fields, replace

from ..cells import CELLS
from . import checkpoint
from . import train as training
from .optim import OPTIMIZERS
from .progress import Progress
from .tasks import TASKS

# Options that map one to one onto Config fields; their argparse default is None so that a
# resumed run can tell an option given on the command line from one left out.
CONFIG_OPTIONS = [f.name for f in fields(training.Config)]


def add_train_arguments(parser):
    defaults = training.Config()

    def option(flag, help, **kw):
        name = flag[2:].replace("-", "_")
        default = getattr(defaults, name)
        shown = "" if default is None else f" (default {default})"
        parser.add_argument(flag, default=None, help=help + shown, **kw)

    option("--task", "the task", choices=sorted(TASKS))
    option("--text", "UTF-8 text file, for --task char", metavar="FILE")
    option("--seq-len", "sequence length (default: the task's own)", type=int)
    option("--cell", "recurrent cell", choices=list(CELLS))
    option("--hidden", "hidden units per layer", type=int)
    option("--layers", "stacked layers", type=int)
    option("--dropout", "dropout between layers", type=float)
    option("--optimizer", "optimiser", choices=sorted(OPTIMIZERS))
    option("--lr", "learning rate", type=float)
    option("--clip", "clip gradients to this global norm; 0: never", type=float)
    option("--tbptt", "truncated BPTT over windows of K steps (default: full BPTT)",
           type=int, metavar="K")
    option("--steps", "optimiser steps in all (a resumed run trains on up to this step)",
           type=int)
    option("--batch", "sequences per step", type=int)
    option("--seed", "seed of the parameters, data, dropout and eval set", type=int)
    option("--eval-every", "evaluate on held-out data every N steps", type=int, metavar="N")
    option("--eval-batch", "held-out sequences", type=int)
    option("--dtype", "float type of the parameters", choices=["float64", "float32"])
    parser.add_argument("--save", metavar="RUN.npz",
                        help="checkpoint here at every evaluation and at the end")
    parser.add_argument("--resume", metavar="RUN.npz", help="continue the run saved here")
    parser.add_argument("--plot", metavar="LOSS.png",
                        help="save the training and evaluation curves (needs matplotlib)")


def config_from(args, saved=None):
    """The Config asked for: the options given, over the saved run's config or the defaults."""
    given = {name: getattr(args, name) for name in CONFIG_OPTIONS
             if getattr(args, name, None) is not None}
    if given.get("clip") == 0:
        given["clip"] = None
    if "text" in given:
        given["text"] = os.path.abspath(given["text"])  # so the run can resume from elsewhere
    return replace(saved, **given) if saved is not None else training.Config(**given)


def describe(config, state):
    n = sum(p.size for p in state.params.values())
    window = f"truncated BPTT, windows of {config.tbptt}" if config.tbptt else "full BPTT"
    return (f"model: {config.cell}, {config.layers} layer(s) of {config.hidden}"
            + (f", dropout {config.dropout}" if config.dropout else "")
            + f", {n:,} parameters ({config.dtype}); {config.optimizer} lr {config.lr}, "
              f"clip {config.clip or 'off'}, {window}, batch {config.batch}, seed {config.seed}")


class _StopOnInterrupt:
    """The first Ctrl-C asks the loop to stop after its current step (and save); a second one
    interrupts at once."""

    def __init__(self):
        self.asked = False

    def __enter__(self):
        try:
            self.previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: leave signals alone
            self.previous = None
        return self

    def _handle(self, *_):
        if self.asked:
            raise KeyboardInterrupt
        self.asked = True

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def train_command(args, out=None):
    out = sys.stdout if out is None else out
    for flag in ("save", "plot"):
        target = getattr(args, flag)
        if target and not os.path.isdir(os.path.dirname(os.path.abspath(target))):
            raise ValueError(f"--{flag} {target}: the directory {os.path.dirname(target)!r} "
                             f"does not exist")
    if args.plot:
        from .plot import require_matplotlib
        require_matplotlib()  # now, not after a long run
    state = checkpoint.load(args.resume) if args.resume else None
    config = config_from(args, state.config if state else None)
    task = training.build_task(config)
    if state is not None:
        training.check_resumable(state, config, task)
        print(f"resuming {args.resume!r} at step {state.step} of {config.steps}", file=out)
    else:
        state = training.start(config, task)
    print(f"task: {task.describe()}", file=out)
    print(describe(config, state), file=out, flush=True)

    progress = Progress(config, state.step, out=out)
    saved_at = None
    with _StopOnInterrupt() as interrupt:
        try:
            for state in training.run(config, state, task):
                progress.update(state)
                if args.save and state.history.eval_step[-1] == state.step:
                    checkpoint.save(args.save, state)
                    saved_at = state.step
                if interrupt.asked:
                    break
        finally:
            progress.close()
    if args.save and saved_at != state.step:
        checkpoint.save(args.save, state)

    history = state.history.upto(state.step)
    metric = training.METRICS[config.task]
    if history.eval_step and history.eval_step[-1] == state.step:
        loss, score = history.eval_loss[-1], history.eval_metric[-1]
    else:  # stopped between evaluations
        loss, score = training.evaluate(state.spec, state.params, task,
                                        training.eval_set(config, task))
    print(f"final evaluation at step {state.step} on {config.eval_batch} held-out sequences: "
          f"loss {loss:.5g}, {metric} {score:.5g}", file=out)
    print(f"baseline: {task.describe()}", file=out)
    if args.save:
        print(f"saved {args.save!r} at step {state.step}", file=out)
    if args.plot:
        from .plot import plot_history
        plot_history(args.plot, history, metric_name=metric,
                     title=f"{config.cell} on {config.task}, {state.step} steps")
        print(f"plot: {args.plot!r}", file=out)
    if interrupt.asked:
        print(f"interrupted at step {state.step}"
              + (f"; continue with --resume {args.save}" if args.save else ""), file=out)
        return 130
    return 0
