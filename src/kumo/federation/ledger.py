"""Money in a federation: one signed line per item and party, in whole cents, so that per-provider ledgers
sum *exactly* to the federation total and every inter-provider payment cancels out.

Who pays whom (FederatedCloudSim's CloudAccount, Kohne et al., CrossCloud 2017; the per-item rules are
those of :mod:`kumo.accounting`):

* a customer pays its own provider (``home``) for every hour each VM ran, at the home provider's customer
  price list times the SLA class's ``price_factor`` — wherever the VM ran (``revenue``);
* the home provider pays the customer every SLA penalty of its template (``penalty``): the customer's
  contract is with its provider, not with the federation;
* for a VM the home provider outsourced, it pays the hosting partner the agreed price per hour
  (``outsourcing`` at home, ``insourcing`` at the host: the same cents), and the host reimburses
  ``federation.penalty_share`` of that VM's penalties (``penalty-reimbursement``, paid by the host,
  received by home), because the host ran the VM when it broke;
* every data center's owner pays its facility energy (IT kWh x PUE x price) and hardware (hosts x hours x
  price per host-hour).

Each line has ``party`` (whose ledger), ``counterparty`` (``customer:<name>``, ``provider:<name>``,
``energy``, ``hardware``), ``category``, ``item``, the VM and data center it concerns, ``measure`` x ``rate``
and the signed amount (income > 0). Amounts are rounded to cents per line, as a bookkeeper would; totals are
integer sums.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from kumo.accounting import Penalty, SlaSpec

if TYPE_CHECKING:
    from kumo.federation.spec import FederationSpec, SlaTemplate

__all__ = ["LEDGER_COLUMNS", "Usage", "build_ledger", "cents", "flows", "provider_totals", "uptime_breaks"]

#: inter-provider categories: each appears once on each side with opposite signs
INTER_PROVIDER = ("outsourcing", "insourcing", "penalty-reimbursement")

LEDGER_COLUMNS: dict[str, tuple[str, str, str]] = {
    "line": ("int64", "-", "line number"),
    "party": ("string", "-", "provider whose ledger holds the line"),
    "counterparty": ("string", "-", "customer:<name>, provider:<name>, energy, hardware or carbon"),
    "category": ("string", "-", "revenue, penalty, outsourcing, insourcing, penalty-reimbursement, energy, hardware, "
                 "carbon"),
    "item": ("string", "-", "vm, cpu / ram / uptime (penalties), dc"),
    "vm": ("int64", "-", "VM index (trace order), -1 if none"),
    "vm_id": ("string", "-", "VM identifier, empty if none"),
    "dc": ("int64", "-", "data center index, -1 if none"),
    "measure": ("float64", "-", "hours, breaks, kWh or host-hours (see unit)"),
    "unit": ("string", "-", "unit of measure"),
    "rate": ("float64", "currency/unit", "price applied per unit"),
    "amount_cents": ("int64", "cent", "signed amount in cents: income > 0"),
    "amount": ("float64", "currency", "amount_cents / 100"),
}


def cents(x: np.ndarray | float) -> np.ndarray:
    """Amounts rounded half-to-even to whole cents, as int64."""
    return np.rint(np.asarray(x, dtype=np.float64) * 100.0).astype(np.int64)


@dataclass
class Usage:
    """What the run produced that money depends on (built by the runner).

    Attributes
    ----------
    stay_vm, stay_dc, stay_hours, stay_cpu_breaks, stay_ram_breaks : (s,) one entry per (VM, data center)
        where the VM ran at least one step: hours run there and CPU / RAM breaks there.
    uptime_vm, uptime_windows, uptime_excess_s : (u,) one entry per VM with uptime breaks: windows broken
        and the summed downtime above the allowance in those windows.
    vm_ids : (n_vms,) str.
    home : (n_vms,) int, each VM's provider; ``customer`` (n_vms,) int; ``template`` (n_vms,) int index into
        ``templates``.
    customer_price : (n_vms,) currency per hour the customer pays its provider.
    host : (n_vms,) int, the partner a VM was outsourced to, -1 otherwise; ``partner_price`` (n_vms,)
        the agreed price per hour (NaN if never outsourced). A stay is outsourced when the data center's
        owner is not the VM's provider; CPU/RAM penalties are reimbursed by the owner of the data center
        where they happened, uptime penalties by the partner only if the VM never ran at home.
    dc_owner : (n_dc,) int provider; ``dc_facility_kwh``, ``dc_energy_price``, ``dc_host_hours``,
        ``dc_hardware_rate``, ``dc_co2_t`` (tonnes of CO2 of its facility energy), ``dc_carbon_price``
        (currency per tonne) (n_dc,).
    """

    stay_vm: np.ndarray
    stay_dc: np.ndarray
    stay_hours: np.ndarray
    stay_cpu_breaks: np.ndarray
    stay_ram_breaks: np.ndarray
    uptime_vm: np.ndarray
    uptime_windows: np.ndarray
    uptime_excess_s: np.ndarray
    vm_ids: np.ndarray
    home: np.ndarray
    customer: np.ndarray
    template: np.ndarray
    customer_price: np.ndarray
    host: np.ndarray
    partner_price: np.ndarray
    dc_owner: np.ndarray
    dc_facility_kwh: np.ndarray
    dc_energy_price: np.ndarray
    dc_host_hours: np.ndarray
    dc_hardware_rate: np.ndarray
    dc_co2_t: np.ndarray | None = None
    dc_carbon_price: np.ndarray | None = None


def uptime_breaks(vm: np.ndarray, t_s: np.ndarray, down_s: np.ndarray, sla_of_vm: list[SlaSpec],
                  n_vms: int, duration_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Uptime breaks per VM from downtime events (kohne-sla-scheduling.md §4, as
    :func:`kumo.accounting.sla_breaks`: calendar windows from the trace start; a window whose downtime
    exceeds (1 - target) x window is one break).

    Parameters
    ----------
    vm, t_s, down_s : (e,) downtime events: VM, time, seconds down.
    sla_of_vm : the SLA rules of each VM (length n_vms).

    Returns
    -------
    (vms, windows broken, excess seconds summed over broken windows), one entry per VM with a break.
    """
    out_vm, out_w, out_x = [], [], []
    if len(vm) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    by_spec: dict[SlaSpec, list[int]] = {}
    for v in np.unique(vm):
        by_spec.setdefault(sla_of_vm[int(v)], []).append(int(v))
    for sla, vms in by_spec.items():
        window_s = sla.uptime_window_h * 3600.0
        n_w = max(1, int(np.ceil(duration_s / window_s)))
        m = np.isin(vm, vms)
        win = np.minimum((t_s[m] // window_s).astype(np.int64), n_w - 1)
        per = np.bincount(win * n_vms + vm[m], weights=down_s[m], minlength=n_w * n_vms).reshape(n_w, n_vms)
        allowance = (1.0 - sla.uptime_target) * window_s
        broken = per > allowance * (1 + 1e-12) + 1e-9
        count = broken.sum(axis=0)
        excess = np.where(broken, per - allowance, 0.0).sum(axis=0)
        hit = np.flatnonzero(count)
        out_vm.append(hit)
        out_w.append(count[hit])
        out_x.append(excess[hit])
    order_vm = np.concatenate(out_vm)
    o = np.argsort(order_vm, kind="stable")
    return order_vm[o].astype(np.int64), np.concatenate(out_w)[o].astype(np.int64), np.concatenate(out_x)[o]


def _penalty(p: Penalty, breaks: np.ndarray, revenue: np.ndarray, excess_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rate, amount) of penalty lines under one rule; amounts >= 0."""
    if p.kind == "fixed":
        return np.full(len(breaks), p.value), p.value * breaks
    if p.kind == "revenue-fraction":
        return np.full(len(breaks), p.value), p.value * breaks * revenue
    return np.full(len(breaks), p.value), p.value * excess_s


def build_ledger(spec: FederationSpec, u: Usage) -> pd.DataFrame:
    """Every money line of a federation run (columns :data:`LEDGER_COLUMNS`).

    ``spec`` is the :class:`~kumo.federation.spec.FederationSpec` (names, SLA templates, penalty share).
    """
    pname = np.array([p.name for p in spec.providers], dtype=object)
    cname = np.array([c.name for c in spec.customers], dtype=object)
    templates = _templates(spec)
    share = spec.federation.penalty_share
    n_vms = len(u.vm_ids)
    rows: list[pd.DataFrame] = []

    def add(party: np.ndarray, counter: np.ndarray, category: str, item: np.ndarray | str, vm: np.ndarray,
            dc: np.ndarray, measure: np.ndarray, unit: str, rate: np.ndarray, amount_cents: np.ndarray) -> None:
        if len(amount_cents):
            rows.append(pd.DataFrame({"party": party, "counterparty": counter, "category": category,
                                      "item": item, "vm": vm, "dc": dc, "measure": measure, "unit": unit,
                                      "rate": rate, "amount_cents": amount_cents}))

    sv, sd = u.stay_vm.astype(np.int64), u.stay_dc.astype(np.int64)
    home_s = u.home[sv]
    cust_s = "customer:" + cname[u.customer[sv]]
    rev = u.customer_price[sv] * u.stay_hours
    add(pname[home_s], cust_s, "revenue", "vm", sv, sd, u.stay_hours, "h", u.customer_price[sv], cents(rev))
    vm_revenue = np.bincount(sv, rev, n_vms)
    # penalties, charged by the home provider's template of the VM
    pen_parts = []  # (vm, dc, item, breaks, rate, cents)
    for item, count in (("cpu", u.stay_cpu_breaks), ("ram", u.stay_ram_breaks)):
        m = count > 0
        if not m.any():
            continue
        v, d, c = sv[m], sd[m], count[m].astype(np.float64)
        rate, amt = np.zeros(len(v)), np.zeros(len(v))
        for t, tpl in enumerate(templates):
            k = u.template[v] == t
            if k.any():
                rate[k], amt[k] = _penalty(getattr(tpl.penalties, item), c[k], vm_revenue[v[k]], np.zeros(k.sum()))
        pen_parts.append((v, d, item, c, rate, cents(amt)))
    if len(u.uptime_vm):
        v = u.uptime_vm.astype(np.int64)
        c = u.uptime_windows.astype(np.float64)
        rate, amt = np.zeros(len(v)), np.zeros(len(v))
        for t, tpl in enumerate(templates):
            k = u.template[v] == t
            if k.any():
                rate[k], amt[k] = _penalty(tpl.penalties.uptime, c[k], vm_revenue[v[k]], u.uptime_excess_s[k])
        pen_parts.append((v, np.full(len(v), -1, np.int64), "uptime", c, rate, cents(amt)))
    # a VM that never ran at its own provider's sites: its uptime breaks are the host's doing
    home_stay = np.bincount(sv[u.dc_owner[sd] == home_s], minlength=n_vms) > 0
    for v, d, item, c, rate, cc in pen_parts:
        h = u.home[v]
        add(pname[h], "customer:" + cname[u.customer[v]], "penalty", item, v, d, c, "breaks", rate, -cc)
        host = np.where(d >= 0, u.dc_owner[np.maximum(d, 0)], np.where(home_stay[v], h, u.host[v]))
        out = (host >= 0) & (host != h)
        if out.any():
            reimb = np.rint(cc[out] * share).astype(np.int64)
            host, hm = host[out], h[out]
            add(pname[host], "provider:" + pname[hm], "penalty-reimbursement", item, v[out], d[out], c[out],
                "breaks", rate[out] * share, -reimb)
            add(pname[hm], "provider:" + pname[host], "penalty-reimbursement", item, v[out], d[out], c[out],
                "breaks", rate[out] * share, reimb)
    # outsourcing: the home pays the host per hour the VM ran at the host's sites, at the agreed price
    out = u.dc_owner[sd] != home_s
    if out.any():
        v, d, hrs = sv[out], sd[out], u.stay_hours[out]
        price, host = u.partner_price[v], u.dc_owner[d]
        cc = cents(price * hrs)
        add(pname[u.home[v]], "provider:" + pname[host], "outsourcing", "vm", v, d, hrs, "h", price, -cc)
        add(pname[host], "provider:" + pname[u.home[v]], "insourcing", "vm", v, d, hrs, "h", price, cc)
    # facility costs
    dcs = np.arange(len(u.dc_owner))
    owner = pname[u.dc_owner]
    add(owner, np.full(len(dcs), "energy", object), "energy", "dc", np.full(len(dcs), -1), dcs, u.dc_facility_kwh,
        "kWh", u.dc_energy_price, -cents(u.dc_facility_kwh * u.dc_energy_price))
    add(owner, np.full(len(dcs), "hardware", object), "hardware", "dc", np.full(len(dcs), -1), dcs,
        u.dc_host_hours, "host-h", u.dc_hardware_rate, -cents(u.dc_host_hours * u.dc_hardware_rate))
    if u.dc_co2_t is not None and u.dc_carbon_price is not None:
        emits = np.flatnonzero(u.dc_co2_t > 0)
        if len(emits):
            add(owner[emits], np.full(len(emits), "carbon", object), "carbon", "dc", np.full(len(emits), -1), emits,
                u.dc_co2_t[emits], "t", u.dc_carbon_price[emits],
                -cents(u.dc_co2_t[emits] * u.dc_carbon_price[emits]))
    led = pd.concat(rows, ignore_index=True)
    vm = led["vm"].to_numpy(np.int64)
    led["vm_id"] = np.where(vm >= 0, u.vm_ids[np.maximum(vm, 0)].astype(str), "")
    led["amount"] = led["amount_cents"].to_numpy(np.int64) / 100.0
    led["line"] = np.arange(len(led))
    return led[list(LEDGER_COLUMNS)].astype({c: d for c, (d, _, _) in LEDGER_COLUMNS.items()})


def _templates(spec: FederationSpec) -> list[SlaTemplate]:
    """SLA templates in a fixed order: providers in spec order, templates in their order."""
    return [t for p in spec.providers for t in p.sla_templates.values()]


def template_index(spec: FederationSpec) -> dict[tuple[str, str], int]:
    """(provider name, class name) -> index into the flat template list used by :func:`build_ledger`."""
    out, i = {}, 0
    for p in spec.providers:
        for name in p.sla_templates:
            out[(p.name, name)] = i
            i += 1
    return out


CATEGORIES = ("revenue", "penalty", "outsourcing", "insourcing", "penalty-reimbursement", "energy", "hardware",
              "carbon")


def provider_totals(led: pd.DataFrame, providers: list[str]) -> pd.DataFrame:
    """One row per provider: cents and currency per category and the profit (sum of its lines)."""
    piv = (led.groupby(["party", "category"], observed=True)["amount_cents"].sum()
           .unstack(fill_value=0).reindex(index=providers, columns=list(CATEGORIES), fill_value=0))
    out = pd.DataFrame({"provider": providers})
    for c in CATEGORIES:
        out[c.replace("-", "_")] = piv[c].to_numpy(np.int64) / 100.0 + 0.0
    out["profit_cents"] = piv.to_numpy(np.int64).sum(axis=1)
    out["profit"] = out["profit_cents"] / 100.0
    return out


def flows(led: pd.DataFrame) -> pd.DataFrame:
    """Inter-provider payments: one row per (payer, payee, category) with the amount and VMs concerned."""
    m = led["category"].isin(["outsourcing", "penalty-reimbursement"]) & (led["amount_cents"] < 0)
    x = led[m]
    payee = x["counterparty"].str.removeprefix("provider:")
    g = pd.DataFrame({"payer": x["party"], "payee": payee, "category": x["category"],
                      "cents": -x["amount_cents"], "vm": x["vm"]})
    agg = g.groupby(["payer", "payee", "category"], observed=True).agg(
        amount_cents=("cents", "sum"), vms=("vm", "nunique")).reset_index()
    agg["amount"] = agg["amount_cents"] / 100.0
    return agg.astype({"payer": "string", "payee": "string", "category": "string", "amount_cents": "int64",
                       "vms": "int64", "amount": "float64"})
