"""``kumo trace ...``: inspect and convert workload traces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from kumo.cli.common import console, fail, fmt_value
from kumo.errors import KumoError

__all__ = ["trace_app"]

trace_app = typer.Typer(help="Inspect and convert workload traces.", no_args_is_help=True)


@trace_app.command("info")
def trace_info(
    path: Annotated[str, typer.Argument(help="Embedded name, folder or file.")],
    format: Annotated[str | None, typer.Option("--format", "-f", help="Force a reader: bitbrains, materna, "
                                                                      "planetlab, generic, kumo.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Print a trace's VMs, steps, time span, booked and used totals, and the quirks repaired on reading."""
    from kumo.traces import load
    from kumo.traces import trace_info as info_of

    try:
        tr = load(path, format=format)
    except (KumoError, OSError) as e:
        fail(e)
        return
    info = info_of(tr)
    if as_json:
        console.print_json(json.dumps(info, default=float))
        return
    t = Table(title=f"trace {tr.name}", show_header=False)
    t.add_column("key")
    t.add_column("value", justify="right")
    quirks = info.pop("quirks", {}) or {}
    for k, v in info.items():
        if isinstance(v, dict):
            for k2, v2 in v.items():
                t.add_row(f"{k}.{k2}", fmt_value(v2))
        else:
            t.add_row(k, fmt_value(v))
    console.print(t)
    if quirks:
        q = Table(title="quirks repaired on reading", show_header=True, header_style="bold")
        q.add_column("rule")
        q.add_column("count", justify="right")
        for k, v in quirks.items():
            q.add_row(k, fmt_value(v))
        console.print(q)


@trace_app.command("convert")
def trace_convert(
    path: Annotated[str, typer.Argument(help="Embedded name, folder or file to read.")],
    out: Annotated[Path, typer.Argument(help="Output file (kumo compact format, .kumo).")],
    format: Annotated[str | None, typer.Option("--format", "-f", help="Force a reader.")] = None,
    codec: Annotated[str, typer.Option("--codec", help="zstd (smaller) or zlib (loads without pyarrow: "
                                                         "for small traces).")] = "zstd",
) -> None:
    """Convert a trace to kumo's compact single-file format."""
    from kumo.traces import load
    from kumo.traces.compact import save

    if codec not in ("zstd", "zlib"):
        fail(ValueError(f"--codec: must be zstd or zlib, got {codec!r}"))
        return
    try:
        tr = load(path, format=format)
        save(tr, out, codec=codec)
    except (KumoError, OSError) as e:
        fail(e)
        return
    console.print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB): {tr.n_vms} VMs x {tr.n_steps} steps")


@trace_app.command("list")
def trace_list() -> None:
    """List the traces shipped with kumo (usable by name anywhere a trace is expected)."""
    from kumo.traces import ALIASES, EMBEDDED

    t = Table(title="traces shipped with kumo", header_style="bold")
    t.add_column("name")
    t.add_column("also")
    t.add_column("file")
    for name, file in sorted(EMBEDDED.items()):
        t.add_row(name, ", ".join(a for a, target in sorted(ALIASES.items()) if target == name), file)
    console.print(t)
