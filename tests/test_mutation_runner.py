"""tests/mutation/run.py, the mutation runner: its mutants and its report (not a run)."""
import importlib.util
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location(
    "mutation_run", os.path.join(ROOT, "tests", "mutation", "run.py"))
run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run)


@pytest.mark.parametrize("path", list(run.TARGETS))
def test_every_mutant_changes_one_token_and_compiles(path):
    with open(os.path.join(ROOT, path)) as file:
        source = file.read()
    mutants = run.mutants_of(path, run.TARGETS[path])
    assert mutants, f"{path}: no mutants"
    for mutant in mutants:
        changed = run.apply(source, mutant)
        assert changed != source
        compile(changed, path, "exec")
        lines, original = changed.splitlines(), source.splitlines()
        assert [i for i, (a, b) in enumerate(zip(lines, original)) if a != b] == [mutant.line - 1]


def test_named_methods_are_the_only_lines_mutated():
    source = "class A:\n    def f(self):\n        return 1 + 2\n\n    def g(self):\n" \
             "        return 3 - 4\n\n\ndef h():\n    return 5 * 6\n"
    assert run._lines_of(source, ["A.f"]) == {2, 3}
    assert run._lines_of(source, ["h"]) == {9, 10}
    assert run._lines_of(source, None) is None


def test_the_report_round_trips_and_the_markdown_names_each_survivor(tmp_path):
    mutants = run.mutants_of("manual_rnn/losses.py")[:3]
    results = [(mutants[0], "killed by fast: failed (1)"), (mutants[1], "survived"),
               (mutants[2], "killed by twin: timeout")]
    report = tmp_path / "report.json"
    run._write_report(report, results)
    assert run._load_report(report) == {m.describe(): o for m, o in results}
    markdown = tmp_path / "results.md"
    before = {p: os.path.getmtime(os.path.join(ROOT, p)) for p in run.TARGETS}
    run.write_markdown(markdown, results)
    text = markdown.read_text()
    assert "| `manual_rnn/losses.py` | 3 | 2 | 1 |" in text
    assert "| all | 3 | 2 (66.7%) | 1 |" in text
    survivors = [line for line in text.splitlines() if line.startswith("- `")]
    assert len(survivors) == 1
    assert survivors[0].startswith(f"- `manual_rnn/losses.py:{mutants[1].line}`")
    assert before == {p: os.path.getmtime(os.path.join(ROOT, p)) for p in run.TARGETS}
