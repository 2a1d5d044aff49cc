"""VM selection: which VMs leave an overloaded host (CloudSim MMT/MU/MC/RS; FGCS 2012 HPG/MM with Kohne's two-resource reading).

A policy sees one host at a time through a :class:`SelectionContext` (its migratable VMs in host-list order)
and answers :meth:`pick` (the single VM CloudSim's loop would take next) and :meth:`pick_set` (every VM to
move until the host is under its thresholds). :func:`select_until_ok` is CloudSim's loop around ``pick``
with the engine's own re-test. Positions are indices into the context's candidate arrays; -1 means "none".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from kumo.policies import _stats
from kumo.policies.base import SelectionContext, overloaded_resources
from kumo.policies.registry import register

__all__ = [
    "HighestPotentialGrowth",
    "MaximumCorrelation",
    "MinimizationOfMigrations",
    "MinimumMigrationTime",
    "MinimumUtilization",
    "RandomSelection",
    "SelectionContext",
    "select_until_ok",
]

_overloaded_resources = overloaded_resources


def _first_min(metric: np.ndarray) -> int:
    # CloudSim's "metric < best, best starting at Double.MAX_VALUE" scan: first on ties, NaN never chosen
    metric = np.asarray(metric, dtype=np.float64)
    ok = metric < _stats.JAVA_DOUBLE_MAX_VALUE
    if not ok.any():
        return -1
    return int(np.argmin(np.where(ok, metric, np.inf)))


class _Selector:
    # shared behaviour: pick_set as CloudSim-style repeated picks against static thresholds

    def pick(self, ctx: SelectionContext, rng: np.random.Generator) -> int:
        raise NotImplementedError

    def validate(self) -> list[str]:
        return []

    def _checked_resources(self) -> str:
        return "both"  # the thresholds given decide: upper_ram=None means RAM is not checked

    def pick_set(self, ctx: SelectionContext, rng: np.random.Generator, upper_cpu: float | None,
                 upper_ram: float | None) -> np.ndarray:
        """Positions of every VM to move, in pick order.

        While the host is over an upper threshold (usage / capacity ``>`` ``upper_cpu`` or ``upper_ram``;
        None = that resource is not checked) and candidates remain: :meth:`pick` one, remove it (its demand
        leaves the host) and re-test. A host that is not overloaded gives an empty array.

        Parameters
        ----------
        ctx : the host's candidates.
        rng : injected generator (used by ``rs`` only).
        upper_cpu, upper_ram : thresholds as fractions of capacity; they replace ``ctx.upper_*``.

        Returns
        -------
        (n_moved,) int64 positions into ``ctx``.
        """
        cur = ctx.with_thresholds(upper_cpu, upper_ram)
        orig = np.arange(ctx.k)
        chosen: list[int] = []
        while cur.k > 0 and _overloaded_resources(cur, self._checked_resources()):
            p = self.pick(cur, rng)
            if p < 0:
                break
            chosen.append(int(orig[p]))
            orig = np.delete(orig, p)
            cur = cur.without([p])
        return np.asarray(chosen, dtype=np.int64)


def select_until_ok(policy: Any, ctx: SelectionContext, rng: np.random.Generator,
                    still_overloaded: Callable[[np.ndarray], bool]) -> list[int]:
    """CloudSim's selection loop (``PowerVmAllocationPolicyMigrationAbstract.getVmsToMigrateFromHosts``).

    Repeat: ``policy.pick`` among the remaining candidates (the context shrinks, the picked VMs' demand leaving
    the host); stop if it returns -1; record it; call ``still_overloaded(removed)`` with the positions removed
    so far (into the original ``ctx``) and stop when it returns False. At least one VM is taken from a host
    with candidates (the host was already found overloaded by the detector).

    Returns
    -------
    list of positions into ``ctx``, in pick order.
    """
    orig = np.arange(ctx.k)
    cur = ctx
    removed: list[int] = []
    while cur.k > 0:
        p = policy.pick(cur, rng)
        if p < 0:
            break
        removed.append(int(orig[p]))
        orig = np.delete(orig, p)
        cur = cur.without([p])
        if not still_overloaded(np.asarray(removed, dtype=np.int64)):
            break
    return removed


# --------------------------------------------------------------------------------------------- CloudSim


@register("selection", "mmt")
@dataclass(frozen=True)
class MinimumMigrationTime(_Selector):
    """Minimum migration time: the VM with the least RAM (Beloglazov & Buyya, CCPE 2012, VM selection; CloudSim ``PowerVmSelectionPolicyMinimumMigrationTime``).

    ``pick`` = argmin ``ram_mb``, the first in host-list order on ties.
    """

    def pick(self, ctx: SelectionContext, rng: np.random.Generator) -> int:
        """Position of the VM to move next, or -1 without candidates."""
        return _first_min(ctx.ram_mb) if ctx.k else -1


@register("selection", "mu")
@dataclass(frozen=True)
class MinimumUtilization(_Selector):
    """Minimum utilisation: the least-used VM (CloudSim 3.0 power package, run with the CCPE 2012 experiments; ``PowerVmSelectionPolicyMinimumUtilization``).

    With ``relative=True`` (CloudSim) the key is ``cpu_demand_mhz / cpu_booked_mhz`` (u(t)·MIPS / MIPS, the
    VM's own utilisation); with False it is the absolute ``cpu_demand_mhz``. First in host-list order on ties.

    Parameters
    ----------
    relative : bool
        Rank by utilisation fraction (CloudSim) rather than by absolute demand.
    """

    relative: bool = True

    def validate(self) -> list[str]:
        return [] if isinstance(self.relative, bool) else [f"relative: must be true or false, got {self.relative!r}"]

    def pick(self, ctx: SelectionContext, rng: np.random.Generator) -> int:
        """Position of the VM to move next, or -1 without candidates."""
        if not ctx.k:
            return -1
        demand = np.asarray(ctx.cpu_demand_mhz, dtype=np.float64)
        if not self.relative:
            return _first_min(demand)
        with np.errstate(all="ignore"):
            return _first_min(demand / np.asarray(ctx.cpu_booked_mhz, dtype=np.float64))


@register("selection", "mc")
@dataclass(frozen=True)
class MaximumCorrelation(_Selector):
    """Maximum correlation: the VM best explained by the others (Beloglazov & Buyya, CCPE 2012, VM selection; CloudSim ``PowerVmSelectionPolicyMaximumCorrelation``).

    Uses the ``m = min(hist_len)`` newest history values of every candidate (CloudSim sizes its matrix so;
    with unequal lengths CloudSim would throw, kumo truncates). For each candidate, R² of an OLS regression
    with intercept of its history on the others' (commons-math3 ``OLSMultipleLinearRegression``, bit for bit,
    :func:`kumo.policies._stats.r_squared_cloudsim`). The pick is the first strict maximum starting from
    ``Double.MIN_VALUE`` at position 0: if no R² exceeds 4.9e-324 (all <= 0 or NaN) position 0 is taken.

    Falls back to :class:`MinimumMigrationTime` where commons-math throws: fewer than 2 candidates, ``m == 0``,
    more candidates than observations (``k > m``; the rule is ``n_regressors + 1 <= n_obs``), or an exactly
    singular design in any of the k regressions (a Householder diagonal equal to 0, e.g. a history that is
    all zeros; nearly singular designs are kept, as in Java).
    """

    def pick(self, ctx: SelectionContext, rng: np.random.Generator) -> int:
        """Position of the VM to move next, or -1 without candidates."""
        if not ctx.k:
            return -1
        r2 = self.r_squared(ctx)
        if r2 is None:
            return MinimumMigrationTime().pick(ctx, rng)
        best, idx = _stats.JAVA_DOUBLE_MIN_VALUE, 0
        for i, v in enumerate(r2.tolist()):
            if v > best:
                best, idx = v, i
        return idx

    @staticmethod
    def r_squared(ctx: SelectionContext) -> np.ndarray | None:
        """(k,) R² per candidate, or None when CloudSim falls back to MMT."""
        m = int(np.min(ctx.hist_len)) if ctx.k else 0
        return _stats.r_squared_cloudsim(np.asarray(ctx.history, dtype=np.float64)[:, :m])


@register("selection", "rs")
@dataclass(frozen=True)
class RandomSelection(_Selector):
    """Random choice, uniform over the candidates (Beloglazov & Buyya, CCPE 2012, VM selection; CloudSim ``PowerVmSelectionPolicyRandomSelection``).

    One ``rng.integers(k)`` draw per pick from the injected, seeded generator (CloudSim: unseeded
    ``new Random().nextInt(k)``, so its runs cannot be repeated).
    """

    def pick(self, ctx: SelectionContext, rng: np.random.Generator) -> int:
        """Position of the VM to move next, or -1 without candidates."""
        return int(rng.integers(ctx.k)) if ctx.k else -1


# --------------------------------------------------------------------------------------------- FGCS 2012 / Kohne

_RESOURCE_CHOICES = ("cpu", "ram", "both")
_DRIVER_CHOICES = ("max_excess", "cpu_first", "normalized_sum")


@dataclass(frozen=True)
class _TwoResourceSelector(_Selector):
    # resources: which thresholds define "overloaded"; driver: how the VM key is built from the overloaded
    # resources (see HighestPotentialGrowth / MinimizationOfMigrations)
    resources: str = "cpu"
    driver: str = "max_excess"

    def _checked_resources(self) -> str:
        return self.resources

    def validate(self) -> list[str]:
        out = []
        if self.resources not in _RESOURCE_CHOICES:
            out.append(f"resources: must be one of {list(_RESOURCE_CHOICES)}, got {self.resources!r}")
        if self.driver not in _DRIVER_CHOICES:
            out.append(f"driver: must be one of {list(_DRIVER_CHOICES)}, got {self.driver!r}")
        return out

    def _active(self, ctx: SelectionContext) -> list[str]:
        """The resources the key is built from: the overloaded ones; if none is overloaded, every checked
        one (so the rule still ranks VMs when the detector, not the thresholds, flagged the host)."""
        wanted = ["cpu", "ram"] if self.resources == "both" else [self.resources]
        checked = [r for r in wanted if (ctx.upper_cpu if r == "cpu" else ctx.upper_ram) is not None]
        over = _overloaded_resources(ctx, self.resources)
        return over or checked

    def _driving(self, ctx: SelectionContext, active: list[str]) -> list[str]:
        if self.driver == "normalized_sum" or len(active) < 2:
            return active
        if self.driver == "cpu_first":
            return [active[0]]
        ex = {r: _excess(ctx, r) for r in active}
        return [max(active, key=lambda r: (ex[r], r == "cpu"))]


def _used(ctx: SelectionContext, r: str) -> np.ndarray:
    return np.asarray(ctx.cpu_demand_mhz if r == "cpu" else ctx.ram_demand_mb, dtype=np.float64)


def _booked(ctx: SelectionContext, r: str) -> np.ndarray:
    return np.asarray(ctx.cpu_booked_mhz if r == "cpu" else ctx.ram_booked_mb, dtype=np.float64)


def _cap(ctx: SelectionContext, r: str) -> float:
    return float(ctx.host_cpu_mhz if r == "cpu" else ctx.host_ram_mb)


def _host_used(ctx: SelectionContext, r: str) -> float:
    return float(ctx.host_cpu_used_mhz if r == "cpu" else ctx.host_ram_used_mb)


def _upper(ctx: SelectionContext, r: str) -> float:
    u = ctx.upper_cpu if r == "cpu" else ctx.upper_ram
    if u is None:
        raise ValueError(f"selection needs the host's upper_{r} threshold (SelectionContext.upper_{r} or pick_set)")
    return float(u)


def _excess(ctx: SelectionContext, r: str) -> float:
    # normalised excess over the threshold: used / capacity - upper (> 0 when overloaded)
    return _host_used(ctx, r) / _cap(ctx, r) - _upper(ctx, r)


@register("selection", "hpg")
@dataclass(frozen=True)
class HighestPotentialGrowth(_TwoResourceSelector):
    """Highest potential growth: move the VMs using the least of what they booked (Beloglazov, Abawajy & Buyya, FGCS 2012, VM selection; two resources after Kohne 2018).

    Key ``g = used_d / booked_d`` for the driving resource d; ``pick`` = smallest g, ties: larger ``booked_d``,
    then lower ``vm_index``; a VM with nothing booked has g = inf. :meth:`pick_set` repeats pick and remove
    while the host is over a threshold. For ``resources="cpu"`` this is CloudSim's MU key (u / MIPS).

    Two-resource reading (``shared/reference/kohne-sla-scheduling.md`` §3.4, an assumption there): the host is
    overloaded when *either* checked resource is above its threshold (``used / capacity > upper``), and the
    key uses the overloaded resource(s):

    * ``driver="max_excess"`` (default, §3.4): d = the overloaded resource with the largest
      ``used / capacity - upper`` (CPU on ties), re-chosen after every removal;
    * ``driver="cpu_first"``: d = CPU whenever CPU is overloaded, else RAM;
    * ``driver="normalized_sum"``: g = mean over the overloaded resources of ``used_r / booked_r``, ties: larger
      Σ ``booked_r / capacity_r``, then lower ``vm_index``.

    If no checked resource is overloaded (the detector flagged the host by another rule), the key uses every
    checked resource; with no thresholds at all, CPU (RAM for ``resources="ram"``).

    Parameters
    ----------
    resources : "cpu" | "ram" | "both"
        Resources whose thresholds define an overload.
    driver : "max_excess" | "cpu_first" | "normalized_sum"
        How two overloaded resources are combined.
    """

    def pick(self, ctx: SelectionContext, rng: np.random.Generator) -> int:
        """Position of the VM to move next, or -1 without candidates."""
        if not ctx.k:
            return -1
        active = self._active(ctx)
        keys = self._driving(ctx, active) if active else ["ram" if self.resources == "ram" else "cpu"]
        with np.errstate(all="ignore"):
            g = np.zeros(ctx.k)
            size = np.zeros(ctx.k)
            for r in keys:
                booked = _booked(ctx, r)
                g = g + np.where(booked > 0, _used(ctx, r) / booked, np.inf)
                size = size + booked / _cap(ctx, r)
            g = g / len(keys)
        order = np.lexsort((np.asarray(ctx.vm_index), -size, g))
        return int(order[0])


@register("selection", "mm")
@dataclass(frozen=True)
class MinimizationOfMigrations(_TwoResourceSelector):
    """Minimisation of migrations: the fewest VMs that bring the host under its threshold (Beloglazov, Abawajy & Buyya, FGCS 2012, VM selection, Algorithm 2; two resources after Kohne 2018).

    One step (FGCS): with the candidates sorted by use descending (stable), among the VMs whose removal
    alone brings the host back under the threshold, take the one using the least (the smallest
    ``u_vm - (u_host - T_up)``); if there is none, take the one using the most. Ties go to the lower position
    (host-list order). :meth:`pick_set` repeats the step, subtracting each VM, until the host is under.

    "Brings back under" is tested as ``not ((host_used - vm_used) / capacity > upper)`` for *every*
    overloaded resource (the same strict test that flags the host), where FGCS writes
    ``u_vm > u_host - T_up``; they differ only at exact equality. The FGCS pseudo-code initialises its
    best-fit variable once outside the loop; this never matters, since a VM chosen from the clearing set
    ends the loop. Its final step (``u_host < T_low``: migrate all VMs) is underload handling and is not
    done here.

    Two resources (``shared/reference/kohne-sla-scheduling.md`` §3.4, an assumption there): the host is
    overloaded when either checked resource is above its threshold; the size of a VM is ``used_d`` for the
    driving resource d (``driver`` as in :class:`HighestPotentialGrowth`: "max_excess" default,
    "cpu_first"), or with ``driver="normalized_sum"`` Σ over the overloaded resources of
    ``used_r / capacity_r``. If no checked resource is overloaded, every checked resource counts (all VMs
    then "clear", and the smallest is taken). MM needs the thresholds: a missing one raises ValueError.

    Parameters
    ----------
    resources : "cpu" | "ram" | "both"
        Resources whose thresholds define an overload.
    driver : "max_excess" | "cpu_first" | "normalized_sum"
        How two overloaded resources are combined.
    """

    def pick(self, ctx: SelectionContext, rng: np.random.Generator) -> int:
        """Position of the VM to move next, or -1 without candidates."""
        if not ctx.k:
            return -1
        active = self._active(ctx)
        if not active:
            wanted = "cpu" if self.resources != "ram" else "ram"
            _upper(ctx, wanted)  # raises with a clear message
        keys = self._driving(ctx, active)
        size = np.zeros(ctx.k)
        for r in keys:
            size = size + (_used(ctx, r) / _cap(ctx, r) if self.driver == "normalized_sum" else _used(ctx, r))
        clears = np.ones(ctx.k, dtype=bool)
        for r in active:
            clears &= ~((_host_used(ctx, r) - _used(ctx, r)) / _cap(ctx, r) > _upper(ctx, r))
        idx = np.flatnonzero(clears)
        if idx.size:
            return int(idx[np.argmin(size[idx])])
        return int(np.argmax(size))
