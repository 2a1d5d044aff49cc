"""A griffe extension for the API reference: kumo's reST habits in docstrings rendered as Markdown.

kumo's docstrings are numpydoc with a few reStructuredText habits that mkdocstrings would print as they
are; before the docstrings are parsed, this extension rewrites them:

* Sphinx roles become links (below);
* simple tables (``=====  =====`` borders) become Markdown tables;
* a paragraph ending in ``::`` before an indented literal block ends in ``:`` (the block stays code).

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
        esc = [[c.replace("|", "\\|") for c in r] for r in (header, *rows)]
        if out and out[-1].strip():
            out.append("")
        out.append("| " + " | ".join(esc[0]) + " |")
        out.append("|" + "---|" * len(starts))
        out += ["| " + " | ".join(r) + " |" for r in esc[1:]]
        out.append("")
        i = borders[-1] + 1
    return "\n".join(out)


def rewrite(text: str, collection: Any, scope: Any) -> str:
    """Every rewrite of the module docstring, in order: literal markers, tables, roles."""
    return convert(tables(_LITERAL.sub(":\n", text)), collection, scope)


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
