"""Loss curves as a picture, with matplotlib (an optional extra: pip install 'manual_rnn[plot]').

matplotlib is imported only here and only when a plot is asked for; no pyplot, so nothing
global (backends, open figures) changes in the caller's process.
"""
import numpy as np

MISSING = "matplotlib is not installed: pip install 'manual_rnn[plot]'"


def require_matplotlib():
    """Raise ValueError with an install hint when matplotlib cannot be imported; checked before
    a run starts, so that a long run does not end without its plot."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ValueError(MISSING) from None


def moving_average(values, window):
    """Trailing mean over up to `window` values (shorter at the start), as float64."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return values
    sums = np.cumsum(np.concatenate([[0.0], values]))
    ends = np.arange(1, values.size + 1)
    starts = np.maximum(ends - window, 0)
    return (sums[ends] - sums[starts]) / (ends - starts)


def plot_history(path, history, title="", metric_name="metric"):
    """Save the training loss (raw and smoothed), the eval loss and the eval metric to `path`."""
    require_matplotlib()
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    steps = np.arange(1, len(history.train_loss) + 1)
    if steps.size:
        left.plot(steps, history.train_loss, color="tab:blue", alpha=0.25, lw=0.8,
                  label="train loss (per step)")
        window = max(1, steps.size // 50)
        left.plot(steps, moving_average(history.train_loss, window), color="tab:blue",
                  label=f"train loss (mean of {window})")
    left.plot(history.eval_step, history.eval_loss, "o-", color="tab:orange", ms=3,
              label="eval loss (held out)")
    if all(v > 0 for v in list(history.train_loss) + list(history.eval_loss)):
        left.set_yscale("log")
    left.set(xlabel="step", ylabel="loss", title="loss")
    left.legend()
    right.plot(history.eval_step, history.eval_metric, "o-", color="tab:green", ms=3)
    right.set(xlabel="step", ylabel=metric_name, title=f"eval {metric_name}")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=110)
    return path
