"""kumo: a fast, trace-driven simulator of IaaS clouds and the cloud-OS strategies that run them.

Public API::

    import kumo
    trace = kumo.load_trace("bitbrains-rnd")          # embedded Bitbrains Rnd month 1
    scenario = kumo.default_scenario()               # or kumo.load_scenario("my.toml")
    result = kumo.run(scenario, trace)
    result.summary["energy_kwh"]; result.vms; result.write("out/")
"""

from __future__ import annotations

__version__ = "0.1.0"

from kumo.config import Scenario, default_scenario
from kumo.config import load as load_scenario
from kumo.config import parse as parse_scenario
from kumo.config import validate as validate_scenario
from kumo.engine import Decision, Engine, run
from kumo.errors import ConfigError, KumoError, TraceFormatError, UnknownPolicyError
from kumo.results import RunResult
from kumo.traces.base import Trace


def run_federation(spec, trace=None, progress=None):  # type: ignore[no-untyped-def]
    """Simulate a federation of providers (see :mod:`kumo.federation`); a spec, a dict or a TOML path."""
    from kumo.federation import run_federation as _run

    return _run(spec, trace=trace, progress=progress)


def load_trace(source: str, format: str | None = None) -> Trace:
    """Read a trace: an embedded name (``bitbrains-rnd``, ``planetlab-20110303``), a folder or a file."""
    from kumo.traces import load

    return load(source, format=format)


__all__ = [
    "ConfigError",
    "Decision",
    "Engine",
    "KumoError",
    "RunResult",
    "Scenario",
    "Trace",
    "TraceFormatError",
    "UnknownPolicyError",
    "__version__",
    "default_scenario",
    "load_scenario",
    "load_trace",
    "parse_scenario",
    "run",
    "run_federation",
    "validate_scenario",
]
