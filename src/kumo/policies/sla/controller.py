"""The ``sla`` controller: Kohne's SLA-based intra-data-center scheduler, with its parts as parameters.

VM selection on overloaded hosts (``hpg``, ``mm`` from :mod:`kumo.policies.selection` with two resources,
or ``ff``, the naive placement-order baseline), host selection (``bf``, ``wf``, ``ff``, ``op``: presets of
:data:`kumo.policies.placement.HOST_CHOICE` by current demand), the LB extension and the EE extension.
Source: A. Kohne, *Cloud-Föderationen: SLA-basierte VM-Scheduling-Verfahren*, Springer Vieweg 2018, Table
10.10; the algorithms follow the reconstruction in ``shared/reference/kohne-sla-scheduling.md`` §3, whose
unknowns ([A] there) are the defaults here, alternatives selectable:

* overload (§3.3): a powered-on host whose CPU or RAM use / capacity exceeds ``upper_cpu`` / ``upper_ram``;
  the load of a VM migrating out no longer counts on its source while planning. The selection rule picks
  VMs until the host is under both thresholds (``max_moves_per_host`` caps the VMs one host may send away
  per decision; the rest waits for the next);
* target filter (§3.5): on, not the source, bookings within the hosts' overcommit ratios, use after the move
  <= the upper thresholds on both resources; worst/best fit score ``free = min(free_cpu, free_ram)`` after
  the move (the binding resource; ``fit`` = "cpu"/"ram" for one resource); ties to the lowest host index;
* OP (§3.5, not confirmed): the host whose aggregate CPU history over the last ``op_history_steps``
  decisions correlates least with the VM's (the ``anti-correlation`` weigher); hosts with fewer than
  ``op_min_history`` samples or no variance fall back to WF;
* FF baseline (§3.4): knows nothing of the thresholds as a target filter (``fit_ceiling = 1.0``: the first
  host, in index order, the VM fits into); its VM selection takes the host's VMs in placement order
  (earliest arrival on the host first) until the host is under its thresholds (``ff_evict="until-under"``)
  or re-places every VM of the overloaded host (``ff_evict="all"``);
* LB (§3.7.2): when the most-loaded host (load = max over resources of use / capacity) is above
  ``lb_trigger`` (default: the consolidation ceiling) and max - min load exceeds ``lb_delta``, up to
  ``lb_moves`` VMs per decision, each picked on the most-loaded host by the scheduler's own selection rule
  against the mid level, go to the least-loaded feasible host if that lowers the spread;
* EE (§3.7.1): empty powered-on hosts are switched off; every ``ee_interval_steps`` decisions, hosts below
  ``lower`` on both resources (and on for at least ``ee_min_on_steps``) are emptied least-loaded first,
  all-or-nothing, by the active host selection onto hosts that are not themselves underloaded
  (``ee_targets="non-candidates"``; ``"any"``: CloudSim's rule) and stay under ``ee_upper`` (default: the
  upper thresholds). With or without EE, a VM that must leave an overloaded host and fits on no running
  host powers on the lowest-index off host that fits (without EE hosts are never switched off again);
* uptime guard (``uptime_guard``, §0 and §4, an [A] reading): the scheduler knows each VM's uptime
  objective (``uptime_window_h``, ``uptime_allowance_s``) and what a migration costs of it
  (``uptime_downtime_s``); a VM whose next migration would break it is *protected*
  (:mod:`kumo.policies.sla.guard`).

A VM migrates at most once per decision and a VM in flight is not a candidate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kumo.policies import registry
from kumo.policies.base import HOST_OFF, VM_RUNNING, ClusterView, Decision
from kumo.policies.placement import Placer
from kumo.policies.planning import CpuHistory, PlannedCluster
from kumo.policies.registry import make, register
from kumo.policies.sla import guard
from kumo.policies.sla.extensions import balance, consolidate
from kumo.policies.sla.round import Round, SlaMemory

__all__ = ["SlaScheduler"]

_SELECTIONS = ("ff", "hpg", "mm")
_HOSTS = ("ff", "bf", "wf", "op")
_FITS = ("binding", "cpu", "ram")


@register("controller", "sla")
@dataclass(frozen=True)
class SlaScheduler:
    """Kohne's SLA-based intra-DC scheduler: overload handling by VM and host selection, LB and EE extensions (Kohne 2018, Table 10.10; reconstruction in kohne-sla-scheduling.md §3).

    Parameters
    ----------
    selection : "mm" | "hpg" | "ff" — VM selection on an overloaded host (``ff`` = placement order).
    selection_params : extra parameters of the selection policy (e.g. ``{"driver": "cpu_first"}``).
    resources : "both" | "cpu" | "ram" — resources whose thresholds define an overload.
    host_selection : "wf" | "bf" | "ff" | "op" — target host choice.
    fit : "binding" | "cpu" | "ram" — resource(s) of the free-capacity score of BF and WF.
    fit_ceiling : use / capacity a target may reach instead of the upper thresholds (FF: 1.0).
    ff_evict : "until-under" | "all" — the FF baseline's eviction.
    max_moves_per_host : VMs an overloaded host may send away per decision (None: as many as needed).
    op_history_steps, op_min_history : OP's correlation window and the minimum samples before it applies.
    upper_cpu, upper_ram : overload thresholds (fractions of capacity), also the targets' ceiling.
    lb, lb_delta, lb_moves, lb_trigger : the load-balancing extension, its spread trigger, moves per
        decision and the load above which it acts (None: the consolidation ceiling).
    ee, lower : the energy-efficiency extension and its underload threshold.
    ee_targets, ee_upper, ee_interval_steps, ee_min_on_steps : which hosts may receive a drained host's
        VMs, their ceiling, how often consolidation runs and how long a host stays on before it may be
        drained.
    vm_cooldown_steps : a VM that migrated fewer steps ago is left alone by EE (its host is not drained)
        and LB; overload relief may still move it.
    ee_carbon_above : carbon-aware consolidation timing: EE's consolidation rounds run only while the
        grid's intensity is at least this many gCO2/kWh (None: always).
    uptime_guard, uptime_window_h, uptime_allowance_s, uptime_downtime_s : SLA-aware migration (see the
        module docstring): the uptime SLO the scheduler knows (calendar window, downtime allowed in it) and
        the downtime it expects a migration to cost; off (FF's naive baseline) or on.
        ``uptime_guard_relief``: when overload relief may still take a protected VM if the host has no
        other: ``overloaded`` (whenever the host is over its thresholds) or ``over-capacity`` (only when its
        demand exceeds its capacity, i.e. when staying breaks CPU/RAM objectives) or ``never`` (the uptime
        SLO is never broken by a migration: a host whose VMs are all protected waits).
    """

    selection: str = "mm"
    selection_params: dict[str, Any] = field(default_factory=dict)
    resources: str = "both"
    host_selection: str = "wf"
    fit: str = "binding"
    fit_ceiling: float | None = None
    ff_evict: str = "until-under"
    max_moves_per_host: int | None = None
    op_history_steps: int = 288
    op_min_history: int = 12
    upper_cpu: float = 0.9
    upper_ram: float = 0.9
    lb: bool = False
    lb_delta: float = 0.3
    lb_moves: int = 1
    lb_trigger: float | None = None
    ee: bool = True
    lower: float = 0.2
    ee_targets: str = "non-candidates"
    ee_upper: float | None = None
    ee_interval_steps: int = 1
    ee_min_on_steps: int = 0
    vm_cooldown_steps: int = 0
    ee_carbon_above: float | None = None
    uptime_guard: bool = False
    uptime_window_h: float = 24.0
    uptime_allowance_s: float = 86.4
    uptime_downtime_s: float = 10.0
    uptime_guard_relief: str = "overloaded"

    def validate(self) -> list[str]:
        out = []
        for name, valid in (("selection", _SELECTIONS), ("host_selection", _HOSTS), ("fit", _FITS),
                            ("resources", ("cpu", "ram", "both")), ("ee_targets", ("non-candidates", "any")),
                            ("ff_evict", ("until-under", "all")),
                            ("uptime_guard_relief", ("overloaded", "over-capacity", "never"))):
            if getattr(self, name) not in valid:
                out.append(f"{name}: must be one of {list(valid)}, got {getattr(self, name)!r}")
        for name in ("upper_cpu", "upper_ram"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and 0 < v <= 1):
                out.append(f"{name}: must be in (0, 1], got {v!r}")
        if self.fit_ceiling is not None and not (isinstance(self.fit_ceiling, int | float) and 0 < self.fit_ceiling <= 1):
            out.append(f"fit_ceiling: must be in (0, 1] or None, got {self.fit_ceiling!r}")
        if not (isinstance(self.lower, int | float) and 0 <= self.lower < min(self.upper_cpu, self.upper_ram)):
            out.append(f"lower: must be in [0, min(upper_cpu, upper_ram)), got {self.lower!r}")
        if not (isinstance(self.lb_delta, int | float) and self.lb_delta >= 0):
            out.append(f"lb_delta: must be >= 0, got {self.lb_delta!r}")
        if self.max_moves_per_host is not None and not (isinstance(self.max_moves_per_host, int)
                                                        and self.max_moves_per_host >= 1):
            out.append(f"max_moves_per_host: must be an integer >= 1 or None, got {self.max_moves_per_host!r}")
        for name in ("uptime_window_h", "uptime_allowance_s", "uptime_downtime_s"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
                    and (v > 0 or name != "uptime_window_h")):
                out.append(f"{name}: must be a number >= 0 (window > 0), got {v!r}")
        c = self.ee_carbon_above
        if c is not None and not (isinstance(c, int | float) and not isinstance(c, bool) and 0 <= c < 1e5):
            out.append(f"ee_carbon_above: must be a number of gCO2/kWh >= 0 or None, got {c!r}")
        for name, lo in (("lb_moves", 1), ("op_history_steps", 1), ("op_min_history", 2), ("ee_interval_steps", 1),
                         ("ee_min_on_steps", 0), ("vm_cooldown_steps", 0)):
            v = getattr(self, name)
            if not (isinstance(v, int) and not isinstance(v, bool) and v >= lo):
                out.append(f"{name}: must be an integer >= {lo}, got {v!r}")
        if self.selection in ("hpg", "mm") and not out:
            try:
                sel = make("selection", self.selection, {"resources": self.resources, **self.selection_params})
                out += [f"selection_params.{m}" for m in registry.validate(sel)]
            except (KeyError, ValueError, TypeError) as e:
                out.append(f"selection_params: {e}")
        return out

    # -------------------------------------------------------------------------------------- memory
    def init_memory(self, view: ClusterView) -> SlaMemory:
        nh, nv = view.hosts.n, view.vms.n
        op = self.host_selection == "op"
        if op:  # the OP weigher, with this controller's minimum history
            placer = Placer.build(weighers=[("anti-correlation", 1.0, {"fit": self.fit,
                                                                       "min_history": self.op_min_history})])
        else:
            placer = Placer.preset(self.host_selection, resource=self.fit)
        return SlaMemory(
            selector=None if self.selection == "ff" else make(
                "selection", self.selection, {"resources": self.resources, **self.selection_params}),
            placer=placer,
            waker=Placer.preset("ff"),
            balancer=Placer.preset("least-loaded"),
            placed_at=view.vms.arrive_step.astype(np.int64).copy(),
            on_since=np.zeros(nh, np.int64),
            was_on=np.array(view.host_state != HOST_OFF),
            vm_hist=np.zeros((self.op_history_steps if op else 0, nv), np.float32),
            host_hist=np.zeros((self.op_history_steps if op else 0, nh), np.float32),
        )

    # -------------------------------------------------------------------------------------- decide
    def decide(self, view: ClusterView, memory: SlaMemory, rng: np.random.Generator) -> Decision | None:
        """Migrations and switch-offs for this decision, or None."""
        mem = memory
        if self.host_selection == "op":
            self._record_history(view, mem)
        if self.uptime_guard:
            guard.new_window(self, mem, view)
        is_on = view.host_state != HOST_OFF
        mem.on_since[is_on & ~mem.was_on] = view.step
        mem.was_on = is_on
        empty = is_on & (view.host_n_vms == 0)
        if self._quiet(view, is_on):
            # nothing to relieve, balance or consolidate this step: only empty hosts go off
            idle: list[int] = np.flatnonzero(empty).tolist() if self.ee else []
            return Decision(switch_off=idle, reason="ee") if idle else None
        history = CpuHistory(mem.vm_hist, mem.host_hist, mem.filled) if self.host_selection == "op" else None
        plan = PlannedCluster(view, release_in_flight=True, ceiling=self._ceiling(), history=history)
        if self.ee:
            plan.on &= ~empty  # switched off below unless a VM must go there after all
        # pinned VMs (passthrough, SR-IOV, containers without C/R) never move; a host holding one
        # cannot be drained either, since its VM count then exceeds its movable VMs
        running = np.flatnonzero((view.vm_state == VM_RUNNING) & view.vm_migratable)
        run_host = view.vm_host[running]
        over = plan.on & ((plan.used_c > self.upper_cpu * plan.cap_c) | (plan.used_r > self.upper_ram * plan.cap_r))
        rnd = Round(self, view, plan, mem, rng)
        for h in np.flatnonzero(over).tolist():
            rnd.relieve(h, running[run_host == h])
        n0 = len(plan.moves)
        if self.lb:
            balance(rnd, running, run_host)
        n1 = len(plan.moves)
        off: list[int] = []
        if self.ee:
            if view.step % self.ee_interval_steps == 0 and self._grid_dirty(view):
                consolidate(rnd, running, run_host, over)
            off = np.flatnonzero(empty & ~plan.touched).tolist()
        for vm, _ in plan.moves:
            mem.placed_at[vm] = view.step
        if self.uptime_guard and plan.moves:
            guard.charge(self, mem, [vm for vm, _ in plan.moves])
        if not plan.moves and not off:
            return None
        causes = ["overload"] * n0 + ["lb"] * (n1 - n0) + ["ee"] * (len(plan.moves) - n1)
        wake = sorted({dst for _, dst in plan.moves if view.host_state[dst] == HOST_OFF})
        return Decision(migrations=plan.moves, switch_off=off, power_on=wake,
                        reason=self.selection + self.host_selection, causes=causes)

    def _grid_dirty(self, view: ClusterView) -> bool:
        return self.ee_carbon_above is None or view.carbon_g_per_kwh >= self.ee_carbon_above

    def _quiet(self, view: ClusterView, is_on: np.ndarray) -> bool:
        """True when no host can be overloaded (its load counting VMs leaving it is an upper bound),
        LB cannot trigger and no consolidation round is due: the full plan is then not needed."""
        if self.ee and view.step % self.ee_interval_steps == 0 and self._grid_dirty(view):
            return False
        hosts = view.hosts
        u_c = view.host_cpu_demand / hosts.cpu_mhz
        u_r = view.host_ram_demand / hosts.ram_mb
        if np.any(is_on & ((u_c > self.upper_cpu) | (u_r > self.upper_ram))):
            return False
        if self.lb and is_on.any() and np.maximum(u_c, u_r)[is_on].max() > self.lb_trigger_level():
            return False
        return True

    def lb_trigger_level(self) -> float:
        """The load above which LB acts: ``lb_trigger``, or the level consolidation packs hosts to (LB keeps
        hosts out of the band above it)."""
        if self.lb_trigger is not None:
            return self.lb_trigger
        return self.ee_upper if self.ee_upper is not None else min(self.upper_cpu, self.upper_ram)

    def _record_history(self, view: ClusterView, mem: SlaMemory) -> None:
        mem.vm_hist[mem.pos] = view.vm_cpu_demand
        mem.host_hist[mem.pos] = view.host_cpu_demand
        mem.pos = (mem.pos + 1) % self.op_history_steps
        mem.filled = min(mem.filled + 1, self.op_history_steps)

    def _ceiling(self) -> tuple[float, float]:
        if self.fit_ceiling is not None:
            return float(self.fit_ceiling), float(self.fit_ceiling)
        return self.upper_cpu, self.upper_ram
