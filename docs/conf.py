"""Sphinx configuration of the manual_rnn documentation.

Build the site with

    python -m sphinx -W --keep-going -b html docs docs/_build/html

-W makes every warning an error: a broken cross-reference, a gallery example that fails, a
public module missing from the API reference, a docstring that does not parse. The gallery
examples (examples/plot_*.py) run during the build and their figures go into the pages.

MathJax renders the equations in the browser without any network: the build installs it from
npm (docs/package.json, pinned by docs/package-lock.json) into docs/node_modules and copies the
parts the site loads into its _static folder.
"""
import os
import pathlib
import shutil
import subprocess
import sys

DOCS = pathlib.Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))

# The gallery's scripts and the code the pages run are small: BLAS threads cost more than
# they give at these sizes, and the build shares its cores with whatever else is running.
for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

import manual_rnn  # noqa: E402

project = "manual_rnn"
author = "the manual_rnn authors"
copyright = "the manual_rnn authors, MIT License"
release = version = manual_rnn.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx_gallery.gen_gallery",
    "sphinx_design",
    "sphinxarg.ext",
    "plain_docstrings",     # _ext/: the library's plain-text docstrings as reStructuredText
    "run_python",           # _ext/: code run at build time, shown with what it printed
    "api_coverage",         # _ext/: every public module is in the API reference
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "node_modules", "_vendor", "gallery_header.rst", "Thumbs.db", ".DS_Store",
                    "auto_examples/*.ipynb", "auto_examples/*.py", "auto_examples/*.zip",
                    "auto_examples/*.json", "auto_examples/*.md5"]
templates_path = ["_templates"]

# ---- MyST: Markdown pages with LaTeX math ------------------------------------------------------

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "attrs_inline"]
myst_heading_anchors = 3
myst_dmath_double_inline = True
myst_update_mathjax = False     # mathjax3_config below says what MathJax typesets

# ---- API reference ---------------------------------------------------------------------------

autosummary_generate = True
autosummary_ignore_module_all = False
autodoc_default_options = {"members": True, "undoc-members": True, "member-order": "bysource"}
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
autodoc_class_signature = "mixed"
napoleon_google_docstring = True
napoleon_numpy_docstring = True
add_module_names = False
python_use_unqualified_type_names = True

# Every reference must resolve, except to the names of other projects (no intersphinx: the
# build needs no network) and the type aliases the signatures use.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(np|numpy|jax|torch|matplotlib|argparse|typing|collections|dataclasses|"
               r"pathlib|os|io|contextlib|enum|numbers|tracemalloc|time|math)(\..*)?"),
    (r"py:.*", r"(Any|Optional|Union|Sequence|Callable|Iterator|Iterable|Mapping|ClassVar|"
               r"NamedTuple|Literal|ndarray|floating|Generator|dtype|DTypeLike|ArrayLike|"
               r"Params|State|Path|PathLike|Figure|Axes|float64|float32|Self)"),
    (r"py:class", r"(int|float|str|bool|dict|list|tuple|None|object|type|bytes|callable)"),
    (r"py:class", r"(optional|array|array-like|arrays|array_like|default .*|.* or .*)"),
    # a dataclass field's default factory makes Sphinx split a signature's generic types
    (r"py:class", r"(dict|list|tuple|set)\[.*"),
]

# ---- The gallery: examples/plot_*.py, run at build time ---------------------------------------

# sphinx-gallery reads a gallery from one folder with a header file in it, and makes a page of
# every .py file there. examples/ also holds the longer worked runs (adding_problem.py, ...),
# which the how-to guides link to rather than run, so the build copies the plot_*.py scripts
# into a folder of its own under _build, beside the gallery's header from docs/.
GALLERY_SOURCE = DOCS / "_build" / "gallery_source"


def stage_gallery():
    GALLERY_SOURCE.mkdir(parents=True, exist_ok=True)
    wanted = {p.name: p for p in sorted((ROOT / "examples").glob("plot_*.py"))}
    wanted["GALLERY_HEADER.rst"] = DOCS / "gallery_header.rst"
    for old in GALLERY_SOURCE.iterdir():
        if old.name not in wanted and old.is_file():
            old.unlink()
    for name, source in wanted.items():
        target = GALLERY_SOURCE / name
        if not target.exists() or target.read_bytes() != source.read_bytes():
            shutil.copy2(source, target)


stage_gallery()

sphinx_gallery_conf = {
    "examples_dirs": [os.path.relpath(GALLERY_SOURCE, DOCS)],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"plot_",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "doc_module": ("manual_rnn",),
    "backreferences_dir": None,
    "write_computation_times": False,
    "min_reported_time": float("inf"),   # pages show results, not how long this build took
    "show_memory": False,
    "only_warn_on_example_error": False,
    "first_notebook_cell": None,
    "thumbnail_size": (320, 224),
    "default_thumb_file": None,
    "capture_repr": ("_repr_html_",),
    "plot_gallery": "True",
}

# ---- MathJax, served by the site itself ---------------------------------------------------------

MATHJAX = DOCS / "node_modules" / "mathjax" / "es5"
VENDOR = DOCS / "_vendor"
# tex-chtml.js with what it loads at run time (TeX extensions on first use, the CommonHTML
# fonts, the menu and its accessibility parts); the speech engine (sre) stays out.
MATHJAX_PARTS = ["tex-chtml.js", "input", "output/chtml.js", "output/chtml", "ui", "a11y",
                 "adaptors"]


def npm_install():
    """docs/node_modules from docs/package-lock.json, when a package is missing."""
    if all((DOCS / "node_modules" / name / "package.json").exists()
           for name in ("mathjax", "playwright-core")):
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("the documentation needs npm to install MathJax (docs/package.json)"
                           ": install Node.js and npm")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=DOCS,
                   check=True)


def vendor_mathjax():
    """Copy MathJax into docs/_vendor/mathjax, which html_static_path publishes as
    _static/mathjax; once per MathJax version."""
    npm_install()
    stamp = VENDOR / "mathjax" / ".version"
    installed = (MATHJAX.parent / "package.json").read_text()
    if stamp.exists() and stamp.read_text() == installed:
        return
    shutil.rmtree(VENDOR / "mathjax", ignore_errors=True)
    for part in MATHJAX_PARTS:
        source, target = MATHJAX / part, VENDOR / "mathjax" / part
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
    stamp.write_text(installed)


vendor_mathjax()
mathjax_path = "mathjax/tex-chtml.js"
mathjax3_config = {
    # Typeset the math Sphinx marks as such, and nothing else (code, docstrings, plain text).
    "options": {"ignoreHtmlClass": "tex2jax_ignore|mathjax_ignore|document",
                "processHtmlClass": "math|tex2jax_process"},
}

# ---- HTML ---------------------------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"manual_rnn {release}"
html_static_path = ["_static", "_vendor"]
html_css_files = ["custom.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 8,
    "navbar_align": "left",
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
# The derivations set equations beside code: their pages give the left sidebar's room to that.
html_sidebars = {"cells/*": [], "tutorial/*": []}
html_show_sourcelink = True
html_copy_source = True
html_last_updated_fmt = None
pygments_style = "sphinx"

suppress_warnings = []
