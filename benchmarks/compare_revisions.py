"""Is revision B of manual_rnn faster than revision A? Both timed in one process, alternating.

Each revision's manual_rnn/ is exported with `git archive` into a temporary directory and
imported under a name of its own (manual_rnn_a, manual_rnn_b; any absolute `manual_rnn`
import inside the copy is renamed with it), so the two run side by side. `worktree` names the
working tree's files as they are now. The two must agree on the loss of every row.

    python -m benchmarks.compare_revisions HEAD~1 HEAD
    python -m benchmarks.compare_revisions main worktree --configs small long --cells lstm
"""
import atexit
import importlib.util
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

from . import harness


def export(rev, folder, name):
    """Copy revision `rev`'s manual_rnn/ to folder/name, renaming its imports of itself."""
    target = os.path.join(folder, name)
    if rev == "worktree":
        shutil.copytree(os.path.join(harness.ROOT, "manual_rnn"), target,
                        ignore=shutil.ignore_patterns("__pycache__"))
    else:
        tar = subprocess.run(["git", "-C", harness.ROOT, "archive", rev, "manual_rnn"],
                             check=True, capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
            archive.extractall(folder)
        os.rename(os.path.join(folder, "manual_rnn"), target)
    for path, _, files in os.walk(target):
        for file in (os.path.join(path, f) for f in files if f.endswith(".py")):
            with open(file) as f:
                text = f.read()
            with open(file, "w") as f:
                f.write(re.sub(r"\bmanual_rnn\b", name, text))


def commit(rev):
    return subprocess.run(["git", "-C", harness.ROOT, "rev-parse", "--short", rev], check=True,
                          capture_output=True, text=True).stdout.strip()


def load(revs):
    """{label: package} for revisions (A, B), each imported from its own export."""
    folder = tempfile.mkdtemp(prefix="manual_rnn_revisions_")
    atexit.register(shutil.rmtree, folder, True)
    packages = {}
    for label, rev in zip("AB", revs):
        name = f"manual_rnn_{label.lower()}"
        export(rev, folder, name)
        target = os.path.join(folder, name)
        spec = importlib.util.spec_from_file_location(
            name, os.path.join(target, "__init__.py"), submodule_search_locations=[target])
        packages[label] = sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(packages[label])
    if "manual_rnn" in sys.modules:  # a revision reached the repository's own package
        raise SystemExit("an exported revision imported the repository's manual_rnn")
    return packages


def row(args, packages, config, cell, dtype):
    steps = {}
    for label, package in packages.items():
        spec, params, xs, targets = harness.problem(package, config, cell, dtype)
        steps[label] = (lambda p=package, s=spec, w=params, x=xs, y=targets:
                        float(p.loss_and_grad(s, w, x, y, loss="mse")[0]))
    samples, rounds, losses = harness.measure(steps, args)
    ratio = harness.median_ms(samples["B"]) / harness.median_ms(samples["A"])
    return [f"{config} {harness.CONFIGS[config]}", cell, dtype, harness.fmt_ms(samples["A"]),
            harness.fmt_ms(samples["B"]), f"**{ratio:.3f}**", rounds,
            "yes" if harness.agree(losses, dtype) else f"DISAGREE {losses}"]


def main(argv=None):
    p = harness.parser(__doc__)
    p.add_argument("a", help="revision A (a commit, branch or tag, or `worktree`)")
    p.add_argument("b", nargs="?", default="worktree", help="revision B (default: worktree)")
    harness.add_options(p, ["tiny", "small", "long"], budget=3.0)
    p.add_argument("--cells", nargs="+", help="default: every cell both revisions have")
    args = p.parse_args(argv)
    packages = load((args.a, args.b))
    common = [c for c in harness.cell_names(packages["A"])
              if c in harness.cell_names(packages["B"])]
    cells = args.cells or common
    unknown = sorted(set(cells) - set(common))
    if unknown:
        p.error(f"cells {unknown} are not in both revisions (common: {common})")
    names = [rev if rev == "worktree" else f"{rev} ({commit(rev)})" for rev in (args.a, args.b)]
    header = harness.machine_header([f"- A = {names[0]}, B = {names[1]}"])
    print("\n".join(header), flush=True)
    head = ["config (T, B, I, H, O)", "cell", "dtype", "A ms", "B ms", "B/A", "rounds",
            "losses agree"]
    rows, started = [], time.time()
    for config in args.configs:
        for cell in cells:
            for dtype in args.dtypes:
                rows.append(row(args, packages, config, cell, dtype))
                print(" | ".join(map(str, rows[-1])), flush=True)
    body = ["Milliseconds per training step (`loss_and_grad`, MSE): medians of alternating "
            "rounds. B/A < 1: B is faster.", "", *harness.markdown_table(head, rows), "",
            f"- wall time {time.time() - started:.0f} s; load average at end: "
            f"{harness.loadavg()}"]
    harness.report(args.out, f"manual_rnn {args.b} against {args.a}", header, body)


if __name__ == "__main__":
    main()
