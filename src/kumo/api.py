"""Everything a plugin author needs, and nothing else.

A plugin is a Python module that registers policies (and, optionally, sweep bases, sweep axes or commands)
when imported; see ``docs/extending.md``. A complete controller::

    from dataclasses import dataclass
    import numpy as np
    from kumo.api import Decision, ClusterView, VM_RUNNING, register

    @register("controller", "hotspot")
    @dataclass(frozen=True)
    class Hotspot:
        \"\"\"Move the largest VM off every host above ``threshold`` CPU (a minimal hotspot relief).\"\"\"

        threshold: float = 0.9

        def init_memory(self, view: ClusterView) -> None:
            return None                                  # nothing to remember between decisions

        def decide(self, view: ClusterView, memory: None, rng: np.random.Generator) -> Decision | None:
            util = view.host_cpu_demand / view.hosts.cpu_mhz
            coolest = int(np.argmin(np.where(view.host_on, util, np.inf)))
            moves = []
            for h in np.flatnonzero(view.host_on & (util > self.threshold)):
                vms = np.flatnonzero((view.vm_host == h) & (view.vm_state == VM_RUNNING))
                if len(vms) and h != coolest:
                    moves.append((int(vms[np.argmax(view.vm_cpu_demand[vms])]), coolest))
            return Decision(migrations=moves, reason="hotspot") if moves else None

Use it from a scenario (``plugins = ["hotspot.py"]`` and ``[controller] name = "hotspot"``), from the
command line (``kumo run --plugin hotspot.py scenario.toml``) or from an installed package (entry-point
group ``kumo.plugins``).

Kinds and their Protocols: ``filter`` (:class:`HostFilter`), ``weigher`` (:class:`HostWeigher`),
``detection`` (:class:`OverloadDetector`), ``selection`` (:class:`VmSelector`), ``controller``
(:class:`Controller`). Units: CPU in MHz, RAM in MB, time in s.
"""

from kumo.errors import PluginError, PolicyError
from kumo.hooks import register_command, register_sweep_axis, register_sweep_base
from kumo.policies.base import (
    HOST_BOOTING,
    HOST_FAILED,
    HOST_OFF,
    HOST_ON,
    VM_DEPARTED,
    VM_DOWN,
    VM_MIGRATING,
    VM_PENDING,
    VM_QUEUED,
    VM_REJECTED,
    VM_RUNNING,
    Cluster,
    ClusterView,
    Controller,
    Decision,
    HostArrays,
    HostFilter,
    HostWeigher,
    OverloadDetector,
    SelectionContext,
    VmArrays,
    VmSelector,
)
from kumo.policies.placement import HOST_CHOICE, Placer
from kumo.policies.planning import CpuHistory, PlannedCluster
from kumo.policies.registry import make, names, register, register_preset

__all__ = [
    "HOST_BOOTING", "HOST_CHOICE", "HOST_FAILED", "HOST_OFF", "HOST_ON", "VM_DEPARTED", "VM_DOWN",
    "VM_MIGRATING", "VM_PENDING", "VM_QUEUED", "VM_REJECTED", "VM_RUNNING",
    "Cluster", "ClusterView", "Controller", "CpuHistory", "Decision", "HostArrays", "HostFilter", "HostWeigher",
    "OverloadDetector", "Placer", "PlannedCluster", "PluginError", "PolicyError", "SelectionContext", "VmArrays",
    "VmSelector",
    "make", "names", "register", "register_command", "register_preset", "register_sweep_axis",
    "register_sweep_base",
]
