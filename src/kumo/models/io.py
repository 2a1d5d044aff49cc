"""I/O virtualization: throughput caps, host CPU per byte and per request, latency, and migratability.

Per VM and device (network, disk), virtualization-models.md sec. 5.1::

    extra host cycles/s = bytes/s x c_byte + requests/s x (c_req + irqs/req x exits/irq x c_exit)
    backend cap         = backend_cores x f / (c_byte + c_req / request_bytes)      (emulated, virtio)
    throughput          = min(demand, backend cap, share of the device's line rate)
    passthrough/SR-IOV efficiency = 1 / (1 + irq_rate x exits/irq x c_exit / f)    (interrupt-heavy work)

Modes: ``native`` (bare metal, containers on host networking), ``emulated`` (QEMU e1000/IDE: user-space
exits per register access), ``virtio`` (paravirtual, in-kernel vhost backend), ``virtio-user`` (paravirtual,
user-space backend such as Firecracker's: up to 4 more system calls per packet, IO-09), ``passthrough``
(VFIO + IOMMU) and ``sriov`` (a virtual function; VFs of a host share the line rate). Passthrough and
SR-IOV VMs cannot live-migrate and their memory is pinned (cannot be overcommitted). ``interrupts =
"posted"`` models exitless delivery (posted interrupts, ELI, DID): 100x fewer exits per interrupt (IO-06).

Calibration (all per-mode constants are engineering values fitted to these figures, at the stated clock):
emulated 10 GbE reaches 4.5-6.5 Gbit/s on one 2.3-2.6 GHz core (IO-01); virtio-user net 25 Gbit/s on one
2.3 GHz core and >= 14.5 Gbit/s at 80 % (IO-02), +0.06 ms latency (IO-03); virtio-user block 1 GiB/s at
<= 70 % of a core (IO-04); device assignment on an interrupt-heavy load 61-77 % of bare metal, 97-100 %
exitless (IO-05); virtio-blk random 4 KiB about half of native IOPS (IO-07, R).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

IO_MODES = ("native", "emulated", "virtio", "virtio-user", "passthrough", "sriov")
DEVICES = ("net", "disk")


@dataclass(frozen=True)
class IoPath:
    """Costs of one (mode, device) path beyond native; cycles are host CPU cycles."""

    cycles_per_byte: float = 0.0
    cycles_per_request: float = 0.0
    backend: bool = False  # a host thread (QEMU iothread, vhost) carries the data and caps throughput
    exits_per_irq: float = 0.0
    irqs_per_request: float = 0.0
    latency_s: float = 0.0  # added per request, without interrupt exits
    migratable: bool = True
    pinned: bool = False


POSTED_EXIT_FACTOR = 0.01  # exitless delivery: 100x fewer exits per interrupt (DID, IO-06)
SYSCALL_CYCLES = 1500.0  # one system call round trip (engineering value)
#: vhost removes up to 4 system calls per packet (IO-09): the user-space backend pays them back
VHOST_SAVED_SYSCALLS = 4
_VHOST_NET_REQ = 9_466.0
_VHOST_DISK_REQ = 14_000.0

#: (mode, device) -> path; see the module docstring for the figures each constant was fitted to
IO_PATHS: dict[tuple[str, str], IoPath] = {
    ("native", "net"): IoPath(),
    ("native", "disk"): IoPath(),
    ("emulated", "net"): IoPath(2.5, 60_000.0, True, 0.0, 0.0, 200e-6),
    ("emulated", "disk"): IoPath(2.0, 80_000.0, True, 0.0, 0.0, 300e-6),
    ("virtio", "net"): IoPath(0.5, _VHOST_NET_REQ, True, 0.0, 0.0, 30e-6),
    ("virtio", "disk"): IoPath(0.6, _VHOST_DISK_REQ, True, 0.0, 0.0, 30e-6),
    ("virtio-user", "net"): IoPath(0.5, _VHOST_NET_REQ + VHOST_SAVED_SYSCALLS * SYSCALL_CYCLES, True, 0.0, 0.0, 60e-6),
    ("virtio-user", "disk"): IoPath(0.6, _VHOST_DISK_REQ + VHOST_SAVED_SYSCALLS * SYSCALL_CYCLES, True, 0.0, 0.0,
                                    60e-6),
    ("passthrough", "net"): IoPath(0.0, 0.0, False, 2.0, 1.0, 0.0, False, True),
    ("passthrough", "disk"): IoPath(0.0, 0.0, False, 2.0, 1.0, 0.0, False, True),
    ("sriov", "net"): IoPath(0.0, 0.0, False, 2.0, 1.0, 0.0, False, True),
    ("sriov", "disk"): IoPath(0.0, 0.0, False, 2.0, 1.0, 0.0, False, True),
}




def migratable(mode_idx: np.ndarray) -> np.ndarray:
    """(n,) bool: False for passthrough and SR-IOV (the VM is pinned to its host)."""
    ok = np.array([IO_PATHS[(m, "net")].migratable for m in IO_MODES])
    return ok[np.asarray(mode_idx, np.int64)]


def pinned_memory(mode_idx: np.ndarray) -> np.ndarray:
    """(n,) bool: guest memory must be pinned for DMA (no sharing, ballooning or swapping)."""
    pin = np.array([IO_PATHS[(m, "net")].pinned for m in IO_MODES])
    return pin[np.asarray(mode_idx, np.int64)]


@dataclass(frozen=True)
class IoResult:
    """Per-VM (n,) outcomes of one step."""

    host_cpu_mhz: np.ndarray  # extra host CPU for I/O virtualization, MHz
    net_fraction: np.ndarray  # delivered / demanded network throughput, in [0, 1]
    disk_fraction: np.ndarray
    latency_s: np.ndarray  # added latency per request (network path)


@dataclass(frozen=True)
class IoModel:
    """Throughput caps and CPU costs of I/O virtualization paths (module docstring)."""

    exit_cycles: float = 7000.0  # direct + handling + cache pollution of an interrupt exit (sec. 4.2: up to 10x)
    native_irq_latency_s: float = 1.3e-6
    interrupts: str = "exit"  # exit | posted
    backend_cores: float = 1.0
    net_request_kib: float = 64.0  # TSO/GRO batch
    disk_request_kib: float = 64.0
    disk_device_mbps: float = 16_000.0  # 2 GB/s NVMe
    native_disk_cycles_per_request: float = 20_000.0

    def validate(self) -> list[str]:
        out = []
        if self.interrupts not in ("exit", "posted"):
            out.append(f"interrupts: must be 'exit' or 'posted', got {self.interrupts!r}")
        for name in ("exit_cycles", "native_irq_latency_s", "native_disk_cycles_per_request"):
            if not getattr(self, name) >= 0:
                out.append(f"{name}: must be >= 0, got {getattr(self, name)}")
        for name in ("backend_cores", "net_request_kib", "disk_request_kib", "disk_device_mbps"):
            if not getattr(self, name) > 0:
                out.append(f"{name}: must be > 0, got {getattr(self, name)}")
        return out

    def _col(self, device: str, attr: str) -> np.ndarray:
        return np.array([float(getattr(IO_PATHS[(m, device)], attr)) for m in IO_MODES])

    def exits_per_irq(self, mode_idx: np.ndarray) -> np.ndarray:
        e = self._col("net", "exits_per_irq")[np.asarray(mode_idx, np.int64)]
        return e * (POSTED_EXIT_FACTOR if self.interrupts == "posted" else 1.0)

    def cycles_per_bit(self, mode_idx: np.ndarray, device: str, request_kib: float | None = None) -> np.ndarray:
        """Backend cycles per bit at the configured request size (0 where there is no backend)."""
        mode = np.asarray(mode_idx, np.int64)
        req_b = 1024.0 * (request_kib or (self.net_request_kib if device == "net" else self.disk_request_kib))
        cpb = self._col(device, "cycles_per_byte")[mode] + self._col(device, "cycles_per_request")[mode] / req_b
        return cpb / 8.0

    def backend_cap_mbps(self, mode_idx: np.ndarray, device: str, core_mhz: np.ndarray,
                         cores: float | None = None, request_kib: float | None = None) -> np.ndarray:
        """(n,) throughput a backend thread can carry, Mbit/s (inf for native and device assignment)."""
        mode = np.asarray(mode_idx, np.int64)
        cpb = self.cycles_per_bit(mode, device, request_kib)
        budget = (self.backend_cores if cores is None else cores) * np.asarray(core_mhz, np.float64) * 1e6
        has = self._col(device, "backend")[mode] > 0
        ok = has & (cpb > 0)
        return np.divide(budget, cpb * 1e6, out=np.full(np.shape(cpb), np.inf), where=ok)

    def assignment_efficiency(self, mode_idx: np.ndarray, irq_per_s: np.ndarray | float,
                              core_mhz: np.ndarray | float) -> np.ndarray:
        """Throughput fraction of bare metal for interrupt-heavy work: 1 / (1 + irq x exits x c / f)."""
        over = np.asarray(irq_per_s, np.float64) * self.exits_per_irq(mode_idx) * self.exit_cycles / (
            np.asarray(core_mhz, np.float64) * 1e6)
        return 1.0 / (1.0 + over)

    def irq_latency_s(self, mode_idx: np.ndarray, core_mhz: np.ndarray) -> np.ndarray:
        """Interrupt delivery latency: native path + exits x exit time."""
        return self.native_irq_latency_s + self.exits_per_irq(mode_idx) * self.exit_cycles / (
            np.asarray(core_mhz, np.float64) * 1e6)

    def random_iops_fraction(self, mode_idx: np.ndarray, request_kib: float = 4.0) -> np.ndarray:
        """Small-request IOPS relative to native when the per-request CPU path is the bottleneck."""
        mode = np.asarray(mode_idx, np.int64)
        extra = (self._col("disk", "cycles_per_request")[mode]
                 + self._col("disk", "cycles_per_byte")[mode] * request_kib * 1024.0)
        return self.native_disk_cycles_per_request / (self.native_disk_cycles_per_request + extra)

    def coefficients(self, mode_idx: np.ndarray) -> dict[str, np.ndarray]:
        """Static per-VM constants of :meth:`evaluate` (compute once, pass as ``coef``)."""
        mode = np.asarray(mode_idx, np.int64)
        irq = self.exits_per_irq(mode) * self.exit_cycles
        out: dict[str, np.ndarray] = {}
        for dev, req_kib in (("net", self.net_request_kib), ("disk", self.disk_request_kib)):
            req_b = req_kib * 1024.0
            cpb = self._col(dev, "cycles_per_byte")[mode]
            cpr = self._col(dev, "cycles_per_request")[mode]
            out[f"{dev}_cpu_per_mbps"] = (cpb + (cpr + self._col(dev, "irqs_per_request")[mode] * irq) / req_b) / 8.0
            backend_bits = (cpb + cpr / req_b) / 8.0  # cycles per bit carried by the backend thread
            out[f"{dev}_cap_per_mhz"] = np.divide(self.backend_cores, backend_bits, out=np.full(mode.shape, np.inf),
                                                  where=(self._col(dev, "backend")[mode] > 0) & (backend_bits > 0))
        out["lat_s"] = self._col("net", "latency_s")[mode]
        out["irq_cycles"] = irq
        return out

    def evaluate(self, mode_idx: np.ndarray, net_mbps: np.ndarray, disk_mbps: np.ndarray, core_mhz: np.ndarray,
                 host: np.ndarray | None = None, host_nic_mbps: np.ndarray | None = None,
                 coef: dict[str, np.ndarray] | None = None) -> IoResult:
        """One step: I/O demand (Mbit/s) per VM -> extra host CPU, delivered fractions, added latency.

        ``host`` (n,) and ``host_nic_mbps`` (n_hosts,) enable the line-rate share: every VM on a host shares
        its NIC in proportion to demand (SR-IOV VFs included). VMs with host -1 are ignored. ``coef`` is
        :meth:`coefficients` of ``mode_idx``, precomputed.
        """
        c = self.coefficients(mode_idx) if coef is None else coef
        f = np.asarray(core_mhz, np.float64)
        net = np.maximum(np.asarray(net_mbps, np.float64), 0.0)
        disk = np.maximum(np.asarray(disk_mbps, np.float64), 0.0)
        got_net = np.minimum(net, c["net_cap_per_mhz"] * f)
        if host is not None and host_nic_mbps is not None:
            h = np.asarray(host, np.int64)
            placed = h >= 0
            every = bool(placed.all())
            hs = h if every else np.where(placed, h, 0)
            tot = np.bincount(hs, got_net if every else np.where(placed, got_net, 0.0),
                              len(host_nic_mbps)).astype(np.float64)
            if (tot > host_nic_mbps).any():  # only a saturated NIC changes anything
                # nic / max(tot, nic): the same share as min(1, nic / tot), without overflowing on a tiny tot
                share = np.divide(host_nic_mbps, np.maximum(tot, host_nic_mbps), out=np.ones_like(tot), where=tot > 0)
                got_net = np.where(placed, got_net * share[hs], got_net)
        got_disk = np.minimum(np.minimum(disk, c["disk_cap_per_mhz"] * f), self.disk_device_mbps)
        cpu = got_net * c["net_cpu_per_mbps"] + got_disk * c["disk_cpu_per_mbps"]
        lat = c["lat_s"] + c["irq_cycles"] / (f * 1e6)
        # (got + e) / (demand + e): 1 for no demand, exact to 1e-12 otherwise, and cheap
        return IoResult(host_cpu_mhz=cpu, net_fraction=(got_net + 1e-12) / (net + 1e-12),
                        disk_fraction=(got_disk + 1e-12) / (disk + 1e-12), latency_s=lat)
