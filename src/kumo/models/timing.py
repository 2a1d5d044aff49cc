"""Units and the result type shared by every live-migration model.

Units, stated once for all of :mod:`kumo.models`: MB = 10^6 bytes, MiB = 2^20 bytes, GiB = 2^30 bytes;
``*_mbps`` are rates in Mbit/s (10^6 bit/s), so 1 Gbit/s = 1000 mbps and 1 MB/s = 8 mbps; a page is
4 KiB = 4096 B. Trace I/O columns (``*_kbps`` in :mod:`kumo.traces.base`) are KB/s with KB = 1024 B, as
Bitbrains reports them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MB = 1e6
MIB = 2.0**20
GIB = 2.0**30
PAGE_B = 4096.0
#: bytes in one trace "KB" (Bitbrains KB/s columns)
TRACE_KB = 1024.0
#: MB per page
PAGE_MB = PAGE_B / MB


def mbps_to_mb_per_s(mbps: np.ndarray | float) -> np.ndarray:
    """Mbit/s -> MB/s (divide by 8)."""
    return np.asarray(mbps, dtype=np.float64) / 8.0


def trace_kbps_to_mbps(kbps: np.ndarray | float) -> np.ndarray:
    """Trace KB/s (KB = 1024 B) -> Mbit/s."""
    return np.asarray(kbps, dtype=np.float64) * TRACE_KB * 8.0 / 1e6


@dataclass(frozen=True)
class MigrationTiming:
    """What one batch of migrations costs; every field is a (k,) array, one entry per migrating VM.

    Attributes
    ----------
    total_s : seconds from the start of the migration to the VM running only on the target.
    downtime_s : seconds the VM is paused (never more than ``total_s``).
    bytes_mb : MB (10^6 B) put on the wire.
    rounds : live (iterative) rounds before the stop-and-copy (pre-copy) or before the switch (hybrid).
    converged : False when a stop rule had to force the switch (timeout or byte/round cap without
        reaching the downtime target); the downtime is then above the limit.
    cpu_loss : fraction of the VM's CPU demand lost over ``total_s`` (auto-converge throttling,
        post-copy fault stalls, a model's fixed source degradation).
    switchover_s : seconds after the start at which the VM starts running on the target
        (pre-copy: ``total_s``; post-copy: after the short pause).
    fragile_s : seconds during which a failure of either host loses the VM (post-copy pull phase).
    """

    total_s: np.ndarray
    downtime_s: np.ndarray
    bytes_mb: np.ndarray
    rounds: np.ndarray
    converged: np.ndarray
    cpu_loss: np.ndarray
    switchover_s: np.ndarray
    fragile_s: np.ndarray

    def as_dict(self) -> dict[str, list[float]]:
        return {k: np.asarray(getattr(self, k)).tolist() for k in self.__dataclass_fields__}
