"""Dynamic VM consolidation for the general engine: overload detection, VM selection, PABFD, underload
evacuation and switch-off (Beloglazov & Buyya, CCPE 2012), in kumo's *realistic* reading.

One registered controller, ``consolidation``, composes the registered ``detection`` and ``selection``
policies with a host-choice rule (:class:`~kumo.policies.placement.Placer`: PABFD is the
``power-increase`` weigher; first, best and worst fit by CPU demand are the others) and CloudSim's
underload rule (:func:`underload_order`). Each decision, in this order:

1. **Overload**: the detector runs on every powered host with VMs (utilization = CPU demand / capacity; host
   history = Σ over the host's current VMs of their utilization history × booked MHz / host MHz, newest
   first, the last ``history_length`` decisions, zero tail trimmed — CloudSim's definition).
2. **Selection**: on each over-utilized host (lowest id first), VMs are picked one at a time and taken off
   the plan until the detector no longer flags the host (CloudSim's loop,
   :func:`kumo.policies.selection.select_until_ok`).
3. **Placement** of the picked VMs, largest CPU demand first, on the best-ranked feasible host: powered or
   not, not over-utilized, not the source, CPU demand after the move within capacity, bookings within the
   overcommit ratios, and for a host with VMs the detector must not flag it with the VM added. PABFD
   ranks by ``P(u_after) - P_now`` with ``P_now = 0`` for a host that is off, so waking a host costs its
   idle power.
4. **Underload**: powered hosts with 0 < utilization < 1 that neither sent nor received a VM this round,
   least utilized first: all their VMs are placed on other powered hosts that already hold VMs (not on
   sources, over-utilized hosts or empty hosts) or none is; a host that received VMs is never emptied in
   the same round.
5. **Switch-off**: powered hosts without VMs that receive none are switched off (with
   ``power_management.switch_off_idle`` the engine also switches off hosts emptied by finished migrations).

Differences from CloudSim's code paths are listed by the CloudSim study (``kumo.studies.cloudsim``). A VM
migrates at most once per decision, and one in flight is not a candidate. The utilization histories live
in the controller's memory (:class:`ConsolidationMemory`), which the engine keeps between decisions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kumo.policies import registry
from kumo.policies.base import HOST_OFF, VM_RUNNING, ClusterView, Decision, SelectionContext
from kumo.policies.detection import (
    InterQuartileRange,
    MedianAbsoluteDeviation,
    StaticThreshold,
    host_history,
    trim_zero_tail,
    trim_zero_tail_1d,
)
from kumo.policies.fused import FusedPabfd, _pick, compiled
from kumo.policies.placement import Placer
from kumo.policies.planning import PlannedCluster
from kumo.policies.registry import make, register
from kumo.policies.selection import select_until_ok
from kumo.policies.targets import TargetIndex
from kumo.policies.underload import BoundParts, empty_underloaded, underload_order

__all__ = ["CLOUDSIM_DETECTION_PARAMS", "PLACEMENTS", "Consolidation", "ConsolidationMemory", "underload_order"]

#: host-choice rules for migrated VMs, and the :data:`kumo.policies.placement.HOST_CHOICE` rule of each
PLACEMENTS = {"pabfd": "pabfd", "first-fit": "ff", "best-fit": "bf", "worst-fit": "wf"}
#: CloudSim's example parameters per detector (used when ``detection_params`` leaves them out)
CLOUDSIM_DETECTION_PARAMS: dict[str, dict[str, Any]] = {
    "thr": {"threshold": 0.8},
    "iqr": {"safety": 1.5},
    "mad": {"safety": 2.5},
    "lr": {"safety": 1.2},
    "lrr": {"safety": 1.2},
}


@dataclass
class ConsolidationMemory:
    """What the ``consolidation`` controller keeps between decisions (owned by the engine).

    ``vm_hist`` (n_vms, H): each VM's CPU utilization (fraction of its booking) at the last H decisions,
    newest first; ``filled``: decisions recorded (<= H; the columns at or past it are still the initial 0.0).
    ``detector``, ``selector`` and ``placer`` are the parts built from the controller's parameters, once.
    """

    detector: Any
    selector: Any
    placer: Placer
    vm_hist: np.ndarray
    ols_weights: np.ndarray | None = None
    filled: int = 0
    fused: FusedPabfd | None = None  #: the decision's one-pass host choice, when the placer allows it
    #: vm -> (valid length, OLS dot product) of its history x booked MHz, for this decision
    vm_ols: dict[int, tuple[int, float]] = field(default_factory=dict)
    #: vm -> (its history x booked MHz, a host's MHz, their quotient), for this decision (the adaptive
    #: detectors' one-host checks)
    vm_rows: dict[int, tuple[np.ndarray, float, np.ndarray]] = field(default_factory=dict)
    #: the compiled IQR/MAD check's constant arguments for this decision (``_pick.adaptive_first``), or None
    adaptive: tuple[Any, ...] | None = None
    one: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))  #: a one-host order for it
    #: the host MHz for the compiled update of the host histories in a move (``_pick.move_rows``), or None
    rows_args: np.ndarray | None = None
    #: (pnow, planned used MHz, slope, idle W, max W) for the compiled move to update the power now, or None
    power_args: tuple[Any, ...] | None = None
    #: which filters the underload round's certain-to-fail checks use (speed only: the same decisions)
    bound_parts: BoundParts = field(default_factory=BoundParts)


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
    placement : host choice for migrated VMs, one of :data:`PLACEMENTS`.
    underload : empty under-utilized hosts (all VMs or none) so they can be switched off.
    switch_off : switch off powered hosts that have no VM.
    history_length : decisions of VM utilization history kept (CloudSim: 30).
    ram_overcommit_check : refuse a target whose booked RAM would exceed ``ram_mb x ram_overcommit``.
    cpu_overcommit_check : refuse a target whose booked CPU would exceed ``cpu_mhz x cpu_overcommit``.
    carbon_above : carbon-aware consolidation timing: run the underload round (emptying hosts to switch
        them off) only while the grid's intensity is at least this many gCO2/kWh (None: always). When the
        grid is clean, energy saved is worth less carbon, so hosts stay spread out for performance.
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
    cpu_overcommit_check: bool = True
    carbon_above: float | None = None

    def validate(self) -> list[str]:
        out: list[str] = []
        if self.placement not in PLACEMENTS:
            out.append(f"placement: must be one of {list(PLACEMENTS)}, got {self.placement!r}")
        for name in ("underload", "switch_off", "ram_overcommit_check", "cpu_overcommit_check"):
            if not isinstance(getattr(self, name), bool):
                out.append(f"{name}: must be true or false, got {getattr(self, name)!r}")
        h = self.history_length
        if not (isinstance(h, int) and not isinstance(h, bool) and h >= 1):
            out.append(f"history_length: must be an integer >= 1, got {h!r}")
        c = self.carbon_above
        if c is not None and not (isinstance(c, int | float) and not isinstance(c, bool) and 0 <= c < 1e5):
            out.append(f"carbon_above: must be a number of gCO2/kWh >= 0 or None, got {c!r}")
        for kind, name, params in (("detection", self.detection, self._detection_params()),
                                   ("selection", self.selection, self.selection_params)):
            try:
                pol = make(kind, name, params)
            except (KeyError, ValueError, TypeError) as e:
                out.append(f"{kind}: {e}")
                continue
            out += [f"{kind}_params.{m}" for m in registry.validate(pol)]
        return out

    def _detection_params(self) -> dict[str, Any]:
        return {**CLOUDSIM_DETECTION_PARAMS.get(self.detection, {}), **self.detection_params}

    def init_memory(self, view: ClusterView) -> ConsolidationMemory:
        detector = make("detection", self.detection, self._detection_params())
        filters: list[str] = ["cpu-demand"]
        if self.ram_overcommit_check:
            filters.append("ram-booking")
        if self.cpu_overcommit_check:
            filters.append("cpu-booking")
        return ConsolidationMemory(
            detector=detector,
            selector=make("selection", self.selection, self.selection_params),
            placer=Placer.preset(PLACEMENTS[self.placement], resource="cpu", filters=filters),
            vm_hist=np.zeros((view.vms.n, self.history_length)),
            ols_weights=detector.ols_weights() if hasattr(detector, "ols_weights") else None,
        )

    # ------------------------------------------------------------------------------------------- decide
    def decide(self, view: ClusterView, memory: ConsolidationMemory, rng: np.random.Generator) -> Decision | None:
        """Migrations and switch-offs for this decision, or None."""
        mem = memory
        self._record(view, mem)
        plan = self._plan(view, mem)
        mem.fused = FusedPabfd.build(mem.placer, view)
        mem.vm_ols = {}
        mem.vm_rows = {}
        mem.adaptive = self._adaptive_args(view, plan, mem)
        hist, hlen = plan.extras["hist"], plan.extras["hlen"]
        vh = mem.vm_hist  # its rows go to the compiled code as they are
        mem.rows_args = (np.ascontiguousarray(view.hosts.cpu_mhz, dtype=np.float64) if compiled()
                         and hist.dtype == np.float64 and hist.flags.c_contiguous and hlen.dtype == np.int64
                         and hlen.flags.c_contiguous and vh.dtype == np.float64 and vh.flags.c_contiguous else None)
        mem.power_args = None
        if mem.fused is not None and mem.rows_args is not None:  # each host's power now, kept by the moves
            pnow = mem.fused.track_power(plan)
            if pnow is not None:
                mem.power_args = (pnow, plan.used_c, *mem.fused.lin)  # type: ignore[misc]
        plan.kernel = self._kernel(view, plan, mem)
        cap = view.hosts.cpu_mhz
        # pinned VMs (passthrough, SR-IOV, containers without C/R) never move; a host holding one
        # cannot be drained either, since its VM count then exceeds its movable VMs
        running = np.flatnonzero((view.vm_state == VM_RUNNING) & view.vm_migratable)
        on_host = view.vm_host[running]
        hist = plan.extras["hist"]
        over = plan.on & (plan.n_vms > 0) & self._overloaded(mem, plan.used_c / cap, hist)
        index = TargetIndex(mem.placer, plan)  # rooms now bound every target's room for this decision
        picked: list[tuple[int, int]] = []
        over_hosts = np.flatnonzero(over)
        if over_hosts.size:
            by = np.argsort(on_host, kind="stable")
            starts = np.searchsorted(on_host[by], over_hosts, side="left")
            ends = np.searchsorted(on_host[by], over_hosts, side="right")
            for h, a, b in zip(over_hosts.tolist(), starts.tolist(), ends.tolist(), strict=True):
                for vm in self._select(view, plan, mem, h, running[by[a:b]], rng):
                    picked.append((vm, h))
        demand = view.vm_cpu_demand
        picked.sort(key=lambda p: -demand[p[0]])
        for vm, src in picked:
            t = self._find_host(view, plan, mem, vm, src, over, True, index)
            if t >= 0:
                self._move(view, plan, mem, vm, src, t)
        n_over = len(plan.moves)
        if self.underload and (self.carbon_above is None or view.carbon_g_per_kwh >= self.carbon_above):
            empty_underloaded(view, plan, index, running, on_host, over,
                              # the round's ``excluded`` holds every host that is off: waking none, as False
                              lambda vm, src, excluded, idx: self._find_host(view, plan, mem, vm, src, excluded,
                                                                              True, idx),
                              lambda vm, src, dst: self._move(view, plan, mem, vm, src, dst), mem.bound_parts)
        plan.kernel = None  # its arrays' buffers go with it
        off: list[int] = []
        if self.switch_off:
            empty = plan.on & (view.host_n_vms == 0) & ~plan.touched
            off = np.flatnonzero(empty).tolist()
        if not plan.moves and not off:
            return None
        causes = ["overload"] * n_over + ["underload"] * (len(plan.moves) - n_over)
        wake = sorted({dst for _, dst in plan.moves if view.host_state[dst] == HOST_OFF})
        return Decision(migrations=plan.moves, switch_off=off, power_on=wake,
                        reason=f"{self.detection}-{self.selection}", causes=causes)

    # ------------------------------------------------------------------------------------------- state
    def _record(self, view: ClusterView, mem: ConsolidationMemory) -> None:
        booked = view.vms.cpu_booked_mhz
        u = np.divide(view.vm_cpu_demand, booked, out=np.zeros(view.vms.n), where=booked > 0)
        mem.vm_hist[:, 1:] = mem.vm_hist[:, :-1]
        mem.vm_hist[:, 0] = u
        mem.filled = min(mem.filled + 1, self.history_length)

    def _plan(self, view: ClusterView, mem: ConsolidationMemory) -> PlannedCluster:
        placed = np.flatnonzero(view.vm_host >= 0)
        hist = host_history(mem.vm_hist[placed], view.vms.cpu_booked_mhz[placed], view.vm_host[placed],
                            view.hosts.cpu_mhz, view.hosts.n)
        plan = PlannedCluster(view)
        plan.extras["hist"] = hist  # (n_hosts, H) host utilization history
        plan.extras["hlen"] = trim_zero_tail(hist)  # its valid length per host, kept up to date by _move
        return plan

    def _overloaded(self, mem: ConsolidationMemory, util: np.ndarray, hist: np.ndarray) -> np.ndarray:
        return np.asarray(mem.detector.overloaded(util, hist, trim_zero_tail(hist)), dtype=bool)

    def _over_one(self, mem: ConsolidationMemory, util: float, hist: np.ndarray) -> bool:
        n = trim_zero_tail_1d(hist)
        det = mem.detector
        if hasattr(det, "overloaded_one"):
            return bool(det.overloaded_one(util, hist[:n]))
        return bool(np.asarray(det.overloaded(np.array([util]), hist[None, :], np.array([n])))[0])

    def _kernel(self, view: ClusterView, plan: PlannedCluster, mem: ConsolidationMemory) -> Any:
        """This decision's compiled kernel (``_pick.Kernel``: the host choice, the IQR/MAD check and the moves
        over arrays held for the decision), or None where the separate calls (or Python) do the work: no
        compiled loop or history rows, a plan with a ceiling, extras of another kind, VM arrays not float64."""
        fused = mem.fused
        if fused is None or fused.kernel is None or mem.rows_args is None or plan.room is not None \
                or not set(plan.extras) <= {"hist", "hlen", "pnow"}:
            return None
        vms = (plan.vm_c, plan.vm_r, view.vms.cpu_booked_mhz, view.vms.ram_booked_mb)
        if not all(a.dtype == np.float64 and a.flags.c_contiguous for a in vms):
            return None
        cap, ld, lr, lc = fused.kernel
        slope, w0, w1 = fused.lin  # type: ignore[misc]
        check = (0, 0.0, 0.0, 0) if mem.adaptive is None else mem.adaptive[4:8]
        pnow = plan.extras.get("pnow") if mem.power_args is not None else None
        if pnow is None and "pnow" in plan.extras:
            return None
        return _pick.kernel(plan.used_c, plan.used_r, plan.book_c, plan.book_r, plan.n_vms, plan.on, plan.touched,
                            *vms, cap, ld, lr, lc, slope, w0, w1, fused.m, fused.out_hosts, fused.out_total, pnow,
                            plan.extras["hist"], plan.extras["hlen"], mem.vm_hist, mem.filled, *check)

    def _move(self, view: ClusterView, plan: PlannedCluster, mem: ConsolidationMemory, vm: int, src: int,
              dst: int) -> None:
        plan.move(vm, src, dst)
        if plan.kernel is not None:
            return  # the kernel's move updated the two host rows and their power now too
        hist = plan.extras["hist"]
        hlen = plan.extras["hlen"]
        if mem.rows_args is not None:  # compiled: the same operations on the two rows
            # the VM's history x its booked MHz is multiplied in C, as numpy would
            _pick.move_rows(hist, hlen, mem.rows_args, mem.vm_hist[vm], src, dst, mem.filled,
                            *(mem.power_args or (None, None, 0.0, 0.0, 0.0)), float(view.vms.cpu_booked_mhz[vm]))
            return
        row = mem.vm_hist[vm] * view.vms.cpu_booked_mhz[vm]  # each term is (u x MHz) / host MHz
        cap = view.hosts.cpu_mhz
        # entries at or past mem.filled are 0.0 in every VM's history (zeros shifted in), so in every host's
        h = hist[src]
        np.maximum(h - row / cap[src], 0.0, out=h)
        hlen[src] = trim_zero_tail_1d(h, mem.filled)
        h = hist[dst]
        h += row / cap[dst]
        hlen[dst] = trim_zero_tail_1d(h, mem.filled)

    # ------------------------------------------------------------------------------------------- steps
    def _select(self, view: ClusterView, plan: PlannedCluster, mem: ConsolidationMemory, h: int, vms: np.ndarray,
                rng: np.random.Generator) -> list[int]:
        if vms.size == 0:
            return []
        cap = float(view.hosts.cpu_mhz[h])
        det = mem.detector
        upper = getattr(det, "threshold", None) or getattr(det, "fallback_threshold", None)
        demand = view.vm_cpu_demand[vms]
        ctx = SelectionContext(
            vm_index=vms, ram_mb=view.vms.ram_booked_mb[vms], cpu_demand_mhz=demand,
            cpu_booked_mhz=view.vms.cpu_booked_mhz[vms], ram_demand_mb=view.vm_ram_demand[vms],
            ram_booked_mb=view.vms.ram_booked_mb[vms], history=mem.vm_hist[vms],
            hist_len=np.full(vms.size, mem.filled), host_cpu_mhz=cap,
            host_ram_mb=float(view.hosts.ram_mb[h]), host_cpu_used_mhz=float(plan.used_c[h]),
            host_ram_used_mb=float(view.host_ram_demand[h]), upper_cpu=upper, upper_ram=None)
        terms = mem.vm_hist[vms] * view.vms.cpu_booked_mhz[vms][:, None] / cap
        hist = plan.extras["hist"]

        def still_over(removed: np.ndarray) -> bool:
            used = float(plan.used_c[h] - demand[removed].sum())
            return self._over_one(mem, used / cap, np.maximum(hist[h] - terms[removed].sum(axis=0), 0.0))

        return [int(vms[p]) for p in select_until_ok(mem.selector, ctx, rng, still_over)]

    def _find_host(self, view: ClusterView, plan: PlannedCluster, mem: ConsolidationMemory, vm: int, src: int,
                   excluded: np.ndarray, wake: bool, index: TargetIndex) -> int:
        # the hosts not excluded (powered unless waking one is allowed) that pass the filters, best first;
        # the index's candidates hold every host that can pass, so the filters need only decide on them
        k = plan.kernel
        if k is not None:  # the same calls as below, through this decision's kernel
            arr, start = index.candidates_at(plan, vm)
            if mem.adaptive is not None:
                chosen = k.choose(arr, start, excluded, vm, src, wake)
                if chosen is not None:
                    return int(chosen)
            else:
                got = k.best(arr, start, excluded, vm, src, wake)
                if got is not None:
                    return self._after_best(view, plan, mem, vm, got)
            cand = arr[start:]
        else:
            cand = index.candidates(plan, vm)
        fused = mem.fused
        if k is not None:
            pass  # handed back: the Python path decides
        elif fused is not None and fused.kernel is not None and mem.adaptive is not None:
            # host choice and IQR/MAD check in one compiled call (None: handed back, the Python path decides)
            n_vms, _used, _cap, hist, mode, safety, fallback, min_history = mem.adaptive
            chosen = fused.choose(plan, vm, cand, excluded, src, wake,
                                  (n_vms, hist, mem.vm_hist[vm], mem.filled, mode, safety, fallback, min_history,
                                   float(view.vms.cpu_booked_mhz[vm])))  # the VM's history x its MHz, in C
            if chosen is not None:
                return int(chosen)
        elif fused is not None and fused.kernel is not None:
            # the compiled loop: the best host and how many pass, without the arrays; the ranked order is
            # only needed when the detector refuses the best host
            got = fused.best(plan, vm, cand, excluded, src, wake)
            if got is not None:
                return self._after_best(view, plan, mem, vm, got)
        keep = ~excluded[cand]
        if not wake:
            keep &= plan.on[cand]
        if not excluded[src]:
            keep &= cand != src
        cand = cand[keep]
        total: np.ndarray | None
        if mem.fused is not None:
            hosts, total = mem.fused.feasible_total(plan, vm, cand)
        else:
            hosts = cand[mem.placer.feasible_at(plan, vm, cand)] if cand.size else cand
            total = None
        if hosts.size <= 1:
            return self._first_accepted(view, plan, mem, vm, hosts) if hosts.size else -1
        # the best-ranked host is nearly always accepted: try it alone before ranking the rest
        if total is None:
            total = mem.placer.total_at(plan, vm, hosts)
        best = int(hosts[total == total.max()].min())  # ties to the lowest index, as rank
        if self._accepts(view, plan, mem, vm, best):
            return best
        order = hosts[np.lexsort((hosts, -total))]
        return self._first_accepted(view, plan, mem, vm, order[1:])

    def _after_best(self, view: ClusterView, plan: PlannedCluster, mem: ConsolidationMemory, vm: int,
                    got: tuple[int, int]) -> int:
        """The host for ``vm`` from the compiled loop's ``(best, n_ok)`` (the hosts that pass and their totals
        are in ``mem.fused.out_hosts``/``out_total``): the best if the detector accepts it, else the others,
        best first."""
        best, n_ok = got
        if n_ok <= 1:
            return self._first_accepted(view, plan, mem, vm, np.array([best])) if n_ok else -1
        if self._accepts(view, plan, mem, vm, best):
            return best
        fused = mem.fused
        assert fused is not None
        if mem.adaptive is not None:  # the rest, ranked and checked in the compiled loop
            n_vms, used, cap_a, hist, mode, safety, fallback, min_history = mem.adaptive
            ranked = _pick.adaptive_ranked(fused.out_hosts, fused.out_total, n_ok, best, n_vms, used, cap_a,
                                           hist, self._vm_row(view, mem, vm), float(view.vm_cpu_demand[vm]),
                                           mem.filled, mode, safety, fallback, min_history)
            if ranked is not None:
                return int(ranked)
        ok_hosts, ok_total = fused.last(n_ok)
        return self._first_accepted(view, plan, mem, vm, ok_hosts[np.lexsort((ok_hosts, -ok_total))][1:])

    def _accepts(self, view: ClusterView, plan: PlannedCluster, mem: ConsolidationMemory, vm: int, h: int) -> bool:
        """Whether the detector accepts ``vm`` on host ``h``, as :meth:`_first_accepted` decides for a host, in
        scalar arithmetic: THR as it stands, the OLS screen with the exact detector within 1e-9 of the
        threshold, the others exact (``overloaded_one``, the rows' arithmetic value by value)."""
        det = mem.detector
        weights = mem.ols_weights
        if plan.n_vms[h] == 0:
            return True  # an empty host takes any VM that passes the filters
        cap = float(view.hosts.cpu_mhz[h])
        util = (float(plan.used_c[h]) + float(view.vm_cpu_demand[vm])) / cap
        if isinstance(det, StaticThreshold):
            return not util > det.threshold
        hist = plan.extras["hist"]
        if weights is not None:
            w = weights.size
            vpart = mem.vm_ols.get(vm)
            if vpart is None:  # the VM's own part: its valid length and its OLS dot product, once a decision
                vrow = mem.vm_hist[vm] * view.vms.cpu_booked_mhz[vm]
                vpart = mem.vm_ols[vm] = (trim_zero_tail_1d(vrow, mem.filled), float(vrow[:w] @ weights))
            if max(int(plan.extras["hlen"][h]), vpart[0]) < max(int(det.min_history), w):
                return not util > float(det.fallback_threshold)
            pred = (float(hist[h, :w] @ weights) + vpart[1] / cap) * float(det.safety)
            over = pred >= 1
            if not (abs(pred - 1) <= 1e-9 or (det.ols_may_flip_over and over)):
                return not over
        if mem.adaptive is not None:
            mem.one[0] = h
            got = self._adaptive_first(view, plan, mem, vm, mem.one)
            if got is not None:
                return got >= 0
        if weights is None and hasattr(det, "overloaded_floats"):
            # the same history as below, as Python floats, trimmed from ``filled`` (the entries past it are 0.0)
            part = mem.vm_rows.get(vm)  # (its row x MHz, the last host MHz, the row / that MHz)
            if part is None or part[1] != cap:
                vrow = mem.vm_hist[vm] * view.vms.cpu_booked_mhz[vm] if part is None else part[0]
                part = mem.vm_rows[vm] = (vrow, cap, vrow / cap)
            row = (hist[h] + part[2]).tolist()
            n = min(mem.filled, len(row))
            while n and row[n - 1] == 0.0:
                n -= 1
            return not det.overloaded_floats(util, row[:n] if n else row[:1])
        return not self._over_one(mem, util, hist[h] + mem.vm_hist[vm] * view.vms.cpu_booked_mhz[vm] / cap)

    def _first_accepted(self, view: ClusterView, plan: PlannedCluster, mem: ConsolidationMemory, vm: int,
                        order: np.ndarray) -> int:
        """The first host of ``order`` (feasible hosts, best first) whose detector accepts ``vm``, or -1."""
        if mem.adaptive is not None:
            got = self._adaptive_first(view, plan, mem, vm, order)
            if got is not None:
                return got
        d = float(view.vm_cpu_demand[vm])
        screened = self._first_passing_screened(view, plan, mem, vm, order, d)
        if screened is not None:
            return screened
        # the detector (with the VM added) only has to clear the best-ranked hosts: test them in growing chunks,
        # the first chunk one host at a time with the detector's scalar form when it has one (same answers)
        pos, chunk = 0, 8
        if hasattr(mem.detector, "overloaded_one"):
            for h in order[:chunk].tolist():
                if self._accepts(view, plan, mem, vm, h):
                    return int(h)
            pos, chunk = chunk, chunk * 4
        cap = view.hosts.cpu_mhz
        hist = plan.extras["hist"]
        while pos < order.size:
            part = order[pos:pos + chunk]
            busy = plan.n_vms[part] > 0
            good = ~busy
            if busy.any():
                bh = part[busy]
                h2 = hist[bh] + mem.vm_hist[vm][None, :] * view.vms.cpu_booked_mhz[vm] / cap[bh][:, None]
                good[busy] = ~self._overloaded(mem, (plan.used_c[bh] + d) / cap[bh], h2)
            if good.any():
                return int(part[int(np.argmax(good))])
            pos += chunk
            chunk *= 4
        return -1

    def _adaptive_args(self, view: ClusterView, plan: PlannedCluster, mem: ConsolidationMemory) -> tuple[Any, ...] | None:
        """The compiled IQR/MAD check's arguments that hold for the whole decision, or None where it does not
        apply (another detector, a subclass, no compiled module, a history that is not a C-contiguous array)."""
        det = mem.detector
        mode = {InterQuartileRange: 1, MedianAbsoluteDeviation: 2}.get(type(det))
        hist = plan.extras["hist"]
        if mode is None or not compiled() or mem.ols_weights is not None or hist.dtype != np.float64 \
                or not hist.flags.c_contiguous or hist.shape[1] > 4096 \
                or mem.vm_hist.dtype != np.float64 or not mem.vm_hist.flags.c_contiguous:
            return None
        return (plan.n_vms, plan.used_c, np.ascontiguousarray(view.hosts.cpu_mhz, dtype=np.float64), hist, mode,
                float(det.safety), float(det.fallback_threshold), int(det.min_history))

    def _adaptive_first(self, view: ClusterView, plan: PlannedCluster, mem: ConsolidationMemory, vm: int,
                        order: np.ndarray) -> int | None:
        """The first host of ``order`` whose IQR/MAD detector accepts ``vm`` (-1 if none), decided by the compiled
        check (``_pick.adaptive_first``: the scalar form's arithmetic, one host at a time), or None when it hands
        the call back (a value that is not finite)."""
        n_vms, used, cap, hist, mode, safety, fallback, min_history = mem.adaptive  # type: ignore[misc]
        return _pick.adaptive_first(order, n_vms, used, cap, hist, self._vm_row(view, mem, vm),
                                    float(view.vm_cpu_demand[vm]), mem.filled, mode, safety, fallback, min_history)

    @staticmethod
    def _vm_row(view: ClusterView, mem: ConsolidationMemory, vm: int) -> np.ndarray:
        """``vm``'s history x booked MHz (each term of a host row is that over the host's MHz), once a decision."""
        part = mem.vm_rows.get(vm)
        if part is None:
            vrow = mem.vm_hist[vm] * view.vms.cpu_booked_mhz[vm]
            part = mem.vm_rows[vm] = (vrow, np.nan, vrow)
        return part[0]

    def _first_passing_screened(self, view: ClusterView, plan: PlannedCluster, mem: ConsolidationMemory, vm: int,
                                order: np.ndarray, d: float) -> int | None:
        """The first host of ``order`` that the detector accepts with ``vm`` added, deciding all candidates at
        once: THR exactly; LR (and CloudSim's LRR) by the OLS screen (``ols_weights``), with the exact
        detector on the rows within 1e-9 of the threshold (and, for LRR, on every row the screen calls over).
        Same answer as testing the hosts one by one; None for detectors without a screen (IQR/MAD)."""
        det = mem.detector
        weights = mem.ols_weights
        if weights is None and not isinstance(det, StaticThreshold):
            return None
        busy = plan.n_vms[order] > 0
        if not busy.any():
            return int(order[0])
        bh = order[busy]
        cap = view.hosts.cpu_mhz[bh]
        util = (plan.used_c[bh] + d) / cap
        hist = plan.extras["hist"]
        if weights is None:
            over = np.asarray(det.overloaded(util), dtype=bool)  # THR: exact as it stands
        else:
            # screen: the OLS prediction is linear in the history, so host part + VM part; the window length
            # of host + VM is the longer of the two (both are non-negative)
            w = weights.size
            vrow = mem.vm_hist[vm] * view.vms.cpu_booked_mhz[vm]
            pred = (hist[bh, :w] @ weights + (vrow[:w] @ weights) / cap) * float(det.safety)
            hl = np.maximum(plan.extras["hlen"][bh], int(trim_zero_tail(vrow)))
            over = pred >= 1
            unsure = np.abs(pred - 1) <= 1e-9
            if det.ols_may_flip_over:
                unsure |= over
            short = hl < max(int(det.min_history), w)
            over = np.where(short, util > float(det.fallback_threshold), over)
            unsure &= ~short
            if unsure.any():
                u = np.flatnonzero(unsure)
                h2 = hist[bh[u]] + mem.vm_hist[vm][None, :] * view.vms.cpu_booked_mhz[vm] / cap[u, None]
                over[u] = np.asarray(det.overloaded(util[u], h2, trim_zero_tail(h2)), dtype=bool)
        good = np.ones(order.size, dtype=bool)
        good[busy] = ~over
        return int(order[int(np.argmax(good))]) if good.any() else -1
