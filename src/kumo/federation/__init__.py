"""Cloud federations: providers with data centers, customers with residency constraints, brokers.

Three scheduling levels (FederatedCloudSim, Kohne et al.): intra-DC (each data center is a kumo engine
with its own placement and controller), inter-DC inside one provider (``site`` policies) and
inter-provider (``broker`` policies), with money between providers (:mod:`kumo.federation.ledger`) and
provisioning models as presets (:mod:`kumo.federation.presets`)::

    from kumo.federation import load_federation, run_federation
    spec = load_federation("examples/federation-hybrid.toml")
    result = run_federation(spec)                  # the spec's trace, or pass trace=
    result.summary["profit"]; result.providers; result.vms; result.flows; result.write("out/")

This module imports lightly (the policy registry imports :mod:`kumo.federation.brokers` through it).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kumo.federation.spec import FederationSpec
    from kumo.federation.tables import FederationResult
    from kumo.traces.base import Trace

__all__ = ["is_federation", "load_federation", "parse_federation", "run_federation", "sweep_point",
           "validate_federation"]


def is_federation(data: dict[str, Any]) -> bool:
    """Whether a TOML dict describes a federation (it has a ``providers`` table) rather than a Scenario."""
    return isinstance(data, dict) and "providers" in data


def load_federation(path: str | Path) -> FederationSpec:
    """Read and validate a federation TOML file (a ConfigError lists every problem with its path)."""
    from kumo.federation.spec import load

    return load(path)


def parse_federation(data: dict[str, Any], source: str | None = None) -> FederationSpec:
    """A validated FederationSpec from a dict."""
    from kumo.federation.spec import parse

    return parse(data, source)


def validate_federation(data: dict[str, Any]) -> list[str]:
    """Every problem of a federation dict as ``path: message``."""
    from kumo.federation.spec import validate

    return validate(data)


def run_federation(spec: FederationSpec | dict[str, Any] | str | Path, trace: Trace | None = None,
                   progress: Callable[[int, int], None] | None = None) -> FederationResult:
    """Simulate a federation on a trace (default: the spec's ``trace.source``).

    Parameters
    ----------
    spec : a FederationSpec, its dict, or a path to its TOML file.
    trace : the trace every data center replays (VMs are split over customers by the spec's rule).
    progress : called with (steps done, steps) about a hundred times.

    Returns
    -------
    FederationResult with ``summary`` (one row of totals), ``tables`` and ``write(out_dir, fmt)``.
    """
    from kumo.federation.runner import FederationRun
    from kumo.federation.spec import FederationSpec, load, parse

    if isinstance(spec, str | Path):
        spec = load(spec)
    elif not isinstance(spec, FederationSpec):
        spec = parse(spec)
    if trace is None:
        trace = spec.trace.load()
    return FederationRun(spec, trace, progress).run()


def sweep_point(scenario: dict[str, Any], trace: Trace | None = None) -> dict[str, Any]:
    """Run one federation dict (a point of an experiment) and return its summary as plain Python values,
    the row :func:`kumo.sweep.run_many` collects (for ``kumo sweep`` on a federation base)."""
    result = run_federation(scenario, trace)
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in result.summary.items()}
