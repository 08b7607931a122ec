"""The documentation site builds with warnings as errors and renders in a browser, offline.

`test_the_site_renders_offline` builds the site (docs/) with Sphinx and -W, or takes the
build .ci/run made (MANUAL_RNN_DOCS_HTML names its folder), then opens three pages in headless
Chromium (Debian's /usr/bin/chromium, driven by playwright-core from docs/node_modules) with
every network request blocked: the home page, a derivation page and a gallery page. Each must
have its math typeset by MathJax (MathJax output present, no TeX error, no raw TeX such as
`\\frac` or `$$` left in the text outside code), every image loaded (no <img> with
naturalWidth 0) and no script error. The screenshots are kept in docs/_build/screenshots (or
MANUAL_RNN_DOCS_SCREENSHOTS) for people to look at.

Without the docs tooling (the `docs` extra, npm, Chromium) the test skips and says why,
unless MANUAL_RNN_REQUIRE_GROUND_TRUTH is set, as in CI: then it fails.

The tests of `plot_gradient_flow`, the one-call plot the gallery is built on, need only
matplotlib.
"""
import json
import os
import pathlib
import shutil
import struct
import subprocess
import sys

import numpy as np
import pytest

import manual_rnn as mr
from helpers import REQUIRE_GROUND_TRUTH, ground_truth

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CHROMIUM = "/usr/bin/chromium"
PAGES = {"home": "index.html", "derivation": "cells/lstm.html",
         "gallery": "auto_examples/plot_gradient_flow.html"}
SPHINX_MODULES = ["sphinx", "myst_parser", "pydata_sphinx_theme", "sphinx_gallery",
                  "sphinx_design", "sphinxarg"]


def missing(what):
    """Skip, naming what is missing, or fail when CI requires every ground truth."""
    message = f"{what}: the documentation test cannot run"
    if REQUIRE_GROUND_TRUTH:
        pytest.fail(f"{message}, and MANUAL_RNN_REQUIRE_GROUND_TRUTH is set", pytrace=False)
    pytest.skip(message)


def built_site(tmp_path):
    """The folder of the built HTML: .ci/run's build, or a fresh one in tmp_path."""
    given = os.environ.get("MANUAL_RNN_DOCS_HTML")
    if given:
        html = pathlib.Path(given)
        assert (html / "index.html").is_file(), f"MANUAL_RNN_DOCS_HTML={given} holds no site"
        return html
    for name in SPHINX_MODULES:
        ground_truth(name, "the documentation build (pip install -e '.[docs]')")
    if shutil.which("npm") is None:
        missing("npm is not installed (the build installs MathJax with it)")
    html = tmp_path / "html"
    done = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b",
                           "html", "-d", str(tmp_path / "doctrees"), str(DOCS), str(html)],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, f"the docs build failed:\n{done.stdout}\n{done.stderr}"
    return html


def browser_report(html, out):
    """What docs/check_pages.js saw on each of PAGES, by name."""
    if not os.access(CHROMIUM, os.X_OK):
        missing(f"{CHROMIUM} is not installed (apt-get install chromium)")
    node = shutil.which("node")
    if node is None:
        missing("node is not installed")
    if not (DOCS / "node_modules" / "playwright-core" / "package.json").is_file():
        if shutil.which("npm") is None:
            missing("npm is not installed (playwright-core comes from npm)")
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=DOCS, check=True)
    out.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([node, str(DOCS / "check_pages.js"), CHROMIUM, str(out)]
                          + [str(html / page) for page in PAGES.values()],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"check_pages.js failed:\n{done.stderr}"
    pages = json.loads(done.stdout)["pages"]
    return dict(zip(PAGES, pages))


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def test_the_site_renders_offline(tmp_path):
    html = built_site(tmp_path)
    out = pathlib.Path(os.environ.get("MANUAL_RNN_DOCS_SCREENSHOTS",
                                      DOCS / "_build" / "screenshots"))
    report = browser_report(html, out)
    problems = []
    for name, page in report.items():
        where = f"{name} page ({PAGES[name]})"
        if not page["mathjax"]:
            problems.append(f"{where}: MathJax did not load")
        if page["math"] == 0:
            problems.append(f"{where}: no typeset math (no mjx-container element)")
        if page["mathErrors"]:
            problems.append(f"{where}: TeX errors {page['mathErrors']}")
        if page["rawTex"]:
            problems.append(f"{where}: raw TeX left in the text: ...{page['rawTex']}...")
        if page["brokenImages"]:
            problems.append(f"{where}: images that did not load: {page['brokenImages']}")
        if page["network"]:
            problems.append(f"{where}: tried to reach the network: {page['network']}")
        if page["pageErrors"]:
            problems.append(f"{where}: script errors {page['pageErrors']}")
        width, height = png_size(page["screenshot"])
        if (width, height) != (1280, 900):
            problems.append(f"{where}: screenshot is {width}x{height}, not 1280x900")
    if report["gallery"]["images"] < 3:
        problems.append(f"gallery page: {report['gallery']['images']} images, expected its "
                        f"three figures")
    if report["home"]["images"] < 1:
        problems.append("home page: the gradient-flow figure is missing")
    assert not problems, "\n".join(problems)


# ---- plot_gradient_flow ------------------------------------------------------------------------

def small_trace(cell="lstm", **options):
    from manual_rnn.verify.traces import trace

    spec = mr.Spec(cell=cell, input_size=2, hidden_size=3, output_size=1, **options)
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(6, 4, 2))
    return trace(spec, mr.init_params(spec, seed=0), xs, rng.normal(size=(6, 4, 1)))


def test_plot_gradient_flow_draws_one_line_per_layer_and_direction(tmp_path):
    pytest.importorskip("matplotlib")
    from manual_rnn.app.plot import plot_gradient_flow

    steps = small_trace(num_layers=2, bidirectional=True)
    ax = plot_gradient_flow(steps, tmp_path / "flow.png", title="flow")
    labels = [line.get_label() for line in ax.lines]
    assert labels == ["layer 0", "layer 0, reverse", "layer 1", "layer 1, reverse"]
    assert ax.get_yscale() == "log" and ax.get_title() == "flow"
    assert png_size(tmp_path / "flow.png")[0] > 0
    # the line is the median over the batch of ||dL/dh_t||
    from manual_rnn.verify.traces import gradient_norms
    np.testing.assert_allclose(ax.lines[0].get_ydata(),
                               np.median(gradient_norms(steps)["l0"], axis=1))


def test_plot_gradient_flow_takes_norms_an_array_and_an_axes(tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from manual_rnn.app.plot import plot_gradient_flow
    from manual_rnn.verify.traces import gradient_norms

    steps = small_trace()
    ax = Figure().subplots()
    assert plot_gradient_flow(gradient_norms(steps, "dc"), ax=ax, label="lstm",
                              state="dc") is ax
    assert ax.lines[0].get_label() == "lstm" and "c_t" in ax.get_ylabel()
    one = gradient_norms(steps)["l0"][:, 0]
    line = plot_gradient_flow(one, color="red").lines[0]
    np.testing.assert_array_equal(line.get_ydata(), one)
    batch_first = gradient_norms(steps)["l0"].T                  # (B, T)
    line = plot_gradient_flow(batch_first, batch_first=True).lines[0]
    assert len(line.get_ydata()) == 6


def test_plot_gradient_flow_leaves_zero_norms_off_the_log_scale():
    pytest.importorskip("matplotlib")
    from manual_rnn.app.plot import plot_gradient_flow

    norms = np.array([0.0, 1e-6, 1e-3, 0.0])
    ydata = plot_gradient_flow(norms).lines[0].get_ydata()
    assert np.isnan(ydata[[0, 3]]).all() and (ydata[1:3] == norms[1:3]).all()
    assert plot_gradient_flow(np.zeros(4)).get_yscale() == "linear"


@pytest.mark.parametrize("value, error, words", [
    ({}, ValueError, "nothing to plot"),
    ({"l0": np.zeros((2, 3, 4))}, ValueError, "shaped (T,) or (T, B)"),
    (np.zeros(0), ValueError, "got shape (0,)"),
    ({"l0": "norms"}, TypeError, "must be an array of norms"),
])
def test_plot_gradient_flow_names_what_is_wrong(value, error, words):
    pytest.importorskip("matplotlib")
    from manual_rnn.app.plot import plot_gradient_flow

    with pytest.raises(error) as raised:
        plot_gradient_flow(value)
    assert words in str(raised.value)


def test_plot_gradient_flow_says_an_elman_trace_has_no_cell_state():
    pytest.importorskip("matplotlib")
    from manual_rnn.app.plot import plot_gradient_flow

    with pytest.raises(ValueError, match="no 'dc' arrays"):
        plot_gradient_flow(small_trace("rnn"), state="dc")
