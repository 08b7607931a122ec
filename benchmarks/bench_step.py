"""How fast is one manual_rnn training step against JAX's compiled step and PyTorch's autograd?

One step: forward over the whole sequence, the linear read-out at every step, the MSE loss and
the full backward pass (every parameter's gradient). Contenders, all on the same parameters
and data:

    manual  mr.loss_and_grad(spec, params, xs, targets, loss="mse")
    jax     jax.jit(jax.value_and_grad(manual_rnn_reference.loss)), compiled ahead of time
            (compile time excluded), result blocked on
    torch   nn.RNN / nn.LSTM / nn.GRU + nn.Linear with manual_rnn's weights,
            0.5 * sum (y - target)^2 / B, loss.backward(), gradients set to None each step

Every row checks that the three losses agree (DISAGREE otherwise) and reports the medians and
the ratios manual/JAX and manual/torch (> 1: manual_rnn is slower).

    python -m benchmarks.bench_step                        # every config, cell and dtype
    python -m benchmarks.bench_step --configs small --cells lstm --dtypes float32
    python -m benchmarks.bench_step --out benchmarks/results/bench_step.md
"""
import signal
import statistics
import sys
import time

import manual_rnn as mr

from . import harness

NAMES = {"manual": "manual", "jax": "JAX", "torch": "torch"}


def manual_step(spec, params, xs, targets):
    return lambda: float(mr.loss_and_grad(spec, params, xs, targets, loss="mse")[0])


def jax_step(jax, reference, spec, params, xs, targets):
    def loss(p, x, y):
        return reference.loss(spec, p, x, y, loss="mse")
    args = ({k: jax.device_put(v) for k, v in params.items()}, jax.device_put(xs),
            jax.device_put(targets))
    compiled = jax.jit(jax.value_and_grad(loss)).lower(*args).compile()
    return lambda: float(jax.block_until_ready(compiled(*args))[0])


def torch_step(torch, spec, params, xs, targets):
    rnn = getattr(torch.nn, spec.cell.upper())(spec.input_size, spec.hidden_size)
    head = torch.nn.Linear(spec.hidden_size, spec.output_size)
    if xs.dtype.name == "float64":
        rnn, head = rnn.double(), head.double()
    weights = {k: torch.from_numpy(v.copy()) for k, v in params.items()}
    rnn.load_state_dict({k: v for k, v in weights.items() if not k.startswith("head.")})
    head.load_state_dict({k[5:]: v for k, v in weights.items() if k.startswith("head.")})
    x, y = torch.from_numpy(xs), torch.from_numpy(targets)

    def step():
        rnn.zero_grad(set_to_none=True)
        head.zero_grad(set_to_none=True)
        out, _ = rnn(x)
        loss = 0.5 * ((head(out) - y) ** 2).sum() / xs.shape[1]
        loss.backward()
        return loss.item()
    return step


def row(args, libs, config, cell, dtype):
    load = harness.loadavg().split()[0]
    problem = harness.problem(mr, config, cell, dtype)
    steps = {"manual": manual_step(*problem)}
    if "jax" in libs:
        steps["jax"] = jax_step(*libs["jax"], *problem)
    if "torch" in libs and hasattr(libs["torch"].nn, cell.upper()):
        steps["torch"] = torch_step(libs["torch"], *problem)
    samples, rounds, losses = harness.measure(steps, args)
    ms = {n: harness.median_ms(t) for n, t in samples.items()}
    ratios = {n: ms["manual"] / ms[n] for n in ms if n != "manual"}
    return dict(config=config, cell=cell, dtype=dtype, samples=samples, ratios=ratios,
                rounds=rounds, agree=harness.agree(losses, dtype), losses=losses,
                load=f"{load} -> {harness.loadavg().split()[0]}")


def cells_of(r, names):
    return ([f"{r['config']} {harness.CONFIGS[r['config']]}", r["cell"], r["dtype"]]
            + [harness.fmt_ms(r["samples"][n]) if n in r["samples"] else "-" for n in names]
            + [f"**{r['ratios'][n]:.2f}**" if n in r["ratios"] else "-" for n in names[1:]]
            + [r["rounds"], "yes" if r["agree"] else "DISAGREE", r["load"]])


def summary(rows, names):
    """Per config, the median over its rows of each ratio."""
    lines = []
    for config in dict.fromkeys(r["config"] for r in rows):
        mine = [r for r in rows if r["config"] == config]
        lines.append([config] + [
            f"{statistics.median(r['ratios'][n] for r in mine if n in r['ratios']):.2f}"
            if any(n in r["ratios"] for r in mine) else "-" for n in names[1:]])
    return harness.markdown_table(["config"] + [f"manual/{NAMES[n]}" for n in names[1:]], lines)


def main(argv=None):
    p = harness.parser(__doc__)
    harness.add_options(p, list(harness.CONFIGS), harness.cell_names())
    p.add_argument("--no-jax", action="store_true")
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--torch-threads", type=int, help="torch.set_num_threads (default: torch's)")
    args = p.parse_args(argv)

    libs = {}
    if not args.no_jax:
        try:
            import jax
            import manual_rnn_reference
            jax.config.update("jax_enable_x64", True)  # float32 arrays stay float32
            libs["jax"] = (jax, manual_rnn_reference)
        except ImportError:
            print("JAX is not importable: no JAX column", file=sys.stderr)
    if not args.no_torch:
        try:
            import torch
            if args.torch_threads:
                torch.set_num_threads(args.torch_threads)
            libs["torch"] = torch
        except ImportError:
            print("PyTorch is not importable: no torch column", file=sys.stderr)
    names = ["manual"] + list(libs)
    extra = [f"- PyTorch threads: {libs['torch'].get_num_threads()}"] if "torch" in libs else []
    header = harness.machine_header(extra)
    print("\n".join(header), flush=True)

    # Ctrl-C or SIGTERM ends the run after the current row; the rows done are still reported.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    todo = [(c, cell, d) for c in args.configs for cell in args.cells for d in args.dtypes]
    rows, started = [], time.time()
    try:
        for config, cell, dtype in todo:
            rows.append(row(args, libs, config, cell, dtype))
            r = rows[-1]
            print(" | ".join(map(str, cells_of(r, names)))
                  + ("" if r["agree"] else f"  losses {r['losses']}"), flush=True)
    except KeyboardInterrupt:
        print(f"interrupted after {len(rows)} of {len(todo)} rows", flush=True)

    head = ["config (T, B, I, H, O)", "cell", "dtype"] + [f"{NAMES[n]} ms" for n in names]
    head += [f"manual/{NAMES[n]}" for n in names[1:]] + ["rounds", "losses agree", "load"]
    body = ["## Ratios", "", "Median over each config's cells and dtypes (> 1: manual_rnn is "
            "slower).", "", *summary(rows, names), "", "## Rows", "",
            "Milliseconds per training step: median over the counted calls of alternating "
            "rounds, ± half the interquartile range relative to the median; load: the 1-minute "
            "load average before and after the row.", "",
            *harness.markdown_table(head, [cells_of(r, names) for r in rows]), "",
            f"- rows: {len(rows)} of {len(todo)}; wall time {time.time() - started:.0f} s; "
            f"load average at end: {harness.loadavg()}"]
    harness.report(args.out, "One training step: manual_rnn, JAX and PyTorch", header, body)


if __name__ == "__main__":
    main()
