"""Progress of a training run on the console.

On a terminal, one line updated in place (tqdm: step, loss, steps/s, ETA), with a line kept for
each evaluation; elsewhere (a pipe, a log file, CI) plain lines, one per evaluation, so that a
log holds the run's course rather than thousands of carriage returns.
"""
import os
import sys
import time

from .train import METRICS


def format_seconds(seconds):
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return (f"{hours}:" if hours else "") + f"{rest // 60:02d}:{rest % 60:02d}"


class Progress:
    """Call update(state) after each step and close() at the end; `tty` None: ask `out`."""

    def __init__(self, config, first_step, out=None, tty=None):
        self.out = sys.stdout if out is None else out
        self.config, self.first_step = config, first_step
        self.started = time.perf_counter()
        self.since_line = []  # training losses since the last plain line
        if tty is None:
            tty = hasattr(self.out, "isatty") and self.out.isatty()
        self.bar = _bar(config.steps, first_step, self.out) if tty else None

    def update(self, state):
        loss = state.history.train_loss[state.step - 1]
        self.since_line.append(loss)
        evaluated = state.history.eval_step and state.history.eval_step[-1] == state.step
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{loss:.4g}", refresh=False)
            if evaluated:
                self.bar.write(self.eval_line(state), file=self.out)
        elif evaluated:
            print(self.plain_line(state), file=self.out, flush=True)

    def eval_line(self, state):
        return f"step {state.step}: {self.eval_summary(state)}"

    def eval_summary(self, state):
        h = state.history
        return (f"eval loss {h.eval_loss[-1]:.5g}, "
                f"{METRICS[self.config.task]} {h.eval_metric[-1]:.5g}")

    def plain_line(self, state):
        done = state.step - self.first_step
        elapsed = time.perf_counter() - self.started
        rate = done / elapsed if elapsed > 0 else float("inf")
        eta = (self.config.steps - state.step) / rate if rate > 0 else 0.0
        mean = sum(self.since_line) / len(self.since_line)
        self.since_line = []
        return (f"step {state.step}/{self.config.steps}  train loss {mean:.5g}  "
                f"{self.eval_summary(state)}  {rate:.1f} steps/s  "
                f"ETA {format_seconds(eta)}")

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _bar(total, initial, out):
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is a dependency, but plain lines still work without it
        return None
    try:
        known = min(os.get_terminal_size(out.fileno())) > 0
    except (AttributeError, ValueError, OSError):
        known = False
    # tqdm draws nothing on a terminal that reports a size of 0 (a bare pty): assume 100 x 24.
    size = {"dynamic_ncols": True} if known else {"ncols": 100, "nrows": 24}
    return tqdm(total=total, initial=initial, file=out, unit="step", desc="train", **size)
