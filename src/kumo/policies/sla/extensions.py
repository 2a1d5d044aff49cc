"""The extensions of the ``sla`` controller: LB, load balancing (Kohne 2018; reconstruction §3.7.2), and EE,
consolidation of underloaded hosts (§3.7.1). Each works on one decision's :class:`~kumo.policies.sla.round.Round`.
"""

from __future__ import annotations

import numpy as np

from kumo.policies.sla import guard
from kumo.policies.sla.round import Round

__all__ = ["balance", "consolidate"]


def balance(rnd: Round, running: np.ndarray, run_host: np.ndarray) -> None:
    """LB: up to ``lb_moves`` VMs from the most- to the least-loaded feasible host while the spread exceeds
    ``lb_delta`` and the most-loaded host is above the trigger."""
    ctl, plan, mem = rnd.ctl, rnd.plan, rnd.mem
    trigger = ctl.lb_trigger_level()
    for _ in range(ctl.lb_moves):
        load = np.where(plan.on, plan.load(), np.nan)
        if not np.isfinite(load).any():
            return
        hi, lo = int(np.nanargmax(load)), int(np.nanargmin(load))
        if load[hi] - load[lo] <= ctl.lb_delta or load[hi] <= trigger:
            return
        cand = rnd.candidates(running[run_host == hi], strict=True)
        if ctl.vm_cooldown_steps:
            cand = cand[mem.placed_at[cand] <= rnd.view.step - ctl.vm_cooldown_steps]
        if not len(cand):
            return
        mid = float(load[hi] + load[lo]) / 2
        p = 0 if ctl.selection == "ff" else mem.selector.pick(rnd.context(hi, cand, upper=(mid, mid)), rnd.rng)
        if p < 0:
            return
        vm = int(cand[p])
        dst = mem.balancer.choose(plan, vm, plan.fits(vm, hi, plan.on))
        if dst < 0:
            return
        after = max((plan.used_c[dst] + plan.vm_c[vm]) / plan.cap_c[dst],
                    (plan.used_r[dst] + plan.vm_r[vm]) / plan.cap_r[dst])
        src_after = max((plan.used_c[hi] - plan.vm_c[vm]) / plan.cap_c[hi],
                        (plan.used_r[hi] - plan.vm_r[vm]) / plan.cap_r[hi])
        if max(src_after, after) >= load[hi]:
            return
        plan.move(vm, hi, dst)


def consolidate(rnd: Round, running: np.ndarray, run_host: np.ndarray, over: np.ndarray) -> None:
    """EE: drain underloaded hosts least-loaded first, all-or-nothing, by the active host selection."""
    ctl, plan, mem, view = rnd.ctl, rnd.plan, rnd.mem, rnd.view
    load = plan.load()
    n_vms = view.host_n_vms
    cand = plan.on & ~plan.touched & ~over & (n_vms > 0) & (load < ctl.lower)
    if ctl.ee_min_on_steps:
        cand &= mem.on_since <= view.step - ctl.ee_min_on_steps
    if ctl.vm_cooldown_steps:
        # a host holding a VM that moved recently is not drained (the VM would move twice)
        recent = running[mem.placed_at[running] > view.step - ctl.vm_cooldown_steps]
        cand[view.vm_host[recent]] = False
    if ctl.uptime_guard:
        # draining a host would break the uptime SLO of a VM on it: the host stays on
        cand[view.vm_host[running[guard.protected(ctl, mem, running)]]] = False
    if not cand.any():
        return
    if ctl.ee_targets == "non-candidates":
        plan.blocked |= cand
    ceiling = plan.ceiling
    assert ceiling is not None
    if ctl.ee_upper is not None and ctl.fit_ceiling is None:
        plan.set_ceiling((min(ctl.ee_upper, ctl.upper_cpu), min(ctl.ee_upper, ctl.upper_ram)))
    on_cand = cand[run_host]
    wit = _Witnesses(rnd)
    cand &= _drainable(wit, running[on_cand], run_host[on_cand], n_vms)
    drained = False
    by = np.argsort(run_host, kind="stable")  # each host's VMs in increasing index, as running[run_host == h]
    grouped = running[by]
    starts = np.searchsorted(run_host[by], np.arange(len(n_vms) + 1), side="left")
    for h in np.flatnonzero(cand)[np.argsort(load[cand], kind="stable")].tolist():
        if plan.touched[h]:
            continue
        vms = grouped[starts[h]:starts[h + 1]]
        if drained and not _each_fits_somewhere(wit, vms, h):
            continue
        if not _fits_in_total(rnd, vms, h):
            continue
        vms = vms[np.argsort(-plan.vm_r[vms], kind="stable")]
        blocked_before = bool(plan.blocked[h])
        plan.blocked[h] = True
        wit.changed()
        with plan.trial() as trial:
            if all(rnd.move(v, h, power_on=False) for v in vms.tolist()):
                drained = True
                continue
            trial.rollback()
        plan.blocked[h] = blocked_before
    plan.set_ceiling(ceiling)


class _Witnesses:
    """Whether VMs fit on some available host (on, not blocked) other than their own, right now: the same
    answer as testing every host (the VM x host matrix, room >= need in every row), found without the matrix
    for nearly every VM. Each VM is first tested on a few *witnesses* (the hosts with the most room in each
    row when they were picked; tested with their rooms now, so a stale witness only costs time); a VM no
    witness takes is dropped when some row of its need exceeds that row's largest room among the available
    hosts (no host can take it), and only the rest are tested on every host, a chunk of VMs at a time. The
    witnesses are picked again when the full test finds a host they missed."""

    PER_ROW = 8  # witnesses per row of room
    CELLS = 1 << 22  # VM x host x row cells per chunk of the full test

    def __init__(self, rnd: Round):
        self.plan = rnd.plan
        self.hosts = np.zeros(0, np.int64)
        self._avail: np.ndarray | None = None  # the available hosts and each row's largest room among them,
        self._top: np.ndarray | None = None  # kept until the plan changes (changed())
        self._w: np.ndarray | None = None  # the available witnesses and their rooms, as long
        self._w_room: np.ndarray | None = None
        self._pick()

    def changed(self) -> None:
        """The plan changed (a try ran, kept or rolled back): availability and rooms are read again."""
        self._avail = self._top = self._w = self._w_room = None

    def _read(self) -> None:
        plan = self.plan
        assert plan.room is not None
        if self._avail is None:
            self._avail = plan.on & ~plan.blocked
            self._top = plan.room[:, self._avail].max(axis=1) if self._avail.any() else None
        if self._w is None:
            self._w = self.hosts[self._avail[self.hosts]]
            self._w_room = plan.room[:, self._w]

    def all_fit(self, vms: np.ndarray, src: int) -> bool:
        """``fit(vms, [src] * len(vms)).all()``, sooner: a VM whose need exceeds the largest room of a row
        fits nowhere; the witnesses' rooms are read once between tries."""
        plan = self.plan
        assert plan.need is not None
        self._read()
        if not len(vms):
            return True
        need = plan.need[vms]
        if self._top is None or (need > self._top[None, :]).any():
            return False
        w, w_room = self._w, self._w_room
        assert w is not None and w_room is not None
        if w.size and ((w_room[None, :, :] >= need[:, :, None]).all(axis=1) & (w != src)[None, :]).any(axis=1).all():
            return True
        return bool(self.fit(vms, np.full(len(vms), src, dtype=np.int64)).all())

    def _pick(self) -> None:
        plan = self.plan
        assert plan.room is not None
        avail = np.flatnonzero(plan.on & ~plan.blocked)
        k = min(self.PER_ROW, avail.size)
        if k == 0:
            self.hosts = avail
            return
        rows = plan.room[:, avail]
        top = np.argpartition(-rows, k - 1, axis=1)[:, :k] if k < avail.size else np.tile(np.arange(avail.size),
                                                                                           (rows.shape[0], 1))
        self.hosts = np.unique(avail[top.ravel()])
        self._w = self._w_room = None

    def fit(self, vms: np.ndarray, own: np.ndarray) -> np.ndarray:
        """(len(vms),) bool: each VM fits on an available host other than its own (``own``, per VM) now."""
        plan = self.plan
        assert plan.room is not None and plan.need is not None
        room = plan.room
        self._read()
        avail, top = self._avail, self._top
        assert avail is not None
        need = plan.need[vms]
        out = np.zeros(len(vms), dtype=bool)
        w = self.hosts[avail[self.hosts]]
        if w.size and len(vms):
            f = (room[None, :, w] >= need[:, :, None]).all(axis=1)
            f &= w[None, :] != own[:, None]
            out = f.any(axis=1)
        rest = np.flatnonzero(~out)
        if not rest.size or top is None:
            return out
        # no available host has room for some row of the VM's need: it fits nowhere
        rest = rest[(need[rest] <= top[None, :]).all(axis=1)]
        if not rest.size:
            return out
        cand = np.flatnonzero(avail)
        step = max(1, self.CELLS // max(1, cand.size * room.shape[0]))
        found = False
        for a in range(0, rest.size, step):
            part = rest[a:a + step]
            f = (room[None, :, cand] >= need[part][:, :, None]).all(axis=1)
            f &= cand[None, :] != own[part][:, None]
            hit = f.any(axis=1)
            out[part] = hit
            found |= bool(hit.any())
        if found:
            self._pick()
        return out


def _drainable(wit: _Witnesses, running: np.ndarray, run_host: np.ndarray, n_vms: np.ndarray) -> np.ndarray:
    """(n_hosts,) hosts none of whose VMs is in flight and each of whose VMs fits on some other host
    now: a necessary condition for an all-or-nothing drain, for every host at once. Room only shrinks
    while consolidating, so a host failing it now fails it later in the round."""
    nh = len(wit.plan.cap_c)
    fits = wit.fit(running, run_host)
    stuck = np.bincount(run_host, ~fits, nh) > 0
    return ~stuck & (np.bincount(run_host, minlength=nh) == n_vms)  # and no VM of theirs in flight


def _fits_in_total(rnd: Round, vms: np.ndarray, src: int) -> bool:
    """Whether the VMs' summed needs fit in the summed room of the hosts that may receive them: a
    necessary condition of an all-or-nothing drain (bin packing relaxed to one bin), far cheaper than
    trying it."""
    plan = rnd.plan
    assert plan.room is not None and plan.need is not None
    ok = plan.on & ~plan.blocked
    ok[src] = False
    room = np.maximum(plan.room[:, ok], 0.0).sum(axis=1)
    return bool((plan.need[vms].sum(axis=0) <= room).all())


def _each_fits_somewhere(wit: _Witnesses, vms: np.ndarray, src: int) -> bool:
    """Whether every one of the VMs fits on some host other than ``src`` now."""
    return wit.all_fit(vms, src)
