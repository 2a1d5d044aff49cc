"""Building a run: the host park from a scenario, the trace cut to the scenario, arrivals by step."""

from __future__ import annotations

from typing import Any

import numpy as np

from kumo.config import Scenario
from kumo.errors import ConfigError
from kumo.models.power import CURVES, SPECPOWER_TABLES, PowerCurve, PowerModel, PowerTable, linear_table
from kumo.state import HostArrays
from kumo.traces.base import Trace

__all__ = ["build_hosts", "bucket", "carbon_forecast", "carbon_intensity", "power_table", "prepare_trace"]


def power_table(spec: Any) -> PowerModel:
    """The power model of a scenario's power spec: a :class:`PowerTable` (``linear``, ``table``, ``spec``)
    or a :class:`PowerCurve` (``sqrt``, ``square``, ``cubic``)."""
    if spec.kind == "linear":
        return linear_table(spec.idle_w, spec.max_w)
    if spec.kind in CURVES:
        return PowerCurve(spec.kind, float(spec.idle_w), float(spec.max_w))
    if spec.kind == "table":
        return PowerTable(tuple(spec.watts))
    return PowerTable(SPECPOWER_TABLES[spec.model])


def build_hosts(scenario: Scenario) -> tuple[HostArrays, np.ndarray]:
    """Host arrays in scenario order (``grouped``) or round-robin over types (``interleaved``), and which
    hosts start switched on."""
    types = np.concatenate([np.full(h.count, i, np.int32) for i, h in enumerate(scenario.hosts)])
    if scenario.host_layout == "interleaved":
        # host i takes the next type in turn among types with hosts left (CloudSim: type = i mod n)
        left = [h.count for h in scenario.hosts]
        order: list[int] = []
        while any(left):
            for i in range(len(left)):
                if left[i]:
                    order.append(i)
                    left[i] -= 1
        types = np.asarray(order, np.int32)
    ht = scenario.hosts
    cores = np.array([ht[i].cores for i in types], np.int32)
    core_mhz = np.array([ht[i].core_mhz for i in types], np.float64)
    hosts = HostArrays(
        type_index=types,
        cores=cores,
        core_mhz=core_mhz,
        cpu_mhz=cores * core_mhz,
        ram_mb=np.array([ht[i].ram_mb for i in types], np.float64),
        nic_mbps=np.array([ht[i].nic_mbps for i in types], np.float64),
        cpu_overcommit=np.array([ht[i].cpu_overcommit for i in types], np.float64),
        ram_overcommit=np.array([ht[i].ram_overcommit for i in types], np.float64),
        power_tables=tuple(power_table(h.power) for h in ht),
    )
    initially_on = np.array([ht[i].initially_on for i in types], bool)
    return hosts, initially_on


def prepare_trace(scenario: Scenario, trace: Trace) -> Trace:
    """Apply the scenario's VM subset, step limit and VM types to a trace."""
    ts = scenario.trace
    if ts.start_step >= trace.n_steps:
        raise ConfigError([f"trace.start_step: {ts.start_step} is past the trace's last step ({trace.n_steps - 1})"],
                          scenario.name)
    if ts.max_vms is not None or ts.max_steps is not None or ts.start_step:
        stop = None if ts.max_steps is None else ts.start_step + ts.max_steps
        trace = trace.select(
            vms=None if ts.max_vms is None else slice(0, ts.max_vms),
            steps=slice(ts.start_step, stop) if (ts.max_steps is not None or ts.start_step) else None,
        )
    if ts.demand_noise > 0:
        trace = trace.with_noise(ts.demand_noise, scenario.seed)
    if ts.vm_type_assignment != "trace":
        n, k = trace.n_vms, len(ts.vm_types)
        if ts.vm_type_assignment == "blocks":
            idx = np.arange(n) // int(np.ceil(n / k))
        else:
            idx = np.arange(n) % k
        vt = ts.vm_types
        trace = trace.with_vm_sizes(
            cores=np.array([vt[i].cores for i in idx]),
            cpu_mhz=np.array([vt[i].cpu_mhz for i in idx]),
            ram_mb=np.array([vt[i].ram_mb for i in idx]),
        )
    problems = []
    if trace.cpu_unit != "mhz":
        problems.append("trace.vm_types: this trace gives CPU as a fraction of the VM size; set vm_types and "
                        "vm_type_assignment ('blocks' or 'round-robin')")
    else:
        bad = ~np.isfinite(trace.cpu_booked_mhz) | ~np.isfinite(trace.ram_booked_mb)
        if bad.any():
            problems.append(f"trace: {int(bad.sum())} VM(s) have no booked size (first: {trace.vm_ids[bad][0]}); "
                            "give trace.vm_types")
    if trace.n_vms == 0:
        problems.append("trace: has no VMs")
    if problems:
        raise ConfigError(problems, scenario.name)
    return trace


def carbon_intensity(scenario: Scenario, n_steps: int, step_s: float) -> np.ndarray | None:
    """(n_steps,) grid carbon intensity of each step, gCO2/kWh, from the scenario's ``[carbon]``; None without."""
    spec = scenario.carbon
    if spec is None:
        return None
    if spec.g_per_kwh is not None:
        return np.full(n_steps, float(spec.g_per_kwh))
    from kumo.models.carbon import load_series, step_intensity

    assert spec.source is not None
    series = load_series(spec.source)
    try:
        offset = series.offset_s(spec.start)
    except ValueError as e:
        raise ConfigError([f"carbon.start: {e}"], scenario.name) from None
    return step_intensity(series, offset, n_steps, step_s)


def carbon_forecast(scenario: Scenario, actual: np.ndarray | None, step_s: float) -> Any:
    """What policies are told of the intensity ahead (:class:`kumo.models.carbon.CarbonForecast`, built on
    ``actual``, the run's intensity, and the day before the run), or None without ``[carbon]``."""
    spec = scenario.carbon
    if spec is None or actual is None:
        return None
    from kumo.models.carbon import CarbonForecast, load_series, step_intensity

    lag = max(1, int(round(86400.0 / step_s)))
    if spec.g_per_kwh is not None:
        past = np.full(lag, float(spec.g_per_kwh))
    else:
        assert spec.source is not None
        series = load_series(spec.source)
        period = series.n * series.step_s
        past = step_intensity(series, (series.offset_s(spec.start) - lag * step_s) % period, lag, step_s)
    return CarbonForecast(spec.forecast, np.concatenate([past, actual]), lag)


def bucket(step_of: np.ndarray, n: int) -> list[np.ndarray]:
    """VM indices grouped by step (ascending VM index within a step); steps >= n are dropped."""
    order = np.argsort(step_of, kind="stable")
    cut = np.searchsorted(step_of[order], np.arange(n + 1))
    return [order[cut[i]:cut[i + 1]] for i in range(n)]
