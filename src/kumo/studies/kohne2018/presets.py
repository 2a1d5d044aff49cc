"""Kohne's Table 10.10 schedulers as presets of the ``sla`` controller (data, registered as
``kohne-ff``, ``kohne-hpgbf``, ..., ``kohne-mmwf-lb``), and the ``scheduler`` sweep axis."""

from __future__ import annotations

from typing import Any

from kumo.api import register_preset

__all__ = ["SCHEDULERS", "TABLE_10_10", "apply_scheduler", "preset_name", "preset_params"]

#: Table 10.10's schedulers as parameters of the ``sla`` controller (:class:`kumo.policies.sla.SlaScheduler`)
TABLE_10_10: dict[str, dict[str, Any]] = {
    "FF": {"selection": "ff", "host_selection": "ff", "lb": False, "fit_ceiling": 1.0, "uptime_guard": False},
    "HPGBF": {"selection": "hpg", "host_selection": "bf", "lb": False},
    "HPGOP": {"selection": "hpg", "host_selection": "op", "lb": False},
    "HPGWF": {"selection": "hpg", "host_selection": "wf", "lb": False},
    "MMBF": {"selection": "mm", "host_selection": "bf", "lb": False},
    "MMOP": {"selection": "mm", "host_selection": "op", "lb": False},
    "MMWF": {"selection": "mm", "host_selection": "wf", "lb": False},
    "MMWF+LB": {"selection": "mm", "host_selection": "wf", "lb": True},
}
#: the table's row order
SCHEDULERS = tuple(TABLE_10_10)


def preset_name(label: str) -> str:
    """The registered controller name of a scheduler: ``"MMWF+LB"`` -> ``"kohne-mmwf-lb"``."""
    return "kohne-" + label.lower().replace("+", "-")


def preset_params(label: str, **overrides: Any) -> dict[str, Any]:
    """Controller parameters of a Table-10.10 scheduler (``"MMWF+LB"`` ...), with ``overrides`` applied."""
    if label not in TABLE_10_10:
        raise KeyError(f"unknown Kohne scheduler {label!r}; valid: {', '.join(TABLE_10_10)}")
    return {**TABLE_10_10[label], **overrides}


def apply_scheduler(scenario: dict[str, Any], ledger: dict[str, Any], label: Any) -> None:
    """The ``scheduler`` sweep axis: the point's controller becomes ``sla`` with the scheduler's parameters
    merged over the base's."""
    if label not in TABLE_10_10:
        raise ValueError(f"unknown scheduler {label!r}; valid: {', '.join(TABLE_10_10)}")
    ctl = scenario.setdefault("controller", {})
    ctl["name"] = "sla"
    ctl["params"] = {**(ctl.get("params") or {}), **TABLE_10_10[label]}


for _label, _params in TABLE_10_10.items():
    register_preset("controller", preset_name(_label), "sla", _params,
                    f"Kohne's {_label} scheduler (Kohne 2018, Table 10.10): the sla controller with {_params}.")
