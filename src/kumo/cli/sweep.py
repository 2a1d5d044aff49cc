"""``kumo sweep``: run an experiment (base scenario x axes x seeds), resumable, one combined table."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from kumo.cli.common import PluginOpt, bar, console, err_console, executor, fail, load_plugins, wide
from kumo.errors import KumoError

__all__ = ["fmt_cell", "sweep_cmd"]


def fmt_cell(col: str, v: Any) -> str:
    """A results cell: money to the cent, margins to 0.1 pp, counts with thousands separators."""
    if col in ("penalties", "costs", "profit", "revenue"):
        return f"{v:,.2f}"
    if col == "margin_percent":
        return f"{v:.1f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def _short(axis: str) -> str:
    """A column header for an axis path: the common prefixes dropped (``hosts[0].cpu_overcommit`` ->
    ``cpu_overcommit``, ``ledger.penalties.ram.value`` -> ``ram.value``)."""
    return re.sub(r"^(ledger\.penalties\.|ledger\.|hosts\[\d+\]\.|controller\.params\.|power_management\.)", "", axis)


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
    plugin: PluginOpt = None,
) -> None:
    """Run an experiment: base scenario x axes x seeds, resumable, one combined table (results.csv)."""
    from kumo import config, plugins
    from kumo.sweep import load_experiment, run_many

    load_plugins(plugin)
    try:
        config.expect_kind(config.read_toml(spec), "sweep", str(spec))
        exp, root = load_experiment(spec)
        points = exp.expand(root)
    except (KumoError, OSError) as e:
        fail(e)
        return
    out_dir = out or spec.parent / f"sweep-{exp.name}"
    if dry_run:
        for p in points:
            console.print(f"{p.index:4d}  seed {p.seed}  {p.values}  [dim]{p.key}[/]")
        console.print(f"{len(points)} point(s), {len({p.sim_key for p in points})} simulation(s)")
        return
    # the command line's plugins travel with the points, so every worker loads them too
    extra = tuple(plugins.resolve(s) for s in (plugin or []))
    if extra:
        points = [_with_plugins(p, extra) for p in points]
    try:
        shipped = list(dict.fromkeys([s for p in points[:1] for s in p.plugins]))
        with executor(dask, workers, shipped) as ex, bar(f"sweep {exp.name}", quiet) as progress:
            table = run_many(points, executor=ex, out_dir=out_dir, progress=progress, ledgers=ledgers)
    except (KumoError, OSError) as e:
        fail(e)
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
        cells += [fmt_cell(c, r[c]) if c in ("profit", "margin_percent") else
                  (f"{r[c]:,.0f}" if isinstance(r[c], float) else f"{r[c]:,}") for c in metrics]
        t.add_row(*cells)
    wide(160).print(t)
    target = plot or (out_dir / "figure.png" if exp.plot else None)
    if target is not None and exp.plot:
        from kumo.report import sweep_figure

        sweep_figure(out_dir / "results.csv", target, **exp.plot)
        err_console.print(f"figure written to {target}")


def _with_plugins(p: Any, extra: tuple[str, ...]) -> Any:
    import dataclasses

    return dataclasses.replace(p, plugins=tuple(dict.fromkeys([*p.plugins, *extra])))
