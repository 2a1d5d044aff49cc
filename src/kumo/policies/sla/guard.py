"""The uptime guard of the ``sla`` controller: which VMs an SLA-aware scheduler must not migrate now because
the migration would break their uptime objective.

Reading (``shared/reference/kohne-sla-scheduling.md`` §0, §2 and §4): Kohne's schedulers are *SLA-based*
decision strategies (the dissertation's and the CrossCloud'16 paper's titles), and that abstract names
availability as an SLO that migrations affect. A scheduler that knows each VM's SLA therefore knows the
VM's uptime allowance in the current window and what a migration costs of it; migrating a VM whose
allowance cannot absorb one more migration breaks an SLA it is paid to keep, so it picks another VM where
it can. The naive FF baseline does not know the SLAs (guard off). The guard mirrors the ledger's uptime
rule (:mod:`kumo.accounting_sla`: calendar windows from the trace start, a migration counts in the window
where it starts); its constants are the scheduler's copy of the SLA template, set equal to the ledger's
by the Kohne study's calibration (``scripts/calibrate_kohne.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from kumo.policies.base import ClusterView

if TYPE_CHECKING:
    from kumo.policies.sla.controller import SlaScheduler
    from kumo.policies.sla.round import SlaMemory


def new_window(ctl: SlaScheduler, mem: SlaMemory, view: ClusterView) -> None:
    """Start counting afresh when the decision falls into a new uptime window."""
    win = int(np.floor(view.t_s / (ctl.uptime_window_h * 3600.0) + 1e-9))
    if mem.ut_spent is None or mem.ut_spent.shape != (view.vms.n,) or win != mem.ut_window:
        mem.ut_spent = np.zeros(view.vms.n)
        mem.ut_window = win


def protected(ctl: SlaScheduler, mem: SlaMemory, vms: np.ndarray) -> np.ndarray:
    """(len(vms),) bool: one more migration would take the VM past its downtime allowance in this window."""
    allowance = ctl.uptime_allowance_s * (1 + 1e-12) + 1e-9  # the ledger's comparison
    assert mem.ut_spent is not None
    return mem.ut_spent[vms] + ctl.uptime_downtime_s > allowance


def charge(ctl: SlaScheduler, mem: SlaMemory, vms: list[int]) -> None:
    """Book the expected downtime of the migrations just decided."""
    assert mem.ut_spent is not None
    np.add.at(mem.ut_spent, np.asarray(vms, np.int64), ctl.uptime_downtime_s)
