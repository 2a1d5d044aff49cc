"""One loader for kumo's TOML files: it recognizes a scenario, a sweep or a federation and validates it.

=============  ===========================================  ============================================
kind           recognized by                                loaded as
=============  ===========================================  ============================================
federation     a ``providers`` table                        :class:`kumo.federation.spec.FederationSpec`
sweep          any of ``axes``, ``base``, ``seeds``,         :class:`kumo.sweep.Experiment` (and its
               ``scenario``, ``ledger``, ``plot``           points, expanded and validated)
scenario       anything else                                :class:`kumo.config.Scenario`
=============  ===========================================  ============================================

Every kind may start with ``plugins = [...]``, loaded before validation (:mod:`kumo.plugins`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kumo import config
from kumo.errors import ConfigError, KumoError

__all__ = ["check", "kind_of", "load"]


def kind_of(path: str | Path) -> str:
    """``"scenario"``, ``"sweep"`` or ``"federation"``."""
    return config.file_kind(config.read_toml(path))


def load(path: str | Path, expect: str | None = None) -> tuple[str, Any]:
    """``(kind, object)`` of a TOML file, validated (a sweep's points expanded, so every point is checked).

    With ``expect``, a file of another kind is a :class:`~kumo.errors.ConfigError` naming the command that
    takes it (``this is a sweep file: use kumo sweep ...``).
    """
    p = Path(path)
    data = config.read_toml(p)
    kind = config.file_kind(data)
    if expect is not None and kind != expect:
        raise ConfigError([f"this is a {kind} file: use {config.FILE_COMMANDS[kind]} {p}"], str(p))
    if kind == "federation":
        from kumo.federation import load_federation

        return kind, load_federation(p)
    if kind == "sweep":
        from kumo.sweep import load_experiment

        exp, root = load_experiment(p)
        exp.expand(root)
        return kind, exp
    return kind, config.load(p)


def check(path: str | Path) -> tuple[str, list[str]]:
    """What a run of the file would meet, before running it: ``(kind, warnings)``; problems raise.

    Beyond :func:`load` (every field, every policy name and parameter, every sweep point): the trace of
    every scenario (each sweep point's, each data center's) exists and reads, and the VMs it books all fit
    some host type (a VM larger than every host can never be placed: a warning naming it).
    """
    kind, obj = load(path)
    scenarios: list[Any] = []
    if kind == "scenario":
        scenarios = [obj]
    elif kind == "sweep":
        scenarios = [config.parse(p.scenario) for p in obj.expand(Path(path).parent) if "providers" not in p.scenario]
    warnings: list[str] = []
    problems: list[str] = []
    seen: set[str] = set()
    for sc in scenarios:
        key = sc.model_dump_json(include={"trace", "hosts"})
        if key in seen:
            continue
        seen.add(key)
        try:
            warnings += _fit_warnings(sc)
        except KumoError as e:
            problems.append(f"trace.source: {e}")
    if kind == "federation":
        try:
            _trace_of(obj.trace)
        except KumoError as e:
            problems.append(f"trace.source: {e}")
    if problems:
        raise ConfigError(sorted(set(problems)), str(path))
    return kind, list(dict.fromkeys(warnings))


def _trace_of(spec: Any) -> Any:
    """The trace a ``[trace]`` table names (kept per process: a sweep's points share it)."""
    from kumo.sweep import trace_of

    return trace_of(spec.model_dump())


def _fit_warnings(sc: Any) -> list[str]:
    """A warning per scenario whose trace books VMs that fit no host type, naming them."""
    import numpy as np

    from kumo.engine.setup import prepare_trace

    tr = prepare_trace(sc, _trace_of(sc.trace))
    fits = np.zeros(tr.n_vms, bool)
    for h in sc.hosts:
        fits |= ((tr.cores <= h.cores * h.cpu_overcommit) & (tr.cpu_booked_mhz <= h.cores * h.core_mhz * h.cpu_overcommit
                 * (1 + 1e-12)) & (tr.ram_booked_mb <= h.ram_mb * h.ram_overcommit * (1 + 1e-12)))
    if fits.all():
        return []
    bad = tr.vm_ids[~fits]
    shown = ", ".join(map(str, bad[:10])) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
    return [f"{sc.name}: {len(bad)} VM(s) larger than every host type (with its overcommit ratios) can never be "
            f"placed: {shown}"]
