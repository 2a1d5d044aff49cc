"""The ``kumo`` command line: argument handling and rendering only; the work happens in the library."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kumo.errors import KumoError

app = typer.Typer(
    name="kumo",
    help="kumo: a fast, trace-driven cloud operating-system lab (IaaS data-center simulator).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
trace_app = typer.Typer(help="Inspect and convert workload traces.", no_args_is_help=True)
app.add_typer(trace_app, name="trace")

console = Console()
err_console = Console(stderr=True)


class Preset(str, Enum):
    first_fit = "first-fit"
    best_fit = "best-fit"
    worst_fit = "worst-fit"


class Resource(str, Enum):
    cpu = "cpu"
    ram = "ram"
    binding = "binding"


class OutFormat(str, Enum):
    parquet = "parquet"
    csv = "csv"


class Printed(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


def _fail(e: Exception) -> None:
    err_console.print(f"[bold red]error:[/] {e}", highlight=False)
    raise typer.Exit(2)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.4f}" if abs(v) < 1e6 else f"{v:,.1f}"
    return str(v)


def _summary_table(summary: dict[str, Any], title: str, schema: dict[str, tuple[str, str, str]] | None = None) -> Table:
    from kumo.results import SCHEMA

    t = Table(title=title, show_header=True, header_style="bold")
    t.add_column("metric")
    t.add_column("value", justify="right")
    t.add_column("unit")
    for k, v in summary.items():
        unit = (schema or SCHEMA["summary"]).get(k, ("", "", ""))[1]
        t.add_row(k, _fmt(v), "" if unit == "-" else unit)
    return t


@app.command()
def run(
    scenario: Annotated[Path | None, typer.Argument(help="Scenario TOML file; default: the built-in scenario "
                                                         "for the trace.")] = None,
    trace: Annotated[str | None, typer.Option("--trace", "-t", help="Trace: embedded name (bitbrains-rnd, "
                                              "planetlab-20110303), a folder or a file. Overrides the scenario.")] = None,
    placement: Annotated[Preset | None, typer.Option(help="Placement preset; overrides the scenario.")] = None,
    resource: Annotated[Resource | None, typer.Option(help="Resource the preset weighs: cpu, ram or binding "
                                                          "(the scarcer of the two).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed; overrides the scenario.")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Simulate only the first N steps.")] = None,
    max_vms: Annotated[int | None, typer.Option(help="Use only the first N VMs of the trace.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write all result tables, schema and manifest "
                                                                  "to this folder.")] = None,
    out_format: Annotated[OutFormat, typer.Option("--out-format", help="Table format for --out.")] = OutFormat.parquet,
    fmt: Annotated[Printed, typer.Option("--format", help="How to print the summary.")] = Printed.table,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Simulate a data center on a trace and print the run summary.

    Without arguments: the embedded Bitbrains Rnd month (500 VMs, 30 days at 300 s) on 40 hosts with
    worst-fit placement.
    """
    from kumo import config, engine
    from kumo.traces import load

    try:
        if scenario is not None:
            from kumo.federation import is_federation
            from kumo.federation.spec import read_toml

            if is_federation(read_toml(scenario)):
                _run_federation(scenario, trace, seed, max_steps, max_vms, out, out_format.value, fmt, quiet)
                return
        if scenario is not None:
            sc = config.load(scenario)
        else:
            sc = config.default_scenario(trace or "bitbrains-rnd")
        data = sc.model_dump()
        if trace is not None:
            data["trace"]["source"] = trace
        if placement is not None:
            data["placement"]["preset"] = placement.value
        if resource is not None:
            data["placement"]["resource"] = resource.value
        if seed is not None:
            data["seed"] = seed
        if max_steps is not None:
            data["trace"]["max_steps"] = max_steps
        if max_vms is not None:
            data["trace"]["max_vms"] = max_vms
        sc = config.parse(data, str(scenario) if scenario else "command line")
        tr = load(sc.trace.source, format=sc.trace.format)
        if quiet or fmt != Printed.table:
            result = engine.run(sc, tr)
        else:
            with Progress(TextColumn("[bold]simulating"), BarColumn(), MofNCompleteColumn(),
                          TextColumn("steps"), TimeElapsedColumn(), console=err_console, transient=True) as bar:
                task = bar.add_task("run", total=tr.n_steps)
                result = engine.run(sc, tr, progress=lambda done, total: bar.update(task, completed=done))
    except (KumoError, OSError) as e:
        _fail(e)
        return
    summary = result.summary
    if fmt == Printed.json:
        console.print_json(json.dumps(summary, default=float))
    elif fmt == Printed.csv:
        typer.echo(result.tables["summary"].to_csv(index=False).rstrip())
    else:
        console.print(_summary_table(summary, f"kumo run: {sc.name} on {tr.name}"))
        console.print(f"[dim]{tr.n_steps} steps in {result.manifest['wall_s']:.2f} s[/]")
    if out is not None:
        path = result.write(out, out_format.value)
        err_console.print(f"results written to {path}")


def _run_federation(path: Path, trace: str | None, seed: int | None, max_steps: int | None, max_vms: int | None,
                    out: Path | None, out_format: str, fmt: Printed, quiet: bool) -> None:
    """``kumo run`` on a federation file (a TOML with a ``providers`` table): the same options and output."""
    from kumo.federation import parse_federation, run_federation
    from kumo.federation.spec import read_toml
    from kumo.federation.tables import FED_SCHEMA
    from kumo.traces import load

    data = read_toml(path)
    for key, value in (("source", trace), ("max_steps", max_steps), ("max_vms", max_vms)):
        if value is not None:
            data.setdefault("trace", {})[key] = value
    if seed is not None:
        data["seed"] = seed
    spec = parse_federation(data, str(path))
    tr = load(spec.trace.source, format=spec.trace.format)
    if quiet or fmt != Printed.table:
        result = run_federation(spec, tr)
    else:
        with Progress(TextColumn("[bold]simulating federation"), BarColumn(), MofNCompleteColumn(), TextColumn("steps"),
                      TimeElapsedColumn(), console=err_console, transient=True) as bar:
            task = bar.add_task("run", total=min(spec.trace.max_steps or tr.n_steps, tr.n_steps))
            result = run_federation(spec, tr, progress=lambda done, total: bar.update(task, completed=done))
    if fmt == Printed.json:
        console.print_json(json.dumps(result.summary, default=float))
    elif fmt == Printed.csv:
        typer.echo(result.tables["summary"].to_csv(index=False).rstrip())
    else:
        console.print(_summary_table(result.summary, f"kumo run: federation {spec.name} on {tr.name}",
                                     FED_SCHEMA["summary"]))
        cols = ["provider", "vms_home", "vms_outsourced", "vms_insourced", "sla_breaks_hosted", "profit"]
        console.print(result.tables["providers"][cols].to_string(index=False))
        console.print(f"[dim]{len(result.datacenter_results)} data centers x {result.summary['steps']} steps in "
                      f"{result.manifest['wall_s']:.2f} s[/]")
    if out is not None:
        err_console.print(f"results written to {result.write(out, out_format)}")


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
        _fail(e)
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
                t.add_row(f"{k}.{k2}", _fmt(v2))
        else:
            t.add_row(k, _fmt(v))
    console.print(t)
    if quirks:
        q = Table(title="quirks repaired on reading", show_header=True, header_style="bold")
        q.add_column("rule")
        q.add_column("count", justify="right")
        for k, v in quirks.items():
            q.add_row(k, _fmt(v))
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
        _fail(ValueError(f"--codec: must be zstd or zlib, got {codec!r}"))
        return
    try:
        tr = load(path, format=format)
        save(tr, out, codec=codec)
    except (KumoError, OSError) as e:
        _fail(e)
        return
    console.print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB): {tr.n_vms} VMs x {tr.n_steps} steps")


@app.command("check")
def check(scenario: Annotated[Path, typer.Argument(help="Scenario, federation or sweep TOML file.")]) -> None:
    """Validate a scenario, federation or sweep file and list every problem with its path."""
    import tomllib

    from kumo import config

    try:
        try:
            data = tomllib.loads(scenario.read_text())
        except (OSError, tomllib.TOMLDecodeError):
            data = {}  # config.load reports a missing file or bad TOML with the path
        if "providers" in data:
            from kumo.federation import load_federation

            load_federation(scenario)
        elif "axes" in data:
            from kumo.sweep import load_experiment

            load_experiment(scenario)
        else:
            config.load(scenario)
    except (KumoError, ValueError) as e:
        _fail(e)
        return
    console.print(f"[green]ok[/] {scenario}")


from kumo.cli_models import model_app as _model_app; app.add_typer(_model_app, name="model")  # noqa: E402, E702, I001

from kumo import cli_ops as _cli_ops  # noqa: E402,F401


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


@app.command("validate")
def validate_cmd(
    target: Annotated[str, typer.Argument(help="What to reproduce: cloudsim-planetlab (CloudSim 4.0's PlanetLab "
                                               "power experiments).")],
    date: Annotated[str, typer.Option(help="PlanetLab day (folder name under ../shared/data/planetlab or "
                                           "$KUMO_PLANETLAB_DIR); only 20110303 has CloudSim's numbers.")] = "20110303",
    policy: Annotated[list[str] | None, typer.Option("--policy", "-p", help="Policy to run (repeatable): npa, dvfs "
                                                     "or <thr|iqr|mad|lr|lrr>-<mmt|mc|mu|rs|hpg|mm>; default: "
                                                     "CloudSim's ten examples.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of random VM selection (*-rs).")] = 0,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Worker processes (the runs are "
                                      "independent).")] = 1,
    fmt: Annotated[Printed, typer.Option("--format", help="table, csv or json.")] = Printed.table,
) -> None:
    """Replay CloudSim's PlanetLab consolidation experiments in compatibility mode and print kumo's numbers
    next to CloudSim's with the relative difference (exit code 1 if a target of issue #3 is missed)."""
    if target != "cloudsim-planetlab":
        _fail(KumoError(f"unknown validation target {target!r}; valid: cloudsim-planetlab"))
        return
    from kumo.compat.validation import validation_table

    try:
        if fmt == Printed.table:
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


def main() -> None:  # console-script entry point
    app()


if __name__ == "__main__":
    main()
