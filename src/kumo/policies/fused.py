"""The consolidation controller's host choice (PABFD: the CPU-demand and booking filters, the
``power-increase`` weigher) in one pass over the candidate hosts, with the same arithmetic as the filters'
``mask_at`` and the weigher's ``score``, value by value: the same bits, fewer array operations.

:meth:`FusedPabfd.build` returns None for any other placer (other filters or weighers, several power tables,
power curves), and the caller takes :meth:`Placer.feasible_at` / :meth:`Placer.total_at`.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from kumo.models.power import PowerTable
from kumo.policies.placement import CpuBookingFilter, CpuDemandFilter, PowerIncreaseWeigher, RamBookingFilter

_pick: Any  # the compiled loop (_pick.c), or None
try:
    from kumo.policies import _pick  # type: ignore[attr-defined, no-redef]
except ImportError:  # pragma: no cover - an installation without a C compiler
    _pick = None

__all__ = ["FusedPabfd", "compiled"]


def compiled() -> bool:
    """True when the compiled host choice (``_pick.c``) is installed and ``KUMO_PURE_PYTHON`` is not set."""
    return _pick is not None and not os.environ.get("KUMO_PURE_PYTHON")


def _same(a: np.ndarray) -> np.ndarray | float:
    """``a`` (one value per host), or its value as a float when every host has that same value."""
    a = np.asarray(a, dtype=np.float64)
    if a.size and not np.isnan(a).any() and bool((a == a[0]).all()) and bool((np.signbit(a) == np.signbit(a[0])).all()):
        return float(a[0])
    return a


def _at(a: np.ndarray | float, hosts: np.ndarray) -> np.ndarray | float:
    return a[hosts] if type(a) is np.ndarray else a


class FusedPabfd:
    """:meth:`feasible_total` = ``hosts = cand[placer.feasible_at(view, vm, cand)]`` and
    ``placer.total_at(view, vm, hosts)`` for one decision's hosts (their capacities are read once)."""

    def __init__(self, view: Any, demand: list[float], ram: list[float | None], cpu: list[float | None],
                 multiplier: float, table: PowerTable):
        h = view.hosts
        # each filter's right-hand side, written as the filter writes it; on a park of one host type every host
        # has the same capacity and limits, and one float stands for them all (the same comparisons and
        # quotients, without a take per call)
        self.cap = _same(h.cpu_mhz)
        self.lim_d = [_same(hr * h.cpu_mhz) for hr in demand]
        self.lim_r = [_same((h.ram_overcommit if r is None else r) * h.ram_mb * (1 + 1e-12)) for r in ram]
        self.lim_c = [_same((h.cpu_overcommit if r is None else r) * h.cpu_mhz * (1 + 1e-12)) for r in cpu]
        self.m = multiplier
        self.w = np.asarray(table.watts, dtype=np.float64)
        self.xp = np.arange(len(self.w), dtype=np.float64)
        # a two-point table (linear power): np.interp's own arithmetic, slope x (x - x0) + w0 below the last
        # point and the last watts at it, without the call
        self.lin: tuple[float, float, float] | None = None
        if len(self.w) == 2:
            w0, w1 = float(self.w[0]), float(self.w[1])
            self.lin = ((w1 - w0) / (1.0 - 0.0), w0, w1)
        # the compiled loop's arguments: every right-hand side per host, one row per filter (the values the
        # floats above stand for); only with a linear table (np.interp's arithmetic stays in Python)
        self.kernel: tuple[Any, ...] | None = None
        if self.lin is not None and compiled():
            n = h.n

            def rows(exprs: list[Any]) -> np.ndarray:
                out = np.empty((len(exprs), n))
                for k, e in enumerate(exprs):
                    out[k] = e
                return out

            self.kernel = (np.ascontiguousarray(h.cpu_mhz, dtype=np.float64),
                           rows([hr * h.cpu_mhz for hr in demand]),
                           rows([(h.ram_overcommit if r is None else r) * h.ram_mb * (1 + 1e-12) for r in ram]),
                           rows([(h.cpu_overcommit if r is None else r) * h.cpu_mhz * (1 + 1e-12) for r in cpu]))
            # where the loop writes the hosts that pass and their totals (read by :meth:`last`)
            self.out_hosts = np.empty(n, np.int64)
            self.out_total = np.empty(n)
        #: each host's power now (see :meth:`track_power`), or None: the loop works it out per candidate
        self.pnow: np.ndarray | None = None

    def track_power(self, plan: Any) -> np.ndarray | None:
        """Keep every host's power now, P(min(used / cap, 1)), in ``plan.extras["pnow"]`` for the compiled loop
        (computed by it, so the same bits as per candidate). The caller updates the two hosts of each move
        (``_pick.move_rows``); a rolled-back trial restores them with the other extras. None without the loop."""
        if self.kernel is None:
            return None
        slope, w0, w1 = self.lin  # type: ignore[misc]
        pnow = np.empty(plan.used_c.shape[0])
        _pick.power_now(pnow, plan.used_c, self.kernel[0], slope, w0, w1)
        plan.extras["pnow"] = self.pnow = pnow
        return pnow

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
        if self.lin is not None:
            slope, w0, w1 = self.lin
            p = x * slope  # x - 0.0 is x
            p += w0
            p[x >= 1.0] = w1
            return p
        if len(self.w) != 2:
            x = x * (len(self.w) - 1)
        return np.interp(x, self.xp, self.w)

    def best(self, plan: Any, vm: int, cand: np.ndarray, excluded: np.ndarray, src: int,
             wake: bool) -> tuple[int, int] | None:
        """The compiled loop, if built for this decision: of ``cand`` less the ``excluded`` hosts (and the
        hosts off unless ``wake``, and ``src`` unless excluded), the best host that passes the filters (-1 if
        none) and how many pass; None when it is not built or hands the call back (a NaN total). The same
        host as :meth:`feasible_total` and the best of its totals (ties to the lowest index); :meth:`last`
        then gives what :meth:`feasible_total` returns."""
        if self.kernel is None:
            return None
        cap, ld, lr, lc = self.kernel
        slope, w0, w1 = self.lin  # type: ignore[misc]
        vms = plan.vms
        return _pick.pabfd_best(cand, excluded, src, wake, plan.on, plan.used_c, plan.book_r, plan.book_c, cap, ld, lr,
                                lc, float(plan.vm_cpu_demand[vm]), float(vms.ram_booked_mb[vm]),
                                float(vms.cpu_booked_mhz[vm]), slope, w0, w1, self.m, self.out_hosts,
                                self.out_total, self.pnow)

    def choose(self, plan: Any, vm: int, cand: np.ndarray, excluded: np.ndarray, src: int, wake: bool,
               detector: tuple[Any, ...]) -> int | None:
        """:meth:`best`, then the IQR/MAD detector's check in the same compiled call: the best host if the
        detector accepts the VM there, else the first of the others (best first) it accepts, else -1; None when
        the call is handed back (a value that is not finite). ``detector``: (n_vms, hist, the VM's history, filled,
        mode, safety, fallback, min_history, the VM's booked MHz), the arguments of ``_pick.adaptive_first``
        after ``used`` and ``cap`` (its ``vrow`` is the history x the MHz, multiplied in C)."""
        cap, ld, lr, lc = self.kernel  # type: ignore[misc]
        slope, w0, w1 = self.lin  # type: ignore[misc]
        vms = plan.vms
        return _pick.pabfd_best(cand, excluded, src, wake, plan.on, plan.used_c, plan.book_r, plan.book_c, cap, ld, lr,
                                lc, float(plan.vm_cpu_demand[vm]), float(vms.ram_booked_mb[vm]),
                                float(vms.cpu_booked_mhz[vm]), slope, w0, w1, self.m, self.out_hosts,
                                self.out_total, self.pnow, *detector)

    def last(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The hosts that passed and their totals in the last :meth:`best` call (``n`` of them; copies)."""
        return self.out_hosts[:n].copy(), self.out_total[:n].copy()

    def feasible_total(self, plan: Any, vm: int, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The hosts of ``cand`` that pass the filters, and their totals (higher is better)."""
        d = plan.vm_cpu_demand[vm]
        used = plan.used_c[cand]
        after = used + d
        ok = None
        for lim in self.lim_d:
            m = after <= _at(lim, cand)
            ok = m if ok is None else ok & m
        if self.lim_r:
            br = plan.vms.ram_booked_mb[vm]
            booked = plan.book_r[cand]
            for lim in self.lim_r:
                m = booked + br <= _at(lim, cand)
                ok = m if ok is None else ok & m
        if self.lim_c:
            bc = plan.vms.cpu_booked_mhz[vm]
            booked = plan.book_c[cand]
            for lim in self.lim_c:
                m = booked + bc <= _at(lim, cand)
                ok = m if ok is None else ok & m
        if ok is not None:
            hosts, used, after = cand[ok], used[ok], after[ok]
        else:
            hosts = cand
        cap = _at(self.cap, hosts)
        # the power after and now in one pass (element by element: the same values as two)
        p = self._power(np.minimum(np.concatenate((after / cap, used / cap)), 1.0))
        k = hosts.shape[0]
        now = np.where(plan.on[hosts], p[k:], 0.0)
        return hosts, self.m * (p[:k] - now)
