"""A controller plugin: relieve hot hosts by moving their busiest VM to the coolest host that has room.

    kumo run --plugin examples/plugins/hotspot.py examples/plugins/hotspot.toml
"""

from dataclasses import dataclass

import numpy as np

from kumo.api import VM_RUNNING, ClusterView, Decision, register


@register("controller", "hotspot")
@dataclass(frozen=True)
class Hotspot:
    """Move the busiest VM off every host above ``threshold`` CPU use to the least-used powered host with
    booking room (a minimal hotspot relief, in the spirit of Sandpiper, Wood et al., NSDI 2007)."""

    threshold: float = 0.9  # CPU demand / capacity above which a host is hot

    def validate(self) -> list[str]:
        return [] if 0 < self.threshold <= 1 else [f"threshold: must be in (0, 1], got {self.threshold!r}"]

    def init_memory(self, view: ClusterView) -> None:
        return None  # nothing to remember between decisions

    def decide(self, view: ClusterView, memory: None, rng: np.random.Generator) -> Decision | None:
        util = view.host_cpu_demand / view.hosts.cpu_mhz
        moves = []
        for h in np.flatnonzero(view.host_on & (util > self.threshold)):
            vms = np.flatnonzero((view.vm_host == h) & (view.vm_state == VM_RUNNING))
            if not len(vms):
                continue
            vm = int(vms[np.argmax(view.vm_cpu_demand[vms])])
            room = (view.host_cpu_booked + view.vms.cpu_booked_mhz[vm]
                    <= view.hosts.cpu_overcommit * view.hosts.cpu_mhz)
            room &= (view.host_ram_booked + view.vms.ram_booked_mb[vm]
                     <= view.hosts.ram_overcommit * view.hosts.ram_mb)
            room &= view.host_on & (util <= self.threshold)
            room[[t for _, t in moves]] = False  # one VM per target and decision
            if room.any():
                moves.append((vm, int(np.argmin(np.where(room, util, np.inf)))))
        return Decision(migrations=moves, reason="hotspot") if moves else None
