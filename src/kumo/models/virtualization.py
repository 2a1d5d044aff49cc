"""One bundle of every virtualization model, called by the engine at fixed hook points of a step.

Build it once per run (:meth:`Virtualization.build` from the scenario's ``[virtualization]`` data and the
trace's VM ids), then call its methods; none keeps state between calls. Arrays are over VMs (n_vms,),
hosts (n_hosts,) or starting migrations (k,). Hook points, in the engine's step order:

=====================================  ==========================================================================
at set-up                              ``failures(rng, horizon_s, n_hosts)`` -> events for the heap;
                                       ``can_migrate`` / ``pinned`` / ``vm_image`` static (n_vms,) arrays
placement (arrival, restart)           ``start_delay_s(vm_idx, cached)`` before the VM runs; ``dedup`` weigher
                                       reads ``view.vm_image``
demand observed                        ``dirty_mbps(cpu, booked_cpu, extra_row)`` -> (n_vms,) Mbit/s
RAM accounting                         ``ram_demand(used, booked_ram, vm_host, host_ram)`` -> MemoryResult:
                                       host RAM load, per-VM shortfall and CPU penalty
before host CPU load / sharing         ``cpu_demand(cpu, core_mhz_of_vm, vm_host, host_nic, extra_row, dirty,
                                       booked_ram)`` -> CpuDemand: effective MHz, useful factor, NIC traffic
decisions                              skip VMs with ``~can_migrate`` (a controller filter)
migration start                        ``migration_bandwidth_mbps(src, dst, nic, host_net, n_per_host)`` then
                                       ``migration_timing(model, vm_idx, ram, bw, dirty, used)``
failure event                          ``on_host_failure(vm_idx)`` -> downtime before each VM runs again
=====================================  ==========================================================================

Units: MB = 10^6 B (the engine's RAM "MB"), MHz, Mbit/s (``*_mbps``), s; trace extras are KB/s with
KB = 1024 B (:mod:`kumo.models.timing`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kumo.errors import ConfigError
from kumo.models.containers import KINDS
from kumo.models.cpu import MODES, PAGE_SIZES, PAGING, emulation_factor, workload_arrays
from kumo.models.io import IO_MODES, migratable, pinned_memory
from kumo.models.memory import MemoryResult
from kumo.models.postcopy import ColdMigration
from kumo.models.precopy import dirty_rate_mbps
from kumo.models.replication import FailureEvents
from kumo.models.timing import MigrationTiming, trace_kbps_to_mbps
from kumo.models.virt_config import VirtualizationConfig, from_dict


@dataclass(frozen=True)
class CpuDemand:
    """Per-VM (n_vms,) CPU picture of one step.

    ``effective_mhz`` is what the VM loads its host with (guest demand x mode multiplier + I/O
    virtualization CPU). Under proportional sharing a VM granted ``share`` of its load makes
    ``cpu x share x useful_factor`` of useful progress; ``useful_factor`` < 1 is time lost paused for
    replication checkpoints.
    """

    effective_mhz: np.ndarray
    overhead_mhz: np.ndarray
    useful_factor: np.ndarray
    net_mbps: np.ndarray  # VM traffic on its host NIC incl. replication, Mbit/s
    net_fraction: np.ndarray  # delivered / demanded network throughput
    disk_fraction: np.ndarray
    latency_s: np.ndarray  # added per-request latency (I/O path + output commit)


def _assign(cfg: VirtualizationConfig, vm_ids: np.ndarray, seed: int) -> np.ndarray:
    """Class index per VM: first matching ``match`` regex, else by share (blocks, round-robin, random)."""
    n = len(vm_ids)
    out = np.full(n, -1, np.int64)
    for ci, c in enumerate(cfg.classes):
        if c.match:
            rx = re.compile(c.match)
            hit = np.array([bool(rx.search(str(v))) for v in vm_ids], bool) & (out < 0)
            out[hit] = ci
    rest = np.flatnonzero(out < 0)
    free = [i for i, c in enumerate(cfg.classes) if not c.match and c.share > 0]
    if rest.size == 0 or not free:
        return np.maximum(out, 0)
    w = np.array([cfg.classes[i].share for i in free], np.float64)
    w /= w.sum()
    if cfg.class_assignment == "random":
        pick = np.random.default_rng(np.random.SeedSequence([seed, 0x5E7])).choice(len(free), rest.size, p=w)
    elif cfg.class_assignment == "round-robin":
        # smooth weighted round-robin: the class furthest behind its share goes next
        counts, pick = np.zeros(len(free)), np.empty(rest.size, np.int64)
        for j in range(rest.size):
            pick[j] = int(np.argmax(w * (j + 1) - counts))
            counts[pick[j]] += 1
    else:
        cut = np.round(np.cumsum(w) * rest.size).astype(np.int64)
        pick = np.searchsorted(cut, np.arange(rest.size), side="right")
    out[rest] = np.asarray(free)[np.minimum(pick, len(free) - 1)]
    return out


class Virtualization:
    """Per-VM mechanism choices plus the models; pure per-step methods (module docstring)."""

    def __init__(self, cfg: VirtualizationConfig, vm_ids: Sequence[str] | np.ndarray, seed: int = 0):
        self.cfg = cfg
        ids = np.asarray(vm_ids)
        self.n_vms = len(ids)
        cls = cfg.classes
        self.vm_class = _assign(cfg, ids, seed)

        def col(fn: Any, dtype: Any) -> np.ndarray:
            return np.array([fn(c) for c in cls], dtype)[self.vm_class]

        images = [i.name for i in cfg.images]
        self.vm_kind = col(lambda c: KINDS.index(c.kind), np.int8)
        container = self.vm_kind == KINDS.index("container")
        # containers run on the host kernel: native CPU and I/O paths whatever the class says
        self.vm_cpu_mode = np.where(container, 0, col(lambda c: MODES.index(c.cpu_mode), np.int8))
        self.vm_io_mode = np.where(container, 0, col(lambda c: IO_MODES.index(c.io_mode), np.int8))
        self.vm_paging = col(lambda c: PAGING.index(c.paging), np.int8)
        self.vm_page_size = col(lambda c: PAGE_SIZES.index(c.page_size), np.int8)
        self.vm_alpha = col(lambda c: emulation_factor(c.emulator), np.float64)
        self.vm_image = col(lambda c: images.index(c.image) if c.image else -1, np.int32)
        self.vm_protected = col(lambda c: c.protected, bool) & (cfg.replication is not None)
        glob = cfg.dirty_rate.dirty_mbps_at_full_cpu
        self.vm_dirty_full_mbps = col(lambda c: glob if c.dirty_mbps_at_full_cpu < 0 else c.dirty_mbps_at_full_cpu,
                                      np.float64)
        self._workload = workload_arrays([cls[i].workload for i in self.vm_class])
        self.pinned = pinned_memory(self.vm_io_mode)
        self.can_migrate = migratable(self.vm_io_mode) & cfg.containers.can_migrate(self.vm_kind)
        self.overhead_mb = cfg.containers.overhead_mb(self.vm_kind)
        im = cfg.images
        self.image_zero = np.array([i.zero_fraction for i in im], np.float64)
        self.image_self = np.array([i.self_share for i in im], np.float64)
        self.image_cross = np.array([i.cross_share for i in im], np.float64)
        self.image_mb = np.array([i.size_mb for i in im] + [0.0], np.float64)[np.where(self.vm_image >= 0,
                                                                                       self.vm_image, len(im))]
        self._cold = ColdMigration()
        # static per-VM coefficients, so a step costs a few vector operations
        self._cpu_ab = (None if cfg.cpu is None else
                        cfg.cpu.coefficients(self.vm_cpu_mode, self._workload, self.vm_paging, self.vm_page_size,
                                             self.vm_alpha))
        self._io_coef = None if cfg.io is None else cfg.io.coefficients(self.vm_io_mode)
        self._protected_idx = np.flatnonzero(self.vm_protected)

    @classmethod
    def build(cls, data: Mapping[str, Any] | VirtualizationConfig | None, vm_ids: Sequence[str] | np.ndarray,
              seed: int = 0, source: str | None = None) -> Virtualization:
        """From the scenario's ``[virtualization]`` data (or a config); ConfigError lists every problem."""
        if isinstance(data, VirtualizationConfig):
            problems = [f"virtualization.{p}" for p in data.validate()]
            cfg = data
        else:
            cfg, problems = from_dict(dict(data or {}))
        if problems:
            raise ConfigError(problems, source)
        return cls(cfg, vm_ids, seed)

    # ------------------------------------------------------------------------------------ what is on
    @property
    def has_cpu(self) -> bool:
        return self.cfg.cpu is not None

    @property
    def has_memory(self) -> bool:
        return self.cfg.memory is not None

    @property
    def has_io(self) -> bool:
        return self.cfg.io is not None

    @property
    def has_replication(self) -> bool:
        return bool(self.vm_protected.any())

    @property
    def has_failures(self) -> bool:
        return self.cfg.failures.kind != "none"

    # ------------------------------------------------------------------------------------ hook 1
    def dirty_mbps(self, cpu_mhz: np.ndarray, cpu_booked_mhz: np.ndarray,
                   extra: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """(n_vms,) page-dirtying rate, Mbit/s, by the ``dirty_rate.source`` rule.

        ``param``: the class's ``dirty_mbps_at_full_cpu``, constant. ``cpu``: that x CPU use / booked CPU
        (SimGrid). ``cpu+io``: plus ``io_factor`` x (``disk_write_kbps`` + ``net_rx_kbps``) of this step's
        trace row when the trace has them (Bitbrains does).
        """
        spec = self.cfg.dirty_rate
        if spec.source == "param":
            return self.vm_dirty_full_mbps.copy()
        u = np.asarray(cpu_mhz, np.float64) / np.maximum(cpu_booked_mhz, 1e-12)
        e = extra or {}
        io = spec.source == "cpu+io"
        return dirty_rate_mbps(u, self.vm_dirty_full_mbps, e.get("disk_write_kbps") if io else None,
                               e.get("net_rx_kbps") if io else None, spec.io_factor)

    # ------------------------------------------------------------------------------------ hook 2
    def ram_demand(self, used_mb: np.ndarray, booked_mb: np.ndarray, vm_host: np.ndarray, host_ram_mb: np.ndarray,
                   age_s: np.ndarray | None = None) -> MemoryResult:
        """Host RAM load after sharing, ballooning and compression, with swap and per-VM penalties.

        ``vm_host`` (n_vms,) is -1 for VMs not placed. Feed ``host_resident_mb`` to the integrator as the
        host RAM load (its excess over capacity is what is swapped), account ``vm_ram_short_mb`` as each
        VM's RAM shortfall and scale its delivered CPU by ``1 - vm_cpu_penalty``. Requires ``has_memory``.
        """
        if self.cfg.memory is None:
            raise RuntimeError("ram_demand: the memory model is off ([virtualization.memory] absent)")
        return self.cfg.memory.evaluate(used_mb, booked_mb, vm_host, host_ram_mb, self.vm_image, self.image_zero,
                                        self.image_self, self.image_cross, self.overhead_mb, self.pinned,
                                        age_s=age_s)

    # ------------------------------------------------------------------------------------ hook 3
    def cpu_demand(self, cpu_mhz: np.ndarray, core_mhz: np.ndarray, vm_host: np.ndarray | None = None,
                   host_nic_mbps: np.ndarray | None = None, extra: Mapping[str, np.ndarray] | None = None,
                   dirty_mbps: np.ndarray | None = None, ram_mb: np.ndarray | None = None) -> CpuDemand:
        """Host CPU load per VM and the share of it that is useful work.

        ``core_mhz`` is the clock of each VM's host core (n_vms,); ``extra`` is the trace row of I/O
        columns (KB/s); ``dirty_mbps`` and ``ram_mb`` (booked) feed replication.
        """
        cpu = np.asarray(cpu_mhz, np.float64)
        f = np.asarray(core_mhz, np.float64)
        n = cpu.shape[0]
        eff = cpu.copy()
        if self._cpu_ab is not None:
            eff = cpu * (self._cpu_ab[0] + self._cpu_ab[1] / (f * 1e6))
        e = extra or {}
        zero = np.zeros(n)
        k = trace_kbps_to_mbps(1.0)
        net = (e.get("net_rx_kbps", zero) + e.get("net_tx_kbps", zero)) * k
        disk = (e.get("disk_read_kbps", zero) + e.get("disk_write_kbps", zero)) * k
        if self.cfg.io is not None:
            r = self.cfg.io.evaluate(self.vm_io_mode, net, disk, f, vm_host, host_nic_mbps, self._io_coef)
            eff = eff + r.host_cpu_mhz * (cpu > 0)
            net_frac, disk_frac, lat = r.net_fraction, r.disk_fraction, r.latency_s
            net_total = net * net_frac
        else:
            net_frac, disk_frac, lat, net_total = np.ones(n), np.ones(n), np.zeros(n), net
        useful = np.ones(n)
        if self.has_replication:
            p = self._protected_idx
            d = self.vm_dirty_full_mbps[p] if dirty_mbps is None else np.asarray(dirty_mbps)[p]
            ram = np.full(p.size, 4096.0) if ram_mb is None else np.asarray(ram_mb, np.float64)[p]
            bw = (np.full(p.size, 1000.0) if host_nic_mbps is None or vm_host is None
                  else np.asarray(host_nic_mbps)[np.asarray(vm_host)[p]])
            assert self.cfg.replication is not None
            over, rnet, rlat = self.cfg.replication.step(ram, d, bw, f[p])
            useful[p] = 1.0 - over
            net_total = net_total + _put(p, rnet * (cpu[p] > 0), n)
            lat = lat + _put(p, rlat, n)
        return CpuDemand(effective_mhz=eff, overhead_mhz=eff - cpu, useful_factor=useful, net_mbps=net_total,
                         net_fraction=net_frac, disk_fraction=disk_frac, latency_s=lat)

    # ------------------------------------------------------------------------------------ hook 4
    def migration_bandwidth_mbps(self, src: np.ndarray, dst: np.ndarray, nic_mbps: np.ndarray,
                                 host_net_mbps: np.ndarray | None, migrations_per_host: np.ndarray) -> np.ndarray:
        """(k,) Mbit/s for k starting migrations: the NIC left after VM traffic, shared equally.

        ``nic_mbps`` (n_hosts,); ``host_net_mbps`` (n_hosts,) VM traffic (sum of ``CpuDemand.net_mbps``);
        ``migrations_per_host`` (n_hosts,) migrations in flight touching each host, the new ones included.
        The rate is fixed at the start (an approximation: later starts and ends do not re-share it).
        """
        spec = self.cfg.migration
        nic = np.asarray(nic_mbps, np.float64)
        busy = np.zeros_like(nic) if (host_net_mbps is None or not spec.share_with_vm_traffic) else host_net_mbps
        avail = np.maximum(nic - busy, spec.min_bandwidth_fraction * nic)
        per = avail / np.maximum(np.asarray(migrations_per_host, np.float64), 1.0)
        return np.minimum(per[np.asarray(src)], per[np.asarray(dst)])

    def migration_timing(self, model: Any, vm_idx: np.ndarray, ram_mb: np.ndarray, bandwidth_mbps: np.ndarray,
                         dirty_mbps: np.ndarray | None = None, used_mb: np.ndarray | None = None) -> MigrationTiming:
        """Timing of k migrations: the scenario's model, or a cold checkpoint/restore for containers.

        ``model`` is the engine's migration model (``timing`` is used when it has one). Callers must not
        pass VMs with ``~can_migrate``.
        """
        vm_idx = np.asarray(vm_idx, np.int64)
        ram = np.asarray(ram_mb, np.float64)
        bw = np.asarray(bandwidth_mbps, np.float64)
        d = None if dirty_mbps is None else np.asarray(dirty_mbps, np.float64)
        if hasattr(model, "timing"):
            t = model.timing(ram, bw, d)
        else:
            dur = np.asarray(model.duration_s(ram, bw), np.float64)
            k = dur.shape[0]
            t = MigrationTiming(dur, np.asarray(model.downtime_s(ram, bw), np.float64), ram.copy(),
                                np.ones(k, np.int64), np.ones(k, bool), np.full(k, model.source_cpu_loss),
                                dur.copy(), np.zeros(k))
        cont = self.vm_kind[vm_idx] == KINDS.index("container")
        if cont.any():
            m = ram if used_mb is None else np.asarray(used_mb, np.float64)
            c = self._cold.timing(m[cont], bw[cont])
            t = MigrationTiming(*[np.where(cont, _put(cont, getattr(c, f)), getattr(t, f))
                                  for f in MigrationTiming.__dataclass_fields__])
        return t

    # ------------------------------------------------------------------------------------ hook 5
    def failures(self, rng: np.random.Generator, horizon_s: float, n_hosts: int) -> FailureEvents:
        """Every host failure of the run, sorted by time (push (fail_s, host) and (repair_s, host) events)."""
        return self.cfg.failures.timeline(rng, horizon_s, n_hosts)

    def on_host_failure(self, vm_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """((k,) downtime s, (k,) bool failed over) for the VMs of a failed host.

        Protected VMs resume from the last checkpoint after detection + activation; the others restart
        elsewhere after detection + their kind's boot time (image assumed cached).
        """
        vm_idx = np.asarray(vm_idx, np.int64)
        det = self.cfg.failures.detection_s
        boot = self.cfg.containers.start_delay_s(self.vm_kind[vm_idx], self.image_mb[vm_idx],
                                                 np.ones(vm_idx.size, bool))
        prot = self.vm_protected[vm_idx]
        fo = self.cfg.replication.failover_s(det) if self.cfg.replication is not None else 0.0
        return np.where(prot, fo, det + boot), prot

    # ------------------------------------------------------------------------------------ hook 6
    def start_delay_s(self, vm_idx: np.ndarray, cached: np.ndarray) -> np.ndarray:
        """(k,) seconds from placement to running (boot, or container create + pull if not ``cached``)."""
        vm_idx = np.asarray(vm_idx, np.int64)
        return self.cfg.containers.start_delay_s(self.vm_kind[vm_idx], self.image_mb[vm_idx], cached)


def _put(where: np.ndarray, values: np.ndarray, n: int | None = None) -> np.ndarray:
    """``values`` scattered into zeros at ``where`` (a bool mask, or indices with the length ``n``)."""
    out = np.zeros(where.shape if n is None else n, np.asarray(values).dtype)
    out[where] = values
    return out
