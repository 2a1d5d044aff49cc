"""Live-migration timing models: how long moving a VM takes and what it costs while in flight.

The default ``cloudsim`` model is Beloglazov & Buyya's (CCPE 2012, as in CloudSim's ``PowerDatacenter``):
duration = RAM / (half the NIC bandwidth), the VM loses 10 % of its CPU on the source while migrating, and
the target reserves 10 % of the VM's CPU demand. Further models (pre-copy, post-copy) plug in through the
same :class:`MigrationModel` protocol: the engine asks only ``duration_s`` and the degradation factors.

Every model also accepts an optional per-VM ``dirty_mbps`` (page-dirtying rate, Mbit/s; CloudSim ignores
it) and offers ``timing(ram_mb, nic_mbps, dirty_mbps=None) -> MigrationTiming`` with per-VM downtime,
bytes on the wire, CPU loss and switch-over time (:mod:`kumo.models.timing`). Registered models:
``cloudsim``, ``precopy`` (:mod:`kumo.models.precopy`), ``postcopy`` and ``cold`` (checkpoint/restore;
:mod:`kumo.models.postcopy`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from kumo.models.timing import MigrationTiming


class MigrationModel(Protocol):
    """What the engine needs from a migration model."""

    #: fraction of the VM's CPU lost on the source while migrating
    source_cpu_loss: float
    #: fraction of the VM's CPU demand the target reserves while migrating
    target_cpu_reserve: float

    def duration_s(self, ram_mb: np.ndarray, nic_mbps: np.ndarray, dirty_mbps: np.ndarray | None = None) -> np.ndarray:
        """(k,) seconds to migrate VMs of ``ram_mb`` over links of ``nic_mbps`` (Mbit/s)."""
        ...

    def downtime_s(self, ram_mb: np.ndarray, nic_mbps: np.ndarray, dirty_mbps: np.ndarray | None = None) -> np.ndarray:
        """(k,) seconds the VM is stopped during the migration."""
        ...

    def timing(self, ram_mb: np.ndarray, nic_mbps: np.ndarray, dirty_mbps: np.ndarray | None = None) -> MigrationTiming:
        """Everything about k migrations at once (per-VM arrays)."""
        ...

    def validate(self) -> list[str]: ...


@dataclass(frozen=True)
class CloudSimMigration:
    """CloudSim's rule (Beloglazov & Buyya, CCPE 2012, sec. 6): t = RAM_MB / (share x NIC_Mbit/s / 8).

    With the defaults (share 0.5, 1 Gbit/s) a 870 MB VM takes 870 / 62.5 = 13.92 s. CloudSim models
    no downtime (``downtime_s`` is 0) unless ``downtime_fraction`` is set.
    """

    bandwidth_share: float = 0.5
    source_cpu_loss: float = 0.1
    target_cpu_reserve: float = 0.1
    downtime_fraction: float = 0.0
    ram: str = "booked"  # RAM copied: "booked" (CloudSim) or "used" (the VM's current RAM demand)

    def validate(self) -> list[str]:
        issues = []
        if self.ram not in ("booked", "used"):
            issues.append(f"ram: must be 'booked' or 'used', got {self.ram!r}")
        if not 0 < self.bandwidth_share <= 1:
            issues.append(f"bandwidth_share: must be in (0, 1], got {self.bandwidth_share}")
        for name in ("source_cpu_loss", "target_cpu_reserve", "downtime_fraction"):
            v = getattr(self, name)
            if not 0 <= v <= 1:
                issues.append(f"{name}: must be in [0, 1], got {v}")
        return issues

    def duration_s(self, ram_mb: np.ndarray, nic_mbps: np.ndarray, dirty_mbps: np.ndarray | None = None) -> np.ndarray:
        mb_per_s = np.asarray(nic_mbps, dtype=np.float64) * self.bandwidth_share / 8.0
        return np.asarray(ram_mb, dtype=np.float64) / mb_per_s

    def downtime_s(self, ram_mb: np.ndarray, nic_mbps: np.ndarray, dirty_mbps: np.ndarray | None = None) -> np.ndarray:
        return self.duration_s(ram_mb, nic_mbps) * self.downtime_fraction

    def timing(self, ram_mb: np.ndarray, nic_mbps: np.ndarray, dirty_mbps: np.ndarray | None = None) -> MigrationTiming:
        """CloudSim's numbers in the common form: RAM crosses the wire once, 10 % CPU lost on the source."""
        ram, nic = (np.atleast_1d(np.asarray(a, np.float64)) for a in np.broadcast_arrays(ram_mb, nic_mbps))
        total = self.duration_s(ram, nic)
        k = total.shape[0]
        return MigrationTiming(total_s=total, downtime_s=total * self.downtime_fraction, bytes_mb=ram.copy(),
                               rounds=np.ones(k, np.int64), converged=np.ones(k, bool),
                               cpu_loss=np.full(k, self.source_cpu_loss), switchover_s=total.copy(),
                               fragile_s=np.zeros(k))


MIGRATION_MODELS: dict[str, type] = {"cloudsim": CloudSimMigration}


def _register_more() -> None:
    # imported here so that precopy/postcopy can import this module's neighbours without a cycle
    from kumo.models.postcopy import ColdMigration, PostcopyMigration
    from kumo.models.precopy import PrecopyMigration

    MIGRATION_MODELS.update(precopy=PrecopyMigration, postcopy=PostcopyMigration, cold=ColdMigration)


_register_more()
