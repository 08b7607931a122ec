"""Code run while the site is built, shown with what it printed: `run-python` and `run-command`.

    ```{run-python}
    import manual_rnn as mr
    print(mr.Spec(cell="rnn", input_size=1, hidden_size=3))
    ```

    ```{run-command}
    manual-rnn gradcheck --cell gru --seq-len 3
    ```

The blocks of one page run in order, in one temporary folder of the page's own (so that files
one block writes, another reads; the source tree stays clean); `run-python` blocks share one
namespace, in which ``DOCS`` and ``ROOT`` are the docs/ folder and the repository. A
`run-command` line that starts with ``manual-rnn`` runs the command of the installed package
(``python -m manual_rnn``). Whatever runs is shown with its output, the temporary folder's
path left out of it. An exception, or a command that exits with another status than
``:returncode:`` (default 0), fails the build under -W, naming the page and the block.
Options: ``:hide-code:`` (output only), ``:hide-output:``, ``:strip: REGEX`` (leave the
matches out of the output shown, e.g. the speed a progress line reports).
"""
import contextlib
import io
import os
import pathlib
import re
import shlex
import subprocess
import sys
import tempfile
import traceback

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)
DOCS = pathlib.Path(__file__).resolve().parent.parent


class _Run(SphinxDirective):
    has_content = True
    option_spec = {"hide-code": directives.flag, "hide-output": directives.flag,
                   "returncode": directives.nonnegative_int, "strip": directives.unchanged}
    language = "python"

    def page_state(self):
        pages = self.env.temp_data.setdefault("run_python_pages", {})
        if self.env.docname not in pages:
            folder = tempfile.mkdtemp(prefix="manual_rnn_docs_")
            # what the page defines reads as the reader's own module, e.g. in a harness report
            namespace = {"__name__": "my_code", "DOCS": DOCS, "ROOT": DOCS.parent}
            pages[self.env.docname] = (folder, namespace)
        return pages[self.env.docname]

    def run(self):
        code = "\n".join(self.content)
        folder, namespace = self.page_state()
        here = os.getcwd()
        try:
            os.chdir(folder)
            output = self.execute(code, namespace)
        except Exception:
            logger.warning("%s block failed:\n%s", self.name, traceback.format_exc(limit=-4),
                           location=(self.env.docname, self.lineno))
            output = traceback.format_exc(limit=-1)
        finally:
            os.chdir(here)
        result = []
        if "hide-code" not in self.options:
            block = nodes.literal_block(code, code, language=self.language)
            block["classes"].append("run-code")
            self.set_source_info(block)
            result.append(block)
        output = output.replace(folder + os.sep, "").rstrip("\n")
        if "strip" in self.options:
            output = re.sub(self.options["strip"], "", output)
        if output and "hide-output" not in self.options:
            out = nodes.literal_block(output, output, language="none")
            out["classes"].append("run-output")
            result.append(out)
        return result


class RunPython(_Run):
    def execute(self, code, namespace):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            exec(compile(code, f"<{self.env.docname}: run-python>", "exec"), namespace)
        return printed.getvalue()


class RunCommand(_Run):
    language = "bash"

    def execute(self, code, namespace):
        printed = []
        expected = self.options.get("returncode", 0)
        for line in code.replace("\\\n", " ").splitlines():
            if not line.strip():
                continue
            argv = shlex.split(line)
            if argv[0] == "manual-rnn":
                argv = [sys.executable, "-m", "manual_rnn"] + argv[1:]
            done = subprocess.run(argv, capture_output=True, text=True, timeout=600,
                                  env=dict(os.environ, COLUMNS="100"))
            printed.append(done.stdout + done.stderr)
            if done.returncode != expected:
                raise RuntimeError(f"{line!r} exited with {done.returncode}, not {expected}:\n"
                                   + done.stdout + done.stderr)
        return "".join(printed)


def setup(app):
    app.add_directive("run-python", RunPython)
    app.add_directive("run-command", RunCommand)
    # A page's blocks share state while it is read: pages are read one at a time.
    return {"parallel_read_safe": False, "parallel_write_safe": True}
