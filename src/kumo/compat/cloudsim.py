"""CloudSim compatibility mode: CloudSim 3.0.3/4.0's PlanetLab power experiments, event for event.

:func:`run_cloudsim` replays one of CloudSim's example policies (``npa``, ``dvfs``, ``thr-mmt``, ``lr-mc``,
...) on a PlanetLab day with CloudSim's timeline and accounting, including its quirks, so that the printed
metrics match CloudSim's number for number (``shared/reference/cloudsim-planetlab.md``). What is copied:

* **Timeline.** Updates at ``t_k = 0.1 + 300 k`` accumulated by ``+ 300.0`` in doubles, the last one handled
  before 86 400 s; migrations end ``RAM / 62.5`` s after they start; at every migration end all hosts are
  updated (demand re-sampled by linear interpolation of the trace), the VM moves, and all hosts are updated
  again at the same instant (later entries at one instant replace earlier ones).
* **Per-host CPU sharing** (``VmSchedulerTimeSharedOverSubscription``): requests capped at the PE's MIPS; a
  migrating VM gets 90 % on its source, 10 % on its target; if the sequential fit fails, every VM gets
  ``floor(request x capacity / total request)``. Host utilization counts a migrating-out VM as
  ``allocated / 0.9`` (1 ulp off its request at times, which CloudSim counts as an SLA violation).
* **VMs die** at an update where their requested MIPS is exactly 0 and they are not migrating.
* **Energy**: per interval and host, 0 if the host's previous utilization is 0, else the trapezoid
  ``(P0 + (P1 - P0) / 2) dt`` on the SPECpower curve (CloudSim's ``u % 0.1 == 0`` shortcut included).
  ``npa`` books ``P(1)`` for all 800 hosts over [0, last update].
* **Policies**: first fit for ``dvfs``/``npa``; PABFD with the detector run on the target with the VM
  added; CloudSim's under-utilization loop, including the quirk that hosts which just received VMs from
  over-utilized hosts may be evacuated in the same round (a VM can then be migrated twice at once, and
  both migrations count); the initial placement is PABFD with every host at ``P(0)``.
* **Metrics** as ``Helper.printResults`` computes them (:mod:`kumo.compat._accounting`).

Differences from CloudSim: random selection (``*-rs``) draws from a seeded numpy Generator instead of an
unseeded ``java.util.Random``; in the under-utilization loop, CloudSim's scheduler re-sums the remaining VMs
in ``HashMap`` order after a tentative removal, kumo in host-list order (this can only matter if two sums
differ in the last bit *and* a fit test is tied to that bit).
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from kumo.compat import _model as M
from kumo.compat._accounting import Histories
from kumo.compat._screens import mc_pick_screen
from kumo.compat._optimize import AFTER_TESTS, AfterTest, HostTable, optimize
from kumo.errors import ConfigError
from kumo.policies import registry
from kumo.policies.detection import host_history, trim_zero_tail
from kumo.policies.selection import SelectionContext

#: detection name -> (registered policy, parameters at CloudSim's example values)
DETECTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "thr": ("thr", {"threshold": 0.8}),
    "iqr": ("iqr", {"safety": 1.5, "fallback_threshold": 0.7, "min_history": 12}),
    "mad": ("mad", {"safety": 2.5, "fallback_threshold": 0.7, "min_history": 12}),
    "lr": ("lr", {"safety": 1.2, "fallback_threshold": 0.7, "min_history": 10}),
    "lrr": ("lrr", {"safety": 1.2, "fallback_threshold": 0.7, "min_history": 10}),
}
SELECTIONS = ("mmt", "mc", "mu", "rs", "hpg", "mm")
#: CloudSim's example set, in the order of its results table
EXAMPLES = ("npa", "dvfs", "thr-mmt", "iqr-mmt", "mad-mmt", "lr-mmt", "lrr-mmt", "lr-mc", "lr-rs", "lr-mu")
#: CloudSim's example class names
CLASS_NAMES = {"npa": "NonPowerAware", "dvfs": "Dvfs"}

_OUT, _NORM, _IN = 0, 1, 2
_KEY_BITS = 32


def policy_names() -> list[str]:
    """Every policy name :func:`run_cloudsim` accepts."""
    return ["npa", "dvfs"] + [f"{d}-{s}" for d in DETECTIONS for s in SELECTIONS]


def class_name(policy: str) -> str:
    """CloudSim's example name for a policy: ``lr-mmt`` -> ``LrMmt``."""
    if policy in CLASS_NAMES:
        return CLASS_NAMES[policy]
    return "".join(p.capitalize() for p in policy.split("-"))


def _parse(policy: str) -> tuple[str, str | None, str | None]:
    p = policy.strip().lower()
    if p in ("npa", "nonpoweraware", "non-power-aware"):
        return "npa", None, None
    if p == "dvfs":
        return "dvfs", None, None
    det, _, sel = p.partition("-")
    if det not in DETECTIONS or sel not in SELECTIONS:
        raise ConfigError([f"policy: unknown CloudSim policy {policy!r}; valid: npa, dvfs, or <detection>-<selection> "
                           f"with detection in {sorted(DETECTIONS)} and selection in {list(SELECTIONS)}"])
    return "migration", det, sel


# --------------------------------------------------------------------------------------------- data


def planetlab_dir(date: str) -> Path:
    """The folder of a PlanetLab day: ``$KUMO_PLANETLAB_DIR/<date>`` or ``../shared/data/planetlab/<date>``
    next to the working directory or the source tree."""
    roots = []
    if os.environ.get("KUMO_PLANETLAB_DIR"):
        roots.append(Path(os.environ["KUMO_PLANETLAB_DIR"]))
    roots += [Path.cwd().parent / "shared/data/planetlab", Path.cwd() / "../shared/data/planetlab",
              Path(__file__).resolve().parents[4] / "shared/data/planetlab"]
    for root in roots:
        if (root / date).is_dir():
            return root / date
    raise ConfigError([f"date: no PlanetLab folder for {date!r}; looked in {', '.join(str(r) for r in roots)} "
                       "(set KUMO_PLANETLAB_DIR)"])


def load_day(date: str = "20110303") -> Any:
    """The PlanetLab day as a fraction-unit Trace: the embedded copy for 20110303, else the folder."""
    from kumo.traces import load

    if date == "20110303":
        return load("planetlab-20110303")
    return load(str(planetlab_dir(date)), format="planetlab")


def _percent(trace: Any) -> np.ndarray:
    if getattr(trace, "cpu_unit", "fraction") != "fraction":
        raise ConfigError(["trace: CloudSim mode needs a PlanetLab trace in fraction units (cpu_unit='fraction')"])
    cpu = np.asarray(trace.cpu, dtype=np.float64)
    pct = np.rint(cpu * 100.0)
    if np.any(np.abs(cpu * 100.0 - pct) > 1e-3) or np.any(pct < 0) or np.any(pct > 100):
        raise ConfigError(["trace: CloudSim mode needs whole-percent utilizations (PlanetLab files)"])
    return pct.astype(np.int64)


# --------------------------------------------------------------------------------------------- the run


class CloudSimRun:
    """One CloudSim-compatible run. Use :func:`run_cloudsim`."""

    def __init__(self, percent: np.ndarray, policy: str, seed: int = 0):
        self.kind, det, sel = _parse(policy)
        self.policy = policy
        self.rng = np.random.default_rng(np.random.SeedSequence(seed))
        n_steps, nv = percent.shape
        H = M.hosts()
        V = M.vms(nv)
        self.nh, self.nv, self.n_steps = M.N_HOSTS, nv, n_steps
        self.data = M.trace_matrix(percent)
        self.host_mips = H["mips"].astype(np.float64)
        self.pe_mips = H["pe_mips"].astype(np.float64)
        self.host_ram = H["ram"]
        self.host_bw = H["bw"]
        self.host_table = M.POWER[H["type"]]
        self.host_table_tuples = [tuple(M.POWER[t]) for t in H["type"]]
        self.vm_mips = V["mips"].astype(np.float64)
        self.vm_ram = V["ram"].astype(np.float64)
        self.vm_bw = V["bw"].astype(np.float64)
        self.vm_host = np.full(nv, -1, np.int64)
        self.vm_key = np.zeros(nv, np.int64)
        self.next_key = 0
        self.n_inflight = np.zeros(nv, np.int64)
        self.inflight: list[list[Any]] = []  # [vm, target, key, end_time, seq]
        self.U = np.zeros(self.nh)  # utilization MIPS at each host's last update
        self.r = np.zeros(nv)  # requested MIPS at the last update
        self.u_cached = np.zeros(self.nh)
        self.alloc = np.zeros(self.nh)
        self.power_ws = 0.0
        self.last_t = 0.0
        self.hist = Histories(self.nh, nv)
        self.peak = np.zeros(self.nh, np.int64)  # most VMs each host's scheduler map ever held
        self.vm_hash = M.vm_uid_hashes(nv)
        self.vmh = np.zeros((nv, M.HISTORY))
        self.n_hist = 0
        self.migrations = 0
        self.seq = 0
        self.t_hist_prev = -1.0
        self.power_offset = H["type"].astype(np.int64) * 11
        self.vm_hlen = np.zeros(nv, np.int64)
        self.vm_lr = np.zeros((nv, 2))
        self.detector_name = det
        if det is not None:
            name, params = DETECTIONS[det]
            self.detector = registry.make("detection", name, params)
            self.selector = registry.make("selection", sel)
            self._regression = hasattr(self.detector, "predicted")
            self.sel_name = sel
        self.wall_s = 0.0

    # ------------------------------------------------------------------------------------------- policies
    def detect_one(self, util: float, hist: np.ndarray, max_ram: float) -> bool:
        if self._regression:
            return self.detector.overloaded_one(util, hist, horizon=_horizon(max_ram))
        return self.detector.overloaded_one(util, hist)

    def after_test(self, table: HostTable) -> AfterTest:
        cls = AFTER_TESTS.get(self.detector_name or "", AfterTest)
        return AfterTest(table) if table.initial else cls(table)

    def power_after(self, hosts: np.ndarray, u: np.ndarray) -> np.ndarray:
        return M.spec_power_flat(u, self.power_offset[hosts])

    def select_from(self, table: HostTable, h: int, rng: np.random.Generator) -> list[int]:
        """``getVmsToMigrateFromHosts`` for one host: pick, ``vmDestroy``, re-test, until not over-utilized."""
        lst = list(table.lists[h])
        if not lst:
            return []
        idx = np.asarray(lst)
        cap = float(self.host_mips[h])
        upper = None
        if self.sel_name in ("hpg", "mm"):
            upper = getattr(self.detector, "threshold", None) or getattr(self.detector, "fallback_threshold", None)
        # getVmsToMigrateFromHosts: pick among the VMs left, vmDestroy it, re-test; stop when the host is no
        # longer over-utilized or nothing can be picked (select_until_ok's loop, with the host's own sums)
        ram_host = float(self.host_ram[h])
        width = max(self.n_hist, 1)
        picked: list[int] = []
        while lst:
            idx = np.asarray(lst)
            ctx = SelectionContext(
                vm_index=idx, ram_mb=self.vm_ram[idx], cpu_demand_mhz=self.r[idx], cpu_booked_mhz=self.vm_mips[idx],
                ram_demand_mb=np.zeros(idx.size), ram_booked_mb=self.vm_ram[idx],
                history=self.vmh[idx, :width], hist_len=np.full(idx.size, self.n_hist),
                host_cpu_mhz=cap, host_ram_mb=ram_host, host_cpu_used_mhz=float(table.sum_r[h]),
                host_ram_used_mb=0.0, upper_cpu=upper, upper_ram=None)
            p = mc_pick_screen(ctx.history, ctx.hist_len) if self.sel_name == "mc" else None
            if p is None:
                p = self.selector.pick(ctx, rng)
            if p < 0:
                break
            v = lst.pop(p)
            picked.append(v)
            table.destroy(h, v)
            if not table.overloaded_now(h):
                break
        return picked

    # ------------------------------------------------------------------------------------------- updates
    def _slots(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        res = np.flatnonzero(self.vm_host >= 0)
        s_vm = res
        s_host = self.vm_host[res]
        s_key = self.vm_key[res]
        s_role = np.where(self.n_inflight[res] > 0, _OUT, _NORM)
        if self.inflight:
            f = np.array([(m[0], m[1], m[2]) for m in self.inflight], dtype=np.int64)
            s_vm = np.concatenate([s_vm, f[:, 0]])
            s_host = np.concatenate([s_host, f[:, 1]])
            s_key = np.concatenate([s_key, f[:, 2]])
            s_role = np.concatenate([s_role, np.full(len(f), _IN)])
        order = np.argsort((s_host << _KEY_BITS) + s_key, kind="stable")
        return s_vm[order], s_host[order], s_role[order]

    def _update(self, t: float, full: bool) -> None:
        """All hosts' ``updateVmsProcessing(t)``; ``full``: also energy since the last update and VM removal."""
        nh = self.nh
        r = self.vm_mips * M.utilization_at(self.data, t)
        s_vm, s_host, s_role = self._slots()
        rs = r[s_vm]
        pe = self.pe_mips[s_host]
        c = np.where(rs > pe, pe, rs)
        is_in = s_role == _IN
        is_out = s_role == _OUT
        q = np.where(is_in, c * 0.1, c)
        alloc = np.where(is_out, c * 0.9, np.where(is_in, c * 0.1, c))
        cap = self.host_mips
        totq = np.bincount(s_host, q, nh)
        over = totq > cap
        near = np.flatnonzero(np.abs(totq - cap) <= 1e-9 * cap)
        if near.size:
            starts = np.searchsorted(s_host, near)
            ends = np.searchsorted(s_host, near, side="right")
            for h, a, b in zip(near.tolist(), starts.tolist(), ends.tolist(), strict=True):
                avail = cap[h]
                bad = False
                for qq in q[a:b].tolist():
                    if avail >= qq:
                        avail -= qq
                    else:
                        bad = True
                        break
                over[h] = bad
        counts = np.bincount(s_host, minlength=nh)
        np.maximum(self.peak, counts, out=self.peak)
        if over.any():
            m = over[s_host]
            scale = (cap / self._hashmap_totals(over, s_vm, s_host, q))[s_host[m]]
            cm = c[m]
            alloc[m] = np.floor(np.where(is_out[m], cm * scale * 0.9, np.where(is_in[m], cm * 0.1 * scale, cm * scale)))
        allocp = np.where(is_out, alloc / 0.9, alloc)
        U = np.bincount(s_host, allocp, nh)
        R = np.bincount(s_host, rs, nh)
        if full and t > self.last_t:
            dt = t - self.last_t
            if self.kind == "npa":
                frame = M.seq_sum(self.host_table[:, 10] * dt)
            else:
                u_prev = M.clamp_util(self.U / cap)
                u_now = M.clamp_util(U / cap)
                frame = M.seq_sum(M.interval_energy(u_prev, u_now, self.host_table, dt))
            self.power_ws += frame
        self.U = U
        self.r = r
        self.hist.host_entries(np.arange(nh), t, U, R)
        nin = ~is_in
        self.hist.vm_entries(s_vm[nin], t, alloc[nin], rs[nin], is_out[nin])
        if full:
            self.last_t = t
            dead = s_vm[nin & (rs == 0) & ~is_out]
            if dead.size:
                self.vm_host[dead] = -1
            self._slots_cache = None
        self._last_slots = (s_vm, s_host, s_role, c, alloc)

    def _hashmap_totals(self, over: np.ndarray, s_vm: np.ndarray, s_host: np.ndarray, q: np.ndarray) -> np.ndarray:
        # CloudSim sums the over-subscribed host's requests in HashMap iteration order over the VM uids: by
        # bucket (hash & (table size - 1)), then insertion (= host-list) order; the table size depends on the
        # most entries the scheduler's map ever held (see HostTable.find_host)
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
        nh, nv = self.nh, self.nv
        if self.kind == "migration":
            lists: list[list[int]] = [[] for _ in range(nh)]
            table = HostTable(self, lists, np.zeros(nh), self.host_mips.copy(), np.zeros((nh, M.HISTORY)),
                              np.full(nh, 0.0) + np.array([t[0] for t in self.host_table_tuples]), initial=True)
            none = np.zeros(nh, dtype=bool)
            for v in range(nv):
                h = table.find_host(v, none)
                if h < 0:
                    raise RuntimeError(f"initial placement: no host for VM {v} (CloudSim's broker would exit)")
                table.create(h, v)
                self.vm_host[v] = h
        else:
            avail = self.host_mips.copy()
            ram = self.host_ram.astype(np.float64).copy()
            bw = self.host_bw.astype(np.float64).copy()
            for v in range(nv):
                m = self.vm_mips[v]
                ok = (self.pe_mips >= m) & (avail >= m) & (ram >= self.vm_ram[v]) & (bw >= self.vm_bw[v])
                h = int(np.argmax(ok))
                if not ok[h]:
                    raise RuntimeError(f"initial placement: no host for VM {v} (CloudSim's broker would exit)")
                avail[h] -= m
                ram[h] -= self.vm_ram[v]
                bw[h] -= self.vm_bw[v]
                self.vm_host[v] = h
        self.vm_key[:] = np.arange(nv)
        self.next_key = nv

    # ------------------------------------------------------------------------------------------- optimize
    def _optimize(self, t: float) -> list[tuple[int, int]]:
        s_vm, s_host, s_role, c, alloc = self._last_slots
        alive = self.vm_host[s_vm] >= 0  # drop the VMs removed at this update
        s_vm, s_host, c, alloc = s_vm[alive], s_host[alive], c[alive], alloc[alive]
        nh = self.nh
        cut = np.searchsorted(s_host, np.arange(nh + 1)).tolist()
        vl = s_vm.tolist()
        lists = [vl[cut[h]:cut[h + 1]] for h in range(nh)]
        self.table_sum_r = np.bincount(s_host, self.r[s_vm], nh)  # sequential in list order
        self.table_max_ram = np.full(nh, float(-(2**31)))
        np.maximum.at(self.table_max_ram, s_host, self.vm_ram[s_vm])
        cap = self.host_mips
        alloc_sum = np.bincount(s_host, alloc, nh)
        # available MIPS: sequential subtraction in list order; 0 on over-subscribed hosts
        totq = np.bincount(s_host, c, nh)
        over = np.zeros(nh, dtype=bool)
        avail = cap.copy()
        counts = np.bincount(s_host, minlength=nh)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        pos = np.arange(s_vm.size) - starts[s_host]
        for j in range(int(counts.max()) if counts.size else 0):
            m = pos == j
            hh = s_host[m]
            cj = c[m]
            fail = ~over[hh] & ~(avail[hh] >= cj)
            over[hh[fail]] = True
            ok = ~over[hh]
            avail[hh[ok]] -= cj[ok]
        avail[over] = 0.0
        del totq
        hist = host_history(self.vmh[s_vm], self.vm_mips[s_vm], s_host, cap, nh)
        self.vm_hlen = np.asarray(trim_zero_tail(self.vmh), dtype=np.int64)
        if self._regression:
            w = int(self.detector.window)
            x = np.arange(1, w + 1, dtype=np.float64)
            beta = ((x - x.mean()) / ((x - x.mean()) ** 2).sum())
            alpha = 1.0 / w - beta * x.mean()
            self.vm_lr = self.vmh[:, :w] @ np.stack([alpha[::-1], beta[::-1]], axis=1)
        self.u_cached = M.clamp_util(self.U / cap)
        power_now = M.spec_power_flat(self.u_cached, self.power_offset)
        table = HostTable(self, lists, alloc_sum, avail, hist, power_now)
        # a. over-utilized hosts
        hist_len = trim_zero_tail(hist)
        util = table.sum_r / cap
        if self._regression:
            max_ram = np.full(nh, float(-(2**31)))
            np.maximum.at(max_ram, s_host, self.vm_ram[s_vm])
            horizon = np.array([_horizon(x) for x in max_ram.tolist()], dtype=np.float64)
            overloaded = self.detector.overloaded(util, hist, hist_len, horizon=horizon)
        else:
            overloaded = self.detector.overloaded(util, hist, hist_len)
        return optimize(self, table, np.asarray(overloaded, dtype=bool), self.rng)

    def _start(self, t: float, mig: list[tuple[int, int]]) -> None:
        for v, h in mig:
            self.n_inflight[v] += 1
            end = t + float(self.vm_ram[v]) / (float(self.host_bw[h]) / (2 * 8000))
            self.inflight.append([v, h, self.next_key, end, self.seq])
            self.next_key += 1
            self.seq += 1
            self.migrations += 1

    def _complete_until(self, t_limit: float) -> None:
        while self.inflight:
            c = min(m[3] for m in self.inflight)
            if c >= t_limit:
                return
            self._update(c, full=True)
            done = sorted((m for m in self.inflight if m[3] == c), key=lambda m: m[4])
            for m in done:
                v, h = m[0], m[1]
                self.inflight.remove(m)
                self.n_inflight[v] -= 1
                self.vm_host[v] = h
                self.vm_key[v] = self.next_key
                self.next_key += 1
            self._update(c, full=True)

    # ------------------------------------------------------------------------------------------- loop
    def run(self) -> dict[str, float]:
        t0 = time.perf_counter()
        self._initial_placement()
        limit = self.n_steps * M.INTERVAL_S
        t = M.START_S
        while True:
            t = t + M.INTERVAL_S
            if t >= limit:
                break
            self._complete_until(t)
            self._update(t, full=True)
            if self.kind == "migration":
                if math.fmod(t - 0.1, M.INTERVAL_S) == 0:
                    pass
                self._append_history(t)
                mig = self._optimize(t)
                if mig:
                    self._start(t, mig)
                    self._update(t, full=False)
            elif self.kind == "dvfs" or self.kind == "npa":
                pass
        self._complete_until(math.inf)
        self.hist.close()
        out = self.hist.metrics()
        energy = self.power_ws / 3.6e6
        res = {"energy_kwh": energy, "migrations": float(self.migrations), **out}
        res["slav"] = res["slatah"] * res["pdm"]
        res["esv"] = energy * res["slatah"] * res["pdm"]  # the reference table's order: (E x SLATAH) x PDM
        self.wall_s = time.perf_counter() - t0
        return res

    def _append_history(self, t: float) -> None:
        # PowerVm: the utilization at t joins the history (newest first, at most 30) when (t - 0.1) % 300 == 0
        if math.fmod(t - 0.1, M.INTERVAL_S) != 0:
            return
        u = M.utilization_at(self.data, t)
        self.vmh[:, 1:] = self.vmh[:, :-1]
        self.vmh[:, 0] = u
        self.n_hist = min(self.n_hist + 1, M.HISTORY)


def _horizon(max_ram: float) -> float:
    return 10 + math.ceil(max_ram / M.MIGRATION_MB_PER_S / M.INTERVAL_S)


def run_cloudsim(policy: str, date: str = "20110303", trace: Any | None = None, seed: int = 0,
                 mode: str = "cloudsim") -> dict[str, float]:
    """Run one of CloudSim's PlanetLab examples and return CloudSim's printed metrics.

    Parameters
    ----------
    policy : ``npa``, ``dvfs`` or ``<detection>-<selection>`` (``thr``/``iqr``/``mad``/``lr``/``lrr`` x
        ``mmt``/``mc``/``mu``/``rs``/``hpg``/``mm``), e.g. ``lr-mmt``; see :func:`policy_names`.
    date : PlanetLab day folder name; 20110303 is embedded, others are read from
        ``../shared/data/planetlab`` (or ``$KUMO_PLANETLAB_DIR``).
    trace : a fraction-unit PlanetLab Trace to use instead of the day.
    seed : seeds the random selection (``*-rs``); nothing else is random.
    mode : ``cloudsim`` (this module) or ``realistic`` (the general engine with the ``consolidation``
        controller, see :mod:`kumo.compat.realistic`).

    Returns
    -------
    dict with energy_kwh, migrations, slatah, pdm, slav, esv, sla_overall, sla_average, host_shutdowns,
    time_before_host_shutdown_{mean,std}_s, time_before_vm_migration_{mean,std}_s (fractions, not percent).
    """
    if mode == "realistic":
        from kumo.compat.realistic import run_realistic

        return run_realistic(policy, date=date, trace=trace, seed=seed)
    if mode != "cloudsim":
        raise ConfigError([f"mode: must be 'cloudsim' or 'realistic', got {mode!r}"])
    if trace is None:
        trace = load_day(date)
    run = CloudSimRun(_percent(trace), policy, seed)
    return run.run()
