"""CloudSim's state histories and the metrics ``Helper.printResults`` derives from them, without storing them.

CloudSim appends a host entry (time, allocated MIPS, requested MIPS, active) and a VM entry (time, allocated,
requested, in migration) at every host update, an entry at the same time as the last one replacing it
(``cloudsim-planetlab.md`` §4.3). The metrics walk these histories in pairs (§5). Here each host and VM keeps
only its *pending* (last) entry; when a later entry arrives, the pending one is final and its pair is
accounted at once. Sums that CloudSim accumulates per VM are accumulated per VM in time order (exactly its
order); sums it accumulates over all hosts (SLATAH) or over all VMs' pairs (average SLA violation) are kept
as chunks and summed sequentially, host- or VM-major, at the end, so every metric has CloudSim's bits.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from kumo.studies.cloudsim._model import seq_sum


class _Log:
    """Append-only (owner, value...) rows in time order, in arrays that double when full (the compiled
    kernel writes into them directly)."""

    def __init__(self, n_values: int, capacity: int = 1024):
        self.owner = np.empty(capacity, np.int64)
        self.values = [np.empty(capacity) for _ in range(n_values)]
        self.n = 0

    def reserve(self, k: int) -> None:
        need = self.n + k
        if need > self.owner.size:
            cap = max(need, 2 * self.owner.size)
            self.owner = np.resize(self.owner, cap)
            self.values = [np.resize(v, cap) for v in self.values]

    def append(self, owner: np.ndarray, *values: np.ndarray) -> None:
        k = owner.size
        self.reserve(k)
        self.owner[self.n:self.n + k] = owner
        for dst, src in zip(self.values, values, strict=True):
            dst[self.n:self.n + k] = src
        self.n += k

    def sorted_by_owner(self, col: int = 0) -> np.ndarray:
        """Column ``col`` owner-major, time order within an owner."""
        order = np.argsort(self.owner[: self.n], kind="stable")
        return self.values[col][: self.n][order]


def _jdiv(a: float, b: float) -> float:
    # Java double division: x / 0.0 is NaN for x == 0, else +-Infinity
    if b == 0:
        return math.nan if a == 0 or a != a else math.copysign(math.inf, a)
    return a / b


def _mean_std(x: np.ndarray) -> tuple[float, float]:
    # MathUtil.mean (sequential sum / n) and MathUtil.stDev (sqrt of Welford's sample variance)
    n = x.size
    if n == 0:
        return math.nan, math.nan
    mean = seq_sum(x) / n
    m, s = mean, 0.0
    for i, v in enumerate(x.tolist(), 1):
        d = v - m
        m += d / i
        s += d * (v - m)
    return mean, math.sqrt(s / (n - 1)) if n > 1 else math.nan


class Histories:
    """Pending host and VM entries plus the running sums of finished pairs."""

    def __init__(self, n_hosts: int, n_vms: int):
        self._all_hosts = np.arange(n_hosts)
        self.h_t = np.full(n_hosts, -1.0)
        self.h_alloc = np.zeros(n_hosts)
        self.h_req = np.zeros(n_hosts)
        self.h_was_active = np.ones(n_hosts, dtype=bool)  # Helper starts each walk with "previous = active"
        self.h_on_since = np.zeros(n_hosts)
        self._act = _Log(2)  # (host, active time, violation time) per finished pair of an active host
        self._down = _Log(1)  # (host, time since switched on) per shutdown
        self.v_t = np.full(n_vms, -1.0)
        self.v_alloc = np.zeros(n_vms)
        self.v_req = np.zeros(n_vms)
        self.v_mig = np.zeros(n_vms, dtype=bool)
        self.v_was_mig = np.zeros(n_vms, dtype=bool)
        self.v_mig_since = np.zeros(n_vms)
        self.v_tot_alloc = np.zeros(n_vms)
        self.v_tot_req = np.zeros(n_vms)
        self.v_under_mig = np.zeros(n_vms)
        self._ratio = _Log(1)  # (vm, shortfall ratio) per finished pair with a shortfall
        self._migt = _Log(1)  # (vm, time before the migration ended) per migration end
        self.kernel: Any = None  # the compiled kernel module, when the caller wants the fast path

    # ------------------------------------------------------------------------------------------- hosts
    def host_entries(self, hosts: np.ndarray | None, t: float, alloc: np.ndarray, req: np.ndarray) -> None:
        """New entries (t, alloc, req, alloc > 0) for ``hosts`` (unique ids; None = all hosts, in order);
        same-time entries replace."""
        if hosts is None:
            if self.kernel is not None:
                nh = self.h_t.size
                self._act.reserve(nh)
                self._down.reserve(nh)
                self._act.n, self._down.n = self.kernel.hist_hosts(
                    float(t), alloc, req, self.h_t, self.h_alloc, self.h_req, self.h_was_active.view(np.uint8),
                    self.h_on_since, self._act.owner, self._act.values[0], self._act.values[1], self._act.n,
                    self._down.owner, self._down.values[0], self._down.n)
                return
            hosts = self._all_hosts
        prev_t = self.h_t[hosts]
        fin = (prev_t >= 0) & (prev_t != t)
        if fin.any():
            self._finish_hosts(hosts[fin], t)
        self.h_t[hosts] = t
        self.h_alloc[hosts] = alloc
        self.h_req[hosts] = req

    def _finish_hosts(self, h: np.ndarray, t_next: float | None) -> None:
        pt = self.h_t[h]
        a = self.h_alloc[h]
        active = a > 0
        if t_next is not None and active.any():
            ha = h[active]
            dt = t_next - pt[active]
            self._act.append(ha, dt, np.where(a[active] < self.h_req[ha], dt, 0.0))
        was = self.h_was_active[h]
        down = was & ~active
        if down.any():
            self._down.append(h[down], pt[down] - self.h_on_since[h[down]])
        up = ~was & active
        self.h_on_since[h[up]] = pt[up]
        self.h_was_active[h] = active

    # ------------------------------------------------------------------------------------------- VMs
    def vm_entries(self, vms: np.ndarray, t: float, alloc: np.ndarray, req: np.ndarray, mig: np.ndarray | None) -> None:
        """New entries (t, alloc, req, in migration) for ``vms`` (unique ids; ``mig`` None = none migrating)."""
        if mig is None:
            mig = np.zeros(vms.size, dtype=bool)
        if self.kernel is not None:
            self._ratio.reserve(vms.size)
            self._migt.reserve(vms.size)
            self._ratio.n, self._migt.n = self.kernel.hist_vms(
                float(t), np.ascontiguousarray(vms, np.int64), np.ascontiguousarray(alloc, np.float64),
                np.ascontiguousarray(req, np.float64), np.ascontiguousarray(mig, bool).view(np.uint8), self.v_t,
                self.v_alloc, self.v_req, self.v_mig.view(np.uint8), self.v_was_mig.view(np.uint8),
                self.v_mig_since, self.v_tot_alloc, self.v_tot_req, self.v_under_mig, self._ratio.owner,
                self._ratio.values[0], self._ratio.n, self._migt.owner, self._migt.values[0], self._migt.n)
            return
        prev_t = self.v_t[vms]
        fin = (prev_t >= 0) & (prev_t != t)
        if fin.any():
            self._finish_vms(vms[fin], t)
        self.v_t[vms] = t
        self.v_alloc[vms] = alloc
        self.v_req[vms] = req
        self.v_mig[vms] = mig

    def _finish_vms(self, v: np.ndarray, t_next: float | None) -> None:
        a = self.v_alloc[v]
        r = self.v_req[v]
        mig = self.v_mig[v]
        pt = self.v_t[v]
        if t_next is not None:
            dt = t_next - pt
            self.v_tot_alloc[v] += a * dt
            self.v_tot_req[v] += r * dt
            short = a < r
            if short.any():
                self._ratio.append(v[short], (r[short] - a[short]) / r[short])
                sm = short & mig
                self.v_under_mig[v[sm]] += (r[sm] - a[sm]) * dt[sm]
        was = self.v_was_mig[v]
        ended = was & ~mig
        if ended.any():
            self._migt.append(v[ended], pt[ended] - self.v_mig_since[v[ended]])
        began = ~was & mig
        self.v_mig_since[v[began]] = pt[began]
        self.v_was_mig[v] = mig

    # ------------------------------------------------------------------------------------------- results
    def close(self) -> None:
        """Walk the last entries (they end no pair but count for shutdowns and migration times)."""
        h = np.flatnonzero(self.h_t >= 0)
        self._finish_hosts(h, None)
        v = np.flatnonzero(self.v_t >= 0)
        self._finish_vms(v, None)

    def metrics(self) -> dict[str, float]:
        """SLATAH, PDM, overall and average SLA violation, shutdowns and the mean/std times (after close)."""
        act = self._act.sorted_by_owner(0)
        viol = self._act.sorted_by_owner(1)
        slatah = _jdiv(seq_sum(viol), seq_sum(act))
        tot_req = seq_sum(self.v_tot_req)
        tot_alloc = seq_sum(self.v_tot_alloc)
        ratios = self._ratio.sorted_by_owner()
        downs = self._down.sorted_by_owner()
        migt = self._migt.sorted_by_owner()
        sd_mean, sd_std = _mean_std(downs)
        mg_mean, mg_std = _mean_std(migt)
        return {
            "slatah": slatah,
            "pdm": _jdiv(seq_sum(self.v_under_mig), tot_req),
            "sla_overall": _jdiv(tot_req - tot_alloc, tot_req),
            "sla_average": seq_sum(ratios) / ratios.size if ratios.size else 0.0,
            "host_shutdowns": float(downs.size),
            "time_before_host_shutdown_mean_s": sd_mean,
            "time_before_host_shutdown_std_s": sd_std,
            "time_before_vm_migration_mean_s": mg_mean,
            "time_before_vm_migration_std_s": mg_std,
        }
