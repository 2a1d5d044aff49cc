"""Beloglazov & Buyya's consolidation metrics computed from a general-engine run (pure functions).

CloudSim derives SLATAH, PDM and friends from per-event state histories (:mod:`kumo.studies.cloudsim._accounting`).
A :class:`~kumo.results.RunResult` of the general engine holds per-step, per-host and per-VM integrals
instead, recorded with ``record_host_steps`` and ``record_vm_steps``; these functions read them. Definitions
(CCPE 2012, §6, pooled over hosts/VMs as CloudSim's ``Helper`` pools them):

* SLATAH = time hosts spent with CPU demand above capacity / time hosts were on;
* PDM = CPU lost to migrations (the model's ``source_cpu_loss`` x demand x duration) / CPU demanded;
* SLAV = SLATAH x PDM, ESV = energy x SLAV;
* overall SLA violation = 1 - delivered / demanded CPU; average SLA violation = mean over (VM, step) pairs
  with a shortfall of shortfall / demand;
* host shutdowns = on -> off switches; time before a host shutdown = length of each on-period that ends
  in a switch-off; time before a VM migration = time from a VM's arrival or previous migration to its next.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["consolidation_metrics", "pdm", "slatah", "vm_shortfall_average"]


def slatah(result: Any) -> float:
    """SLA time per active host: Σ overload time / Σ on time over all hosts."""
    hosts = result.tables["hosts"]
    on = float(hosts["on_h"].sum())
    return float(hosts["overload_h"].sum()) / on if on > 0 else math.nan


def pdm(result: Any, source_cpu_loss: float | None = None) -> float:
    """Performance degradation due to migration: CPU lost while migrating / CPU demanded (MHz·s ratio).

    Needs ``record_vm_steps`` (the VM's demand in the step its migration started).
    """
    mig = result.tables["migrations"]
    demand = float(result.tables["vms"]["cpu_demand_mhz_s"].sum())
    if demand <= 0:
        return math.nan
    if len(mig) == 0:
        return 0.0
    if source_cpu_loss is None:
        params = result.manifest.get("scenario", {}).get("migration", {}).get("params", {})
        source_cpu_loss = float(params.get("source_cpu_loss", 0.1))
    step_s = float(result.tables["summary"]["step_s"].iloc[0])
    d = result.arrays["vm_cpu_demand_mhz"]
    start = mig["start_s"].to_numpy()
    step = np.minimum((start // step_s).astype(np.int64), d.shape[0] - 1)
    lost = source_cpu_loss * d[step, mig["vm"].to_numpy()].astype(np.float64) * mig["duration_s"].to_numpy()
    return float(lost.sum()) / demand


def vm_shortfall_average(result: Any) -> float:
    """Mean of (demand - delivered) / demand over the (VM, step) pairs with a shortfall."""
    d = result.arrays["vm_cpu_demand_mhz"].astype(np.float64)
    got = result.arrays["vm_cpu_delivered_mhz"].astype(np.float64)
    short = (d > 0) & (got < d * (1 - 1e-6))
    return float(((d - got)[short] / d[short]).mean()) if short.any() else 0.0


def _mean_std(x: list[float]) -> tuple[float, float]:
    a = np.asarray(x, dtype=np.float64)
    if a.size == 0:
        return math.nan, math.nan
    return float(a.mean()), float(a.std(ddof=1)) if a.size > 1 else math.nan


def _on_periods_before_off(state: np.ndarray, step_s: float) -> list[float]:
    on = state != 0
    out: list[float] = []
    for h in range(on.shape[1]):
        col = on[:, h]
        change = np.flatnonzero(np.diff(col.astype(np.int8)))
        starts = [0] if col[0] else []
        for c in change.tolist():
            if col[c + 1]:
                starts.append(c + 1)
            elif starts:
                out.append((c + 1 - starts[-1]) * step_s)
    return out


def _times_between_migrations(result: Any) -> list[float]:
    mig = result.tables["migrations"].sort_values(["vm", "start_s"], kind="stable")
    step_s = float(result.tables["summary"]["step_s"].iloc[0])
    arrive = result.tables["vms"]["arrive_step"].to_numpy() * step_s
    out: list[float] = []
    for vm, g in mig.groupby("vm", sort=True):
        t = g["start_s"].to_numpy()
        out += np.diff(np.concatenate([[arrive[int(vm)]], t])).tolist()
    return out


def consolidation_metrics(result: Any) -> dict[str, float]:
    """CloudSim's printed metric set for a general-engine run (same keys as :func:`kumo.studies.cloudsim.run_cloudsim`).

    Needs a run with ``record_host_steps`` and ``record_vm_steps``.
    """
    s = result.summary
    energy = float(s["energy_kwh"])
    sl = slatah(result)
    pd_ = pdm(result)
    step_s = float(s["step_s"])
    down_mean, down_std = _mean_std(_on_periods_before_off(result.arrays["host_state"], step_s))
    mig_mean, mig_std = _mean_std(_times_between_migrations(result))
    return {
        "energy_kwh": energy,
        "migrations": float(s["migrations"]),
        "slatah": sl,
        "pdm": pd_,
        "slav": sl * pd_,
        "esv": energy * sl * pd_,
        "sla_overall": float(s["cpu_unmet_fraction"]),
        "sla_average": vm_shortfall_average(result),
        "host_shutdowns": float(s["host_switch_offs"]),
        "time_before_host_shutdown_mean_s": down_mean,
        "time_before_host_shutdown_std_s": down_std,
        "time_before_vm_migration_mean_s": mig_mean,
        "time_before_vm_migration_std_s": mig_std,
    }
