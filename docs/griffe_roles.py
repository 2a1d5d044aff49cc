"""A griffe extension for the API reference: kumo's reST habits in docstrings rendered as Markdown.

kumo's docstrings are numpydoc with a few reStructuredText habits that mkdocstrings would print as they
are; before the docstrings are parsed, this extension rewrites them:

* Sphinx roles become links (below);
* simple tables (``=====  =====`` borders) become Markdown tables;
* a paragraph ending in ``::`` before an indented literal block ends in ``:`` (the block stays code);
* numpydoc items written ``name : description`` (kumo's short form) become ``name`` with the description
  under it, so the type comes from the signature and the description is rendered as Markdown; free text
  after the items of a section becomes a ``Notes`` section instead of a bogus item.

Sphinx roles: kumo's docstrings cross-reference with Sphinx roles (``:class:`~kumo.state.ClusterView```,
``:func:`load```, ``:mod:`.presets```), which mkdocstrings would print as they are. Before the docstrings
are parsed, this extension resolves each role's target with griffe (absolute paths, names in the
docstring's scope, ``.name`` relative to its module; an alias becomes the object it stands for) and
the extension writes an *optional* mkdocs-autorefs reference: a link when the target is rendered on the site, plain
code when it is not (a private helper, an undocumented attribute, another library). So a role can never
break ``mkdocs build --strict``. A target griffe cannot resolve is written as code.

Loaded by mkdocs.yml (``plugins.mkdocstrings.handlers.python.options.extensions``); not part of kumo.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

#: ``:role:`target```, ``:role:`~target``` or ``:role:`title <target>```, with an optional ``py:`` domain
ROLE = re.compile(r":(?:py:)?(?P<role>class|func|meth|mod|data|attr|exc|obj|const|type):`(?P<body>[^`]+)`")
_TITLED = re.compile(r"^(?P<title>.*?)\s*<(?P<target>[^<>]+)>$")


def _lookup(collection: Any, path: str) -> Any | None:
    try:
        return collection.get_member(path)
    except Exception:  # noqa: BLE001  (a path griffe does not know is simply not linked)
        return None


def _canonical(collection: Any, path: str) -> str | None:
    """The path where the object behind ``path`` is documented (aliases followed), or None."""
    obj = _lookup(collection, path)
    if obj is None:
        return None
    if obj.is_alias:
        try:
            return str(obj.final_target.path)
        except Exception:  # noqa: BLE001  (an alias to another package: not on this site)
            return None
    return str(obj.path)


def resolve(collection: Any, scope: Any, target: str) -> str | None:
    """The documented path of ``target`` as seen from object ``scope``, or None."""
    if target.startswith("."):
        rest = target.lstrip(".")
        module = scope if scope.is_module else scope.module
        bases = [module.path]
        if module.parent is not None:
            bases.append(module.parent.path)
        for base in bases:
            found = _canonical(collection, f"{base}.{rest}")
            if found:
                return found
        return None
    found = _canonical(collection, target)
    if found:
        return found
    head, _, tail = target.partition(".")
    here = scope
    while here is not None:
        try:
            first = here.resolve(head)
        except Exception:  # noqa: BLE001  (not in this scope: try the enclosing one)
            first = None
        if first:
            found = _canonical(collection, f"{first}.{tail}" if tail else first)
            if found:
                return found
        here = here.parent
    return None


def _title(m: re.Match[str]) -> str:
    body = m["body"].strip()
    titled = _TITLED.match(body)
    if titled:
        return titled["title"]
    target = body.lstrip("~")
    return target.rsplit(".", 1)[-1] if body.startswith("~") else target.lstrip(".")


def convert(text: str, collection: Any, scope: Any) -> str:
    """``text`` with every Sphinx role replaced by an optional cross-reference (or code)."""

    def one(m: re.Match[str]) -> str:
        role, body = m["role"], m["body"].strip()
        titled = _TITLED.match(body)
        if titled:
            title, target = titled["title"], titled["target"].strip()
        else:
            target = body.lstrip("~")
            title = target.rsplit(".", 1)[-1] if body.startswith("~") else target.lstrip(".")
        if role in ("func", "meth") and not title.endswith(")"):
            title += "()"
        code = f"<code>{html.escape(title)}</code>"
        path = resolve(collection, scope, target.lstrip("~"))
        if path is None:
            return code
        return f'<autoref identifier="{html.escape(path)}" optional>{code}</autoref>'

    return ROLE.sub(one, text)


_BORDER = re.compile(r"^=+(?: +=+)+ *$")
_LITERAL = re.compile(r"(?<=\S)::\n(?=[ \t]*\n[ \t]*\n*(?: {4}|\t))")


def _cells(line: str, starts: list[int]) -> list[str]:
    bounds = [*starts[1:], None]
    return [line[a:b].strip() for a, b in zip(starts, bounds, strict=True)]


def _pipes(cell: str) -> str:
    """Escape the pipes of a table cell outside code spans (Markdown tables keep those in code spans)."""
    parts = re.split(r"(`+[^`]*`+)", cell)
    return "".join(p.replace("|", "\\|") if i % 2 == 0 else p for i, p in enumerate(parts))


def tables(text: str) -> str:
    """``text`` with every reST simple table (``====  ====`` borders) written as a Markdown table.

    A line whose first cell is empty continues the row above it; rows between the first two borders of a
    table with three borders are its header."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if not _BORDER.match(lines[i]):
            out.append(lines[i])
            i += 1
            continue
        starts = [m.start() for m in re.finditer(r"=+", lines[i])]
        borders = [i]
        j = i + 1
        while j < len(lines) and lines[j].strip() and len(borders) < 3:
            if _BORDER.match(lines[j]):
                borders.append(j)
                if len(borders) == 2 and not (j + 1 < len(lines) and lines[j + 1].strip()):
                    break  # a table without a header row ends at its second border
            j += 1
        if len(borders) < 2:
            out.append(lines[i])
            i += 1
            continue
        rows: list[list[str]] = []
        header: list[str] | None = None
        for k in range(borders[0] + 1, borders[-1]):
            if k in borders:
                if header is None and rows:
                    header = [" ".join(c) for c in zip(*rows, strict=True)] if len(rows) > 1 else rows[0]
                    rows = []
                continue
            cells = _cells(lines[k], starts)
            if rows and not cells[0]:
                rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells, strict=True)]
            else:
                rows.append(cells)
        if header is None:
            header = [""] * len(starts)
        esc = [[_pipes(c) for c in r] for r in (header, *rows)]
        if out and out[-1].strip():
            out.append("")
        out.append("| " + " | ".join(esc[0]) + " |")
        out.append("|" + "---|" * len(starts))
        out += ["| " + " | ".join(r) + " |" for r in esc[1:]]
        out.append("")
        i = borders[-1] + 1
    return "\n".join(out)


_SECTIONS = {"parameters", "other parameters", "attributes", "receives", "returns", "yields", "raises", "warns",
             "see also", "notes", "references", "examples", "methods", "functions", "classes", "modules",
             "type parameters", "type aliases", "deprecated"}
_NAMED = {"parameters", "other parameters", "attributes", "receives"}
_UNNAMED = {"returns", "yields"}
_ITEM = re.compile(r"^(?P<names>\*{0,2}[A-Za-z_][\w.]*(?:,\s*\*{0,2}[A-Za-z_][\w.]*)*)(?:\s+:\s*(?P<rest>.*))?$")
_NAMED_RETURN = re.compile(r"^(?P<name>[A-Za-z_]\w*)\s+:\s+(?P<rest>.+)$")
_PROSE = re.compile(r"\b(the|a|an|is|are|to|for|when|if|per|each|every)\b|``|—|:\w+:`")


def _dashes(line: str) -> bool:
    s = line.strip()
    return len(s) >= 3 and set(s) == {"-"}


def _prose(text: str) -> bool:
    """Whether the text after ``name :`` is a description rather than a type (``float``, ``dict[str, Any]``,
    ``float in (0, 1]``, ``(n_hosts,) float64``)."""
    t = text.strip()
    return len(t) > 40 or t.endswith(".") or bool(_PROSE.search(t))


def numpy_items(text: str) -> str:
    """``text`` with kumo's short numpydoc items, and free text after a section's items, made standard."""
    lines = text.split("\n")
    out: list[str] = []
    section: str | None = None
    items = 0
    for i, line in enumerate(lines):
        if line.strip() and not line[0].isspace() and i + 1 < len(lines) and _dashes(lines[i + 1]):
            name = line.strip().lower()
            section, items = (name if name in _SECTIONS else None), 0
            out.append(line)
            continue
        if section not in _NAMED | _UNNAMED or not line.strip() or line[0].isspace() or _dashes(line):
            out.append(line)
            continue
        m = _ITEM.match(line) if section in _NAMED else None
        after_blank = i > 0 and not lines[i - 1].strip()
        if items and after_blank and (section in _UNNAMED or m is None):
            out += ["Notes", "-----", line]  # free text after the section's items, not an item
            section = None
            continue
        items += 1
        if section in _NAMED:
            if m is not None and m["rest"] and _prose(m["rest"]):
                out += [m["names"], "    " + m["rest"]]  # the type comes from the signature
            elif m is not None and m["rest"]:
                out.append(f"{m['names']} : {ROLE.sub(_title, m['rest'])}")
            else:
                out.append(line)
        else:  # returns, yields: "[name :] type"; a description goes under the signature's type
            named = _NAMED_RETURN.match(line)
            if named and _prose(named["rest"]):
                out += [f"{named['name']} :", "    " + named["rest"]]
            elif not named and _prose(line):
                out += [":", "    " + line]
            else:
                out.append(ROLE.sub(_title, line))
    return "\n".join(out)


def rewrite(text: str, collection: Any, scope: Any) -> str:
    """Every rewrite, in order: literal markers, tables, numpydoc items, roles."""
    return convert(numpy_items(tables(_LITERAL.sub(":\n", text))), collection, scope)


def _walk(obj: Any, seen: set[int]) -> Any:
    if id(obj) in seen:
        return
    seen.add(id(obj))
    yield obj
    for member in list(obj.members.values()):
        if not member.is_alias:
            yield from _walk(member, seen)


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles in every docstring of a loaded package (see the module docstring)."""

    def _run(self, pkg: Any, loader: Any) -> None:
        collection = loader.modules_collection
        for obj in _walk(pkg, set()):
            doc = obj.docstring
            if doc is not None:
                doc.value = rewrite(doc.value, collection, obj)

    def on_package(self, *, pkg: Any, loader: Any, **kwargs: Any) -> None:  # current griffe
        self._run(pkg, loader)

    def on_package_loaded(self, *, pkg: Any, loader: Any, **kwargs: Any) -> None:  # older griffe
        self._run(pkg, loader)
