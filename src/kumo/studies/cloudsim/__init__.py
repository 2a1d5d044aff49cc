"""CloudSim's PlanetLab consolidation experiments (Beloglazov & Buyya, CCPE 2012), reproduced number for number.

``run_cloudsim`` replays CloudSim 3.0.3/4.0's PlanetLab power experiments (``mode="cloudsim"``, event for
event, quirks included) or runs them on kumo's general engine with the quirks fixed (``mode="realistic"``);
``validation_table`` puts kumo's numbers next to CloudSim's; :mod:`kumo.studies.cloudsim.cli` holds the
``kumo validate`` command. See ``docs/studies/cloudsim.md``.

A plugin of kumo (entry point ``kumo.plugins``): importing this package only registers the ``validate``
command through :func:`kumo.api.register_command`; the replay loads on first use.
"""

from typing import Any

from kumo.api import register_command

__all__ = ["EXAMPLES", "policy_names", "run_cloudsim", "validation_table"]

register_command("validate", "kumo.studies.cloudsim.cli:validate_cmd")


def __getattr__(name: str) -> Any:
    # the replay and the validation table (reference data, formatting) load on first use
    if name in ("EXAMPLES", "policy_names", "run_cloudsim"):
        from kumo.studies.cloudsim import replay

        return getattr(replay, name)
    if name == "validation_table":
        from kumo.studies.cloudsim.validation import validation_table

        return validation_table
    raise AttributeError(f"module 'kumo.studies.cloudsim' has no attribute {name!r}")
