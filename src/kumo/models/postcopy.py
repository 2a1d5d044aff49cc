"""Post-copy and hybrid live migration, and cold (checkpoint/restore) migration, vectorized over VMs.

Post-copy (virtualization-models.md sec. 1.3; Hines & Gopalan, VEE 2009)::

    T_down  = S_state / R + T_act                     only vCPU and device state move while paused
    T_pull  = V_rest / R                              the remaining pages are pushed in the background
    T_total = T_setup + T_pre + T_down + T_pull       each page crosses the wire once
    faults  = phi x (working-set pages still on the source)
    stall   = faults x (RTT + P / R)                  every network fault blocks the vCPU for a round trip
    cpu_loss = stall / T_total                        the degraded run, averaged over the migration

with phi = 0.21 when adaptive pre-paging is on (MIG-15: network faults <= 21 % of the working set) and 1
without it (every touched page not yet pushed is demand-faulted). Hybrid (QEMU ``postcopy-ram`` after
``precopy_rounds`` pre-copy rounds): ``T_pre`` and ``V_rest`` come from the pre-copy rounds (only pages
dirtied in the last round still need sending). During ``T_pull`` the VM's state is split between the two
hosts: a failure of either loses the VM (``fragile_s``; see :func:`loss_probability`).

Cold migration (containers with CRIU, sec. 7.1): the instance is stopped for the whole move::

    T_total = T_down = T_dump + M_used / R + T_restore,   T_dump = M_used / dump_rate
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kumo.models.precopy import PrecopyMigration
from kumo.models.timing import PAGE_MB, MigrationTiming


@dataclass(frozen=True)
class PostcopyMigration:
    """Post-copy live migration (Hines & Gopalan, VEE 2009), optionally after pre-copy rounds (hybrid)."""

    state_mb: float = 1.0
    setup_s: float = 0.0
    activation_s: float = 0.0
    zero_fraction: float = 0.0
    precopy_rounds: int = 0
    prepaging: bool = True
    fault_fraction: float = -1.0
    working_set_fraction: float = 0.25
    rtt_s: float = 0.0002
    bandwidth_share: float = 1.0
    rate_cap_mbps: float = -1.0
    dirty_mbps: float = 0.0
    wws_fraction: float = 0.9
    source_cpu_loss: float = 0.0
    target_cpu_reserve: float = 0.0

    def validate(self) -> list[str]:
        out = []
        for name in ("state_mb", "setup_s", "activation_s", "rtt_s", "dirty_mbps"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v >= 0):
                out.append(f"{name}: must be finite and >= 0, got {v}")
        for name in ("working_set_fraction", "wws_fraction", "source_cpu_loss", "target_cpu_reserve"):
            v = getattr(self, name)
            if not 0 <= v <= 1:
                out.append(f"{name}: must be in [0, 1], got {v}")
        if not 0 <= self.zero_fraction < 1:
            out.append(f"zero_fraction: must be in [0, 1), got {self.zero_fraction}")
        if not (self.fault_fraction == -1 or 0 <= self.fault_fraction <= 1):
            out.append(f"fault_fraction: must be in [0, 1] or -1 (from prepaging), got {self.fault_fraction}")
        if not 0 < self.bandwidth_share <= 1:
            out.append(f"bandwidth_share: must be in (0, 1], got {self.bandwidth_share}")
        if self.precopy_rounds < 0:
            out.append(f"precopy_rounds: must be >= 0, got {self.precopy_rounds}")
        if not (self.rate_cap_mbps == -1 or self.rate_cap_mbps > 0):
            out.append(f"rate_cap_mbps: must be > 0 or -1 (none), got {self.rate_cap_mbps}")
        return out

    @property
    def phi(self) -> float:
        """Fraction of the working set fetched by network faults (MIG-15: 0.21 with pre-paging)."""
        if self.fault_fraction >= 0:
            return self.fault_fraction
        return 0.21 if self.prepaging else 1.0

    def duration_s(self, ram_mb: np.ndarray, nic_mbps: np.ndarray, dirty_mbps: np.ndarray | None = None) -> np.ndarray:
        return self.timing(ram_mb, nic_mbps, dirty_mbps).total_s

    def downtime_s(self, ram_mb: np.ndarray, nic_mbps: np.ndarray, dirty_mbps: np.ndarray | None = None) -> np.ndarray:
        return self.timing(ram_mb, nic_mbps, dirty_mbps).downtime_s

    def timing(self, ram_mb: np.ndarray, nic_mbps: np.ndarray, dirty_mbps: np.ndarray | None = None) -> MigrationTiming:
        """(k,) arrays in, :class:`MigrationTiming` out; units as in :mod:`kumo.models.timing`."""
        d_in = self.dirty_mbps if dirty_mbps is None else dirty_mbps
        m, d_mbps, link = (np.atleast_1d(np.asarray(a, dtype=np.float64)).copy()
                           for a in np.broadcast_arrays(ram_mb, d_in, nic_mbps))
        if np.any(~(link > 0)):
            raise ValueError("nic_mbps: every migration needs a positive bandwidth")
        link = link * self.bandwidth_share
        if self.rate_cap_mbps > 0:
            link = np.minimum(link, self.rate_cap_mbps)
        r = link / 8.0
        k = m.shape[0]
        bulk = (1.0 - self.zero_fraction) * m
        if self.precopy_rounds > 0:
            # the hybrid's pre-copy phase: the same rounds as pre-copy, ended by the round cap
            pre = _precopy_phase(m, d_mbps, link, self)
            t_pre, v_rest, sent_pre, rounds = pre
        else:
            t_pre, v_rest, sent_pre, rounds = np.zeros(k), bulk, np.zeros(k), np.zeros(k, np.int64)
        down = self.state_mb / r + self.activation_s
        pull = v_rest / r
        ws_pages = self.working_set_fraction * m / PAGE_MB
        still_remote = np.divide(v_rest, bulk, out=np.zeros(k), where=bulk > 0)
        faults = self.phi * ws_pages * np.clip(still_remote, 0, 1)
        stall = np.minimum(faults * (self.rtt_s + PAGE_MB / r), pull)
        total = self.setup_s + t_pre + down + pull
        loss = np.divide(stall, total, out=np.zeros(k), where=total > 0)
        loss = 1.0 - (1.0 - loss) * (1.0 - self.source_cpu_loss)
        return MigrationTiming(total_s=total, downtime_s=down, bytes_mb=sent_pre + self.state_mb + v_rest,
                               rounds=rounds, converged=np.ones(k, bool), cpu_loss=loss,
                               switchover_s=self.setup_s + t_pre + down, fragile_s=pull)


def _precopy_phase(m: np.ndarray, d_mbps: np.ndarray, link_mbps: np.ndarray, p: PostcopyMigration):
    """Live time, bytes left, bytes sent and rounds after ``p.precopy_rounds`` pre-copy rounds."""
    pre = PrecopyMigration(rule="hyperv", hyperv_max_passes=p.precopy_rounds, downtime_limit_s=1e-12,
                           rate_cap_mbps=-1, timeout_s=-1, wws_fraction=p.wws_fraction,
                           zero_fraction=p.zero_fraction)
    tm = pre.timing(m, link_mbps, d_mbps)
    r = link_mbps / 8.0
    v_rest = tm.downtime_s * r  # what pre-copy would send in its stop-and-copy now goes by post-copy
    return tm.total_s - tm.downtime_s, v_rest, tm.bytes_mb - v_rest, tm.rounds


def loss_probability(fragile_s: np.ndarray, mtbf_src_s: np.ndarray | float, mtbf_dst_s: np.ndarray | float) -> np.ndarray:
    """P(VM lost) = 1 - exp(-fragile_s (1/MTBF_src + 1/MTBF_dst)) with exponential failures (sec. 1.3)."""
    lam = 1.0 / np.asarray(mtbf_src_s, np.float64) + 1.0 / np.asarray(mtbf_dst_s, np.float64)
    return -np.expm1(-np.asarray(fragile_s, np.float64) * lam)


@dataclass(frozen=True)
class ColdMigration:
    """Stop, dump, copy, restore (CRIU-style checkpoint/restore of a container; sec. 7.1)."""

    dump_mbps: float = 8000.0
    restore_s: float = 0.5
    bandwidth_share: float = 1.0
    source_cpu_loss: float = 0.0
    target_cpu_reserve: float = 0.0

    def validate(self) -> list[str]:
        out = []
        if not self.dump_mbps > 0:
            out.append(f"dump_mbps: must be > 0, got {self.dump_mbps}")
        if not (np.isfinite(self.restore_s) and self.restore_s >= 0):
            out.append(f"restore_s: must be finite and >= 0, got {self.restore_s}")
        if not 0 < self.bandwidth_share <= 1:
            out.append(f"bandwidth_share: must be in (0, 1], got {self.bandwidth_share}")
        return out

    def timing(self, ram_mb: np.ndarray, nic_mbps: np.ndarray, dirty_mbps: np.ndarray | None = None) -> MigrationTiming:
        m, link = (np.atleast_1d(np.asarray(a, np.float64)) for a in np.broadcast_arrays(ram_mb, nic_mbps))
        total = m * 8.0 / self.dump_mbps + m * 8.0 / (link * self.bandwidth_share) + self.restore_s
        k = m.shape[0]
        return MigrationTiming(total_s=total, downtime_s=total.copy(), bytes_mb=m.copy(), rounds=np.zeros(k, np.int64),
                               converged=np.ones(k, bool), cpu_loss=np.full(k, self.source_cpu_loss),
                               switchover_s=total.copy(), fragile_s=np.zeros(k))

    def duration_s(self, ram_mb: np.ndarray, nic_mbps: np.ndarray, dirty_mbps: np.ndarray | None = None) -> np.ndarray:
        return self.timing(ram_mb, nic_mbps).total_s

    def downtime_s(self, ram_mb: np.ndarray, nic_mbps: np.ndarray, dirty_mbps: np.ndarray | None = None) -> np.ndarray:
        return self.timing(ram_mb, nic_mbps).downtime_s

