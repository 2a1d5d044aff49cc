"""The consolidation controller's host choice (PABFD: the CPU-demand and booking filters, the
``power-increase`` weigher) in one pass over the candidate hosts, with the same arithmetic as the filters'
``mask_at`` and the weigher's ``score``, value by value: the same bits, fewer array operations.

:meth:`FusedPabfd.build` returns None for any other placer (other filters or weighers, several power tables,
power curves), and the caller takes :meth:`Placer.feasible_at` / :meth:`Placer.total_at`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kumo.models.power import PowerTable
from kumo.policies.placement import CpuBookingFilter, CpuDemandFilter, PowerIncreaseWeigher, RamBookingFilter

__all__ = ["FusedPabfd"]


class FusedPabfd:
    """:meth:`feasible_total` = ``hosts = cand[placer.feasible_at(view, vm, cand)]`` and
    ``placer.total_at(view, vm, hosts)`` for one decision's hosts (their capacities are read once)."""

    def __init__(self, view: Any, demand: list[float], ram: list[float | None], cpu: list[float | None],
                 multiplier: float, table: PowerTable):
        h = view.hosts
        self.cap = h.cpu_mhz
        # each filter's right-hand side, written as the filter writes it
        self.lim_d = [hr * h.cpu_mhz for hr in demand]
        self.lim_r = [(h.ram_overcommit if r is None else r) * h.ram_mb * (1 + 1e-12) for r in ram]
        self.lim_c = [(h.cpu_overcommit if r is None else r) * h.cpu_mhz * (1 + 1e-12) for r in cpu]
        self.m = multiplier
        self.w = np.asarray(table.watts, dtype=np.float64)
        self.xp = np.arange(len(self.w), dtype=np.float64)
        # one filter of each kind (the consolidation controller's set): the plan's ``filter_rows`` (CPU demand,
        # RAM booked, CPU booked) against these limits, each VM's needs in the same order, read in one take each
        self.lim: np.ndarray | None = None
        self.need: np.ndarray | None = None
        if len(demand) == len(ram) == len(cpu) == 1:
            self.lim = np.stack([self.lim_d[0], self.lim_r[0], self.lim_c[0]])
            self.need = np.stack([view.vm_cpu_demand, view.vms.ram_booked_mb, view.vms.cpu_booked_mhz],
                                 axis=1).astype(np.float64)[:, :, None]  # (n_vms, 3, 1)

    @classmethod
    def build(cls, placer: Any, view: Any) -> FusedPabfd | None:
        tables = view.hosts.power_tables
        # one power table for every host (types may repeat it: host_power_w then gives the same values)
        if len(placer.weighers) != 1 or not all(isinstance(t, PowerTable) and t.watts == tables[0].watts
                                                for t in tables):
            return None
        _, w, m = placer.weighers[0]
        if type(w) is not PowerIncreaseWeigher:
            return None
        demand: list[float] = []
        ram: list[float | None] = []
        cpu: list[float | None] = []
        for _, f in placer.filters:
            if type(f) is CpuDemandFilter:
                demand.append(f.headroom)
            elif type(f) is RamBookingFilter:
                ram.append(f.ratio)
            elif type(f) is CpuBookingFilter:
                cpu.append(f.ratio)
            else:
                return None
        return cls(view, demand, ram, cpu, float(m), tables[0])

    def _power(self, util: np.ndarray) -> np.ndarray:
        # PowerTable.power_w of util already capped at 1
        x = np.maximum(util, 0.0)
        if len(self.w) != 2:
            x = x * (len(self.w) - 1)
        return np.interp(x, self.xp, self.w)

    def feasible_total(self, plan: Any, vm: int, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The hosts of ``cand`` that pass the filters, and their totals (higher is better)."""
        if self.lim is not None and self.need is not None and hasattr(plan, "filter_rows"):
            # the same sums and comparisons as below, element by element, on the three rows at once
            st = plan.filter_rows[:, cand]
            after3 = st + self.need[vm]
            ok3 = after3 <= self.lim[:, cand]
            ok = ok3[0] & ok3[1] & ok3[2]
            hosts = cand[ok]
            both = np.vstack((after3[0], st[0]))[:, ok] / self.cap[hosts]
            p = self._power(np.minimum(both, 1.0))
            return hosts, self.m * (p[0] - np.where(plan.on[hosts], p[1], 0.0))
        d = plan.vm_cpu_demand[vm]
        used = plan.used_c[cand]
        after = used + d
        ok = None
        for lim in self.lim_d:
            m = after <= lim[cand]
            ok = m if ok is None else ok & m
        if self.lim_r:
            br = plan.vms.ram_booked_mb[vm]
            booked = plan.book_r[cand]
            for lim in self.lim_r:
                m = booked + br <= lim[cand]
                ok = m if ok is None else ok & m
        if self.lim_c:
            bc = plan.vms.cpu_booked_mhz[vm]
            booked = plan.book_c[cand]
            for lim in self.lim_c:
                m = booked + bc <= lim[cand]
                ok = m if ok is None else ok & m
        if ok is not None:
            hosts, used, after = cand[ok], used[ok], after[ok]
        else:
            hosts = cand
        cap = self.cap[hosts]
        p_after = self._power(np.minimum(after / cap, 1.0))
        now = np.where(plan.on[hosts], self._power(np.minimum(used / cap, 1.0)), 0.0)
        return hosts, self.m * (p_after - now)
