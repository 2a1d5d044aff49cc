"""``kumo compare``: the Kohne study's command (registered through :func:`kumo.api.register_command`)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from kumo.cli.common import (
    DaskOpt,
    JobsOpt,
    PluginOpt,
    QuietOpt,
    TraceFormatOpt,
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
    scheduler: Annotated[list[str] | None, typer.Option("--scheduler", "-s", metavar="<name>",
                                                        help="Run only this scheduler (repeatable): FF, HPGBF, "
                                                             "HPGOP, HPGWF, MMBF, MMOP, MMWF, MMWF+LB.")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Simulate only the first N steps.")] = None,
    jobs: JobsOpt = None,
    dask: DaskOpt = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Keep the runs in this folder: results.csv and "
                                             "every scheduler's ledger (ledgers/<key>.csv); reruns resume.")] = None,
    quiet: QuietOpt = False,
    seeds: Annotated[int, typer.Option(min=1, help="Replicates: run every scheduler with seeds 0..N-1 (with "
                                                   "--noise, each seed draws its own noise).")] = 1,
    windows: Annotated[int | None, typer.Option(min=2, help="Replicates: cut the trace into N consecutive windows "
                                                             "(4: the month's weeks), one run per window.")] = None,
    noise: Annotated[float, typer.Option(min=0.0, max=1.0, help="Perturb the demand by log-normal noise of this "
                                                                 "relative size (0.01 = 1 %).")] = 0.0,
    jitter: Annotated[float, typer.Option(min=0.0, max=0.5, help="Replicates: move the controller's thresholds "
                                                                  "by -J, 0 and +J.")] = 0.0,
    trace: Annotated[str | None, typer.Option("--trace", "-t", metavar="<name|path>",
                                              help="Run on this trace instead (embedded name, folder or file); no "
                                                   "reference is shown then.")] = None,
    trace_format: TraceFormatOpt = None,
    plugin: PluginOpt = None,
    workers: WorkersAlias = None,
) -> None:
    """Reproduce Kohne's Table 10.10: the eight SLA schedulers.

    Runs them on Bitbrains Rnd month 1 and prints each beside the reference.

    Prints the reference's columns with the reference row under each kumo row, the Spearman rank
    correlation of the margins, the reproduction's targets, and the calibrated constants. With
    replicates (--seeds, --windows, --noise, --jitter) it prints the mean and 95 % t-interval of every
    column over the replicates, how often each scheduler holds its rank, and who beats whom how often.
    """
    from kumo import plugins
    from kumo.studies.kohne2018.compare import compare
    from kumo.studies.kohne2018.presets import SCHEDULERS

    load_plugins(plugin)
    try:
        with executor(dask, jobs_of(jobs, workers), plugin) as ex, bar("comparing", quiet or fmt != CompareFormat.table) as progress:
            cmp = compare(setup, schedulers=scheduler or SCHEDULERS, executor=ex, max_steps=max_steps,
                          progress=progress, out_dir=out, plugins=[plugins.resolve(p) for p in plugin or []],
                          seeds=list(range(seeds)) if seeds > 1 else None, windows=windows, noise=noise,
                          jitter=jitter, trace_source=trace, trace_format=trace_format)
    except (KumoError, OSError, KeyError) as e:
        fail(e)
        return
    if fmt == CompareFormat.csv:
        out_table = cmp.table() if cmp.n_replicates == 1 else cmp.summary()
        typer.echo(out_table.to_csv(index=False).rstrip())
    elif fmt == CompareFormat.json:
        typer.echo(cmp.to_json())
    elif cmp.n_replicates > 1:
        _print_replicated(cmp)
    else:
        _print_comparison(cmp)
    if plot is not None:
        import tempfile

        from kumo.report import profit_decomposition

        with tempfile.TemporaryDirectory() as d:
            src = Path(d) / "compare.json"
            src.write_text(cmp.to_json())
            profit_decomposition(src, plot)
        say(quiet, f"figure written to {plot}")


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




def _pm(mean: float, lo: float, hi: float, digits: int) -> str:
    if mean != mean:
        return ""
    if lo != lo:
        return f"{mean:,.{digits}f}"
    return f"{mean:,.{digits}f} ± {(hi - lo) / 2:,.{digits}f}"


def _print_replicated(cmp: Any) -> None:
    """The comparison over replicates: mean ± t-interval half-width, rank stability, pairwise wins."""
    summ = cmp.summary()
    n = cmp.n_replicates
    axes = ", ".join(cmp.replicate_axes) or "replicates"
    t = Table(title=f"Kohne Table 10.10 schedulers over {n} replicates ({axes}): mean ± 95 % t-interval",
              header_style="bold")
    cols = [("migrations", 0), ("sla_breaks_cpu", 1), ("sla_breaks_ram", 1), ("sla_breaks_uptime", 1),
            ("penalties", 0), ("costs", 0), ("profit", 0), ("margin_percent", 1)]
    t.add_column("scheduler")
    t.add_column("source")
    for c, _ in cols:
        t.add_column(c.replace("sla_breaks_", "").replace("_percent", " %"), justify="right")
    for s in cmp.schedulers:
        part = summ[summ["scheduler"] == s].set_index("metric")
        t.add_row(s, "kumo", *[_pm(part.at[c, "mean"], part.at[c, "ci_low"], part.at[c, "ci_high"], d) for c, d in cols])
        if cmp.reference is not None:
            t.add_row("", "reference", *[f"{cmp.reference.at[s, c]:,.{d}f}" for c, d in cols], style="dim")
    wide(200).print(t)
    st = cmp.stability().sort_values(["rank", "mean_rank"], kind="stable")
    rt = Table(title="rank stability (margin %): the rank in the comparison of means, and how often each "
                     "replicate gives it", header_style="bold")
    for c in ("scheduler", "rank", "held", "mean rank"):
        rt.add_column(c, justify="left" if c == "scheduler" else "right")
    for _, r in st.iterrows():
        rt.add_row(str(r["scheduler"]), str(r["rank"]), f"{r['held']} of {r['replicates']}", f"{r['mean_rank']:.2f}")
    console.print(rt)
    w = cmp.wins()
    wt = Table(title=f"row beats column on margin, in how many of {n} replicates", header_style="bold")
    wt.add_column("")
    for c in w.columns:
        wt.add_column(str(c), justify="right")
    for name, row in w.iterrows():
        wt.add_row(str(name), *["" if name == c else str(int(row[c])) for c in w.columns])
    wide(160).print(wt)
    if cmp.reference is not None and cmp.spearman_margin == cmp.spearman_margin:
        console.print(f"Spearman rank correlation of the mean margins with the reference: "
                      f"[bold]{cmp.spearman_margin:.3f}[/]")
