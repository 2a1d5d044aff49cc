"""``kumo run``: simulate a scenario or a federation on a trace and print the run summary."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kumo.cli.common import (
    PluginOpt,
    Printed,
    QuietOpt,
    TraceFormatOpt,
    console,
    err_console,
    fail,
    load_plugins,
    say,
    summary_table,
)
from kumo.errors import KumoError

__all__ = ["run_cmd"]


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


def run_cmd(
    scenario: Annotated[Path | None, typer.Argument(help="Scenario or federation TOML file; default: the built-in "
                                                         "scenario for the trace.")] = None,
    trace: Annotated[str | None, typer.Option("--trace", "-t", metavar="<name|path>",
                                              help="Trace: embedded name (kumo trace list), a folder or a file. "
                                                   "Overrides the scenario.")] = None,
    trace_format: TraceFormatOpt = None,
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
    quiet: QuietOpt = False,
    report: Annotated[Path | None, typer.Option("--report", help="Also write an HTML report to this file (records "
                                                "the per-step matrices it needs; with the default ledger).")] = None,
    plugin: PluginOpt = None,
) -> None:
    """Simulate a data center on a trace and print the run summary.

    Without arguments: the embedded Bitbrains Rnd month (500 VMs, 30 days at 300 s) on 40 hosts with
    worst-fit placement.
    """
    from kumo import config, engine

    load_plugins(plugin)
    try:
        if scenario is not None:
            data = config.read_toml(scenario)
            kind = config.file_kind(data)
            if kind == "federation":
                _run_federation(scenario, trace, trace_format, seed, max_steps, max_vms, out, out_format.value, fmt,
                                quiet)
                return
            config.expect_kind(data, "scenario", str(scenario))
            sc = config.load(scenario)
        else:
            sc = config.default_scenario(trace or "bitbrains-rnd")
        data = sc.model_dump()
        if trace is not None:
            data["trace"]["source"] = trace
            data["trace"]["format"] = trace_format
            data["trace"]["reader"] = {}  # the file's reader options were for its own trace
        elif trace_format is not None:
            data["trace"]["format"] = trace_format
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
        if report is not None:
            data["record_host_steps"] = data["record_vm_steps"] = True
        sc = config.parse(data, str(scenario) if scenario else "command line")
        tr = sc.trace.load()
        if quiet or fmt != Printed.table:
            result = engine.run(sc, tr)
        else:
            with Progress(TextColumn("[bold]simulating"), BarColumn(), MofNCompleteColumn(),
                          TextColumn("steps"), TimeElapsedColumn(), console=err_console, transient=True) as bar:
                task = bar.add_task("run", total=tr.n_steps)
                result = engine.run(sc, tr, progress=lambda done, total: bar.update(task, completed=done))
    except (KumoError, OSError) as e:
        fail(e)
        return
    summary = result.summary
    warn_unserved(summary)
    if fmt == Printed.json:
        console.print_json(json.dumps(summary, default=float))
    elif fmt == Printed.csv:
        typer.echo(result.tables["summary"].to_csv(index=False).rstrip())
    else:
        console.print(summary_table(summary, f"kumo run: {sc.name} on {tr.name}"))
        console.print(f"[dim]{tr.n_steps} steps in {result.manifest['wall_s']:.2f} s[/]")
    if out is not None:
        path = result.write(out, out_format.value)
        say(quiet, f"results written to {path}")
    if report is not None:
        _report(result, out, report, quiet)


def _report(result: object, out: Path | None, path: Path, quiet: bool) -> None:
    """The run's tables (in ``out``, else next to the report) with its ledger, then the HTML report."""
    from kumo.accounting import account
    from kumo.report.html import write_report

    folder = out if out is not None else path.with_suffix("")
    if out is None:
        result.write(folder, "parquet")  # type: ignore[attr-defined]
    account(result).ledger.to_csv(folder / "ledger.csv", index=False, float_format="%.10g")  # type: ignore[arg-type]
    say(quiet, f"report written to {write_report(folder, path)}")


#: above this share of VMs never served, ``kumo run`` warns (the park is far too small for the trace)
UNSERVED_WARNING = 0.5


def warn_unserved(summary: dict) -> None:
    """Warn on stderr when most VMs that asked for a host never got one."""
    share = float(summary.get("never_served_fraction", 0.0))
    if share > UNSERVED_WARNING:
        err_console.print(
            f"[bold yellow]warning:[/] {summary['vms_never_served']} VMs ({share:.0%} of those that asked for a "
            "host) were never served: the hosts cannot take this trace (see rejections; "
            "placement.on_no_host = \"queue\" makes VMs wait)", highlight=False)


def _run_federation(path: Path, trace: str | None, trace_format: str | None, seed: int | None,
                    max_steps: int | None, max_vms: int | None, out: Path | None, out_format: str, fmt: Printed,
                    quiet: bool) -> None:
    """``kumo run`` on a federation file (a TOML with a ``providers`` table): the same options and output."""
    from kumo import config
    from kumo.federation import parse_federation, run_federation
    from kumo.federation.tables import FED_SCHEMA

    data = config.read_toml(path)
    config.take_plugins(data, path.parent, str(path))
    for key, value in (("source", trace), ("format", trace_format), ("max_steps", max_steps), ("max_vms", max_vms)):
        if value is not None:
            data.setdefault("trace", {})[key] = value
    if trace is not None and trace_format is None:
        data["trace"].pop("format", None)  # the file's reader (and its options) were for its own trace
        data["trace"].pop("reader", None)
    if seed is not None:
        data["seed"] = seed
    spec = parse_federation(data, str(path))
    tr = spec.trace.load()
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
        console.print(summary_table(result.summary, f"kumo run: federation {spec.name} on {tr.name}",
                                    FED_SCHEMA["summary"]))
        cols = ["provider", "vms_home", "vms_outsourced", "vms_insourced", "sla_breaks_hosted", "profit"]
        console.print(result.tables["providers"][cols].to_string(index=False))
        console.print(f"[dim]{len(result.datacenter_results)} data centers x {result.summary['steps']} steps in "
                      f"{result.manifest['wall_s']:.2f} s[/]")
    if out is not None:
        say(quiet, f"results written to {result.write(out, out_format)}")
