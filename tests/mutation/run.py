"""Mutation testing with the whole suite, the JAX twin and PyTorch included.

    python tests/mutation/run.py                      # every target, 2 mutants at a time
    python tests/mutation/run.py --files manual_rnn/losses.py --jobs 1
    python tests/mutation/run.py --list               # the mutants, without running them

mutmut forks a process per mutant, and a process that has started JAX cannot fork, so its runs
(pyproject's [tool.mutmut]) leave the twin out. Here every mutant runs in a fresh Python process
on a copy of the repository in which one source file holds one mutant:

- mutants are made from the tokens of the source: an arithmetic or comparison operator swapped
  (+ -, * /, < <=, ...), an accumulation dropped (+= becomes =) or reversed (-=), a number
  changed (0 -> 1, 1 -> 0 and 2, n -> n + 1), a unary minus dropped; the text stays exactly
  the original elsewhere, and mutants that do not compile are not counted;
- stage 1 runs the fast tests that need no JAX (finite differences, metamorphic properties,
  RTRL, the losses, float32, bad input, PyTorch, gradcheck's own unit tests), -x, so most
  mutants die within seconds; a mutant that survives it goes on to stage 2, the comparisons
  with the JAX twin (the dev plan of tests/grid.py and the gradcheck command). XLA's compiled
  programs are kept in a persistent compilation cache shared by the stages, since the twin is
  never mutated.

It prints each survivor (file, line, the change) and the score, killed / (killed + survived),
and writes them to --out as well. Equivalent mutants (a change that cannot alter a result,
e.g. the order of two independent sums) survive any suite: read the survivors.
"""
import argparse
import ast
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import tokenize
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import numpy

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# What is mutated: whole files, or only the functions named (and the methods of the classes).
TARGETS = {
    "manual_rnn/cells/rnn.py": None,
    "manual_rnn/cells/lstm.py": None,
    "manual_rnn/cells/gru.py": None,
    "manual_rnn/cells/gates.py": None,
    "manual_rnn/layers.py": None,
    "manual_rnn/losses.py": None,
    "manual_rnn/model.py": ["head_forward", "head_backward", "forward", "backward", "backprop",
                            "_backward", "loss_and_grad", "loss_terms"],
    "manual_rnn/sequences.py": None,
    "manual_rnn/verify/gradcheck.py": ["numerical_gradient", "Error", "compare"],
    "manual_rnn/verify/harness.py": ["_Run._compare", "_Run._close", "_Run._per_step_dx",
                                     "_Run._state_departure", "Report.ok"],
}

STAGES = [
    ("fast", ["tests/test_finite_differences.py", "tests/test_metamorphic.py",
              "tests/test_losses.py", "tests/test_rtrl.py", "tests/test_float32.py",
              "tests/test_bad_input.py", "tests/test_torch.py", "tests/test_gradcheck.py",
              "tests/test_harness.py", "-k", "not command and not jax_global"]),
    ("twin", ["tests/test_vs_jax.py", "tests/test_gradcheck.py", "-k",
              "grid or command"]),
]

SWAPS = {"+": ["-"], "-": ["+"], "*": ["/"], "/": ["*"], "**": ["*"], "@": None,
         "+=": ["=", "-="], "-=": ["=", "+="], "*=": ["=", "/="], "/=": ["=", "*="],
         "<": ["<="], "<=": ["<"], ">": [">="], ">=": [">"], "==": ["!="], "!=": ["=="]}


@dataclass(frozen=True)
class Mutant:
    path: str
    line: int
    col: int
    original: str
    replacement: str

    def describe(self):
        return f"{self.path}:{self.line}:{self.col + 1}: {self.original!r} -> {self.replacement!r}"


def _lines_of(source, names):
    """The line numbers inside the named top-level functions and classes, or the methods
    named "Class.method" (None: all)."""
    if names is None:
        return None
    keep = set()
    for node in ast.parse(source).body:
        if not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            continue
        if node.name in names:
            keep.update(range(node.lineno, node.end_lineno + 1))
        elif isinstance(node, ast.ClassDef):
            for method in node.body:
                if f"{node.name}.{getattr(method, 'name', '')}" in names:
                    keep.update(range(method.lineno, method.end_lineno + 1))
    return keep


def _numbers(text):
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return []
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return []
    if value == 0:
        return ["1"]
    if value == 1:
        return ["0", "2"]
    return [repr(value + 1)]


def mutants_of(path, names=None):
    """Every compiling single-token mutant of the file at `path` (relative to ROOT)."""
    with open(os.path.join(ROOT, path)) as file:
        source = file.read()
    lines = _lines_of(source, names)
    found = []
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    for i, token in enumerate(tokens):
        (row, col), text = token.start, token.string
        if lines is not None and row not in lines:
            continue
        if token.type == tokenize.OP and SWAPS.get(text):
            replacements = SWAPS[text]
            # a unary minus (after an operator, a bracket or a keyword): drop it instead
            if text == "-" and tokens[i - 1].type in (tokenize.OP, tokenize.NAME) and (
                    tokens[i - 1].string in "=([{,:" or tokens[i - 1].string in SWAPS or
                    tokens[i - 1].string in ("return", "in", "and", "or", "not", "else")):
                replacements = [""]
            # * and ** as argument unpacking (after "(" or ",") are syntax, not arithmetic
            if text in ("*", "**") and tokens[i - 1].string in ("(", ","):
                continue
            for replacement in replacements:
                found.append(Mutant(path, row, col, text, replacement))
        elif token.type == tokenize.NUMBER:
            for replacement in _numbers(text):
                found.append(Mutant(path, row, col, text, replacement))
    compiling = []
    for mutant in found:
        try:
            compile(apply(source, mutant), path, "exec")
        except SyntaxError:
            continue
        compiling.append(mutant)
    return compiling


def apply(source, mutant):
    lines = source.splitlines(keepends=True)
    line = lines[mutant.line - 1]
    assert line[mutant.col:mutant.col + len(mutant.original)] == mutant.original, mutant
    lines[mutant.line - 1] = (line[:mutant.col] + mutant.replacement
                              + line[mutant.col + len(mutant.original):])
    return "".join(lines)


def make_copy():
    """A copy of the sources, tests and settings that mutants are written into."""
    work = tempfile.mkdtemp(prefix="manual_rnn_mutation_")
    for name in ("manual_rnn", "tests", "reference", "examples"):
        shutil.copytree(os.path.join(ROOT, name), os.path.join(work, name),
                        ignore=shutil.ignore_patterns("__pycache__", ".hypothesis"))
    shutil.copy(os.path.join(ROOT, "pyproject.toml"), work)
    return work


def run_stage(work, stage, timeout, cache):
    args = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
            "--hypothesis-seed=0", *stage]
    env = dict(os.environ, PYTHONPATH=work, MANUAL_RNN_PROFILE="dev",
               MANUAL_RNN_REQUIRE_GROUND_TRUTH="1", JAX_COMPILATION_CACHE_DIR=cache,
               JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
               JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0")
    try:
        done = subprocess.run(args, check=False, cwd=work, env=env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout"
    return "passed" if done.returncode == 0 else f"failed ({done.returncode})"


def check_baseline(work, timeout, cache):
    """Every stage must pass on the unmutated code, and the copy must be what is imported."""
    code = "import manual_rnn, sys; print(manual_rnn.__file__)"
    imported = subprocess.run([sys.executable, "-c", code], check=False, cwd=work, text=True,
                              capture_output=True, env=dict(os.environ, PYTHONPATH=work)).stdout
    if not imported.startswith(work):
        raise SystemExit(f"the copy is not what Python imports: {imported.strip()}")
    for name, stage in STAGES:
        result = run_stage(work, stage, timeout, cache)
        if result != "passed":
            raise SystemExit(f"stage {name!r} does not pass without mutants: {result}")


def run_mutant(work_of, mutant, timeout, cache):
    work = work_of()
    target = os.path.join(work, mutant.path)
    with open(target) as file:  # the copy's own, so ROOT may change while a run goes on
        original = file.read()
    with open(target, "w") as file:
        file.write(apply(original, mutant))
    try:
        for name, stage in STAGES:
            result = run_stage(work, stage, timeout, cache)
            if result != "passed":
                return mutant, f"killed by {name}: {result}"
        return mutant, "survived"
    finally:
        with open(target, "w") as file:
            file.write(original)


def _write_report(path, results):
    survivors = sum(outcome == "survived" for _, outcome in results)
    killed = len(results) - survivors
    with open(path, "w") as file:
        json.dump({"killed": killed, "total": len(results),
                   "score": killed / len(results) if results else None,
                   "results": [dict(asdict(m), outcome=o) for m, o in results]}, file, indent=1)


def write_markdown(path, results):
    """The run's score, per file and in all, and each survivor with its line of source."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], check=False, cwd=ROOT,
                            capture_output=True, text=True).stdout.strip() or "unknown"
    files = {}
    for mutant, outcome in results:
        counts = files.setdefault(mutant.path, [0, 0])
        counts[outcome == "survived"] += 1
    killed = sum(k for k, _ in files.values())
    total = len(results)
    lines = ["# Mutation testing: the latest run", "",
             f"Commit {commit}; Python {platform.python_version()}, NumPy {numpy.__version__}. "
             f"Made by `python tests/mutation/run.py --out mutation-report.json "
             f"--markdown tests/mutation/results.md`.", "",
             "| file | mutants | killed | survived |", "|---|---:|---:|---:|"]
    for source_path, (k, s) in files.items():
        lines.append(f"| `{source_path}` | {k + s} | {k} | {s} |")
    lines += [f"| all | {total} | {killed} ({killed / total:.1%}) | {total - killed} |", "",
              "Survivors (README.md says why each is equivalent):", ""]
    for mutant, outcome in results:
        if outcome == "survived":
            with open(os.path.join(ROOT, mutant.path)) as file:
                source = file.read().splitlines()[mutant.line - 1].strip()
            lines.append(f"- `{mutant.path}:{mutant.line}` `{source}`: "
                         f"`{mutant.original}` -> `{mutant.replacement or '(nothing)'}`"
                         f" at column {mutant.col + 1}")
    with open(path, "w") as file:
        file.write("\n".join(lines) + "\n")


def _load_report(path):
    """{mutant description: outcome} of a report written by an earlier run (empty: none)."""
    if not os.path.exists(path):
        return {}
    with open(path) as file:
        results = json.load(file)["results"]
    return {Mutant(**{k: r[k] for k in ("path", "line", "col", "original", "replacement")})
            .describe(): r["outcome"] for r in results}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", nargs="*", default=list(TARGETS),
                        help="sources to mutate (default: every target)")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at a time")
    parser.add_argument("--limit", type=int, default=None,
                        help="at most this many mutants, spread evenly over the list")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per stage")
    parser.add_argument("--list", action="store_true", help="print the mutants and stop")
    parser.add_argument("--out", default="mutation-report.json",
                        help="the report, rewritten after every mutant")
    parser.add_argument("--markdown", default=None,
                        help="also write the score and the survivors as Markdown here")
    parser.add_argument("--summarize", action="store_true",
                        help="write --markdown from the report in --out, without running")
    parser.add_argument("--resume", action="store_true",
                        help="skip the mutants already in --out (an interrupted run goes on)")
    args = parser.parse_args(argv)
    unknown = [f for f in args.files if f not in TARGETS]
    if unknown:
        parser.error(f"--files: not a target: {unknown}; targets are {list(TARGETS)}")
    if args.jobs < 1 or (args.limit is not None and args.limit < 1):
        parser.error("--jobs and --limit must be >= 1")
    mutants = [m for path in args.files for m in mutants_of(path, TARGETS[path])]
    if args.limit is not None and args.limit < len(mutants):
        step = len(mutants) / args.limit
        mutants = [mutants[int(i * step)] for i in range(args.limit)]
    if args.list:
        for mutant in mutants:
            print(mutant.describe())
        print(f"{len(mutants)} mutants")
        return 0
    done = _load_report(args.out) if args.resume or args.summarize else {}
    if args.summarize:
        if args.markdown is None or not done:
            parser.error("--summarize needs --markdown and a report in --out")
        write_markdown(args.markdown, [(m, done[m.describe()]) for m in mutants
                                       if m.describe() in done])
        return 0
    todo = [m for m in mutants if m.describe() not in done]
    results = [(m, done[m.describe()]) for m in mutants if m.describe() in done]
    cache = tempfile.mkdtemp(prefix="manual_rnn_xla_cache_")
    copies = [make_copy() for _ in range(args.jobs)]
    free = list(copies)
    started = time.time()
    check_baseline(copies[0], args.timeout, cache)
    print(f"baseline passes ({time.time() - started:.0f} s); {len(todo)} mutants to run, "
          f"{len(results)} already in {args.out}", flush=True)

    def job(mutant):
        work = free.pop()
        try:
            return run_mutant(lambda: work, mutant, args.timeout, cache)
        finally:
            free.append(work)

    with ThreadPoolExecutor(args.jobs) as pool:
        for mutant, outcome in pool.map(job, todo):
            results.append((mutant, outcome))
            print(f"[{len(results)}/{len(mutants)}] {outcome:<28} {mutant.describe()}",
                  flush=True)
            _write_report(args.out, results)  # after every mutant, so --resume can go on
    survivors = [m for m, outcome in results if outcome == "survived"]
    killed = len(results) - len(survivors)
    score = killed / len(results) if results else float("nan")
    print(f"\n{killed} of {len(results)} mutants killed ({score:.1%}) in "
          f"{time.time() - started:.0f} s; survivors:")
    for mutant in survivors:
        print("  " + mutant.describe())
    if args.markdown:
        write_markdown(args.markdown, results)
    for work in copies:
        shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    return 0 if not survivors else 1


if __name__ == "__main__":
    sys.exit(main())
