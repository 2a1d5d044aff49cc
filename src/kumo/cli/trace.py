"""``kumo trace ...``: inspect and convert workload traces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from kumo.cli.common import console, fail, fmt_value
from kumo.errors import KumoError

__all__ = ["trace_app"]

trace_app = typer.Typer(help="Inspect, convert and generate workload traces.", no_args_is_help=True)

FormatOpt = Annotated[str | None, typer.Option("--format", "-f", help="Force a reader: bitbrains, materna, "
                                                                      "planetlab, generic, opendc, azure, kumo.")]
StepOpt = Annotated[float | None, typer.Option("--step", help="Grid step in seconds (opendc, azure: a multiple "
                                                              "of 300; bitbrains, materna, generic).")]
MaxVmsOpt = Annotated[int | None, typer.Option("--max-vms", help="opendc, azure: keep the first N VMs to arrive.")]
WindowOpt = Annotated[str | None, typer.Option("--window", help="opendc, azure: only START:END from the trace's "
                                                                "start, in hours or with a unit: 24:48, 1d:8d.")]
SampleOpt = Annotated[float | None, typer.Option("--sample-subscriptions", help="azure: keep this fraction of "
                                                                                "subscriptions (seeded).")]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="azure: seed of the subscription sample.")]
CpuOpt = Annotated[str | None, typer.Option("--cpu", help="azure: avg (default), max or p95 of the 5-minute "
                                                          "readings.")]


def reader_options(step: float | None = None, max_vms: int | None = None, window: str | None = None,
                   sample: float | None = None, seed: int | None = None, cpu: str | None = None) -> dict[str, Any]:
    """The reader options given on the command line (absent ones left to the reader's defaults)."""
    given = {"step_s": step, "max_vms": max_vms, "window": window, "sample_subscriptions": sample, "seed": seed,
             "cpu": cpu}
    return {k: v for k, v in given.items() if v is not None}


@trace_app.command("info")
def trace_info(
    path: Annotated[str, typer.Argument(help="Embedded name, folder or file.")],
    format: FormatOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    step: StepOpt = None,
    max_vms: MaxVmsOpt = None,
    window: WindowOpt = None,
    sample_subscriptions: SampleOpt = None,
    seed: SeedOpt = None,
    cpu: CpuOpt = None,
) -> None:
    """Print a trace's VMs, steps, time span, booked and used totals, and the quirks repaired on reading."""
    from kumo.traces import load
    from kumo.traces import trace_info as info_of

    try:
        tr = load(path, format=format, **reader_options(step, max_vms, window, sample_subscriptions, seed, cpu))
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
    format: FormatOpt = None,
    codec: Annotated[str, typer.Option("--codec", help="zstd (smaller) or zlib (loads without pyarrow: "
                                                         "for small traces).")] = "zstd",
    step: StepOpt = None,
    max_vms: MaxVmsOpt = None,
    window: WindowOpt = None,
    sample_subscriptions: SampleOpt = None,
    seed: SeedOpt = None,
    cpu: CpuOpt = None,
) -> None:
    """Convert a trace to kumo's compact single-file format (with the reader options: a window, a sample...)."""
    from kumo.traces import load
    from kumo.traces.compact import save

    if codec not in ("zstd", "zlib"):
        fail(ValueError(f"--codec: must be zstd or zlib, got {codec!r}"))
        return
    try:
        tr = load(path, format=format, **reader_options(step, max_vms, window, sample_subscriptions, seed, cpu))
        save(tr, out, codec=codec)
    except (KumoError, OSError) as e:
        fail(e)
        return
    console.print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB): {tr.n_vms} VMs x {tr.n_steps} steps")


@trace_app.command("topology")
def trace_topology(
    path: Annotated[Path, typer.Argument(help="OpenDC topology JSON file (e.g. surf.json).")],
    memory_unit: Annotated[str, typer.Option("--memory-unit", help="What memorySize counts: mb (default) or "
                                                                  "bytes.")] = "mb",
    as_json: Annotated[bool, typer.Option("--json", help="Print the host types as JSON instead of TOML.")] = False,
) -> None:
    """Print an OpenDC topology's hosts as a scenario's [[hosts]] tables (TOML), power models included."""
    from kumo.traces.opendc_topology import hosts_toml, read_topology

    try:
        hosts = read_topology(path, memory_unit=memory_unit)
    except (KumoError, OSError) as e:
        fail(e)
        return
    if as_json:
        typer.echo(json.dumps(hosts, indent=1))
    else:
        typer.echo(hosts_toml(hosts, path.name), nl=False)
