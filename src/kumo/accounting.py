"""SLA breaks, penalties, revenue, energy and hardware cost, profit and margin of one run: one ledger.

The model is FederatedCloudSim's "CloudAccount" as reconstructed in
``shared/reference/kohne-sla-scheduling.md`` (§4 SLA, §5 money). Every VM has one SLA with a CPU, a RAM
and an uptime objective. The functions here are pure: they read a finished :class:`~kumo.results.RunResult`
(its tables and the per-step per-VM matrices recorded with ``record_vm_steps = true``) and a
:class:`LedgerSpec`, and return tables. Nothing is simulated again, so penalty or price changes cost
milliseconds.

The ledger has one line per money item, signed (income > 0, expense < 0), so that
``profit == ledger.amount.sum()`` and a user can audit every figure line by line:

* ``revenue``: one line per VM (billed hours x price per hour);
* ``penalty``: one line per SLA break (which VM broke which objective, at which step or in which
  uptime window, by how much, and what it cost);
* ``energy``: one line per host (IT kWh x PUE x price);
* ``hardware``: one line per host (host-hours x cost per host-hour).

Exact facts (Table 10.10, [D] in the reference): ``profit = revenue - penalties - costs``, a CPU break
costs 160 and a RAM break 120. Everything else is an assumption of the reference ([A]) and a parameter
here; the defaults are the reference's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kumo.errors import ConfigError
from kumo.results import RunResult

__all__ = [
    "ACCOUNTS_SCHEMA",
    "Accounts",
    "CostSpec",
    "LEDGER_SCHEMA",
    "LedgerSpec",
    "Penalty",
    "PenaltySpec",
    "PriceSpec",
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
    "summarize",
]

#: JSON dict of the money and break columns, in the order of Kohne's Table 10.10 first
REFERENCE_COLUMNS = ("migrations", "sla_breaks_cpu", "sla_breaks_ram", "sla_breaks_uptime", "penalties",
                     "costs", "profit", "margin_percent", "revenue")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SlaSpec(_Strict):
    """What counts as a break of each objective (reference §4, every rule an [A] default).

    Attributes
    ----------
    check : when the CPU and RAM objectives are checked. ``mean``: over the whole step — a VM-step
        breaks when the CPU delivered in the step (time mean, as the engine integrates it) falls short of
        the demand, or when the VM gets a share of its host's RAM shortfall. ``end``: at the end of each
        step, once the migrations decided at its start have completed (a scheduler checking its SLAs at
        its scheduling points; see :func:`end_of_step_loads`) — a VM-step breaks when the VM's host then
        carries more CPU or RAM demand than it has. Under proportional sharing every VM on such a host
        falls short by the same fraction.
    inflight_at : for ``check = "end"``, where a VM still migrating at a step's end counts: ``source``
        (as the engine runs it; the target holds a reservation) or ``target`` (cold migration: the stopped
        VM has left its source).
    cpu_tolerance : a VM-step breaks the CPU objective when its shortfall exceeds tolerance x its demand
        (demand capped at the booking by the engine). Shortfalls below 1 ppm are float noise and never count.
    ram_tolerance : as ``cpu_tolerance`` for RAM. The engine splits a host's RAM shortfall over its VMs in
        proportion to their RAM demand, so every VM with RAM demand on a host whose physical RAM is
        exhausted breaks (the reference's "each VM on that host" reading).
    counting : ``interval`` (one break per VM per step in violation, the default) or ``episode`` (one per
        contiguous run of violating steps of a VM).
    uptime_window_h, uptime_target : the uptime objective: a VM's migration downtime within one calendar
        window (aligned at the trace start) may not exceed (1 - target) x window; each window in excess is
        one break. Defaults 24 h and 99.9 % (86.4 s a day).
    downtime : downtime per migration: ``cold`` (the VM is down for the whole copy, d = t_mig, the
        reference's default), ``live`` (d = live_downtime_fraction x t_mig), ``fixed`` (d =
        fixed_downtime_s whatever the VM's size: the stop-and-copy of a live migration and the switch-over)
        or ``engine`` (the downtime the engine's migration model recorded).
    migrated_ram : what a migration copies for ``cold``/``live``: ``used`` (the VM's RAM demand at the
        start of the migration, the reference's default, §3.6) or ``booked``.
    migration_mbps, migration_bandwidth_share : link speed and the share serving migration:
        t_mig = RAM_MB / (mbps x share / 8), CloudSim's rule (16.4 s per GB at 1 Gbit/s and 50 %).
    """

    check: Literal["mean", "end"] = "mean"
    inflight_at: Literal["source", "target"] = "source"
    cpu_tolerance: float = Field(default=0.0, ge=0, lt=1)
    ram_tolerance: float = Field(default=0.0, ge=0, lt=1)
    counting: Literal["interval", "episode"] = "interval"
    uptime_window_h: float = Field(default=24.0, gt=0)
    uptime_target: float = Field(default=0.999, ge=0, le=1)
    downtime: Literal["cold", "live", "fixed", "engine"] = "cold"
    live_downtime_fraction: float = Field(default=0.05, ge=0, le=1)
    fixed_downtime_s: float = Field(default=10.0, ge=0)
    migrated_ram: Literal["used", "booked"] = "used"
    migration_mbps: float = Field(default=1000.0, gt=0)
    migration_bandwidth_share: float = Field(default=0.5, gt=0, le=1)


class Penalty(_Strict):
    """The price of one break.

    ``kind`` and the meaning of ``value``: ``fixed`` — currency per break; ``revenue-fraction`` — fraction of
    the breaking VM's revenue over the accounting period (H-UT1 of the reference, §1.3, for uptime);
    ``excess-downtime`` (uptime only; H-UT2) — currency per second of downtime above the window's allowance.
    """

    kind: Literal["fixed", "revenue-fraction", "excess-downtime"] = "fixed"
    value: float = Field(default=0.0, ge=0)


class PenaltySpec(_Strict):
    """Penalty per break type. CPU 160 and RAM 120 per break are exact ([D], reference §1.3); the uptime
    rule is H-UT1 (10 % of the VM's period revenue per break), an assumption ([A])."""

    cpu: Penalty = Penalty(kind="fixed", value=160.0)
    ram: Penalty = Penalty(kind="fixed", value=120.0)
    uptime: Penalty = Penalty(kind="revenue-fraction", value=0.10)


class PriceSpec(_Strict):
    """Revenue: ``price_per_hour(vm) = scale x (per_vcpu_hour x vcpus + per_gb_hour x booked_ram_gb)``.

    The weights' ratio 7.46 : 1 and billing by hours are the reference's assumption (§5); ``scale`` is
    calibrated so that the embedded trace earns Kohne's 60,806.34 (see ``data/kohne-calibration.json``).
    ``billing``: ``placed`` bills the steps a VM was placed (a rejected VM pays nothing), ``lifetime`` the
    steps of its trace lifetime. Without rejections both agree.
    """

    scale: float = Field(default=1.0, ge=0)
    per_vcpu_hour: float = Field(default=7.46, ge=0)
    per_gb_hour: float = Field(default=1.0, ge=0)
    billing: Literal["placed", "lifetime"] = "placed"


class CostSpec(_Strict):
    """Costs: energy (IT kWh x PUE x price) and hardware (cost per host-hour).

    ``energy_price_per_kwh`` and ``pue`` default to the scenario's ``energy`` section (None). Hardware is
    charged for every host of the park for the whole run (``park``, capex and operations, independent of
    the power state) or only while a host is on (``on``).
    """

    energy_price_per_kwh: float | None = Field(default=None, ge=0)
    pue: float | None = Field(default=None, ge=1)
    hardware_per_host_hour: float = Field(default=0.0, ge=0)
    hardware_basis: Literal["park", "on"] = "park"


class LedgerSpec(_Strict):
    """Everything the ledger needs besides the run: SLA rules, penalties, prices, costs."""

    sla: SlaSpec = SlaSpec()
    penalties: PenaltySpec = PenaltySpec()
    prices: PriceSpec = PriceSpec()
    costs: CostSpec = CostSpec()


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
    "category": ("string", "-", "revenue / penalty / energy / hardware"),
    "item": ("string", "-", "vm (revenue), cpu / ram / uptime (penalty), host (costs)"),
    "vm": ("int64", "-", "VM index, -1 if none"),
    "vm_id": ("string", "-", "VM identifier from the trace, empty if none"),
    "host": ("int64", "-", "host index, -1 if none"),
    "step": ("int64", "-", "step of the break (first step of the window or episode), -1 if none"),
    "window": ("int64", "-", "uptime window index, -1 if none"),
    "t_s": ("float64", "s", "start of the step or window, NaN if none"),
    "measure": ("float64", "-", "what was measured: shortfall, downtime or quantity billed (see unit)"),
    "unit": ("string", "-", "unit of measure"),
    "rate": ("float64", "currency/unit", "price applied to the measure or per break"),
    "amount": ("float64", "currency", "signed: income > 0, expense < 0"),
}

#: accounts (summary) column -> (dtype, unit, description)
ACCOUNTS_SCHEMA: dict[str, tuple[str, str, str]] = {
    "migrations": ("int64", "count", "migrations started"),
    "sla_breaks_cpu": ("int64", "count", "CPU objective breaks"),
    "sla_breaks_ram": ("int64", "count", "RAM objective breaks"),
    "sla_breaks_uptime": ("int64", "count", "uptime objective breaks"),
    "penalties": ("float64", "currency", "sum of all penalties"),
    "costs": ("float64", "currency", "energy + hardware"),
    "profit": ("float64", "currency", "revenue - penalties - costs"),
    "margin_percent": ("float64", "%", "100 x profit / revenue"),
    "revenue": ("float64", "currency", "billed VM-hours x price"),
    "penalties_cpu": ("float64", "currency", "CPU penalties"),
    "penalties_ram": ("float64", "currency", "RAM penalties"),
    "penalties_uptime": ("float64", "currency", "uptime penalties"),
    "energy_cost": ("float64", "currency", "facility kWh x price"),
    "hardware_cost": ("float64", "currency", "host-hours x price"),
    "energy_kwh": ("float64", "kWh", "IT energy"),
    "facility_energy_kwh": ("float64", "kWh", "IT energy x PUE"),
    "downtime_s": ("float64", "s", "migration downtime of all VMs (ledger rule)"),
}


# ------------------------------------------------------------------------------------------------ inputs
def _arrays(result: RunResult, *names: str) -> list[np.ndarray]:
    missing = [n for n in names if n not in result.arrays]
    if missing:
        raise ValueError(f"accounting needs the per-step VM matrices {missing}: run the scenario with "
                         "record_vm_steps = true")
    return [result.arrays[n] for n in names]


def _step_s(result: RunResult) -> float:
    return float(result.tables["summary"]["step_s"].iloc[0])


def billed_hours(result: RunResult, prices: PriceSpec) -> np.ndarray:
    """(n_vms,) hours billed per VM: steps placed (``placed``) or lifetime steps (``lifetime``) x step."""
    vms = result.tables["vms"]
    if prices.billing == "placed":
        steps = vms["steps_run"].to_numpy(np.float64)
    else:
        steps = (vms["depart_step"] - vms["arrive_step"]).clip(lower=0).to_numpy(np.float64)
    return steps * _step_s(result) / 3600.0


def price_per_hour(result: RunResult, prices: PriceSpec) -> np.ndarray:
    """(n_vms,) currency per hour: scale x (per_vcpu_hour x cores + per_gb_hour x booked RAM GB)."""
    vms = result.tables["vms"]
    size = prices.per_vcpu_hour * vms["cores"].to_numpy(np.float64) + \
        prices.per_gb_hour * vms["ram_booked_mb"].to_numpy(np.float64) / 1024.0
    return prices.scale * size


def revenue_per_vm(result: RunResult, prices: PriceSpec) -> np.ndarray:
    """(n_vms,) revenue per VM over the run (independent of scheduling unless VMs are rejected)."""
    return price_per_hour(result, prices) * billed_hours(result, prices)


def migration_downtime_s(result: RunResult, sla: SlaSpec) -> np.ndarray:
    """(n_migrations,) downtime of each migration under the ledger's rule (``cold``, ``live`` or ``fixed``).

    t_mig = RAM_MB / (migration_mbps x share / 8) with RAM = the VM's RAM demand at the start step
    (``used``) or its booking (``booked``); cold: d = t_mig, live: d = fraction x t_mig. For
    ``downtime = "engine"`` use the engine's per-step matrix instead (see :func:`sla_breaks`).
    """
    mig = result.tables["migrations"]
    if len(mig) == 0:
        return np.zeros(0)
    if sla.downtime == "fixed":
        return np.full(len(mig), sla.fixed_downtime_s)
    if sla.migrated_ram == "booked":
        ram = result.tables["vms"]["ram_booked_mb"].to_numpy(np.float64)[mig["vm"].to_numpy(np.int64)]
    else:
        (ram_demand,) = _arrays(result, "vm_ram_demand_mb")
        step = np.minimum((mig["start_s"].to_numpy() / _step_s(result)).astype(np.int64), ram_demand.shape[0] - 1)
        ram = ram_demand[step, mig["vm"].to_numpy(np.int64)].astype(np.float64)
    t_mig = ram / (sla.migration_mbps * sla.migration_bandwidth_share / 8.0)
    return t_mig if sla.downtime == "cold" else sla.live_downtime_fraction * t_mig


# ------------------------------------------------------------------------------------------------ breaks
_BREAK_COLUMNS = ("vm", "resource", "step", "window", "t_s", "measure", "unit")


def _count_rule(viol: np.ndarray, counting: str) -> np.ndarray:
    if counting == "interval":
        return viol
    starts = viol.copy()
    starts[1:] &= ~viol[:-1]
    return starts


def _resource_breaks(viol: np.ndarray, measure: np.ndarray, counting: str, resource: str, unit: str,
                     step_s: float) -> dict[str, np.ndarray]:
    hits = _count_rule(viol, counting)
    step, vm = np.nonzero(hits)
    return {"vm": vm, "resource": np.full(len(vm), resource), "step": step, "window": np.full(len(vm), -1),
            "t_s": step * step_s, "measure": measure[step, vm].astype(np.float64), "unit": np.full(len(vm), unit)}


def downtime_per_window(result: RunResult, sla: SlaSpec) -> np.ndarray:
    """(n_windows, n_vms) migration downtime in seconds per uptime window (calendar windows of
    ``uptime_window_h`` from the trace start; a migration counts in the window where it starts)."""
    step_s = _step_s(result)
    n_steps = int(result.tables["summary"]["steps"].iloc[0])
    n_vms = len(result.tables["vms"])
    window_s = sla.uptime_window_h * 3600.0
    n_windows = max(1, int(np.ceil(n_steps * step_s / window_s)))
    if sla.downtime == "engine":
        (down,) = _arrays(result, "vm_downtime_s")
        step, vm = np.nonzero(down)
        t = step * step_s
        d = down[step, vm].astype(np.float64)
    else:
        mig = result.tables["migrations"]
        vm = mig["vm"].to_numpy(np.int64)
        t = mig["start_s"].to_numpy(np.float64)
        d = migration_downtime_s(result, sla)
    win = np.minimum((t // window_s).astype(np.int64), n_windows - 1)
    return np.bincount(win * n_vms + vm, weights=d, minlength=n_windows * n_vms).reshape(n_windows, n_vms)


def _uptime_breaks(result: RunResult, sla: SlaSpec, n_steps: int, n_vms: int, step_s: float
                   ) -> tuple[dict[str, np.ndarray], float]:
    per = downtime_per_window(result, sla)
    window_s = sla.uptime_window_h * 3600.0
    allowance = (1.0 - sla.uptime_target) * window_s
    w, v = np.nonzero(per > allowance * (1 + 1e-12) + 1e-9)
    step_of = np.minimum((w * window_s / step_s).astype(np.int64), max(n_steps - 1, 0))
    return ({"vm": v, "resource": np.full(len(v), "uptime"), "step": step_of, "window": w,
             "t_s": w * window_s, "measure": per[w, v], "unit": np.full(len(v), "s")}, float(per.sum()))


def sla_breaks(result: RunResult, sla: SlaSpec | None = None) -> pd.DataFrame:
    """Every SLA break of a run, one row each, ordered by resource (cpu, ram, uptime), step, VM.

    Columns: ``vm``, ``resource`` (cpu / ram / uptime), ``step`` (the step of a CPU/RAM break or the first
    step of an episode or uptime window), ``window`` (uptime window index, else -1), ``t_s``, ``measure``
    (CPU shortfall MHz, RAM shortfall MB — time means over the step — or downtime s in the window) and
    ``unit``. Needs ``record_vm_steps``.
    """
    return _breaks(result, sla or SlaSpec())[0]


def end_of_step_loads(result: RunResult, inflight_at: str = "source") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where every VM is and what every host carries at the end of each step, after the step's migrations.

    Rebuilt exactly from the recorded placement (``vm_host``: the source while a VM migrates), the demand
    matrices and the migrations table: a migration that ends within step k (end <= (k+1) x step) has
    moved its VM to the target by the end of k; one still in flight at the end of a step leaves the VM's
    demand on its source and adds the target's reservation (the migration model's
    ``target_cpu_reserve`` x CPU demand, all of its RAM demand), as the engine integrates it
    (``inflight_at="source"``). With ``inflight_at="target"`` a VM in flight counts on its target only
    (a cold migration: the VM is stopped and has left its source as far as the SLA check goes).

    Returns
    -------
    host_end : (n_steps, n_vms) int, host at the step's end (-1 if none).
    cpu_end, ram_end : (n_steps, n_hosts) float64 CPU MHz and RAM MB demanded on each host at the step's end.
    """
    cpu_d, ram_d, host = _arrays(result, "vm_cpu_demand_mhz", "vm_ram_demand_mb", "vm_host")
    n_steps, _ = cpu_d.shape
    nh = len(result.tables["hosts"])
    dt = _step_s(result)
    host_end = host.astype(np.int64)  # a copy
    mig = result.tables["migrations"]
    mig = mig[mig["status"] != "aborted"]
    vm = mig["vm"].to_numpy(np.int64)
    k0 = np.round(mig["start_s"].to_numpy() / dt).astype(np.int64)
    k1 = np.ceil(mig["end_s"].to_numpy() / dt - 1e-9).astype(np.int64) - 1  # step in which it ends
    k1 = np.maximum(k1, k0)
    done = k1 < n_steps
    host_end[k1[done], vm[done]] = mig["dst"].to_numpy(np.int64)[done]
    spans = np.minimum(k1, n_steps) - k0  # steps at whose end the migration is still in flight
    if spans.sum() > 0 and inflight_at == "target":
        rep = np.repeat(np.arange(len(vm)), spans)
        k = k0[rep] + (np.arange(len(rep)) - np.repeat(np.cumsum(spans) - spans, spans))
        host_end[k, vm[rep]] = mig["dst"].to_numpy(np.int64)[rep]
        spans = np.zeros_like(spans)
    placed = host_end >= 0
    flat = (np.arange(n_steps)[:, None] * nh + host_end)[placed]
    cpu_end = np.bincount(flat, cpu_d[placed].astype(np.float64), n_steps * nh)
    ram_end = np.bincount(flat, ram_d[placed].astype(np.float64), n_steps * nh)
    if spans.sum() > 0:
        reserve = float(((result.manifest.get("scenario") or {}).get("migration") or {}).get("params", {})
                        .get("target_cpu_reserve", 0.1))
        rep = np.repeat(np.arange(len(vm)), spans)
        k = k0[rep] + (np.arange(len(rep)) - np.repeat(np.cumsum(spans) - spans, spans))
        f = k * nh + mig["dst"].to_numpy(np.int64)[rep]
        cpu_end += np.bincount(f, reserve * cpu_d[k, vm[rep]].astype(np.float64), n_steps * nh)
        ram_end += np.bincount(f, ram_d[k, vm[rep]].astype(np.float64), n_steps * nh)
    return host_end, cpu_end.reshape(n_steps, nh), ram_end.reshape(n_steps, nh)


def shortfalls(result: RunResult, sla: SlaSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per VM-step CPU and RAM shortfalls (MHz, MB, float32) under ``sla.check``, and the break masks
    under the tolerances; all (n_steps, n_vms)."""
    cpu_d, ram_d = _arrays(result, "vm_cpu_demand_mhz", "vm_ram_demand_mb")
    if sla.check == "mean":
        cpu_g, ram_s, host = _arrays(result, "vm_cpu_delivered_mhz", "vm_ram_shortfall_mb", "vm_host")
        placed = host >= 0
        cpu_short = cpu_d - cpu_g
        ram_short = ram_s
        cpu_viol = placed & (cpu_short > cpu_d * np.float32(max(sla.cpu_tolerance, 1e-6)))
        ram_viol = placed & (ram_short > ram_d * np.float32(sla.ram_tolerance) + np.float32(1e-6))
        return cpu_short, ram_short, cpu_viol, ram_viol
    host, cpu_end, ram_end = end_of_step_loads(result, sla.inflight_at)
    placed = host >= 0
    hosts = result.tables["hosts"]
    with np.errstate(divide="ignore", invalid="ignore"):
        # fraction of its demand every VM on a host misses at the step's end (proportional sharing)
        frac_c = np.maximum(1.0 - hosts["cpu_mhz"].to_numpy(np.float64)[None, :] / cpu_end, 0.0)
        frac_r = np.maximum(1.0 - hosts["ram_mb"].to_numpy(np.float64)[None, :] / ram_end, 0.0)
    rows = np.arange(host.shape[0])[:, None]
    h = np.maximum(host, 0)
    fc = frac_c.astype(np.float32)[rows, h]
    fr = frac_r.astype(np.float32)[rows, h]
    cpu_viol = placed & (fc > np.float32(max(sla.cpu_tolerance, 1e-6))) & (cpu_d > 0)
    ram_viol = placed & (fr * ram_d > ram_d * np.float32(sla.ram_tolerance) + np.float32(1e-6))
    return cpu_d * fc, ram_d * fr, cpu_viol, ram_viol


def _breaks(result: RunResult, sla: SlaSpec) -> tuple[pd.DataFrame, float]:
    (cpu_d,) = _arrays(result, "vm_cpu_demand_mhz")
    n_steps, n_vms = cpu_d.shape
    step_s = _step_s(result)
    cpu_short, ram_s, cpu_viol, ram_viol = shortfalls(result, sla)
    parts = [
        _resource_breaks(cpu_viol, cpu_short, sla.counting, "cpu", "MHz", step_s),
        _resource_breaks(ram_viol, ram_s, sla.counting, "ram", "MB", step_s),
    ]
    ut, downtime = _uptime_breaks(result, sla, n_steps, n_vms, step_s)
    parts.append(ut)
    df = pd.DataFrame({c: np.concatenate([p[c] for p in parts]) for c in _BREAK_COLUMNS})
    df = df.astype({"vm": "int64", "resource": "string", "step": "int64", "window": "int64", "t_s": "float64",
                    "measure": "float64", "unit": "string"})
    return df.reset_index(drop=True), downtime


# ------------------------------------------------------------------------------------------------ ledger
def _penalty_amounts(breaks: pd.DataFrame, spec: LedgerSpec, vm_revenue: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rate = np.zeros(len(breaks))
    amount = np.zeros(len(breaks))
    res = breaks["resource"].to_numpy(str)
    vm = breaks["vm"].to_numpy(np.int64)
    allowance = (1.0 - spec.sla.uptime_target) * spec.sla.uptime_window_h * 3600.0
    for name in ("cpu", "ram", "uptime"):
        p: Penalty = getattr(spec.penalties, name)
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
    return pd.concat([energy, hardware], ignore_index=True), float(kwh.sum()), pue


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
    breaks, downtime = _breaks(result, spec.sla)
    rate, pen = _penalty_amounts(breaks, spec, vm_rev)
    n_vm = len(vms)
    revenue = pd.DataFrame({"category": "revenue", "item": "vm", "vm": np.arange(n_vm), "measure": hours,
                            "unit": "h", "rate": pph, "amount": vm_rev})
    penalty = pd.DataFrame({"category": "penalty", "item": breaks["resource"], "vm": breaks["vm"],
                            "step": breaks["step"], "window": breaks["window"], "t_s": breaks["t_s"],
                            "measure": breaks["measure"], "unit": breaks["unit"], "rate": rate, "amount": -pen})
    costs, kwh, pue = _host_costs(result, spec)
    frames = [f for f in (revenue, penalty, costs) if len(f)]
    led = pd.concat(frames, ignore_index=True)
    for col, fill in (("vm", -1), ("host", -1), ("step", -1), ("window", -1), ("t_s", np.nan)):
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
    costs = -total((cat == "energy") | (cat == "hardware"))
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
        "energy_kwh": kwh,
        "facility_energy_kwh": kwh * pue,
        "downtime_s": downtime_s,
    }.items()}
