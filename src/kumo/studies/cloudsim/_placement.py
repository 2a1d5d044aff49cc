"""The broker's initial placement at t = 0 (``cloudsim-planetlab.md`` §4 step 1), for one run.

VMs are placed in id order: first fit for ``dvfs``/``npa``; for the migration policies PABFD
(:func:`~kumo.studies.cloudsim._pabfd.pabfd`) with every host at ``P(0)`` (no update has run yet) and RAM and
bandwidth as extra constraints. Placed VMs request 0 MIPS until their cloudlet arrives at 0.1 s, so the
detector test on a target sees the new VM's MIPS alone, on a one-value zero history.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kumo.studies.cloudsim import _compiled
from kumo.studies.cloudsim._after import horizon
from kumo.studies.cloudsim._model import POWER_FLAT
from kumo.studies.cloudsim._pabfd import pabfd

__all__ = ["initial_placement"]


def initial_placement(sim: Any) -> None:
    """Fill ``sim.vm_host`` (and grow ``sim.peak`` as CloudSim's tentative creations do), in the C kernel
    when it covers the case, else in Python; raise RuntimeError if a VM finds no host."""
    if not _compiled.initial_placement(sim):
        _place_python(sim)
    sim.vm_key[:] = np.arange(sim.nv)
    sim.next_key = sim.nv
    sim._slots_cache = None


class _Park:
    """The hosts at t = 0 as PABFD candidates (position = host id)."""

    def __init__(self, sim: Any):
        nh = sim.nh
        self.host = np.arange(nh)
        self.avail = sim.host_mips.copy()
        self.pe = sim.pe_mips
        self.sum_c = np.zeros(nh)
        self.busy = np.zeros(nh, dtype=bool)
        self.cap = sim.host_mips
        self.off = sim.power_offset
        self.pnow = POWER_FLAT[sim.power_offset]  # P(0): no update has run
        self.nlist = np.zeros(nh, np.int64)
        self.peak = sim.peak  # grown in place
        self.ram = sim.host_ram.astype(np.float64)
        self.bw = sim.host_bw.astype(np.float64)


class _FirstTest:
    """The detector on a target at t = 0: the new VM's MIPS alone, a one-value zero history."""

    lazy = False

    def __init__(self, sim: Any):
        self.sim = sim

    def verdicts(self, v: int, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        return self.resolve(v, pos), None  # the detector itself decides: never unsure

    def resolve(self, v: int, pos: np.ndarray) -> np.ndarray:
        sim = self.sim
        kw: dict[str, Any] = {}
        if sim._regression:
            kw = {"horizon": np.full(pos.size, float(horizon(sim.vm_ram.max())))}
        return np.asarray(sim.detector.overloaded((0.0 + sim.vm_mips[v]) / sim.host_mips[pos],
                                                  np.zeros((pos.size, 1)), np.ones(pos.size, np.int64), **kw),
                          dtype=bool)


def _place_python(sim: Any) -> None:
    park = _Park(sim)
    test = _FirstTest(sim)
    for v in range(sim.nv):
        m = float(sim.vm_mips[v])
        if sim.kind == "migration":
            excluded = ~((park.ram >= sim.vm_ram[v]) & (park.bw >= sim.vm_bw[v]))
            h = pabfd(park, v, m, sim.pe_min, excluded, test)
        else:
            ok = (sim.pe_mips >= m) & (park.avail >= m) & (park.ram >= sim.vm_ram[v]) & (park.bw >= sim.vm_bw[v])
            h = int(np.argmax(ok)) if ok.any() else -1
        if h < 0:
            raise RuntimeError(f"initial placement: no host for VM {v} (CloudSim's broker would exit)")
        park.avail[h] -= m
        park.ram[h] -= sim.vm_ram[v]
        park.bw[h] -= sim.vm_bw[v]
        park.sum_c[h] += m
        park.busy[h] = park.sum_c[h] != 0
        park.nlist[h] += 1
        if park.nlist[h] > park.peak[h]:
            park.peak[h] = park.nlist[h]
        sim.vm_host[v] = h
