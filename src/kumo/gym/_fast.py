"""Fast paths of the environments' per-decision work, each giving exactly what the general path gives.

* :class:`FusedFilters`: the running hosts a VM may go to under kumo's own filters (``powered``, ``vcpus``,
  ``cpu-booking``, ``ram-booking``, ``cpu-demand``), as one numpy expression with the filters' own
  formulas and per-host constants computed once per episode, instead of :meth:`Placer.feasible`'s loop;
  :meth:`FusedFilters.of` returns None when the placement has another filter (a plugin's): the general
  path then serves.
* :func:`rank_many`: :meth:`Placer.rank` of several VMs at once, for a placer with one of kumo's own
  weighers, by calling the weigher with the VMs as a column and the hosts as a row (its formula
  broadcasts); None when that does not apply.
* :func:`pick_many`: the ``mmt`` selection's pick on several hosts at once (the first VM with the least
  booked RAM); None for another selection policy (then pick per host).

``tests/test_gym.py`` checks each against the general path on random clusters.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kumo.policies._stats import JAVA_DOUBLE_MAX_VALUE
from kumo.policies.placement import (
    CpuBookingFilter,
    CpuDemandFilter,
    FirstWeigher,
    FreeBookedWeigher,
    FreeDemandWeigher,
    LoadAfterWeigher,
    Placer,
    PoweredFilter,
    RamBookingFilter,
    VcpuFilter,
)
from kumo.policies.selection import MinimumMigrationTime
from kumo.state import HOST_BOOTING, HOST_ON

__all__ = ["POWERED", "FusedFilters", "pick_many", "rank_many"]

#: by host state: on or booting (what PoweredFilter passes)
POWERED = np.zeros(8, bool)
POWERED[[HOST_ON, HOST_BOOTING]] = True


class FusedFilters:
    """The conjunction of a placer's filters over all hosts, for one engine's state (see the module
    docstring). ``mask(vm)`` is ``placer.feasible(view, vm)[0]``."""

    def __init__(self, state: Any, parts: list[tuple[str, Any]]):
        self.s = state
        self.parts = parts
        kinds = {k: c for k, c in parts}
        self._default = ((kinds["static"], kinds["cpu-booking"], kinds["ram-booking"])
                         if len(parts) == 4 and set(kinds) == {"powered", "static", "cpu-booking", "ram-booking"}
                         else None)

    @classmethod
    def of(cls, placer: Placer, state: Any) -> FusedFilters | None:
        """The fused filters of ``placer`` on ``state`` (a :class:`~kumo.state.ClusterState`), or None when
        one of its filters is not one of kumo's own."""
        h, v = state.hosts, state.vms
        parts: list[tuple[str, Any]] = []
        for _, f in placer.filters:
            t = type(f)
            if t is PoweredFilter:
                parts.append(("powered", None))
            elif t is VcpuFilter:
                parts.append(("static", v.cores[:, None] <= (h.cores * h.cpu_overcommit)[None, :]))
            elif t is CpuBookingFilter:
                ratio = h.cpu_overcommit if f.ratio is None else f.ratio
                parts.append(("cpu-booking", ratio * h.cpu_mhz * (1 + 1e-12)))
            elif t is RamBookingFilter:
                ratio = h.ram_overcommit if f.ratio is None else f.ratio
                parts.append(("ram-booking", ratio * h.ram_mb * (1 + 1e-12)))
            elif t is CpuDemandFilter:
                parts.append(("cpu-demand", f.headroom * h.cpu_mhz))
            else:
                return None
        return cls(state, parts)

    def mask(self, vm: int) -> np.ndarray:
        s = self.s
        if self._default is not None:  # kumo's default filters, in one expression
            vcpus, cpu_cap, ram_cap = self._default
            return (POWERED[s.host_state] & vcpus[vm] & (s.host_cpu_booked + s.vms.cpu_booked_mhz[vm] <= cpu_cap)
                    & (s.host_ram_booked + s.vms.ram_booked_mb[vm] <= ram_cap))
        ok = None
        for kind, c in self.parts:
            if kind == "powered":
                m = POWERED[s.host_state]
            elif kind == "static":
                m = c[vm] if ok is not None else c[vm].copy()
            elif kind == "cpu-booking":
                m = s.host_cpu_booked + s.vms.cpu_booked_mhz[vm] <= c
            elif kind == "ram-booking":
                m = s.host_ram_booked + s.vms.ram_booked_mb[vm] <= c
            else:
                m = s.host_cpu_demand + s.vm_cpu_demand[vm] <= c
            ok = m if ok is None else ok & m
        return np.ones(s.hosts.n, bool) if ok is None else ok


_HOSTS = np.arange(64)


def _grow(n: int) -> None:
    global _HOSTS
    _HOSTS = np.arange(max(n, 2 * _HOSTS.size))


#: kumo's weighers whose ``score(view, vm, hosts)`` broadcasts a column of VMs against a row of hosts
_BROADCASTING = (FirstWeigher, FreeBookedWeigher, FreeDemandWeigher, LoadAfterWeigher)


def rank_many(placer: Placer, view: Any, vms: np.ndarray, ok: np.ndarray) -> list[np.ndarray] | None:
    """``[placer.rank(view, vm, ok[i]) for i, vm in enumerate(vms)]`` at once, or None when ``placer`` has
    not exactly one of kumo's own weighers (then call :meth:`Placer.rank` per VM).

    ``vms`` (m,) VM indices, ``ok`` (m, n_hosts) bool.
    """
    if len(placer.weighers) != 1 or type(placer.weighers[0][1]) not in _BROADCASTING:
        return None
    _, w, mult = placer.weighers[0]
    n = ok.shape[1]
    if _HOSTS.size < n:
        _grow(n)
    score = np.asarray(w.score(view, vms[:, None], _HOSTS[None, :n]), dtype=np.float64)
    if score.shape != ok.shape:
        score = np.broadcast_to(score, ok.shape)
    if not np.isfinite(score).all() and not np.isfinite(score[ok]).all():
        return None  # Placer.rank raises its error
    key = np.where(ok, -(mult * score), np.inf)
    order = key.argsort(axis=1, kind="stable")
    counts = ok.sum(axis=1)
    return [order[i, :c] for i, c in enumerate(counts.tolist())]


def pick_many(selector: Any, mine: np.ndarray, ram_mb: np.ndarray) -> np.ndarray | None:
    """Each row's pick by ``selector`` when it is the ``mmt`` selection (else None: pick per host):
    ``mine`` (n, m) bool marks a host's candidate VMs among m VMs listed in host-list order, ``ram_mb``
    (m,) their booked RAM; returns (n,) positions into the m VMs, -1 where a row has none. As
    :meth:`MinimumMigrationTime.pick <kumo.policies.selection.MinimumMigrationTime.pick>`: the least RAM,
    the first on ties, a RAM that is not below Java's largest double never chosen."""
    if type(selector) is not MinimumMigrationTime:
        return None
    ok = mine & (ram_mb < JAVA_DOUBLE_MAX_VALUE)
    pos = np.argmin(np.where(ok, ram_mb, np.inf), axis=1)
    return np.where(ok.any(axis=1), pos, -1)
