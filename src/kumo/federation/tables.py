"""Federation results: tables with a schema of (column, dtype, unit), built from the engines of a run.

Tables: ``summary`` (one row of federation totals), ``providers``, ``datacenters``, ``vms`` (with customer,
provider, data center and jurisdiction), ``placements`` (every (VM, data center) where the VM ran: the
residency audit), ``transfers`` (WAN moves), ``flows`` (money between providers), ``ledger`` (every money
line, :mod:`kumo.federation.ledger`) and ``rejections``. ``datacenter_results`` keeps each data center's
own :class:`~kumo.results.RunResult`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kumo.accounting import SlaSpec, migration_downtime_s, sla_breaks
from kumo.federation.ledger import LEDGER_COLUMNS, Usage, build_ledger, flows, provider_totals, uptime_breaks
from kumo.results import RunResult, TableAccess, build_result, write_tables

if TYPE_CHECKING:
    from kumo.federation.runner import FederationRun

_MONEY = ("revenue", "penalty", "outsourcing", "insourcing", "penalty_reimbursement", "energy", "hardware", "carbon")

#: table -> column -> (dtype, unit, description)
FED_SCHEMA: dict[str, dict[str, tuple[str, str, str]]] = {
    "summary": {
        "federation": ("string", "-", "federation name"),
        "model": ("string", "-", "provisioning model label"),
        "seed": ("int64", "-", "random seed"),
        "broker": ("string", "-", "inter-provider broker"),
        "providers": ("int64", "count", "providers"),
        "datacenters": ("int64", "count", "data centers"),
        "hosts": ("int64", "count", "hosts in all parks"),
        "customers": ("int64", "count", "customers"),
        "vms": ("int64", "count", "VMs in the trace"),
        "steps": ("int64", "count", "simulated steps"),
        "step_s": ("float64", "s", "step length"),
        "duration_h": ("float64", "h", "simulated time"),
        "vms_served": ("int64", "count", "VMs placed at least once"),
        "vms_rejected": ("int64", "count", "VMs nobody could host (reject)"),
        "vms_expired": ("int64", "count", "VMs queued until their lifetime ended (queue)"),
        "vms_outsourced": ("int64", "count", "VMs hosted by a partner of their provider"),
        "served_fraction": ("float64", "1", "VMs served / VMs that arrived"),
        "vm_hours": ("float64", "h", "hours VMs ran"),
        "vm_hours_outsourced": ("float64", "h", "hours outsourced VMs ran"),
        "migrations": ("int64", "count", "intra-DC migrations started"),
        "transfers": ("int64", "count", "WAN moves started"),
        "transfers_done": ("int64", "count", "WAN moves completed"),
        "energy_kwh": ("float64", "kWh", "IT energy of all hosts"),
        "facility_energy_kwh": ("float64", "kWh", "IT energy x PUE"),
        "co2_kg": ("float64", "kg", "CO2 of the facility energy at each site's grid intensity"),
        "cpu_demand_ghz_h": ("float64", "GHz*h", "CPU demanded by placed VMs"),
        "cpu_delivered_ghz_h": ("float64", "GHz*h", "CPU delivered"),
        "cpu_unmet_fraction": ("float64", "1", "1 - delivered / demanded"),
        "sla_breaks_cpu": ("int64", "count", "CPU breaks"),
        "sla_breaks_ram": ("int64", "count", "RAM breaks"),
        "sla_breaks_uptime": ("int64", "count", "uptime breaks"),
        "break_free_fraction": ("float64", "1", "1 - (CPU + RAM breaks) / VM-steps run"),
        "failovers": ("int64", "count", "VMs restarted elsewhere because their site went down"),
        "downtime_h": ("float64", "h", "VM downtime: migrations, WAN switch-overs, restarts, outages"),
        "availability": ("float64", "1", "1 - downtime / VM-hours run"),
        "revenue": ("float64", "currency", "paid by customers"),
        "penalties": ("float64", "currency", "paid to customers"),
        "energy_cost": ("float64", "currency", "facility energy x price"),
        "hardware_cost": ("float64", "currency", "host-hours x price"),
        "carbon_cost": ("float64", "currency", "tonnes of CO2 x carbon price"),
        "costs": ("float64", "currency", "energy + hardware + carbon"),
        "profit": ("float64", "currency", "revenue - penalties - costs = sum of provider profits"),
        "margin_percent": ("float64", "%", "100 x profit / revenue"),
        "outsourcing_volume": ("float64", "currency", "paid between providers for outsourced VMs"),
        "penalty_reimbursements": ("float64", "currency", "penalties reimbursed between providers"),
        "cost_per_vm_hour": ("float64", "currency/h", "costs / VM-hours"),
        "customer_cost": ("float64", "currency", "what the customers' organization spends: revenue - penalties - "
                          "profit of internal providers"),
        "customer_cost_per_vm_hour": ("float64", "currency/h", "customer_cost / VM-hours"),
        "price_per_vm_hour": ("float64", "currency/h", "revenue / VM-hours"),
        "residency_violations": ("int64", "count", "(VM, DC) stays outside the allowed set (always 0)"),
    },
    "providers": {
        "provider": ("string", "-", "provider name"),
        "datacenters": ("int64", "count", "its data centers"),
        "hosts": ("int64", "count", "its hosts"),
        "vms_home": ("int64", "count", "VMs of its customers"),
        "vms_served": ("int64", "count", "VMs of its customers placed anywhere"),
        "vms_rejected": ("int64", "count", "VMs of its customers rejected or expired"),
        "vms_outsourced": ("int64", "count", "VMs of its customers hosted by partners"),
        "vms_insourced": ("int64", "count", "partners' VMs it hosted"),
        "vm_hours_hosted": ("float64", "h", "VM-hours on its hosts"),
        "sla_breaks_hosted": ("int64", "count", "CPU + RAM breaks on its hosts"),
        "sla_breaks_customers": ("int64", "count", "CPU + RAM + uptime breaks of its customers' VMs"),
        "energy_kwh": ("float64", "kWh", "IT energy of its hosts"),
        "co2_kg": ("float64", "kg", "CO2 of its facility energy"),
        **{m: ("float64", "currency", f"{m.replace('_', ' ')} lines of its ledger (signed)") for m in _MONEY},
        "profit_cents": ("int64", "cent", "sum of its ledger lines"),
        "profit": ("float64", "currency", "profit_cents / 100"),
    },
    "datacenters": {
        "dc": ("int64", "-", "data-center index"),
        "provider": ("string", "-", "owner"),
        "name": ("string", "-", "provider/data center"),
        "location": ("string", "-", "where it is"),
        "jurisdiction": ("string", "-", "law its data is under"),
        "hosts": ("int64", "count", "hosts"),
        "vms_hosted": ("int64", "count", "VMs that ran here"),
        "vms_insourced": ("int64", "count", "partners' VMs that ran here"),
        "vm_hours": ("float64", "h", "VM-hours"),
        "energy_kwh": ("float64", "kWh", "IT energy"),
        "facility_energy_kwh": ("float64", "kWh", "IT energy x PUE"),
        "energy_cost": ("float64", "currency", "facility kWh x price"),
        "hardware_cost": ("float64", "currency", "host-hours x price"),
        "co2_kg": ("float64", "kg", "CO2 of its facility energy at its grid's intensity"),
        "carbon_g_per_kwh_mean": ("float64", "g/kWh", "energy-weighted mean intensity of its grid"),
        "carbon_cost": ("float64", "currency", "tonnes of CO2 x carbon price"),
        "cpu_demand_ghz_h": ("float64", "GHz*h", "CPU demanded"),
        "cpu_delivered_ghz_h": ("float64", "GHz*h", "CPU delivered"),
        "cpu_unmet_fraction": ("float64", "1", "1 - delivered / demanded"),
        "sla_breaks_cpu": ("int64", "count", "CPU breaks"),
        "sla_breaks_ram": ("int64", "count", "RAM breaks"),
        "migrations": ("int64", "count", "intra-DC migrations"),
        "active_hosts_mean": ("float64", "count", "hosts on, mean over steps"),
        "transfers_out": ("int64", "count", "WAN moves out (done)"),
        "transfers_in": ("int64", "count", "WAN moves in (done)"),
    },
    "vms": {
        "vm": ("int64", "-", "VM index (trace order)"),
        "vm_id": ("string", "-", "VM identifier"),
        "customer": ("string", "-", "owner"),
        "home_provider": ("string", "-", "the customer's provider"),
        "sla_class": ("string", "-", "SLA template"),
        "allowed_jurisdictions": ("string", "-", "where it may run (* = anywhere)"),
        "status": ("string", "-", "pending/running/departed/rejected/queued/expired"),
        "first_placed_step": ("int64", "-", "-1 if never"),
        "dc": ("int64", "-", "first data center, -1 if never placed"),
        "datacenter": ("string", "-", "provider/data center of the first placement"),
        "host_provider": ("string", "-", "provider that ran it first"),
        "jurisdiction": ("string", "-", "jurisdiction of the first data center"),
        "final_dc": ("int64", "-", "last data center, -1 if never placed"),
        "outsourced": ("bool", "-", "hosted by a partner of its provider"),
        "customer_price_per_hour": ("float64", "currency/h", "what its customer pays"),
        "partner_price_per_hour": ("float64", "currency/h", "agreed outsourcing price, NaN if not outsourced"),
        "hours": ("float64", "h", "hours run"),
        "sla_breaks_cpu": ("int64", "count", "CPU breaks"),
        "sla_breaks_ram": ("int64", "count", "RAM breaks"),
        "sla_breaks_uptime": ("int64", "count", "uptime breaks"),
        "downtime_s": ("float64", "s", "downtime: migrations, WAN switch-overs, restarts, outages"),
        "transfers": ("int64", "count", "WAN moves done"),
    },
    "placements": {
        "vm": ("int64", "-", "VM index"),
        "vm_id": ("string", "-", "VM identifier"),
        "dc": ("int64", "-", "data-center index"),
        "provider": ("string", "-", "owner of the data center"),
        "jurisdiction": ("string", "-", "its jurisdiction"),
        "steps": ("int64", "count", "steps run there"),
        "hours": ("float64", "h", "hours run there"),
        "sla_breaks_cpu": ("int64", "count", "CPU breaks there"),
        "sla_breaks_ram": ("int64", "count", "RAM breaks there"),
        "allowed": ("bool", "-", "the customer's constraints allow this data center"),
    },
    "transfers": {
        "vm": ("int64", "-", "VM index"),
        "src": ("int64", "-", "source data center"),
        "dst": ("int64", "-", "target data center"),
        "start_s": ("float64", "s", "copy start"),
        "end_s": ("float64", "s", "copy end (size x 8 / bandwidth + latency)"),
        "switch_s": ("float64", "s", "step boundary the VM switched at, NaN if not done"),
        "size_mb": ("float64", "MB", "RAM copied"),
        "status": ("string", "-", "done/failed/aborted/in-flight"),
    },
    "flows": {
        "payer": ("string", "-", "provider paying"),
        "payee": ("string", "-", "provider paid"),
        "category": ("string", "-", "outsourcing or penalty-reimbursement"),
        "amount_cents": ("int64", "cent", "total"),
        "vms": ("int64", "count", "VMs concerned"),
        "amount": ("float64", "currency", "total"),
    },
    "ledger": LEDGER_COLUMNS,
    "rejections": {
        "vm": ("int64", "-", "VM index"),
        "step": ("int64", "-", "step of the first failed attempt"),
        "reason": ("string", "-", "why no data center took it"),
    },
}


@dataclass
class FederationResult(TableAccess):
    """Everything a federation run produced: ``tables`` (see :data:`FED_SCHEMA`), a ``manifest`` and the
    data centers' own results (``datacenter_results``, in data-center order)."""

    tables: dict[str, pd.DataFrame]
    manifest: dict[str, Any]
    datacenter_results: list[RunResult] = field(default_factory=list)

    def ledger_of(self, provider: str) -> pd.DataFrame:
        """The lines of one provider's ledger."""
        led = self.tables["ledger"]
        return led[led["party"] == provider]

    def write(self, out_dir: str | Path, fmt: str = "parquet", datacenters: bool = False) -> Path:
        """Write every table (``parquet`` or ``csv``), ``schema.json`` and ``manifest.json`` to ``out_dir``;
        with ``datacenters``, each data center's own tables under ``datacenters/<provider>-<dc>/``."""
        out = write_tables(out_dir, self.tables, FED_SCHEMA, self.manifest, fmt)
        if datacenters:
            for name, r in zip(self.tables["datacenters"]["name"], self.datacenter_results, strict=True):
                r.write(out / "datacenters" / str(name).replace("/", "-"), fmt)
        return out


def _frame(name: str, data: dict[str, Any]) -> pd.DataFrame:
    cols = FED_SCHEMA[name]
    df = pd.DataFrame({c: data[c] for c in cols})
    return df.astype({c: d for c, (d, _, _) in cols.items()})


# ------------------------------------------------------------------------------------------------ usage
def _sla_of_vm(run: FederationRun) -> list[SlaSpec]:
    return [run.templates[t].sla for t in run.template]


def _stays(run: FederationRun, results: list[RunResult], slas: list[SlaSpec]) -> dict[str, np.ndarray]:
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("vm", "dc", "steps", "cpu", "ram")}
    steps_mode = run.spec.federation.sla_detail == "steps"
    for dc, res in zip(run.dcs, results, strict=True):
        vt = res.tables["vms"]
        run_steps = vt["steps_run"].to_numpy(np.int64)
        loc = np.flatnonzero((run_steps > 0) & (dc.glob >= 0))
        g = dc.glob[loc]
        if steps_mode:
            cpu, ram = np.zeros(len(dc.glob), np.int64), np.zeros(len(dc.glob), np.int64)
            for sla in {slas[v] for v in g}:
                b = sla_breaks(res, sla)
                mine = np.array([slas[v] == sla if v >= 0 else False for v in dc.glob])
                for arr, name in ((cpu, "cpu"), (ram, "ram")):
                    vv = b["vm"].to_numpy(np.int64)[(b["resource"] == name).to_numpy()]
                    arr += np.bincount(vv[mine[vv]], minlength=len(dc.glob))
            cpu, ram = cpu[loc], ram[loc]
        else:
            cpu = vt["cpu_short_steps"].to_numpy(np.int64)[loc]
            ram = vt["ram_short_steps"].to_numpy(np.int64)[loc]
        for key, val in (("vm", g), ("dc", np.full(len(g), dc.index)), ("steps", run_steps[loc]), ("cpu", cpu),
                         ("ram", ram)):
            parts[key].append(np.asarray(val, np.int64))
    return {k: np.concatenate(v) if v else np.zeros(0, np.int64) for k, v in parts.items()}


def _downtime_events(run: FederationRun, results: list[RunResult], slas: list[SlaSpec]
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    vm, t, down = [], [], []
    steps_mode = run.spec.federation.sla_detail == "steps"
    for dc, res in zip(run.dcs, results, strict=True):
        mig = res.tables["migrations"]
        if not len(mig):
            continue
        g = dc.glob[mig["vm"].to_numpy(np.int64)]
        d = np.zeros(len(g))
        for sla in {slas[v] for v in g}:
            m = np.array([slas[v] == sla for v in g])
            if steps_mode:
                d[m] = migration_downtime_s(res, sla)[m]
            else:
                # without per-step matrices "used" RAM is the VM's mean RAM demand over its stay here
                vt = res.tables["vms"]
                local = mig["vm"].to_numpy(np.int64)[m]
                if sla.migrated_ram == "used":
                    secs = np.maximum(vt["steps_run"].to_numpy(np.float64)[local] * run.dt, 1e-300)
                    ram = vt["ram_demand_mb_s"].to_numpy(np.float64)[local] / secs
                else:
                    ram = vt["ram_booked_mb"].to_numpy(np.float64)[local]
                t_mig = ram / (sla.migration_mbps * sla.migration_bandwidth_share / 8)
                d[m] = t_mig if sla.downtime == "cold" else sla.live_downtime_fraction * t_mig
        vm.append(g)
        t.append(mig["start_s"].to_numpy(np.float64))
        down.append(d)
    if run.downtime["vm"]:
        vm.append(np.asarray(run.downtime["vm"], np.int64))
        t.append(np.asarray(run.downtime["t_s"], np.float64))
        down.append(np.asarray(run.downtime["down_s"], np.float64))
    tr = run.tr
    done = np.array([s == "done" for s in tr["status"]], dtype=bool)
    if done.any():
        v = np.asarray(tr["vm"], np.int64)[done]
        vm.append(v)
        t.append(np.asarray(tr["switch_s"], np.float64)[done])
        down.append(np.array([run.spec.providers[run.dcs[s].provider].wan.downtime_s
                              for s in np.asarray(tr["dst"], np.int64)[done]]))
    if not vm:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
    return np.concatenate(vm).astype(np.int64), np.concatenate(t), np.concatenate(down)


def build_federation_result(run: FederationRun) -> FederationResult:
    """Assemble every table of a finished run (see the module docstring)."""
    from kumo import __version__

    spec, n, dt = run.spec, run.trace.n_vms, run.dt
    results = [build_result(dc.engine) for dc in run.dcs]
    slas = _sla_of_vm(run)
    st = _stays(run, results, slas)
    ev = _downtime_events(run, results, slas)
    duration_s = run.n_steps * dt
    ut_vm, ut_w, ut_x = uptime_breaks(*ev, slas, n, duration_s)
    down_s = np.bincount(ev[0], ev[2], n)
    dspecs = [d for _, _, d in spec.datacenters]
    n_hosts = np.array([r.tables["hosts"].shape[0] for r in results])
    kwh = np.array([float(r.summary["energy_kwh"]) for r in results])
    pue = np.array([d.pue for d in dspecs])
    usage = Usage(
        stay_vm=st["vm"], stay_dc=st["dc"], stay_hours=st["steps"] * dt / 3600.0, stay_cpu_breaks=st["cpu"],
        stay_ram_breaks=st["ram"], uptime_vm=ut_vm, uptime_windows=ut_w, uptime_excess_s=ut_x,
        vm_ids=run.trace.vm_ids, home=run.home, customer=run.customer, template=run.template,
        customer_price=run.customer_price, host=run.host, partner_price=run.agreed,
        dc_owner=np.array([dc.provider for dc in run.dcs], np.int64), dc_facility_kwh=kwh * pue,
        dc_energy_price=np.array([d.energy_price_per_kwh for d in dspecs]),
        dc_host_hours=n_hosts * duration_s / 3600.0,
        dc_hardware_rate=np.array([d.hardware_per_host_hour for d in dspecs]),
        dc_co2_t=np.array([float(r.summary["co2_kg"]) / 1000 for r in results]),
        dc_carbon_price=np.array([d.carbon.price_per_t if d.carbon is not None else 0.0 for d in dspecs]))
    led = build_ledger(spec, usage)
    from kumo.federation._frames import frames

    tables = frames(run, results, usage, led, provider_totals(led, [p.name for p in spec.providers]), flows(led),
                    down_s)
    manifest = {
        "kumo_version": __version__,
        "federation": spec.model_dump(mode="json"),
        "seed": spec.seed,
        "trace": {"name": run.trace.name, "vms": n, "steps": run.n_steps, "step_s": dt,
                  "hash": run.trace.content_hash()},
        "wall_s": round(run.wall_s, 4),
    }
    return FederationResult(tables=tables, manifest=manifest, datacenter_results=results)
