"""Kohne's SLA-based intra-data-center schedulers (FF, HPGBF, HPGOP, HPGWF, MMBF, MMOP, MMWF, MMWF+LB).

One controller, ``sla``, with the parts as parameters: VM selection on overloaded hosts (``hpg``, ``mm`` from
:mod:`kumo.policies.selection` with two resources, or ``ff``, the naive placement-order baseline), host
selection (``bf``, ``wf``, ``ff``, ``op``), the LB extension and the EE extension. The table's schedulers are
presets (:data:`PRESETS`), also registered as controllers ``kohne-ff``, ``kohne-hpgbf``, ...,
``kohne-mmwf-lb``. Source: A. Kohne, *Cloud-Föderationen: SLA-basierte VM-Scheduling-Verfahren*, Springer
Vieweg 2018, Table 10.10; the algorithms are the reconstruction of ``shared/reference/kohne-sla-scheduling.md``
§3, whose unknowns ([A] there) are the defaults here, alternatives selectable:

* overload (§3.3): a powered-on host whose CPU or RAM use / capacity exceeds ``upper_cpu`` / ``upper_ram``;
  the load of a VM migrating out no longer counts on its source while planning. The selection rule picks
  VMs until the host is under both thresholds (``max_moves_per_host`` caps the VMs one host may send away
  per step; the rest waits for the next step);
* target filter (§3.5): on, not the source, bookings within the hosts' overcommit ratios, use after the move
  <= the upper thresholds on both resources; score ``free = min(free_cpu, free_ram)`` after the move (the
  binding resource; ``fit`` = "cpu"/"ram" for one resource); ties to the lowest host index;
* OP (§3.5, not confirmed): ``op="anti-correlation"`` (default) picks the host whose aggregate CPU history
  over the last ``op_history_steps`` steps correlates least with the VM's; hosts with fewer than
  ``op_min_history`` samples or no variance fall back to WF. Alternatives ``ram-spread`` (most free RAM)
  and ``least-overbooked`` (most bookable room left on the binding resource);
* FF baseline (§3.4): knows nothing of the thresholds as a target filter (``fit_ceiling = 1.0``: the first
  host, in index order, the VM fits into); its VM selection takes the host's VMs in placement order
  (earliest arrival on the host first) until the host is under its thresholds (``ff_evict="until-under"``)
  or re-places every VM of the overloaded host (``ff_evict="all"``);
* LB (§3.7.2): when the most-loaded host (load = max over resources of use / capacity) is above
  ``lb_trigger`` (default: the consolidation ceiling, so LB keeps hosts out of the band between it and the
  overload threshold) and max - min load exceeds ``lb_delta``, up to ``lb_moves`` VMs per step, each picked
  on the most-loaded host by the scheduler's own selection rule against the mid level, go to the
  least-loaded feasible host if that lowers the spread;
* EE (§3.7.1): empty powered-on hosts are switched off; every ``ee_interval_steps`` steps, hosts below
  ``lower`` on both resources (and on for at least ``ee_min_on_steps``) are emptied least-loaded first,
  all-or-nothing, by the active host selection onto hosts that are not themselves underloaded
  (``ee_targets="non-candidates"``, the reference's rule; ``"any"``: CloudSim's) and stay under
  ``ee_upper`` (default: the upper thresholds). With or without EE, a VM that must leave an overloaded
  host and fits on no running host powers on the lowest-index off host that fits (without EE hosts are
  never switched off again).

* uptime guard (``uptime_guard``; reference §0 and §4, an [A] reading): the schedulers are *SLA-based*
  (Kohne's title; CrossCloud'16: availability is an SLO that migrations affect), so they know each VM's
  uptime objective (``uptime_window_h``, ``uptime_allowance_s``) and what a migration costs of it
  (``uptime_downtime_s``). A VM whose next migration would break it is *protected*: overload relief takes
  it only when the host has no other candidate (``uptime_guard_relief``: and, with ``over-capacity``, only
  when the host's demand exceeds its capacity; ``never``: not at all), EE does not drain a host holding one, LB does not move one
  (:mod:`kumo.policies._kohne_guard`). The naive FF baseline does not know the SLAs (its preset switches
  the guard off).

A VM migrates at most once per decision and a VM in flight is not a candidate.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kumo.policies import _kohne_ext as _ext
from kumo.policies import _kohne_guard as _guard
from kumo.policies._kohne_plan import Memory as _Memory
from kumo.policies._kohne_plan import Plan as _Plan
from kumo.policies.registry import make, register
from kumo.state import HOST_OFF, VM_MIGRATING, VM_RUNNING, ClusterView

__all__ = ["PRESETS", "SlaScheduler", "preset_params"]

_SELECTIONS = ("ff", "hpg", "mm")
_HOSTS = ("ff", "bf", "wf", "op")
_OPS = ("anti-correlation", "ram-spread", "least-overbooked")
_FITS = ("binding", "cpu", "ram")

#: Table 10.10's schedulers as parameters of :class:`SlaScheduler`
PRESETS: dict[str, dict[str, Any]] = {
    "FF": {"selection": "ff", "host_selection": "ff", "lb": False, "fit_ceiling": 1.0, "uptime_guard": False},
    "HPGBF": {"selection": "hpg", "host_selection": "bf", "lb": False},
    "HPGOP": {"selection": "hpg", "host_selection": "op", "lb": False},
    "HPGWF": {"selection": "hpg", "host_selection": "wf", "lb": False},
    "MMBF": {"selection": "mm", "host_selection": "bf", "lb": False},
    "MMOP": {"selection": "mm", "host_selection": "op", "lb": False},
    "MMWF": {"selection": "mm", "host_selection": "wf", "lb": False},
    "MMWF+LB": {"selection": "mm", "host_selection": "wf", "lb": True},
}


def preset_params(label: str, **overrides: Any) -> dict[str, Any]:
    """Controller parameters of a Table-10.10 scheduler (``"MMWF+LB"`` ...), with ``overrides`` applied."""
    if label not in PRESETS:
        raise KeyError(f"unknown Kohne scheduler {label!r}; valid: {', '.join(PRESETS)}")
    return {**PRESETS[label], **overrides}


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
    max_moves_per_host : VMs an overloaded host may send away per step (None: as many as needed).
    op : "anti-correlation" | "ram-spread" | "least-overbooked" — the reading of OP.
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
    uptime_guard, uptime_window_h, uptime_allowance_s, uptime_downtime_s : SLA-aware migration (see the
        module docstring): the uptime SLO the scheduler knows (calendar window, downtime allowed in it) and
        the downtime it expects a migration to cost; off (FF's naive baseline) or on.
        ``uptime_guard_relief``: when overload relief may still take a protected VM if the host has no
        other: ``overloaded`` (whenever the host is over its thresholds) or ``over-capacity`` (only when its
        demand exceeds its capacity, i.e. when staying breaks CPU/RAM objectives; above the threshold but
        within capacity no SLA breaks, so an SLA-based scheduler keeps the VM's uptime) or ``never`` (the
        uptime SLO is never broken by a migration: a host whose VMs are all protected waits).
    """

    selection: str = "mm"
    selection_params: dict[str, Any] = field(default_factory=dict)
    resources: str = "both"
    host_selection: str = "wf"
    fit: str = "binding"
    fit_ceiling: float | None = None
    ff_evict: str = "until-under"
    max_moves_per_host: int | None = None
    op: str = "anti-correlation"
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
    uptime_guard: bool = False
    uptime_window_h: float = 24.0
    uptime_allowance_s: float = 86.4
    uptime_downtime_s: float = 10.0
    uptime_guard_relief: str = "overloaded"
    _mem: _Memory = field(default_factory=_Memory, init=False, repr=False, compare=False)

    def validate(self) -> list[str]:
        out = []
        for name, valid in (("selection", _SELECTIONS), ("host_selection", _HOSTS), ("op", _OPS), ("fit", _FITS),
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
        for name, lo in (("lb_moves", 1), ("op_history_steps", 1), ("op_min_history", 2), ("ee_interval_steps", 1),
                         ("ee_min_on_steps", 0), ("vm_cooldown_steps", 0)):
            v = getattr(self, name)
            if not (isinstance(v, int) and not isinstance(v, bool) and v >= lo):
                out.append(f"{name}: must be an integer >= {lo}, got {v!r}")
        if self.selection in ("hpg", "mm") and not out:
            try:
                sel = make("selection", self.selection, {"resources": self.resources, **self.selection_params})
                out += [f"selection_params.{m}" for m in getattr(sel, "validate", lambda: [])()]
            except (KeyError, ValueError, TypeError) as e:
                out.append(f"selection_params: {e}")
        return out

    # -------------------------------------------------------------------------------------- decide
    def decide(self, view: ClusterView, rng: np.random.Generator) -> Any:
        """Migrations and switch-offs for this step (a :class:`kumo.engine.Decision`)."""
        from kumo.engine import Decision  # the engine module imports policies; import late

        mem = self._mem
        if not mem.ready:
            self._init_memory(view)
        if self.host_selection == "op":
            self._record_history(view)
        if self.uptime_guard:
            _guard.new_window(self, mem, view)
        is_on = view.host_state != HOST_OFF
        mem.on_since[is_on & ~mem.was_on] = view.step
        mem.was_on = is_on
        empty = is_on & (view.host_n_vms == 0)
        if self._quiet(view, is_on):
            # nothing to relieve, balance or consolidate this step: only empty hosts go off
            idle: list[int] = np.flatnonzero(empty).tolist() if self.ee else []
            return Decision(switch_off=idle, reason="ee") if idle else None
        plan = self._plan(view)
        if self.ee:
            plan.on &= ~empty  # switched off below unless a VM must go there after all
        # pinned VMs (passthrough, SR-IOV, containers without C/R) never move; a host holding one
        # cannot be drained either, since its VM count then exceeds its movable VMs
        running = np.flatnonzero((view.vm_state == VM_RUNNING) & view.vm_migratable)
        run_host = view.vm_host[running]
        over = plan.on & ((plan.used_c > self.upper_cpu * plan.cap_c) | (plan.used_r > self.upper_ram * plan.cap_r))
        for h in np.flatnonzero(over).tolist():
            self._relieve(view, plan, h, running[run_host == h], rng)
        n0 = len(plan.moves)
        if self.lb:
            _ext.balance(self, view, plan, running, run_host, rng)
        n1 = len(plan.moves)
        off: list[int] = []
        if self.ee:
            if view.step % self.ee_interval_steps == 0:
                _ext.consolidate(self, view, plan, running, run_host, over)
            off = np.flatnonzero(empty & ~plan.touched).tolist()
        c = mem.counts
        c["overload"] += n0
        c["lb"] += n1 - n0
        c["ee"] += len(plan.moves) - n1
        for vm, _ in plan.moves:
            mem.placed_at[vm] = view.step
        if self.uptime_guard and plan.moves:
            _guard.charge(self, mem, [vm for vm, _ in plan.moves])
        if not plan.moves and not off:
            return None
        causes = ["overload"] * n0 + ["lb"] * (n1 - n0) + ["ee"] * (len(plan.moves) - n1)
        return Decision(migrations=plan.moves, switch_off=off, reason=self.selection + self.host_selection,
                        causes=causes)

    def _quiet(self, view: ClusterView, is_on: np.ndarray) -> bool:
        """True when no host can be overloaded (its load counting VMs leaving it is an upper bound),
        LB cannot trigger and no consolidation round is due: the full plan is then not needed."""
        if self.ee and view.step % self.ee_interval_steps == 0:
            return False
        hosts = view.hosts
        u_c = view.host_cpu_demand / hosts.cpu_mhz
        u_r = view.host_ram_demand / hosts.ram_mb
        if np.any(is_on & ((u_c > self.upper_cpu) | (u_r > self.upper_ram))):
            return False
        if self.lb and is_on.any() and np.maximum(u_c, u_r)[is_on].max() > self._lb_trigger():
            return False
        return True

    def _lb_trigger(self) -> float:
        if self.lb_trigger is not None:
            return self.lb_trigger
        # the level consolidation packs hosts to: LB keeps hosts out of the band above it
        return self.ee_upper if self.ee_upper is not None else min(self.upper_cpu, self.upper_ram)

    def _init_memory(self, view: ClusterView) -> None:
        mem = self._mem
        mem.placed_at = view.vms.arrive_step.astype(np.int64).copy()
        mem.on_since = np.zeros(view.hosts.n, np.int64)
        mem.was_on = np.array(view.host_state != HOST_OFF)
        if self.selection != "ff":
            mem.selector = make("selection", self.selection, {"resources": self.resources, **self.selection_params})
        if self.host_selection == "op":
            mem.vm_hist = np.zeros((self.op_history_steps, view.vms.n), np.float32)
            mem.host_hist = np.zeros((self.op_history_steps, view.hosts.n), np.float32)
        mem.ready = True

    def _record_history(self, view: ClusterView) -> None:
        mem = self._mem
        mem.vm_hist[mem.pos] = view.vm_cpu_demand
        mem.host_hist[mem.pos] = view.host_cpu_demand
        mem.pos = (mem.pos + 1) % self.op_history_steps
        mem.filled = min(mem.filled + 1, self.op_history_steps)

    def _plan(self, view: ClusterView) -> _Plan:
        hosts, vms = view.hosts, view.vms
        vm_c, vm_r = view.vm_cpu_demand, view.vm_ram_demand
        used_c = np.array(view.host_cpu_demand, dtype=np.float64)
        used_r = np.array(view.host_ram_demand, dtype=np.float64)
        vm_state, vm_host = view.vm_state, view.vm_host
        mig = np.flatnonzero(vm_state == VM_MIGRATING)
        nh = hosts.n
        touched = np.zeros(nh, bool)
        blocked = np.zeros(nh, bool)
        if len(mig):  # a VM in flight has left its source as far as planning goes
            src = vm_host[mig]
            np.subtract.at(used_c, src, vm_c[mig])
            np.subtract.at(used_r, src, vm_r[mig])
            touched[src] = True
            touched[view.vm_target[mig]] = True
            # a host all of whose VMs are leaving is being emptied: it receives nothing
            staying = np.bincount(vm_host[vm_state == VM_RUNNING], minlength=nh)
            blocked[src] = True
            blocked &= staying == 0
        eps = 1 - 1e-12  # a booking that fills a host exactly still fits
        need = np.stack([vm_c, vm_r, vms.cpu_booked_mhz * eps, vms.ram_booked_mb * eps], axis=1)
        room = np.stack([used_c, used_r, hosts.cpu_overcommit * hosts.cpu_mhz - view.host_cpu_booked,
                         hosts.ram_overcommit * hosts.ram_mb - view.host_ram_booked])
        plan = _Plan(cap_c=hosts.cpu_mhz, cap_r=hosts.ram_mb, vm_c=vm_c, vm_r=vm_r, need=need, used_c=used_c,
                     used_r=used_r, room=room, on=view.host_state != HOST_OFF, blocked=blocked, touched=touched,
                     ceiling=self._ceiling())
        plan.set_ceiling(plan.ceiling)
        return plan

    def _ceiling(self) -> tuple[float, float]:
        if self.fit_ceiling is not None:
            return float(self.fit_ceiling), float(self.fit_ceiling)
        return self.upper_cpu, self.upper_ram

    # -------------------------------------------------------------------------------------- overload
    def _candidates(self, vms: np.ndarray, plan: _Plan, strict: bool = False) -> np.ndarray:
        """The VMs of a host that may move, in host-list order (earliest arrival first). With the uptime
        guard, VMs whose migration would break their uptime SLO are left out; unless ``strict``, they
        come back when no other VM is left (relieving the overload outranks one uptime break)."""
        if plan.moved:
            vms = vms[[v not in plan.moved for v in vms.tolist()]]
        if self.uptime_guard and len(vms):
            ok = ~_guard.protected(self, self._mem, vms)
            if ok.any() or strict:
                vms = vms[ok]
        return vms[np.lexsort((vms, self._mem.placed_at[vms]))]

    def _relieve(self, view: ClusterView, plan: _Plan, h: int, vms: np.ndarray, rng: np.random.Generator) -> None:
        strict = self.uptime_guard_relief == "never" or (self.uptime_guard_relief == "over-capacity" and not (
            plan.used_c[h] > plan.cap_c[h] or plan.used_r[h] > plan.cap_r[h]))
        cand = self._candidates(vms, plan, strict=strict)
        if not len(cand):
            return
        if self.selection == "ff":
            # placement order until the host is under both thresholds (§3.4)
            left_c = plan.used_c[h] - np.cumsum(plan.vm_c[cand])
            left_r = plan.used_r[h] - np.cumsum(plan.vm_r[cand])
            ok = (left_c <= self.upper_cpu * plan.cap_c[h]) & (left_r <= self.upper_ram * plan.cap_r[h])
            n = len(cand) if self.ff_evict == "all" or not ok.any() else int(np.argmax(ok)) + 1
            picks = list(range(n))
        elif self.max_moves_per_host is None:
            picks = self._mem.selector.pick_set(self._context(view, plan, h, cand), rng, self.upper_cpu,
                                                self.upper_ram).tolist()
        else:
            picks = self._first_picks(self._context(view, plan, h, cand), rng, self.max_moves_per_host)
        if self.max_moves_per_host is not None and not (self.selection == "ff" and self.ff_evict == "all"):
            picks = picks[: self.max_moves_per_host]
        for p in picks:
            self._move(plan, int(cand[p]), h, power_on=True)

    def _first_picks(self, ctx: Any, rng: np.random.Generator, k: int) -> list[int]:
        """The first ``k`` positions :meth:`pick_set` would return (pick, remove, re-test), without
        computing the rest of the set."""
        orig = np.arange(ctx.k)
        out: list[int] = []
        while len(out) < k and ctx.k and ctx.is_overloaded(self.resources):
            p = self._mem.selector.pick(ctx, rng)
            if p < 0:
                break
            out.append(int(orig[p]))
            orig = np.delete(orig, p)
            ctx = ctx.without([p])
        return out

    def _context(self, view: ClusterView, plan: _Plan, h: int, cand: np.ndarray,
                 upper: tuple[float, float] | None = None) -> Any:
        from kumo.policies.selection import SelectionContext

        up_c, up_r = upper if upper is not None else (self.upper_cpu, self.upper_ram)
        return SelectionContext(
            vm_index=cand, ram_mb=view.vms.ram_booked_mb[cand], cpu_demand_mhz=plan.vm_c[cand],
            cpu_booked_mhz=view.vms.cpu_booked_mhz[cand], ram_demand_mb=plan.vm_r[cand],
            ram_booked_mb=view.vms.ram_booked_mb[cand], history=np.zeros((len(cand), 0)),
            hist_len=np.zeros(len(cand), np.int64), host_cpu_mhz=float(plan.cap_c[h]),
            host_ram_mb=float(plan.cap_r[h]), host_cpu_used_mhz=float(plan.used_c[h]),
            host_ram_used_mb=float(plan.used_r[h]), upper_cpu=up_c, upper_ram=up_r)

    def _move(self, plan: _Plan, vm: int, src: int, power_on: bool) -> bool:
        dst = self._target(plan, vm, src)
        if dst < 0 and power_on:
            ok = plan.feasible(vm, src, ~plan.on)  # switch on the lowest-index off host that fits
            dst = int(np.argmax(ok)) if ok.any() else -1
            self._mem.counts["power_on"] += dst >= 0
        if dst < 0:
            return False
        plan.move(vm, src, dst)
        return True

    # -------------------------------------------------------------------------------------- host selection
    def _target(self, plan: _Plan, vm: int, src: int) -> int:
        ok = plan.feasible(vm, src, plan.on)
        if not ok.any():
            return -1
        hs = self.host_selection
        if hs == "ff":
            return int(np.argmax(ok))
        if hs == "op":
            return self._op_target(plan, vm, ok)
        free = plan.free_after(vm, self.fit)
        return _arg_best(np.where(ok, free if hs == "wf" else -free, -np.inf))

    def _op_target(self, plan: _Plan, vm: int, ok: np.ndarray) -> int:
        if self.op == "ram-spread":
            return _arg_best(np.where(ok, plan.cap_r - plan.used_r, -np.inf))
        if self.op == "least-overbooked":
            # most bookable room left on the binding resource = least overbooked
            room = np.minimum(plan.room[2] / plan.cap_c, plan.room[3] / plan.cap_r)
            return _arg_best(np.where(ok, room, -np.inf))
        wf = _arg_best(np.where(ok, plan.free_after(vm, self.fit), -np.inf))
        mem = self._mem
        if mem.filled < self.op_min_history:
            return wf
        idx = np.flatnonzero(ok)
        x = mem.vm_hist[: mem.filled, vm].astype(np.float64)
        y = mem.host_hist[: mem.filled][:, idx].astype(np.float64)
        xc = x - x.mean()
        yc = y - y.mean(axis=0)
        den = np.sqrt((xc @ xc) * (yc * yc).sum(axis=0))
        with np.errstate(invalid="ignore", divide="ignore"):
            r = (xc @ yc) / den
        valid = np.isfinite(r) & (den > 0)
        if not valid.any():
            return wf
        return int(idx[_arg_best(np.where(valid, -r, -np.inf))])

def _arg_best(score: np.ndarray) -> int:
    """Index of the largest score, the lowest index on ties."""
    return int(np.argmax(score))


# ------------------------------------------------------------------------------------------------ presets
def _register_presets() -> None:
    for label, params in PRESETS.items():
        slug = label.lower().replace("+", "-")
        cls = dataclasses.make_dataclass(
            f"Kohne{label.replace('+', '')}",
            [(k, type(v), field(default=v)) for k, v in params.items()],
            bases=(SlaScheduler,), frozen=True)
        cls.__doc__ = (f"Kohne's {label} scheduler: the ``sla`` controller preset {params} "
                       "(Kohne 2018, Table 10.10; kohne-sla-scheduling.md §2-3).")
        cls.__module__ = __name__
        register("controller", f"kohne-{slug}")(cls)


_register_presets()
