"""SLA rules and break detection of the ledger (:mod:`kumo.accounting`): what counts as a CPU, RAM or
uptime break of a run, and the migration downtime that drives the uptime objective.

Split out of :mod:`kumo.accounting`, which re-exports every public name here; the model is the reference's
§4 (``shared/reference/kohne-sla-scheduling.md``), every rule an [A] default and a parameter of
:class:`SlaSpec`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from kumo.results import RunResult

__all__ = ["SlaSpec", "downtime_per_window", "end_of_step_loads", "migration_downtime_s", "shortfalls",
           "sla_breaks", "source_overloaded", "window_sums"]

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


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
    counting : ``interval`` (one break per VM per step in violation, the default), ``episode`` (one per
        contiguous run of violating steps of a VM) or ``window`` (the objective is evaluated per period, as
        the uptime objective is: a VM breaks it in a calendar window of ``window_h`` when its shortfall summed
        over the window exceeds the tolerance x its demand summed over the window — the share of its demand
        it did not get; one break per VM and window. A short spike then costs nothing, a host left
        overloaded for hours does).
    window_h : the evaluation period of the CPU and RAM objectives for ``counting = "window"`` (windows
        aligned at the trace start, like the uptime windows).
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
    downtime_moves : which migrations cost the ``downtime`` above (reference §3.6, cold/live modes [A]).
        ``all`` (the former behaviour): every migration. ``overload``: only a migration that leaves an
        *overloaded* source (CPU or RAM demand / capacity above ``overload_threshold`` at the step the
        migration starts, the loads the scheduler decided on) — a VM evicted from a saturated host, whose
        pre-copy does not converge, so it is stopped and copied; a migration off a calm host (EE
        consolidation, LB) is a converging live migration with only its final stop-and-copy,
        d = live_downtime_fraction x t_mig (t_mig from ``migrated_ram``). This reading explains why the
        reference's worst-fit rows have no uptime breaks while doing thousands of migrations: WF targets
        are the emptiest hosts, so a VM it moves rarely has to leave an overloaded host again.
    overload_threshold : the load above which a source counts as overloaded for ``downtime_moves =
        "overload"``; None: the run's controller ``upper_cpu`` / ``upper_ram`` (from the manifest), else 1.0
        (physically saturated).
    """

    check: Literal["mean", "end"] = "mean"
    inflight_at: Literal["source", "target"] = "source"
    cpu_tolerance: float = Field(default=0.0, ge=0, lt=1)
    ram_tolerance: float = Field(default=0.0, ge=0, lt=1)
    counting: Literal["interval", "episode", "window"] = "interval"
    window_h: float = Field(default=24.0, gt=0)
    uptime_window_h: float = Field(default=24.0, gt=0)
    uptime_target: float = Field(default=0.999, ge=0, le=1)
    downtime: Literal["cold", "live", "fixed", "engine"] = "cold"
    live_downtime_fraction: float = Field(default=0.05, ge=0, le=1)
    fixed_downtime_s: float = Field(default=10.0, ge=0)
    migrated_ram: Literal["used", "booked"] = "used"
    migration_mbps: float = Field(default=1000.0, gt=0)
    migration_bandwidth_share: float = Field(default=0.5, gt=0, le=1)
    downtime_moves: Literal["all", "overload"] = "all"
    overload_threshold: float | None = Field(default=None, gt=0)


def _arrays(result: RunResult, *names: str) -> list[np.ndarray]:
    missing = [n for n in names if n not in result.arrays]
    if missing:
        raise ValueError(f"accounting needs the per-step VM matrices {missing}: run the scenario with "
                         "record_vm_steps = true")
    return [result.arrays[n] for n in names]


def _step_s(result: RunResult) -> float:
    return float(result.tables["summary"]["step_s"].iloc[0])


def _migrated_ram_mb(result: RunResult, sla: SlaSpec, mig: pd.DataFrame) -> np.ndarray:
    if sla.migrated_ram == "booked":
        return result.tables["vms"]["ram_booked_mb"].to_numpy(np.float64)[mig["vm"].to_numpy(np.int64)]
    (ram_demand,) = _arrays(result, "vm_ram_demand_mb")
    step = np.minimum((mig["start_s"].to_numpy() / _step_s(result)).astype(np.int64), ram_demand.shape[0] - 1)
    return ram_demand[step, mig["vm"].to_numpy(np.int64)].astype(np.float64)


def source_overloaded(result: RunResult, threshold: float | tuple[float, float] | None = None) -> np.ndarray:
    """(n_migrations,) bool: whether each migration's source host was over ``threshold`` (CPU or RAM demand
    / capacity; a float or (cpu, ram); None: the controller's ``upper_cpu`` / ``upper_ram``, else 1.0) at the
    step the migration started."""
    mig = result.tables["migrations"]
    if len(mig) == 0:
        return np.zeros(0, bool)
    if threshold is None:
        params = (((result.manifest.get("scenario") or {}).get("controller") or {}).get("params") or {})
        threshold = (float(params.get("upper_cpu", 1.0)), float(params.get("upper_ram", 1.0)))
    th_c, th_r = threshold if isinstance(threshold, tuple) else (threshold, threshold)
    cpu_d, ram_d, host = _arrays(result, "vm_cpu_demand_mhz", "vm_ram_demand_mb", "vm_host")
    n_steps = cpu_d.shape[0]
    k = np.minimum((mig["start_s"].to_numpy() / _step_s(result)).astype(np.int64), n_steps - 1)
    src = mig["src"].to_numpy(np.int64)
    hosts = result.tables["hosts"]
    on_src = host[k] == src[:, None]  # (n_migrations, n_vms): the VMs on the source at the start step
    used_c = np.where(on_src, cpu_d[k], 0).sum(axis=1, dtype=np.float64)
    used_r = np.where(on_src, ram_d[k], 0).sum(axis=1, dtype=np.float64)
    return (used_c > th_c * hosts["cpu_mhz"].to_numpy(np.float64)[src]) | \
        (used_r > th_r * hosts["ram_mb"].to_numpy(np.float64)[src])


def migration_downtime_s(result: RunResult, sla: SlaSpec) -> np.ndarray:
    """(n_migrations,) downtime of each migration under the ledger's rule (``cold``, ``live`` or ``fixed``).

    t_mig = RAM_MB / (migration_mbps x share / 8) with RAM = the VM's RAM demand at the start step
    (``used``) or its booking (``booked``); cold: d = t_mig, live: d = fraction x t_mig. With
    ``downtime_moves = "overload"`` only migrations off an overloaded source (:func:`source_overloaded`)
    get that downtime, the others the live one. For ``downtime = "engine"`` use the engine's per-step
    matrix instead (see :func:`sla_breaks`).
    """
    mig = result.tables["migrations"]
    if len(mig) == 0:
        return np.zeros(0)
    rate = sla.migration_mbps * sla.migration_bandwidth_share / 8.0
    if sla.downtime == "fixed":
        d = np.full(len(mig), sla.fixed_downtime_s)
    else:
        t_mig = _migrated_ram_mb(result, sla, mig) / rate
        d = t_mig if sla.downtime == "cold" else sla.live_downtime_fraction * t_mig
    if sla.downtime_moves == "overload":
        calm = sla.live_downtime_fraction * _migrated_ram_mb(result, sla, mig) / rate
        d = np.where(source_overloaded(result, sla.overload_threshold), d, calm)
    return d


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


def window_sums(x: np.ndarray, step_s: float, window_h: float, how: str = "sum") -> np.ndarray:
    """(n_windows, n_vms) sums (``how="sum"``, float64) or any-s (``"any"``) of a (n_steps, n_vms) matrix over
    calendar windows of ``window_h`` aligned at the trace start (a step counts in the window it starts in)."""
    n_steps, n_vms = x.shape
    window_s = window_h * 3600.0
    n_windows = max(1, int(np.ceil(n_steps * step_s / window_s)))
    per = window_s / step_s
    if per == int(per) and n_steps:
        n_per = int(per)
        full = n_steps // n_per
        head = x[:full * n_per].reshape(full, n_per, n_vms)
        tail = x[full * n_per:]
        if how == "any":
            out = np.zeros((n_windows, n_vms), bool)
            out[:full] = head.any(axis=1)
            if len(tail):
                out[full] = tail.any(axis=0)
            return out
        out_f = np.zeros((n_windows, n_vms))
        out_f[:full] = head.sum(axis=1, dtype=np.float64)
        if len(tail):
            out_f[full] = tail.sum(axis=0, dtype=np.float64)
        return out_f
    # windows of varying length in steps: each is a run of consecutive steps (an empty one sums nothing)
    win = np.minimum((np.arange(n_steps) * step_s // window_s).astype(np.int64), n_windows - 1)
    first = np.searchsorted(win, np.arange(n_windows))
    filled = first < n_steps
    if how == "any":
        out = np.zeros((n_windows, n_vms), bool)
        if n_steps:
            out[filled] = np.logical_or.reduceat(x, first[filled], axis=0)
        return out
    out_f = np.zeros((n_windows, n_vms))
    if n_steps:
        out_f[filled] = np.add.reduceat(np.asarray(x, np.float64), first[filled], axis=0)
    return out_f


def _window_breaks(short: np.ndarray, demand: np.ndarray, placed: np.ndarray, tolerance: float, floor: float,
                   window_h: float, resource: str, step_s: float) -> dict[str, np.ndarray]:
    """``counting = "window"``: one break per VM and window whose summed shortfall exceeds ``tolerance`` x
    its summed demand (+ ``floor``); measure = the share of its demand the VM missed in the window."""
    n_steps = short.shape[0]
    window_s = window_h * 3600.0
    s = window_sums(short, step_s, window_h)
    d = window_sums(demand, step_s, window_h)
    p = window_sums(placed, step_s, window_h, "any")
    w, vm = np.nonzero(p & (s > d * tolerance + floor))
    step = np.minimum((w * window_s / step_s).astype(np.int64), max(n_steps - 1, 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(d[w, vm] > 0, s[w, vm] / d[w, vm], 1.0)
    return {"vm": vm, "resource": np.full(len(vm), resource), "step": step, "window": w,
            "t_s": w * window_s, "measure": share, "unit": np.full(len(vm), "share of demand")}


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
    step of an episode or window), ``window`` (uptime window index, or SLA window index with ``counting =
    "window"``, else -1), ``t_s``, ``measure`` (CPU shortfall MHz, RAM shortfall MB — time means over the
    step —, with ``counting = "window"`` the share of its demand the VM missed in the window, or downtime s
    in the uptime window) and ``unit``. Needs ``record_vm_steps``.
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
    if sla.counting == "window":
        ram_d, host = _arrays(result, "vm_ram_demand_mb", "vm_host")
        placed = host >= 0
        parts = [
            _window_breaks(cpu_short, cpu_d, placed, max(sla.cpu_tolerance, 1e-6), 0.0, sla.window_h, "cpu",
                           step_s),
            _window_breaks(ram_s, ram_d, placed, sla.ram_tolerance, 1e-6, sla.window_h, "ram", step_s),
        ]
    else:
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
