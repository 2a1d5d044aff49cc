"""``kumo report``: one self-contained HTML page for a run, sweep or comparison folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kumo.cli.common import QuietOpt, fail, say

__all__ = ["report_cmd"]


def report_cmd(
    folder: Annotated[Path, typer.Argument(help="A folder written by kumo run -o, kumo sweep or kumo compare -o.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")] = Path("report.html"),
    quiet: QuietOpt = False,
) -> None:
    """Write an HTML report of a run, sweep or comparison folder.

    One self-contained file: figures inlined, no network needed to open it."""
    from kumo.report.html import write_report

    try:
        path = write_report(folder, out)
    except (ValueError, OSError, KeyError) as e:
        fail(e)
        return
    say(quiet, f"report written to {path}")
