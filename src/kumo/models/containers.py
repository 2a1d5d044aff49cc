"""Containers next to VMs: instance kinds, start-up, cgroup CPU shares, overlay image-layer sharing.

virtualization-models.md sec. 7. An instance is a ``vm`` (guest kernel and a VMM per instance), a
``microvm`` (Firecracker-like: VMM <= 5 MiB, minimal kernel, <= 125 ms to init, CON-07) or a ``container``
(namespaces + cgroups on the host kernel: near-native CPU and I/O, a few MiB of overhead)::

    start_container = [t_pull + t_unpack if the image is not cached] + t_create + t_app
    t_pull          = lazy_fraction x image_MB x 8 / registry_mbps      (Slacker: only 6.4 % is read)
    density_max     = floor((P - P_reserved) / (mem_app + overhead_per_instance))

cgroup CPU shares (CFS) under contention give each instance ``min(d_i, lambda s_i)`` with lambda set per
host so the allocations fill the capacity (max-min fairness weighted by shares); ``cpu.max`` quotas cap
``d_i`` first. Overlay file systems store each read-only layer once per host; containers add only their
writable layer, and the page cache of shared layers is shared too. Containers live-migrate only with
checkpoint/restore (CRIU), as a cold migration (:class:`kumo.models.postcopy.ColdMigration`).
Overheads and boot times other than CON-07's are engineering defaults (sec. 9).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kumo.models._vec import waterfill

KINDS = ("vm", "microvm", "container")


@dataclass(frozen=True)
class ContainerModel:
    """Per-kind overheads and start-up times (module docstring)."""

    vm_overhead_mb: float = 150.0
    microvm_vmm_mb: float = 5.0
    microvm_kernel_mb: float = 30.0
    container_overhead_mb: float = 2.0
    vm_boot_s: float = 20.0
    microvm_boot_s: float = 0.125
    container_create_s: float = 0.5
    app_init_s: float = 0.0
    registry_mbps: float = 1000.0
    unpack_mb_per_s: float = 200.0
    lazy_fraction: float = 1.0
    checkpoint_restore: bool = False

    def validate(self) -> list[str]:
        out = []
        for name in ("vm_overhead_mb", "microvm_vmm_mb", "microvm_kernel_mb", "container_overhead_mb", "vm_boot_s",
                     "microvm_boot_s", "container_create_s", "app_init_s"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v >= 0):
                out.append(f"{name}: must be finite and >= 0, got {v}")
        for name in ("registry_mbps", "unpack_mb_per_s"):
            if not getattr(self, name) > 0:
                out.append(f"{name}: must be > 0, got {getattr(self, name)}")
        if not 0 < self.lazy_fraction <= 1:
            out.append(f"lazy_fraction: must be in (0, 1], got {self.lazy_fraction}")
        return out

    def overhead_mb(self, kind_idx: np.ndarray) -> np.ndarray:
        """(n,) memory overhead per instance, MB."""
        t = np.array([self.vm_overhead_mb, self.microvm_vmm_mb + self.microvm_kernel_mb, self.container_overhead_mb])
        return t[np.asarray(kind_idx, np.int64)]

    def pull_s(self, image_mb: np.ndarray) -> np.ndarray:
        """Seconds to fetch and unpack an image (only the lazily read fraction is fetched)."""
        mb = np.asarray(image_mb, np.float64) * self.lazy_fraction
        return mb * 8.0 / self.registry_mbps + mb / self.unpack_mb_per_s

    def start_delay_s(self, kind_idx: np.ndarray, image_mb: np.ndarray, cached: np.ndarray) -> np.ndarray:
        """(n,) seconds from placement to a running instance.

        ``image_mb`` and ``cached`` (bool: the host already holds the image) matter for containers only;
        VM images are assumed on shared storage.
        """
        kind = np.asarray(kind_idx, np.int64)
        cont = self.container_create_s + np.where(np.asarray(cached, bool), 0.0, self.pull_s(image_mb))
        t = np.stack([np.full(kind.shape, self.vm_boot_s), np.full(kind.shape, self.microvm_boot_s), cont])
        return np.take_along_axis(t, kind[None, :], axis=0)[0] + self.app_init_s

    def can_migrate(self, kind_idx: np.ndarray) -> np.ndarray:
        """(n,) bool: VMs and microVMs live-migrate; containers only with checkpoint/restore (cold)."""
        kind = np.asarray(kind_idx, np.int64)
        return (kind != KINDS.index("container")) | self.checkpoint_restore


def density_max(host_mb: float, reserved_mb: float, app_mb: float, overhead_mb: float) -> int:
    """Instances of one application that fit a host's memory."""
    return int(np.floor((host_mb - reserved_mb) / (app_mb + overhead_mb)))


def cgroup_allocation(demand_mhz: np.ndarray, shares: np.ndarray, host: np.ndarray, capacity_mhz: np.ndarray,
                      quota_mhz: np.ndarray | None = None) -> np.ndarray:
    """(n,) MHz granted under CFS shares: weighted max-min fair water-filling per host.

    Each host's instances get ``min(d_i, lambda_h s_i)`` where ``sum_i min(d_i, lambda_h s_i) = C_h`` when
    the host is contended, else their demand. ``host`` -1 marks instances not placed (granted 0).
    """
    d = np.maximum(np.asarray(demand_mhz, np.float64), 0.0)
    if quota_mhz is not None:
        d = np.minimum(d, quota_mhz)
    s = np.maximum(np.asarray(shares, np.float64), 1e-12)
    return waterfill(d, s, host, capacity_mhz)


def overlay_usage_mb(host: np.ndarray, image: np.ndarray, image_layers: list[list[int]], layer_mb: np.ndarray,
                     n_hosts: int, writable_mb: np.ndarray | float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Disk per host with overlay sharing, and what it would be without: ((n_hosts,), (n_hosts,)) MB.

    Each read-only layer is stored once per host however many containers use it; the same holds for the
    page cache of those layers, so the saving applies to cached file data as well.
    """
    h = np.asarray(host, np.int64)
    img = np.asarray(image, np.int64)
    placed = (h >= 0) & (img >= 0)
    lens = np.array([len(x) for x in image_layers], np.int64)
    flat = np.array([layer for x in image_layers for layer in x], np.int64)
    offs = np.concatenate([[0], np.cumsum(lens)])
    hp, ip = h[placed], img[placed]
    rep = lens[ip]
    hosts_rep = np.repeat(hp, rep)
    layer_idx = np.concatenate([flat[offs[i]:offs[i + 1]] for i in ip]) if ip.size else np.zeros(0, np.int64)
    sizes = np.asarray(layer_mb, np.float64)
    naive = np.bincount(hosts_rep, sizes[layer_idx], n_hosts).astype(np.float64)
    pairs = np.unique(hosts_rep * len(sizes) + layer_idx)
    shared = np.bincount(pairs // len(sizes), sizes[pairs % len(sizes)], n_hosts).astype(np.float64)
    w = np.bincount(hp, np.broadcast_to(np.asarray(writable_mb, np.float64), h.shape)[placed], n_hosts).astype(np.float64)
    return shared + w, naive + w
