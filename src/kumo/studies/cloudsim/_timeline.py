"""The event timeline of CloudSim's ``PowerDatacenter`` for the PlanetLab experiments (one run).

Host updates (``HostDynamicWorkload.updateVmsProcessing``) are vectorized over all VMs and hosts; the VMs of
each host are kept in CloudSim's list order (placement/arrival order) through a per-VM position key, so that
every per-host sum is CloudSim's sequential sum (``np.bincount`` adds in input order). What is reproduced:
``docs/studies/cloudsim.md``.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from kumo.policies import registry
from kumo.policies.detection import trim_zero_tail
from kumo.studies.cloudsim import _compiled
from kumo.studies.cloudsim import _model as M
from kumo.studies.cloudsim._accounting import Histories
from kumo.studies.cloudsim._after import AFTER_TESTS, AfterTest, horizon
from kumo.studies.cloudsim._optimize import optimize_python
from kumo.studies.cloudsim._placement import initial_placement
from kumo.studies.cloudsim._table import HostTable

_OUT, _NORM, _IN = 0, 1, 2
_KEY_BITS = 32


class CloudSimRun:
    """One CloudSim-compatible run on ``percent`` (n_steps, n_vms) integer utilizations.

    Parameters
    ----------
    percent : (n_steps, n_vms) int, the PlanetLab files' values (VM i = file i in sorted order).
    kind : ``npa``, ``dvfs`` or ``migration``.
    detection, selection : ``(registered name, params)`` for ``migration``.
    seed : seeds random selection.
    n_hosts : park size (CloudSim: 800; host i is G4 if i is even, G5 if odd).
    record : keep every migration as ``(time, vm, source, target)`` and the over-utilized hosts of every
        optimization in :attr:`log` (for tests).
    """

    def __init__(self, percent: np.ndarray, kind: str, detection: tuple[str, dict[str, Any]] | None = None,
                 selection: str | None = None, seed: int = 0, n_hosts: int = M.N_HOSTS, record: bool = False):
        self.kind = kind
        self.rng = np.random.default_rng(np.random.SeedSequence(seed))
        n_steps, nv = percent.shape
        H = M.hosts(n_hosts)
        V = M.vms(nv)
        self.nh, self.nv, self.n_steps = n_hosts, nv, n_steps
        self.data = M.trace_matrix(percent)
        self.host_type = H["type"].astype(np.int64)
        self.host_mips = H["mips"].astype(np.float64)
        self.pe_mips = H["pe_mips"].astype(np.float64)
        self.pe_min = float(self.pe_mips.min())
        self.host_ram = H["ram"]
        self.host_bw = H["bw"]
        self.power_offset = self.host_type * 11
        self.vm_mips = V["mips"].astype(np.float64)
        self.vm_ram = V["ram"].astype(np.float64)
        self.vm_bw = V["bw"].astype(np.float64)
        self.vm_hz = horizon(self.vm_ram)
        self.vm_hash = M.vm_uid_hashes(nv)
        self.vm_host = np.full(nv, -1, np.int64)
        self.vm_key = np.zeros(nv, np.int64)
        self.next_key = 0
        self.n_inflight = np.zeros(nv, np.int64)
        # migrations in flight, in start order: (vm, target, slot key) rows and their end times
        self.inflight = np.zeros((0, 3), np.int64)
        self.inflight_end = np.zeros(0)
        self.U = np.zeros(self.nh)  # utilization MIPS at each host's last update
        self.r = np.zeros(nv)  # requested MIPS at the last update
        self.u_cached = np.zeros(self.nh)
        self.power_ws = 0.0
        self.last_t = 0.0
        self.hist = Histories(self.nh, nv)
        self.peak = np.zeros(self.nh, np.int64)  # most VMs each host's scheduler map ever held
        self.vmh = np.zeros((nv, M.HISTORY))
        self.vm_hlen = np.ones(nv, np.int64)
        self.n_hist = 0
        self.migrations = 0
        self.seq = 0
        self._slots_cache: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._pending: tuple[Any, ...] | None = None
        self._counts: np.ndarray | bool | None = None
        self._slot_hash: np.ndarray | None = None
        self._p_last: np.ndarray | None = None
        self.record = record
        self.log: list[tuple[Any, ...]] = []
        self.detector_name = None if detection is None else detection[0]
        self.sel_name = selection
        self._regression = False
        if detection is not None:
            name, params = detection
            self.detector = registry.make("detection", name, params)
            self.selector = registry.make("selection", selection or "mmt")
            self._regression = hasattr(self.detector, "predicted")
            if self._regression:
                w = int(self.detector.window)
                x = np.arange(1, w + 1, dtype=np.float64)
                beta = (x - x.mean()) / ((x - x.mean()) ** 2).sum()
                alpha = 1.0 / w - beta * x.mean()
                self.lr_weights = (alpha[::-1].copy(), beta[::-1].copy())  # on h newest-first
                xs = x[::-1]  # abscissa of h[j] (newest first): w - j
                self.lr_hat = np.outer(self.lr_weights[0], np.ones(w)) + np.outer(self.lr_weights[1], xs)
        self.wall_s = 0.0
        self.n_python_optimize = 0  # optimizations decided by the Python path (no kernel, or handed back)

    # ------------------------------------------------------------------------------------------- policies
    def detect_one(self, util: float, hist: np.ndarray, max_ram: float) -> bool:
        if self._regression:
            return bool(self.detector.overloaded_one(util, hist, horizon=float(horizon(max_ram))))
        return bool(self.detector.overloaded_one(util, hist))

    def after_test(self, table: HostTable) -> AfterTest:
        return AFTER_TESTS.get(self.detector_name or "", AfterTest)(table)

    # ------------------------------------------------------------------------------------------- updates
    def _slots(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._slots_cache is not None:
            return self._slots_cache
        self._counts = None
        res = np.flatnonzero(self.vm_host >= 0)
        s_vm = res
        s_host = self.vm_host[res]
        s_key = self.vm_key[res]
        s_role = np.where(self.n_inflight[res] > 0, _OUT, _NORM)
        if self.inflight.size:
            f = self.inflight
            s_vm = np.concatenate([s_vm, f[:, 0]])
            s_host = np.concatenate([s_host, f[:, 1]])
            s_key = np.concatenate([s_key, f[:, 2]])
            s_role = np.concatenate([s_role, np.full(len(f), _IN)])
        order = np.argsort((s_host << _KEY_BITS) + s_key, kind="stable")
        self._slots_cache = (s_vm[order], s_host[order], s_role[order])
        self._slot_hash = None
        return self._slots_cache

    def _update(self, t: float, full: bool) -> None:
        """Every host's ``updateVmsProcessing(t)``; ``full``: also the energy since the last update and the
        removal of VMs whose requested MIPS is exactly 0."""
        r = self.vm_mips * M.utilization_at(self.data, t)
        s_vm, s_host, s_role = self._slots()
        rs = r[s_vm]
        moving = bool(self.inflight.size)
        cap = self.host_mips
        fast = _compiled.host_update(self, rs, s_vm, s_host, s_role, self._counts is None)
        if fast is not None:
            self._counts = True
            c, alloc, U, R = fast
            if moving:
                is_in = s_role == _IN
                is_out = s_role == _OUT
        else:
            c, alloc, U, R, is_in, is_out = self._update_python(rs, s_vm, s_host, s_role, moving)
        if full and t > self.last_t:
            dt = t - self.last_t
            if self.kind == "npa":
                frame = M.seq_sum(M.POWER_FLAT[self.power_offset + 10] * dt)
            else:
                u_prev = M.clamp_util(self.U / cap)
                p0 = self._p_last if self._p_last is not None else _compiled.power(u_prev, self.power_offset)
                p1 = _compiled.power(M.clamp_util(U / cap), self.power_offset)
                frame = M.seq_sum(np.where(u_prev == 0, 0.0, (p0 + (p1 - p0) / 2) * dt))
            self.power_ws += frame
        # P(u) of this update is the next interval's starting power, unless a later update at this instant
        # changes u first
        self._p_last = p1 if full and t > self.last_t and self.kind != "npa" else None
        self.U = U.astype(np.float64, copy=False)
        self.r = r
        if moving:
            nin = ~is_in
            self._entries(t, U, R, s_vm[nin], alloc[nin], rs[nin], is_out[nin])
        else:
            self._entries(t, U, R, s_vm, alloc, rs, None)
        if full:
            self.last_t = t
            dead = (rs == 0) & (s_role == _NORM)
            if dead.any():
                self.vm_host[s_vm[dead]] = -1
                self._slots_cache = None
        self._last = (s_vm, s_host, c, alloc)

    def slot_hash(self) -> np.ndarray:
        """``HashMap.hash`` of each slot's VM uid (for the over-subscribed sums), cached with the slots."""
        if self._slot_hash is None:
            self._slot_hash = self.vm_hash[self._slots()[0]]
        return self._slot_hash

    def _update_python(self, rs: np.ndarray, s_vm: np.ndarray, s_host: np.ndarray, s_role: np.ndarray,
                       moving: bool) -> tuple[Any, ...]:
        # the allocation part of every host's update: capped requests c, allocations, U and R per host
        nh = self.nh
        c = np.minimum(rs, self.pe_mips[s_host])
        is_in = s_role == _IN
        is_out = s_role == _OUT
        if moving:
            q = np.where(is_in, c * 0.1, c)
            alloc = np.where(is_out, c * 0.9, np.where(is_in, c * 0.1, c))
        else:
            q = alloc = c
        cap = self.host_mips
        totq = np.bincount(s_host, q, nh)
        over = totq > cap
        near = np.abs(totq - cap) <= 1e-9 * cap
        if near.any():
            _exact_fits(np.flatnonzero(near), s_host, q, cap, over)
        if self._counts is None:
            self._counts = np.bincount(s_host, minlength=nh)
            np.maximum(self.peak, self._counts, out=self.peak)
        if over.any():
            alloc = alloc.copy()
            m = over[s_host]
            scale = (cap / self._hashmap_totals(over, s_vm, s_host, q))[s_host[m]]
            cm = c[m]
            if moving:
                alloc[m] = np.floor(np.where(is_out[m], cm * scale * 0.9,
                                             np.where(is_in[m], cm * 0.1 * scale, cm * scale)))
            else:
                alloc[m] = np.floor(cm * scale)
        allocp = np.where(is_out, alloc / 0.9, alloc) if moving else alloc
        U = np.bincount(s_host, allocp, nh)
        R = np.bincount(s_host, rs, nh)
        return c, alloc, U, R, is_in, is_out

    def _entries(self, t: float, U: np.ndarray, R: np.ndarray, vms: np.ndarray, alloc: np.ndarray, req: np.ndarray,
                 mig: np.ndarray | None) -> None:
        # state-history entries at an instant replace earlier ones at the same instant (per host, per VM), so
        # the entries of an update are held back until an update at a later instant: every host and every VM
        # still listed is overwritten in place; a VM removed meanwhile keeps its held-back entry
        p = self._pending
        if p is not None and p[0] != t:
            self._flush()
            p = None
        if p is not None:
            seen = np.zeros(self.nv, dtype=bool)
            seen[vms] = True
            keep = ~seen[p[3]]
            if keep.any():
                vms = np.concatenate([vms, p[3][keep]])
                alloc = np.concatenate([alloc, p[4][keep]])
                req = np.concatenate([req, p[5][keep]])
                m0 = np.zeros(len(vms) - int(keep.sum()), dtype=bool) if mig is None else mig
                m1 = np.zeros(int(keep.sum()), dtype=bool) if p[6] is None else p[6][keep]
                mig = np.concatenate([m0, m1])
        self._pending = (t, U, R, vms, alloc, req, mig)

    def _flush(self) -> None:
        if self._pending is not None:
            t, U, R, vms, alloc, req, mig = self._pending
            self.hist.host_entries(None, t, U, R)
            self.hist.vm_entries(vms, t, alloc, req, mig)
            self._pending = None

    def _hashmap_totals(self, over: np.ndarray, s_vm: np.ndarray, s_host: np.ndarray, q: np.ndarray) -> np.ndarray:
        # CloudSim sums an over-subscribed host's requests in HashMap iteration order over the VM uids: by
        # bucket (hash & (table size - 1)), then insertion (= host-list) order; the table size depends on the
        # most entries the scheduler's map ever held (HostTable.find_host grows it as CloudSim does)
        tot = np.ones(self.nh)
        caps = M.hashmap_capacity(self.peak)
        hosts = np.flatnonzero(over)
        starts = np.searchsorted(s_host, hosts)
        ends = np.searchsorted(s_host, hosts, side="right")
        for h, a, b in zip(hosts.tolist(), starts.tolist(), ends.tolist(), strict=True):
            order = np.argsort(self.vm_hash[s_vm[a:b]] & (caps[h] - 1), kind="stable")
            tot[h] = M.seq_sum(q[a:b][order])
        return tot

    # ------------------------------------------------------------------------------------------- placement
    def _initial_placement(self) -> None:
        """t = 0: the broker's VMs in id order (:func:`kumo.studies.cloudsim._placement.initial_placement`)."""
        initial_placement(self)

    # ------------------------------------------------------------------------------------------- optimize
    def _optimize(self, t: float) -> list[tuple[int, int]]:
        s_vm, s_host, c, alloc = self._last
        alive = self.vm_host[s_vm] >= 0  # drop the VMs removed at this update
        if not alive.all():
            s_vm, s_host, c, alloc = s_vm[alive], s_host[alive], c[alive], alloc[alive]
        self.u_cached = M.clamp_util(self.U / self.host_mips)
        done = _compiled.optimize(self, s_vm, s_host, c, alloc)
        if done is None:
            self.n_python_optimize += 1
            mig, overloaded = optimize_python(self, s_vm, s_host, c, alloc)
        else:
            mig, overloaded = done
        if self.record:
            self.log.append(("optimize", t, np.flatnonzero(overloaded).tolist(), list(mig)))
        return mig

    def _start(self, t: float, mig: list[tuple[int, int]]) -> None:
        a = np.asarray(mig, dtype=np.int64).reshape(-1, 2)
        v, h = a[:, 0], a[:, 1]
        np.add.at(self.n_inflight, v, 1)
        end = t + self.vm_ram[v] / (self.host_bw[h] / (2 * 8000))
        if self.record:
            for vv, hh, e in zip(v.tolist(), h.tolist(), end.tolist(), strict=True):
                self.log.append(("migrate", t, vv, int(self.vm_host[vv]), hh, e))
        keys = self.next_key + np.arange(len(a))
        self.inflight = np.concatenate([self.inflight, np.stack([v, h, keys], axis=1)])
        self.inflight_end = np.concatenate([self.inflight_end, end])
        self.next_key += len(a)
        self.seq += len(a)
        self.migrations += len(a)
        self._slots_cache = None

    def _complete_until(self, t_limit: float) -> None:
        while self.inflight.size:
            c = float(self.inflight_end.min())
            if c >= t_limit:
                return
            self._update(c, full=True)
            done = self.inflight_end == c  # completed in start order (CloudSim's event order)
            v, h = self.inflight[done, 0], self.inflight[done, 1]
            self.inflight = self.inflight[~done]
            self.inflight_end = self.inflight_end[~done]
            np.subtract.at(self.n_inflight, v, 1)
            # a VM that was in flight twice ends where its later migration took it, with the later key
            self.vm_host[v] = h
            self.vm_key[v] = self.next_key + np.arange(v.size)
            self.next_key += v.size
            self._slots_cache = None
            self._update(c, full=True)

    def _append_history(self, t: float) -> None:
        # PowerVm: u(t) joins the history (newest first, at most 30) when (t - 0.1) % 300 == 0
        if math.fmod(t - M.START_S, M.INTERVAL_S) != 0:
            return
        self.vmh[:, 1:] = self.vmh[:, :-1]
        self.vmh[:, 0] = M.utilization_at(self.data, t)
        self.n_hist = min(self.n_hist + 1, M.HISTORY)
        self.vm_hlen = np.asarray(trim_zero_tail(self.vmh), dtype=np.int64)
        if self._regression:
            a, b = self.lr_weights
            w = a.size
            self.vm_lr = self.vmh[:, :w] @ np.stack([a, b], axis=1)
            if self.detector_name == "lrr":
                self.vm_res = self.vmh[:, :w] - self.vmh[:, :w] @ self.lr_hat

    # ------------------------------------------------------------------------------------------- loop
    def run(self) -> dict[str, float]:
        """Simulate the day; CloudSim's printed metrics (fractions, not percent)."""
        t0 = time.perf_counter()
        self.hist.kernel = _compiled.K if _compiled.available() else None
        self._initial_placement()
        limit = self.n_steps * M.INTERVAL_S  # CloudSim.terminateSimulation(24 h)
        t = M.START_S
        while True:
            t = t + M.INTERVAL_S
            if t >= limit:
                break
            self._complete_until(t)
            self._update(t, full=True)
            if self.kind == "migration":
                self._append_history(t)
                mig = self._optimize(t)
                if mig:
                    self._start(t, mig)
                    self._update(t, full=False)
        self._complete_until(math.inf)
        self._flush()
        self.hist.close()
        out = self.hist.metrics()
        energy = self.power_ws / 3.6e6
        res = {"energy_kwh": energy, "migrations": float(self.migrations), **out}
        res["slav"] = res["slatah"] * res["pdm"]
        res["esv"] = energy * res["slatah"] * res["pdm"]  # the reference table's order: (E x SLATAH) x PDM
        self.wall_s = time.perf_counter() - t0
        return res


def _exact_fits(hosts: np.ndarray, s_host: np.ndarray, q: np.ndarray, cap: np.ndarray, over: np.ndarray) -> None:
    # the scheduler's sequential "available >= request" test where the totals are too close to call
    starts = np.searchsorted(s_host, hosts)
    ends = np.searchsorted(s_host, hosts, side="right")
    for h, a, b in zip(hosts.tolist(), starts.tolist(), ends.tolist(), strict=True):
        avail = float(cap[h])
        bad = False
        for qq in q[a:b].tolist():
            if avail >= qq:
                avail -= qq
            else:
                bad = True
                break
        over[h] = bad
