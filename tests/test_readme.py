"""Every Python block in README.md runs as pasted, from the repository root, and prints what
the README shows.

A ```python block followed directly by a ```text block must print that text exactly, except
that numbers below 1e-12 written in scientific notation (round-off, whose last bits depend on
the BLAS) only have to be below 1e-12 on both sides.
"""
import contextlib
import io
import os
import re
import sys

import pytest

from helpers import ground_truth

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)
ROUND_OFF = re.compile(r"\b\d\.\d+e-(1[2-9]|[2-9]\d)\b")


def without_round_off(text):
    return ROUND_OFF.sub("<1e-12", text)


def blocks():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        found = [(m.group(1), m.group(2)) for m in BLOCK.finditer(f.read())]
    for i, (kind, code) in enumerate(found):
        if kind == "python":
            after = found[i + 1] if i + 1 < len(found) else None
            yield code, after[1] if after and after[0] == "text" else None


CASES = list(blocks())


def test_the_readme_has_python_blocks_with_their_output():
    codes = [code for code, _ in CASES]
    assert any("mr.loss_and_grad(" in code for code in codes)       # the API
    assert any("check_bptt(" in code for code in codes)              # checking your own BPTT
    assert all(output is not None for _, output in CASES)


@pytest.mark.parametrize("code, output", CASES, ids=[f"block{i}" for i in range(len(CASES))])
def test_readme_block_runs_and_prints_what_the_readme_shows(code, output, monkeypatch):
    if "import torch" in code:
        ground_truth("torch", "the README's PyTorch example")
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "path", list(sys.path))          # a block may extend it
    imported = set(sys.modules)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        try:
            exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})
        finally:   # example modules a block imported (and may have changed) leave with it
            examples = os.path.join(ROOT, "examples")
            for name in set(sys.modules) - imported:
                if (getattr(sys.modules[name], "__file__", None) or "").startswith(examples):
                    del sys.modules[name]
    if output is not None:
        assert without_round_off(printed.getvalue()) == without_round_off(output)
