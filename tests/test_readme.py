"""Every Python block in README.md runs as pasted, and prints what the README shows.

A ```python block followed directly by a ```text block must print exactly that text.
"""
import contextlib
import io
import os
import re

import pytest

from helpers import ground_truth

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def blocks():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        found = [(m.group(1), m.group(2)) for m in BLOCK.finditer(f.read())]
    for i, (kind, code) in enumerate(found):
        if kind == "python":
            after = found[i + 1] if i + 1 < len(found) else None
            yield code, after[1] if after and after[0] == "text" else None


CASES = list(blocks())


def test_the_readme_has_python_blocks_with_their_output():
    assert len(CASES) >= 3 and all(output is not None for _, output in CASES)


@pytest.mark.parametrize("code, output", CASES, ids=[f"block{i}" for i in range(len(CASES))])
def test_readme_block_runs_and_prints_what_the_readme_shows(code, output, tmp_path,
                                                           monkeypatch):
    if "import torch" in code:
        ground_truth("torch", "the README's PyTorch example")
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})
    if output is not None:
        assert printed.getvalue() == output
