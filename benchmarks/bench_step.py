#!/usr/bin/env python
"""Time one training step of manual_rnn against its jitted JAX twin and against PyTorch.

One step = forward over the whole sequence + linear read-out + MSE loss + full backward pass
(every parameter's gradient). Contenders:

    product   mr.loss_and_grad(spec, params, xs, targets, loss="mse")   (NumPy, hand-written BPTT)
    jax       jax.jit(jax.value_and_grad(reference.loss)) -- compiled ahead of time, compile
              time excluded, result blocked on
    torch     nn.RNN/LSTM/GRU + nn.Linear, (1/B) sum 0.5 ||y - target||^2, loss.backward(),
              grads set to None before each step, torch.set_num_threads(2)

All contenders get the same parameters and data; their losses are compared once per row.
They are warmed up, then run in alternating rounds within one process, every round in the
next of their six orders, so that machine noise hits them alike; each turn starts after a
100 ms pause and lasts at least 50 ms (see `alternate`). Each figure is the median over the
counted calls.

    PYTHONPATH=. python benchmarks/bench_step.py                 # full suite, ~7 min when quiet
    PYTHONPATH=. python benchmarks/bench_step.py --quick         # tiny + small, ~1 min
    PYTHONPATH=. python benchmarks/bench_step.py --threads 1     # every library single-threaded
    PYTHONPATH=. python benchmarks/bench_step.py --configs medium --cells lstm --dtypes float32 \
        --out /tmp/table.md

See benchmarks/README.md for how to read the table.
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import hashlib
import itertools
import math
import os
import platform
import signal
import statistics
import sys
import time
import tracemalloc
import warnings

import numpy as np

import manual_rnn as mr


def source_fingerprint(package=mr):
    """(sha256 prefix over the package's .py files, newest mtime) -- which product was timed."""
    root = os.path.dirname(os.path.abspath(package.__file__))
    digest, newest = hashlib.sha256(), 0.0
    for folder, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(f for f in files if f.endswith(".py")):
            path = os.path.join(folder, name)
            digest.update(os.path.relpath(path, root).encode())
            with open(path, "rb") as f:
                digest.update(f.read())
            newest = max(newest, os.path.getmtime(path))
    return digest.hexdigest()[:12], time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(newest))


PRODUCT_SOURCE = source_fingerprint()  # taken right after the import, before any timing

CONFIGS = {  # name: (T, B, I, H, O)
    "tiny": (2, 1, 1, 3, 1),
    "small": (50, 16, 8, 32, 8),
    "medium": (100, 64, 32, 128, 32),
    "large": (100, 64, 128, 512, 128),
    "long": (1000, 8, 16, 64, 16),
}
CELLS = ("rnn", "lstm", "gru")
DTYPES = ("float32", "float64")
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
CELL_LABEL = {"rnn": "rnn (tanh)", "lstm": "lstm", "gru": "gru"}
ENV_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")  # named by the brief; left untouched
MiB = 2.0 ** 20


# ---- optional back ends --------------------------------------------------------------------------

def import_jax():
    try:
        import jax
    except ImportError:
        return None, None
    jax.config.update("jax_enable_x64", True)  # float32 inputs/params stay float32
    import manual_rnn_reference as reference
    return jax, reference


def import_torch(threads):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    return torch


# ---- OpenBLAS (NumPy's BLAS) introspection through ctypes ----------------------------------------

class OpenBLAS:
    """The OpenBLAS that NumPy loaded, found in /proc/self/maps; every method may return None."""

    def __init__(self):
        self.lib, self.path, self.prefix = None, None, None
        try:
            paths = sorted({line.split()[-1] for line in open("/proc/self/maps")
                            if "openblas" in line.lower() and ".so" in line})
        except OSError:
            paths = []
        paths.sort(key=lambda p: "numpy" not in p)  # prefer the copy NumPy ships
        for path in paths:
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for prefix, suffix in (("scipy_openblas_", "64_"), ("scipy_openblas_", ""),
                                   ("openblas_", "64_"), ("openblas_", "")):
                if hasattr(lib, f"{prefix}get_num_threads{suffix}"):
                    self.lib, self.path, self.prefix = lib, path, (prefix, suffix)
                    return

    def _fn(self, name, restype):
        if self.lib is None:
            return None
        f = getattr(self.lib, f"{self.prefix[0]}{name}{self.prefix[1]}", None)
        if f is not None:
            f.restype = restype
        return f

    def corename(self):
        f = self._fn("get_corename", ctypes.c_char_p)
        return f().decode() if f else None

    def config(self):
        f = self._fn("get_config", ctypes.c_char_p)
        return f().decode() if f else None

    def num_threads(self):
        f = self._fn("get_num_threads", ctypes.c_int)
        return f() if f else None

    def set_num_threads(self, n):
        f = self._fn("set_num_threads", None)
        if f is None:
            return False
        f(ctypes.c_int(n))
        return True


# ---- the machine ---------------------------------------------------------------------------------

def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
    except OSError:
        return platform.processor() or "unknown", []
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines()
                  if line.startswith("model name")), "unknown")
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines()
                  if line.startswith("flags")), [])
    return model, [f for f in ("avx", "avx2", "fma", "avx512f") if f in flags]


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "n/a"


def machine_header(jax, torch, blas, threads,
                   no_torch="PyTorch not importable (torch column skipped)",
                   no_jax="JAX not importable", per_row_load=True):
    model, flags = cpu_model()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    lines = [
        f"- product: manual_rnn from {os.path.dirname(os.path.abspath(mr.__file__))}, source "
        f"sha256 {PRODUCT_SOURCE[0]} (newest file {PRODUCT_SOURCE[1]})",
        f"- CPU: {model} (flags: {', '.join(flags) or 'n/a'}); {os.cpu_count()} logical cores, "
        f"{usable} usable by this process",
        f"- Python {platform.python_version()}, NumPy {np.__version__}, "
        + (f"JAX {jax.__version__} ({jax.default_backend()}, {len(jax.devices())} device)"
           if jax else no_jax)
        + ", " + (f"PyTorch {torch.__version__} (set_num_threads({torch.get_num_threads()}))"
                  if torch else no_torch),
    ]
    try:
        dep = np.__config__.CONFIG["Build Dependencies"]["blas"]
        lines.append(f"- NumPy BLAS (build): {dep.get('name')} {dep.get('version')}")
    except Exception:  # older NumPy: no CONFIG dict
        pass
    if blas.lib is not None:
        lines.append(f"- NumPy BLAS (runtime): {blas.config()}; kernel core in use: "
                     f"{blas.corename()}; threads: {blas.num_threads()}")
    try:
        import threadpoolctl
        for pool in threadpoolctl.threadpool_info():
            lines.append(f"- threadpoolctl: {pool.get('internal_api')} {pool.get('version')} "
                         f"{pool.get('architecture', '')} threads={pool.get('num_threads')} "
                         f"({os.path.basename(pool.get('filepath', ''))})")
    except ImportError:
        lines.append("- threadpoolctl not installed (BLAS runtime info above read via ctypes)")
    envs = ", ".join(f"{k}={os.environ[k]!r}" if k in os.environ else f"{k}=<unset>"
                     for k in ENV_VARS)
    if any(k in os.environ for k in ENV_VARS):
        note = ("left exactly as found: they keep NumPy's OpenBLAS on slower kernels than it "
                "would pick itself, and the product is timed that way")
    else:
        note = ("left as found (both unset in this process, so OpenBLAS picked its kernels "
                "itself: see the kernel core above); when a machine sets them they can keep "
                "OpenBLAS on slower kernels")
    lines.append(f"- {envs} -- {note}")
    other = sorted(k for k in os.environ if k not in ENV_VARS and any(
        s in k for s in ("BLAS", "OMP_", "MKL", "XLA", "NVPL", "GOTO")))
    if other:
        lines.append("- other threading/BLAS variables: "
                     + ", ".join(f"{k}={os.environ[k]!r}" for k in other))
    lines.append(f"- threads: {threads}")
    lines.append(f"- load average at start: {loadavg()} (the machine may be shared"
                 + ("; see the per-row load in the table)" if per_row_load else ")"))
    return lines


# ---- analytic cost -------------------------------------------------------------------------------

def step_flops(cell, T, B, I, H, O):
    """Matmul FLOPs of one step: forward (input projection, recurrence, head) and a backward
    with two matmuls per forward matmul (dW_ih & dx, dW_hh & dh, dW_head & dtop): 3x forward."""
    G = GATES[cell]
    forward = 2 * T * B * I * G * H + 2 * T * B * H * G * H + 2 * T * B * H * O
    return 3 * forward


def gemm_rate(dtype, n, repeats):
    """Median GFLOP/s of an n x n @ n x n NumPy matmul in dtype."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n)).astype(dtype) for _ in range(2))
    a @ b  # warm up (threads, page faults)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return 2 * n ** 3 / statistics.median(times) / 1e9


# ---- contenders ----------------------------------------------------------------------------------

def problem(config, cell, dtype):
    """A configuration's spec, parameters (seed 0) and data: (spec, params, xs, targets)."""
    T, B, I, H, O = CONFIGS[config]
    spec = mr.Spec(cell=cell, input_size=I, hidden_size=H, output_size=O)
    params = mr.init_params(spec, seed=0, dtype=np.dtype(dtype))
    return (spec, params) + make_data(spec, T, B, dtype)


def make_data(spec, T, B, dtype):
    rng = np.random.default_rng(1)
    xs = rng.standard_normal((T, B, spec.input_size)).astype(dtype)
    targets = rng.standard_normal((T, B, spec.output_size)).astype(dtype)
    return xs, targets


def product_contender(spec, params, xs, targets):
    def step():
        loss, _ = mr.loss_and_grad(spec, params, xs, targets, loss="mse")
        return float(loss)
    return step


def jax_contender(jax, ref, spec, params, xs, targets):
    """The AOT-compiled value_and_grad: (step, compile seconds, XLA buffer bytes or None)."""
    def loss(p, x, y):
        return ref.loss(spec, p, x, y, loss="mse")

    jp = {k: jax.device_put(v) for k, v in params.items()}
    jx, jy = jax.device_put(xs), jax.device_put(targets)
    t0 = time.perf_counter()
    compiled = jax.jit(jax.value_and_grad(loss)).lower(jp, jx, jy).compile()
    compile_s = time.perf_counter() - t0
    try:
        m = compiled.memory_analysis()
        xla_bytes = m.temp_size_in_bytes + m.output_size_in_bytes
    except Exception:
        xla_bytes = None

    def step():
        value, grads = jax.block_until_ready(compiled(jp, jx, jy))
        return float(value)
    return step, compile_s, xla_bytes


def torch_contender(torch, spec, params, xs, targets):
    module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[spec.cell]
    rnn = module(spec.input_size, spec.hidden_size)  # tanh Elman cell by default
    head = torch.nn.Linear(spec.hidden_size, spec.output_size)
    if params["head.weight"].dtype == np.float64:
        rnn, head = rnn.double(), head.double()
    rnn.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in params.items()
                         if not k.startswith("head.")})
    head.load_state_dict({k[5:]: torch.from_numpy(v.copy()) for k, v in params.items()
                          if k.startswith("head.")})
    tx, ty = torch.from_numpy(xs), torch.from_numpy(targets)
    B = xs.shape[1]

    def step():
        rnn.zero_grad(set_to_none=True)
        head.zero_grad(set_to_none=True)
        out, _ = rnn(tx)
        loss = 0.5 * ((head(out) - ty) ** 2).sum() / B
        loss.backward()
        return loss.item()
    return step


# ---- memory --------------------------------------------------------------------------------------

def product_peak_bytes(step):
    """Peak bytes allocated (Python + NumPy buffers, via tracemalloc) during one step, over what
    was allocated before it. Includes the returned gradients."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        step()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def torch_peak_bytes(torch, step):
    """Peak of the running sum of the CPU allocator's allocations/frees during one step, from
    torch.profiler(profile_memory=True); None when the profiler's records are unavailable."""
    try:
        from torch.profiler import ProfilerActivity, profile
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
                step()
        records = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
        records.sort(key=lambda e: e.start_ns())
        current = peak = 0
        for e in records:
            current += e.nbytes()
            peak = max(peak, current)
        return peak if records else None
    except Exception:
        return None


# ---- timing --------------------------------------------------------------------------------------

def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def warm_up(fn, min_calls=2, min_seconds=0.2, max_calls=50):
    """Call fn until it has run min_calls times and min_seconds in all (at most max_calls);
    returns (median seconds of the calls after the first, last result)."""
    times, out, total = [], None, 0.0
    while len(times) < min_calls or (total < min_seconds and len(times) < max_calls):
        if len(times) == 1 and times[0] > 1.0:  # a slow step: one warm-up call is enough
            break
        t, out = timed(fn)
        times.append(t)
        total += t
    return statistics.median(times[1:] or times), out


def alternate(contenders, rounds, least=None, deadline=None, calls=None, settle=0.0):
    """Run the contenders in `rounds` rounds, each round in the next of their n! orders, so
    that every contender takes every position, and follows every other one, equally often.
    Stops early, after at least `least` rounds, once time.perf_counter() passes `deadline`.
    Returns ({name: [seconds per call]}, rounds).

    Each turn starts after `settle` seconds of sleep. A library's worker threads keep spinning
    for a while after its last call (OpenBLAS's for 30-100 ms here), and a library that starts
    meanwhile competes with them for the cores: a medium PyTorch LSTM step took 111-124 ms right
    after the product's and 57-69 ms right after JAX's, and 74-76 ms after the product's once
    0.1-0.3 s had passed. In a turn each contender then makes calls[name] calls in a row
    (default 1); when that is more than one, the first is not counted, so that the counted calls
    run back to back, as in a training loop (that first call also wakes the threads the pause
    let sleep)."""
    names = list(contenders)
    orders = list(itertools.permutations(names))
    calls = calls or {}
    samples = {name: [] for name in names}
    done = 0
    for r in range(rounds):
        if deadline is not None and r >= least and time.perf_counter() > deadline:
            break
        done += 1
        for name in orders[r % len(orders)]:
            time.sleep(settle)
            n = calls.get(name, 1)
            times = [timed(contenders[name])[0] for _ in range(n)]
            samples[name].extend(times[1:] if n > 1 else times)
    return samples, done


def time_row(config, cell, dtype, contenders_for, budget, settle, calls):
    """One row of the smaller scripts (floor.py, gemm_ceiling.py): the configuration's spec,
    parameters and data, handed to contenders_for(spec, params, xs, targets) -> {name: step};
    each warmed up, then alternated (see `alternate`) for `budget` seconds and at least 5
    rounds, with `calls` calls a turn, the first not counted. Returns a dict with the row's
    config, cell, dtype, median ms per contender, rounds and load average."""
    load_before = loadavg().split()[0]
    contenders = contenders_for(*problem(config, cell, dtype))
    for fn in contenders.values():
        warm_up(fn)
    samples, rounds = alternate(contenders, 10 ** 6, least=5,
                                deadline=time.perf_counter() + budget,
                                calls={name: calls for name in contenders}, settle=settle)
    return {"config": config, "cell": cell, "dtype": dtype, "rounds": rounds,
            "ms": {name: 1e3 * statistics.median(ts) for name, ts in samples.items()},
            "load": f"{load_before} -> {loadavg().split()[0]}"}


def markdown_table(head, rows):
    """A markdown table: the `head` cells, then one line of cells per row."""
    return (["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
            + ["| " + " | ".join(cells) + " |" for cells in rows])


def measure_all(args, measure, table, lines):
    """The table of the smaller scripts (floor.py, gemm_ceiling.py): measure(config, cell,
    dtype) for every row args asks for, each printed as it comes; then the whole table, also
    written with the header `lines` to args.out when given."""
    rows = []
    for config in args.configs:
        for cell in args.cells:
            for dtype in args.dtypes:
                rows.append(measure(config, cell, dtype))
                print(table(rows)[-1], flush=True)
    lines += [f"- load average at end: {loadavg()}", "", "## Results", ""] + table(rows)
    print("\n".join(lines[-len(rows) - 2:]))
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")


def spread(times):
    """Half the interquartile range, relative to the median."""
    if len(times) < 4:
        return float("nan")
    q1, _, q3 = statistics.quantiles(times, n=4)
    return (q3 - q1) / 2 / statistics.median(times)


# ---- one row of the table ------------------------------------------------------------------------

def bench_row(args, config, cell, dtype, jax, ref, torch, peaks):
    row_start = time.perf_counter()
    T, B, I, H, O = CONFIGS[config]
    spec, params, xs, targets = problem(config, cell, dtype)
    load_before = loadavg()

    contenders = {"product": product_contender(spec, params, xs, targets)}
    compile_s = xla_bytes = None
    if jax is not None:
        contenders["jax"], compile_s, xla_bytes = jax_contender(jax, ref, spec, params, xs, targets)
    if torch is not None:
        contenders["torch"] = torch_contender(torch, spec, params, xs, targets)

    estimates, losses = {}, {}
    for name, fn in contenders.items():
        estimates[name], losses[name] = warm_up(fn)
    # Short steps run in turns of >= --turn-ms each (see `alternate`).
    calls = {name: max(1, math.ceil(args.turn_ms / 1e3 / t)) for name, t in estimates.items()}
    round_s = sum(calls[name] * t for name, t in estimates.items())
    if args.repeats:
        rounds = least = args.repeats
    else:
        # Slow rows (a round longer than 2.5 budgets) settle for 3 rounds to bound the wall time.
        least = 3 if round_s > 2.5 * args.budget else args.min_rounds
        rounds = int(min(args.max_rounds, max(least, args.budget / round_s)))
    gc.collect()
    # If the machine slows down after the warm-up, stop at 3 budgets (keeping >= `least` rounds);
    # the pauses between turns come on top.
    settle = args.settle_ms / 1e3
    deadline = time.perf_counter() + 3 * args.budget + rounds * len(contenders) * settle
    samples, rounds = alternate(contenders, rounds, least, deadline, calls, settle)
    med = {name: statistics.median(ts) for name, ts in samples.items()}

    rtol = 1e-3 if dtype == "float32" else 1e-8
    agree = all(abs(v - losses["product"]) <= rtol * max(1.0, abs(losses["product"]))
                for v in losses.values())
    flops = step_flops(cell, T, B, I, H, O)
    row = {
        "config": config, "cell": cell, "dtype": dtype, "rounds": rounds,
        "ms": {n: 1e3 * t for n, t in med.items()},
        "spread": {n: spread(ts) for n, ts in samples.items()},
        "gflops": flops / med["product"] / 1e9,
        "gemm_frac": flops / med["product"] / 1e9 / peaks[dtype],
        "mem_product": product_peak_bytes(contenders["product"]),
        "mem_torch": torch_peak_bytes(torch, contenders["torch"]) if torch else None,
        "mem_xla": xla_bytes, "compile_s": compile_s, "agree": agree, "losses": losses,
        "load": f"{load_before.split()[0]} -> {loadavg().split()[0]}",
    }
    row["wall_s"] = time.perf_counter() - row_start
    return row


# ---- output --------------------------------------------------------------------------------------

def fmt_ms(ms, rel):
    text = f"{ms:.3f}" if ms < 1 else f"{ms:.2f}" if ms < 100 else f"{ms:.0f}"
    return text if rel != rel else f"{text} ±{100 * rel:.0f}%"  # rel != rel: NaN


def fmt_mib(b):
    return "n/a" if b is None else f"{b / MiB:.2g}" if b < 10 * MiB else f"{b / MiB:.0f}"


def fmt_pct(frac):
    return "<0.01%" if 100 * frac < 0.01 else f"{100 * frac:.3g}%"


def table(rows, have_jax, have_torch):
    head = ["config (T,B,I,H,O)", "cell", "dtype", "product ms"]
    head += ["JAX ms"] * have_jax + ["torch ms"] * have_torch
    head += ["product/JAX"] * have_jax + ["product/torch"] * have_torch
    head += ["product GFLOP/s", "% GEMM peak", "product peak MiB"]
    head += ["torch peak MiB"] * have_torch + ["JAX XLA MiB"] * have_jax
    head += ["rounds", "1-min load before -> after"]
    lines = []
    for r in rows:
        ms, sp = r["ms"], r["spread"]
        cells = [f"{r['config']} {CONFIGS[r['config']]}",
                 CELL_LABEL[r["cell"]], r["dtype"], fmt_ms(ms["product"], sp["product"])]
        if have_jax:
            cells.append(fmt_ms(ms["jax"], sp["jax"]))
        if have_torch:
            cells.append(fmt_ms(ms["torch"], sp["torch"]))
        if have_jax:
            cells.append(f"**{ms['product'] / ms['jax']:.2f}**")
        if have_torch:
            cells.append(f"**{ms['product'] / ms['torch']:.2f}**")
        cells += [f"{r['gflops']:.3g}", fmt_pct(r["gemm_frac"]),
                  fmt_mib(r["mem_product"])]
        if have_torch:
            cells.append(fmt_mib(r["mem_torch"]))
        if have_jax:
            cells.append(fmt_mib(r["mem_xla"]))
        cells += [str(r["rounds"]) + ("" if r["agree"] else " (losses DISAGREE)"), r["load"]]
        lines.append(cells)
    return markdown_table(head, lines)


def losers(rows, have_jax, have_torch):
    out = []
    for r in rows:
        parts = []
        for name, have in (("jax", have_jax), ("torch", have_torch)):
            if have and r["ms"]["product"] > r["ms"][name]:
                parts.append(f"{r['ms']['product'] / r['ms'][name]:.2f}x slower than "
                             f"{'JAX' if name == 'jax' else 'PyTorch'}")
        if parts:
            out.append(f"- {r['config']} {r['cell']} {r['dtype']}: " + ", ".join(parts))
    if not (have_jax or have_torch):
        return ["- no contenders were run (--no-jax and --no-torch, or neither importable)"]
    return out or ["- none: the product is at least as fast as every contender in every row"]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", nargs="+", choices=CONFIGS, help="default: all (quick: tiny small)")
    p.add_argument("--cells", nargs="+", choices=CELLS, default=list(CELLS))
    p.add_argument("--dtypes", nargs="+", choices=DTYPES, default=list(DTYPES))
    p.add_argument("--repeats", type=int, default=0,
                   help="fixed number of alternating rounds per row (default: adaptive)")
    p.add_argument("--budget", type=float, default=None,
                   help="seconds of timed rounds per row (default 4, quick 1); the number of "
                        "rounds is budget / (sum of the contenders' step times), clamped to "
                        "[--min-rounds, --max-rounds]")
    p.add_argument("--min-rounds", type=int, default=None,
                   help="default 5 (quick 3); rows whose round takes more than 2.5 budgets get 3")
    p.add_argument("--max-rounds", type=int, default=1000)
    p.add_argument("--turn-ms", type=float, default=50.0,
                   help="each contender's turn in a round lasts at least this long: steps "
                        "shorter than that run several times in a row, the first of them "
                        "uncounted (default 50; 0 gives one call per turn)")
    p.add_argument("--settle-ms", type=float, default=100.0,
                   help="sleep before every turn, so that the previous contender's worker "
                        "threads stop spinning first (default 100; see `alternate`)")
    p.add_argument("--gemm-size", type=int, default=None, help="square GEMM size (default 2048, "
                                                                "quick 1024)")
    p.add_argument("--quick", action="store_true", help="tiny and small configs, short budgets")
    p.add_argument("--no-jax", action="store_true")
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--torch-threads", type=int, default=2)
    p.add_argument("--threads", type=int, default=0,
                   help="pin every contender to N threads: NumPy's OpenBLAS (through its C API), "
                        "torch.set_num_threads(N) and, for N=1, XLA's "
                        "--xla_cpu_multi_thread_eigen=false (default 0: OpenBLAS and XLA as "
                        "found, torch --torch-threads)")
    p.add_argument("--out", help="also write the header and markdown table to this file")
    args = p.parse_args(argv)
    args.configs = args.configs or (["tiny", "small"] if args.quick else list(CONFIGS))
    args.budget = args.budget if args.budget is not None else (1.0 if args.quick else 4.0)
    args.min_rounds = args.min_rounds or (3 if args.quick else 5)
    gemm_n = args.gemm_size or (1024 if args.quick else 2048)
    gemm_repeats = 3 if args.quick else 5

    if args.threads == 1 and "xla_cpu_multi_thread_eigen" not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                                   + " --xla_cpu_multi_thread_eigen=false").strip()
    jax, ref = (None, None) if args.no_jax else import_jax()
    torch = None if args.no_torch else import_torch(args.threads or args.torch_threads)
    blas = OpenBLAS()
    if args.threads and not blas.set_num_threads(args.threads):
        print(f"warning: could not set NumPy's BLAS threads to {args.threads}", file=sys.stderr)
    started = time.time()
    threads = (f"every contender pinned to {args.threads} (--threads)" if args.threads else
               "library defaults (NumPy's OpenBLAS and XLA as found; torch.set_num_threads("
               f"{args.torch_threads}))")
    header = machine_header(jax, torch, blas, threads)
    print("# manual_rnn: one training step (forward + MSE head + backward)\n", flush=True)
    print("\n".join(header), flush=True)

    peaks_start = {dt: gemm_rate(dt, gemm_n, gemm_repeats) for dt in args.dtypes}
    print("- NumPy GEMM %dx%d at start: " % (gemm_n, gemm_n)
          + ", ".join(f"{dt} {g:.1f} GFLOP/s" for dt, g in peaks_start.items()), flush=True)
    print()

    # Ctrl-C, kill -INT or kill -TERM stop the suite after the current row's timings and still
    # write the rows done so far (SIGINT is reset too: a background job may inherit it ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    rows, interrupted = [], False
    todo = [(c, cell, dt) for c in args.configs for cell in args.cells for dt in args.dtypes]
    for config, cell, dtype in todo:
        try:
            row = bench_row(args, config, cell, dtype, jax, ref, torch, peaks_start)
        except KeyboardInterrupt:
            interrupted = True
            print(f"interrupted: {len(rows)} of {len(todo)} rows done", flush=True)
            break
        rows.append(row)
        print(f"{config:6s} {cell:4s} {dtype}: "
              + "  ".join(f"{n} {fmt_ms(t, row['spread'][n])} ms" for n, t in row["ms"].items())
              + (f"  (jax compile {row['compile_s']:.1f}s)" if row["compile_s"] else "")
              + f"  rounds {row['rounds']}, row {row['wall_s']:.0f}s"
              + ("" if row["agree"] else f"  LOSSES DISAGREE {row['losses']}"), flush=True)

    peaks_end = ({dt: gemm_rate(dt, gemm_n, gemm_repeats) for dt in args.dtypes}
                 if not interrupted else peaks_start)
    peaks = {dt: max(peaks_start[dt], peaks_end[dt]) for dt in args.dtypes}
    for r in rows:  # against the better of the two GEMM measurements
        r["gemm_frac"] = r["gflops"] / peaks[r["dtype"]]

    have_jax, have_torch = jax is not None, torch is not None
    summary = [
        f"- NumPy GEMM peak ({gemm_n}x{gemm_n} matmul, median of {gemm_repeats}, with the "
        "contenders' thread setting; the better of the runs before and after the suite): "
        + ", ".join(f"{dt} {peaks[dt]:.1f} GFLOP/s (start {peaks_start[dt]:.1f}, end "
                    f"{peaks_end[dt]:.1f})" for dt in args.dtypes),
        f"- load average at end: {loadavg()}; wall time {time.time() - started:.0f} s",
    ]
    if source_fingerprint() != PRODUCT_SOURCE:
        summary.append(f"- NOTE: manual_rnn's source changed during the run (now sha256 "
                       f"{source_fingerprint()[0]}); every row timed the version loaded at start, "
                       f"{PRODUCT_SOURCE[0]}")
    lines = ["# manual_rnn: one training step (forward + MSE head + backward)", "",
             "## Machine", ""] + header + summary + [
        "", "## Results", "",
        "Milliseconds per step: median over the counted calls of alternating rounds (turns of "
        ">= 50 ms; see benchmarks/README.md), ± half the interquartile range "
        "relative to the median. Ratios > 1: the product is slower. GFLOP/s counts the step's "
        "matmul FLOPs analytically (3x forward: input projection, recurrence, head); % GEMM "
        "peak divides by the NumPy GEMM rate above, same dtype. Product peak MiB: tracemalloc "
        "peak during one step (incl. the returned gradients); torch peak MiB: "
        "torch.profiler CPU allocator records; JAX XLA MiB: the compiled step's temp + output "
        "buffers (memory_analysis), for comparison.", ""]
    lines += table(rows, have_jax, have_torch)
    if interrupted:
        lines += ["", f"Interrupted: {len(rows)} of {len(todo)} rows were run."]
    lines += ["", "## Where the product loses (ratio > 1)", ""] + losers(rows, have_jax, have_torch)
    for name, have, flag in (("JAX", have_jax, "--no-jax"), ("PyTorch", have_torch, "--no-torch")):
        if not have:
            lines += ["", f"{name} was left out ({flag}, or not importable): no {name} columns."]
    print()
    print("\n".join(lines[lines.index("## Results"):]))
    print("\n".join(summary))
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())
