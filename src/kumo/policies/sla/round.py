"""One decision of the ``sla`` controller (:class:`Round`) and what it remembers between decisions
(:class:`SlaMemory`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from kumo.policies.base import ClusterView, SelectionContext
from kumo.policies.placement import Placer
from kumo.policies.planning import PlannedCluster
from kumo.policies.sla import guard

if TYPE_CHECKING:
    from kumo.policies.sla.controller import SlaScheduler


@dataclass
class SlaMemory:
    """What the ``sla`` controller keeps between decisions (owned by the engine).

    Attributes
    ----------
    selector : the VM selection policy (None for the FF baseline, which takes VMs in placement order).
    placer, waker, balancer : host choice for relief and EE (the ``host_selection`` rule), for a VM that
        must power a host on (first fit among the off hosts), and for LB (the least-loaded host).
    placed_at : (n_vms,) step each VM arrived on its current host (FF's placement order, cool-downs).
    on_since, was_on : (n_hosts,) step each host was last switched on, and whether it was on at the last
        decision.
    vm_hist, host_hist : (T, n) CPU demand, MHz, of the last T decisions (ring buffers, OP only);
        ``pos`` the next row, ``filled`` the valid rows.
    ut_window, ut_spent : the uptime guard's current window and downtime booked per VM in it, s.
    """

    selector: Any
    placer: Placer
    waker: Placer
    balancer: Placer
    placed_at: np.ndarray
    on_since: np.ndarray
    was_on: np.ndarray
    vm_hist: np.ndarray
    host_hist: np.ndarray
    pos: int = 0
    filled: int = 0
    ut_window: int = -1
    ut_spent: np.ndarray | None = None


class Round:
    """One decision in progress: the controller's parameters, the view, the plan, the memory, the RNG.

    The parts (:func:`~kumo.policies.sla.extensions.balance`, :func:`~kumo.policies.sla.extensions.consolidate`)
    work through its public methods.
    """

    def __init__(self, ctl: SlaScheduler, view: ClusterView, plan: PlannedCluster, mem: SlaMemory,
                 rng: np.random.Generator):
        self.ctl, self.view, self.plan, self.mem, self.rng = ctl, view, plan, mem, rng

    def candidates(self, vms: np.ndarray, strict: bool = False) -> np.ndarray:
        """The VMs of a host that may move, in host-list order (earliest arrival first). With the uptime
        guard, VMs whose migration would break their uptime SLO are left out; unless ``strict``, they
        come back when no other VM is left (relieving the overload outranks one uptime break)."""
        plan, ctl = self.plan, self.ctl
        if plan.moved:
            vms = vms[[v not in plan.moved for v in vms.tolist()]]
        if ctl.uptime_guard and len(vms):
            ok = ~guard.protected(ctl, self.mem, vms)
            if ok.any() or strict:
                vms = vms[ok]
        return vms[np.lexsort((vms, self.mem.placed_at[vms]))]

    def context(self, h: int, cand: np.ndarray, upper: tuple[float, float] | None = None) -> SelectionContext:
        """The selection context of host ``h`` with candidates ``cand``, at the planned loads."""
        ctl, plan, vms = self.ctl, self.plan, self.view.vms
        up_c, up_r = upper if upper is not None else (ctl.upper_cpu, ctl.upper_ram)
        return SelectionContext(
            vm_index=cand, ram_mb=vms.ram_booked_mb[cand], cpu_demand_mhz=plan.vm_c[cand],
            cpu_booked_mhz=vms.cpu_booked_mhz[cand], ram_demand_mb=plan.vm_r[cand],
            ram_booked_mb=vms.ram_booked_mb[cand], history=np.zeros((len(cand), 0)),
            hist_len=np.zeros(len(cand), np.int64), host_cpu_mhz=float(plan.cap_c[h]),
            host_ram_mb=float(plan.cap_r[h]), host_cpu_used_mhz=float(plan.used_c[h]),
            host_ram_used_mb=float(plan.used_r[h]), upper_cpu=up_c, upper_ram=up_r)

    def target(self, vm: int, src: int) -> int:
        """The host ``vm`` goes to by the ``host_selection`` rule among the powered hosts it fits, or -1."""
        plan = self.plan
        ok = plan.fits(vm, src, plan.on)
        return self.mem.placer.choose(plan, vm, ok, self.rng)

    def move(self, vm: int, src: int, power_on: bool) -> bool:
        """Plan ``vm`` off ``src``: to :meth:`target`, else (``power_on``) to the lowest-index off host it
        fits. False when it fits nowhere."""
        plan = self.plan
        dst = self.target(vm, src)
        if dst < 0 and power_on:
            dst = self.mem.waker.choose(plan, vm, plan.fits(vm, src, ~plan.on))
        if dst < 0:
            return False
        plan.move(vm, src, dst)
        return True

    def relieve(self, h: int, vms: np.ndarray) -> None:
        """Overload relief on host ``h`` (its movable VMs ``vms``): the selection rule picks VMs until the
        host is under both thresholds (at most ``max_moves_per_host``), each moved by :meth:`move`."""
        ctl, plan = self.ctl, self.plan
        strict = ctl.uptime_guard_relief == "never" or (ctl.uptime_guard_relief == "over-capacity" and not (
            plan.used_c[h] > plan.cap_c[h] or plan.used_r[h] > plan.cap_r[h]))
        cand = self.candidates(vms, strict=strict)
        if not len(cand):
            return
        if ctl.selection == "ff":
            # placement order until the host is under both thresholds (§3.4)
            left_c = plan.used_c[h] - np.cumsum(plan.vm_c[cand])
            left_r = plan.used_r[h] - np.cumsum(plan.vm_r[cand])
            ok = (left_c <= ctl.upper_cpu * plan.cap_c[h]) & (left_r <= ctl.upper_ram * plan.cap_r[h])
            n = len(cand) if ctl.ff_evict == "all" or not ok.any() else int(np.argmax(ok)) + 1
            picks = list(range(n))
        elif ctl.max_moves_per_host is None:
            picks = self.mem.selector.pick_set(self.context(h, cand), self.rng, ctl.upper_cpu,
                                               ctl.upper_ram).tolist()
        else:
            picks = self._first_picks(self.context(h, cand), ctl.max_moves_per_host)
        if ctl.max_moves_per_host is not None and not (ctl.selection == "ff" and ctl.ff_evict == "all"):
            picks = picks[: ctl.max_moves_per_host]
        for p in picks:
            self.move(int(cand[p]), h, power_on=True)

    def _first_picks(self, ctx: SelectionContext, k: int) -> list[int]:
        """The first ``k`` positions ``pick_set`` would return (pick, remove, re-test), without computing the
        rest of the set."""
        orig = np.arange(ctx.k)
        out: list[int] = []
        while len(out) < k and ctx.k and ctx.is_overloaded(self.ctl.resources):
            p = self.mem.selector.pick(ctx, self.rng)
            if p < 0:
                break
            out.append(int(orig[p]))
            orig = np.delete(orig, p)
            ctx = ctx.without([p])
        return out
