"""Live-migration timing models: how long moving a VM takes and what it costs while in flight.

The default ``cloudsim`` model is Beloglazov & Buyya's (CCPE 2012, as in CloudSim's ``PowerDatacenter``):
duration = RAM / (half the NIC bandwidth), the VM loses 10 % of its CPU on the source while migrating, and
the target reserves 10 % of the VM's CPU demand. Further models (pre-copy, post-copy) plug in through the
same :class:`MigrationModel` protocol: the engine asks only ``duration_s`` and the degradation factors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


class MigrationModel(Protocol):
    """What the engine needs from a migration model."""

    #: fraction of the VM's CPU lost on the source while migrating
    source_cpu_loss: float
    #: fraction of the VM's CPU demand the target reserves while migrating
    target_cpu_reserve: float

    def duration_s(self, ram_mb: np.ndarray, nic_mbps: np.ndarray) -> np.ndarray:
        """(k,) seconds to migrate VMs of ``ram_mb`` over links of ``nic_mbps`` (Mbit/s)."""
        ...

    def downtime_s(self, ram_mb: np.ndarray, nic_mbps: np.ndarray) -> np.ndarray:
        """(k,) seconds the VM is stopped during the migration."""
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

    def validate(self) -> list[str]:
        issues = []
        if not 0 < self.bandwidth_share <= 1:
            issues.append(f"bandwidth_share: must be in (0, 1], got {self.bandwidth_share}")
        for name in ("source_cpu_loss", "target_cpu_reserve", "downtime_fraction"):
            v = getattr(self, name)
            if not 0 <= v <= 1:
                issues.append(f"{name}: must be in [0, 1], got {v}")
        return issues

    def duration_s(self, ram_mb: np.ndarray, nic_mbps: np.ndarray) -> np.ndarray:
        mb_per_s = np.asarray(nic_mbps, dtype=np.float64) * self.bandwidth_share / 8.0
        return np.asarray(ram_mb, dtype=np.float64) / mb_per_s

    def downtime_s(self, ram_mb: np.ndarray, nic_mbps: np.ndarray) -> np.ndarray:
        return self.duration_s(ram_mb, nic_mbps) * self.downtime_fraction


MIGRATION_MODELS: dict[str, type] = {"cloudsim": CloudSimMigration}
