"""``kumo sweep``: run an experiment (base scenario x axes x seeds), resumable, one combined table."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from kumo.cli.common import (
    DaskOpt,
    JobsOpt,
    PluginOpt,
    Printed,
    QuietOpt,
    WorkersAlias,
    bar,
    console,
    executor,
    fail,
    jobs_of,
    load_plugins,
    say,
    wide,
)
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
    jobs: JobsOpt = None,
    dask: DaskOpt = None,
    plot: Annotated[Path | None, typer.Option(help="Write the spec's \\[plot] figure to this file.")] = None,
    ledgers: Annotated[bool, typer.Option(help="Also write every point's ledger to OUT/ledgers/<key>.csv.")] = False,
    fmt: Annotated[Printed, typer.Option("--format", help="How to print the results table (csv and json: every "
                                                          "column of results.csv).")] = Printed.table,
    quiet: QuietOpt = False,
    dry_run: Annotated[bool, typer.Option(help="Validate and list the points, run nothing.")] = False,
    seeds: Annotated[int | None, typer.Option(min=1, help="Replicates: seeds 0..N-1 instead of the spec's seeds.")] = None,
    windows: Annotated[int | None, typer.Option(min=2, help="Replicates: cut the trace into N consecutive "
                                                             "windows (overrides [replicates] windows).")] = None,
    noise: Annotated[float | None, typer.Option(min=0.0, max=1.0, help="Perturb the demand by log-normal noise "
                                                                        "of this relative size.")] = None,
    jitter: Annotated[float | None, typer.Option(min=0.0, max=0.5, help="Replicates: move the controller's "
                                                                         "thresholds by -J, 0 and +J.")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="Also write an HTML report of the sweep to this "
                                                "file.")] = None,
    plugin: PluginOpt = None,
    workers: WorkersAlias = None,
) -> None:
    """Run an experiment: a base scenario x axes x seeds.

    Resumable; all points land in one table (results.csv) and the [plot] figure.

    With replicates (seeds, --windows, --noise, --jitter or a [replicates] table) every point of the
    swept axes is also summarized over its replicates: mean ± 95 % t-interval (summary.csv).
    """
    from kumo import config, plugins
    from kumo.sweep import load_experiment, run_many, shared_trace

    load_plugins(plugin)
    try:
        config.expect_kind(config.read_toml(spec), "sweep", str(spec))
        exp, root = load_experiment(spec)
        exp = _with_replicates(exp, seeds, windows, noise, jitter)
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
        with executor(dask, jobs_of(jobs, workers), shipped) as ex, \
                bar(f"sweep {exp.name}", quiet or fmt != Printed.table) as progress:
            # on a cluster, the client reads the trace and sends it once to each worker (no shared folder
            # needed); locally, each worker process loads it by name once
            trace = shared_trace(points) if dask else None
            table = run_many(points, executor=ex, out_dir=out_dir, progress=progress, ledgers=ledgers,
                             trace=trace)
    except (KumoError, OSError) as e:
        fail(e)
        return
    if fmt == Printed.csv:
        typer.echo(table.to_csv(index=False, float_format="%.10g").rstrip())
    elif fmt == Printed.json:
        typer.echo(table.to_json(orient="records", indent=1))
    else:
        _print_table(exp, table, out_dir)
    if fmt != Printed.table and exp.replicate_axes and len(table) > 1:
        _replicate_summary(exp, table, out_dir)  # summary.csv is written whatever is printed
    target = plot or (out_dir / "figure.png" if exp.plot else None)
    if target is not None and exp.plot:
        from kumo.report import sweep_figure

        sweep_figure(out_dir / "results.csv", target, **exp.plot)
        say(quiet, f"figure written to {target}")
    if report is not None:
        from kumo.report.html import write_report

        say(quiet, f"report written to {write_report(out_dir, report)}")


def _print_table(exp: Any, table: Any, out_dir: Path) -> None:
    """The results as a table (the main metrics per point), then the replicate summary if any."""
    metrics = {"migrations": "migr", "sla_breaks_cpu": "cpu br", "sla_breaks_ram": "ram br",
               "sla_breaks_uptime": "ut br", "energy_kwh": "kWh", "profit": "profit", "margin_percent": "margin %"}
    if "co2_kg" in table.columns and (table["co2_kg"] > 0).any():
        metrics = {**dict(list(metrics.items())[:5]), "co2_kg": "kg CO2", **dict(list(metrics.items())[5:])}
    axes = list(exp.axes) + [a for a in exp.replicate_axes if a != "seed"] + (["seed"] if len(exp.seeds) > 1 else [])
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
    if exp.replicate_axes and len(table) > 1:
        _print_summary(exp, table, out_dir, _replicate_summary(exp, table, out_dir))


def _with_plugins(p: Any, extra: tuple[str, ...]) -> Any:
    import dataclasses

    return dataclasses.replace(p, plugins=tuple(dict.fromkeys([*p.plugins, *extra])))


def _with_replicates(exp: Any, seeds: int | None, windows: int | None, noise: float | None,
                     jitter: float | None) -> Any:
    """The experiment with the command line's replicate options over its own."""
    rep = exp.replicates.model_dump()
    for k, v in (("windows", windows), ("noise", noise), ("jitter", jitter)):
        if v is not None:
            rep[k] = v
    update: dict[str, Any] = {"replicates": type(exp.replicates)(**rep)}
    if seeds is not None:
        update["seeds"] = list(range(seeds))
    return exp.model_copy(update=update)


_SUMMARY_METRICS = ("migrations", "sla_breaks_cpu", "sla_breaks_ram", "sla_breaks_uptime", "energy_kwh", "profit",
                    "margin_percent")


def _replicate_summary(exp: Any, table: Any, out_dir: Path) -> Any:
    """Each point of the swept axes over its replicates (mean, t-interval), written to summary.csv."""
    from kumo.stats import summarize

    metrics = [m for m in _SUMMARY_METRICS if m in table.columns]
    summ = summarize(table, exp.treatment_axes, metrics)
    summ.to_csv(out_dir / "summary.csv", index=False, float_format="%.10g")
    return summ


def _print_summary(exp: Any, table: Any, out_dir: Path, summ: Any) -> None:
    """The replicate summary: mean ± t-interval half-width per point of the swept axes."""
    by = exp.treatment_axes
    metrics = [m for m in _SUMMARY_METRICS if m in table.columns]
    n = int(summ["n"].max()) if len(summ) else 0
    t = Table(title=f"over {n} replicates ({', '.join(exp.replicate_axes)}): mean ± 95 % t-interval -> "
                    f"{out_dir / 'summary.csv'}", header_style="bold")
    for a in by:
        t.add_column(_short(a))
    for m in metrics:
        t.add_column(m.replace("sla_breaks_", "br ").replace("_percent", " %"), justify="right")
    keys = summ[by].drop_duplicates() if by else None
    rows = [()] if keys is None else list(keys.itertuples(index=False, name=None))
    for key in rows:
        part = summ
        for a, v in zip(by, key, strict=True):
            part = part[part[a] == v]
        part = part.set_index("metric")
        cells = [str(v) for v in key]
        for m in metrics:
            mean, lo, hi = part.at[m, "mean"], part.at[m, "ci_low"], part.at[m, "ci_high"]
            cells.append(f"{mean:,.1f}" if lo != lo else f"{mean:,.1f} ± {(hi - lo) / 2:,.1f}")
        t.add_row(*cells)
    wide(160).print(t)
