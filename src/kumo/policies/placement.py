"""Host choice: filters say which hosts can take a VM, weighers rank the rest, :class:`Placer` combines them.

The scheme is OpenStack Nova's filter scheduler. :meth:`Placer.rank` is the one host-choice path of kumo:
initial placement, the ``consolidation`` controller (PABFD is the ``power-increase`` weigher) and the
``sla`` controller (BF/WF/FF/OP are weigher presets, :data:`HOST_CHOICE`) all call it, on the cluster as
it is (:class:`~kumo.state.ClusterView`) or as a controller plans it
(:class:`~kumo.policies.planning.PlannedCluster`).

Filters and weighers read ``view.hosts``, ``view.vms`` and the per-host / per-VM arrays (MHz, MB); the
filters' answers are (n_hosts,) bool masks, the weighers' (k,) finite scores of the k hosts that passed.

At region scale (10,000 hosts) a full pass over the hosts per decision is the cost, so the built-in policies
also answer for a few hosts at a time, with the same arithmetic host by host (so the same bits):

- *local* filters have ``mask_at(view, vm, hosts)`` (``mask`` at ``hosts``: (k,) indices, or one index for
  one bool) and local weighers ``local = True`` (``score`` takes one index too): a host's answer depends on
  that host's arrays and on the VM's cores, bookings and demand only (:data:`VM_SIGNATURE`). :meth:`Placer.feasible_at` and :mod:`kumo.policies.placement_cache`
  use them; any other filter or weigher is evaluated whole, as before.
- *separable* filters pass a host when the VM's ``need(view, vms)`` fits the host's ``room(view)`` (up to
  rounding): :class:`kumo.policies.targets.TargetIndex` uses them to find candidate hosts without a pass.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from kumo.errors import PolicyError
from kumo.models.power import host_power_w
from kumo.policies.base import Cluster
from kumo.policies.registry import make, register, register_preset
from kumo.state import HOST_BOOTING, HOST_ON

__all__ = ["DEFAULT_FILTERS", "HOST_CHOICE", "PRESETS", "VM_SIGNATURE", "Placer"]

_RESOURCES = ("cpu", "ram", "binding")
#: what a local filter or weigher may read of the VM it places: its vCPUs, bookings and current demand
VM_SIGNATURE = ("cores", "cpu_booked_mhz", "ram_booked_mb", "vm_cpu_demand", "vm_ram_demand")
#: which hosts a local filter or weigher answers for: (k,) indices, one index (a scalar answer) or ALL
Hosts = np.ndarray | int | slice
#: every host, in order (``mask`` is ``mask_at`` at ALL: the same arithmetic)
ALL = slice(None)


def _resource_problem(value: Any) -> list[str]:
    return [] if value in _RESOURCES else [f"resource: must be one of {list(_RESOURCES)}, got {value!r}"]


# --------------------------------------------------------------------------------------------- filters


@register("filter", "powered")
@dataclass(frozen=True)
class PoweredFilter:
    """Only hosts that are on or booting (Nova's ComputeFilter analogue)."""

    def mask(self, view: Cluster, vm: int) -> np.ndarray:
        return self.mask_at(view, vm, ALL)

    def mask_at(self, view: Cluster, vm: int, hosts: Hosts) -> Any:
        st = view.host_state[hosts]  # type: ignore[attr-defined]
        return (st == HOST_ON) | (st == HOST_BOOTING)


@register("filter", "cpu-booking")
@dataclass(frozen=True)
class CpuBookingFilter:
    """Booked CPU after placement <= ratio x physical CPU (Nova's CoreFilter with an allocation ratio).

    ``ratio``: None = each host's ``cpu_overcommit``; a number admits at that ratio instead (e.g. 1.0 to
    place by booking while the hosts allow a controller to oversubscribe further).
    """

    ratio: float | None = None

    def validate(self) -> list[str]:
        r = self.ratio
        ok = r is None or (isinstance(r, int | float) and not isinstance(r, bool) and r > 0 and np.isfinite(r))
        return [] if ok else [f"ratio: must be a number > 0 or None, got {r!r}"]

    def mask(self, view: Cluster, vm: int) -> np.ndarray:
        return self.mask_at(view, vm, ALL)

    def mask_at(self, view: Cluster, vm: int, hosts: Hosts) -> Any:
        h = view.hosts
        ratio = h.cpu_overcommit[hosts] if self.ratio is None else self.ratio
        return view.host_cpu_booked[hosts] + view.vms.cpu_booked_mhz[vm] <= ratio * h.cpu_mhz[hosts] * (1 + 1e-12)

    def room(self, view: Cluster, hosts: Hosts = ALL) -> Any:
        h = view.hosts
        ratio = h.cpu_overcommit[hosts] if self.ratio is None else self.ratio
        return ratio * h.cpu_mhz[hosts] * (1 + 1e-12) - view.host_cpu_booked[hosts]

    def need(self, view: Cluster, vms: np.ndarray) -> np.ndarray:
        return np.asarray(view.vms.cpu_booked_mhz[vms], dtype=np.float64)


@register("filter", "ram-booking")
@dataclass(frozen=True)
class RamBookingFilter:
    """Booked RAM after placement <= ratio x physical RAM (Nova's RamFilter with an allocation ratio).

    ``ratio``: None = each host's ``ram_overcommit``.
    """

    ratio: float | None = None

    def validate(self) -> list[str]:
        return CpuBookingFilter(self.ratio).validate()

    def mask(self, view: Cluster, vm: int) -> np.ndarray:
        return self.mask_at(view, vm, ALL)

    def mask_at(self, view: Cluster, vm: int, hosts: Hosts) -> Any:
        h = view.hosts
        ratio = h.ram_overcommit[hosts] if self.ratio is None else self.ratio
        return view.host_ram_booked[hosts] + view.vms.ram_booked_mb[vm] <= ratio * h.ram_mb[hosts] * (1 + 1e-12)

    def room(self, view: Cluster, hosts: Hosts = ALL) -> Any:
        h = view.hosts
        ratio = h.ram_overcommit[hosts] if self.ratio is None else self.ratio
        return ratio * h.ram_mb[hosts] * (1 + 1e-12) - view.host_ram_booked[hosts]

    def need(self, view: Cluster, vms: np.ndarray) -> np.ndarray:
        return np.asarray(view.vms.ram_booked_mb[vms], dtype=np.float64)


@register("filter", "vcpus")
@dataclass(frozen=True)
class VcpuFilter:
    """A VM's vCPUs <= the host's cores x CPU overcommit ratio (a VM cannot span more cores than exist)."""

    def mask(self, view: Cluster, vm: int) -> np.ndarray:
        return self.mask_at(view, vm, ALL)

    def mask_at(self, view: Cluster, vm: int, hosts: Hosts) -> Any:
        h = view.hosts
        return view.vms.cores[vm] <= h.cores[hosts] * h.cpu_overcommit[hosts]


@register("filter", "cpu-demand")
@dataclass(frozen=True)
class CpuDemandFilter:
    """Current CPU demand plus the VM's demand fits ``headroom`` x the physical CPU (usage-based admission,
    CloudSim's ``PowerHost.isSuitableForVm``)."""

    headroom: float = 1.0

    def validate(self) -> list[str]:
        h = self.headroom
        ok = isinstance(h, int | float) and not isinstance(h, bool) and h > 0 and np.isfinite(h)
        return [] if ok else [f"headroom: must be a number > 0, got {h!r}"]

    def mask(self, view: Cluster, vm: int) -> np.ndarray:
        return self.mask_at(view, vm, ALL)

    def mask_at(self, view: Cluster, vm: int, hosts: Hosts) -> Any:
        return view.host_cpu_demand[hosts] + view.vm_cpu_demand[vm] <= self.headroom * view.hosts.cpu_mhz[hosts]

    def room(self, view: Cluster, hosts: Hosts = ALL) -> Any:
        return self.headroom * view.hosts.cpu_mhz[hosts] - view.host_cpu_demand[hosts]

    def need(self, view: Cluster, vms: np.ndarray) -> np.ndarray:
        return np.asarray(view.vm_cpu_demand[vms], dtype=np.float64)


DEFAULT_FILTERS = ("powered", "vcpus", "cpu-booking", "ram-booking")

# --------------------------------------------------------------------------------------------- weighers


@register("weigher", "first")
@dataclass(frozen=True)
class FirstWeigher:
    """Prefer the lowest host index (first fit)."""

    local: ClassVar[bool] = True

    def score(self, view: Cluster, vm: int, hosts: np.ndarray) -> np.ndarray:
        return -np.asarray(hosts, dtype=np.float64)


@register("weigher", "free-booked")
@dataclass(frozen=True)
class FreeBookedWeigher:
    """Bookable room left after placement, as a fraction of what the host may book (``cpu_overcommit x
    cpu_mhz``): ``resource`` cpu, ram, or binding (the scarcer of the two). Positive multipliers spread
    (worst fit), negative ones pack (best fit)."""

    local: ClassVar[bool] = True

    resource: str = "binding"

    def validate(self) -> list[str]:
        return _resource_problem(self.resource)

    def score(self, view: Cluster, vm: int, hosts: np.ndarray) -> np.ndarray:
        return _free_booked(view, vm, hosts, self.resource)


def _free_booked(view: Cluster, vm: int, hosts: np.ndarray, resource: str) -> np.ndarray:
    h = view.hosts
    if resource == "cpu":
        cap = h.cpu_overcommit[hosts] * h.cpu_mhz[hosts]
        return (cap - view.host_cpu_booked[hosts] - view.vms.cpu_booked_mhz[vm]) / cap
    if resource == "ram":
        cap = h.ram_overcommit[hosts] * h.ram_mb[hosts]
        return (cap - view.host_ram_booked[hosts] - view.vms.ram_booked_mb[vm]) / cap
    return _lesser(_free_booked(view, vm, hosts, "cpu"), _free_booked(view, vm, hosts, "ram"))


def _lesser(a: Any, b: Any) -> Any:
    """np.minimum, for arrays or scalars (for a scalar the plain comparison: equal values are equal)."""
    return np.minimum(a, b) if isinstance(a, np.ndarray) else (b if b < a else a)


@register("weigher", "free-demand")
@dataclass(frozen=True)
class FreeDemandWeigher:
    """Physical capacity left after placement by current demand, as a fraction of capacity: ``resource``
    cpu, ram, or binding (the scarcer). Worst fit (positive multiplier) and best fit (negative) by use, as
    the SLA schedulers choose targets (Kohne 2018, §3.5 of the reconstruction)."""

    local: ClassVar[bool] = True

    resource: str = "binding"

    def validate(self) -> list[str]:
        return _resource_problem(self.resource)

    def score(self, view: Cluster, vm: int, hosts: np.ndarray) -> np.ndarray:
        return _free_demand(view, vm, hosts, self.resource)


def _free_demand(view: Cluster, vm: int, hosts: np.ndarray, resource: str) -> np.ndarray:
    if resource == "cpu":
        cap = view.hosts.cpu_mhz[hosts]
        return (cap - view.host_cpu_demand[hosts] - view.vm_cpu_demand[vm]) / cap
    if resource == "ram":
        cap = view.hosts.ram_mb[hosts]
        return (cap - view.host_ram_demand[hosts] - view.vm_ram_demand[vm]) / cap
    return _lesser(_free_demand(view, vm, hosts, "cpu"), _free_demand(view, vm, hosts, "ram"))


@register("weigher", "power-increase")
@dataclass(frozen=True)
class PowerIncreaseWeigher:
    """Watts the host would draw more with the VM: ``P(u_after) - P_now``, ``P_now = 0`` for a host that is
    off (waking a host costs its idle power). With a negative multiplier this is PABFD, power-aware best-fit
    decreasing (Beloglazov & Buyya, CCPE 2012, Algorithm 1). Utilization is CPU demand / capacity, capped
    at 1."""

    local: ClassVar[bool] = True

    def score(self, view: Cluster, vm: int, hosts: np.ndarray) -> np.ndarray:
        h = view.hosts
        cap = h.cpu_mhz[hosts]
        used = view.host_cpu_demand[hosts]
        types = h.type_index[hosts]
        after = host_power_w(np.minimum((used + view.vm_cpu_demand[vm]) / cap, 1.0), types, h.power_tables)
        now = np.where(view.host_on[hosts],  # type: ignore[attr-defined]
                       host_power_w(np.minimum(used / cap, 1.0), types, h.power_tables), 0.0)
        return after - now


@register("weigher", "load-after")
@dataclass(frozen=True)
class LoadAfterWeigher:
    """The host's load with the VM added: max over CPU and RAM of demand / capacity (a negative multiplier
    picks the least-loaded host, as the SLA schedulers' load balancing does)."""

    local: ClassVar[bool] = True

    def score(self, view: Cluster, vm: int, hosts: np.ndarray) -> np.ndarray:
        h = view.hosts
        return np.maximum((view.host_cpu_demand[hosts] + view.vm_cpu_demand[vm]) / h.cpu_mhz[hosts],
                          (view.host_ram_demand[hosts] + view.vm_ram_demand[vm]) / h.ram_mb[hosts])


@register("weigher", "anti-correlation")
@dataclass(frozen=True)
class AntiCorrelationWeigher:
    """OP, the SLA schedulers' optimal-placement reading: prefer the host whose recent CPU demand correlates
    least with the VM's (Kohne 2018, §3.5 of the reconstruction; anti-correlated loads rarely peak
    together). Reads ``view.cpu_history``; with fewer than ``min_history`` samples, without a history, or
    when no host's correlation is defined (no variance), it scores as worst fit by ``fit`` instead. Hosts
    without a defined correlation score below every host with one."""

    fit: str = "binding"
    min_history: int = 12

    def validate(self) -> list[str]:
        out = _resource_problem(self.fit)
        m = self.min_history
        if not (isinstance(m, int) and not isinstance(m, bool) and m >= 2):
            out.append(f"min_history: must be an integer >= 2, got {m!r}")
        return out

    def score(self, view: Cluster, vm: int, hosts: np.ndarray) -> np.ndarray:
        hist = view.cpu_history  # type: ignore[attr-defined]
        if hist is None or hist.filled < self.min_history:
            return _free_demand(view, vm, hosts, self.fit)
        x = hist.vm[: hist.filled, vm].astype(np.float64)
        y = hist.host[: hist.filled][:, hosts].astype(np.float64)
        xc = x - x.mean()
        yc = y - y.mean(axis=0)
        den = np.sqrt((xc @ xc) * (yc * yc).sum(axis=0))
        with np.errstate(invalid="ignore", divide="ignore"):
            r = (xc @ yc) / den
        valid = np.isfinite(r) & (den > 0)
        if not valid.any():
            return _free_demand(view, vm, hosts, self.fit)
        return np.where(valid, -r, -3.0)  # r is in [-1, 1]: -3 ranks below every valid host


# host-choice presets, as data: the booking weighers under their historic names, the demand ones
for _r in _RESOURCES:
    register_preset("weigher", f"free-{_r}", "free-booked", {"resource": _r},
                    f"Free bookable {_r.upper() if _r != 'binding' else 'binding-resource'} fraction after placement.")
    register_preset("weigher", f"free-{_r}-demand", "free-demand", {"resource": _r},
                    f"Free physical {_r.upper() if _r != 'binding' else 'binding-resource'} fraction by demand after "
                    "placement.")

#: how each named host-choice rule ranks hosts: [(weigher, multiplier, weigher parameters)]. ``{resource}``
#: is filled in from the caller's resource (placement ``resource``, the sla controller's ``fit``).
HOST_CHOICE: dict[str, tuple[tuple[str, float, dict[str, Any]], ...]] = {
    "first-fit": (("first", 1.0, {}),),
    "best-fit": (("free-booked", -1.0, {"resource": "{resource}"}),),
    "worst-fit": (("free-booked", 1.0, {"resource": "{resource}"}),),
    # by current demand (controllers planning migrations)
    "pabfd": (("power-increase", -1.0, {}),),
    "ff": (("first", 1.0, {}),),
    "bf": (("free-demand", -1.0, {"resource": "{resource}"}),),
    "wf": (("free-demand", 1.0, {"resource": "{resource}"}),),
    "op": (("anti-correlation", 1.0, {"fit": "{resource}"}),),
    "least-loaded": (("load-after", -1.0, {}),),
}
#: the placement presets a scenario may name (``[placement] preset``)
PRESETS = ("first-fit", "best-fit", "worst-fit")


# --------------------------------------------------------------------------------------------- the combinator
@dataclass(frozen=True)
class Placer:
    """Filters plus weighted weighers: the one host-choice path (:meth:`rank`, :meth:`choose`).

    Attributes
    ----------
    filters : ((name, filter), ...) applied in order by :meth:`feasible`.
    weighers : ((name, weigher, multiplier), ...) summed by :meth:`rank`.
    tie_break : "first" (lowest host index) or "random" (uniform among the best, from the run's RNG).
    """

    filters: tuple[tuple[str, Any], ...] = ()
    weighers: tuple[tuple[str, Any, float], ...] = ()
    tie_break: str = "first"

    @classmethod
    def build(cls, filters: Sequence[str | tuple[str, Mapping[str, Any]]] = (),
              weighers: Sequence[tuple[str, float, Mapping[str, Any]]] = (), tie_break: str = "first") -> Placer:
        """From names: ``filters`` as names or (name, params); ``weighers`` as (name, multiplier, params)."""
        fs = []
        for f in filters:
            name, params = (f, {}) if isinstance(f, str) else (f[0], dict(f[1]))
            fs.append((name, make("filter", name, params)))
        ws = tuple((n, make("weigher", n, dict(p)), float(m)) for n, m, p in weighers)
        return cls(filters=tuple(fs), weighers=ws, tie_break=tie_break)

    @classmethod
    def preset(cls, rule: str, resource: str = "binding", filters: Sequence[str | tuple[str, Mapping[str, Any]]] = (),
               tie_break: str = "first") -> Placer:
        """A :data:`HOST_CHOICE` rule (``"wf"``, ``"pabfd"``, ``"worst-fit"``...) with ``resource`` filled in."""
        if rule not in HOST_CHOICE:
            raise ValueError(f"unknown host-choice rule {rule!r}; valid: {', '.join(HOST_CHOICE)}")
        ws = [(n, m, {k: (resource if v == "{resource}" else v) for k, v in p.items()}) for n, m, p in HOST_CHOICE[rule]]
        return cls.build(filters, ws, tie_break)

    @classmethod
    def from_spec(cls, spec: Any) -> Placer:
        """Build from a :class:`kumo.config.PlacementSpec`."""
        filters: list[str | tuple[str, Mapping[str, Any]]] = (
            [f if isinstance(f, str) else (f.name, f.params) for f in spec.filters] if spec.filters is not None
            else list(DEFAULT_FILTERS))
        ws: list[tuple[str, float, Mapping[str, Any]]] = []
        if spec.preset is not None:
            ws += [(n, m, {k: (spec.resource if v == "{resource}" else v) for k, v in p.items()})
                   for n, m, p in HOST_CHOICE[spec.preset]]
        ws += [(w.name, w.multiplier, w.params) for w in (spec.weighers or [])]
        return cls.build(filters, ws, spec.tie_break)

    def feasible(self, view: Cluster, vm: int, skip: tuple[str, ...] = (),
                 within: np.ndarray | None = None) -> tuple[np.ndarray, str | None]:
        """(n_hosts,) bool mask of hosts in ``within`` (default: all) passing every filter not in ``skip``, and
        the name of the filter that emptied it (``"candidates"`` when ``within`` was empty; None if not empty)."""
        n = view.hosts.n
        ok = np.ones(n, dtype=bool) if within is None else np.array(within, dtype=bool)
        emptied = None if ok.any() else "candidates"
        for name, f in self.filters:
            if name in skip:
                continue
            ok &= self._checked(name, f, view, vm)
            if emptied is None and not ok.any():
                emptied = name
        return ok, emptied

    @staticmethod
    def _checked(name: str, f: Any, view: Cluster, vm: int) -> np.ndarray:
        n = view.hosts.n
        m = f.mask(view, vm)
        if getattr(m, "shape", None) != (n,) or getattr(m, "dtype", None) != np.bool_:
            raise PolicyError("filter", name, f"mask() returned {_shape_of(m)}; expected a bool array of shape "
                              f"({n},), one entry per host")
        return m

    def _total(self, view: Cluster, vm: int, hosts: np.ndarray) -> np.ndarray:
        # one weigher: its scores as they are (times the multiplier), so no rounding can merge two of them;
        # several: each normalized to [0, 1] over the feasible hosts, so the multipliers weigh like numbers
        if not self.weighers:
            return np.zeros(hosts.size)
        if len(self.weighers) == 1:
            name, w, m = self.weighers[0]
            return m * self._score(name, w, view, vm, hosts)
        total = np.zeros(hosts.size)
        for name, w, m in self.weighers:
            s = self._score(name, w, view, vm, hosts)
            lo, hi = s.min(), s.max()
            total += m * ((s - lo) / (hi - lo) if hi > lo else np.zeros_like(s))
        return total

    @staticmethod
    def _score(name: str, w: Any, view: Cluster, vm: int, hosts: np.ndarray) -> np.ndarray:
        s = w.score(view, vm, hosts)
        if getattr(s, "shape", None) != hosts.shape:
            raise PolicyError("weigher", name, f"score() returned {_shape_of(s)} for {hosts.size} host(s); expected "
                              f"a float array of shape ({hosts.size},), one score per host given")
        s = np.asarray(s, dtype=np.float64)
        if not np.isfinite(s).all():
            raise PolicyError("weigher", name, "score() returned a NaN or infinite score; scores must be finite")
        return s

    def feasible_at(self, view: Cluster, vm: int, hosts: np.ndarray) -> np.ndarray:
        """(k,) bool: which of ``hosts`` pass every filter, the same answer as :meth:`feasible` at those hosts
        (filters with ``mask_at`` answer for them alone, the others whole)."""
        ok = None
        for name, f in self.filters:
            at = getattr(f, "mask_at", None)
            m = at(view, vm, hosts) if at is not None else self._checked(name, f, view, vm)[hosts]
            ok = m if ok is None else ok & m
        return np.ones(hosts.size, dtype=bool) if ok is None else ok

    @property
    def local(self) -> bool:
        """Whether every filter answers per host (``mask_at``) and at most one weigher ranks, itself local: a
        host's total then depends on that host and the VM's :data:`VM_SIGNATURE` alone."""
        return (all(hasattr(f, "mask_at") for _, f in self.filters) and len(self.weighers) <= 1
                and all(getattr(w, "local", False) for _, w, _ in self.weighers))

    def total_at(self, view: Cluster, vm: int, hosts: np.ndarray) -> np.ndarray:
        """(k,) the total score of ``hosts`` (higher is better), as :meth:`rank` weighs them; for a
        :attr:`local` placer each host's total is that of the host alone."""
        return self._total(view, vm, hosts)

    def feasible_one(self, view: Cluster, vm: int, host: int) -> bool:
        """:meth:`feasible_at` for one host of a :attr:`local` placer, in scalar arithmetic (the same bits)."""
        for _, f in self.filters:
            if not f.mask_at(view, vm, host):
                return False
        return True

    def total_one(self, view: Cluster, vm: int, host: int) -> float:
        """:meth:`total_at` for one host of a :attr:`local` placer, in scalar arithmetic (the same bits)."""
        if not self.weighers:
            return 0.0
        name, w, m = self.weighers[0]
        s = float(w.score(view, vm, host))
        if not math.isfinite(s):
            raise PolicyError("weigher", name, "score() returned a NaN or infinite score; scores must be finite")
        return m * s

    def rank(self, view: Cluster, vm: int, ok: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """The hosts of ``ok``, best first: by total score (higher is better), ties to the lowest index. With
        ``tie_break = "random"`` the first place goes to one of the best, drawn from ``rng``.

        Returns
        -------
        (k,) int64 host indices, k = ``ok.sum()``.
        """
        return self.rank_hosts(view, vm, np.flatnonzero(ok), rng)

    def rank_hosts(self, view: Cluster, vm: int, hosts: np.ndarray,
                   rng: np.random.Generator | None = None) -> np.ndarray:
        """:meth:`rank` of the feasible ``hosts`` given as (k,) increasing indices instead of a mask."""
        if hosts.size <= 1:
            return hosts
        total = self._total(view, vm, hosts)
        order = hosts[np.lexsort((hosts, -total))]
        if self.tie_break == "random" and rng is not None:
            ties = np.flatnonzero(total == total.max())
            if ties.size > 1:
                first = hosts[ties[rng.integers(ties.size)]]
                order = np.concatenate([[first], order[order != first]])
        return order

    def choose(self, view: Cluster, vm: int, ok: np.ndarray, rng: np.random.Generator | None = None) -> int:
        """The best host of ``ok`` (:meth:`rank`'s first), or -1 when ``ok`` is empty."""
        hosts = np.flatnonzero(ok)
        if hosts.size == 0:
            return -1
        if hosts.size == 1:
            return int(hosts[0])
        total = self._total(view, vm, hosts)
        best = total.max()
        if self.tie_break == "random" and rng is not None:
            ties = np.flatnonzero(total == best)
            if ties.size > 1:
                return int(hosts[ties[rng.integers(ties.size)]])
        return int(hosts[int(np.argmax(total))])


def _shape_of(x: Any) -> str:
    shape = getattr(x, "shape", None)
    if shape is None:
        return f"a {type(x).__name__}"
    return f"shape {tuple(shape)} dtype {getattr(x, 'dtype', '?')}"
