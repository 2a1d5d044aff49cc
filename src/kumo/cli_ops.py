"""``kumo compare`` and ``kumo sweep``: argument handling and rendering only (work in compare.py, sweep.py)."""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kumo.cli import _fail, app, console, err_console
from kumo.errors import KumoError


class CompareFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


@contextmanager
def _executor(dask: str | None, workers: int | None) -> Any:
    """A Dask distributed client's executor for ``--dask ADDRESS``, else a local process pool."""
    if dask:
        from distributed import Client

        client = Client(dask)
        try:
            yield client.get_executor()
        finally:
            client.close()
    else:
        from concurrent.futures import ProcessPoolExecutor

        os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread per run; parallelism is across runs
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        with ProcessPoolExecutor(max_workers=workers) as ex:
            yield ex


@contextmanager
def _bar(label: str, quiet: bool) -> Any:
    if quiet:
        yield None
        return
    with Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TextColumn("runs"),
                  TimeElapsedColumn(), console=err_console, transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _wide(width: int) -> Console:
    """The CLI's console, but never narrower than ``width`` (wide tables are not squeezed into an 80-column
    pipe; a terminal wider than that is used in full)."""
    return Console(file=console.file, width=max(console.width, width), force_terminal=console.is_terminal)


def _fmt_cell(col: str, v: Any) -> str:
    if col in ("penalties", "costs", "profit", "revenue"):
        return f"{v:,.2f}"
    if col == "margin_percent":
        return f"{v:.1f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


@app.command("compare")
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
) -> None:
    """Reproduce Kohne's Table 10.10: the eight SLA schedulers on Bitbrains Rnd month 1, beside the reference.

    Prints the reference's columns with the reference row under each kumo row, the Spearman rank
    correlation of the margins, the issue's targets, and the calibrated constants.
    """
    from kumo.compare import SCHEDULERS, compare

    try:
        with _executor(dask, workers) as ex, _bar("comparing", quiet or fmt != CompareFormat.table) as progress:
            cmp = compare(setup, schedulers=scheduler or SCHEDULERS, executor=ex, max_steps=max_steps,
                          progress=progress, out_dir=out)
    except (KumoError, OSError, KeyError) as e:
        _fail(e)
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
        t.add_row(*[_fmt_cell(c, r[c]) for c in df.columns], style=style, end_section=bool(i % 2))
    # the reference's column names in full: never squeeze the table below its natural width
    _wide(200).print(t)
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


def _short(axis: str) -> str:
    """A column header for an axis path: the common prefixes dropped (``hosts[0].cpu_overcommit`` ->
    ``cpu_overcommit``, ``ledger.penalties.ram.value`` -> ``ram.value``)."""
    return re.sub(r"^(ledger\.penalties\.|ledger\.|hosts\[\d+\]\.|controller\.params\.|power_management\.)", "", axis)


@app.command("sweep")
def sweep_cmd(
    spec: Annotated[Path, typer.Argument(help="Experiment TOML: base scenario, \\[axes], seeds.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Result folder (resumable); default: "
                                             "sweep-<name> next to the spec.")] = None,
    workers: Annotated[int | None, typer.Option(help="Local worker processes (default: one per core).")] = None,
    dask: Annotated[str | None, typer.Option(help="Run on a Dask distributed scheduler at this address.")] = None,
    plot: Annotated[Path | None, typer.Option(help="Write the spec's \\[plot] figure to this file.")] = None,
    ledgers: Annotated[bool, typer.Option(help="Also write every point's ledger to OUT/ledgers/<key>.csv.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Validate and list the points, run nothing.")] = False,
) -> None:
    """Run an experiment: base scenario x axes x seeds, resumable, one combined table (results.csv)."""
    from kumo.sweep import load_experiment, run_many

    try:
        exp, root = load_experiment(spec)
        points = exp.expand(root)
    except (KumoError, OSError) as e:
        _fail(e)
        return
    out_dir = out or spec.parent / f"sweep-{exp.name}"
    if dry_run:
        for p in points:
            console.print(f"{p.index:4d}  seed {p.seed}  {p.values}  [dim]{p.key}[/]")
        console.print(f"{len(points)} point(s), {len({p.sim_key for p in points})} simulation(s)")
        return
    try:
        with _executor(dask, workers) as ex, _bar(f"sweep {exp.name}", quiet) as progress:
            table = run_many(points, executor=ex, out_dir=out_dir, progress=progress, ledgers=ledgers)
    except (KumoError, OSError) as e:
        _fail(e)
        return
    metrics = {"migrations": "migr", "sla_breaks_cpu": "cpu br", "sla_breaks_ram": "ram br",
               "sla_breaks_uptime": "ut br", "energy_kwh": "kWh", "profit": "profit", "margin_percent": "margin %"}
    axes = list(exp.axes) + (["seed"] if len(exp.seeds) > 1 else [])
    t = Table(title=f"sweep {exp.name}: {len(table)} point(s) -> {out_dir / 'results.csv'}", header_style="bold")
    for a in axes:
        t.add_column(_short(a))
    for label in metrics.values():
        t.add_column(label, justify="right")
    for _, r in table.iterrows():
        cells = [str(r[a]) for a in axes]
        cells += [_fmt_cell(c, r[c]) if c in ("profit", "margin_percent") else
                  (f"{r[c]:,.0f}" if isinstance(r[c], float) else f"{r[c]:,}") for c in metrics]
        t.add_row(*cells)
    _wide(160).print(t)
    target = plot or (out_dir / "figure.png" if exp.plot else None)
    if target is not None and exp.plot:
        from kumo.report import sweep_figure

        sweep_figure(out_dir / "results.csv", target, **exp.plot)
        err_console.print(f"figure written to {target}")
