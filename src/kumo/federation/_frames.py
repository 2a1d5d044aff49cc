"""Build the federation tables of :data:`kumo.federation.tables.FED_SCHEMA` from a finished run."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from kumo.federation.ledger import Usage
from kumo.federation.moves import ST_EXPIRED, ST_PENDING, ST_QUEUED, ST_REJECTED, STATUS_NAMES
from kumo.results import RunResult

if TYPE_CHECKING:
    from kumo.federation.runner import FederationRun


def _frame(name: str, data: dict) -> pd.DataFrame:
    from kumo.federation.tables import FED_SCHEMA

    cols = FED_SCHEMA[name]
    return pd.DataFrame({c: data[c] for c in cols}).astype({c: d for c, (d, _, _) in cols.items()})


def frames(run: FederationRun, results: list[RunResult], u: Usage, led: pd.DataFrame, prov: pd.DataFrame,
           flow: pd.DataFrame, down_s: np.ndarray) -> dict[str, pd.DataFrame]:
    spec, n = run.spec, run.trace.n_vms
    n_dc, n_p = len(run.dcs), len(spec.providers)
    pnames = np.array([p.name for p in spec.providers], dtype=object)
    dspecs = [d for _, _, d in spec.datacenters]
    dc_name = np.array([dc.name for dc in run.dcs], dtype=object)
    juris = np.array([d.jurisdiction for d in dspecs], dtype=object)
    owner = np.array([dc.provider for dc in run.dcs], np.int64)
    sv, sd = u.stay_vm, u.stay_dc
    cpu_b = np.bincount(sv, u.stay_cpu_breaks, n).astype(np.int64)
    ram_b = np.bincount(sv, u.stay_ram_breaks, n).astype(np.int64)
    up_b = np.zeros(n, np.int64)
    up_b[u.uptime_vm] = u.uptime_windows
    hours = np.bincount(sv, u.stay_hours, n)
    tr = run.tr
    t_status = np.asarray(tr["status"], dtype=object)
    t_done = t_status == "done"
    t_vm = np.asarray(tr["vm"], np.int64)
    served = run.first_dc >= 0
    outsourced = run.host >= 0
    cust = spec.customers
    allowed_txt = np.array(["*" if c.allowed_jurisdictions is None else ",".join(c.allowed_jurisdictions)
                            for c in cust], dtype=object)
    first = np.maximum(run.first_dc, 0)
    vms = _frame("vms", {
        "vm": np.arange(n), "vm_id": run.trace.vm_ids.astype(str),
        "customer": np.array([c.name for c in cust], dtype=object)[run.customer],
        "home_provider": pnames[run.home],
        "sla_class": np.array([c.sla_class for c in cust], dtype=object)[run.customer],
        "allowed_jurisdictions": allowed_txt[run.customer],
        "status": STATUS_NAMES[run.status], "first_placed_step": run.first_step, "dc": run.first_dc,
        "datacenter": np.where(served, dc_name[first], ""),
        "host_provider": np.where(served, pnames[owner[first]], ""),
        "jurisdiction": np.where(served, juris[first], ""), "final_dc": run.last_dc, "outsourced": outsourced,
        "customer_price_per_hour": run.customer_price, "partner_price_per_hour": run.agreed, "hours": hours,
        "sla_breaks_cpu": cpu_b, "sla_breaks_ram": ram_b, "sla_breaks_uptime": up_b, "downtime_s": down_s,
        "transfers": np.bincount(t_vm[t_done], minlength=n) if t_done.any() else np.zeros(n, np.int64),
    })
    allowed = run.allowed[sv, sd] if len(sv) else np.zeros(0, bool)
    placements = _frame("placements", {
        "vm": sv, "vm_id": run.trace.vm_ids[sv].astype(str), "dc": sd, "provider": pnames[owner[sd]],
        "jurisdiction": juris[sd], "steps": np.rint(u.stay_hours * 3600 / run.dt).astype(np.int64),
        "hours": u.stay_hours, "sla_breaks_cpu": u.stay_cpu_breaks, "sla_breaks_ram": u.stay_ram_breaks,
        "allowed": allowed,
    })
    foreign_stay = owner[sd] != run.home[sv]
    dsum = [r.summary for r in results]
    t_src, t_dst = np.asarray(tr["src"], np.int64), np.asarray(tr["dst"], np.int64)
    energy = 0.0 - led[led["category"] == "energy"].set_index("dc")["amount"].reindex(range(n_dc)).to_numpy()
    hardware = 0.0 - led[led["category"] == "hardware"].set_index("dc")["amount"].reindex(range(n_dc)).to_numpy()
    carbon = 0.0 - led[led["category"] == "carbon"].set_index("dc")["amount"].reindex(range(n_dc), fill_value=0.0).to_numpy()
    datacenters = _frame("datacenters", {
        "dc": np.arange(n_dc), "provider": pnames[owner], "name": dc_name,
        "location": [d.location for d in dspecs], "jurisdiction": juris,
        "hosts": [r.tables["hosts"].shape[0] for r in results],
        "vms_hosted": np.bincount(sd, minlength=n_dc), "vms_insourced": np.bincount(sd[foreign_stay], minlength=n_dc),
        "vm_hours": np.bincount(sd, u.stay_hours, n_dc), "energy_kwh": [s["energy_kwh"] for s in dsum],
        "facility_energy_kwh": u.dc_facility_kwh, "energy_cost": energy, "hardware_cost": hardware,
        "co2_kg": [s["co2_kg"] for s in dsum], "carbon_g_per_kwh_mean": [s["carbon_g_per_kwh_mean"] for s in dsum],
        "carbon_cost": carbon,
        "cpu_demand_ghz_h": [s["cpu_demand_ghz_h"] for s in dsum],
        "cpu_delivered_ghz_h": [s["cpu_delivered_ghz_h"] for s in dsum],
        "cpu_unmet_fraction": [s["cpu_unmet_fraction"] for s in dsum],
        "sla_breaks_cpu": np.bincount(sd, u.stay_cpu_breaks, n_dc), "sla_breaks_ram": np.bincount(sd, u.stay_ram_breaks, n_dc),
        "migrations": [s["migrations"] for s in dsum], "active_hosts_mean": [s["active_hosts_mean"] for s in dsum],
        "transfers_out": np.bincount(t_src[t_done], minlength=n_dc) if t_done.any() else np.zeros(n_dc),
        "transfers_in": np.bincount(t_dst[t_done], minlength=n_dc) if t_done.any() else np.zeros(n_dc),
    })
    unplaced = np.isin(run.status, (ST_REJECTED, ST_EXPIRED))
    breaks_hosted = np.bincount(owner[sd], u.stay_cpu_breaks + u.stay_ram_breaks, n_p)
    providers = _frame("providers", {
        "provider": pnames, "datacenters": np.bincount(owner, minlength=n_p),
        "hosts": np.bincount(owner, datacenters["hosts"].to_numpy(), n_p),
        "vms_home": np.bincount(run.home, minlength=n_p), "vms_served": np.bincount(run.home[served], minlength=n_p),
        "vms_rejected": np.bincount(run.home[unplaced], minlength=n_p),
        "vms_outsourced": np.bincount(run.home[outsourced], minlength=n_p),
        "vms_insourced": np.bincount(run.host[outsourced], minlength=n_p),
        "vm_hours_hosted": np.bincount(owner[sd], u.stay_hours, n_p), "sla_breaks_hosted": breaks_hosted,
        "sla_breaks_customers": np.bincount(run.home, cpu_b + ram_b + up_b, n_p),
        "energy_kwh": np.bincount(owner, datacenters["energy_kwh"].to_numpy(), n_p),
        "co2_kg": np.bincount(owner, datacenters["co2_kg"].to_numpy(), n_p),
        **{c: prov[c].to_numpy() for c in ("revenue", "penalty", "outsourcing", "insourcing",
                                           "penalty_reimbursement", "energy", "hardware", "carbon", "profit_cents",
                                           "profit")},
    })
    transfers = _frame("transfers", {k: tr[k] for k in ("vm", "src", "dst", "start_s", "end_s", "switch_s",
                                                        "size_mb", "status")})
    rejections = _frame("rejections", run.rej)
    internal = np.array([p.internal for p in spec.providers], bool)
    internal_profit = int(prov["profit_cents"].to_numpy(np.int64)[internal].sum())
    summary = _summary(run, results, u, led, flow, vms, placements, internal_profit, float(down_s.sum()))
    return {"summary": summary, "providers": providers, "datacenters": datacenters, "vms": vms,
            "placements": placements, "transfers": transfers, "flows": flow, "ledger": led,
            "rejections": rejections}


def _summary(run: FederationRun, results: list[RunResult], u: Usage, led: pd.DataFrame, flow: pd.DataFrame,
             vms: pd.DataFrame, placements: pd.DataFrame, internal_profit_cents: int, down_s: float) -> pd.DataFrame:
    spec = run.spec
    cents = led.groupby("category")["amount_cents"].sum()

    def money(cat: str) -> float:
        return float(cents.get(cat, 0)) / 100.0

    total = int(led["amount_cents"].sum())
    inter = sum(int(cents.get(c, 0)) for c in ("outsourcing", "insourcing", "penalty-reimbursement"))
    if inter != 0:
        raise RuntimeError(f"inter-provider lines do not cancel: {inter} cents")
    revenue, penalties = money("revenue"), -money("penalty")
    energy, hardware, carbon = -money("energy"), -money("hardware"), -money("carbon")
    vm_hours = float(u.stay_hours.sum())
    arrived = int(np.count_nonzero(run.status != ST_PENDING))
    served = int(np.count_nonzero(run.first_dc >= 0))
    demand = sum(float(r.summary["cpu_demand_ghz_h"]) for r in results)
    delivered = sum(float(r.summary["cpu_delivered_ghz_h"]) for r in results)
    steps_run = max(float((u.stay_hours * 3600 / run.dt).sum()), 1e-300)
    brk = int(u.stay_cpu_breaks.sum() + u.stay_ram_breaks.sum())
    kwh = sum(float(r.summary["energy_kwh"]) for r in results)
    tr_status = np.asarray(run.tr["status"], dtype=object)
    # what the customers' organization spends: its bills minus penalties received, minus whatever its own
    # (internal) providers keep, since that money never left it
    customer_cost = (int(cents.get("revenue", 0)) + int(cents.get("penalty", 0)) - internal_profit_cents) / 100.0
    fl = flow.groupby("category")["amount_cents"].sum() if len(flow) else pd.Series(dtype="int64")
    row = {
        "federation": spec.name, "model": spec.model, "seed": spec.seed, "broker": spec.broker.name,
        "providers": len(spec.providers), "datacenters": len(run.dcs),
        "hosts": sum(r.tables["hosts"].shape[0] for r in results), "customers": len(spec.customers),
        "vms": run.trace.n_vms, "steps": run.n_steps, "step_s": run.dt, "duration_h": run.n_steps * run.dt / 3600,
        "vms_served": served, "vms_rejected": int(np.count_nonzero(run.status == ST_REJECTED)),
        "vms_expired": int(np.count_nonzero(run.status == ST_EXPIRED))
        + int(np.count_nonzero(run.status == ST_QUEUED)),
        "vms_outsourced": int(np.count_nonzero(run.host >= 0)),
        "served_fraction": served / arrived if arrived else 1.0, "vm_hours": vm_hours,
        "vm_hours_outsourced": float(vms["hours"][vms["outsourced"]].sum()),
        "migrations": sum(int(r.summary["migrations"]) for r in results),
        "transfers": len(tr_status), "transfers_done": int(np.count_nonzero(tr_status == "done")),
        "energy_kwh": kwh, "facility_energy_kwh": float(u.dc_facility_kwh.sum()),
        "co2_kg": sum(float(r.summary["co2_kg"]) for r in results),
        "cpu_demand_ghz_h": demand, "cpu_delivered_ghz_h": delivered,
        "cpu_unmet_fraction": 1 - delivered / demand if demand > 0 else 0.0,
        "sla_breaks_cpu": int(u.stay_cpu_breaks.sum()), "sla_breaks_ram": int(u.stay_ram_breaks.sum()),
        "sla_breaks_uptime": int(u.uptime_windows.sum()), "break_free_fraction": 1 - brk / steps_run,
        "failovers": run.failovers, "downtime_h": down_s / 3600,
        "availability": 1 - down_s / (vm_hours * 3600) if vm_hours else 1.0,
        "revenue": revenue, "penalties": penalties, "energy_cost": energy, "hardware_cost": hardware,
        "carbon_cost": carbon, "costs": energy + hardware + carbon, "profit": total / 100.0,
        "margin_percent": 100.0 * total / 100.0 / revenue if revenue else float("nan"),
        "outsourcing_volume": float(fl.get("outsourcing", 0)) / 100.0,
        "penalty_reimbursements": float(fl.get("penalty-reimbursement", 0)) / 100.0,
        "cost_per_vm_hour": (energy + hardware + carbon) / vm_hours if vm_hours else float("nan"),
        "customer_cost": customer_cost,
        "customer_cost_per_vm_hour": customer_cost / vm_hours if vm_hours else float("nan"),
        "price_per_vm_hour": revenue / vm_hours if vm_hours else float("nan"),
        "residency_violations": int(np.count_nonzero(~placements["allowed"].to_numpy(bool))),
    }
    return _frame("summary", {k: [v + 0.0 if isinstance(v, float) else v] for k, v in row.items()})
