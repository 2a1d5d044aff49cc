"""Host selection for a VM: filters say which hosts can take it, weighers rank the rest.

The scheme is OpenStack Nova's filter scheduler (filters, then normalized weighers with multipliers).
First-fit, best-fit and worst-fit are presets of one weigher each, not separate algorithms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kumo.policies.registry import make, register
from kumo.state import HOST_BOOTING, HOST_ON, ClusterView

# --------------------------------------------------------------------------------------------- filters


@register("filter", "powered")
@dataclass(frozen=True)
class PoweredFilter:
    """Only hosts that are on or booting (Nova's ComputeFilter analogue)."""

    def mask(self, view: ClusterView, vm: int) -> np.ndarray:
        st = view.host_state
        return (st == HOST_ON) | (st == HOST_BOOTING)


@register("filter", "cpu-booking")
@dataclass(frozen=True)
class CpuBookingFilter:
    """Booked CPU after placement <= overcommit ratio x physical CPU (Nova's CoreFilter with ratio)."""

    def mask(self, view: ClusterView, vm: int) -> np.ndarray:
        h = view.hosts
        return view.host_cpu_booked + view.vms.cpu_booked_mhz[vm] <= h.cpu_overcommit * h.cpu_mhz * (1 + 1e-12)


@register("filter", "ram-booking")
@dataclass(frozen=True)
class RamBookingFilter:
    """Booked RAM after placement <= overcommit ratio x physical RAM (Nova's RamFilter with ratio)."""

    def mask(self, view: ClusterView, vm: int) -> np.ndarray:
        h = view.hosts
        return view.host_ram_booked + view.vms.ram_booked_mb[vm] <= h.ram_overcommit * h.ram_mb * (1 + 1e-12)


@register("filter", "vcpus")
@dataclass(frozen=True)
class VcpuFilter:
    """A VM's vCPUs <= the host's cores x CPU overcommit ratio (a VM cannot span more cores than exist)."""

    def mask(self, view: ClusterView, vm: int) -> np.ndarray:
        h = view.hosts
        return view.vms.cores[vm] <= h.cores * h.cpu_overcommit


@register("filter", "cpu-demand")
@dataclass(frozen=True)
class CpuDemandFilter:
    """Current CPU demand plus the VM's demand fits the physical CPU (usage-based admission)."""

    headroom: float = 1.0

    def mask(self, view: ClusterView, vm: int) -> np.ndarray:
        return view.host_cpu_demand + view.vm_cpu_demand[vm] <= self.headroom * view.hosts.cpu_mhz


DEFAULT_FILTERS = ("powered", "vcpus", "cpu-booking", "ram-booking")

# --------------------------------------------------------------------------------------------- weighers


@register("weigher", "first")
@dataclass(frozen=True)
class FirstWeigher:
    """Prefer the lowest host index (first fit)."""

    def score(self, view: ClusterView, vm: int) -> np.ndarray:
        return -np.arange(view.hosts.n, dtype=np.float64)


def _free_after(view: ClusterView, vm: int, resource: str) -> np.ndarray:
    h = view.hosts
    if resource == "cpu":
        cap = h.cpu_overcommit * h.cpu_mhz
        return (cap - view.host_cpu_booked - view.vms.cpu_booked_mhz[vm]) / cap
    if resource == "ram":
        cap = h.ram_overcommit * h.ram_mb
        return (cap - view.host_ram_booked - view.vms.ram_booked_mb[vm]) / cap
    return np.minimum(_free_after(view, vm, "cpu"), _free_after(view, vm, "ram"))


@register("weigher", "free-cpu")
@dataclass(frozen=True)
class FreeCpuWeigher:
    """Free bookable CPU fraction after placement (positive multiplier spreads, negative packs)."""

    def score(self, view: ClusterView, vm: int) -> np.ndarray:
        return _free_after(view, vm, "cpu")


@register("weigher", "free-ram")
@dataclass(frozen=True)
class FreeRamWeigher:
    """Free bookable RAM fraction after placement."""

    def score(self, view: ClusterView, vm: int) -> np.ndarray:
        return _free_after(view, vm, "ram")


@register("weigher", "free-binding")
@dataclass(frozen=True)
class FreeBindingWeigher:
    """Free fraction of the scarcer resource after placement (min over CPU and RAM)."""

    def score(self, view: ClusterView, vm: int) -> np.ndarray:
        return _free_after(view, vm, "binding")


@register("weigher", "free-cpu-demand")
@dataclass(frozen=True)
class FreeCpuDemandWeigher:
    """Free physical CPU fraction by current demand (usage-based spreading)."""

    def score(self, view: ClusterView, vm: int) -> np.ndarray:
        cap = view.hosts.cpu_mhz
        return (cap - view.host_cpu_demand - view.vm_cpu_demand[vm]) / cap


# --------------------------------------------------------------------------------------------- presets

#: preset name -> (weigher per resource, multiplier)
PRESETS: dict[str, tuple[str | None, float]] = {
    "first-fit": (None, 1.0),
    "best-fit": ("free", -1.0),
    "worst-fit": ("free", 1.0),
}


@dataclass(frozen=True)
class Placer:
    """Filters plus weighted weighers; :meth:`choose` returns a host index or -1 with the emptying filter."""

    filters: tuple[object, ...]
    filter_names: tuple[str, ...]
    weighers: tuple[object, ...]
    multipliers: tuple[float, ...]
    tie_break: str = "first"

    @classmethod
    def from_spec(cls, spec: object) -> Placer:
        """Build from a :class:`kumo.config.PlacementSpec`."""
        filter_names = tuple(spec.filters) if spec.filters is not None else DEFAULT_FILTERS  # type: ignore[attr-defined]
        ws: list[tuple[str, float]] = []
        if spec.preset is not None:  # type: ignore[attr-defined]
            base, mult = PRESETS[spec.preset]  # type: ignore[attr-defined]
            ws.append(("first", 1.0) if base is None else (f"free-{spec.resource}", mult))  # type: ignore[attr-defined]
        ws += [(w.name, w.multiplier) for w in (spec.weighers or [])]  # type: ignore[attr-defined]
        return cls(
            filters=tuple(make("filter", n) for n in filter_names),
            filter_names=filter_names,
            weighers=tuple(make("weigher", n) for n, _ in ws),
            multipliers=tuple(m for _, m in ws),
            tie_break=spec.tie_break,  # type: ignore[attr-defined]
        )

    def feasible(
        self, view: ClusterView, vm: int, skip: tuple[str, ...] = (), within: np.ndarray | None = None
    ) -> tuple[np.ndarray, str | None]:
        """(n_hosts,) bool mask of hosts passing every filter, and the name of the filter that emptied it."""
        ok = np.ones(view.hosts.n, dtype=bool) if within is None else within.copy()
        emptied = None if ok.any() else "candidates"
        for name, f in zip(self.filter_names, self.filters, strict=True):
            if name in skip:
                continue
            ok &= f.mask(view, vm)  # type: ignore[attr-defined]
            if emptied is None and not ok.any():
                emptied = name
        return ok, emptied

    def rank(self, view: ClusterView, vm: int, ok: np.ndarray, rng: np.random.Generator) -> int:
        """Best feasible host: normalized weighers summed, infeasible at -inf, one argmax, ties by rule."""
        if not ok.any():
            return -1
        total = np.zeros(view.hosts.n)
        for w, m in zip(self.weighers, self.multipliers, strict=True):
            s = np.asarray(w.score(view, vm), dtype=np.float64)  # type: ignore[attr-defined]
            lo, hi = s[ok].min(), s[ok].max()
            total += m * ((s - lo) / (hi - lo) if hi > lo else np.zeros_like(s))
        total[~ok] = -np.inf
        best = total.max()
        ties = np.flatnonzero(total >= best - 1e-12)
        if len(ties) == 1 or self.tie_break == "first":
            return int(ties[0])
        return int(ties[rng.integers(len(ties))])
