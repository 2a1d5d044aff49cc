"""Dynamic VM consolidation for the general engine: overload detection, VM selection, PABFD, underload
evacuation and switch-off (Beloglazov & Buyya, CCPE 2012), in kumo's *realistic* reading.

One registered controller, ``consolidation``, composes the registered ``detection`` and ``selection``
policies with a host-selection rule (:func:`score_hosts`: PABFD or the FF/BF/WF presets) and CloudSim's
underload rule (:func:`underload_order`). Each step, in this order:

1. **Overload**: the detector runs on every powered host with VMs (utilization = CPU demand / capacity; host
   history = Σ over the host's current VMs of their utilization history × booked MHz / host MHz, newest
   first, the last ``history_length`` steps, zero tail trimmed — CloudSim's definition).
2. **Selection**: on each over-utilized host (lowest id first), VMs are picked one at a time and taken off
   the plan until the detector no longer flags the host (CloudSim's loop, :func:`kumo.policies.selection.select_until_ok`).
3. **Placement** of the picked VMs, largest CPU demand first, on the best-scored feasible host: powered or
   not, not over-utilized, not the source, CPU demand after the move within capacity, booked RAM within
   ``ram_mb x ram_overcommit`` (RAM is a real constraint), and for a host with VMs the detector must not flag
   it with the VM added. PABFD scores ``P(u_after) - P(u_now)`` with ``P_now = 0`` for a host that is off, so
   waking a host costs its idle power.
4. **Underload**: powered hosts with 0 < utilization < 1 that neither sent nor received a VM this round,
   least utilized first: all their VMs are placed on other powered hosts that already hold VMs (not on
   sources, over-utilized hosts or empty hosts) or none is; a host that received VMs is never emptied in
   the same round.
5. **Switch-off**: powered hosts without VMs that receive none are switched off (with
   ``power_management.switch_off_idle`` the engine also switches off hosts emptied by finished migrations).

Differences from CloudSim's code paths (the compat mode copies those): see :mod:`kumo.compat.realistic`.
A VM migrates at most once per decision, and one in flight is not a candidate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kumo.policies.detection import StaticThreshold, host_history, trim_zero_tail
from kumo.policies.registry import make, register
from kumo.policies.selection import SelectionContext, select_until_ok
from kumo.state import HOST_OFF, VM_RUNNING, ClusterView

__all__ = ["CLOUDSIM_DETECTION_PARAMS", "Consolidation", "PLACEMENTS", "score_hosts", "underload_order"]

#: host-selection rules for migrated VMs
PLACEMENTS = ("pabfd", "first-fit", "best-fit", "worst-fit")
#: CloudSim's example parameters per detector (used when ``detection_params`` leaves them out)
CLOUDSIM_DETECTION_PARAMS: dict[str, dict[str, Any]] = {
    "thr": {"threshold": 0.8},
    "iqr": {"safety": 1.5},
    "mad": {"safety": 2.5},
    "lr": {"safety": 1.2},
    "lrr": {"safety": 1.2},
}


def score_hosts(rule: str, used: np.ndarray, cap: np.ndarray, demand: float, power_now: np.ndarray,
                power_after: np.ndarray) -> np.ndarray:
    """Score of each host for one VM (lower is better; the caller masks infeasible hosts with +inf).

    Parameters
    ----------
    rule : one of :data:`PLACEMENTS`. ``pabfd``: power increase ``P(u_after) - P_now`` (Beloglazov & Buyya,
        CCPE 2012, Algorithm 1); ``first-fit``: host index; ``best-fit``: free CPU fraction after the move;
        ``worst-fit``: minus that.
    used, cap : (n,) CPU demand and capacity, MHz.
    demand : the VM's CPU demand, MHz.
    power_now, power_after : (n,) watts now (0 for a host that is off) and with the VM added.
    """
    if rule == "pabfd":
        return power_after - power_now
    if rule == "first-fit":
        return np.arange(used.shape[0], dtype=np.float64)
    free = (cap - used - demand) / cap
    return free if rule == "best-fit" else -free


def underload_order(util: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """Hosts to try emptying, least utilized first (ties to the lowest id): eligible with 0 < util < 1."""
    cand = np.flatnonzero(eligible & (util > 0) & (util < 1))
    return cand[np.lexsort((cand, util[cand]))]


class _Memory:
    """Per-run scratch: the detector and selector objects and each VM's utilization history."""

    def __init__(self) -> None:
        self.ready = False
        self.detector: Any = None
        self.ols_weights: np.ndarray | None = None  # the detector's OLS screen, when it has one
        self.selector: Any = None
        self.vm_hist: np.ndarray = np.zeros((0, 0))  # (n_vms, H) newest first, fraction of booked CPU
        self.demand: np.ndarray = np.zeros(0)  # the VMs' CPU demand during the current decision
        self.filled = 0


@dataclass
class _Plan:
    """Virtual host state while one decision is made (copies; the view is never written)."""

    used: np.ndarray  # CPU demand, MHz
    ram: np.ndarray  # booked RAM, MB
    n_vms: np.ndarray
    hist: np.ndarray  # (n_hosts, H)
    on: np.ndarray
    touched: np.ndarray  # sent or received a VM this round
    p_now: np.ndarray  # watts now (0 when off); rows flagged in p_stale are recomputed before use
    p_stale: np.ndarray  # hosts whose load changed since p_now was computed
    hlen: np.ndarray  # valid length of each row of hist (trim_zero_tail), kept up to date by _move
    moves: list[tuple[int, int]] = field(default_factory=list)


@register("controller", "consolidation")
@dataclass(frozen=True)
class Consolidation:
    """Dynamic consolidation with overload detection, VM selection, PABFD and underload switch-off (Beloglazov & Buyya, CCPE 2012, §5-7; realistic reading of CloudSim's ``PowerVmAllocationPolicyMigrationAbstract``).

    Parameters
    ----------
    detection : registered detection policy (``thr``, ``iqr``, ``mad``, ``lr``, ``lrr``).
    detection_params : its parameters; CloudSim's example values fill in what is left out
        (:data:`CLOUDSIM_DETECTION_PARAMS`).
    selection : registered selection policy (``mmt``, ``mc``, ``mu``, ``rs``, ``hpg``, ``mm``).
    selection_params : its parameters.
    placement : host selection for migrated VMs, one of :data:`PLACEMENTS`.
    underload : empty under-utilized hosts (all VMs or none) so they can be switched off.
    switch_off : switch off powered hosts that have no VM.
    history_length : steps of VM utilization history kept (CloudSim: 30).
    ram_overcommit_check : refuse a target whose booked RAM would exceed ``ram_mb x ram_overcommit``.
    """

    detection: str = "lr"
    detection_params: dict[str, Any] = field(default_factory=dict)
    selection: str = "mmt"
    selection_params: dict[str, Any] = field(default_factory=dict)
    placement: str = "pabfd"
    underload: bool = True
    switch_off: bool = True
    history_length: int = 30
    ram_overcommit_check: bool = True
    _mem: _Memory = field(default_factory=_Memory, init=False, repr=False, compare=False)

    def validate(self) -> list[str]:
        out: list[str] = []
        if self.placement not in PLACEMENTS:
            out.append(f"placement: must be one of {list(PLACEMENTS)}, got {self.placement!r}")
        for name in ("underload", "switch_off", "ram_overcommit_check"):
            if not isinstance(getattr(self, name), bool):
                out.append(f"{name}: must be true or false, got {getattr(self, name)!r}")
        h = self.history_length
        if not (isinstance(h, int) and not isinstance(h, bool) and h >= 1):
            out.append(f"history_length: must be an integer >= 1, got {h!r}")
        for kind, name, params in (("detection", self.detection, self._detection_params()),
                                   ("selection", self.selection, self.selection_params)):
            try:
                pol = make(kind, name, params)
            except (KeyError, ValueError, TypeError) as e:
                out.append(f"{kind}: {e}")
                continue
            out += [f"{kind}_params.{m}" for m in getattr(pol, "validate", lambda: [])()]
        return out

    def _detection_params(self) -> dict[str, Any]:
        return {**CLOUDSIM_DETECTION_PARAMS.get(self.detection, {}), **self.detection_params}

    # ------------------------------------------------------------------------------------------- decide
    def decide(self, view: ClusterView, rng: np.random.Generator) -> Any:
        """Migrations and switch-offs for this step (a :class:`kumo.engine.Decision`), or None."""
        from kumo.engine import Decision  # the engine module imports the policies; import late

        mem = self._mem
        mem.demand = view.vm_cpu_demand  # one read-only view for the whole decision
        if not mem.ready:
            mem.detector = make("detection", self.detection, self._detection_params())
            mem.ols_weights = mem.detector.ols_weights() if hasattr(mem.detector, "ols_weights") else None
            mem.selector = make("selection", self.selection, self.selection_params)
            mem.vm_hist = np.zeros((view.vms.n, self.history_length))
            mem.ready = True
        self._record(view)
        plan = self._plan(view)
        cap = view.hosts.cpu_mhz
        # pinned VMs (passthrough, SR-IOV, containers without C/R) never move; a host holding one
        # cannot be drained either, since its VM count then exceeds its movable VMs
        running = np.flatnonzero((view.vm_state == VM_RUNNING) & view.vm_migratable)
        on_host = view.vm_host[running]
        over = plan.on & (plan.n_vms > 0) & self._overloaded(plan.used / cap, plan.hist)
        picked: list[tuple[int, int]] = []
        for h in np.flatnonzero(over).tolist():
            for vm in self._select(view, plan, h, running[on_host == h], rng):
                picked.append((vm, h))
        demand = view.vm_cpu_demand
        picked.sort(key=lambda p: -demand[p[0]])
        for vm, src in picked:
            t = self._find_host(view, plan, vm, src, over, wake=True)
            if t >= 0:
                self._move(view, plan, vm, src, t)
        n_over = len(plan.moves)
        if self.underload:
            self._underload(view, plan, running, on_host, over)
        off: list[int] = []
        if self.switch_off:
            empty = plan.on & (view.host_n_vms == 0) & ~plan.touched
            off = np.flatnonzero(empty).tolist()
        if not plan.moves and not off:
            return None
        causes = ["overload"] * n_over + ["underload"] * (len(plan.moves) - n_over)
        return Decision(migrations=plan.moves, switch_off=off, reason=f"{self.detection}-{self.selection}",
                        causes=causes)

    # ------------------------------------------------------------------------------------------- state
    def _record(self, view: ClusterView) -> None:
        mem = self._mem
        booked = view.vms.cpu_booked_mhz
        u = np.divide(view.vm_cpu_demand, booked, out=np.zeros(view.vms.n), where=booked > 0)
        mem.vm_hist[:, 1:] = mem.vm_hist[:, :-1]
        mem.vm_hist[:, 0] = u
        mem.filled = min(mem.filled + 1, self.history_length)

    def _host_hist(self, view: ClusterView, vms: np.ndarray, hosts: np.ndarray) -> np.ndarray:
        return host_history(self._mem.vm_hist[vms], view.vms.cpu_booked_mhz[vms], hosts, view.hosts.cpu_mhz,
                            view.hosts.n)

    def _plan(self, view: ClusterView) -> _Plan:
        placed = np.flatnonzero(view.vm_host >= 0)
        used = np.array(view.host_cpu_demand, dtype=np.float64)
        on = np.array(view.host_state != HOST_OFF)
        every = np.arange(view.hosts.n)
        hist = self._host_hist(view, placed, view.vm_host[placed])
        return _Plan(
            used=used,
            ram=np.array(view.host_ram_booked, dtype=np.float64),
            n_vms=np.array(view.host_n_vms, dtype=np.int64),
            hist=hist,
            on=on,
            touched=np.zeros(view.hosts.n, dtype=bool),
            p_now=self._power(view, every, used, on),
            p_stale=np.zeros(view.hosts.n, dtype=bool),
            hlen=trim_zero_tail(hist),
        )

    def _overloaded(self, util: np.ndarray, hist: np.ndarray) -> np.ndarray:
        return np.asarray(self._mem.detector.overloaded(util, hist, trim_zero_tail(hist)), dtype=bool)

    def _over_one(self, util: float, hist: np.ndarray) -> bool:
        n = int(trim_zero_tail(hist))
        return bool(self._mem.detector.overloaded_one(util, hist[:n]))

    def _vm_term(self, view: ClusterView, vm: int, host: int) -> np.ndarray:
        return self._mem.vm_hist[vm] * view.vms.cpu_booked_mhz[vm] / view.hosts.cpu_mhz[host]

    def _move(self, view: ClusterView, plan: _Plan, vm: int, src: int, dst: int) -> None:
        d = float(self._mem.demand[vm])
        r = float(view.vms.ram_booked_mb[vm])
        plan.used[src] -= d
        plan.used[dst] += d
        plan.ram[src] -= r
        plan.ram[dst] += r
        plan.n_vms[src] -= 1
        plan.n_vms[dst] += 1
        plan.hist[src] = np.maximum(plan.hist[src] - self._vm_term(view, vm, src), 0.0)
        plan.hist[dst] += self._vm_term(view, vm, dst)
        both = [src, dst]
        plan.hlen[both] = trim_zero_tail(plan.hist[both])
        plan.touched[both] = True
        plan.on[dst] = True
        plan.p_stale[both] = True
        plan.moves.append((vm, dst))

    # ------------------------------------------------------------------------------------------- steps
    def _select(self, view: ClusterView, plan: _Plan, h: int, vms: np.ndarray, rng: np.random.Generator) -> list[int]:
        if vms.size == 0:
            return []
        cap = float(view.hosts.cpu_mhz[h])
        det = self._mem.detector
        upper = getattr(det, "threshold", None) or getattr(det, "fallback_threshold", None)
        demand = view.vm_cpu_demand[vms]
        ctx = SelectionContext(
            vm_index=vms, ram_mb=view.vms.ram_booked_mb[vms], cpu_demand_mhz=demand,
            cpu_booked_mhz=view.vms.cpu_booked_mhz[vms], ram_demand_mb=view.vm_ram_demand[vms],
            ram_booked_mb=view.vms.ram_booked_mb[vms], history=self._mem.vm_hist[vms],
            hist_len=np.full(vms.size, self._mem.filled), host_cpu_mhz=cap,
            host_ram_mb=float(view.hosts.ram_mb[h]), host_cpu_used_mhz=float(plan.used[h]),
            host_ram_used_mb=float(view.host_ram_demand[h]), upper_cpu=upper, upper_ram=None)
        terms = self._mem.vm_hist[vms] * view.vms.cpu_booked_mhz[vms][:, None] / cap

        def still_over(removed: np.ndarray) -> bool:
            used = float(plan.used[h] - demand[removed].sum())
            return self._over_one(used / cap, np.maximum(plan.hist[h] - terms[removed].sum(axis=0), 0.0))

        return [int(vms[p]) for p in select_until_ok(self._mem.selector, ctx, rng, still_over)]

    def _find_host(self, view: ClusterView, plan: _Plan, vm: int, src: int, excluded: np.ndarray,
                   wake: bool) -> int:
        hosts = view.hosts
        cap = hosts.cpu_mhz
        d = float(self._mem.demand[vm])
        ok = ~excluded & (plan.used + d <= cap)
        ok[src] = False
        if not wake:
            ok &= plan.on
        if self.ram_overcommit_check:
            ok &= plan.ram + view.vms.ram_booked_mb[vm] <= hosts.ram_mb * hosts.ram_overcommit * (1 + 1e-12)
        cand = np.flatnonzero(ok)
        if cand.size == 0:
            return -1
        # one power evaluation: the candidates with the VM, and the hosts whose load changed since the last
        stale = np.flatnonzero(plan.p_stale)
        k = cand.size
        pw = self._power(view, np.concatenate([cand, stale]), np.concatenate([plan.used[cand] + d, plan.used[stale]]),
                         np.concatenate([np.ones(k, bool), plan.on[stale]]))
        if stale.size:
            plan.p_now[stale] = pw[k:]
            plan.p_stale[stale] = False
        score = score_hosts(self.placement, plan.used[cand], cap[cand], d, plan.p_now[cand], pw[:k])
        order = cand[np.lexsort((cand, score))]
        screened = self._first_passing_screened(view, plan, vm, order, d)
        if screened is not None:
            return screened
        # the detector (with the VM added) only has to clear the best-scored hosts: test them in growing chunks
        pos, chunk = 0, 8
        while pos < order.size:
            part = order[pos:pos + chunk]
            busy = plan.n_vms[part] > 0
            good = ~busy
            if busy.any():
                bh = part[busy]
                hist = plan.hist[bh] + self._mem.vm_hist[vm][None, :] * view.vms.cpu_booked_mhz[vm] / cap[bh][:, None]
                good[busy] = ~self._overloaded((plan.used[bh] + d) / cap[bh], hist)
            if good.any():
                return int(part[int(np.argmax(good))])
            pos += chunk
            chunk *= 4
        return -1

    def _first_passing_screened(self, view: ClusterView, plan: _Plan, vm: int, order: np.ndarray,
                                d: float) -> int | None:
        """The first host of ``order`` that the detector accepts with ``vm`` added, deciding all candidates at
        once: THR exactly; LR (and CloudSim's LRR) by the OLS screen (:meth:`ols_weights`), with the exact
        detector on the rows within 1e-9 of the threshold (and, for LRR, on every row the screen calls over).
        Same answer as testing the hosts one by one; None for detectors without a screen (IQR/MAD)."""
        det = self._mem.detector
        weights = self._mem.ols_weights
        if weights is None and not isinstance(det, StaticThreshold):
            return None
        busy = plan.n_vms[order] > 0
        if not busy.any():
            return int(order[0])
        bh = order[busy]
        cap = view.hosts.cpu_mhz[bh]
        util = (plan.used[bh] + d) / cap
        if weights is None:
            over = np.asarray(det.overloaded(util), dtype=bool)  # THR: exact as it stands
        else:
            # screen: the OLS prediction is linear in the history, so host part + VM part; the window length
            # of host + VM is the longer of the two (both are non-negative)
            w = weights.size
            vrow = self._mem.vm_hist[vm] * view.vms.cpu_booked_mhz[vm]
            pred = (plan.hist[bh, :w] @ weights + (vrow[:w] @ weights) / cap) * float(det.safety)
            hl = np.maximum(plan.hlen[bh], int(trim_zero_tail(vrow)))
            over = pred >= 1
            unsure = np.abs(pred - 1) <= 1e-9
            if det.ols_may_flip_over:
                unsure |= over
            short = hl < max(int(det.min_history), w)
            over = np.where(short, util > float(det.fallback_threshold), over)
            unsure &= ~short
            if unsure.any():
                u = np.flatnonzero(unsure)
                hist = plan.hist[bh[u]] + self._mem.vm_hist[vm][None, :] * view.vms.cpu_booked_mhz[vm] / cap[u, None]
                over[u] = np.asarray(det.overloaded(util[u], hist, trim_zero_tail(hist)), dtype=bool)
        good = np.ones(order.size, dtype=bool)
        good[busy] = ~over
        return int(order[int(np.argmax(good))]) if good.any() else -1

    def _power(self, view: ClusterView, hosts: np.ndarray, used: np.ndarray, on: np.ndarray) -> np.ndarray:
        from kumo.models.power import host_power_w

        h = view.hosts
        u = np.minimum(used / h.cpu_mhz[hosts], 1.0)
        return np.where(on, host_power_w(u, h.type_index[hosts], h.power_tables), 0.0)

    def _underload(self, view: ClusterView, plan: _Plan, running: np.ndarray, on_host: np.ndarray,
                   over: np.ndarray) -> None:
        moved = {vm for vm, _ in plan.moves}
        # emptying a host onto an empty one frees nothing: only hosts that already hold VMs are targets
        sources = plan.n_vms == 0
        util = plan.used / view.hosts.cpu_mhz
        for h in underload_order(util, plan.on & ~over & ~plan.touched & (plan.n_vms > 0)).tolist():
            if plan.touched[h]:
                continue
            vms = [int(v) for v in running[on_host == h] if int(v) not in moved]
            if len(vms) != plan.n_vms[h]:
                continue  # a VM is in flight to or from the host: leave it
            sources[h] = True
            saved = (plan.used.copy(), plan.ram.copy(), plan.n_vms.copy(), plan.hist.copy(), plan.touched.copy(),
                     plan.p_now.copy(), plan.p_stale.copy(), plan.hlen.copy(), len(plan.moves))
            excluded = over | sources
            ok = True
            demand = self._mem.demand
            for vm in sorted(vms, key=lambda v: -demand[v]):
                t = self._find_host(view, plan, vm, h, excluded, wake=False)
                if t < 0:
                    ok = False
                    break
                self._move(view, plan, vm, h, t)
            if not ok:
                plan.used, plan.ram, plan.n_vms, plan.hist, plan.touched, plan.p_now, plan.p_stale, plan.hlen, n = saved
                del plan.moves[n:]
            else:
                moved.update(vms)
