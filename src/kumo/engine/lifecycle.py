"""A VM's life in the engine: arrival and placement (or queue, or rejection), departure, its host's
failure and its restart elsewhere.

The queue. With ``placement.on_no_host = "queue"`` a VM that fits nowhere waits and is tried again at every
step start (after the departures), lowest VM index first. With ``placement.queue_timeout_s = T`` it waits at
most T seconds: a VM that entered the queue at step q is tried at the steps k with (k - q) x step_s <= T;
after its last failed try it is rejected (a ``rejections`` row with reason ``queue timeout``). A queued VM
whose trace lifetime ends leaves the queue unserved. A VM served late runs the rest of its trace lifetime
(the trace fixes when it leaves).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kumo.engine.core import Core
from kumo.engine.events import EV_RESTART
from kumo.engine.migrations import Migrations
from kumo.policies.placement import Placer
from kumo.policies.placement_cache import ChoiceCache
from kumo.state import (
    HOST_FAILED,
    HOST_OFF,
    VM_DEPARTED,
    VM_DOWN,
    VM_MIGRATING,
    VM_PENDING,
    VM_QUEUED,
    VM_REJECTED,
    VM_RUNNING,
    ClusterView,
)

__all__ = ["Lifecycle"]


class Lifecycle:
    """Places, removes and restarts VMs through the scenario's :class:`~kumo.policies.placement.Placer`.

    Parameters
    ----------
    core : the run's shared state, books, events and log.
    placer : initial placement (filters and weighers).
    rng : the run's generator (random tie-breaks).
    migrations : to abort the migrations of VMs that leave or lose their host.
    virt : the virtualization bundle (restart delays after failures), or None.
    queue : VMs that fit nowhere wait in a queue (else they are rejected).
    queue_timeout_s : the longest a VM waits in the queue, s (None: no limit).
    step_s : the step length, s (for the timeout).

    Attributes
    ----------
    asked_step : (n_vms,) int32, the step a VM first asked this data center for a host, -1 if never.
    """

    def __init__(self, core: Core, placer: Placer, rng: np.random.Generator, migrations: Migrations, virt: Any,
                 queue: bool, queue_timeout_s: float | None = None, step_s: float = 0.0):
        self.core = core
        self.view = ClusterView(core.state)
        self.placer = placer
        self.rng = rng
        self.migrations = migrations
        self.virt = virt
        self.queue = queue
        self.queue_timeout_s = queue_timeout_s
        self.step_s = float(step_s)
        n = core.state.vms.n
        self.down_since = np.full(n, -1.0)
        self.asked_step = np.full(n, -1, np.int32)
        self.queued_step = np.full(n, -1, np.int32)

    def batch(self) -> ChoiceCache | None:
        """A :class:`~kumo.policies.placement_cache.ChoiceCache` for a run of :meth:`place` calls in which
        nothing else changes the hosts (None when the placer cannot be cached: then each VM is a pass)."""
        return ChoiceCache(self.placer, self.view) if ChoiceCache.usable(self.placer) else None

    def place(self, vm: int, step: int, t: float, batch: ChoiceCache | None = None) -> bool:
        """Put ``vm`` on the best feasible host (switching an off host on if no running one fits); False when
        none fits (recorded as a rejection unless the VM is already queued). ``batch``: from :meth:`batch`,
        shared by the placements of one batch (the same choices, without a pass over every host per VM)."""
        core, s = self.core, self.core.state
        host = -1 if batch is None else batch.choose(vm)
        if host < 0:
            ok, emptied = self.placer.feasible(self.view, vm)
            host = self.placer.choose(self.view, vm, ok, self.rng)
        if host < 0:
            # no running host fits: consider switched-off hosts and power the chosen one on
            off = s.host_state == HOST_OFF
            if off.any():
                ok2, _ = self.placer.feasible(self.view, vm, skip=("powered",), within=off)
                host = self.placer.choose(self.view, vm, ok2, self.rng)
                if host >= 0:
                    core.power_on(host, t)
        if host < 0:
            if s.vm_state[vm] != VM_QUEUED:
                core.log.reject(vm, step, t, f"no host passes filter '{emptied}'")
            return False
        s.vm_host[vm] = host
        s.vm_state[vm] = VM_RUNNING
        core.book(vm, host, +1)
        if batch is not None:
            batch.touch(host)
        first = core.log.first_placed_step
        if first[vm] < 0:
            first[vm] = step
        if self.down_since[vm] >= 0:  # back after a host failure
            core.add_downtime(vm, t - self.down_since[vm])
            self.down_since[vm] = -1.0
        return True

    def place_arrivals(self, arrivals: np.ndarray, order: str) -> np.ndarray:
        """Place arriving VMs in ``order`` (``trace``, ``ram-desc``, ``cpu-desc``); bool array: placed or not."""
        s = self.core.state
        arrivals = np.asarray(arrivals, dtype=np.int64)
        ok = np.zeros(len(arrivals), dtype=bool)
        if not len(arrivals):
            return ok
        perm = np.arange(len(arrivals))
        if order == "ram-desc":
            perm = np.argsort(-s.vms.ram_booked_mb[arrivals], kind="stable")
        elif order == "cpu-desc":
            perm = np.argsort(-s.vms.cpu_booked_mhz[arrivals], kind="stable")
        asked = self.asked_step
        batch = self.batch() if len(arrivals) > 1 else None
        for i in perm:
            vm = int(arrivals[i])
            if asked[vm] < 0:
                asked[vm] = s.step
            ok[i] = self.place(vm, s.step, s.t_s, batch)
            if not ok[i]:
                self._enqueue(vm, s.step)
        return ok

    def _enqueue(self, vm: int, step: int) -> None:
        """``vm`` found no host at ``step``: it waits, unless there is no queue or it may not wait a step."""
        s = self.core.state
        if self.queue and not self._expired(step + 1, step):
            s.vm_state[vm] = VM_QUEUED
            self.queued_step[vm] = step
        else:
            s.vm_state[vm] = VM_REJECTED

    def _expired(self, step: int, since: int) -> bool:
        """Whether a VM queued at ``since`` has waited past the timeout by ``step``."""
        t = self.queue_timeout_s
        return t is not None and (step - since) * self.step_s > t

    def retry_queued(self, step: int, t: float) -> None:
        """Try the queued VMs again, lowest index first; those that may not wait another step are rejected."""
        if self.queue:
            s = self.core.state
            queued = np.flatnonzero(s.vm_state == VM_QUEUED)
            batch = self.batch() if len(queued) > 1 else None
            for v in queued:
                if not self.place(int(v), step, t, batch):
                    self._time_out(int(v), step, t)

    def _time_out(self, vm: int, step: int, t: float) -> None:
        """A queued VM not served at ``step`` is rejected if it may not wait another step."""
        since = int(self.queued_step[vm])
        if self._expired(step + 1, since):
            self.core.state.vm_state[vm] = VM_REJECTED
            self.core.log.reject(vm, step, t, f"queue timeout: waited {(step - since) * self.step_s:g} s "
                                              f"(queue_timeout_s = {self.queue_timeout_s:g})")

    def fits(self, vm: int) -> bool:
        """Whether ``vm`` would find a host now (running or switched off), without placing it."""
        ok, _ = self.placer.feasible(self.view, vm)
        if ok.any():
            return True
        off = self.core.state.host_state == HOST_OFF
        return bool(off.any() and self.placer.feasible(self.view, vm, skip=("powered",), within=off)[0].any())

    def depart(self, vm: int, t: float) -> None:
        """``vm`` leaves at ``t`` (its lifetime ended, or a broker moved it away)."""
        core, s = self.core, self.core.state
        st = s.vm_state[vm]
        if st == VM_MIGRATING:
            self.migrations.abort(vm, t)
        if st in (VM_RUNNING, VM_MIGRATING):
            core.book(vm, int(s.vm_host[vm]), -1)
            s.vm_host[vm] = -1
        if st == VM_DOWN:
            core.add_downtime(vm, t - self.down_since[vm])
            self.down_since[vm] = -1.0
        if st in (VM_RUNNING, VM_MIGRATING, VM_QUEUED, VM_PENDING, VM_DOWN):
            s.vm_state[vm] = VM_DEPARTED

    def fail_host(self, host: int, t: float) -> None:
        """A host breaks at ``t``: migrations to it abort, its VMs go down and restart (or fail over)
        elsewhere after the delay the replication/container models give."""
        core, s = self.core, self.core.state
        if s.host_state[host] == HOST_FAILED:
            return
        for vm in np.flatnonzero((s.vm_state == VM_MIGRATING) & (s.vm_target == host)):
            self.migrations.abort(int(vm), t)
        victims = np.flatnonzero(((s.vm_state == VM_RUNNING) | (s.vm_state == VM_MIGRATING)) & (s.vm_host == host))
        for vm in victims:
            if s.vm_state[vm] == VM_MIGRATING:
                self.migrations.abort(int(vm), t)
            core.book(int(vm), host, -1)
            s.vm_host[vm] = -1
            s.vm_state[vm] = VM_DOWN
            self.down_since[vm] = t
            core.books.vm_acc["failures"][vm] += 1
        if len(victims) and self.virt is not None:
            delay, _ = self.virt.on_host_failure(victims)
            for vm, d in zip(victims, delay, strict=True):
                core.events.push(t + float(d), EV_RESTART, int(vm))
        s.host_state[host] = HOST_FAILED
        core.books.host_acc["failures"][host] += 1

    def restart(self, vm: int, t: float) -> None:
        """A VM of a failed host comes back: placed anew, else queued or rejected."""
        s = self.core.state
        if s.vm_state[vm] != VM_DOWN:
            return
        if not self.place(vm, s.step, t):
            self._enqueue(vm, s.step)

    # ------------------------------------------------------------------ placement driven from outside
    # :meth:`candidates`, :meth:`place_on` and :meth:`refuse` split :meth:`place` for a driver that chooses
    # the host itself (kumo.gym): the same feasible set, the same books. Keep them in step with place().
    def ordered(self, arrivals: np.ndarray, order: str) -> np.ndarray:
        """``arrivals`` in the order :meth:`place_arrivals` places them (``trace``, ``ram-desc``, ``cpu-desc``)."""
        s = self.core.state
        arrivals = np.asarray(arrivals, dtype=np.int64)
        if order == "ram-desc":
            return arrivals[np.argsort(-s.vms.ram_booked_mb[arrivals], kind="stable")]
        if order == "cpu-desc":
            return arrivals[np.argsort(-s.vms.cpu_booked_mhz[arrivals], kind="stable")]
        return arrivals

    def candidates(self, vm: int) -> tuple[np.ndarray, bool, str | None]:
        """Where :meth:`place` may put ``vm`` now: ``(mask, wake, emptied)`` with ``mask`` (n_hosts,) bool the
        running hosts that pass every filter or, when there is none, the switched-off hosts that would
        (``wake``: the chosen one is powered on); ``emptied`` names the filter that left no running host."""
        s = self.core.state
        ok, emptied = self.placer.feasible(self.view, vm)
        if ok.any():
            return ok, False, None
        off = s.host_state == HOST_OFF
        if off.any():
            ok2, _ = self.placer.feasible(self.view, vm, skip=("powered",), within=off)
            if ok2.any():
                return ok2, True, None
        return ok, False, emptied

    def place_on(self, vm: int, host: int, step: int, t: float,
                 candidates: tuple[np.ndarray, bool, str | None] | None = None) -> str | None:
        """Put ``vm`` on ``host`` if :meth:`candidates` allows it (powering it on when it is off), with the
        books of :meth:`place`; None when placed, else why not (nothing changed). ``candidates``: what
        :meth:`candidates` returned for ``vm`` since the state last changed (saves computing it again)."""
        core, s = self.core, self.core.state
        if not 0 <= host < s.hosts.n:
            return f"host {host} out of range 0..{s.hosts.n - 1}"
        mask, wake, emptied = self.candidates(vm) if candidates is None else candidates
        if not mask[host]:
            if not mask.any():
                return f"no host passes filter '{emptied}'"
            skip = ("powered",) if wake else ()
            for name, f in self.placer.filters:
                if name not in skip and not f.mask(self.view, vm)[host]:
                    return f"host {host} fails filter '{name}'"
            return f"host {host} is {'on' if wake else 'off'}"  # the other set holds the candidates
        if wake:
            core.power_on(host, t)
        if self.asked_step[vm] < 0:
            self.asked_step[vm] = step
        s.vm_host[vm] = host
        s.vm_state[vm] = VM_RUNNING
        core.book(vm, host, +1)
        first = core.log.first_placed_step
        if first[vm] < 0:
            first[vm] = step
        if self.down_since[vm] >= 0:  # back after a host failure
            core.add_downtime(vm, t - self.down_since[vm])
            self.down_since[vm] = -1.0
        return None

    def refuse(self, vm: int, step: int, t: float, reason: str) -> None:
        """``vm`` gets no host now: rejected (recorded with ``reason``) or queued, as :meth:`place_arrivals`
        treats a VM that fits nowhere; a VM already queued stays queued unless it has waited out
        ``queue_timeout_s``, as :meth:`retry_queued` treats it."""
        s = self.core.state
        if self.asked_step[vm] < 0:
            self.asked_step[vm] = step
        if s.vm_state[vm] == VM_QUEUED:
            self._time_out(vm, step, t)
            return
        self.core.log.reject(vm, step, t, reason)
        self._enqueue(vm, step)
