"""Kohne's SLA-based scheduler comparison (Table 10.10 of *Cloud-Föderationen*, Springer Vieweg 2018) on the
Bitbrains Rnd month: the eight schedulers, the calibrated set-up, the comparison with the reference.

A plugin of kumo (entry point ``kumo.plugins``), registered through the public hooks:

* controller presets ``kohne-ff``, ``kohne-hpgbf``, ..., ``kohne-mmwf-lb`` (:mod:`.presets`);
* the sweep base ``base = "kohne"`` (the calibrated scenario and ledger, :mod:`.setup`) and the sweep axis
  ``scheduler`` (a Table 10.10 name);
* the command ``kumo compare`` (:mod:`.cli`, work in :mod:`.compare`).

``python -m kumo.studies.kohne2018.calibrate`` re-derives the calibrated constants. The readings, the
calibration and the results are documented in ``docs/studies/kohne2018.md``.
"""

from kumo.api import register_command, register_sweep_axis, register_sweep_base
from kumo.studies.kohne2018.presets import (
                    SCHEDULERS,
                    TABLE_10_10,
                    apply_scheduler,
                    preset_name,
                    preset_params,
)
from kumo.studies.kohne2018.setup import KohneSetup, base_dicts, load_reference, load_setup

__all__ = ["SCHEDULERS", "TABLE_10_10", "KohneSetup", "load_reference", "load_setup", "preset_name", "preset_params"]

register_sweep_base("kohne", base_dicts, "Kohne's Table 10.10 set-up: the calibrated scenario and ledger")
register_sweep_axis("scheduler", apply_scheduler, choices=lambda: list(SCHEDULERS),
                    doc="a Table 10.10 scheduler: the sla controller with that scheduler's parameters")
register_command("compare", "kumo.studies.kohne2018.cli:compare_cmd")
