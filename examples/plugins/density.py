"""A filter and a weigher plugin: cap the VMs per host, and prefer the hosts that are least busy now.

    kumo run examples/plugins/density.toml
"""

from dataclasses import dataclass

import numpy as np

from kumo.api import Cluster, register


@register("filter", "max-vms")
@dataclass(frozen=True)
class MaxVms:
    """At most ``limit`` VMs per host (a density cap, e.g. for failure blast radius; Nova's NumInstancesFilter)."""

    limit: int = 16

    def validate(self) -> list[str]:
        return [] if isinstance(self.limit, int) and self.limit >= 1 else [f"limit: must be an integer >= 1, got {self.limit!r}"]

    def mask(self, view: Cluster, vm: int) -> np.ndarray:
        return view.host_n_vms < self.limit


@register("weigher", "idle-cpu")
@dataclass(frozen=True)
class IdleCpu:
    """Physical CPU left idle now, as a fraction of capacity (positive multiplier: prefer quiet hosts, by
    use rather than by bookings)."""

    def score(self, view: Cluster, vm: int, hosts: np.ndarray) -> np.ndarray:
        cap = view.hosts.cpu_mhz[hosts]
        return (cap - view.host_cpu_demand[hosts]) / cap
