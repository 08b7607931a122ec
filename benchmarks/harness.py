"""What the benchmark scripts share: the problem sizes, fair alternation of contenders in one
process, medians, markdown tables and a header describing the machine.

Alternation: the contenders are warmed up, then run in rounds, each round in the next of their
n! orders, so that every contender takes every position and follows every other one equally
often; a shared machine's drift, a busy neighbour or a frequency change then hits all of them
alike. Each turn starts after a short sleep, so that the worker threads a library leaves
spinning after its last call (OpenBLAS's, PyTorch's, XLA's) do not compete with the next
contender. A step shorter than the turn length runs several times in a row, the first call of
the turn not counted, so that the counted calls run back to back as in a training loop.
"""
from __future__ import annotations

import argparse
import ctypes
import importlib
import importlib.metadata
import itertools
import math
import os
import platform
import statistics
import subprocess
import time

import numpy as np

CONFIGS = {  # name: (T, B, I, H, O) = (steps, batch, input, hidden, output)
    "tiny": (2, 1, 1, 3, 1),
    "small": (50, 16, 8, 32, 8),
    "medium": (100, 64, 32, 128, 32),
    "large": (100, 64, 128, 512, 128),
    "long": (1000, 8, 16, 64, 16),
}
DTYPES = ("float32", "float64")
# Reported when set, never set: they change which kernels and how many threads the BLAS uses.
ENV_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
            "MKL_NUM_THREADS", "XLA_FLAGS")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---- problems -------------------------------------------------------------------------------

def cell_names(package=None):
    """The cells a manual_rnn package registers, in its registry's order."""
    name = "manual_rnn" if package is None else package.__name__
    return list(importlib.import_module(name + ".cells").CELLS)


def problem(package, config, cell, dtype):
    """(spec, params, xs, targets) of a configuration: parameters of seed 0, data of seed 1."""
    steps, batch, inputs, hidden, outputs = CONFIGS[config]
    spec = package.Spec(cell=cell, input_size=inputs, hidden_size=hidden, output_size=outputs)
    try:
        params = package.init_params(spec, seed=0, dtype=np.dtype(dtype))
    except TypeError:  # a revision whose init_params has no dtype
        params = {k: v.astype(dtype) for k, v in package.init_params(spec, seed=0).items()}
    rng = np.random.default_rng(1)
    xs = rng.standard_normal((steps, batch, inputs)).astype(dtype)
    targets = rng.standard_normal((steps, batch, outputs)).astype(dtype)
    return spec, params, xs, targets


def agree(losses, dtype):
    """Whether every loss in {name: loss} equals the first one to the dtype's tolerance."""
    values = list(losses.values())
    rtol = 1e-3 if dtype == "float32" else 1e-8
    return all(abs(v - values[0]) <= rtol * max(1.0, abs(values[0])) for v in values)


# ---- timing ---------------------------------------------------------------------------------

def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def warm_up(fn, min_calls=2, min_seconds=0.2, max_calls=50):
    """Call fn at least min_calls times and for min_seconds (one call for a step slower than a
    second); returns (median seconds of the calls after the first, the last result)."""
    times, out = [], None
    while len(times) < min_calls or (sum(times) < min_seconds and len(times) < max_calls):
        if len(times) == 1 and times[0] > 1.0:
            break
        t, out = timed(fn)
        times.append(t)
    return statistics.median(times[1:] or times), out


def alternate(contenders, rounds, calls, settle, least=None, deadline=None):
    """Run {name: fn} for `rounds` rounds, each in the next of the n! orders; a turn sleeps
    `settle` seconds, then makes calls[name] calls (the first uncounted when more than one).
    Stops after `least` rounds once time.perf_counter() passes `deadline`.
    Returns ({name: [seconds per counted call]}, rounds run)."""
    orders = list(itertools.permutations(contenders))
    samples = {name: [] for name in contenders}
    done = 0
    for r in range(rounds):
        if deadline is not None and r >= least and time.perf_counter() > deadline:
            break
        for name in orders[r % len(orders)]:
            time.sleep(settle)
            times = [timed(contenders[name])[0] for _ in range(calls[name])]
            samples[name] += times[1:] if len(times) > 1 else times
        done += 1
    return samples, done


def measure(contenders, args):
    """Warm up and alternate {name: fn} as the common options in `args` ask (see `add_options`).
    Returns (samples, rounds, {name: result of its last warm-up call})."""
    estimates, results = {}, {}
    for name, fn in contenders.items():
        estimates[name], results[name] = warm_up(fn)
    calls = {n: max(1, math.ceil(args.turn_ms / 1e3 / t)) for n, t in estimates.items()}
    round_s = sum(calls[n] * t for n, t in estimates.items())
    if args.repeats:
        rounds = least = args.repeats
    else:
        # A round longer than 2.5 budgets gets 3 rounds, to bound the wall time.
        least = 3 if round_s > 2.5 * args.budget else args.min_rounds
        rounds = int(min(args.max_rounds, max(least, args.budget / round_s)))
    settle = args.settle_ms / 1e3
    # If the machine slows down after the warm-up, stop at 3 budgets (plus the pauses).
    deadline = time.perf_counter() + 3 * args.budget + rounds * len(contenders) * settle
    samples, rounds = alternate(contenders, rounds, calls, settle, least, deadline)
    return samples, rounds, results


def median_ms(times):
    return 1e3 * statistics.median(times)


def spread(times):
    """Half the interquartile range relative to the median (NaN below 4 samples)."""
    if len(times) < 4:
        return math.nan
    q1, _, q3 = statistics.quantiles(times, n=4)
    return (q3 - q1) / 2 / statistics.median(times)


def fmt_ms(times):
    ms, rel = median_ms(times), spread(times)
    text = f"{ms:.3f}" if ms < 1 else f"{ms:.2f}" if ms < 100 else f"{ms:.0f}"
    return text if math.isnan(rel) else f"{text} ±{100 * rel:.0f}%"


def add_options(parser, configs=None, cells=None, budget=4.0):
    """The timing options (and, when given defaults, --configs and --cells, and --dtypes)."""
    if configs is not None:
        parser.add_argument("--configs", nargs="+", choices=CONFIGS, default=configs)
        parser.add_argument("--dtypes", nargs="+", choices=DTYPES, default=list(DTYPES))
    if cells is not None:
        parser.add_argument("--cells", nargs="+", choices=cells, default=cells)
    parser.add_argument("--budget", type=float, default=budget,
                        help=f"timed seconds per row (default {budget})")
    parser.add_argument("--repeats", type=int, default=0,
                        help="a fixed number of rounds per row (default: budget / one round)")
    parser.add_argument("--min-rounds", type=int, default=5)
    parser.add_argument("--max-rounds", type=int, default=1000)
    parser.add_argument("--turn-ms", type=float, default=50.0,
                        help="shortest turn; shorter steps run several times a turn (0: once)")
    parser.add_argument("--settle-ms", type=float, default=100.0,
                        help="sleep before every turn (default 100)")
    parser.add_argument("--out", help="also write the report (markdown) to this file")


# ---- tables and the machine -----------------------------------------------------------------

def markdown_table(head, rows):
    return (["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
            + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "n/a"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def openblas_core():
    """The kernel core NumPy's OpenBLAS runs (through its C API), or None if not found."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower()}
    except OSError:
        return None
    for path in sorted(paths):
        for prefix, suffix in (("scipy_openblas_", "64_"), ("scipy_openblas_", ""),
                               ("openblas_", "64_"), ("openblas_", "")):
            try:
                fn = getattr(ctypes.CDLL(path), f"{prefix}get_corename{suffix}")
            except (OSError, AttributeError):
                continue
            fn.restype = ctypes.c_char_p
            return fn().decode()
    return None


def version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def revision():
    """The repository's commit, marked when manual_rnn/ has uncommitted changes."""
    def git(*args):
        return subprocess.run(["git", "-C", ROOT, *args], capture_output=True,
                              text=True, check=False).stdout.strip()
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (" + uncommitted changes to manual_rnn/"
                     if git("status", "--porcelain", "manual_rnn") else "")


def machine_header(extra=()):
    """Markdown bullet lines: date, commit, CPU, cores, versions, BLAS, reported variables."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    try:
        blas = np.__config__.CONFIG["Build Dependencies"]["blas"]
        blas = f"{blas.get('name')} {blas.get('version')}"
    except (AttributeError, KeyError):
        blas = "unknown"
    core = openblas_core()
    env = [f"{k}={os.environ[k]}" for k in ENV_VARS if k in os.environ]
    return [
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; repository at "
        f"commit {revision()}",
        f"- CPU: {cpu_model()}; {os.cpu_count()} logical cores, {usable} usable",
        f"- Python {platform.python_version()}, NumPy {np.__version__}, "
        f"JAX {version('jax')}, PyTorch {version('torch')}",
        f"- NumPy BLAS: {blas}" + (f", kernel core {core}" if core else ""),
        "- environment: " + (", ".join(env) if env else
                             f"none of {', '.join(ENV_VARS)} set"),
        *extra,
        f"- load average (1, 5, 15 min) at start: {loadavg()}",
    ]


def report(path, title, header, body):
    """Print the report and, when path is given, write it there as markdown."""
    lines = [f"# {title}", "", "## Machine", "", *header, "", *body]
    text = "\n".join(lines) + "\n"
    print("\n" + text, end="", flush=True)
    if path:
        with open(path, "w") as f:
            f.write(text)
        print(f"wrote {os.path.relpath(path)}")


def parser(doc):
    return argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
