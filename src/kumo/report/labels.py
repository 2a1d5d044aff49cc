"""Axis labels with names and units, for the figures: a result column or a sweep axis path in words.

``metric_label("energy_kwh")`` -> ``"IT energy of all hosts (kWh)"``; ``axis_label("hosts[0].ram_overcommit")``
-> ``"RAM overcommit (max booked / physical RAM)"``. Result columns take their description and unit from the
tables' schemas; scenario paths from the scenario's field descriptions and a few names spelled out here.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["axis_label", "metric_label", "value_label"]

#: scenario / ledger paths spelled out (the last component of a path, or the whole path)
_AXES: dict[str, str] = {
    "cpu_overcommit": "CPU overcommit (max booked / physical CPU)",
    "ram_overcommit": "RAM overcommit (max booked / physical RAM)",
    "boot_s": "boot delay (s)",
    "idle_w": "idle power (W)",
    "max_w": "power at full load (W)",
    "initially_on": "hosts on at the start",
    "ee": "switch empty hosts off (EE)",
    "lb": "load balancing (LB)",
    "upper_cpu": "upper CPU threshold (fraction of capacity)",
    "upper_ram": "upper RAM threshold (fraction of capacity)",
    "lower": "underload threshold (fraction of capacity)",
    "threshold": "threshold (fraction of capacity)",
    "count": "hosts",
    "scheduler": "scheduler",
    "jitter": "threshold jitter (fraction of capacity)",
    "trace.start_step": "trace window start (step)",
    "seed": "seed",
    "ledger.penalties.ram.value": "penalty per RAM break (currency)",
    "ledger.penalties.cpu.value": "penalty per CPU break (currency)",
    "ledger.penalties.uptime.value": "penalty per uptime break (currency)",
    "price_per_kwh": "energy price (currency / kWh)",
    "broker.name": "broker",
    "carbon_start": "start in the carbon series",
    "carbon_forecast": "carbon forecast",
}
_UNITS = {"s": "s", "h": "h", "w": "W", "mb": "MB", "gb": "GB", "mhz": "MHz", "kwh": "kWh", "mbps": "Mbit/s"}


#: result columns spelled out (the unit comes from the schemas)
_METRICS = {
    "margin_percent": "margin (% of revenue)",
    "sla_breaks_cpu": "CPU objective breaks",
    "sla_breaks_ram": "RAM objective breaks",
    "sla_breaks_uptime": "uptime objective breaks",
    "energy_kwh": "IT energy",
    "facility_energy_kwh": "facility energy",
    "cpu_unmet_fraction": "CPU demand not delivered",
    "active_hosts_mean": "hosts on, mean",
    "co2_kg": "CO2 emitted",
    "outsourcing_volume": "paid to partners (currency)",
    "penalty_reimbursements": "penalties reimbursed by partners (currency)",
    "customer_cost": "paid by customers (currency)",
    "carbon_cost": "carbon cost",
    "carbon_g_per_kwh_mean": "grid carbon intensity, mean",
}


def metric_label(column: str) -> str:
    """A result column as ``name (unit)``, the unit from the run summary's and the ledger's schemas."""
    from kumo.accounting import ACCOUNTS_SCHEMA
    from kumo.results import SCHEMA

    if column == "margin_percent":
        return _METRICS[column]
    spec: Any = {**SCHEMA["summary"], **ACCOUNTS_SCHEMA}.get(column)
    if spec is None:
        return _METRICS.get(column) or _words(column)
    unit = {"1": "fraction", "-": ""}.get(spec[1], spec[1])
    name = _METRICS.get(column) or " ".join(p for p in column.split("_") if p.lower() not in _UNITS)
    return f"{name} ({unit})" if unit else name


def axis_label(path: str) -> str:
    """A sweep axis (a scenario or ledger path, or a registered axis) in words, with its unit."""
    if path in _AXES:
        return _AXES[path]
    last = re.split(r"[.\[\]]+", path.strip("]"))[-1]
    if last in _AXES:
        return _AXES[last]
    return _words(last)


def _words(name: str) -> str:
    parts = name.split("_")
    if len(parts) > 1 and parts[-1].lower() in _UNITS:
        return " ".join(parts[:-1]) + f" ({_UNITS[parts[-1].lower()]})"
    return " ".join(parts)


def value_label(v: Any) -> Any:
    """A sweep axis value as a short cell: a policy or model table (``name``, ``model`` or ``kind`` with
    ``params``) as ``name(k=v, ...)``, other tables as ``k=v, ...``, a list as its items joined by ``+``
    (``none`` when empty); scalars unchanged."""
    if isinstance(v, dict):
        head = next((k for k in ("name", "model", "kind") if isinstance(v.get(k), str)), None)
        raw = v.get("params")
        params: dict[str, Any] = raw if isinstance(raw, dict) else {}
        rest = {k: x for k, x in v.items() if k != head and not (k == "params" and isinstance(x, dict))}
        inner = ", ".join(f"{k}={value_label(x)}" for k, x in {**params, **rest}.items())
        if head is not None:
            return f"{v[head]}({inner})" if inner else str(v[head])
        return inner or "none"
    if isinstance(v, list | tuple):
        return " + ".join(str(value_label(x)) for x in v) if v else "none"
    return v
