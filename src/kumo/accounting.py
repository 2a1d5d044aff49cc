"""SLA breaks, penalties, revenue, energy and hardware cost, profit and margin of one run: one ledger.

The model is FederatedCloudSim's "CloudAccount" as reconstructed in
``shared/reference/kohne-sla-scheduling.md`` (§4 SLA, §5 money). Every VM has one SLA with a CPU, a RAM
and an uptime objective: the ledger's, or that of the first SLA class (:class:`SlaClass`: tolerances,
uptime target, penalties) that covers it. The functions here are pure: they read a finished :class:`~kumo.results.RunResult`
(its tables and the per-step per-VM matrices recorded with ``record_vm_steps = true``) and a
:class:`LedgerSpec`, and return tables. Nothing is simulated again, so penalty or price changes cost
milliseconds.

The ledger has one line per money item, signed (income > 0, expense < 0), so that
``profit == ledger.amount.sum()`` and a user can audit every figure line by line:

* ``revenue``: one line per VM (billed hours x price per hour);
* ``penalty``: one line per SLA break (which VM broke which objective, at which step or in which
  window, by how much, under which SLA class, and what it cost);
* ``energy``: one line per host (IT kWh x PUE x price);
* ``hardware``: one line per host (host-hours x cost per host-hour);
* ``carbon``: one line per host (tonnes of CO2 of its facility energy x carbon price), for a run with
  ``[carbon]``.

Exact facts (Table 10.10, [D] in the reference): ``profit = revenue - penalties - costs``, a CPU break
costs 160 and a RAM break 120. Everything else is an assumption of the reference ([A]) and a parameter
here; the defaults are the reference's. The SLA rules and break detection live in
:mod:`kumo.accounting_sla` and are re-exported here. The money side (prices, classes, penalties, costs,
the ledger's lines) is one module past the usual size because every line of the ledger is built from all
of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError, model_validator

from kumo.accounting_sla import (
    SlaSpec,
    _breaks,
    _step_s,
    _Strict,
    downtime_per_window,
    end_of_step_loads,
    migration_downtime_s,
    shortfalls,
    sla_breaks,
    source_overloaded,
    window_sums,
)
from kumo.config import MAX_PRICE, MAX_PUE
from kumo.errors import ConfigError
from kumo.results import RunResult
from kumo.traces.base import MAX_CORES, MAX_VALUE

__all__ = [
    "ACCOUNTS_SCHEMA",
    "Accounts",
    "CostSpec",
    "LEDGER_SCHEMA",
    "LedgerSpec",
    "Penalty",
    "PenaltySpec",
    "PenaltyOverride",
    "PriceSize",
    "PriceSpec",
    "SlaClass",
    "SlaSpec",
    "account",
    "billed_hours",
    "downtime_per_window",
    "end_of_step_loads",
    "ledger",
    "migration_downtime_s",
    "parse_ledger_spec",
    "revenue_per_vm",
    "shortfalls",
    "sla_breaks",
    "sla_classes",
    "source_overloaded",
    "summarize",
    "window_sums",
]

#: JSON dict of the money and break columns, in the order of Kohne's Table 10.10 first
REFERENCE_COLUMNS = ("migrations", "sla_breaks_cpu", "sla_breaks_ram", "sla_breaks_uptime", "penalties",
                     "costs", "profit", "margin_percent", "revenue")


class Penalty(_Strict):
    """The price of one break.

    ``kind`` and the meaning of ``value``: ``fixed`` — currency per break; ``revenue-fraction`` — fraction of
    the breaking VM's revenue over the accounting period (H-UT1 of the reference, §1.3, for uptime);
    ``excess-downtime`` (uptime only; H-UT2) — currency per second of downtime above the window's allowance.
    """

    kind: Literal["fixed", "revenue-fraction", "excess-downtime"] = "fixed"
    value: float = Field(default=0.0, ge=0, le=MAX_PRICE)


class PenaltySpec(_Strict):
    """Penalty per break type. CPU 160 and RAM 120 per break are exact ([D], reference §1.3); the uptime
    rule is H-UT1 (10 % of the VM's period revenue per break), an assumption ([A])."""

    cpu: Penalty = Penalty(kind="fixed", value=160.0)
    ram: Penalty = Penalty(kind="fixed", value=120.0)
    uptime: Penalty = Penalty(kind="revenue-fraction", value=0.10)


class PriceSize(_Strict):
    """One entry of a price list: an instance size and its price per hour."""

    name: str = ""
    vcpus: float = Field(gt=0, le=MAX_CORES)
    ram_gb: float = Field(gt=0, le=MAX_VALUE / 1024)
    per_hour: float = Field(ge=0, le=MAX_PRICE)


class PriceSpec(_Strict):
    """Revenue: a VM's price per hour times its billed hours.

    The price per hour is ``scale x (per_vcpu_hour x vcpus + per_gb_hour x booked_ram_gb)`` or, with a price
    list (``sizes``), ``scale x`` the price of the cheapest listed size that covers the VM's booking (vCPUs and
    RAM GiB; the first listed on ties), as a provider sells instance types; a VM larger than every size is an
    error naming it. The weights' ratio 7.46 : 1 and billing by hours are the reference's assumption (§5);
    ``scale`` is calibrated so that the embedded trace earns Kohne's 60,806.34 (see
    ``kumo/studies/kohne2018/data/kohne-calibration.json``). ``billing``: ``placed`` bills the steps a VM was placed (a rejected VM
    pays nothing), ``lifetime`` the steps of its trace lifetime. Without rejections both agree.
    """

    scale: float = Field(default=1.0, ge=0, le=MAX_PRICE)
    per_vcpu_hour: float = Field(default=7.46, ge=0, le=MAX_PRICE)
    per_gb_hour: float = Field(default=1.0, ge=0, le=MAX_PRICE)
    sizes: list[PriceSize] = []
    billing: Literal["placed", "lifetime"] = "placed"


class CostSpec(_Strict):
    """Costs: energy (IT kWh x PUE x price), hardware (cost per host-hour) and carbon (tonnes of CO2 x price).

    ``energy_price_per_kwh`` and ``pue`` default to the scenario's ``energy`` section (None), and
    ``carbon_price_per_t`` to its ``[carbon] price_per_t``. Hardware is charged for every host of the park
    for the whole run (``park``, capex and operations, independent of the power state) or only while a host
    is on (``on``). Carbon lines appear only for a run with emissions (a scenario with ``[carbon]``).
    """

    energy_price_per_kwh: float | None = Field(default=None, ge=0, le=MAX_PRICE)
    pue: float | None = Field(default=None, ge=1, le=MAX_PUE)
    carbon_price_per_t: float | None = Field(default=None, ge=0, le=MAX_PRICE)
    hardware_per_host_hour: float = Field(default=0.0, ge=0, le=MAX_PRICE)
    hardware_basis: Literal["park", "on"] = "park"


class PenaltyOverride(_Strict):
    """An SLA class's penalties; a type left out keeps the ledger's."""

    cpu: Penalty | None = None
    ram: Penalty | None = None
    uptime: Penalty | None = None


class SlaClass(_Strict):
    """An SLA class (gold, silver, ...): which VMs it covers and what it changes in their SLA.

    A VM belongs to the first class that matches it: listed by id in ``vms``, or every size bound given
    (``min_vcpus`` ... ``max_ram_gb``, on the booking) holds. VMs no class matches keep the ledger's SLA
    (class ``default``). A class may change the CPU and RAM tolerances, the uptime target and the penalties;
    the counting rule and the windows stay the ledger's.
    """

    name: str = Field(min_length=1)
    vms: list[str] = []
    min_vcpus: float | None = Field(default=None, ge=0)
    max_vcpus: float | None = Field(default=None, ge=0)
    min_ram_gb: float | None = Field(default=None, ge=0)
    max_ram_gb: float | None = Field(default=None, ge=0)
    cpu_tolerance: float | None = Field(default=None, ge=0, lt=1)
    ram_tolerance: float | None = Field(default=None, ge=0, lt=1)
    uptime_target: float | None = Field(default=None, ge=0, le=1)
    penalties: PenaltyOverride = PenaltyOverride()

    @model_validator(mode="after")
    def _selects_something(self) -> SlaClass:
        if self.name == "default":
            raise ValueError("'default' is the name of the VMs no class matches; choose another")
        bounds = (self.min_vcpus, self.max_vcpus, self.min_ram_gb, self.max_ram_gb)
        if not self.vms and all(b is None for b in bounds):
            raise ValueError(f"class '{self.name}' selects no VM: give vms or a size bound")
        return self

    def matches(self, vm_ids: np.ndarray, vcpus: np.ndarray, ram_gb: np.ndarray) -> np.ndarray:
        """(n_vms,) bool: the VMs this class covers (before earlier classes take theirs)."""
        if self.vms:
            return np.isin(vm_ids, np.asarray(self.vms, dtype=str))
        m = np.ones(len(vm_ids), bool)
        for bound, x, above in ((self.min_vcpus, vcpus, True), (self.max_vcpus, vcpus, False),
                                (self.min_ram_gb, ram_gb, True), (self.max_ram_gb, ram_gb, False)):
            if bound is not None:
                m &= (x >= bound * (1 - 1e-9)) if above else (x <= bound * (1 + 1e-9))
        return m

    def sla(self, base: SlaSpec) -> SlaSpec:
        over = {k: getattr(self, k) for k in ("cpu_tolerance", "ram_tolerance", "uptime_target")
                if getattr(self, k) is not None}
        return base.model_copy(update=over)

    def penalty_spec(self, base: PenaltySpec) -> PenaltySpec:
        over = {k: getattr(self.penalties, k) for k in ("cpu", "ram", "uptime") if getattr(self.penalties, k)}
        return base.model_copy(update=over)


class LedgerSpec(_Strict):
    """Everything the ledger needs besides the run: SLA rules, penalties, prices, costs, and optional SLA
    classes (:class:`SlaClass`) that give groups of VMs other tolerances, uptime targets and penalties."""

    sla: SlaSpec = SlaSpec()
    penalties: PenaltySpec = PenaltySpec()
    prices: PriceSpec = PriceSpec()
    costs: CostSpec = CostSpec()
    classes: list[SlaClass] = []

    @model_validator(mode="after")
    def _unique_class_names(self) -> LedgerSpec:
        names = [c.name for c in self.classes]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"SLA class names must be unique; repeated: {', '.join(dup)}")
        return self


def sla_classes(result: RunResult, spec: LedgerSpec) -> np.ndarray:
    """(n_vms,) index of each VM's SLA class in ``spec.classes``, -1 for the ledger's own SLA (``default``).

    Raises ConfigError for a class listing VM ids the run does not have."""
    vms = result.tables["vms"]
    ids = vms["vm_id"].to_numpy(str)
    vcpus = vms["cores"].to_numpy(np.float64)
    ram_gb = vms["ram_booked_mb"].to_numpy(np.float64) / 1024.0
    out = np.full(len(vms), -1, np.int64)
    problems = []
    for i, c in enumerate(spec.classes):
        unknown = sorted(set(c.vms) - set(ids.tolist()))
        if unknown:
            problems.append(f"ledger.classes[{i}].vms: {len(unknown)} VM id(s) not in the run, first {unknown[0]!r}")
        out[(out < 0) & c.matches(ids, vcpus, ram_gb)] = i
    if problems:
        raise ConfigError(problems)
    return out


def parse_ledger_spec(data: dict[str, Any] | LedgerSpec | None, source: str | None = None) -> LedgerSpec:
    """A validated :class:`LedgerSpec` from a dict (TOML ``[ledger]`` table), or a ConfigError listing every
    problem as ``ledger.path: message``."""
    if isinstance(data, LedgerSpec):
        return data
    try:
        return LedgerSpec.model_validate(data or {})
    except ValidationError as e:
        issues = []
        for err in e.errors():
            path = "ledger" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] not in ("missing", "extra_forbidden"):
                msg += f", got {err.get('input')!r}"
            issues.append(f"{path}: {msg}")
        raise ConfigError(issues, source) from None


# ------------------------------------------------------------------------------------------------ schemas
#: ledger column -> (dtype, unit, description)
LEDGER_SCHEMA: dict[str, tuple[str, str, str]] = {
    "line": ("int64", "-", "line number"),
    "category": ("string", "-", "revenue / penalty / energy / hardware / carbon"),
    "item": ("string", "-", "vm (revenue), cpu / ram / uptime (penalty), host (costs)"),
    "vm": ("int64", "-", "VM index, -1 if none"),
    "vm_id": ("string", "-", "VM identifier from the trace, empty if none"),
    "host": ("int64", "-", "host index, -1 if none"),
    "step": ("int64", "-", "step of the break (first step of the window or episode), -1 if none"),
    "window": ("int64", "-", "uptime or SLA window index, -1 if none"),
    "t_s": ("float64", "s", "start of the step or window, NaN if none"),
    "measure": ("float64", "-", "what was measured: shortfall, downtime or quantity billed (see unit)"),
    "unit": ("string", "-", "unit of measure"),
    "rate": ("float64", "currency/unit", "price applied to the measure or per break"),
    "amount": ("float64", "currency", "signed: income > 0, expense < 0"),
    "sla_class": ("string", "-", "SLA class of a penalty's VM (default: the ledger's own SLA), empty if none"),
}

#: accounts (summary) column -> (dtype, unit, description)
ACCOUNTS_SCHEMA: dict[str, tuple[str, str, str]] = {
    "migrations": ("int64", "count", "migrations started"),
    "sla_breaks_cpu": ("int64", "count", "CPU objective breaks"),
    "sla_breaks_ram": ("int64", "count", "RAM objective breaks"),
    "sla_breaks_uptime": ("int64", "count", "uptime objective breaks"),
    "penalties": ("float64", "currency", "sum of all penalties"),
    "costs": ("float64", "currency", "energy + hardware + carbon"),
    "profit": ("float64", "currency", "revenue - penalties - costs"),
    "margin_percent": ("float64", "%", "100 x profit / revenue"),
    "revenue": ("float64", "currency", "billed VM-hours x price"),
    "penalties_cpu": ("float64", "currency", "CPU penalties"),
    "penalties_ram": ("float64", "currency", "RAM penalties"),
    "penalties_uptime": ("float64", "currency", "uptime penalties"),
    "energy_cost": ("float64", "currency", "facility kWh x price"),
    "hardware_cost": ("float64", "currency", "host-hours x price"),
    "carbon_cost": ("float64", "currency", "tonnes of CO2 x carbon price"),
    "co2_kg": ("float64", "kg", "CO2 of the facility energy (0 without [carbon])"),
    "energy_kwh": ("float64", "kWh", "IT energy"),
    "facility_energy_kwh": ("float64", "kWh", "IT energy x PUE"),
    "downtime_s": ("float64", "s", "migration downtime of all VMs (ledger rule)"),
}



def billed_hours(result: RunResult, prices: PriceSpec) -> np.ndarray:
    """(n_vms,) hours billed per VM: steps placed (``placed``) or lifetime steps (``lifetime``) x step."""
    vms = result.tables["vms"]
    if prices.billing == "placed":
        steps = vms["steps_run"].to_numpy(np.float64)
    else:
        steps = (vms["depart_step"] - vms["arrive_step"]).clip(lower=0).to_numpy(np.float64)
    return steps * _step_s(result) / 3600.0


def price_per_hour(result: RunResult, prices: PriceSpec) -> np.ndarray:
    """(n_vms,) currency per hour: scale x (per_vcpu_hour x cores + per_gb_hour x booked RAM GB), or scale x
    the cheapest covering size of the price list (:class:`PriceSpec`)."""
    vms = result.tables["vms"]
    cores = vms["cores"].to_numpy(np.float64)
    ram_gb = vms["ram_booked_mb"].to_numpy(np.float64) / 1024.0
    if not prices.sizes:
        return prices.scale * (prices.per_vcpu_hour * cores + prices.per_gb_hour * ram_gb)
    vcpus = np.array([z.vcpus for z in prices.sizes])
    gb = np.array([z.ram_gb for z in prices.sizes])
    cost = np.array([z.per_hour for z in prices.sizes])
    # a size covers a VM when it has at least its vCPUs and RAM (1 ppm slack for MiB/GiB rounding)
    covers = (vcpus[None, :] >= cores[:, None] * (1 - 1e-6)) & (gb[None, :] >= ram_gb[:, None] * (1 - 1e-6))
    bad = ~covers.any(axis=1)
    if bad.any():
        ids = vms["vm_id"].to_numpy(str) if "vm_id" in vms else np.arange(len(vms)).astype(str)
        i = int(np.flatnonzero(bad)[0])
        raise ConfigError([f"ledger.prices.sizes: {int(bad.sum())} VM(s) fit no listed size, first VM {ids[i]} "
                           f"({cores[i]:g} vCPU, {ram_gb[i]:.3g} GiB booked); the largest sizes offer "
                           f"{vcpus.max():g} vCPU and {gb.max():g} GiB"])
    pick = np.argmin(np.where(covers, cost[None, :], np.inf), axis=1)
    return prices.scale * cost[pick]


def revenue_per_vm(result: RunResult, prices: PriceSpec) -> np.ndarray:
    """(n_vms,) revenue per VM over the run (independent of scheduling unless VMs are rejected)."""
    return price_per_hour(result, prices) * billed_hours(result, prices)


# ------------------------------------------------------------------------------------------------ ledger
def _class_breaks(result: RunResult, spec: LedgerSpec, vm_revenue: np.ndarray
                  ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray, float]:
    """Breaks, their rate and penalty, and each break's SLA class name, class by class; total downtime."""
    breaks, downtime = _breaks(result, spec.sla)
    if not spec.classes:
        rate, pen = _penalty_amounts(breaks, spec.sla, spec.penalties, vm_revenue)
        return breaks, rate, pen, np.full(len(breaks), "default", dtype=object), downtime
    of = sla_classes(result, spec)
    parts = []
    for i, c in enumerate([None, *spec.classes]):
        sla = spec.sla if c is None else c.sla(spec.sla)
        pens = spec.penalties if c is None else c.penalty_spec(spec.penalties)
        b = breaks if sla == spec.sla else _breaks(result, sla)[0]
        b = b[of[b["vm"].to_numpy(np.int64)] == i - 1]
        rate, pen = _penalty_amounts(b, sla, pens, vm_revenue)
        parts.append((b, rate, pen, np.full(len(b), "default" if c is None else c.name, dtype=object)))
    df = pd.concat([p[0] for p in parts], ignore_index=True)
    order = np.lexsort((df["vm"].to_numpy(), df["step"].to_numpy(),
                        pd.Categorical(df["resource"], ["cpu", "ram", "uptime"]).codes))
    cat = [np.concatenate([p[j] for p in parts]) for j in (1, 2, 3)]
    return df.iloc[order].reset_index(drop=True), cat[0][order], cat[1][order], cat[2][order], downtime


def _penalty_amounts(breaks: pd.DataFrame, sla: SlaSpec, penalties: PenaltySpec, vm_revenue: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    rate = np.zeros(len(breaks))
    amount = np.zeros(len(breaks))
    res = breaks["resource"].to_numpy(str)
    vm = breaks["vm"].to_numpy(np.int64)
    allowance = (1.0 - sla.uptime_target) * sla.uptime_window_h * 3600.0
    for name in ("cpu", "ram", "uptime"):
        p: Penalty = getattr(penalties, name)
        m = res == name
        if not m.any():
            continue
        if p.kind == "fixed":
            rate[m] = p.value
            amount[m] = p.value
        elif p.kind == "revenue-fraction":
            rate[m] = p.value
            amount[m] = p.value * vm_revenue[vm[m]]
        else:
            if name != "uptime":
                raise ValueError(f"penalties.{name}.kind: 'excess-downtime' applies to uptime only")
            rate[m] = p.value
            amount[m] = p.value * np.maximum(breaks["measure"].to_numpy()[m] - allowance, 0.0)
    return rate, amount


def _host_costs(result: RunResult, spec: LedgerSpec) -> tuple[pd.DataFrame, float, float]:
    hosts = result.tables["hosts"]
    manifest_energy = (result.manifest.get("scenario") or {}).get("energy") or {}
    price = spec.costs.energy_price_per_kwh
    if price is None:
        price = float(manifest_energy.get("price_per_kwh", 0.0))
    pue = spec.costs.pue if spec.costs.pue is not None else float(manifest_energy.get("pue", 1.0))
    kwh = hosts["energy_kwh"].to_numpy(np.float64)
    if spec.costs.hardware_basis == "park":
        hours = np.full(len(hosts), float(result.tables["summary"]["duration_h"].iloc[0]))
    else:
        hours = hosts["on_h"].to_numpy(np.float64)
    h = hosts["host"].to_numpy(np.int64)
    rate_hw = spec.costs.hardware_per_host_hour
    energy = pd.DataFrame({"category": "energy", "item": "host", "host": h, "measure": kwh * pue,
                           "unit": "kWh", "rate": price, "amount": -kwh * pue * price})
    hardware = pd.DataFrame({"category": "hardware", "item": "host", "host": h, "measure": hours,
                             "unit": "h", "rate": rate_hw, "amount": -hours * rate_hw})
    parts = [energy, hardware]
    if "co2_kg" in hosts.columns and float(hosts["co2_kg"].sum()) > 0:
        carbon_spec = (result.manifest.get("scenario") or {}).get("carbon") or {}
        rate_c = spec.costs.carbon_price_per_t
        if rate_c is None:
            rate_c = float(carbon_spec.get("price_per_t", 0.0))
        run_pue = float(manifest_energy.get("pue", 1.0))
        t_co2 = hosts["co2_kg"].to_numpy(np.float64) / run_pue * pue / 1000  # the ledger's PUE, in tonnes
        parts.append(pd.DataFrame({"category": "carbon", "item": "host", "host": h, "measure": t_co2, "unit": "t",
                                   "rate": rate_c, "amount": -t_co2 * rate_c}))
    return pd.concat(parts, ignore_index=True), float(kwh.sum()), pue


@dataclass
class Accounts:
    """The money of one run: ``ledger`` (every line, :data:`LEDGER_SCHEMA`) and ``summary`` (one dict,
    :data:`ACCOUNTS_SCHEMA`, the columns of Kohne's Table 10.10 first)."""

    ledger: pd.DataFrame
    summary: dict[str, Any]

    def table(self) -> pd.DataFrame:
        """The summary as a one-row table."""
        return pd.DataFrame([self.summary]).astype({c: d for c, (d, _, _) in ACCOUNTS_SCHEMA.items()})


def ledger(result: RunResult, spec: LedgerSpec | None = None) -> pd.DataFrame:
    """The auditable ledger of a run (see the module docstring); ``amount.sum()`` is the profit."""
    return account(result, spec).ledger


def account(result: RunResult, spec: LedgerSpec | dict[str, Any] | None = None) -> Accounts:
    """Ledger and summary of a finished run.

    Parameters
    ----------
    result : a run recorded with ``record_vm_steps = true``.
    spec : SLA rules, penalties, prices and costs (a :class:`LedgerSpec` or its dict); default: the
        reference's defaults with an uncalibrated price scale of 1.

    Returns
    -------
    Accounts with ``ledger`` (n_lines rows) and ``summary``.
    """
    spec = parse_ledger_spec(spec) if not isinstance(spec, LedgerSpec) else spec
    vms = result.tables["vms"]
    vm_ids = vms["vm_id"].to_numpy(str)
    hours = billed_hours(result, spec.prices)
    pph = price_per_hour(result, spec.prices)
    vm_rev = pph * hours
    breaks, rate, pen, klass, downtime = _class_breaks(result, spec, vm_rev)
    n_vm = len(vms)
    revenue = pd.DataFrame({"category": "revenue", "item": "vm", "vm": np.arange(n_vm), "measure": hours,
                            "unit": "h", "rate": pph, "amount": vm_rev})
    penalty = pd.DataFrame({"category": "penalty", "item": breaks["resource"], "vm": breaks["vm"],
                            "step": breaks["step"], "window": breaks["window"], "t_s": breaks["t_s"],
                            "measure": breaks["measure"], "unit": breaks["unit"], "rate": rate, "amount": -pen,
                            "sla_class": klass})
    costs, kwh, pue = _host_costs(result, spec)
    frames = [f for f in (revenue, penalty, costs) if len(f)]
    led = pd.concat(frames, ignore_index=True)
    for col, fill in (("vm", -1), ("host", -1), ("step", -1), ("window", -1), ("t_s", np.nan), ("sla_class", "")):
        led[col] = led[col].fillna(fill) if col in led else fill
    vm_col = led["vm"].to_numpy(np.int64)
    led["vm_id"] = np.where(vm_col >= 0, vm_ids[np.maximum(vm_col, 0)] if n_vm else "", "")
    led["line"] = np.arange(len(led))
    led = led[list(LEDGER_SCHEMA)].astype({c: d for c, (d, _, _) in LEDGER_SCHEMA.items()})
    return Accounts(ledger=led, summary=summarize(led, result, kwh=kwh, pue=pue, downtime_s=downtime))


def summarize(led: pd.DataFrame, result: RunResult, kwh: float | None = None, pue: float = 1.0,
              downtime_s: float = float("nan")) -> dict[str, Any]:
    """Table-10.10 figures from a ledger: money sums by category, break counts, migrations, margin."""
    amt = led["amount"].to_numpy(np.float64)
    cat = led["category"].to_numpy(str)
    item = led["item"].to_numpy(str)

    def total(mask: np.ndarray) -> float:
        return float(amt[mask].sum())

    pen = cat == "penalty"
    revenue = total(cat == "revenue")
    penalties = -total(pen)
    costs = -total((cat == "energy") | (cat == "hardware") | (cat == "carbon"))
    profit = float(amt.sum())
    if kwh is None:
        kwh = float(result.tables["hosts"]["energy_kwh"].sum())
    return {k: v + 0.0 if isinstance(v, float) else v for k, v in {
        "migrations": int(result.tables["summary"]["migrations"].iloc[0]),
        "sla_breaks_cpu": int(np.count_nonzero(pen & (item == "cpu"))),
        "sla_breaks_ram": int(np.count_nonzero(pen & (item == "ram"))),
        "sla_breaks_uptime": int(np.count_nonzero(pen & (item == "uptime"))),
        "penalties": penalties,
        "costs": costs,
        "profit": profit,
        "margin_percent": 100.0 * profit / revenue if revenue else float("nan"),
        "revenue": revenue,
        "penalties_cpu": -total(pen & (item == "cpu")),
        "penalties_ram": -total(pen & (item == "ram")),
        "penalties_uptime": -total(pen & (item == "uptime")),
        "energy_cost": -total(cat == "energy"),
        "hardware_cost": -total(cat == "hardware"),
        "carbon_cost": -total(cat == "carbon"),
        "co2_kg": 1000 * float(led.loc[cat == "carbon", "measure"].sum()),
        "energy_kwh": kwh,
        "facility_energy_kwh": kwh * pue,
        "downtime_s": downtime_s,
    }.items()}
