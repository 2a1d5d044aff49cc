"""An example kumo plugin package: a weigher and a controller preset, registered when kumo loads its
entry point (group ``kumo.plugins``)."""

from dataclasses import dataclass

import numpy as np

from kumo.api import Cluster, register, register_preset


@register("weigher", "efficient")
@dataclass(frozen=True)
class Efficient:
    """Prefer the hosts that deliver the most MHz per watt at full load (energy-proportional placement on a
    mixed park, cf. Beloglazov & Buyya, CCPE 2012: the most power-efficient hosts first)."""

    def score(self, view: Cluster, vm: int, hosts: np.ndarray) -> np.ndarray:
        h = view.hosts
        max_w = np.array([h.power_tables[t].max_w for t in h.type_index[hosts]])
        return h.cpu_mhz[hosts] / np.maximum(max_w, 1e-9)


register_preset("controller", "consolidation-thr70", "consolidation",
                {"detection": "thr", "detection_params": {"threshold": 0.7}, "selection": "mmt"},
                "Consolidation with a static 70 % threshold and minimum migration time selection.")
