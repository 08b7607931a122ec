"""Warn (an error under -W) when the API reference leaves something public out.

- Every public module of manual_rnn (no part of its dotted name starts with "_") must be
  documented, i.e. listed in docs/reference/api.md.
- Every name of the `manual_rnn` namespace (its __all__) must be in the namespace's table on
  that page.

It also lets a reference name an object where users import it from: `manual_rnn.forward`
resolves to `manual_rnn.model.forward`, `manual_rnn.optim` to `manual_rnn.app.optim`.
"""
import importlib
import inspect
import pkgutil

from sphinx.util import logging

logger = logging.getLogger(__name__)
PACKAGE = "manual_rnn"
PAGE = "reference/api"


def public_modules(package=PACKAGE):
    root = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def check(app, env):
    documented = set(env.domaindata.get("py", {}).get("modules", {}))
    for name in public_modules():
        if name not in documented:
            logger.warning(f"public module {name} is not in the API reference: add it to "
                           f"docs/reference/api.md", location=PAGE)
    if PAGE not in env.found_docs:
        return
    text = env.doc2path(PAGE).read_text(encoding="utf-8")
    namespace = importlib.import_module(PACKAGE)
    for name in getattr(namespace, "__all__", []):
        if name.startswith("__"):
            continue
        if f".{name}\n" not in text:
            logger.warning(f"{PACKAGE}.{name} is not in the namespace table of "
                           f"docs/reference/api.md", location=PAGE)


def canonical_name(target):
    """The dotted name where the object `target` names is defined, or None."""
    module_name, _, rest = target.partition(".")
    try:
        obj = importlib.import_module(module_name)
        for part in rest.split(".") if rest else []:
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return None
    if inspect.ismodule(obj):
        return obj.__name__
    module, name = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    return f"{module}.{name}" if module and name else None


def resolve_reexport(app, env, node, contnode):
    """A reference to a re-exported name, resolved to where it is documented."""
    target = node.get("reftarget", "")
    if node.get("refdomain") != "py" or not target.startswith(PACKAGE + "."):
        return None
    canonical = canonical_name(target)
    if canonical is None or canonical == target:
        return None
    domain = env.get_domain("py")
    return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], canonical,
                               node, contnode)


def setup(app):
    app.connect("env-check-consistency", check)
    app.connect("missing-reference", resolve_reexport)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
