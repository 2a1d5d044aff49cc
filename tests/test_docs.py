"""The documentation site: every relative link of docs/ points to a file, and ``mkdocs build --strict`` passes.

The build needs the ``docs`` extra (``pip install -e ".[docs]"``); without it that test is skipped.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# [text](target) and ![alt](target), target without spaces; code spans and fenced blocks are removed first
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
CODE_SPAN = re.compile(r"`[^`\n]*`")


def _relative_links(md: Path) -> list[tuple[str, Path]]:
    text = CODE_SPAN.sub("", FENCE.sub("", md.read_text(encoding="utf-8")))
    out = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith(("#", "/")):
            continue  # a URL (http:, mailto:), an anchor on the same page, or a site-absolute path
        path = target.split("#", 1)[0].split("?", 1)[0]
        if path:
            out.append((target, (md.parent / path).resolve()))
    return out


def test_docs_relative_links_point_to_files() -> None:
    pages = sorted(DOCS.rglob("*.md"))
    assert pages, f"no Markdown pages under {DOCS}"
    broken = [f"{md.relative_to(ROOT)}: {target}" for md in pages for target, path in _relative_links(md)
              if not path.exists()]
    assert not broken, "links to files that do not exist:\n" + "\n".join(broken)


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None,
                    reason='mkdocs is not installed: pip install -e ".[docs]" to build the site')
def test_docs_build_strict(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{log}"
    warnings = [line for line in log.splitlines() if line.startswith("WARNING")]
    assert not warnings, "mkdocs build warnings:\n" + "\n".join(warnings)
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "reference" / "api" / "index.html").is_file()


def _schema_rows(doc: str, heading: str, schema: dict[str, tuple[str, str, str]]) -> list[str]:
    """The rows of ``schema`` missing from the section under ``heading`` of ``doc`` (exact text)."""
    lines = (DOCS / "guide" / doc).read_text(encoding="utf-8").split("\n")
    start = next(i for i, line in enumerate(lines) if line.strip() == heading)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("#")), len(lines))
    section = set(lines[start:end])
    return [f"{doc} {heading}: {row}" for row in (f"| `{c}` | {d} | {u} | {m} |" for c, (d, u, m) in schema.items())
            if row not in section]


def test_every_column_of_every_table_is_documented_as_its_schema_says() -> None:
    from kumo.accounting import ACCOUNTS_SCHEMA, LEDGER_SCHEMA
    from kumo.federation.tables import FED_SCHEMA
    from kumo.results import SCHEMA

    missing = [r for t, s in SCHEMA.items() for r in _schema_rows("results.md", f"## {t}", s)]
    missing += _schema_rows("ledger.md", "## The accounts", ACCOUNTS_SCHEMA)
    missing += _schema_rows("ledger.md", "## The ledger table", LEDGER_SCHEMA)
    missing += [r for t, s in FED_SCHEMA.items() for r in _schema_rows("federation.md", f"### {t}", s)]
    assert not missing, "documentation rows out of date (dtype, unit and description come from the schema):\n" + \
        "\n".join(missing)
