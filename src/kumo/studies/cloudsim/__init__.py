"""CloudSim's PlanetLab consolidation experiments (Beloglazov & Buyya, CCPE 2012), reproduced number for number.

``run_cloudsim`` replays CloudSim 3.0.3/4.0's PlanetLab power experiments (``mode="cloudsim"``, event for
event, quirks included) or runs them on kumo's general engine with the quirks fixed (``mode="realistic"``);
``validation_table`` puts kumo's numbers next to CloudSim's; :mod:`kumo.studies.cloudsim.cli` holds the
``kumo validate`` command. See ``docs/studies/cloudsim.md``.
"""

from typing import Any

from kumo.studies.cloudsim.replay import EXAMPLES, policy_names, run_cloudsim

__all__ = ["EXAMPLES", "policy_names", "run_cloudsim", "validation_table"]


def __getattr__(name: str) -> Any:
    # the validation table (reference data, formatting) loads on first use: run_cloudsim alone stays light
    if name == "validation_table":
        from kumo.studies.cloudsim.validation import validation_table

        return validation_table
    raise AttributeError(f"module 'kumo.studies.cloudsim' has no attribute {name!r}")
