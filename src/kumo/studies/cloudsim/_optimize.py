"""One call of CloudSim's ``optimizeAllocation`` (``cloudsim-planetlab.md`` §4 step 4), the Python path.

Step a (the over-utilized hosts) builds the :class:`~kumo.studies.cloudsim._table.HostTable`; steps b to d
(selection on each over-utilized host, PABFD for the selected VMs, the under-utilized hosts' all-or-nothing
evacuation) mutate it as CloudSim's tentative ``vmCreate``/``vmDestroy`` calls do; the result is the
migration map in CloudSim's order. Detection and selection are kumo's registered policies
(:mod:`kumo.policies.detection`, :mod:`kumo.policies.selection`), which copy CloudSim's arithmetic. The C
kernel's ``optimize`` does steps a to d for MMT and MU selection; this module is its reference and fallback.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kumo.policies.detection import host_history, trim_zero_tail
from kumo.policies.selection import SelectionContext
from kumo.studies.cloudsim._after import horizon
from kumo.studies.cloudsim._screens import mc_pick_screen
from kumo.studies.cloudsim._table import HostTable

__all__ = ["optimize", "optimize_python", "select_from"]


def optimize_python(sim: Any, s_vm: np.ndarray, s_host: np.ndarray, c: np.ndarray,
                    alloc: np.ndarray) -> tuple[list[tuple[int, int]], np.ndarray]:
    """The migration map and the (n_hosts,) bool over-utilized hosts of one ``optimizeAllocation``.

    Parameters
    ----------
    sim : the compatibility run after the periodic update.
    s_vm, s_host : the VM slots in list order (host-major); c : each slot's requested MIPS capped at the PE
        size; alloc : each slot's allocated MIPS (what CloudSim's scheduler holds).
    """
    nh = sim.nh
    cap = sim.host_mips
    # the scheduler's available MIPS: sequential subtraction in list order; 0 on over-subscribed hosts
    counts = np.bincount(s_host, minlength=nh)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(s_vm.size) - starts[s_host]
    over = np.zeros(nh, dtype=bool)
    avail = cap.copy()
    for j in range(int(counts.max()) if counts.size else 0):
        m = pos == j
        hh = s_host[m]
        cj = c[m]
        fail = ~over[hh] & ~(avail[hh] >= cj)
        over[hh[fail]] = True
        ok = ~over[hh]
        avail[hh[ok]] -= cj[ok]
    avail[over] = 0.0
    sim.host_hist = host_history(sim.vmh[s_vm], sim.vm_mips[s_vm], s_host, cap, nh)
    # a. over-utilized hosts
    hist_len = trim_zero_tail(sim.host_hist)
    util = np.bincount(s_host, sim.r[s_vm], nh) / cap
    if sim._regression:
        max_ram = np.full(nh, float(-(2**31)))
        np.maximum.at(max_ram, s_host, sim.vm_ram[s_vm])
        overloaded = sim.detector.overloaded(util, sim.host_hist, hist_len, horizon=horizon(max_ram))
    else:
        overloaded = sim.detector.overloaded(util, sim.host_hist, hist_len)
    overloaded = np.asarray(overloaded, dtype=bool)
    table = HostTable(sim, s_vm, s_host, alloc, avail, overloaded)
    return optimize(sim, table, overloaded, sim.rng), overloaded


def select_from(sim: Any, table: HostTable, i: int, rng: np.random.Generator) -> list[int]:
    """``getVmsToMigrateFromHosts`` for the host at position ``i``: pick, ``vmDestroy``, re-test, until the
    host is no longer over-utilized or nothing can be picked (``select_until_ok``'s loop on CloudSim's sums)."""
    lst = list(table.lists[i])
    cap = float(table.cap[i])
    upper = None
    if sim.sel_name in ("hpg", "mm"):
        upper = getattr(sim.detector, "threshold", None) or getattr(sim.detector, "fallback_threshold", None)
    ram_host = float(sim.host_ram[table.host[i]])
    width = max(sim.n_hist, 1)
    picked: list[int] = []
    mmt = sim.sel_name in (None, "mmt")
    while lst:
        idx = np.asarray(lst)
        if mmt:
            # MinimumMigrationTime.pick without its context: the first VM of least RAM (RAM is finite)
            first = int(np.argmin(sim.vm_ram[idx]))
            v = lst.pop(first)
            picked.append(v)
            table.destroy(i, v)
            if not table.overloaded_now(i):
                break
            continue
        ctx = SelectionContext(
            vm_index=idx, ram_mb=sim.vm_ram[idx], cpu_demand_mhz=sim.r[idx], cpu_booked_mhz=sim.vm_mips[idx],
            ram_demand_mb=np.zeros(idx.size), ram_booked_mb=sim.vm_ram[idx],
            history=sim.vmh[idx, :width], hist_len=np.full(idx.size, sim.n_hist),
            host_cpu_mhz=cap, host_ram_mb=ram_host, host_cpu_used_mhz=float(table.sum_r[i]),
            host_ram_used_mb=0.0, upper_cpu=upper, upper_ram=None)
        p = mc_pick_screen(ctx.history, ctx.hist_len) if sim.sel_name == "mc" else None
        if p is None:
            p = sim.selector.pick(ctx, rng)
        if p < 0:
            break
        v = lst.pop(p)
        picked.append(v)
        table.destroy(i, v)
        if not table.overloaded_now(i):
            break
    return picked


def optimize(sim: Any, table: HostTable, overloaded: np.ndarray, rng: np.random.Generator) -> list[tuple[int, int]]:
    """The migration map ``[(vm, target host)]`` of one ``optimizeAllocation``.

    Parameters
    ----------
    sim : the compatibility run (reads demands, histories, VM facts, policies).
    table : CloudSim's allocation state after the periodic update (mutated; discard afterwards).
    overloaded : (n_hosts,) bool, the detector's verdict on every host (step a).
    """
    r = sim.r
    host = table.host
    # b. selection on each over-utilized host (lowest id first), re-testing after each removal
    to_move: list[int] = []
    for h in np.flatnonzero(overloaded).tolist():
        to_move.extend(select_from(sim, table, int(table.pos[h]), rng))
    # c. PABFD for the selected VMs, largest current demand first (stable), over-utilized hosts excluded
    mig: list[tuple[int, int]] = []
    to_move.sort(key=lambda x: -r[x])
    for v in to_move:
        i = table.find_host(v, overloaded)
        if i >= 0:
            table.create(i, v)
            mig.append((v, int(table.host[i])))
    # d. under-utilized hosts, least utilized first (the cached utilization does not change in the loop):
    #    all VMs or none; targets of step c are not excluded (CloudSim's quirk); sources, over-utilized and
    #    switched-off (utilization 0) hosts are never targets; successful targets are never sources
    host = table.host  # the universe may have grown in step c
    u = sim.u_cached
    excl_src = overloaded | (u == 0)
    excl_tgt = excl_src.copy()
    n_excl = int(excl_src.sum())
    nh = sim.nh
    order = np.flatnonzero(~excl_src & (u < 1))
    order = order[np.lexsort((order, u[order]))]
    for h in order.tolist():
        if excl_src[h]:
            continue
        if n_excl == nh:
            break
        i = int(table.pos[h])
        if not table.lists[i]:
            continue
        excl_src[h] = True
        excl_tgt[h] = True
        n_excl += 1
        vms = sorted(table.lists[i], key=lambda x: -r[x])
        placed: list[tuple[int, int]] = []
        snaps: dict[int, tuple] = {}
        for v in vms:
            j = table.find_host(v, excl_tgt)
            if j < 0:
                placed = []
                break
            if j not in snaps:
                snaps[j] = table.snapshot(j)
            table.create(j, v)
            placed.append((v, j))
        if not placed:
            table.restore(snaps)
            continue
        for _, j in placed:
            t = int(host[j])
            if not excl_src[t]:
                excl_src[t] = True
                n_excl += 1
        mig.extend((v, int(host[j])) for v, j in placed)
    table.close()
    return mig
