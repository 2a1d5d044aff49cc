"""CloudSim's tentative allocation state during one ``optimizeAllocation``: :class:`HostTable`.

The host lists, per-host sums and the schedulers' available MIPS are mutated exactly as CloudSim's tentative
``vmCreate`` / ``vmDestroy`` calls mutate them, then thrown away (CloudSim's ``restoreAllocation``).

Only hosts that hold VMs and, per host type, the lowest-id empty host can win PABFD: empty hosts of one type
score identically and CloudSim breaks ties to the lowest id. When that host receives a VM, the next empty
host of its type joins (the *universe* of candidates). Per-host state lives in compact arrays.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from kumo.policies.detection import trim_zero_tail
from kumo.studies.cloudsim import _compiled
from kumo.studies.cloudsim._model import POWER_FLAT, spec_power_flat
from kumo.studies.cloudsim._pabfd import pabfd

__all__ = ["HostTable"]

_INT_MIN = float(-(2**31))


class HostTable:
    """CloudSim's tentative allocation state during one optimization, over the candidate universe.

    Position ``i`` holds host ``host[i]``; ``pos[h]`` is the position of host ``h`` or -1. The per-position
    arrays below are views, cut to the universe's size, of preallocated arrays named with a leading ``_``.
    """

    host: np.ndarray
    cap: np.ndarray
    invcap: np.ndarray
    pe: np.ndarray
    off: np.ndarray
    type: np.ndarray
    pnow: np.ndarray
    nlist: np.ndarray
    peak: np.ndarray
    sum_c: np.ndarray
    sum_r: np.ndarray
    avail: np.ndarray
    max_ram: np.ndarray
    hist: np.ndarray
    hlen: np.ndarray
    busy: np.ndarray

    def __init__(self, sim: Any, vm_of_slot: np.ndarray, host_of_slot: np.ndarray, alloc: np.ndarray,
                 avail_full: np.ndarray, overloaded: np.ndarray):
        self.sim = sim
        nh = sim.nh
        cap_full = sim.host_mips
        counts = np.bincount(host_of_slot, minlength=nh)
        pristine = (counts == 0) & (sim.u_cached == 0) & ~overloaded
        # empty hosts of one type are interchangeable: only the lowest-id one (the type's representative)
        # is in the universe; the next joins when it receives a VM
        self._queue = {t: np.flatnonzero(pristine & (sim.host_type == t)).tolist()
                       for t in sorted(set(sim.host_type.tolist()))}  # (np.unique would import numpy.ma)
        reps = {t: q.pop(0) for t, q in self._queue.items() if q}
        universe = np.flatnonzero(~pristine)
        hs = np.sort(np.concatenate([universe, np.asarray(list(reps.values()), dtype=np.int64)]))
        n = hs.size
        self.n = n
        self.pos = np.full(nh, -1, np.int64)
        self.pos[hs] = np.arange(n)
        # per-position arrays have room for every host: an empty host joins by writing its defaults at n
        self._host = _room(hs, nh)
        self._cap = _room(cap_full[hs], nh)
        self._invcap = _room(1.0 / cap_full[hs], nh)  # screens only (exact tests divide)
        self._pe = _room(sim.pe_mips[hs], nh)
        self._off = _room(sim.power_offset[hs], nh)
        self._type = _room(sim.host_type[hs], nh)
        self._pnow = _room(spec_power_flat(sim.u_cached[hs], self._off[:n]), nh)  # host.getPower() now
        cut = np.searchsorted(host_of_slot, np.arange(nh + 1)).tolist()
        vl = vm_of_slot.tolist()
        self.lists = [vl[cut[h]:cut[h + 1]] for h in hs.tolist()]
        self._nlist = _room(counts[hs].astype(np.int64), nh)
        self._peak = _room(sim.peak[hs], nh)
        self._sum_c = _room(np.bincount(host_of_slot, alloc, nh)[hs], nh)  # getUtilizationOfCpuMips
        self._sum_r = _room(np.bincount(host_of_slot, sim.r[vm_of_slot], nh)[hs], nh)
        self._avail = _room(avail_full[hs], nh)
        mr = np.full(nh, _INT_MIN)
        np.maximum.at(mr, host_of_slot, sim.vm_ram[vm_of_slot])
        self._max_ram = _room(mr[hs], nh)
        self._hist = _room(sim.host_hist[hs], nh)  # host utilization history, newest first
        self._hlen = _room(np.asarray(trim_zero_tail(self._hist[:n]), dtype=np.int64), nh)
        self._busy = _room(self._sum_c[:n] != 0, nh)
        self._views()
        self.rep = {t: int(self.pos[h]) for t, h in reps.items()}
        self.after = sim.after_test(self)
        self._kernel = _compiled.table_kernel(sim, self)  # the C kernel's view of these arrays, or None

    _ARRAYS = ("host", "cap", "invcap", "pe", "off", "type", "pnow", "nlist", "peak", "sum_c", "sum_r", "avail",
               "max_ram", "hist", "hlen", "busy")

    def _views(self) -> None:
        n = self.n
        for name in self._ARRAYS:
            setattr(self, name, getattr(self, "_" + name)[:n])

    def close(self) -> None:
        """Write back what outlives the optimization: the scheduler maps' peak sizes."""
        np.maximum.at(self.sim.peak, self.host, self.peak)

    # ------------------------------------------------------------------------------------ universe
    def _admit(self, h: int) -> int:
        # an empty host joins the universe (its type's previous representative just received a VM)
        sim = self.sim
        i = self.n
        for name, val in (("host", h), ("cap", sim.host_mips[h]), ("invcap", 1.0 / sim.host_mips[h]),
                          ("pe", sim.pe_mips[h]), ("off", sim.power_offset[h]),
                          ("type", sim.host_type[h]), ("nlist", 0), ("peak", sim.peak[h]), ("sum_c", 0.0),
                          ("sum_r", 0.0), ("avail", sim.host_mips[h]), ("max_ram", _INT_MIN), ("hlen", 1),
                          ("busy", False)):
            getattr(self, "_" + name)[i] = val
        self._pnow[i] = POWER_FLAT[sim.power_offset[h]]
        self._hist[i] = 0.0
        self.pos[h] = i
        self.n += 1
        self._views()
        self.lists.append([])
        self.after.grow(i)
        return i

    def excluded_mask(self, hosts_excluded: np.ndarray) -> np.ndarray:
        """Compact boolean mask from a full-size one (for the hosts now in the universe)."""
        return hosts_excluded[self.host]

    # ------------------------------------------------------------------------------------ list edits
    def create(self, i: int, v: int) -> None:
        """``host.vmCreate(vm)`` for a VM that fits: appended, allocated in full."""
        sim = self.sim
        req = sim.r[v]
        t = int(self.type[i])
        if self.rep.get(t) == i:
            q = self._queue[t]
            self.rep[t] = self._admit(q.pop(0)) if q else -1
        self.lists[i].append(v)
        self.nlist[i] += 1
        if self.nlist[i] > self.peak[i]:
            self.peak[i] = self.nlist[i]
        self.sum_c[i] += req
        self.busy[i] = self.sum_c[i] != 0
        self.avail[i] -= req
        self.sum_r[i] += req
        if sim.vm_ram[v] > self.max_ram[i]:
            self.max_ram[i] = sim.vm_ram[v]
        self.hist[i] += sim.vmh[v] * sim.vm_mips[v] / self.cap[i]
        if sim.vm_hlen[v] > self.hlen[i]:
            self.hlen[i] = sim.vm_hlen[v]
        self.after.added(i, v)

    def destroy(self, i: int, v: int) -> None:
        """``host.vmDestroy(vm)``: removed; the scheduler re-allocates the rest, sums are rebuilt."""
        self.lists[i].remove(v)
        self.nlist[i] -= 1
        self.rebuild(i)

    def rebuild(self, i: int) -> None:
        sim = self.sim
        lst = self.lists[i]
        r = sim.r
        cap = float(self.cap[i])
        pe = float(self.pe[i])
        rs = [float(r[v]) for v in lst]
        c = [pe if x > pe else x for x in rs]
        s_r = 0.0
        avail = cap
        over = False
        for x, cv in zip(rs, c, strict=True):
            s_r += x
            if not over and avail >= cv:
                avail -= cv
            else:
                over = True
        if over:
            tot = 0.0
            for cv in c:
                tot += cv
            scale = cap / tot
            c = [math.floor(cv * scale) for cv in c]
            avail = 0.0
        s_c = 0.0
        for a in c:
            s_c += a
        self.sum_r[i] = s_r
        self.sum_c[i] = s_c
        self.busy[i] = s_c != 0
        self.avail[i] = avail
        if lst:
            idx = np.asarray(lst)
            self.hist[i] = np.cumsum(sim.vmh[idx] * sim.vm_mips[idx][:, None] / cap, axis=0)[-1]
            self.max_ram[i] = float(sim.vm_ram[idx].max())
        else:
            self.hist[i] = 0.0
            self.max_ram[i] = _INT_MIN
        nz = np.flatnonzero(self.hist[i])
        self.hlen[i] = int(nz[-1]) + 1 if nz.size else 1  # trim_zero_tail of one row
        self.after.rebuilt(i)

    _FIELDS = ("sum_c", "avail", "sum_r", "hlen", "max_ram", "nlist", "busy")

    def snapshot(self, i: int) -> tuple:
        return (list(self.lists[i]), self.hist[i].copy(), [getattr(self, f)[i] for f in self._FIELDS],
                self.after.save(i))

    def restore(self, snaps: dict[int, tuple]) -> None:
        for i, (lst, hist, vals, extra) in snaps.items():
            self.lists[i] = lst
            self.hist[i] = hist
            for f, x in zip(self._FIELDS, vals, strict=True):
                getattr(self, f)[i] = x
            self.after.load(i, extra)

    # ------------------------------------------------------------------------------------ tests
    def overloaded_now(self, i: int) -> bool:
        """The detector on the host at position ``i`` as its list stands: the kernel's, else the after-test's
        (screened where it keeps a screen, exact otherwise)."""
        r = _compiled.table_over_now(self, i)
        return self.after.now(i) if r is None else r

    def overloaded_now_exact(self, i: int) -> bool:
        """:meth:`overloaded_now` by the detector's exact scalar code."""
        n = int(self.hlen[i])
        return self.sim.detect_one(self.sum_r[i] / self.cap[i], self.hist[i][:n], float(self.max_ram[i]))

    def overloaded_after(self, i: int, v: int) -> bool:
        """``isHostOverUtilizedAfterAllocation``, exact scalar: the detector with ``v`` appended."""
        sim = self.sim
        cap = self.cap[i]
        hist = self.hist[i] + sim.vmh[v] * sim.vm_mips[v] / cap
        n = max(int(self.hlen[i]), int(sim.vm_hlen[v]))
        ram = float(max(self.max_ram[i], sim.vm_ram[v]))
        return sim.detect_one((self.sum_r[i] + sim.r[v]) / cap, hist[:n], ram)

    # ------------------------------------------------------------------------------------ PABFD
    def find_host(self, v: int, excluded: np.ndarray) -> int:
        """PABFD ``findHostForVm`` over the universe: the position of the least power increase among the
        suitable hosts (ties to the lowest host id), a non-empty host over-utilized with the VM skipped; -1
        if none. ``excluded`` is a full-size (n_hosts,) bool mask of the forbidden targets, by host id."""
        i = _compiled.table_pabfd(self, v, excluded)
        if i is None:
            i = pabfd(self, v, float(self.sim.r[v]), self.sim.pe_min, excluded, self.after)
        return i



def _room(a: np.ndarray, size: int) -> np.ndarray:
    # a copy of ``a`` in an array of ``size`` rows (the rest zero)
    out = np.zeros((size,) + a.shape[1:], dtype=a.dtype)
    out[: a.shape[0]] = a
    return out
