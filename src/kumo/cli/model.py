"""``kumo model ...``: evaluate one virtualization model standalone and print its numbers with units.

MB = 10^6 bytes, MiB = 2^20 bytes, Mbit/s = 10^6 bit/s; every option and output row names its unit.
No logic of its own beyond building inputs: the numbers come from :mod:`kumo.models`.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from kumo.cli.common import QuietOpt, say

model_app = typer.Typer(help="Evaluate a virtualization model on its own.",
                        no_args_is_help=True)
_console = Console()


class Fmt(str, Enum):
    table = "table"
    json = "json"


FmtOpt = Annotated[Fmt, typer.Option("--format", help="table or json.")]
PlotOpt = Annotated[Path | None, typer.Option("--plot", help="Write a sweep plot to this file (PNG, PDF, SVG).")]


def _emit(title: str, rows: list[tuple[str, Any, str]], fmt: Fmt) -> None:
    if fmt == Fmt.json:
        out = [{"quantity": name, "value": _py(v), "unit": unit} for name, v, unit in rows]
        typer.echo(json.dumps({"model": title, "results": out}, indent=1))
        return
    t = Table(title=title, header_style="bold")
    t.add_column("quantity")
    t.add_column("value", justify="right")
    t.add_column("unit")
    for name, v, unit in rows:
        t.add_row(name, _fmt(v), unit)
    _console.print(t)


def _py(v: Any) -> Any:
    v = v.item() if isinstance(v, np.generic) else v
    return None if isinstance(v, float) and not np.isfinite(v) else v  # JSON has no inf: "no limit"


def _fmt(v: Any) -> str:
    v = _py(v)
    if v is None:
        return "no limit"
    if isinstance(v, bool) or not isinstance(v, float):
        return str(v)
    return f"{v:,.6g}" if abs(v) < 1e7 else f"{v:,.0f}"


def _plot(quiet: bool, path: Path, x: np.ndarray, ys: dict[str, np.ndarray], xlabel: str, ylabel: str,
          title: str) -> None:
    from kumo.report import line_plot

    line_plot(path, x, ys, xlabel, ylabel, title)
    say(quiet, f"plot written to {path}")


class Algorithm(str, Enum):
    precopy = "precopy"
    postcopy = "postcopy"
    cloudsim = "cloudsim"
    cold = "cold"


class Rule(str, Enum):
    qemu = "qemu"
    xen = "xen"
    simgrid = "simgrid"
    hyperv = "hyperv"


@model_app.command("migration")
def migration(
    ram_mb: Annotated[float, typer.Option(help="VM memory, MB (10^6 B).")] = 4096.0,
    ram_mib: Annotated[float | None, typer.Option(help="VM memory in MiB (2^20 B); overrides --ram-mb.")] = None,
    dirty_rate_mbps: Annotated[float, typer.Option(help="Page-dirtying rate, Mbit/s.")] = 200.0,
    bandwidth_mbps: Annotated[float, typer.Option(help="Link bandwidth, Mbit/s.")] = 1000.0,
    algorithm: Annotated[Algorithm, typer.Option(help="Migration model.")] = Algorithm.precopy,
    rule: Annotated[Rule, typer.Option(help="Pre-copy stop rule.")] = Rule.qemu,
    downtime_limit_ms: Annotated[float, typer.Option(help="Max downtime target, ms (0: rule default).")] = 0.0,
    wws_fraction: Annotated[float, typer.Option(help="Writable working set / memory.")] = 0.9,
    zero_fraction: Annotated[float, typer.Option(help="Share of zero pages (not sent).")] = 0.0,
    auto_converge: Annotated[bool, typer.Option(help="QEMU auto-converge CPU throttling.")] = False,
    precopy_rounds: Annotated[int, typer.Option(help="Post-copy: pre-copy rounds first (hybrid).")] = 0,
    concurrent: Annotated[int, typer.Option(help="Migrations sharing the link equally.")] = 1,
    fmt: FmtOpt = Fmt.table,
    plot: PlotOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """One live migration: total time, downtime and bytes.

    Pre-copy, post-copy, CloudSim's rule or cold."""
    from kumo.models.migration import MIGRATION_MODELS
    from kumo.models.timing import MIB

    ram = ram_mib * MIB / 1e6 if ram_mib is not None else ram_mb
    bw = bandwidth_mbps / max(concurrent, 1)
    if algorithm == Algorithm.precopy:
        model: Any = MIGRATION_MODELS["precopy"](rule=rule.value, downtime_limit_s=downtime_limit_ms / 1000.0,
                                                 wws_fraction=wws_fraction, zero_fraction=zero_fraction,
                                                 auto_converge=auto_converge)
    elif algorithm == Algorithm.postcopy:
        model = MIGRATION_MODELS["postcopy"](zero_fraction=zero_fraction, precopy_rounds=precopy_rounds,
                                             wws_fraction=wws_fraction)
    else:
        model = MIGRATION_MODELS[algorithm.value]()
    issues = model.validate()
    if issues or not (ram > 0 and bw > 0 and dirty_rate_mbps >= 0):
        raise typer.BadParameter("; ".join(issues) or "ram, bandwidth must be > 0 and dirty rate >= 0")
    t = model.timing(np.array([ram]), np.array([bw]), np.array([dirty_rate_mbps]))
    rows = [
        ("memory", ram, "MB"), ("memory", ram * 1e6 / MIB, "MiB"), ("bandwidth per migration", bw, "Mbit/s"),
        ("dirty rate / bandwidth", dirty_rate_mbps / bw, "-"),
        ("total time", float(t.total_s[0]), "s"), ("downtime", float(t.downtime_s[0]) * 1000, "ms"),
        ("data sent", float(t.bytes_mb[0]), "MB"), ("data sent", float(t.bytes_mb[0]) * 1e6 / MIB, "MiB"),
        ("live rounds", int(t.rounds[0]), "-"), ("converged", bool(t.converged[0]), "-"),
        ("CPU lost over the migration", float(t.cpu_loss[0]) * 100, "%"),
        ("running on target after", float(t.switchover_s[0]), "s"),
        ("vulnerable to a host failure", float(t.fragile_s[0]), "s"),
    ]
    _emit(f"migration: {algorithm.value}" + (f" ({rule.value} rule)" if algorithm == Algorithm.precopy else ""),
          rows, fmt)
    if plot is not None:
        x = np.linspace(0.0, 1.5 * bw, 61)
        ts = model.timing(np.full(x.size, ram), np.full(x.size, bw), x)
        _plot(quiet, plot, x, {"total time (s)": ts.total_s, "downtime (s)": ts.downtime_s}, "dirty rate (Mbit/s)",
              "seconds", f"{algorithm.value}: {ram:.0f} MB over {bw:.0f} Mbit/s")


@model_app.command("memory")
def memory(
    host_ram_mb: Annotated[float, typer.Option(help="Host physical RAM, MB.")] = 65536.0,
    vms: Annotated[int, typer.Option(help="VMs on the host.")] = 20,
    vm_ram_mb: Annotated[float, typer.Option(help="Configured RAM per VM, MB.")] = 4096.0,
    used_fraction: Annotated[float, typer.Option(help="Active (used) share of each VM's RAM.")] = 0.5,
    image_preset: Annotated[Literal["identical", "homogeneous", "realistic", "salted"], typer.Option(
        help="How much the guests' pages can be shared.")] = "realistic",
    idle_resident_fraction: Annotated[float, typer.Option(help="Guest-free memory still resident.")] = 1.0,
    swap_device: Annotated[Literal["hdd", "ssd", "nvme", "memory"], typer.Option(help="Where the host swaps.")]
    = "ssd",
    balloon: Annotated[bool, typer.Option(help="Enable ballooning.")] = True,
    sharing: Annotated[Literal["always", "ladder", "off"], typer.Option(
        help="Page sharing: always on, only under memory pressure (ladder), or off.")] = "always",
    fmt: FmtOpt = Fmt.table,
    plot: PlotOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Memory overcommit on one host of identical VMs.

    Page sharing, ballooning, compression and swap."""
    from kumo.models.memory import STATES, MemoryModel, min_free_mb
    from kumo.models.virt_config import IMAGE_PRESETS

    if image_preset not in IMAGE_PRESETS:
        raise typer.BadParameter(f"unknown preset {image_preset!r}; valid: {', '.join(IMAGE_PRESETS)}")
    m = MemoryModel(idle_resident_fraction=idle_resident_fraction, swap_device=swap_device, balloon=balloon,
                    sharing=sharing)
    if m.validate():
        raise typer.BadParameter("; ".join(m.validate()))
    z, s, x = (np.array([v]) for v in IMAGE_PRESETS[image_preset])

    def run(n: int) -> Any:
        return m.evaluate(np.full(n, vm_ram_mb * used_fraction), np.full(n, vm_ram_mb), np.zeros(n, np.int64),
                          np.array([host_ram_mb]), np.zeros(n, np.int64), z, s, x)

    r = run(vms)
    total = vms * vm_ram_mb
    rows = [
        ("overcommit (configured / physical)", total / host_ram_mb, "-"), ("minFree", float(min_free_mb(host_ram_mb)), "MB"),
        ("state before reclamation", STATES[int(r.host_state[0])], "-"),
        ("saved by page sharing", float(r.host_shared_mb[0]), "MB"),
        ("reclaimed by ballooning", float(r.host_balloon_mb[0]), "MB"),
        ("saved by compression", float(r.host_compressed_mb[0]), "MB"),
        ("swapped by the hypervisor", float(r.host_swapped_mb[0]), "MB"),
        ("resident after reclamation", float(r.host_resident_mb[0]), "MB"),
        ("active RAM not in memory, per VM", float(r.vm_ram_short_mb.mean()), "MB"),
        ("CPU lost to faults and balloon, per VM", float(r.vm_cpu_penalty.mean()) * 100, "%"),
    ]
    _emit(f"memory: {vms} x {vm_ram_mb:.0f} MB VMs on {host_ram_mb:.0f} MB", rows, fmt)
    if plot is not None:
        ns = np.arange(1, max(vms, 2) * 2 + 1)
        rs = [run(int(n)) for n in ns]
        _plot(quiet, plot, ns, {k: np.array([getattr(q, a)[0] for q in rs]) for k, a in (
            ("shared MB", "host_shared_mb"), ("ballooned MB", "host_balloon_mb"), ("swapped MB", "host_swapped_mb"))},
            "VMs on the host", "MB", f"memory reclamation ({image_preset})")


@model_app.command("paging")
def paging(
    guest_levels: Annotated[int, typer.Option(help="Guest page-table levels (4; 5 with LA57).")] = 4,
    host_levels: Annotated[int, typer.Option(help="Host (nested) page-table levels.")] = 4,
    page_size: Annotated[Literal["4k", "2m", "1g"], typer.Option(help="Page size (guest and host).")] = "4k",
    workload: Annotated[Literal["compute", "server", "mmu", "mmu-micro", "tlb"], typer.Option(
        help="Workload class (how often it exits and misses the TLB).")] = "compute",
    core_mhz: Annotated[float, typer.Option(help="Host core clock, MHz.")] = 2600.0,
    fmt: FmtOpt = Fmt.table,
    plot: PlotOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Nested vs shadow paging overhead of a workload.

    Two-dimensional page-walk length and its cost."""
    from kumo.models.cpu import PAGE_SIZES, PAGING, WORKLOADS, CpuVirtModel, walk_refs, workload_arrays

    if workload not in WORKLOADS or page_size not in PAGE_SIZES:
        raise typer.BadParameter(f"workload in {list(WORKLOADS)}, page size in {list(PAGE_SIZES)}")
    m = CpuVirtModel()
    w = workload_arrays([workload])
    pg = np.array([PAGE_SIZES.index(page_size)])
    nested = float(m.paging_overhead(w, np.array([PAGING.index("nested")]), pg, np.array([core_mhz]))[0])
    shadow = float(m.paging_overhead(w, np.array([PAGING.index("shadow")]), pg, np.array([core_mhz]))[0])
    rows = [
        ("native walk references", guest_levels, "refs"),
        ("2D walk references (worst case)", int(walk_refs(guest_levels, host_levels)), "refs"),
        ("accesses per walk with PWC, native", float(m.accesses_per_walk(pg, False)[0]), "accesses"),
        ("accesses per walk with PWC, nested", float(m.accesses_per_walk(pg, True)[0]), "accesses"),
        ("nested paging overhead", nested * 100, "%"), ("shadow paging overhead", shadow * 100, "%"),
        ("faster", "nested" if nested < shadow else "shadow", "-"),
    ]
    _emit(f"paging: {workload}, {page_size} pages", rows, fmt)
    if plot is not None:
        x = np.logspace(1, 6, 51)
        ws = {k: np.full(x.size, v[0]) for k, v in w.items()}
        ws["pte_writes_per_s"] = x
        pgs = np.full(x.size, pg[0])
        f = np.full(x.size, core_mhz)
        _plot(quiet, plot, x, {"nested %": 100 * m.paging_overhead(ws, np.zeros(x.size, int), pgs, f),
                        "shadow %": 100 * m.paging_overhead(ws, np.ones(x.size, int), pgs, f)},
              "page-table writes per second", "overhead vs native (%)", f"paging: {workload}")


@model_app.command("cpu")
def cpu(
    mode: Annotated[Literal["native", "hardware", "binary-translation", "paravirtual", "emulation"], typer.Option(
        help="CPU virtualization mode.")] = "hardware",
    emulator: Annotated[Literal["qemu-0.9.0", "bochs-2.3.5", "bochs-2.3.7"], typer.Option(
        help="The emulator (mode emulation).")] = "qemu-0.9.0",
    workload: Annotated[Literal["compute", "server", "mmu", "mmu-micro", "tlb"], typer.Option(
        help="Workload class (how often it exits and misses the TLB).")] = "compute",
    paging_mode: Annotated[Literal["nested", "shadow"], typer.Option("--paging", help="Memory virtualization.")]
    = "nested",
    cpu_mhz: Annotated[float, typer.Option(help="Guest CPU demand, MHz of native work.")] = 2000.0,
    core_mhz: Annotated[float, typer.Option(help="Host core clock, MHz.")] = 2600.0,
    exit_cycles: Annotated[float, typer.Option(help="Direct cost of one VM exit, cycles.")] = 2000.0,
    fmt: FmtOpt = Fmt.table,
    plot: PlotOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Host CPU a guest's demand needs under a virtualization mode."""
    from kumo.models.cpu import MODES, PAGING, WORKLOADS, CpuVirtModel, emulation_factor, workload_arrays

    if mode not in MODES or workload not in WORKLOADS or paging_mode not in PAGING:
        raise typer.BadParameter(f"mode in {list(MODES)}, workload in {list(WORKLOADS)}, paging in {list(PAGING)}")
    m = CpuVirtModel(exit_cycles=exit_cycles)
    w = workload_arrays([workload] * len(MODES))
    mult = m.multiplier(np.arange(len(MODES)), w, np.full(len(MODES), PAGING.index(paging_mode)),
                        np.zeros(len(MODES), int), np.full(len(MODES), core_mhz), emulation_factor(emulator))
    k = float(mult[MODES.index(mode)])
    rows = [("demand multiplier", k, "x"), ("host CPU needed", cpu_mhz * k, "MHz"),
            ("virtualization overhead", cpu_mhz * (k - 1), "MHz"),
            ("exit overhead per busy vCPU", float(m.exit_overhead(WORKLOADS[workload].exits_per_s, core_mhz)) * 100, "%")]
    _emit(f"cpu: {mode}" + (f" ({emulator})" if mode == "emulation" else ""), rows, fmt)
    if plot is not None:
        x = np.logspace(2, 6, 41)
        _plot(quiet, plot, x, {"exit overhead %": 100 * m.exit_overhead(x, core_mhz)}, "VM exits per second",
              "share of a busy vCPU (%)", f"exit cost {exit_cycles:.0f}+{m.exit_handle_cycles:.0f} cycles")


@model_app.command("io")
def io(
    mode: Annotated[Literal["native", "emulated", "virtio", "virtio-user", "passthrough", "sriov"], typer.Option(
        help="I/O path.")] = "virtio",
    device: Annotated[Literal["net", "disk"], typer.Option(help="Device class.")] = "net",
    rate_mbps: Annotated[float, typer.Option(help="I/O demand, Mbit/s.")] = 5000.0,
    request_kib: Annotated[float, typer.Option(help="Bytes per request/batch, KiB.")] = 64.0,
    core_mhz: Annotated[float, typer.Option(help="Host core clock, MHz.")] = 2600.0,
    interrupts: Annotated[Literal["exit", "posted"], typer.Option(
        help="Interrupt delivery: a VM exit each, or posted (exitless).")] = "exit",
    irq_per_s: Annotated[float, typer.Option(help="Interrupts per second (assignment efficiency).")] = 70_000.0,
    fmt: FmtOpt = Fmt.table,
    plot: PlotOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """An I/O virtualization path: throughput cap, CPU, latency."""
    from kumo.models.io import DEVICES, IO_MODES, IoModel, migratable, pinned_memory

    if mode not in IO_MODES or device not in DEVICES:
        raise typer.BadParameter(f"mode in {list(IO_MODES)}, device in {list(DEVICES)}")
    m = IoModel(interrupts=interrupts, net_request_kib=request_kib, disk_request_kib=request_kib)
    if m.validate():
        raise typer.BadParameter("; ".join(m.validate()))
    i = np.array([IO_MODES.index(mode)])
    f = np.array([core_mhz])
    net, disk = (np.array([rate_mbps]), np.zeros(1)) if device == "net" else (np.zeros(1), np.array([rate_mbps]))
    r = m.evaluate(i, net, disk, f)
    cap = float(m.backend_cap_mbps(i, device, f)[0])
    frac = float((r.net_fraction if device == "net" else r.disk_fraction)[0])
    rows = [("backend throughput cap (one core)", cap, "Mbit/s"), ("delivered", rate_mbps * frac, "Mbit/s"),
            ("extra host CPU", float(r.host_cpu_mhz[0]), "MHz"), ("added latency", float(r.latency_s[0]) * 1e6, "us"),
            ("efficiency, interrupt-heavy", float(m.assignment_efficiency(i, irq_per_s, f)[0]) * 100, "% of native"),
            ("live-migratable", bool(migratable(i)[0]), "-"), ("memory pinned", bool(pinned_memory(i)[0]), "-")]
    _emit(f"io: {mode} {device}", rows, fmt)
    if plot is not None:
        x = np.linspace(0.1, 2.0, 20)
        modes = np.arange(len(IO_MODES))
        caps = {IO_MODES[j]: np.minimum(m.backend_cap_mbps(np.full(x.size, j), device, x * core_mhz), 1e5)
                for j in modes if np.isfinite(m.backend_cap_mbps(np.array([j]), device, f)[0])}
        _plot(quiet, plot, x, caps, "backend cores", "throughput cap (Mbit/s)", f"{device} backends at {core_mhz:.0f} MHz")


@model_app.command("replication")
def replication(
    scheme: Annotated[Literal["remus", "lockstep", "colo"], typer.Option(help="Replication scheme.")] = "remus",
    epoch_ms: Annotated[float, typer.Option(help="Checkpoint interval, ms.")] = 25.0,
    ram_mb: Annotated[float, typer.Option(help="VM memory, MB.")] = 4096.0,
    dirty_rate_mbps: Annotated[float, typer.Option(help="Page-dirtying rate, Mbit/s.")] = 200.0,
    bandwidth_mbps: Annotated[float, typer.Option(help="Replication link, Mbit/s.")] = 1000.0,
    mtbf_h: Annotated[float, typer.Option(help="Host mean time between failures, hours.")] = 8760.0,
    mttr_h: Annotated[float, typer.Option(help="Host mean time to repair, hours.")] = 4.0,
    fmt: FmtOpt = Fmt.table,
    plot: PlotOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """VM replication: checkpoint cost, latency, failover time.

    Output-commit latency and failover time included."""
    from kumo.models.containers import ContainerModel
    from kumo.models.replication import FailureModel, ReplicationModel, availability

    m = ReplicationModel(scheme=scheme, epoch_ms=epoch_ms)
    fail = FailureModel(kind="exponential", mtbf_h=mtbf_h, mttr_h=mttr_h)
    if m.validate() or fail.validate():
        raise typer.BadParameter("; ".join(m.validate() + fail.validate()))
    r = m.evaluate(np.array([ram_mb]), np.array([dirty_rate_mbps]), np.array([bandwidth_mbps]),
                   detection_s=fail.detection_s)
    restart = fail.detection_s + ContainerModel().vm_boot_s
    rows = [("checkpoints per second", 1.0 / float(r.epoch_s[0]) if r.epoch_s[0] > 0 else 0.0, "1/s"),
            ("pause per checkpoint", float(r.pause_s[0]) * 1000, "ms"),
            ("VM time lost", float(r.cpu_overhead[0]) * 100, "%"), ("replication traffic", float(r.net_mbps[0]), "Mbit/s"),
            ("added output latency (mean)", float(r.latency_s[0]) * 1000, "ms"),
            ("failover downtime", float(r.failover_s[0]), "s"), ("unprotected restart downtime", restart, "s"),
            ("host availability", availability(mtbf_h, mttr_h) * 100, "%")]
    _emit(f"replication: {scheme}", rows, fmt)
    if plot is not None:
        x = np.linspace(5, 200, 40)
        rs = [ReplicationModel(scheme=scheme, epoch_ms=float(e)).evaluate(np.array([ram_mb]), np.array([dirty_rate_mbps]),
                                                                         np.array([bandwidth_mbps])) for e in x]
        _plot(quiet, plot, x, {"VM time lost %": np.array([100 * q.cpu_overhead[0] for q in rs]),
                        "added latency ms": np.array([1000 * q.latency_s[0] for q in rs])},
              "checkpoint interval (ms)", "% / ms", f"{scheme} at {dirty_rate_mbps:.0f} Mbit/s dirty")


@model_app.command("container")
def container(
    kind: Annotated[Literal["vm", "microvm", "container"], typer.Option(help="What is started.")] = "container",
    image_mb: Annotated[float, typer.Option(help="Image size, MB.")] = 500.0,
    cached: Annotated[bool, typer.Option(help="Image already on the host.")] = False,
    registry_mbps: Annotated[float, typer.Option(help="Registry download rate, Mbit/s.")] = 1000.0,
    lazy_fraction: Annotated[float, typer.Option(help="Share of the image fetched (Slacker: 0.064).")] = 1.0,
    host_ram_mb: Annotated[float, typer.Option(help="Host RAM, MB (for density).")] = 65536.0,
    app_mb: Annotated[float, typer.Option(help="Application memory per instance, MB.")] = 256.0,
    fmt: FmtOpt = Fmt.table,
    plot: PlotOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """VMs, microVMs, containers: start-up, memory and density."""
    from kumo.models.containers import KINDS, ContainerModel, density_max

    if kind not in KINDS:
        raise typer.BadParameter(f"kind in {list(KINDS)}")
    m = ContainerModel(registry_mbps=registry_mbps, lazy_fraction=lazy_fraction)
    if m.validate():
        raise typer.BadParameter("; ".join(m.validate()))
    k = np.array([KINDS.index(kind)])
    start = float(m.start_delay_s(k, np.array([image_mb]), np.array([cached]))[0])
    ovh = float(m.overhead_mb(k)[0])
    rows = [("start-up time", start, "s"), ("memory overhead per instance", ovh, "MB"),
            ("instances per host (1 GB reserved)", density_max(host_ram_mb, 1000.0, app_mb, ovh), "-"),
            ("live-migratable", bool(m.can_migrate(k)[0]), "-")]
    _emit(f"container: {kind}", rows, fmt)
    if plot is not None:
        x = np.linspace(10, 5000, 50)
        _plot(quiet, plot, x, {f"{q} start s": m.start_delay_s(np.full(x.size, KINDS.index(q)), x, np.zeros(x.size, bool))
                        for q in KINDS}, "image size (MB)", "seconds", "start-up, image not cached")
