"""The SLA-based intra-data-center scheduler (controller ``sla``) and its composable parts.

Kohne's schedulers (*Cloud-Föderationen: SLA-basierte VM-Scheduling-Verfahren*, Springer Vieweg 2018,
Table 10.10) as one controller whose parts are parameters:

* :mod:`~kumo.policies.sla.controller` — the controller: parameters, validation, one decision;
* :mod:`~kumo.policies.sla.round` — one decision's working context (:class:`Round`): overload relief
  by VM selection and host choice (through :class:`~kumo.policies.placement.Placer`), and the memory the
  engine keeps between decisions (:class:`SlaMemory`);
* :mod:`~kumo.policies.sla.extensions` — LB (load balancing) and EE (consolidation of underloaded hosts);
* :mod:`~kumo.policies.sla.guard` — the uptime guard (SLA-aware migration).

The table's schedulers (FF, HPGBF, ..., MMWF+LB) are presets of this controller registered by the
``kohne2018`` study (``kumo.studies.kohne2018``), which also documents the readings.
"""

from kumo.policies.sla.controller import SlaScheduler
from kumo.policies.sla.round import Round, SlaMemory

__all__ = ["Round", "SlaMemory", "SlaScheduler"]
