"""A JSON-serializable summary of a trace, for ``kumo trace info`` and for manifests."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np

from kumo.traces.base import Trace

MB_PER_GB = 1024.0
MHZ_PER_GHZ = 1000.0


def _num(x: float) -> float | None:
    """A plain float rounded to 6 significant digits, or None for NaN (JSON has no NaN)."""
    x = float(x)
    return None if math.isnan(x) else float(f"{x:.6g}")


def _series(prefix: str, per_step: np.ndarray | None) -> dict[str, float | None]:
    """``{prefix}_mean``, ``_p95``, ``_max`` of a per-step series (None when absent or empty)."""
    if per_step is None or per_step.size == 0:
        return {f"{prefix}_{s}": None for s in ("mean", "p95", "max")}
    return {
        f"{prefix}_mean": _num(per_step.mean()),
        f"{prefix}_p95": _num(np.percentile(per_step, 95)),
        f"{prefix}_max": _num(per_step.max()),
    }


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, tz=UTC).isoformat().replace("+00:00", "Z")


def trace_info(trace: Trace) -> dict[str, Any]:
    """Facts about ``trace`` as plain data (str, int, float, None, dict, list); JSON-serializable.

    Returns
    -------
    dict
        ``name``, ``format``, ``vms``, ``steps``, ``step_s``, ``duration_s``, ``start_utc`` / ``end_utc``
        (ISO 8601, end of the last step; None without absolute time), ``cpu_unit``, ``booked`` (sums over
        VMs: ``cores``, ``cpu_ghz``, ``ram_gb``; None when unknown), ``used`` (per-step sums over VMs, as
        ``<series>_mean``, ``_p95`` and ``_max`` for the series ``cpu_ghz`` (MHz traces) or
        ``cpu_booked_fraction_sum`` (fraction traces), ``ram_gb`` (None without RAM) and ``active_vms``),
        ``quirks`` and ``provenance``. Every nested dict is one level deep. GB = 1024 MB.
    """
    timed = trace.start_epoch_s > 0
    alive = trace.alive()
    active = alive.sum(axis=1, dtype=np.int64)
    cpu_sum = trace.cpu.sum(axis=1, dtype=np.float64)
    if trace.cpu_unit == "mhz":
        used = _series("cpu_ghz", cpu_sum / MHZ_PER_GHZ)
    else:
        used = _series("cpu_booked_fraction_sum", cpu_sum)
    ram = None if trace.ram_mb is None else trace.ram_mb.sum(axis=1, dtype=np.float64) / MB_PER_GB
    used |= _series("ram_gb", ram)
    used |= _series("active_vms", active.astype(np.float64))
    booked_cpu = trace.cpu_booked_mhz.astype(np.float64)
    booked_ram = trace.ram_booked_mb.astype(np.float64)
    return {
        "name": trace.name,
        "format": trace.provenance.get("format"),
        "vms": trace.n_vms,
        "steps": trace.n_steps,
        "step_s": float(trace.step_s),
        "duration_s": float(trace.duration_s),
        "start_utc": _iso(trace.start_epoch_s) if timed else None,
        "end_utc": _iso(trace.start_epoch_s + trace.duration_s) if timed else None,
        "cpu_unit": trace.cpu_unit,
        "booked": {
            "cores": int(trace.cores.sum(dtype=np.int64)),
            "cpu_ghz": _num(booked_cpu.sum() / MHZ_PER_GHZ) if np.isfinite(booked_cpu).all() else None,
            "ram_gb": _num(booked_ram.sum() / MB_PER_GB) if np.isfinite(booked_ram).all() else None,
        },
        "used": used,
        "quirks": {k: int(v) for k, v in trace.quirks.items()},
        "provenance": {k: str(v) for k, v in trace.provenance.items()},
    }
