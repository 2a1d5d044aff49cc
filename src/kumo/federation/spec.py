"""Federation specification: providers, their data centers, price lists, SLA templates, capacity sharing,
and customers with their constraints; validated all at once with paths to every problem.

A federation is plain data (TOML or a dict) with a ``providers`` table. :func:`validate` returns every
problem as ``path: message`` (``providers[1].datacenters[0].hosts[0].ram_mb: ...``), :func:`parse` raises
one :class:`~kumo.errors.ConfigError` listing them all, :func:`load` reads TOML.

Each data center is a kumo :class:`~kumo.config.Scenario` (hosts, placement, controller, migration, power
management) plus where it is (``location``, ``jurisdiction``) and what it costs (``energy_price_per_kwh``,
``pue``, ``hardware_per_host_hour``); :func:`datacenter_scenario` builds the Scenario one engine runs.

One module past the usual size on purpose: the models and the checks across them (residency, names, prices)
are read together.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kumo.accounting import PenaltySpec, PriceSpec, SlaSpec
from kumo.config import (
    MAX_PRICE,
    MAX_PUE,
    CarbonSpec,
    ControllerSpec,
    HostType,
    MigrationSpec,
    PlacementSpec,
    PowerManagementSpec,
    Scenario,
    TraceSpec,
    pydantic_issues,
)
from kumo.config import validate as validate_scenario
from kumo.errors import ConfigError

__all__ = [
    "CustomerSpec",
    "OutageSpec",
    "DataCenterSpec",
    "FederationOptions",
    "FederationSpec",
    "PolicySpec",
    "ProviderSpec",
    "SharingSpec",
    "SlaTemplate",
    "WanSpec",
    "datacenter_scenario",
    "load",
    "parse",
    "validate",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class PolicySpec(_Strict):
    """A registered policy by name with its parameters (``broker`` or ``site`` kind)."""

    name: str
    params: dict[str, Any] = {}


class OutageSpec(_Strict):
    """A whole-site outage (power, network): from ``start_h`` for ``duration_h`` hours of simulated time,
    rounded out to whole steps."""

    start_h: float = Field(..., ge=0)
    duration_h: float = Field(..., gt=0)


class DataCenterSpec(_Strict):
    """One data center: a host park run by one kumo engine, where it is and what its energy costs.

    ``jurisdiction`` is the law the data is under (a country code such as ``DE``); customers restrict where
    their VMs may run by it. ``hardware_per_host_hour`` is charged for every host for the whole run.
    ``outages``: windows in which the site is down (see ``ProviderSpec.failover``). ``carbon``: the
    intensity of its grid and the carbon price (:class:`kumo.config.CarbonSpec`), for its emissions, the
    ``greenest`` broker and site policy, and a carbon cost line of its owner's ledger.
    """

    name: str
    location: str = ""
    jurisdiction: str = Field(..., min_length=1)
    energy_price_per_kwh: float = Field(0.10, ge=0, le=MAX_PRICE)
    pue: float = Field(1.0, ge=1.0, le=MAX_PUE)
    hardware_per_host_hour: float = Field(0.0, ge=0, le=MAX_PRICE)
    hosts: list[HostType] = Field(..., min_length=1)
    placement: PlacementSpec = PlacementSpec()
    migration: MigrationSpec = MigrationSpec()
    power_management: PowerManagementSpec = PowerManagementSpec()
    controller: ControllerSpec = ControllerSpec()
    host_layout: Literal["grouped", "interleaved"] = "grouped"
    outages: list[OutageSpec] = []
    carbon: CarbonSpec | None = None

    @field_validator("energy_price_per_kwh", "pue", "hardware_per_host_hour")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError(f"must be finite, got {v}")
        return v


class SlaTemplate(_Strict):
    """An SLA class a provider sells: what counts as a break (:class:`~kumo.accounting.SlaSpec`), what a
    break costs (:class:`~kumo.accounting.PenaltySpec`) and a factor on the customer price list."""

    sla: SlaSpec = SlaSpec()
    penalties: PenaltySpec = PenaltySpec()
    price_factor: float = Field(1.0, gt=0)


class ProviderPrices(_Strict):
    """``customer``: what the provider's own customers pay per VM-hour (times the SLA class's
    ``price_factor``); ``partner``: its list price per VM-hour for VMs it hosts for a federation partner."""

    customer: PriceSpec = PriceSpec()
    partner: PriceSpec = PriceSpec()


class SharingSpec(_Strict):
    """How much capacity a provider offers partners.

    ``offer_fraction``: the VMs it hosts for partners may book at most this fraction of each data
    center's bookable CPU and RAM (capacity x overcommit); 0 = it hosts nothing for others.
    ``accept_from``: partners it hosts for (None = every provider). ``bid_surge``: in auctions it bids
    ``partner price x (1 + bid_surge x u)``, u the share of its offered capacity in use.
    """

    offer_fraction: float = Field(0.0, ge=0, le=1)
    accept_from: list[str] | None = None
    bid_surge: float = Field(1.0, ge=0)


class WanSpec(_Strict):
    """The wide-area links between a provider's data centers (one figure for every pair).

    A move of a VM takes ``RAM_MB x 8 / mbps + latency_ms / 1000`` seconds; moves on the same pair of
    sites queue one after the other. ``switchover_s`` is the VM's downtime at the end (default: two
    latencies, the final stop-and-copy round trip).
    """

    mbps: float = Field(1000.0, gt=0)
    latency_ms: float = Field(20.0, ge=0)
    switchover_s: float | None = Field(None, ge=0)

    @property
    def downtime_s(self) -> float:
        return 2 * self.latency_ms / 1000.0 if self.switchover_s is None else self.switchover_s


class ProviderSpec(_Strict):
    """A cloud service provider: data centers, price list, SLA templates, sharing and scheduling policies.

    ``partners``: providers it may outsource to (None = every other provider, [] = none). ``risk_util``:
    a data center whose CPU or RAM demand / capacity is above this is treated as an SLA risk and new VMs
    go to partners first (None = only a full data center outsources). ``internal``: run by its customers'
    own organization (private or community cloud): what they pay it stays in the organization, which
    counts in the summary's ``customer_cost``. ``failover``: when one of its sites goes down, its VMs
    restart (cold, ``restart_s`` of downtime) at another of its sites that may hold them (``sites``), or
    also at a partner through the broker (``federation``, only its own customers' VMs); the others are down
    until the site is back (``none`` keeps them all down); with ``failback`` the VMs that failed over move
    back over the WAN once the site is up again. ``reputation``: the share of VM-steps without a break it
    is known for before the run (its published record); the ``reliance`` broker starts from it. ``site``:
    the inter-DC policy
    (kind ``site``): where an arrival goes among its data centers and when load moves between them.
    """

    name: str
    datacenters: list[DataCenterSpec] = Field(..., min_length=1)
    prices: ProviderPrices = ProviderPrices()
    sla_templates: dict[str, SlaTemplate] = {"standard": SlaTemplate()}
    sharing: SharingSpec = SharingSpec()
    partners: list[str] | None = None
    risk_util: float | None = Field(None, gt=0)
    internal: bool = False
    failover: Literal["none", "sites", "federation"] = "sites"
    restart_s: float = Field(300.0, ge=0)
    failback: bool = True
    reputation: float | None = Field(None, ge=0, le=1)
    site: PolicySpec = PolicySpec(name="first")
    wan: WanSpec = WanSpec()


class CustomerSpec(_Strict):
    """A customer of one provider and the constraints on its VMs.

    ``share``: relative part of the trace's VMs it owns (see ``federation.customer_assignment``).
    ``allowed_jurisdictions``: where its VMs may run (jurisdictions or region names; None = anywhere);
    a placement elsewhere is impossible, not penalized. ``allowed_providers`` / ``denied_providers``:
    providers that may / may not host its VMs (its own provider always may unless denied).
    ``sla_class``: a key of its provider's ``sla_templates``.
    """

    name: str
    provider: str
    share: float = Field(1.0, gt=0)
    sla_class: str = "standard"
    allowed_jurisdictions: list[str] | None = None
    allowed_providers: list[str] | None = None
    denied_providers: list[str] = []

    @field_validator("share")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError(f"must be finite, got {v}")
        return v


class FederationOptions(_Strict):
    """Federation-wide rules.

    ``penalty_share``: fraction of an outsourced VM's SLA penalties the hosting provider reimburses to the
    customer's provider (which pays the customer in full). ``on_no_capacity``: a VM nobody can host is
    ``reject``-ed or ``queue``-d and retried every step until its lifetime ends. ``customer_assignment``:
    how trace VMs map to customers by share: ``blocks`` (contiguous in trace order), ``round-robin``
    (weighted interleave), ``random`` (seeded shuffle, then blocks). ``sla_detail``: ``counts`` takes
    CPU/RAM breaks from the engines' per-VM counters (interval counting, zero tolerance: fast; a
    migration's ``used`` RAM is the VM's mean RAM demand at that data center);
    ``steps`` records per-step VM matrices and uses :func:`kumo.accounting.sla_breaks` (tolerances,
    episodes, engine downtime). ``rebalance_interval_steps``: how often site policies may move load.
    """

    penalty_share: float = Field(1.0, ge=0, le=1)
    on_no_capacity: Literal["reject", "queue"] = "reject"
    customer_assignment: Literal["blocks", "round-robin", "random"] = "blocks"
    sla_detail: Literal["counts", "steps"] = "counts"
    rebalance_interval_steps: int = Field(12, ge=1)


class FederationSpec(_Strict):
    """Everything a federation run needs besides the trace data."""

    name: str = "federation"
    model: str = ""
    description: str = ""
    seed: int = Field(0, ge=0)
    trace: TraceSpec = TraceSpec()
    federation: FederationOptions = FederationOptions()
    broker: PolicySpec = PolicySpec(name="cheapest")
    regions: dict[str, list[str]] = {}
    providers: list[ProviderSpec] = Field(..., min_length=1)
    customers: list[CustomerSpec] = Field(..., min_length=1)

    # ------------------------------------------------------------------ derived facts
    @property
    def datacenters(self) -> list[tuple[int, int, DataCenterSpec]]:
        """Every data center as (provider index, index within the provider, spec), in spec order."""
        return [(p, j, d) for p, prov in enumerate(self.providers) for j, d in enumerate(prov.datacenters)]

    def provider_index(self, name: str) -> int:
        return [p.name for p in self.providers].index(name)

    def jurisdictions_of(self, names: list[str]) -> set[str]:
        """Expand region names to jurisdictions."""
        out: set[str] = set()
        for n in names:
            out.update(self.regions.get(n, [n]))
        return out

    def allowed_matrix(self) -> np.ndarray:
        """(n_customers, n_datacenters) bool: the data centers each customer's VMs may ever run in.

        A data center qualifies when its jurisdiction is allowed, its provider is not denied (and is in the
        allow list if one is given), and it is the customer's own provider or one that provider may
        outsource to and that hosts for it.
        """
        dcs = self.datacenters
        names = [p.name for p in self.providers]
        out = np.zeros((len(self.customers), len(dcs)), dtype=bool)
        for c, cu in enumerate(self.customers):
            home = names.index(cu.provider)
            juris = None if cu.allowed_jurisdictions is None else self.jurisdictions_of(cu.allowed_jurisdictions)
            for d, (p, _, dc) in enumerate(dcs):
                pname = names[p]
                if juris is not None and dc.jurisdiction not in juris:
                    continue
                if pname in cu.denied_providers:
                    continue
                if cu.allowed_providers is not None and pname not in cu.allowed_providers and p != home:
                    continue
                if p != home and not self._may_outsource(home, p):
                    continue
                out[c, d] = True
        return out

    def _may_outsource(self, home: int, partner: int) -> bool:
        hp, pp = self.providers[home], self.providers[partner]
        if hp.partners is not None and pp.name not in hp.partners:
            return False
        if pp.sharing.offer_fraction <= 0:
            return False
        return pp.sharing.accept_from is None or hp.name in pp.sharing.accept_from


def datacenter_scenario(spec: FederationSpec, provider: int, dc: int, record_vm_steps: bool = False,
                        seed: int | None = None) -> Scenario:
    """The kumo Scenario of one data center (no trace selection: the federation selects once)."""
    p = spec.providers[provider]
    d = p.datacenters[dc]
    return Scenario.model_validate(_scenario_dict(spec, p, d, record_vm_steps, spec.seed if seed is None else seed))


def _scenario_dict(spec: FederationSpec, p: ProviderSpec, d: DataCenterSpec, record: bool, seed: int) -> dict:
    return {
        "name": f"{p.name}/{d.name}",
        "seed": seed,
        "trace": {"source": spec.trace.source, "format": spec.trace.format, "reader": dict(spec.trace.reader),
                  "cap_demand_at_booking": spec.trace.cap_demand_at_booking},
        "hosts": [h.model_dump() for h in d.hosts],
        "placement": d.placement.model_dump(),
        "migration": d.migration.model_dump(),
        "power_management": d.power_management.model_dump(),
        "energy": {"pue": d.pue, "price_per_kwh": d.energy_price_per_kwh},
        "controller": d.controller.model_dump(),
        "host_layout": d.host_layout,
        "record_vm_steps": record,
        **({"carbon": d.carbon.model_dump()} if d.carbon is not None else {}),
    }


# ---------------------------------------------------------------------------------------------- validation
def _names_issues(path: str, names: list[str], valid: list[str], what: str) -> list[str]:
    return [f"{path}[{i}]: unknown {what} {n!r}; valid: {', '.join(valid)}" for i, n in enumerate(names)
            if n not in valid]


def _duplicates(path: str, names: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for i, n in enumerate(names):
        if n in seen:
            out.append(f"{path}[{i}].name: duplicate name {n!r}")
        seen.add(n)
    return out


def _policy_issues(path: str, kind: str, ps: PolicySpec) -> list[str]:
    import kumo.federation.brokers  # noqa: F401  (registers the broker and site policies)
    from kumo.policies import registry

    try:
        pol = registry.make(kind, ps.name, ps.params)
    except (KeyError, ValueError, TypeError) as e:
        return [f"{path}: {str(e).strip(chr(39))}"]
    return [f"{path}.params.{x}" for x in registry.validate(pol)]


def _sla_issues(path: str, t: SlaTemplate, detail: str) -> list[str]:
    if detail == "steps":
        return []
    out = []
    if t.sla.cpu_tolerance > 0:
        out.append(f"{path}.sla.cpu_tolerance: needs federation.sla_detail = 'steps' (counts mode has zero tolerance)")
    if t.sla.ram_tolerance > 0:
        out.append(f"{path}.sla.ram_tolerance: needs federation.sla_detail = 'steps' (counts mode has zero tolerance)")
    if t.sla.counting != "interval":
        out.append(f"{path}.sla.counting: {t.sla.counting!r} needs federation.sla_detail = 'steps'")
    if t.sla.downtime == "engine":
        out.append(f"{path}.sla.downtime: 'engine' needs federation.sla_detail = 'steps'")
    return out


def _semantic_issues(s: FederationSpec) -> list[str]:
    issues: list[str] = []
    pnames = [p.name for p in s.providers]
    issues += _duplicates("providers", pnames)
    issues += _duplicates("customers", [c.name for c in s.customers])
    juris = sorted({d.jurisdiction for _, _, d in s.datacenters})
    for r, members in s.regions.items():
        if r in juris:
            issues.append(f"regions.{r}: a region may not have the name of a data center's jurisdiction")
        if not members:
            issues.append(f"regions.{r}: must list at least one jurisdiction")
    issues += _policy_issues("broker", "broker", s.broker)
    for i, p in enumerate(s.providers):
        at = f"providers[{i}]"
        issues += _duplicates(f"{at}.datacenters", [d.name for d in p.datacenters])
        issues += _names_issues(f"{at}.partners", p.partners or [], pnames, "provider")
        issues += _names_issues(f"{at}.sharing.accept_from", p.sharing.accept_from or [], pnames, "provider")
        issues += _policy_issues(f"{at}.site", "site", p.site)
        if not p.sla_templates:
            issues.append(f"{at}.sla_templates: give at least one SLA template")
        for name, t in p.sla_templates.items():
            issues += _sla_issues(f"{at}.sla_templates.{name}", t, s.federation.sla_detail)
        for kind in ("customer", "partner"):
            if getattr(p.prices, kind).billing != "placed":
                issues.append(f"{at}.prices.{kind}.billing: a federation bills the hours a VM ran ('placed')")
        for j, d in enumerate(p.datacenters):
            sc = _scenario_dict(s, p, d, False, 0)
            issues += [f"{at}.datacenters[{j}].{x}" for x in validate_scenario(sc)
                       if not x.startswith("trace")]
    for c, cu in enumerate(s.customers):
        at = f"customers[{c}]"
        if cu.provider not in pnames:
            issues.append(f"{at}.provider: unknown provider {cu.provider!r}; valid: {', '.join(pnames)}")
            continue
        home = s.providers[pnames.index(cu.provider)]
        if cu.sla_class not in home.sla_templates:
            issues.append(f"{at}.sla_class: provider {home.name!r} has no SLA template {cu.sla_class!r}; "
                          f"valid: {', '.join(home.sla_templates)}")
        issues += _names_issues(f"{at}.allowed_jurisdictions", cu.allowed_jurisdictions or [],
                                juris + sorted(s.regions), "jurisdiction or region")
        issues += _names_issues(f"{at}.allowed_providers", cu.allowed_providers or [], pnames, "provider")
        issues += _names_issues(f"{at}.denied_providers", cu.denied_providers, pnames, "provider")
    if not issues and not s.allowed_matrix().any(axis=1).all():
        for ci in np.flatnonzero(~s.allowed_matrix().any(axis=1)):
            cu = s.customers[int(ci)]
            issues.append(f"customers[{ci}]: no data center satisfies its constraints (jurisdictions "
                          f"{cu.allowed_jurisdictions}, providers allowed {cu.allowed_providers}, denied "
                          f"{cu.denied_providers}, and the partners of {cu.provider!r} that host for it)")
    return issues


def validate(data: dict[str, Any] | FederationSpec) -> list[str]:
    """Every problem in ``data`` as ``path: message``; an empty list means valid."""
    if isinstance(data, FederationSpec):
        return _semantic_issues(data)
    try:
        s = FederationSpec.model_validate(data)
    except ValidationError as e:
        return pydantic_issues(e)
    return _semantic_issues(s)


def parse(data: dict[str, Any] | FederationSpec, source: str | None = None) -> FederationSpec:
    """A validated :class:`FederationSpec`, or a ConfigError listing every problem."""
    if isinstance(data, dict) and "plugins" in data:
        from kumo.config import take_plugins

        data = dict(data)
        take_plugins(data, None, source)
    issues = validate(data)
    if issues:
        raise ConfigError(issues, source)
    return data if isinstance(data, FederationSpec) else FederationSpec.model_validate(data)


def read_toml(path: str | Path) -> dict[str, Any]:
    """The dict of a TOML file, or a ConfigError naming the file."""
    from kumo.config import read_toml as read

    return read(path)


def load(path: str | Path) -> FederationSpec:
    """Read and validate a federation TOML file (its ``plugins`` loaded first, relative to its folder)."""
    from kumo.config import take_plugins

    data = read_toml(path)
    take_plugins(data, Path(path).parent, str(path))
    return parse(data, str(path))
