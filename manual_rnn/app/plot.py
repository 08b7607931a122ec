"""Loss curves and gradient flow as pictures, with matplotlib (an optional extra: pip install
'manual_rnn[plot]').

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



def _flow_lines(steps_or_norms, state):
    """{name: norms} from a trace, from `gradient_norms`' dict, or from one array of norms."""
    from ..verify.traces import gradient_norms

    if isinstance(steps_or_norms, dict):
        if any(key.startswith(state + "_") for key in steps_or_norms):
            lines = gradient_norms(steps_or_norms, state)
        elif any(key.startswith(("h_", "dh_")) for key in steps_or_norms):
            raise ValueError(f"steps_or_norms: this trace holds no {state!r} arrays (the LSTM "
                             f"alone has 'dc'), got keys {sorted(steps_or_norms)}")
        else:
            lines = dict(steps_or_norms)
    else:
        lines = {"": steps_or_norms}
    if not lines:
        raise ValueError("steps_or_norms: nothing to plot, got an empty dict")
    out = {}
    for name, norms in lines.items():
        try:
            norms = np.asarray(norms, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise TypeError(f"steps_or_norms[{name!r}] must be an array of norms, got "
                            f"{type(norms).__name__}") from error
        if norms.ndim not in (1, 2) or 0 in norms.shape:
            raise ValueError(f"steps_or_norms[{name!r}] must hold norms shaped (T,) or (T, B) "
                             f"((B, T) with batch_first), got shape {norms.shape}")
        out[name] = norms
    return out


def _layer_label(name):
    """"l1_reverse" -> "layer 1, reverse"; "" (one array) stays ""."""
    if not name.startswith("l"):
        return name
    layer, _, direction = name[1:].partition("_")
    return f"layer {layer}" + (f", {direction}" if direction else "")


def plot_gradient_flow(steps_or_norms, path=None, ax=None, *, state="dh", batch_first=False,
                       label=None, title=None, color=None):
    """||dL/dh_t|| against the step t on a log scale: how far back in time the loss reaches.

    `steps_or_norms` is what `manual_rnn.verify.traces.trace` returns (the norms of its "dh"
    arrays are taken, or of its "dc" arrays with state="dc"), what `traces.gradient_norms`
    returns ({"l0": norms, ...}: one line per layer and direction), or one array of norms.
    Norms are (T,) for one sequence, or (T, B) for a batch ((B, T) with batch_first=True):
    the line is then the median over the sequences, in a band from their 10th to their 90th
    percentile. Zero norms (steps no loss reaches) are left out of the log scale.

    Draws on `ax`, or on a new matplotlib Figure (no pyplot); saves the figure to `path` when
    given. `label` names the lines in the legend (with the layer when there are several),
    `color` sets their colour. Returns the Axes.

        steps = trace(spec, params, xs, targets)
        plot_gradient_flow(steps, "flow.png")
    """
    import warnings

    lines = _flow_lines(steps_or_norms, state)
    require_matplotlib()
    if ax is None:
        from matplotlib.figure import Figure
        ax = Figure(figsize=(7, 4), layout="constrained").subplots()
    positive = False
    for name, norms in lines.items():
        if norms.ndim == 2 and batch_first:
            norms = norms.T                                    # (T, B)
        norms = np.where(norms > 0, norms, np.nan)             # log scale: leave zeros out
        positive |= bool(np.any(np.isfinite(norms)))
        steps = np.arange(norms.shape[0])
        parts = [label, _layer_label(name) if len(lines) > 1 or label is None else None]
        text = ", ".join(p for p in parts if p) or None
        if norms.ndim == 1:
            ax.plot(steps, norms, color=color, label=text)
            continue
        with warnings.catch_warnings():                        # a step with only zeros
            warnings.simplefilter("ignore", RuntimeWarning)
            low, mid, high = np.nanpercentile(norms, [10, 50, 90], axis=1)
        drawn, = ax.plot(steps, mid, color=color, label=text)
        ax.fill_between(steps, low, high, color=drawn.get_color(), alpha=0.2, lw=0)
    if positive:
        ax.set_yscale("log")
    symbol = "c" if state == "dc" else "h"
    ax.set(xlabel="step t", ylabel=rf"$\|\partial L / \partial {symbol}_t\|$")
    if title is not None:
        ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    if any(not str(line.get_label()).startswith("_") for line in ax.lines):
        ax.legend()
    if path is not None:
        ax.figure.savefig(path, dpi=110)
    return ax
