"""Reproductions of another simulator's experiments, number for number.

``run_cloudsim`` replays CloudSim 3.0.3/4.0's PlanetLab power experiments (``mode="cloudsim"``, event for
event, quirks included) or runs them on kumo's general engine with the quirks fixed (``mode="realistic"``);
``validation_table`` puts kumo's numbers next to CloudSim's. See :mod:`kumo.compat.cloudsim` and
:mod:`kumo.compat.realistic`.
"""

from kumo.compat.cloudsim import EXAMPLES, policy_names, run_cloudsim
from kumo.compat.validation import validation_table

__all__ = ["EXAMPLES", "policy_names", "run_cloudsim", "validation_table"]
