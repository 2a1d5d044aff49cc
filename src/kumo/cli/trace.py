"""``kumo trace ...``: inspect and convert workload traces."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.table import Table

from kumo.cli.common import Printed, QuietOpt, TraceFormatOpt, console, fail, fmt_value, say
from kumo.errors import KumoError

__all__ = ["trace_app"]

trace_app = typer.Typer(help="Inspect, convert and generate workload traces.", no_args_is_help=True)

StepOpt = Annotated[float | None, typer.Option("--step", help="Grid step in seconds (opendc, azure: a multiple "
                                                              "of 300; bitbrains, materna, generic).")]
MaxVmsOpt = Annotated[int | None, typer.Option("--max-vms", help="opendc, azure: keep the first N VMs to arrive.")]
WindowOpt = Annotated[str | None, typer.Option("--window", help="opendc, azure: only START:END from the trace's "
                                                                "start, in hours or with a unit: 24:48, 1d:8d.")]
SampleOpt = Annotated[float | None, typer.Option("--sample-subscriptions", help="azure: keep this fraction of "
                                                                                "subscriptions (seeded).")]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="azure: seed of the subscription sample.")]
CpuOpt = Annotated[Literal["avg", "max", "p95"] | None, typer.Option(
    "--cpu", help="azure: which statistic of the 5-minute readings is the CPU demand (default avg).")]
#: the former ``--json`` flag of info and topology, still accepted (hidden)
JsonAlias = Annotated[bool, typer.Option("--json", hidden=True)]
Codec = Literal["zstd", "zlib"]


def reader_options(step: float | None = None, max_vms: int | None = None, window: str | None = None,
                   sample: float | None = None, seed: int | None = None, cpu: str | None = None) -> dict[str, Any]:
    """The reader options given on the command line (absent ones left to the reader's defaults)."""
    given = {"step_s": step, "max_vms": max_vms, "window": window, "sample_subscriptions": sample, "seed": seed,
             "cpu": cpu}
    return {k: v for k, v in given.items() if v is not None}


@trace_app.command("info")
def trace_info(
    path: Annotated[str, typer.Argument(metavar="<name|path>", help="Embedded name, folder or file.")],
    trace_format: TraceFormatOpt = None,
    fmt: Annotated[Literal["table", "json"], typer.Option("--format", help="How to print it.")] = "table",
    step: StepOpt = None,
    max_vms: MaxVmsOpt = None,
    window: WindowOpt = None,
    sample_subscriptions: SampleOpt = None,
    seed: SeedOpt = None,
    cpu: CpuOpt = None,
    as_json: JsonAlias = False,
) -> None:
    """Summarize a trace and the quirks repaired on reading it.

    VMs, steps, time span, booked and used totals, and every repair rule with its count."""
    from kumo.traces import load
    from kumo.traces import trace_info as info_of

    try:
        tr = load(path, format=trace_format,
                  **reader_options(step, max_vms, window, sample_subscriptions, seed, cpu))
    except (KumoError, OSError) as e:
        fail(e)
        return
    info = info_of(tr)
    if as_json or fmt == "json":
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


def _no_huge_pages() -> None:
    """Ask numpy not to request transparent huge pages for its arrays in this process, unless
    ``NUMPY_MADVISE_HUGEPAGE`` says otherwise.

    A conversion allocates many arrays as long as the file; where the kernel must compact memory to hand out
    huge pages that costs more than they save: a 100k-VM generic Parquet file converted in 8.9 s without
    them and 14-19 s with them on a shared 2-core machine (``benchmarks/trace_io.py --numpy-hugepage``).
    Only the speed changes, never a value."""
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return
    import numpy as np

    setter = getattr(getattr(getattr(np, "_core", None), "multiarray", None), "_set_madvise_hugepage", None)
    if callable(setter):  # a private numpy switch (numpy >= 2); older numpy keeps its default
        setter(False)


@trace_app.command("convert")
def trace_convert(
    path: Annotated[str, typer.Argument(metavar="<name|path>", help="Embedded name, folder or file to read.")],
    out: Annotated[Path, typer.Argument(help="Output file (kumo compact format, .kumo).")],
    trace_format: TraceFormatOpt = None,
    codec: Annotated[Codec, typer.Option("--codec", help="zstd (smaller) or zlib (loads without pyarrow: "
                                                         "for small traces).")] = "zstd",
    step: StepOpt = None,
    max_vms: MaxVmsOpt = None,
    window: WindowOpt = None,
    sample_subscriptions: SampleOpt = None,
    seed: SeedOpt = None,
    cpu: CpuOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Convert a trace to kumo's compact single-file format.

    The reader options apply (a window, a VM sample...): convert once, load fast afterwards."""
    from kumo.traces import load
    from kumo.traces.compact import save

    _no_huge_pages()
    try:
        tr = load(path, format=trace_format,
                  **reader_options(step, max_vms, window, sample_subscriptions, seed, cpu))
        save(tr, out, codec=codec)
    except (KumoError, OSError) as e:
        fail(e)
        return
    say(quiet, f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB): {tr.n_vms} VMs x {tr.n_steps} steps")


@trace_app.command("topology")
def trace_topology(
    path: Annotated[Path, typer.Argument(help="OpenDC topology JSON file (e.g. surf.json).")],
    memory_unit: Annotated[Literal["mb", "bytes"], typer.Option(
        "--memory-unit", help="What the topology's memorySize counts.")] = "mb",
    fmt: Annotated[Literal["toml", "json"], typer.Option(
        "--format", help="toml: [[hosts]] tables to paste into a scenario; json: the host types.")] = "toml",
    as_json: JsonAlias = False,
) -> None:
    """Print an OpenDC topology as a scenario's [[hosts]] tables.

    TOML to paste into a scenario, power models included."""
    from kumo.traces.opendc_topology import hosts_toml, read_topology

    try:
        hosts = read_topology(path, memory_unit=memory_unit)
    except (KumoError, OSError) as e:
        fail(e)
        return
    if as_json or fmt == "json":
        typer.echo(json.dumps(hosts, indent=1))
    else:
        typer.echo(hosts_toml(hosts, path.name), nl=False)


def _burst(text: str) -> tuple[float, float, float]:
    """``START:DURATION:FACTOR`` (hours, or with a unit s/m/h/d; factor a plain number)."""
    from kumo.traces._select import parse_duration

    parts = text.split(":")
    if len(parts) != 3:
        raise ValueError(f"--burst: expected START:DURATION:FACTOR, got {text!r}")
    return parse_duration(parts[0]) / 3600, parse_duration(parts[1]) / 3600, float(parts[2])


def _factors(text: str, n: int, name: str) -> str | tuple[float, ...]:
    if text in ("source", "flat"):
        return text
    values = tuple(float(x) for x in text.split(","))
    if len(values) != n:
        raise ValueError(f"--{name}: give source, flat or {n} comma-separated factors, got {len(values)}")
    return values


@trace_app.command("synth")
def trace_synth(
    out: Annotated[Path, typer.Argument(help="Output file (kumo compact format, .kumo).")],
    vms: Annotated[int | None, typer.Option("--vms", help="VMs arriving in the horizon (exact count; default "
                                                         "1000 unless --rate is given).")] = None,
    rate: Annotated[float | None, typer.Option("--rate", help="Mean arrivals per hour instead of --vms (a Poisson "
                                                             "count).")] = None,
    days: Annotated[float, typer.Option("--days", help="Horizon in days.")] = 1.0,
    step: Annotated[float, typer.Option("--step", help="Step in seconds.")] = 300.0,
    initial: Annotated[int, typer.Option("--initial", help="VMs already running at step 0 (residual lifetimes "
                                                          "of a stationary system).")] = 0,
    diurnal: Annotated[str, typer.Option("--diurnal", metavar="<source|flat|f0,...,f23>",
                                         help="Arrival profile over the day: fitted from the source, flat, or 24 "
                                              "comma-separated factors.")] = "source",
    weekly: Annotated[str, typer.Option("--weekly", metavar="<source|flat|f0,...,f6>",
                                        help="Profile over the week (Monday first): flat, fitted from the source, "
                                             "or 7 factors.")] = "flat",
    burst: Annotated[list[str] | None, typer.Option("--burst", metavar="<start:duration:factor>",
                                                    help="e.g. 10:1:5: the rate x5 from hour 10 for an hour "
                                                         "(repeatable).")] = None,
    lifetime: Annotated[Literal["lognormal", "pareto", "empirical"], typer.Option(
        "--lifetime", help="Lifetime distribution (empirical: resampled from the source).")] = "lognormal",
    lifetime_median: Annotated[str | None, typer.Option("--lifetime-median", help="lognormal median (e.g. 30m, "
                                                                                 "2h); fitted when absent.")] = None,
    lifetime_sigma: Annotated[float | None, typer.Option("--lifetime-sigma", help="lognormal sigma (of ln "
                                                                                 "lifetime); fitted when absent.")] = None,
    pareto_alpha: Annotated[float | None, typer.Option("--pareto-alpha", help="Pareto shape; fitted when "
                                                                             "absent.")] = None,
    pareto_min: Annotated[str | None, typer.Option("--pareto-min", help="Pareto minimum lifetime (e.g. 5m); the "
                                                                       "source's shortest when absent.")] = None,
    max_lifetime: Annotated[str | None, typer.Option("--max-lifetime", help="Cap on lifetimes (e.g. 30d).")] = None,
    catalogue: Annotated[str, typer.Option("--catalogue", metavar="<general|source|file.toml>",
                                           help="Instance types: kumo's general-purpose catalogue, the source's "
                                                "sizes, or a TOML file of [[types]] (name, cores, ram_gb or "
                                                "ram_mb, weight, cpu_mhz).")] = "general",
    core_mhz: Annotated[float, typer.Option("--core-mhz", help="Booked MHz per vCPU of catalogue types.")] = 2600.0,
    source: Annotated[str | None, typer.Option("--source", help="One trace for arrivals, lifetimes and "
                                                               "utilization (sets both below).")] = None,
    arrival_source: Annotated[str, typer.Option("--arrival-source", help="Trace the profiles, lifetimes (and "
                                                                        "--catalogue source) are fitted "
                                                                        "from.")] = "surf-week",
    utilization_source: Annotated[str, typer.Option("--utilization-source", help="Trace the utilization series "
                                                                                "are resampled from.")] = "bitbrains-rnd",
    noise: Annotated[float, typer.Option("--noise", help="Relative sd of the multiplicative CPU noise.")] = 0.05,
    no_align: Annotated[bool, typer.Option("--no-align", help="Random offsets without keeping the hour of "
                                                             "day.")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every draw.")] = 0,
    name: Annotated[str, typer.Option("--name", help="Trace name (VM ids are NAME-0001...).")] = "synth",
    codec: Annotated[Codec, typer.Option("--codec", help="zstd (smaller) or zlib (loads without pyarrow).")]
    = "zstd",
    quiet: QuietOpt = False,
) -> None:
    """Generate a synthetic workload in kumo's compact format.

    Poisson arrivals (diurnal, weekly, bursts), lifetimes, sizes from a catalogue and
    utilization resampled from a real trace; written in kumo's compact format. Deterministic for a seed."""
    import time
    import tomllib

    from kumo.traces._select import parse_duration
    from kumo.traces.compact import save
    from kumo.traces.synth import SynthSpec, instance_types, synthesize

    def seconds(text: str | None) -> float | None:
        return None if text is None else parse_duration(text)

    try:
        cat: Any = catalogue
        if catalogue not in ("general", "source"):
            with open(catalogue, "rb") as fh:
                cat = instance_types(tomllib.load(fh).get("types", []))
        spec = SynthSpec(
            vms=vms if vms is not None or rate is not None else 1000, rate_per_h=rate, days=days, step_s=step,
            initial_vms=initial, diurnal=_factors(diurnal, 24, "diurnal"), weekly=_factors(weekly, 7, "weekly"),
            bursts=tuple(_burst(b) for b in burst or []), lifetime=lifetime,
            lifetime_median_s=seconds(lifetime_median), lifetime_sigma=lifetime_sigma, pareto_alpha=pareto_alpha,
            pareto_min_s=seconds(pareto_min), max_lifetime_s=seconds(max_lifetime), catalogue=cat,
            core_mhz=core_mhz, arrival_source=source or arrival_source, utilization_source=source or utilization_source,
            noise=noise, align_time_of_day=not no_align, seed=seed, name=name)
        t = time.perf_counter()
        tr = synthesize(spec)
        took = time.perf_counter() - t
        save(tr, out, codec=codec)
    except (KumoError, OSError, ValueError, tomllib.TOMLDecodeError) as e:
        fail(e)
        return
    fitted = json.loads(tr.provenance["synth"])["fitted"]
    say(quiet, f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB): {tr.n_vms} VMs x {tr.n_steps} steps of "
                  f"{tr.step_s:g} s, generated in {took:.2f} s; lifetimes {fitted['lifetime']}")


@trace_app.command("list")
def trace_list(
    fmt: Annotated[Printed, typer.Option("--format", help="How to print the list.")] = Printed.table,
) -> None:
    """List the traces shipped with kumo.

    Each is usable by name anywhere a trace is expected."""
    from kumo.traces import ALIASES, EMBEDDED

    rows = [{"name": name, "also": [a for a, target in sorted(ALIASES.items()) if target == name], "file": file}
            for name, file in sorted(EMBEDDED.items())]
    if fmt == Printed.json:
        typer.echo(json.dumps(rows, indent=1))
        return
    if fmt == Printed.csv:
        typer.echo("name,also,file")
        for r in rows:
            typer.echo(f"{r['name']},{' '.join(r['also'])},{r['file']}")
        return
    t = Table(title="traces shipped with kumo", header_style="bold")
    t.add_column("name")
    t.add_column("also")
    t.add_column("file")
    for name, file in sorted(EMBEDDED.items()):
        t.add_row(name, ", ".join(a for a, target in sorted(ALIASES.items()) if target == name), file)
    console.print(t)
