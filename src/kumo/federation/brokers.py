"""Inter-provider brokers (kind ``broker``) and inter-DC site policies (kind ``site``) of a federation.

Both are frozen dataclasses that read plain arrays and return decisions; the runner
(:mod:`kumo.federation.runner`) builds the arrays, masks every candidate that would break a customer's
constraints *before* a policy sees it, and applies the decision. The three scheduling levels are those of
FederatedCloudSim (Kohne et al., CrossCloud 2014; kohne-sla-scheduling.md §3): intra-DC (the engines'
placement and controllers), inter-DC inside one provider (site policies), inter-provider (brokers).

A broker sees :class:`Quotes`, one entry per partner that can host the VM now (capacity, sharing limit
and residency already checked), and returns ``(index, price per hour)`` or ``(-1, nan)`` to decline. A
site policy ranks a provider's candidate data centers (:class:`Sites`) for an arrival, and plans moves
between them (:meth:`SitePolicy.plan`) from :class:`SiteLoads`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from kumo.policies.registry import register, register_kind

__all__ = [
    "AuctionBroker",
    "CheapestBroker",
    "CheapestEnergySite",
    "FirstSite",
    "GreenestBroker",
    "GreenestSite",
    "LeastLoadedSite",
    "Quotes",
    "RelianceBroker",
    "SiteLoads",
    "Sites",
]


register_kind("broker", "Broker", {"choose": 2}, "which partner provider takes an outsourced VM")
register_kind("site", "SitePolicy", {"score": 1, "plan": 1}, "how a provider ranks its data centers")


# ------------------------------------------------------------------------------------------------ brokers
@dataclass(frozen=True)
class Quotes:
    """The partners able to host one VM now; every array has shape (n_candidates,).

    Attributes
    ----------
    provider : int, provider index (ties go to the lower index).
    list_price : partner price list for this VM, currency per hour.
    utilization : share of the partner's offered capacity in use (bookings / offer), in [0, 1].
    bid_surge : each partner's auction mark-up per unit of utilization.
    ok_steps, steps : the partner's SLA record so far: VM-steps without / in total, over ``basis``
        (``all``: every VM it hosts; ``insourced``: VMs it hosts for partners). Shape (2, n): row 0 all,
        row 1 insourced.
    customer_price : what the customer pays the outsourcing provider for this VM, currency per hour.
    reputation : each partner's published share of VM-steps without a break (NaN if none), shape (n,).
    carbon_now, carbon_day : carbon per IT kWh (grid intensity x PUE, gCO2/kWh) of the data center each
        partner would use, now and its mean over the day ahead as the site's ``[carbon] forecast`` tells
        it (perfect by default: the series the run replays); zeros where a site has no ``[carbon]``.
    """

    provider: np.ndarray
    list_price: np.ndarray
    utilization: np.ndarray
    bid_surge: np.ndarray
    ok_steps: np.ndarray
    steps: np.ndarray
    customer_price: float
    reputation: np.ndarray | None = None
    carbon_now: np.ndarray | None = None
    carbon_day: np.ndarray | None = None

    def __post_init__(self) -> None:
        for f in ("carbon_now", "carbon_day"):
            if getattr(self, f) is None:
                object.__setattr__(self, f, np.zeros(self.n))

    @property
    def n(self) -> int:
        return int(self.provider.shape[0])

    def carbon(self, horizon: str) -> np.ndarray:
        """(n,) carbon per IT kWh of each offer, ``now`` or the ``day``-ahead mean."""
        out = self.carbon_now if horizon == "now" else self.carbon_day
        assert out is not None
        return out


def _lexmin(*keys: np.ndarray) -> int:
    """Index of the lexicographic minimum (first key most significant)."""
    return int(np.lexsort(tuple(reversed(keys)))[0])


def _check_ratio(name: str, v: float) -> list[str]:
    return [] if (v > 0 and not math.isnan(v)) else [f"{name}: must be > 0, got {v}"]


@register("broker", "cheapest")
@dataclass(frozen=True)
class CheapestBroker:
    """Outsource to the partner with the lowest list price (FederatedCloudSim's cheapest-CSP strategy,
    Kohne et al., CrossCloud 2017); ties go to the less utilized partner, then the lower index.

    ``max_price_ratio``: decline when the cheapest price exceeds this multiple of the customer's price.
    """

    max_price_ratio: float = math.inf

    def validate(self) -> list[str]:
        return _check_ratio("max_price_ratio", self.max_price_ratio)

    def choose(self, q: Quotes, rng: np.random.Generator) -> tuple[int, float]:
        if q.n == 0:
            return -1, math.nan
        i = _lexmin(q.list_price, q.utilization, q.provider)
        price = float(q.list_price[i])
        if price > self.max_price_ratio * q.customer_price * (1 + 1e-12):
            return -1, math.nan
        return i, price


@register("broker", "reliance")
@dataclass(frozen=True)
class RelianceBroker:
    """Outsource to the partner with the highest reliance factor, its past SLA record (FederatedCloudSim's
    reliance-based strategy, Kohne et al., CrossCloud 2017); ties go to the cheaper, then the lower index.

    reliance = (ok VM-steps + prior x prior_steps) / (VM-steps + prior_steps): a Beta-style estimate of
    the share of VM-steps without a CPU or RAM break, starting at the partner's published ``reputation``
    or, without one, at ``prior``. ``basis``: the record over
    ``all`` VMs a partner hosts or the ``insourced`` ones only. Partners below ``min_reliance`` are not
    used. ``price_weight`` > 0 trades reliance for price: score = reliance - price_weight x price /
    customer price.
    """

    prior: float = 1.0
    prior_steps: float = 288.0
    basis: Literal["all", "insourced"] = "all"
    min_reliance: float = 0.0
    price_weight: float = 0.0
    max_price_ratio: float = math.inf

    def validate(self) -> list[str]:
        out = []
        if not 0 <= self.prior <= 1:
            out.append(f"prior: must be in [0, 1], got {self.prior}")
        if not self.prior_steps >= 0:
            out.append(f"prior_steps: must be >= 0, got {self.prior_steps}")
        if self.basis not in ("all", "insourced"):
            out.append(f"basis: must be 'all' or 'insourced', got {self.basis!r}")
        if not 0 <= self.min_reliance <= 1:
            out.append(f"min_reliance: must be in [0, 1], got {self.min_reliance}")
        if not (self.price_weight >= 0 and math.isfinite(self.price_weight)):
            out.append(f"price_weight: must be finite and >= 0, got {self.price_weight}")
        return out + _check_ratio("max_price_ratio", self.max_price_ratio)

    def reliance(self, q: Quotes) -> np.ndarray:
        """(n,) reliance factor of each candidate in [0, 1]."""
        row = 0 if self.basis == "all" else 1
        ok, steps = q.ok_steps[row].astype(np.float64), q.steps[row].astype(np.float64)
        prior = np.full(q.n, self.prior)
        if q.reputation is not None:
            prior = np.where(np.isnan(q.reputation), prior, q.reputation)
        den = steps + self.prior_steps
        return np.divide(ok + prior * self.prior_steps, den, out=prior.copy(), where=den > 0)

    def choose(self, q: Quotes, rng: np.random.Generator) -> tuple[int, float]:
        if q.n == 0:
            return -1, math.nan
        rel = self.reliance(q)
        usable = (rel >= self.min_reliance - 1e-12) & (q.list_price <= self.max_price_ratio * q.customer_price
                                                       * (1 + 1e-12))
        if not usable.any():
            return -1, math.nan
        score = rel - self.price_weight * q.list_price / max(q.customer_price, 1e-300)
        tied = np.round(np.where(usable, score, -np.inf), 12)  # equal reliance is a tie, not float noise
        i = _lexmin(-tied, q.list_price, q.provider)
        return i, float(q.list_price[i])


@register("broker", "greenest")
@dataclass(frozen=True)
class GreenestBroker:
    """Outsource to the partner whose data center emits least per IT kWh: grid carbon intensity x PUE,
    ``now`` or as the mean over the ``day`` ahead (carbon-aware geographic load shifting, Radovanovic et
    al., "Carbon-aware computing for datacenters", IEEE Trans. Power Systems 2023; the day ahead is
    what the site's ``[carbon] forecast`` tells: perfect, persistence or yesterday). Residency is met before the broker sees an offer; the SLA is met
    by ``min_reliance``: partners whose reliance factor (:class:`RelianceBroker`, same ``prior``,
    ``prior_steps``, ``basis``) is below it are not used. Offers above ``max_price_ratio`` x the customer's
    price are declined. Ties (equal intensity to 1e-9 g) go to the cheaper, then the lower index.
    """

    horizon: Literal["now", "day"] = "day"
    min_reliance: float = 0.0
    max_price_ratio: float = math.inf
    prior: float = 1.0
    prior_steps: float = 288.0
    basis: Literal["all", "insourced"] = "all"

    def validate(self) -> list[str]:
        out = [] if self.horizon in ("now", "day") else [f"horizon: must be 'now' or 'day', got {self.horizon!r}"]
        rel = RelianceBroker(prior=self.prior, prior_steps=self.prior_steps, basis=self.basis,
                             min_reliance=self.min_reliance, max_price_ratio=self.max_price_ratio)
        return out + rel.validate()

    def choose(self, q: Quotes, rng: np.random.Generator) -> tuple[int, float]:
        if q.n == 0:
            return -1, math.nan
        usable = q.list_price <= self.max_price_ratio * q.customer_price * (1 + 1e-12)
        if self.min_reliance > 0:
            rel = RelianceBroker(prior=self.prior, prior_steps=self.prior_steps, basis=self.basis).reliance(q)
            usable &= rel >= self.min_reliance - 1e-12
        if not usable.any():
            return -1, math.nan
        g = np.round(np.where(usable, q.carbon(self.horizon), np.inf), 9)
        i = _lexmin(g, q.list_price, q.provider)
        return i, float(q.list_price[i])


@register("broker", "auction")
@dataclass(frozen=True)
class AuctionBroker:
    """A sealed-bid reverse auction: every partner able to host the VM bids list price x (1 + bid_surge x
    utilization) and the lowest bid wins (FederatedCloudSim's auction platform, Kohne et al., CrossCloud
    2017; Vickrey 1961 for ``second``-price). ``pricing``: the winner is paid its own bid (``first``) or
    the second-lowest bid (``second``; its own bid when it is alone). Bids above ``max_price_ratio`` x the
    customer's price are void (the reserve). Ties go to the lower provider index.
    """

    pricing: Literal["first", "second"] = "second"
    max_price_ratio: float = 1.0

    def validate(self) -> list[str]:
        out = [] if self.pricing in ("first", "second") else [f"pricing: must be 'first' or 'second', got {self.pricing!r}"]
        return out + _check_ratio("max_price_ratio", self.max_price_ratio)

    def bids(self, q: Quotes) -> np.ndarray:
        """(n,) each candidate's bid, currency per hour."""
        return q.list_price * (1.0 + q.bid_surge * q.utilization)

    def choose(self, q: Quotes, rng: np.random.Generator) -> tuple[int, float]:
        b = self.bids(q)
        valid = b <= self.max_price_ratio * q.customer_price * (1 + 1e-12)
        if not valid.any():
            return -1, math.nan
        b = np.where(valid, b, np.inf)
        i = _lexmin(b, q.provider)
        if self.pricing == "first" or valid.sum() == 1:
            return i, float(b[i])
        return i, float(np.partition(b, 1)[1])


# ------------------------------------------------------------------------------------------------ sites
@dataclass(frozen=True)
class Sites:
    """A provider's candidate data centers for one arrival (residency already checked); shape (n,).

    Attributes
    ----------
    dc : int, federation-wide data-center index (spec order; ties go to the lower).
    energy_cost : energy price x PUE, currency per IT kWh.
    booked_util : max over CPU and RAM of bookings / bookable capacity, in [0, 1].
    demand_util : max over CPU and RAM of current demand / physical capacity (may exceed 1).
    carbon_now, carbon_day : carbon per IT kWh (grid intensity x PUE, gCO2/kWh) now and its mean over the
        day ahead; zeros where a site has no ``[carbon]``.
    """

    dc: np.ndarray
    energy_cost: np.ndarray
    booked_util: np.ndarray
    demand_util: np.ndarray
    carbon_now: np.ndarray | None = None
    carbon_day: np.ndarray | None = None

    def __post_init__(self) -> None:
        for f in ("carbon_now", "carbon_day"):
            if getattr(self, f) is None:
                object.__setattr__(self, f, np.zeros(len(self.dc)))


@dataclass(frozen=True)
class SiteLoads:
    """A provider's data centers at a rebalancing point: per-DC arrays (n_dc,) and movable VMs.

    Attributes
    ----------
    dc, energy_cost, booked_util, demand_util, carbon_now, carbon_day : as in :class:`Sites`, for every data
        center of the provider.
    cpu_util : (n_dc,) current CPU demand / physical CPU.
    cpu_mhz : (n_dc,) physical CPU of each data center.
    vm, vm_site : (m,) movable VMs (running, not in flight) and the position in ``dc`` of their site.
    vm_cpu_mhz, vm_ram_mb : (m,) current CPU demand and booked RAM (what a WAN move copies).
    allowed : (m, n_dc) bool, where each VM may run (residency, provider lists).
    """

    dc: np.ndarray
    energy_cost: np.ndarray
    booked_util: np.ndarray
    demand_util: np.ndarray
    cpu_util: np.ndarray
    cpu_mhz: np.ndarray
    vm: np.ndarray
    vm_site: np.ndarray
    vm_cpu_mhz: np.ndarray
    vm_ram_mb: np.ndarray
    allowed: np.ndarray
    carbon_now: np.ndarray | None = None
    carbon_day: np.ndarray | None = None


@dataclass(frozen=True)
class SitePolicy:
    """Shared rebalancing rule: every ``federation.rebalance_interval_steps``, a site whose CPU demand /
    capacity exceeds ``rebalance_above`` sends VMs (smallest RAM first: the cheapest to copy over the WAN)
    to the best-ranked site below ``rebalance_below`` that may hold them, until the projected demand is
    back under ``rebalance_above`` or ``max_moves`` moves are planned (CloudSim Plus-style inter-DC
    migration, triggered by load). None disables moves.
    """

    rebalance_above: float | None = None
    rebalance_below: float = 0.6
    max_moves: int = 2

    def validate(self) -> list[str]:
        out = []
        if self.rebalance_above is not None and not self.rebalance_above > 0:
            out.append(f"rebalance_above: must be > 0, got {self.rebalance_above}")
        if not self.rebalance_below > 0:
            out.append(f"rebalance_below: must be > 0, got {self.rebalance_below}")
        if self.rebalance_above is not None and self.rebalance_below >= self.rebalance_above:
            out.append(f"rebalance_below: must be below rebalance_above ({self.rebalance_above}), got "
                       f"{self.rebalance_below}")
        if self.max_moves < 1:
            out.append(f"max_moves: must be >= 1, got {self.max_moves}")
        return out

    def score(self, s: Sites) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def rank(self, s: Sites) -> np.ndarray:
        """Positions into ``s`` from most to least preferred (stable: ties keep the data-center order)."""
        return np.lexsort((s.dc, -self.score(s)))

    def plan(self, s: SiteLoads) -> list[tuple[int, int, int]]:
        """Moves as (VM, source dc, target dc), federation-wide indices."""
        if self.rebalance_above is None or len(s.dc) < 2:
            return []
        load = s.vm_cpu_mhz
        util = s.cpu_util.astype(np.float64).copy()
        moves: list[tuple[int, int, int]] = []
        moved = np.zeros(len(s.vm), dtype=bool)
        order = self.rank(Sites(s.dc, s.energy_cost, s.booked_util, s.demand_util, s.carbon_now, s.carbon_day))
        for src in np.argsort(-util, kind="stable"):
            if util[src] <= self.rebalance_above or len(moves) >= self.max_moves:
                break
            cand = np.flatnonzero((s.vm_site == src) & ~moved)
            for v in cand[np.argsort(s.vm_ram_mb[cand], kind="stable")]:
                if util[src] <= self.rebalance_above or len(moves) >= self.max_moves:
                    break
                dst = next((int(t) for t in order if t != src and s.allowed[v, t]
                            and util[t] + load[v] / s.cpu_mhz[t] <= self.rebalance_below), -1)
                if dst < 0 or load[v] <= 0:
                    continue
                moves.append((int(s.vm[v]), int(s.dc[src]), int(s.dc[dst])))
                moved[v] = True
                util[src] -= load[v] / s.cpu_mhz[src]
                util[dst] += load[v] / s.cpu_mhz[dst]
        return moves


@register("site", "first")
@dataclass(frozen=True)
class FirstSite(SitePolicy):
    """Data centers in the order the provider lists them: the first is the primary, the others overflow
    (FederatedCloudSim's inter-DC level with a fixed preference, Kohne et al., CrossCloud 2014)."""

    def score(self, s: Sites) -> np.ndarray:
        return np.zeros(len(s.dc))


@register("site", "cheapest-energy")
@dataclass(frozen=True)
class CheapestEnergySite(SitePolicy):
    """The data center with the lowest energy price x PUE first (cost-aware geo placement, Qureshi et al.,
    "Cutting the electric bill for Internet-scale systems", SIGCOMM 2009)."""

    def score(self, s: Sites) -> np.ndarray:
        return -s.energy_cost


@register("site", "least-loaded")
@dataclass(frozen=True)
class LeastLoadedSite(SitePolicy):
    """The data center with the lowest booked share (max of CPU and RAM) first: spreads load over sites
    (worst fit at the inter-DC level, kohne-sla-scheduling.md §3.5 applied to sites)."""

    def score(self, s: Sites) -> np.ndarray:
        return -s.booked_util


@register("site", "greenest")
@dataclass(frozen=True)
class GreenestSite(SitePolicy):
    """The data center that emits least per IT kWh first: grid carbon intensity x PUE, ``now`` or as the
    mean over the ``day`` ahead (carbon-aware geographic load shifting; with ``rebalance_above`` the
    overflow also goes to the greenest site with room). Ties keep the data-center order."""

    horizon: Literal["now", "day"] = "day"

    def validate(self) -> list[str]:
        out = [] if self.horizon in ("now", "day") else [f"horizon: must be 'now' or 'day', got {self.horizon!r}"]
        return out + super().validate()

    def score(self, s: Sites) -> np.ndarray:
        c = s.carbon_now if self.horizon == "now" else s.carbon_day
        assert c is not None
        return -np.round(c, 9)
