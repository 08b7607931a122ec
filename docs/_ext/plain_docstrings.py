"""The library's docstrings are plain text; this turns them into reStructuredText for autodoc.

They follow one convention, written to be read in a terminal (`help()`, an editor):

- paragraphs of prose, in which `name` marks code;
- indented blocks: code (`ys, state, cache = forward(...)`) or equations (`h_t = f(a_t)`);
- blocks whose lines are aligned in columns (`cell:     "rnn", ...`, tables of names);
- lists whose items start with "- " and continue indented by two spaces;
- a title underlined with dashes ("The network" / "-----------").

Prose keeps its words and gets its code as inline literals; every other character that
reStructuredText would read as markup (`*`, `|`, a trailing `_`, a backslash) is escaped.
Indented and aligned blocks become literal blocks, highlighted as Python when they parse as
Python; titles become rubrics. A docstring already written in reStructuredText or in the
Google or NumPy style (a directive, a field list, an "Args:" or "Parameters" section) goes to
napoleon instead.
"""
import ast
import re
import textwrap

RST_ALREADY = re.compile(r"^\s*(\.\. \w|:(param|returns?|raises|type|rtype)\b|"
                         r"(Args|Arguments|Parameters|Returns|Yields|Raises|Attributes|"
                         r"Examples?):\s*$)")
UNDERLINE = re.compile(r"^(-{3,}|={3,}|~{3,})\s*$")
ALIGNED = re.compile(r"\S {3,}\S")                   # columns: three spaces inside a line
FIELD = re.compile(r"^[\w.\[\]\"' ,()-]{1,40}:\s{2,}\S")   # "name:   description"
CODE = re.compile(r"``.+?``|`[^`\n]+`")


def escape(text):
    """Prose with `code` as inline literals and the rest escaped."""
    out, last = [], 0
    for match in CODE.finditer(text):
        out.append(_escape_plain(text[last:match.start()]))
        code = match.group(0).strip("`")
        out.append(f"``{code}``" if code.strip() else _escape_plain(match.group(0)))
        last = match.end()
    out.append(_escape_plain(text[last:]))
    return "".join(out)


def _escape_plain(text):
    text = text.replace("\\", "\\\\")
    text = text.replace("*", "\\*").replace("|", "\\|").replace("`", "\\`")
    text = re.sub(r"(?<=\w)_(?=\W|$)", r"\\_", text)           # a trailing _ is a reference
    text = re.sub(r"(?<!\w)_(?=\w)", r"\\_", text)             # so is _`name`
    text = re.sub(r"\[(\w+)\]\\?_", r"[\1]\\_", text)
    return text


def _indent(line):
    return len(line) - len(line.lstrip(" "))


def _literal(lines):
    """A literal block of `lines`, as Python when it parses as Python."""
    body = textwrap.dedent("\n".join(lines)).splitlines()
    try:
        ast.parse("\n".join(body))
        language = "python"
    except SyntaxError:
        language = "text"
    return [f".. code-block:: {language}", ""] + ["   " + line if line else "" for line in body]


def _is_list(lines):
    if not lines[0].startswith(("- ", "* ")):
        return False
    return all(line.startswith(("- ", "* ")) or (_indent(line) == 2 and line[2:3] != " ")
               for line in lines)


def _list(lines):
    out = []
    for line in lines:
        if line.startswith(("- ", "* ")):
            out.append("- " + escape(line[2:]))
        else:
            out.append("  " + escape(line[2:]))
    return out


def _block(lines):
    """One block of lines (no blank line inside) as reStructuredText lines."""
    if len(lines) >= 2 and UNDERLINE.match(lines[1]) and lines[0].strip():
        title = [f".. rubric:: {escape(lines[0].strip())}", ""]
        return title + (_block(lines[2:]) if lines[2:] else [])
    if _indent(lines[0]) > 0:
        return _literal(lines)
    if _is_list(lines):
        return _list(lines)
    if any(ALIGNED.search(line) or FIELD.match(line) for line in lines):
        return _literal(lines)
    deeper = next((i for i, line in enumerate(lines) if _indent(line) > 0), None)
    if deeper is None:
        return [escape(line) for line in lines]
    # prose, then without a blank line an indented block: the block is code or equations
    return [escape(line) for line in lines[:deeper]] + [""] + _literal(lines[deeper:])


def convert(lines):
    """Docstring lines (as autodoc gives them: dedented) to reStructuredText lines."""
    if any(RST_ALREADY.match(line) for line in lines):
        return list(lines)
    blocks, block = [], []
    for line in list(lines) + [""]:
        if line.strip():
            block.append(line.rstrip())
        elif block:
            blocks.append(block)
            block = []
    # an indented block with blank lines in it is one block
    merged = []
    for block in blocks:
        if merged and _indent(block[0]) > 0 and _indent(merged[-1][0]) > 0:
            merged[-1] = merged[-1] + [""] + block
        else:
            merged.append(block)
    out = []
    for block in merged:
        out.extend(_block(block) + [""])
    return out


def process_docstring(app, what, name, obj, options, lines):
    if any(RST_ALREADY.match(line) for line in lines):
        from sphinx.ext.napoleon import _process_docstring as napoleon
        napoleon(app, what, name, obj, options, lines)
    else:
        lines[:] = convert(lines)


def setup(app):
    # napoleon reads the first line of a plain property docstring, "Features of h_t: ...", as
    # "type: description"; so it sees only the docstrings written in its styles.
    app.setup_extension("sphinx.ext.napoleon")
    from sphinx.ext.napoleon import _process_docstring as napoleon
    for listener in list(app.events.listeners.get("autodoc-process-docstring", [])):
        if listener.handler is napoleon:
            app.disconnect(listener.id)
    app.connect("autodoc-process-docstring", process_docstring)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
