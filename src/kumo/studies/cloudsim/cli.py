"""The ``kumo validate`` command: kumo's CloudSim-compatible numbers beside CloudSim's, rendered.

The study owns the command; the ``kumo`` application registers it (``app.command("validate")(validate_cmd)``).
Argument handling and rendering only: the work is :func:`kumo.studies.cloudsim.validation.validation_table`.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kumo.cli.common import JobsOpt, QuietOpt
from kumo.errors import KumoError

__all__ = ["Printed", "validate_cmd"]

console = Console()
err_console = Console(stderr=True)


class Printed(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


def _fail(e: Exception) -> None:
    err_console.print(f"[bold red]error:[/] {e}", highlight=False)
    raise typer.Exit(2)


def _validation_render(df: Any, fmt: Printed) -> None:
    if fmt == Printed.csv:
        typer.echo(df.to_csv(index=False, float_format=lambda x: repr(float(x))).rstrip())  # shortest exact
        return
    if fmt == Printed.json:
        rows = [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
                for r in df.to_dict(orient="records")]
        typer.echo(json.dumps(rows, indent=2))  # full precision (repr of each double)
        return
    date = df.attrs.get("date", "")
    t = Table(title=f"kumo (CloudSim compatibility mode) vs CloudSim 4.0, PlanetLab {date}", header_style="bold")
    for col, just in (("policy", "left"), ("metric", "left"), ("kumo", "right"), ("CloudSim", "right"),
                      ("rel. diff", "right"), ("target", "right"), ("", "left")):
        t.add_column(col, justify=just, no_wrap=True)  # type: ignore[arg-type]
    policies = list(dict.fromkeys(df["policy"]))
    for p in policies:
        part = df[df["policy"] == p]
        for i, r in enumerate(part.itertuples(index=False)):
            exact = r.kumo == r.cloudsim
            rel = "" if r.rel_diff != r.rel_diff else ("exact" if exact else f"{r.rel_diff:+.2e}")
            ok = "" if r.within_target is None else ("[green]ok[/]" if r.within_target else "[red]MISS[/]")
            t.add_row(p if i == 0 else (f"[dim]{r.cloudsim_name}[/]" if i == 1 else ""), r.metric, f"{r.kumo:.7g}",
                      "" if r.cloudsim != r.cloudsim else f"{r.cloudsim:.7g}", rel,
                      "" if r.target != r.target else f"{r.target:.0%}", ok, end_section=i == len(part) - 1)
    console.print(t)
    console.print("[dim]values are fractions (not percent), energy in kWh; --format csv|json for full precision[/]")
    wall = df.attrs.get("wall_s", {})
    refs = sorted(set(df["reference"]))
    console.print(f"[dim]reference: {', '.join(refs)}; kumo wall time: "
                  + ", ".join(f"{p} {s:.2f} s" for p, s in wall.items()) + "[/]")


def validate_cmd(
    target: Annotated[Literal["cloudsim-planetlab"], typer.Argument(
        help="What to reproduce: CloudSim 4.0's PlanetLab power experiments.")],
    date: Annotated[str, typer.Option(metavar="<yyyymmdd>", help="PlanetLab day: one of the ten shipped with kumo (kumo trace list), or a "
                                           "folder name under $KUMO_PLANETLAB_DIR; only 20110303 has CloudSim's "
                                           "numbers.")] = "20110303",
    policy: Annotated[list[str] | None, typer.Option("--policy", "-p", metavar="<name>",
                                                     help="Policy to run (repeatable): npa, dvfs "
                                                     "or <thr|iqr|mad|lr|lrr>-<mmt|mc|mu|rs|hpg|mm>; default: "
                                                     "CloudSim's ten examples.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of random VM selection (*-rs).")] = 0,
    jobs: JobsOpt = None,
    fmt: Annotated[Printed, typer.Option("--format", help="table, csv or json.")] = Printed.table,
    quiet: QuietOpt = False,
) -> None:
    """Reproduce CloudSim's PlanetLab consolidation experiments.

    Replays them in compatibility mode and prints kumo's numbers next to CloudSim's with the relative
    difference (exit code 1 if a reproduction target is missed)."""
    if target != "cloudsim-planetlab":
        _fail(KumoError(f"unknown validation target {target!r}; valid: cloudsim-planetlab"))
        return
    import os

    from kumo.studies.cloudsim.validation import validation_table

    jobs = jobs or os.cpu_count() or 1
    try:
        if fmt == Printed.table and not quiet:
            with Progress(TextColumn("[bold]running {task.description}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=err_console, transient=True) as bar:
                task = bar.add_task("", total=len(policy) if policy else 10)

                def tick(p: str, i: int, n: int) -> None:
                    bar.update(task, completed=i, total=n, description=p)

                df = validation_table(policy, date=date, seed=seed, progress=tick, jobs=jobs)
        else:
            df = validation_table(policy, date=date, seed=seed, jobs=jobs)
    except (KumoError, OSError) as e:
        _fail(e)
        return
    _validation_render(df, fmt)
    if (df["within_target"] == False).any():  # noqa: E712  (None means "no target")
        raise typer.Exit(1)
