"""One call of CloudSim's ``optimizeAllocation`` (``cloudsim-planetlab.md`` §4 step 4), as kumo arithmetic.

The host lists, per-host sums and the scheduler's available MIPS are mutated here exactly as CloudSim's
tentative ``vmCreate`` / ``vmDestroy`` calls mutate them, then thrown away (CloudSim's ``restoreAllocation``);
the result is the migration map, in CloudSim's order. Detection and selection are kumo's registered policies
(:mod:`kumo.policies.detection`, :mod:`kumo.policies.selection`), which copy CloudSim's arithmetic.

Speed: PABFD (:meth:`HostTable.find_host`) scores all candidate hosts at once and runs the (costly)
"over-utilized after allocation" test lazily, in score order, only until one host passes — the same choice
as CloudSim's full scan, whose minimum is over the passing hosts with ties to the lowest id.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from kumo.compat._model import HISTORY, MIGRATION_MB_PER_S, INTERVAL_S, spec_power, spec_power_one
from kumo.policies.detection import trim_zero_tail
from kumo.policies.selection import SelectionContext, select_until_ok

_INT_MIN = -(2**31)


def _horizon(max_ram: float) -> float:
    # LR's extrapolation point 10 + ceil(T_mig_max / 300), T_mig_max = largest VM RAM / 62.5 MB/s
    return 10 + math.ceil(max_ram / MIGRATION_MB_PER_S / INTERVAL_S)


class HostTable:
    """Per-host lists and sums during one optimization (CloudSim's tentative allocation state)."""

    def __init__(self, sim: Any, lists: list[list[int]], alloc_sum: np.ndarray, avail: np.ndarray,
                 hist: np.ndarray, power_now: np.ndarray, initial: bool = False):
        self.sim = sim
        self.lists = lists
        self.cap = sim.host_mips
        self.pe = sim.pe_mips
        self.table = sim.host_table
        self.tables = sim.host_table_tuples
        self.sum_c = alloc_sum.copy()  # getUtilizationOfCpuMips: allocated MIPS summed over the list
        self.avail = avail.copy()  # the scheduler's available MIPS
        self.hist = hist.copy()  # host utilization history (n_hosts, 30), newest first
        self.power_now = power_now  # host.getPower() at the last update
        self.initial = initial  # t = 0: placed VMs request 0 MIPS, RAM and BW are booked
        self.nlist = np.array([len(lst) for lst in lists], dtype=np.int64)
        self.peak = sim.peak  # shared with the simulation: CloudSim's HashMap tables only grow
        r = sim.r
        self.sum_r = np.array([_seq(r, lst) for lst in lists]) if not initial else np.zeros(len(lists))
        if initial:
            self.ram_free = sim.host_ram.astype(np.float64).copy()
            self.bw_free = sim.host_bw.astype(np.float64).copy()

    # ------------------------------------------------------------------------------------ list edits
    def create(self, h: int, v: int) -> None:
        """``host.vmCreate(vm)`` for a VM that fits: appended, allocated in full."""
        sim = self.sim
        req = sim.vm_mips[v] if self.initial else sim.r[v]
        self.lists[h].append(v)
        self.nlist[h] += 1
        if self.nlist[h] > self.peak[h]:
            self.peak[h] = self.nlist[h]
        self.sum_c[h] += req
        self.avail[h] -= req
        if self.initial:
            self.ram_free[h] -= sim.vm_ram[v]
            self.bw_free[h] -= sim.vm_bw[v]
        else:
            self.sum_r[h] += req
            self.hist[h] += sim.vmh[v] * sim.vm_mips[v] / self.cap[h]

    def destroy(self, h: int, v: int) -> None:
        """``host.vmDestroy(vm)``: removed; the scheduler re-allocates the rest, sums are rebuilt."""
        lst = self.lists[h]
        lst.remove(v)
        self.nlist[h] -= 1
        self.rebuild(h)

    def rebuild(self, h: int) -> None:
        sim = self.sim
        lst = self.lists[h]
        r = sim.r
        cap = self.cap[h]
        pe = self.pe[h]
        c = [pe if r[v] > pe else r[v] for v in lst]
        s_r = 0.0
        avail = cap
        over = False
        for v, cv in zip(lst, c, strict=True):
            s_r += r[v]
            if not over and avail >= cv:
                avail -= cv
            else:
                over = True
        if over:
            tot = 0.0
            for cv in c:
                tot += cv
            scale = cap / tot
            alloc = [math.floor(cv * scale) for cv in c]
            avail = 0.0
        else:
            alloc = c
        s_c = 0.0
        for a in alloc:
            s_c += a
        self.sum_r[h] = s_r
        self.sum_c[h] = s_c
        self.avail[h] = avail
        hist = np.zeros(HISTORY)
        for v in lst:
            hist += sim.vmh[v] * sim.vm_mips[v] / cap
        self.hist[h] = hist

    def snapshot(self, hosts: set[int]) -> dict[int, tuple]:
        return {h: (list(self.lists[h]), self.sum_c[h], self.avail[h], self.sum_r[h], self.hist[h].copy())
                for h in hosts}

    def restore(self, snap: dict[int, tuple]) -> None:
        for h, (lst, sc, av, sr, hi) in snap.items():
            self.lists[h] = lst
            self.nlist[h] = len(lst)
            self.sum_c[h], self.avail[h], self.sum_r[h] = sc, av, sr
            self.hist[h] = hi

    # ------------------------------------------------------------------------------------ tests
    def overloaded_now(self, h: int) -> bool:
        """The detector on host ``h`` as its list stands."""
        sim = self.sim
        hist = self.hist[h]
        n = int(trim_zero_tail(hist))
        util = self.sum_r[h] / self.cap[h]
        return sim.detect_one(util, hist[:n], self._max_ram(self.lists[h]))

    def overloaded_after(self, h: int, v: int) -> bool:
        """``isHostOverUtilizedAfterAllocation``: the detector with ``v`` appended to host ``h``."""
        sim = self.sim
        cap = self.cap[h]
        if self.initial:
            # at t = 0 the placed VMs have no cloudlet yet (request 0) and no history
            return sim.detect_one((0.0 + sim.vm_mips[v]) / cap, np.zeros(1), float(max(self._max_ram(self.lists[h]),
                                                                                   sim.vm_ram[v])))
        hist = self.hist[h] + sim.vmh[v] * sim.vm_mips[v] / cap
        n = int(trim_zero_tail(hist))
        util = (self.sum_r[h] + sim.r[v]) / cap
        return sim.detect_one(util, hist[:n], float(max(self._max_ram(self.lists[h]), sim.vm_ram[v])))

    def _max_ram(self, lst: list[int]) -> float:
        ram = self.sim.vm_ram
        return float(max((ram[v] for v in lst), default=_INT_MIN))

    # ------------------------------------------------------------------------------------ PABFD
    def find_host(self, v: int, excluded: np.ndarray) -> int:
        """PABFD ``findHostForVm``: least power increase among suitable hosts, ties to the lowest id; a
        non-empty host that would be over-utilized with the VM is skipped. -1 if none."""
        sim = self.sim
        req = sim.vm_mips[v] if self.initial else sim.r[v]
        ok = ~excluded & (self.pe >= req) & (self.avail >= req)
        if self.initial:
            ok &= (self.ram_free >= sim.vm_ram[v]) & (self.bw_free >= sim.vm_bw[v])
        idx = np.flatnonzero(ok)
        if idx.size == 0:
            return -1
        # CloudSim creates the VM tentatively on every suitable non-empty host to test it; that grows the
        # host scheduler's HashMap, whose iteration order later fixes the over-subscription sums
        tested = idx[self.sum_c[idx] != 0]
        np.maximum.at(self.peak, tested, self.nlist[tested] + 1)
        ua = (self.sum_c[idx] + req) / self.cap[idx]
        diff = spec_power(ua, self.table[idx]) - self.power_now[idx]
        for h in idx[np.argsort(diff, kind="stable")].tolist():
            if self.sum_c[h] != 0 and self.overloaded_after(h, v):
                continue
            return h
        return -1


def _seq(x: np.ndarray, idx: list[int]) -> float:
    s = 0.0
    for i in idx:
        s += x[i]
    return s


def optimize(sim: Any, table: HostTable, overloaded: np.ndarray, rng: np.random.Generator) -> list[tuple[int, int]]:
    """The migration map ``[(vm, target)]`` of one ``optimizeAllocation``.

    Parameters
    ----------
    sim : the compat simulation (reads r, histories, VM facts, policies).
    table : host lists and sums after the periodic update (mutated; discard afterwards).
    overloaded : (n_hosts,) bool, the detector's verdict on every host.
    """
    nh = len(table.lists)
    r = sim.r
    over_ids = np.flatnonzero(overloaded)
    # b. selection on each over-utilized host, re-testing after each removal
    to_move: list[int] = []
    for h in over_ids.tolist():
        picked = sim.select_from(table, h, rng)
        to_move.extend(picked)
    # c. placement (PABFD) of the selected VMs, by current demand, descending (stable)
    mig: list[tuple[int, int]] = []
    excluded = overloaded.copy()
    to_move.sort(key=lambda v: -r[v])
    for v in to_move:
        h = table.find_host(v, excluded)
        if h >= 0:
            table.create(h, v)
            mig.append((v, h))
    # d. under-utilized hosts: least utilized first, all VMs or none
    u = sim.u_cached
    off = u == 0
    excl_src = overloaded | off
    excl_tgt = excl_src.copy()
    order = np.lexsort((np.arange(nh), u))
    cand = [h for h in order.tolist() if not excl_src[h] and 0 < u[h] < 1]
    n_excl = int(excl_src.sum())
    for h in cand:
        if n_excl == nh:
            break
        if excl_src[h] or not table.lists[h]:
            continue
        excl_src[h] = True
        n_excl += 1
        excl_tgt[h] = True
        vms = sorted(table.lists[h], key=lambda v: -r[v])
        placed: list[tuple[int, int]] = []
        snap = table.snapshot(set())
        for v in vms:
            t = table.find_host(v, excl_tgt)
            if t < 0:
                placed = []
                break
            if t not in snap:
                snap.update(table.snapshot({t}))
            table.create(t, v)
            placed.append((v, t))
        if not placed:
            table.restore(snap)
            continue
        for _, t in placed:
            if not excl_src[t]:
                excl_src[t] = True
                n_excl += 1
        mig.extend(placed)
    return mig
