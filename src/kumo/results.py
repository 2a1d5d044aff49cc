"""Run results: tables with a schema of (column, dtype, unit), written as Parquet or CSV plus a manifest.

Tables: ``summary`` (one row), ``steps`` (one row per step), ``hosts``, ``vms``, ``migrations``,
``rejections``, ``refusals`` (what the engine refused of the controller's decisions). The manifest records
the scenario, the trace's hash, the plugins loaded (with their files' SHA-256) and the wall time. The summary holds no wall-clock time, so the same scenario and seed give byte-identical
summary files; timings go to the manifest.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kumo import plugins
from kumo.state import VM_REJECTED, VM_STATE_NAMES

if TYPE_CHECKING:
    from kumo.engine import Engine

#: table -> column -> (dtype, unit, description)
SCHEMA: dict[str, dict[str, tuple[str, str, str]]] = {
    "summary": {
        "scenario": ("string", "-", "scenario name"),
        "seed": ("int64", "-", "random seed"),
        "hosts": ("int64", "count", "hosts in the park"),
        "vms": ("int64", "count", "VMs in the trace"),
        "steps": ("int64", "count", "simulated steps"),
        "step_s": ("float64", "s", "step length"),
        "duration_h": ("float64", "h", "simulated time"),
        "energy_kwh": ("float64", "kWh", "IT energy of all hosts"),
        "facility_energy_kwh": ("float64", "kWh", "IT energy x PUE"),
        "energy_cost": ("float64", "currency", "facility energy x price per kWh"),
        "co2_kg": ("float64", "kg", "CO2 of the facility energy at the grid's intensity (0 without [carbon])"),
        "carbon_g_per_kwh_mean": ("float64", "g/kWh", "energy-weighted mean grid intensity (co2 / facility "
                                  "energy)"),
        "migrations": ("int64", "count", "migrations started"),
        "migrations_aborted": ("int64", "count", "migrations cut short (the VM left, or a host failed)"),
        "migrations_refused": ("int64", "count", "migrations the engine refused (pinned VM, target off, failed or "
                               "full...: the refusals table)"),
        "host_failures": ("int64", "count", "host failures"),
        "vm_downtime_h": ("float64", "h", "VM downtime: migration pauses and failure restarts"),
        "rejections": ("int64", "count", "VMs no host could take"),
        "vms_placed": ("int64", "count", "VMs that ran at least one step"),
        "vms_never_served": ("int64", "count", "VMs that asked for a host and never got one (rejected, timed out "
                             "in the queue, or still waiting when their life or the run ended)"),
        "never_served_fraction": ("float64", "1", "vms_never_served / VMs that asked for a host"),
        "queue_delay_p50_s": ("float64", "s", "median wait from asking for a host to the first placement, over "
                              "the VMs served (0 for those placed at once)"),
        "queue_delay_p95_s": ("float64", "s", "95th percentile of that wait"),
        "queue_delay_max_s": ("float64", "s", "longest wait of a VM served"),
        "cpu_demand_ghz_h": ("float64", "GHz*h", "CPU demanded by placed VMs"),
        "cpu_delivered_ghz_h": ("float64", "GHz*h", "CPU delivered to placed VMs"),
        "cpu_demand_refused_ghz_h": ("float64", "GHz*h", "CPU VMs demanded while refused or waiting for a host: "
                                     "their trace demand from asking to the first placement (or the end of "
                                     "their life)"),
        "cpu_unmet_fraction": ("float64", "1", "1 - delivered / (demanded + demanded while refused)"),
        "ram_shortfall_gb_h": ("float64", "GB*h", "RAM demand above physical RAM"),
        "vm_steps_cpu_short": ("int64", "count", "VM-steps with delivered CPU below demand"),
        "vm_steps_ram_short": ("int64", "count", "VM-steps with a RAM shortfall"),
        "host_overload_h": ("float64", "h", "host-hours with CPU demand above capacity"),
        "active_hosts_mean": ("float64", "count", "hosts on, mean over steps"),
        "active_hosts_max": ("int64", "count", "hosts on, max over steps"),
        "host_switch_ons": ("int64", "count", "off->on transitions"),
        "host_switch_offs": ("int64", "count", "on->off transitions"),
    },
    "steps": {
        "step": ("int64", "-", "step index"),
        "t_s": ("float64", "s", "step start"),
        "active_hosts": ("int64", "count", "hosts on or booting"),
        "energy_kwh": ("float64", "kWh", "IT energy in the step"),
        "carbon_g_per_kwh": ("float64", "g/kWh", "grid carbon intensity of the step (0 without [carbon])"),
        "co2_kg": ("float64", "kg", "CO2 of the step's facility energy"),
        "cpu_demand_mhz": ("float64", "MHz", "total CPU demand"),
        "cpu_delivered_mhz": ("float64", "MHz", "total CPU delivered (time mean)"),
        "ram_demand_mb": ("float64", "MB", "total RAM demand"),
        "ram_shortfall_mb": ("float64", "MB", "RAM demand above capacity (time mean)"),
        "running_vms": ("int64", "count", "VMs placed"),
        "migrations_started": ("int64", "count", "migrations started at this step"),
        "migrations_in_flight": ("int64", "count", "migrations in flight during the step"),
        "overloaded_hosts": ("int64", "count", "hosts with CPU demand above capacity"),
    },
    "hosts": {
        "host": ("int64", "-", "host index"),
        "type": ("string", "-", "host type name"),
        "cpu_mhz": ("float64", "MHz", "physical CPU"),
        "ram_mb": ("float64", "MB", "physical RAM"),
        "energy_kwh": ("float64", "kWh", "IT energy"),
        "co2_kg": ("float64", "kg", "CO2 of its facility energy (IT energy x PUE) at the grid's intensity"),
        "on_h": ("float64", "h", "time on"),
        "cpu_util_mean": ("float64", "1", "mean CPU utilization while on"),
        "overload_h": ("float64", "h", "time with CPU demand above capacity"),
        "ram_shortfall_gb_h": ("float64", "GB*h", "RAM demand above capacity"),
        "vm_steps": ("int64", "count", "VM-steps hosted"),
        "switch_ons": ("int64", "count", "off->on"),
        "switch_offs": ("int64", "count", "on->off"),
        "migrations_out": ("int64", "count", "migrations from this host"),
        "migrations_in": ("int64", "count", "migrations to this host"),
        "failures": ("int64", "count", "times this host failed"),
    },
    "vms": {
        "vm": ("int64", "-", "VM index"),
        "vm_id": ("string", "-", "VM identifier from the trace"),
        "cores": ("int64", "count", "booked cores"),
        "cpu_booked_mhz": ("float64", "MHz", "booked CPU"),
        "ram_booked_mb": ("float64", "MB", "booked RAM"),
        "arrive_step": ("int64", "-", "first step of the lifetime"),
        "depart_step": ("int64", "-", "one past the last step"),
        "first_placed_step": ("int64", "-", "step it was first placed, -1 if never"),
        "queue_delay_s": ("float64", "s", "wait from asking for a host to the first placement; -1 if never "
                          "placed or never asked"),
        "cpu_demand_refused_mhz_s": ("float64", "MHz*s", "CPU demanded while refused or waiting for a host"),
        "final_state": ("string", "-", "pending/running/migrating/departed/rejected/queued/down"),
        "final_host": ("int64", "-", "host at the end, -1 if none"),
        "steps_run": ("int64", "count", "steps placed"),
        "cpu_demand_mhz_s": ("float64", "MHz*s", "CPU demanded"),
        "cpu_delivered_mhz_s": ("float64", "MHz*s", "CPU delivered"),
        "ram_demand_mb_s": ("float64", "MB*s", "RAM demanded"),
        "ram_shortfall_mb_s": ("float64", "MB*s", "share of its host's RAM shortfall"),
        "cpu_short_steps": ("int64", "count", "steps with delivered CPU below demand"),
        "ram_short_steps": ("int64", "count", "steps with a RAM shortfall"),
        "migrations": ("int64", "count", "migrations of this VM"),
        "downtime_s": ("float64", "s", "downtime: migration pauses and failure restarts"),
        "failures": ("int64", "count", "times its host failed under it"),
    },
    "migrations": {
        "vm": ("int64", "-", "VM index"),
        "src": ("int64", "-", "source host"),
        "dst": ("int64", "-", "target host"),
        "start_s": ("float64", "s", "start time"),
        "end_s": ("float64", "s", "end time (planned end if unfinished)"),
        "duration_s": ("float64", "s", "end - start"),
        "ram_mb": ("float64", "MB", "RAM moved"),
        "downtime_s": ("float64", "s", "VM paused during the switch-over"),
        "cpu_loss": ("float64", "1", "fraction of the VM's CPU lost while in flight"),
        "status": ("string", "-", "done/aborted/unfinished"),
        "cause": ("string", "-", "why the controller moved the VM (overload, underload, lb, ee...; else its "
                  "decision's reason)"),
    },
    "rejections": {
        "vm": ("int64", "-", "VM index"),
        "step": ("int64", "-", "step of the attempt"),
        "t_s": ("float64", "s", "time of the attempt"),
        "reason": ("string", "-", "the filter that left no host"),
    },
    "refusals": {
        "step": ("int64", "-", "step of the decision"),
        "t_s": ("float64", "s", "time of the decision"),
        "kind": ("string", "-", "what was refused: migration, switch_off or power_on"),
        "vm": ("int64", "-", "VM index (-1 if none)"),
        "host": ("int64", "-", "target or host concerned"),
        "reason": ("string", "-", "the engine's check that failed (see kumo.engine.migrations)"),
    },
}

_STATE_NAMES = np.array(VM_STATE_NAMES)


class TableAccess:
    """``result.summary`` (the one-row summary table as a dict) and ``result.<table>`` for every table in
    ``tables``: shared by run and federation results."""

    tables: dict[str, pd.DataFrame]

    @property
    def summary(self) -> dict[str, Any]:
        return self.tables["summary"].iloc[0].to_dict()

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)


@dataclass
class RunResult(TableAccess):
    """Everything a run produced. ``tables`` follow :data:`SCHEMA`; ``arrays`` hold optional matrices:
    with ``record_host_steps``, ``host_cpu_util``, ``host_power_w``, ``host_state`` (n_steps, n_hosts);
    with ``record_vm_steps``, ``vm_cpu_demand_mhz``, ``vm_cpu_delivered_mhz`` (time mean over the step),
    ``vm_ram_demand_mb``, ``vm_ram_shortfall_mb`` (time mean), ``vm_downtime_s`` (migration downtime
    started in the step), ``vm_host`` (host at the step start after placement, -1 if none), all
    (n_steps, n_vms)."""

    tables: dict[str, pd.DataFrame]
    manifest: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    def write(self, out_dir: str | Path, fmt: str = "parquet") -> Path:
        """Write every table (``parquet`` or ``csv``), ``schema.json`` and ``manifest.json`` to ``out_dir``,
        and the per-step matrices, when recorded, to ``arrays.npz`` (``host_cpu_util``...)."""
        out = write_tables(out_dir, self.tables, SCHEMA, self.manifest, fmt)
        if self.arrays:
            np.savez_compressed(out / "arrays.npz", **self.arrays)  # type: ignore[arg-type]
        return out


def write_tables(out_dir: str | Path, tables: dict[str, pd.DataFrame], schema: dict[str, dict[str, tuple[str, str, str]]],
                 manifest: dict[str, Any], fmt: str = "parquet") -> Path:
    """Write ``tables`` as Parquet or CSV, their ``schema.json`` and ``manifest.json``; returns the folder."""
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"fmt: must be 'parquet' or 'csv', got {fmt!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        if fmt == "parquet":
            df.to_parquet(out / f"{name}.parquet", index=False)
        else:
            df.to_csv(out / f"{name}.csv", index=False, float_format="%.10g")
    (out / "schema.json").write_text(json.dumps(
        {t: {c: {"dtype": d, "unit": u, "description": x} for c, (d, u, x) in cols.items()}
         for t, cols in schema.items() if t in tables}, indent=2))
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    return out


def _frame(name: str, data: dict[str, Any]) -> pd.DataFrame:
    cols = SCHEMA[name]
    df = pd.DataFrame({c: data[c] for c in cols})
    return df.astype({c: d for c, (d, _, _) in cols.items()})


def _waits(eng: Engine) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per VM: wait to the first placement in s (-1: never placed or never asked), whether it asked and was
    never served, and its CPU demand (MHz*s) from asking to the first placement or the end of its life."""
    tr, log, dt = eng.trace, eng.log, eng.dt
    asked = eng.lifecycle.asked_step.astype(np.int64)
    first = log.first_placed_step.astype(np.int64)
    did_ask = asked >= 0
    served = did_ask & (first >= 0)
    delay = np.where(served, (first - asked) * dt, -1.0)
    never = did_ask & (first < 0)
    end = np.minimum(np.where(served, first, eng.state.vms.depart_step), tr.n_steps)
    refused = np.zeros(tr.n_vms)
    waiting = np.flatnonzero(did_ask & (end > asked))
    cap = eng.state.vms.cpu_booked_mhz if eng.scenario.trace.cap_demand_at_booking else None
    steps = np.arange(tr.n_steps)[:, None]
    for chunk in np.array_split(waiting, max(1, len(waiting) // 256)):
        if not len(chunk):
            continue
        cpu = tr.cpu[:, chunk].astype(np.float64)
        if cap is not None:
            cpu = np.minimum(cpu, cap[chunk])
        inside = (steps >= asked[chunk]) & (steps < end[chunk])
        refused[chunk] = np.where(inside, cpu, 0.0).sum(axis=0) * dt
    return delay, never, refused


def build_result(eng: Engine) -> RunResult:
    """Assemble tables from an engine that has finished its loop."""
    from kumo import __version__

    sc, s, tr = eng.scenario, eng.state, eng.trace
    dt, n = eng.dt, tr.n_steps
    sr, ha, va = eng.step_rec, eng.host_acc, eng.vm_acc
    log = eng.log
    mig = log.migrations
    rej = log.rejections
    names = [h.name for h in sc.hosts]
    hosts = _frame("hosts", {
        "host": np.arange(s.hosts.n),
        "type": [names[i] for i in s.hosts.type_index],
        "cpu_mhz": s.hosts.cpu_mhz,
        "ram_mb": s.hosts.ram_mb,
        "energy_kwh": ha["energy_j"] / 3.6e6,
        "co2_kg": ha["co2_g"] * sc.energy.pue / 1000,
        "on_h": ha["on_s"] / 3600,
        "cpu_util_mean": np.divide(ha["cpu_load_mhz_s"], s.hosts.cpu_mhz * ha["on_s"],
                                   out=np.zeros(s.hosts.n), where=ha["on_s"] > 0),
        "overload_h": ha["overload_s"] / 3600,
        "ram_shortfall_gb_h": ha["ram_shortfall_mb_s"] / 1024 / 3600,
        "vm_steps": ha["vm_steps"],
        "switch_ons": ha["switch_ons"],
        "switch_offs": ha["switch_offs"],
        "migrations_out": ha["migrations_out"],
        "migrations_in": ha["migrations_in"],
        "failures": ha["failures"],
    })
    delay, never, refused = _waits(eng)
    waited = delay[delay >= 0]
    vms = _frame("vms", {
        "vm": np.arange(s.vms.n),
        "vm_id": s.vms.ids.astype(str),
        "cores": s.vms.cores,
        "cpu_booked_mhz": s.vms.cpu_booked_mhz,
        "ram_booked_mb": s.vms.ram_booked_mb,
        "arrive_step": s.vms.arrive_step,
        "depart_step": s.vms.depart_step,
        "first_placed_step": log.first_placed_step,
        "queue_delay_s": delay,
        "cpu_demand_refused_mhz_s": refused,
        "final_state": _STATE_NAMES[s.vm_state],
        "final_host": s.vm_host,
        **{k: va[k] for k in ("steps_run", "cpu_demand_mhz_s", "cpu_delivered_mhz_s", "ram_demand_mb_s",
                              "ram_shortfall_mb_s", "cpu_short_steps", "ram_short_steps", "migrations",
                              "downtime_s", "failures")},
    })
    migrations = _frame("migrations", {
        **{k: mig[k] for k in ("vm", "src", "dst", "start_s", "end_s", "ram_mb", "downtime_s", "cpu_loss", "status",
                               "cause")},
        "duration_s": np.asarray(mig["end_s"], float) - np.asarray(mig["start_s"], float),
    })
    rejections = _frame("rejections", rej)
    refusals = _frame("refusals", log.refusals)
    steps = _frame("steps", {
        "step": np.arange(n), "t_s": np.arange(n) * dt,
        "energy_kwh": sr["energy_j"] / 3.6e6,
        "carbon_g_per_kwh": eng.carbon if eng.carbon is not None else np.zeros(n),
        "co2_kg": sr["co2_g"] * sc.energy.pue / 1000,
        **{k: sr[k] for k in ("active_hosts", "cpu_demand_mhz", "cpu_delivered_mhz", "ram_demand_mb",
                              "ram_shortfall_mb", "running_vms", "migrations_started", "migrations_in_flight",
                              "overloaded_hosts")},
    })
    energy_kwh = float(ha["energy_j"].sum() / 3.6e6)
    co2_kg = float(ha["co2_g"].sum()) * sc.energy.pue / 1000
    demand = float(va["cpu_demand_mhz_s"].sum())
    delivered = float(va["cpu_delivered_mhz_s"].sum())
    status = np.asarray(mig["status"], dtype=object)
    summary = _frame("summary", {
        "scenario": [sc.name], "seed": [sc.seed], "hosts": [s.hosts.n], "vms": [s.vms.n], "steps": [n],
        "step_s": [dt], "duration_h": [n * dt / 3600],
        "energy_kwh": [energy_kwh],
        "facility_energy_kwh": [energy_kwh * sc.energy.pue],
        "energy_cost": [energy_kwh * sc.energy.pue * sc.energy.price_per_kwh],
        "co2_kg": [co2_kg],
        "carbon_g_per_kwh_mean": [co2_kg * 1000 / (energy_kwh * sc.energy.pue) if energy_kwh > 0 else 0.0],
        "migrations": [len(status)],
        "migrations_aborted": [int(np.count_nonzero(status == "aborted"))],
        "migrations_refused": [log.migrations_refused],
        "host_failures": [int(ha["failures"].sum())],
        "vm_downtime_h": [float(va["downtime_s"].sum()) / 3600],
        "rejections": [int(np.count_nonzero(s.vm_state == VM_REJECTED))],
        "vms_placed": [int(np.count_nonzero(log.first_placed_step >= 0))],
        "vms_never_served": [int(never.sum())],
        "never_served_fraction": [float(never.sum()) / (len(waited) + int(never.sum())) if never.any() else 0.0],
        "queue_delay_p50_s": [float(np.percentile(waited, 50)) if len(waited) else 0.0],
        "queue_delay_p95_s": [float(np.percentile(waited, 95)) if len(waited) else 0.0],
        "queue_delay_max_s": [float(waited.max()) if len(waited) else 0.0],
        "cpu_demand_ghz_h": [demand / 1000 / 3600],
        "cpu_delivered_ghz_h": [delivered / 1000 / 3600],
        "cpu_demand_refused_ghz_h": [float(refused.sum()) / 1000 / 3600],
        "cpu_unmet_fraction": [1 - delivered / (demand + float(refused.sum())) if demand + refused.sum() > 0
                               else 0.0],
        "ram_shortfall_gb_h": [float(ha["ram_shortfall_mb_s"].sum()) / 1024 / 3600],
        "vm_steps_cpu_short": [int(va["cpu_short_steps"].sum())],
        "vm_steps_ram_short": [int(va["ram_short_steps"].sum())],
        "host_overload_h": [float(ha["overload_s"].sum()) / 3600],
        "active_hosts_mean": [float(sr["active_hosts"].mean()) if n else 0.0],
        "active_hosts_max": [int(sr["active_hosts"].max()) if n else 0],
        "host_switch_ons": [int(ha["switch_ons"].sum())],
        "host_switch_offs": [int(ha["switch_offs"].sum())],
    })
    manifest = {
        "kumo_version": __version__,
        "scenario": sc.model_dump(mode="json"),
        "seed": sc.seed,
        "trace": {"name": tr.name, "hash": tr.content_hash(), "vms": tr.n_vms, "steps": tr.n_steps,
                  "step_s": tr.step_s, "provenance": dict(tr.provenance)},
        "wall_s": round(log.wall_s, 4),
        "plugins": [dataclasses.asdict(p) for p in plugins.loaded()],
    }
    arrays: dict[str, np.ndarray] = {}
    if eng.host_steps is not None:
        arrays.update({f"host_{k}": v for k, v in eng.host_steps.items()})
    if eng.vm_steps is not None:
        arrays.update({f"vm_{k}": v for k, v in eng.vm_steps.items()})
    return RunResult(
        tables={"summary": summary, "steps": steps, "hosts": hosts, "vms": vms, "migrations": migrations,
                "rejections": rejections, "refusals": refusals},
        manifest=manifest,
        arrays=arrays,
    )
