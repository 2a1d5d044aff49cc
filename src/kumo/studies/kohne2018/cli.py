"""``kumo compare``: the Kohne study's command (registered through :func:`kumo.api.register_command`)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from kumo.cli.common import PluginOpt, bar, console, err_console, executor, fail, load_plugins, wide
from kumo.cli.sweep import fmt_cell
from kumo.errors import KumoError

__all__ = ["compare_cmd"]


class CompareFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


def compare_cmd(
    setup: Annotated[Path | None, typer.Option(help="Set-up JSON (scenario, ledger, calibration); default: the "
                                               "calibrated Kohne set-up shipped with kumo.")] = None,
    fmt: Annotated[CompareFormat, typer.Option("--format", help="table, csv or json.")] = CompareFormat.table,
    plot: Annotated[Path | None, typer.Option(help="Write the profit-decomposition bar chart to this file.")] = None,
    scheduler: Annotated[list[str] | None, typer.Option("--scheduler", "-s", help="Run only these (repeatable).")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Simulate only the first N steps.")] = None,
    workers: Annotated[int | None, typer.Option(help="Local worker processes (default: one per core).")] = None,
    dask: Annotated[str | None, typer.Option(help="Run on a Dask distributed scheduler at this address.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Keep the runs in this folder: results.csv and "
                                             "every scheduler's ledger (ledgers/<key>.csv); reruns resume.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    plugin: PluginOpt = None,
) -> None:
    """Reproduce Kohne's Table 10.10: the eight SLA schedulers on Bitbrains Rnd month 1, beside the reference.

    Prints the reference's columns with the reference row under each kumo row, the Spearman rank
    correlation of the margins, the reproduction's targets, and the calibrated constants.
    """
    from kumo import plugins
    from kumo.studies.kohne2018.compare import compare
    from kumo.studies.kohne2018.presets import SCHEDULERS

    load_plugins(plugin)
    try:
        with executor(dask, workers, plugin) as ex, bar("comparing", quiet or fmt != CompareFormat.table) as progress:
            cmp = compare(setup, schedulers=scheduler or SCHEDULERS, executor=ex, max_steps=max_steps,
                          progress=progress, out_dir=out, plugins=[plugins.resolve(p) for p in plugin or []])
    except (KumoError, OSError, KeyError) as e:
        fail(e)
        return
    if fmt == CompareFormat.csv:
        typer.echo(cmp.table().to_csv(index=False).rstrip())
    elif fmt == CompareFormat.json:
        typer.echo(cmp.to_json())
    else:
        _print_comparison(cmp)
    if plot is not None:
        import tempfile

        from kumo.report import profit_decomposition

        with tempfile.TemporaryDirectory() as d:
            src = Path(d) / "compare.json"
            src.write_text(cmp.to_json())
            profit_decomposition(src, plot)
        err_console.print(f"figure written to {plot}")


def _print_comparison(cmp: Any) -> None:
    df = cmp.table()
    t = Table(title="Kohne Table 10.10 on Bitbrains Rnd month 1: kumo vs reference", header_style="bold")
    for c in df.columns:
        t.add_column(c, justify="left" if c in ("scheduler", "source", "row") else "right")
    for i, r in df.iterrows():
        style = "dim" if r["source"] == "reference" else None
        t.add_row(*[fmt_cell(c, r[c]) for c in df.columns], style=style, end_section=bool(i % 2))
    # the reference's column names in full: never squeeze the table below its natural width
    wide(200).print(t)
    console.print(f"Spearman rank correlation of margins (kumo vs reference): [bold]{cmp.spearman_margin:.3f}[/]")
    ch = Table(title="targets", header_style="bold")
    for c in ("target", "value", "pass"):
        ch.add_column(c)
    for _, r in cmp.checks().iterrows():
        v = r["value"]
        ch.add_row(r["target"], f"{v:.3g}" if isinstance(v, float) else str(v),
                   "[green]yes[/]" if r["pass"] else "[red]no[/]")
    console.print(ch)
    consts = cmp.setup.constants()
    if len(consts):
        rows = ", ".join(cmp.setup.calibration_rows)
        ct = Table(title=f"constants (calibrated on {rows}; the other rows are validation)", header_style="bold")
        for c in ("constant", "value", "status"):
            ct.add_column(c)
        for _, r in consts.iterrows():
            ct.add_row(str(r["constant"]), str(r["value"]), str(r.get("status", "")))
        console.print(ct)


