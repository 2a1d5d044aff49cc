"""kumo: a fast, trace-driven simulator of IaaS clouds and the cloud-OS strategies that run them.

Public API::

    import kumo
    trace = kumo.load_trace("bitbrains-rnd")          # embedded Bitbrains Rnd month 1
    scenario = kumo.default_scenario()               # or kumo.load_scenario("my.toml")
    result = kumo.run(scenario, trace)
    result.summary["energy_kwh"]; result.vms; result.write("out/")

Names are imported on first use (PEP 562), so ``import kumo`` stays cheap for tools that need only a
part of it (the CloudSim compatibility mode needs neither pandas nor pydantic). What a plugin author
needs is in :mod:`kumo.api`; kumo's reproductions of published experiments are in :mod:`kumo.studies`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> (module, attribute)
_EXPORTS: dict[str, tuple[str, str]] = {
    "Scenario": ("kumo.config", "Scenario"),
    "default_scenario": ("kumo.config", "default_scenario"),
    "load_scenario": ("kumo.config", "load"),
    "parse_scenario": ("kumo.config", "parse"),
    "validate_scenario": ("kumo.config", "validate"),
    "Decision": ("kumo.policies.base", "Decision"),
    "Engine": ("kumo.engine", "Engine"),
    "PluginError": ("kumo.errors", "PluginError"),
    "PolicyError": ("kumo.errors", "PolicyError"),
    "load_plugin": ("kumo.plugins", "load"),
    "run": ("kumo.engine", "run"),
    "ConfigError": ("kumo.errors", "ConfigError"),
    "KumoError": ("kumo.errors", "KumoError"),
    "TraceFormatError": ("kumo.errors", "TraceFormatError"),
    "UnknownPolicyError": ("kumo.errors", "UnknownPolicyError"),
    "RunResult": ("kumo.results", "RunResult"),
    "Trace": ("kumo.traces.base", "Trace"),
    "load_trace": ("kumo.traces", "load"),
    "run_federation": ("kumo.federation", "run_federation"),
    "load_federation": ("kumo.federation", "load_federation"),
    "account": ("kumo.accounting", "account"),
    "LedgerSpec": ("kumo.accounting", "LedgerSpec"),
    "Experiment": ("kumo.sweep", "Experiment"),
    "load_experiment": ("kumo.sweep", "load_experiment"),
    "run_many": ("kumo.sweep", "run_many"),
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module, attr = _EXPORTS[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kumo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # for type checkers and IDEs (ruff: see per-file-ignores)
    from kumo.accounting import LedgerSpec, account
    from kumo.config import Scenario, default_scenario
    from kumo.config import load as load_scenario
    from kumo.config import parse as parse_scenario
    from kumo.config import validate as validate_scenario
    from kumo.engine import Engine, run
    from kumo.errors import (
        ConfigError,
        KumoError,
        PluginError,
        PolicyError,
        TraceFormatError,
        UnknownPolicyError,
    )
    from kumo.federation import load_federation, run_federation
    from kumo.plugins import load as load_plugin
    from kumo.policies.base import Decision
    from kumo.results import RunResult
    from kumo.sweep import Experiment, load_experiment, run_many
    from kumo.traces import load as load_trace
    from kumo.traces.base import Trace
