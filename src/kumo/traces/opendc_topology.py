"""OpenDC topology files (JSON: clusters of hosts with CPUs, memory and a power model) as a scenario's
``[[hosts]]``.

Format (OpenDC's documentation, "Topology"): ``{"clusters": [{"name", "count", "hosts": [{"name", "count",
"cpu": {"coreCount", "coreSpeed" (MHz), "count"}, "memory": {"memorySize"}, "cpuPowerModel": {"modelType",
"idlePower", "maxPower", "power"}}]}]}``. ``cpus`` (a list of CPUs) is accepted in place of ``cpu``, and
``powerModel`` in place of ``cpuPowerModel``; counts default to 1 and names to ``C<i>`` / ``H<j>``.

Conversion, one host type per (cluster, host) entry, named ``<cluster>-<host>``:

- ``count`` = cluster count x host count; ``cores`` = coreCount x CPU count (summed over ``cpus``; their
  speeds must agree, a kumo host has one core speed); ``core_mhz`` = coreSpeed.
- ``ram_mb`` = memorySize. OpenDC's documentation says bytes in one place and shows 100000 as "100 MiB"
  in another, while its workloads give task memory in MB and the SURF topology pairs 100000 with tasks of
  100000 MB: kumo reads MB by default (``memory_unit="mb"``); ``"bytes"`` divides by 2**20.
- power: ``sqrt``, ``square``, ``cubic``, ``linear`` -> ``{kind, idle_w = idlePower, max_w = maxPower}``;
  ``constant`` -> ``linear`` with idle = max = ``power``. Other models (``mse``, ``asymptotic``) are refused;
  a host without a power model keeps kumo's default.

Errors (:class:`~kumo.errors.TraceFormatError` with the file, the JSON line when the file does not parse,
and the path of the field, e.g. ``clusters[0].hosts[0].cpu.coreCount``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from kumo.errors import TraceFormatError

CURVE_MODELS = ("sqrt", "square", "cubic", "linear")
MEMORY_UNITS = {"mb": 1.0, "bytes": 1.0 / 2**20}


class _Doc:
    """The parsed file and a way to blame one of its fields."""

    def __init__(self, path: Path):
        self.path = path

    def error(self, where: str, reason: str) -> TraceFormatError:
        return TraceFormatError(self.path, reason, field=where)

    def number(self, obj: dict[str, Any], key: str, where: str, *, positive: bool = True,
               whole: bool = False, default: float | None = None) -> float:
        if key not in obj:
            if default is not None:
                return default
            raise self.error(f"{where}.{key}", "missing")
        v = obj[key]
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise self.error(f"{where}.{key}", f"must be a finite number, got {v!r}")
        if (positive and v <= 0) or v < 0:
            raise self.error(f"{where}.{key}", f"must be {'> 0' if positive else '>= 0'}, got {v!r}")
        if whole and v != int(v):
            raise self.error(f"{where}.{key}", f"must be a whole number, got {v!r}")
        return float(v)

    def table(self, obj: dict[str, Any], key: str, where: str) -> Any:
        if key not in obj:
            raise self.error(f"{where}.{key}", "missing")
        return obj[key]


def _cpu(doc: _Doc, host: dict[str, Any], where: str) -> tuple[int, float]:
    """(cores, MHz per core) of a host's ``cpu`` object or ``cpus`` list."""
    if "cpu" in host:
        cpus, at = [host["cpu"]], [f"{where}.cpu"]
    elif "cpus" in host and isinstance(host["cpus"], list) and host["cpus"]:
        cpus, at = host["cpus"], [f"{where}.cpus[{i}]" for i in range(len(host["cpus"]))]
    else:
        raise doc.error(f"{where}.cpu", "missing (a host needs cpu = {coreCount, coreSpeed})")
    cores, speeds = 0, set()
    for cpu, w in zip(cpus, at, strict=True):
        if not isinstance(cpu, dict):
            raise doc.error(w, f"must be an object, got {cpu!r}")
        n = doc.number(cpu, "count", w, whole=True, default=1.0)
        cores += int(doc.number(cpu, "coreCount", w, whole=True) * n)
        speeds.add(doc.number(cpu, "coreSpeed", w))
    if len(speeds) > 1:
        raise doc.error(f"{where}.cpus", f"CPUs of different speeds {sorted(speeds)}: a kumo host has one core speed")
    return cores, speeds.pop()


def _power(doc: _Doc, host: dict[str, Any], where: str) -> dict[str, Any] | None:
    key = "cpuPowerModel" if "cpuPowerModel" in host else "powerModel" if "powerModel" in host else None
    if key is None:
        return None
    pm, w = host[key], f"{where}.{key}"
    if not isinstance(pm, dict):
        raise doc.error(w, f"must be an object, got {pm!r}")
    kind = str(pm.get("modelType", "")).lower()
    if kind == "constant":
        watts = doc.number(pm, "power", w, positive=False, default=400.0)
        return {"kind": "linear", "idle_w": watts, "max_w": watts}
    if kind not in CURVE_MODELS:
        raise doc.error(f"{w}.modelType", f"unsupported power model {pm.get('modelType')!r}; kumo converts "
                                          f"{', '.join(CURVE_MODELS)} and constant")
    idle = doc.number(pm, "idlePower", w, positive=False)
    peak = doc.number(pm, "maxPower", w, positive=False)
    if peak < idle:
        raise doc.error(f"{w}.maxPower", f"must be >= idlePower ({idle:g}), got {peak:g}")
    return {"kind": kind, "idle_w": idle, "max_w": peak}


def read_topology(path: str | Path, *, memory_unit: str = "mb") -> list[dict[str, Any]]:
    """The host types of an OpenDC topology file, as scenario ``[[hosts]]`` tables (plain dicts).

    Parameters
    ----------
    path : the topology JSON file.
    memory_unit : what ``memorySize`` counts: ``"mb"`` (default) or ``"bytes"`` (see the module docstring).

    Returns
    -------
    list of dict
        ``name``, ``count``, ``cores``, ``core_mhz``, ``ram_mb`` and ``power`` (when the host has one), in
        file order; valid entries of a scenario's ``hosts`` list.
    """
    path = Path(path)
    if memory_unit not in MEMORY_UNITS:
        raise TraceFormatError(path, f"memory_unit must be one of {', '.join(MEMORY_UNITS)}, got {memory_unit!r}",
                               field="memory_unit")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TraceFormatError(path, "no such file") from None
    except json.JSONDecodeError as exc:
        raise TraceFormatError(path, f"not valid JSON: {exc.msg}", line=exc.lineno) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceFormatError(path, f"cannot read the file: {exc}") from None
    doc = _Doc(path)
    if not isinstance(data, dict) or not isinstance(data.get("clusters"), list) or not data["clusters"]:
        raise doc.error("clusters", "missing or empty (a topology is {\"clusters\": [...]})")
    out: list[dict[str, Any]] = []
    for i, cluster in enumerate(data["clusters"]):
        cw = f"clusters[{i}]"
        if not isinstance(cluster, dict):
            raise doc.error(cw, f"must be an object, got {cluster!r}")
        n_cluster = doc.number(cluster, "count", cw, whole=True, default=1.0)
        hosts = doc.table(cluster, "hosts", cw)
        if not isinstance(hosts, list) or not hosts:
            raise doc.error(f"{cw}.hosts", "must be a non-empty list")
        for j, host in enumerate(hosts):
            hw = f"{cw}.hosts[{j}]"
            if not isinstance(host, dict):
                raise doc.error(hw, f"must be an object, got {host!r}")
            cores, mhz = _cpu(doc, host, hw)
            memory = doc.table(host, "memory", hw)
            if not isinstance(memory, dict):
                raise doc.error(f"{hw}.memory", f"must be an object, got {memory!r}")
            ram_mb = doc.number(memory, "memorySize", f"{hw}.memory") * MEMORY_UNITS[memory_unit]
            entry: dict[str, Any] = {
                "name": f"{cluster.get('name', f'C{i}')}-{host.get('name', f'H{j}')}",
                "count": int(n_cluster * doc.number(host, "count", hw, whole=True, default=1.0)),
                "cores": cores,
                "core_mhz": mhz,
                "ram_mb": ram_mb,
            }
            power = _power(doc, host, hw)
            if power is not None:
                entry["power"] = power
            out.append(entry)
    return out


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    return json.dumps(str(v))  # a TOML basic string is a JSON string


def hosts_toml(hosts: list[dict[str, Any]], source: str | None = None) -> str:
    """``[[hosts]]`` tables in TOML for :func:`read_topology`'s result, ready to paste into a scenario."""
    total = sum(h["count"] for h in hosts)
    lines = [f"# {len(hosts)} host type(s), {total} hosts" + (f", converted from {source}" if source else "")
             + " by kumo trace topology"]
    for h in hosts:
        lines += ["", "[[hosts]]", *(f"{k} = {_toml_value(v)}" for k, v in h.items())]
    return "\n".join(lines) + "\n"
