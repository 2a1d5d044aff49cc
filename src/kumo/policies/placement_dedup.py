"""Dedup-aware placement: prefer hosts already running the VM's guest image, so page sharing saves RAM."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kumo.policies.base import VM_MIGRATING, VM_RUNNING, Cluster
from kumo.policies.registry import register


def _vm_image(view: Cluster) -> np.ndarray | None:
    img = getattr(view, "vm_image", None)
    return None if img is None else np.asarray(img)


@register("weigher", "dedup")
@dataclass(frozen=True)
class DedupWeigher:
    """Same-image RAM already on each host, capped at the VM's RAM (MB): the content the VM could share
    there (Waldspurger, OSDI 2002, sec. 4; KSM). Reads ``view.vm_image`` (int per VM, -1 = none); without
    it, or for a VM without an image, every host scores 0 and the weigher is neutral."""

    def score(self, view: Cluster, vm: int, hosts: np.ndarray) -> np.ndarray:
        nh = view.hosts.n
        img = _vm_image(view)
        if img is None or img.shape != (view.vms.n,) or img[vm] < 0:
            return np.zeros(len(hosts))
        st = view.vm_state  # type: ignore[attr-defined]
        same = (img == img[vm]) & ((st == VM_RUNNING) | (st == VM_MIGRATING))
        same[vm] = False
        ram = view.vms.ram_booked_mb
        on = np.bincount(view.vm_host[same], ram[same], nh).astype(np.float64)  # type: ignore[attr-defined]
        mig = same & (st == VM_MIGRATING)
        if mig.any():
            on = on + np.bincount(view.vm_target[mig], ram[mig], nh)  # type: ignore[attr-defined]
        return np.minimum(on[hosts], ram[vm])
