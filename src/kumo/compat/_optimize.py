"""One call of CloudSim's ``optimizeAllocation`` (``cloudsim-planetlab.md`` §4 step 4), as kumo arithmetic.

The host lists, per-host sums and the schedulers' available MIPS are mutated here exactly as CloudSim's
tentative ``vmCreate`` / ``vmDestroy`` calls mutate them, then thrown away (CloudSim's ``restoreAllocation``);
the result is the migration map, in CloudSim's order. Detection and selection are kumo's registered policies
(:mod:`kumo.policies.detection`, :mod:`kumo.policies.selection`), which copy CloudSim's arithmetic.

Speed without changing a single decision: PABFD (:meth:`HostTable.find_host`) scores every candidate host at
once; the "over-utilized after allocation" test runs on all candidates together (:class:`AfterTest`). For
LR/LRR the prediction is linear in the history, so a dot product screens every host and only predictions
within 1e-9 of the threshold are recomputed with the detector's bit-exact code; THR is exact as vectorized;
IQR/MAD use the detector's bit-identical row functions on the best-scored hosts first. The choice is
CloudSim's: the least power increase among the passing hosts, ties to the lowest id.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from kumo.compat._model import HISTORY, INTERVAL_S, MIGRATION_MB_PER_S
from kumo.policies.detection import trim_zero_tail

_INT_MIN = float(-(2**31))
_KNIFE = 1e-9  # screens closer than this to a threshold are decided by the exact code


def horizon(max_ram: np.ndarray | float) -> np.ndarray:
    """LR's extrapolation point ``10 + ceil(T_mig / 300)``, ``T_mig`` = largest VM RAM / 62.5 MB/s."""
    return 10 + np.ceil(np.asarray(max_ram, dtype=np.float64) / MIGRATION_MB_PER_S / INTERVAL_S)


def _hist_len(rows: np.ndarray) -> np.ndarray:
    # trimmed length of non-negative histories: last non-zero index + 1, at least 1
    return np.asarray(trim_zero_tail(rows), dtype=np.int64)


class HostTable:
    """Per-host lists and sums during one optimization (CloudSim's tentative allocation state)."""

    def __init__(self, sim: Any, lists: list[list[int]], alloc_sum: np.ndarray, avail: np.ndarray,
                 hist: np.ndarray, power_now: np.ndarray, initial: bool = False):
        self.sim = sim
        self.lists = lists
        self.cap = sim.host_mips
        self.pe = sim.pe_mips
        self.power_now = power_now  # host.getPower() at the last update
        self.initial = initial  # t = 0: placed VMs request 0 MIPS, RAM and BW are booked
        self.nlist = np.array([len(lst) for lst in lists], dtype=np.int64)
        self.peak = sim.peak  # shared with the simulation: CloudSim's HashMap tables only grow
        self.sum_c = alloc_sum.copy()  # getUtilizationOfCpuMips: allocated MIPS summed over the list
        self.avail = avail.copy()  # the scheduler's available MIPS
        self.hist = hist.copy()  # host utilization history (n_hosts, 30), newest first
        self.hlen = _hist_len(hist)
        self.max_ram = sim.table_max_ram if not initial else np.full(len(lists), _INT_MIN)
        self.sum_r = sim.table_sum_r if not initial else np.zeros(len(lists))
        if initial:
            self.ram_free = sim.host_ram.astype(np.float64).copy()
            self.bw_free = sim.host_bw.astype(np.float64).copy()
        self.after = sim.after_test(self)

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
        if sim.vm_ram[v] > self.max_ram[h]:
            self.max_ram[h] = sim.vm_ram[v]
        if self.initial:
            self.ram_free[h] -= sim.vm_ram[v]
            self.bw_free[h] -= sim.vm_bw[v]
        else:
            self.sum_r[h] += req
            self.hist[h] += sim.vmh[v] * sim.vm_mips[v] / self.cap[h]
            if sim.vm_hlen[v] > self.hlen[h]:
                self.hlen[h] = sim.vm_hlen[v]
            self.after.added(h, v)

    def destroy(self, h: int, v: int) -> None:
        """``host.vmDestroy(vm)``: removed; the scheduler re-allocates the rest, sums are rebuilt."""
        self.lists[h].remove(v)
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
        self.hlen[h] = int(_hist_len(hist))
        self.max_ram[h] = max((sim.vm_ram[v] for v in lst), default=_INT_MIN)
        self.after.rebuilt(h)

    _FIELDS = ("sum_c", "avail", "sum_r", "hlen", "max_ram", "nlist")

    def snapshot(self, h: int) -> tuple:
        return (list(self.lists[h]), self.hist[h].copy(), [getattr(self, f)[h] for f in self._FIELDS],
                self.after.save(h))

    def restore(self, snaps: dict[int, tuple]) -> None:
        for h, (lst, hist, vals, extra) in snaps.items():
            self.lists[h] = lst
            self.hist[h] = hist
            for f, x in zip(self._FIELDS, vals, strict=True):
                getattr(self, f)[h] = x
            self.after.load(h, extra)

    # ------------------------------------------------------------------------------------ tests
    def overloaded_now(self, h: int) -> bool:
        """The detector on host ``h`` as its list stands."""
        n = int(self.hlen[h])
        return self.sim.detect_one(self.sum_r[h] / self.cap[h], self.hist[h][:n], float(self.max_ram[h]))

    def overloaded_after(self, h: int, v: int) -> bool:
        """``isHostOverUtilizedAfterAllocation``, exact scalar: the detector with ``v`` appended to ``h``."""
        sim = self.sim
        cap = self.cap[h]
        ram = float(max(self.max_ram[h], sim.vm_ram[v]))
        if self.initial:
            # at t = 0 the placed VMs have no cloudlet yet (request 0) and no history
            return sim.detect_one((0.0 + sim.vm_mips[v]) / cap, np.zeros(1), ram)
        hist = self.hist[h] + sim.vmh[v] * sim.vm_mips[v] / cap
        n = max(int(self.hlen[h]), int(sim.vm_hlen[v]))
        return sim.detect_one((self.sum_r[h] + sim.r[v]) / cap, hist[:n], ram)

    # ------------------------------------------------------------------------------------ PABFD
    def find_host(self, v: int, excluded: np.ndarray) -> int:
        """PABFD ``findHostForVm``: least power increase among suitable hosts, ties to the lowest id; a
        non-empty host that would be over-utilized with the VM is skipped. -1 if none."""
        sim = self.sim
        req = sim.vm_mips[v] if self.initial else sim.r[v]
        ok = (self.avail >= req) & (self.pe >= req) & ~excluded
        if self.initial:
            ok &= (self.ram_free >= sim.vm_ram[v]) & (self.bw_free >= sim.vm_bw[v])
        idx = np.flatnonzero(ok)
        if idx.size == 0:
            return -1
        busy = self.sum_c[idx] != 0
        # CloudSim creates the VM tentatively on every suitable non-empty host to test it; that grows the
        # host scheduler's HashMap, whose iteration order later fixes the over-subscription sums
        tested = idx[busy]
        np.maximum.at(self.peak, tested, self.nlist[tested] + 1)
        diff = sim.power_after(idx, (self.sum_c[idx] + req) / self.cap[idx]) - self.power_now[idx]
        if not busy.any():
            return int(idx[np.argmin(diff)])
        if not self.initial:
            return self.after.choose(v, idx, busy, diff)
        # t = 0: the placed VMs request 0 MIPS and have no history, so every detector uses its static
        # threshold (or fallback) on the new VM's full MIPS alone
        k = tested.size
        util = (0.0 + sim.vm_mips[v]) / self.cap[tested]
        kw = {"horizon": horizon(np.maximum(self.max_ram[tested], sim.vm_ram[v]))} if sim._regression else {}
        over = np.asarray(sim.detector.overloaded(util, np.zeros((k, 1)), np.ones(k, np.int64), **kw), dtype=bool)
        diff[np.flatnonzero(busy)[over]] = np.inf
        best = int(np.argmin(diff))
        return int(idx[best]) if diff[best] != np.inf else -1


def _seq(x: np.ndarray, idx: list[int]) -> float:
    s = 0.0
    for i in idx:
        s += x[i]
    return s


# --------------------------------------------------------------------------------------------- after tests


class AfterTest:
    """Vectorized ``isHostOverUtilizedAfterAllocation`` for one detector family; exact as a whole."""

    def __init__(self, table: HostTable):
        self.t = table

    def added(self, h: int, v: int) -> None:
        pass

    def rebuilt(self, h: int) -> None:
        pass

    def save(self, h: int) -> Any:
        return None

    def load(self, h: int, state: Any) -> None:
        pass

    def over(self, v: int, hosts: np.ndarray) -> np.ndarray:
        """(k,) bool: over-utilized after adding ``v`` to each of ``hosts`` (all non-empty, suitable)."""
        t = self.t
        return np.array([t.overloaded_after(int(h), v) for h in hosts.tolist()], dtype=bool)

    def choose(self, v: int, idx: np.ndarray, busy: np.ndarray, diff: np.ndarray) -> int:
        """Best host among ``idx`` (scores ``diff``): the non-empty ones must pass :meth:`over`; tested on the
        best-scored hosts first, in growing chunks, until one passes."""
        order = np.lexsort((idx, diff))
        pos = 0
        n = order.size
        chunk = 4
        while pos < n:
            part = order[pos:pos + chunk]
            b = busy[part]
            ok = np.ones(part.size, dtype=bool)
            if b.any():
                ok[b] = ~self.over(v, idx[part[b]])
            if ok.any():
                return int(idx[part[int(np.argmax(ok))]])
            pos += chunk
            chunk *= 4
        return -1


class ThresholdAfter(AfterTest):
    """THR: ``(Σ requested + r) / capacity > threshold``, the detector's own vector code (exact)."""

    def choose(self, v: int, idx: np.ndarray, busy: np.ndarray, diff: np.ndarray) -> int:
        t = self.t
        sim = t.sim
        util = (t.sum_r[idx] + sim.r[v]) / t.cap[idx]
        over = busy & np.asarray(sim.detector.overloaded(util), dtype=bool)
        diff = np.where(over, np.inf, diff)
        best = int(np.argmin(diff))
        return int(idx[best]) if diff[best] != np.inf else -1


class RegressionAfter(AfterTest):
    """LR/LRR: ``safety · (a + b · horizon) >= 1`` on the 10 newest values. The OLS prediction is linear in
    the history, so per host ``A = Σ α_j h_j`` and ``B = Σ β_j h_j`` are kept and the VM's share is added;
    predictions within 1e-9 of the threshold (and, for LRR, histories whose residuals might be exactly
    zero, where CloudSim's robust weights can kick in) are decided by the detector's exact scalar code."""

    def __init__(self, table: HostTable):
        super().__init__(table)
        sim = table.sim
        det = sim.detector
        self.robust = sim.detector_name == "lrr"
        w = int(det.window)
        self.w = w
        x = np.arange(1, w + 1, dtype=np.float64)
        xbar = x.mean()
        sxx = float(((x - xbar) ** 2).sum())
        beta = (x - xbar) / sxx  # weights on y oldest-first
        alpha = 1.0 / w - beta * xbar
        self.alpha = alpha[::-1].copy()  # on h newest-first: h[j] is y[w-1-j]
        self.beta = beta[::-1].copy()
        self.x = x
        self.safety = float(det.safety)
        self.fallback = float(det.fallback_threshold)
        self.min_len = max(int(det.min_history), w)
        hw = table.hist[:, :w]
        self.A = hw @ self.alpha
        self.B = hw @ self.beta

    def added(self, h: int, v: int) -> None:
        sim = self.t.sim
        f = sim.vm_mips[v] / self.t.cap[h]
        self.A[h] += sim.vm_lr[v, 0] * f
        self.B[h] += sim.vm_lr[v, 1] * f

    def rebuilt(self, h: int) -> None:
        hw = self.t.hist[h, : self.w]
        self.A[h] = hw @ self.alpha
        self.B[h] = hw @ self.beta

    def save(self, h: int) -> Any:
        return (self.A[h], self.B[h])

    def load(self, h: int, state: Any) -> None:
        self.A[h], self.B[h] = state

    def choose(self, v: int, idx: np.ndarray, busy: np.ndarray, diff: np.ndarray) -> int:
        t = self.t
        sim = t.sim
        hosts = idx[busy]
        f = sim.vm_mips[v] / t.cap[hosts]
        n = np.maximum(t.hlen[hosts], sim.vm_hlen[v])
        hz = horizon(np.maximum(t.max_ram[hosts], sim.vm_ram[v]))
        pred = ((self.A[hosts] + sim.vm_lr[v, 0] * f) + (self.B[hosts] + sim.vm_lr[v, 1] * f) * hz) * self.safety
        util = (t.sum_r[hosts] + sim.r[v]) / t.cap[hosts]
        short = n < self.min_len
        over = np.where(short, util > self.fallback, pred >= 1)
        unsure = ~short & (np.abs(pred - 1) <= _KNIFE)
        if self.robust:
            unsure |= ~short & self._maybe_robust(hosts, v, f)
        for i in np.flatnonzero(unsure).tolist():
            over[i] = t.overloaded_after(int(hosts[i]), v)
        diff = diff.copy()
        diff[np.flatnonzero(busy)[over]] = np.inf
        best = int(np.argmin(diff))
        return int(idx[best]) if diff[best] != np.inf else -1

    def _maybe_robust(self, hosts: np.ndarray, v: int, f: np.ndarray) -> np.ndarray:
        # CloudSim's robust fit departs from OLS only if >= 6 of the 10 residuals are exactly 0
        sim = self.t.sim
        y = (self.t.hist[hosts, : self.w] + sim.vmh[v, : self.w][None, :] * f[:, None])[:, ::-1]
        a = self.A[hosts] + sim.vm_lr[v, 0] * f
        b = self.B[hosts] + sim.vm_lr[v, 1] * f
        res = np.abs(y - (a[:, None] + b[:, None] * self.x[None, :]))
        scale = np.maximum(np.abs(y).max(axis=1), 1e-300)
        return np.sort(res, axis=1)[:, (self.w - 1) // 2 + 1] <= 1e-9 * scale


class SpreadAfter(AfterTest):
    """IQR/MAD: the detector's bit-identical row functions on the VM-added histories of a chunk of hosts."""

    def over(self, v: int, hosts: np.ndarray) -> np.ndarray:
        t = self.t
        sim = t.sim
        f = sim.vm_mips[v] / t.cap[hosts]
        hist = t.hist[hosts] + sim.vmh[v][None, :] * sim.vm_mips[v] / t.cap[hosts][:, None]
        del f
        n = np.maximum(t.hlen[hosts], sim.vm_hlen[v])
        util = (t.sum_r[hosts] + sim.r[v]) / t.cap[hosts]
        return np.asarray(sim.detector.overloaded(util, hist, n), dtype=bool)


AFTER_TESTS: dict[str, type[AfterTest]] = {
    "thr": ThresholdAfter, "lr": RegressionAfter, "lrr": RegressionAfter, "iqr": SpreadAfter, "mad": SpreadAfter,
}


# --------------------------------------------------------------------------------------------- optimize


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
    # b. selection on each over-utilized host, re-testing after each removal
    to_move: list[int] = []
    for h in np.flatnonzero(overloaded).tolist():
        to_move.extend(sim.select_from(table, h, rng))
    # c. placement (PABFD) of the selected VMs, by current demand, descending (stable)
    mig: list[tuple[int, int]] = []
    excluded = overloaded.copy()
    to_move.sort(key=lambda v: -r[v])
    for v in to_move:
        h = table.find_host(v, excluded)
        if h >= 0:
            table.create(h, v)
            mig.append((v, h))
    # d. under-utilized hosts, least utilized first (the cached utilization does not change in the loop):
    #    all VMs or none; targets of step c are not excluded (CloudSim's quirk), sources and switched-off
    #    hosts are never targets, successful targets are never sources
    u = sim.u_cached
    excl_src = overloaded | (u == 0)
    excl_tgt = excl_src.copy()
    n_excl = int(excl_src.sum())
    for h in np.lexsort((np.arange(nh), u)).tolist():
        if excl_src[h] or not 0 < u[h] < 1:
            continue
        if n_excl == nh:
            break
        if not table.lists[h]:
            continue
        excl_src[h] = True
        excl_tgt[h] = True
        n_excl += 1
        vms = sorted(table.lists[h], key=lambda x: -r[x])
        placed: list[tuple[int, int]] = []
        snaps: dict[int, tuple] = {}
        for v in vms:
            t = table.find_host(v, excl_tgt)
            if t < 0:
                placed = []
                break
            if t not in snaps:
                snaps[t] = table.snapshot(t)
            table.create(t, v)
            placed.append((v, t))
        if not placed:
            table.restore(snaps)
            continue
        for _, t in placed:
            if not excl_src[t]:
                excl_src[t] = True
                n_excl += 1
        mig.extend(placed)
    return mig
