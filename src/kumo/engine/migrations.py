"""Controller decisions: the engine's checks, and live migrations from start to end.

Which checks are whose
----------------------
The **engine** checks every part of every :class:`~kumo.policies.base.Decision` and refuses (never
applies) what breaks the cluster's rules; a refusal is recorded in the run's refusals table with its
reason and, for migrations, counted in ``migrations_refused``:

============================  ==============================================================
reason                        refused because
============================  ==============================================================
``vm-not-running``            the VM is not running (pending, departed, down, already migrating)
``vm-pinned``                 the VM cannot live-migrate (passthrough, SR-IOV, container without C/R)
``target-is-source``          the target is the VM's own host
``target-failed``             the target host has failed
``target-off``                the target is switched off and the decision does not power it on
``target-cpu-full``           booked CPU after the move would exceed ``cpu_overcommit x cpu_mhz``
``target-ram-full``           booked RAM after the move would exceed ``ram_overcommit x ram_mb``
``host-not-empty``            a switch-off of a host that holds VMs
``host-failed``               a power-on of a failed host
============================  ==============================================================

A decision that is malformed (not a Decision, an index out of range) is a bug in the policy and raises
:class:`~kumo.errors.PolicyError`. Everything about *use* is the **policy's** business: demand and
thresholds, SLA objectives, detector verdicts, how many VMs move at once, not moving a VM twice (the
engine refuses the second as not running).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from kumo.engine.core import Core
from kumo.engine.events import EV_MIGRATION
from kumo.errors import PolicyError
from kumo.policies.base import Decision
from kumo.state import HOST_FAILED, HOST_OFF, VM_MIGRATING, VM_RUNNING

__all__ = ["Migrations", "refusal"]


def refusal(core: Core, vm: int, target: int, power_on: frozenset[int]) -> str | None:
    """Why the engine refuses moving ``vm`` to ``target`` now, or None when the move is allowed."""
    s = core.state
    if s.vm_state[vm] != VM_RUNNING:
        return "vm-not-running"
    if not s.vm_migratable[vm]:
        return "vm-pinned"
    if target == s.vm_host[vm]:
        return "target-is-source"
    hs = s.host_state[target]
    if hs == HOST_FAILED:
        return "target-failed"
    if hs == HOST_OFF and target not in power_on:
        return "target-off"
    h = s.hosts
    if s.host_cpu_booked[target] + s.vms.cpu_booked_mhz[vm] > h.cpu_overcommit[target] * h.cpu_mhz[target] * (1 + 1e-12):
        return "target-cpu-full"
    if s.host_ram_booked[target] + s.vms.ram_booked_mb[vm] > h.ram_overcommit[target] * h.ram_mb[target] * (1 + 1e-12):
        return "target-ram-full"
    return None


class Migrations:
    """Applies decisions and runs migrations: claim (checks, booking on the target), timing, record, end.

    Parameters
    ----------
    core : the run's shared state, books, events and log.
    model : the migration model (:data:`kumo.models.migration.MIGRATION_MODELS`).
    virt : the virtualization bundle, or None.
    controller : the controller's registered name (for error messages).
    """

    def __init__(self, core: Core, model: Any, virt: Any, controller: str = "?"):
        self.core = core
        self.model = model
        self.virt = virt
        self.controller = controller
        self.open: dict[int, int] = {}  # vm -> its record in the log
        self.flight = np.zeros((3, core.state.vms.n))  # start s, end s, CPU loss fraction of each open migration
        self.dirty_mbps: np.ndarray = np.zeros(core.state.vms.n)  # refreshed when virtualization is on
        self.host_net_mbps: np.ndarray = np.zeros(core.state.hosts.n)

    # ------------------------------------------------------------------------------------------ decisions
    def apply(self, d: Any, t: float) -> None:
        """Check and apply one decision at time ``t``: migrations, then switch-offs, then power-ons."""
        core = self.core
        s = core.state
        if d is None:
            return
        if not isinstance(d, Decision):
            raise PolicyError("controller", self.controller, f"decide() returned a {type(d).__name__}; expected a "
                              "kumo.api.Decision or None")
        nv, nh = s.vms.n, s.hosts.n
        for vm, target in d.migrations:
            if not (0 <= vm < nv and 0 <= target < nh):
                raise PolicyError("controller", self.controller, f"migration ({vm}, {target}) out of range: VMs are "
                                  f"0..{nv - 1}, hosts 0..{nh - 1}")
        for h in (*d.switch_off, *d.power_on):
            if not 0 <= h < nh:
                raise PolicyError("controller", self.controller, f"host {h} out of range 0..{nh - 1}")
        wake = frozenset(d.power_on)
        causes = [d.cause_of(i) for i in range(len(d.migrations))]
        if self.virt is None and len(d.migrations) > 1:
            self._start_batch(d.migrations, t, causes, wake)
        else:
            for (vm, target), cause in zip(d.migrations, causes, strict=True):
                self.start(vm, target, t, cause, wake)
        for h in d.switch_off:
            if s.host_n_vms[h] > 0:
                core.log.refuse(s.step, t, "switch_off", -1, h, "host-not-empty")
            elif s.host_state[h] != HOST_OFF:
                s.host_state[h] = HOST_OFF
                core.books.host_acc["switch_offs"][h] += 1
        for h in d.power_on:
            if s.host_state[h] == HOST_FAILED:
                core.log.refuse(s.step, t, "power_on", -1, h, "host-failed")
            else:
                core.power_on(h, t)

    def start(self, vm: int, target: int, t: float, cause: str = "", power_on: frozenset[int] = frozenset()) -> bool:
        """Begin moving ``vm`` to ``target`` at ``t``; False (recorded) when the engine refuses it."""
        claimed = self._claim(vm, target, t, power_on)
        if claimed is None:
            return False
        src, ram = claimed
        dur, down, loss = self._timing_one(vm, src, target, ram)
        self._record_start(vm, src, target, t, ram, dur, down, loss, cause)
        self.core.books.step_rec["migrations_started"][self.core.state.step] += 1
        return True

    def _claim(self, vm: int, target: int, t: float, power_on: frozenset[int]) -> tuple[int, float] | None:
        """Check a requested move and mark the VM migrating, the target booked and powered: ``(source, RAM to
        copy)``, or None when the move is refused (recorded)."""
        core = self.core
        s = core.state
        why = refusal(core, vm, target, power_on)
        if why is not None:
            core.log.refuse(s.step, t, "migration", vm, target, why)
            return None
        core.power_on(target, t)
        s.vm_state[vm] = VM_MIGRATING
        s.vm_target[vm] = target
        core.book(vm, target, +1)
        # what the copy moves: the booking (CloudSim) or the RAM in use now (kohne-sla-scheduling.md §3.6)
        used = getattr(self.model, "ram", "booked") == "used"
        return int(s.vm_host[vm]), float(s.vm_ram_demand[vm] if used else s.vms.ram_booked_mb[vm])

    def _record_start(self, vm: int, src: int, target: int, t: float, ram: float, dur: float, down: float,
                      loss: float, cause: str) -> None:
        # the migration's record, its downtime and counters, and its completion event
        core = self.core
        m = core.log.migrations
        self.open[vm] = len(m["vm"])
        for k, v in zip(("vm", "src", "dst", "start_s", "end_s", "ram_mb", "status", "downtime_s", "cpu_loss",
                         "cause"),
                        (vm, src, target, t, t + dur, ram, "in-flight", down, loss, cause), strict=True):
            m[k].append(v)
        self.flight[:, vm] = (t, t + dur, loss)
        core.books.vm_acc["migrations"][vm] += 1
        core.add_downtime(vm, down)
        core.books.host_acc["migrations_out"][src] += 1
        core.books.host_acc["migrations_in"][target] += 1
        core.events.push(t + dur, EV_MIGRATION, vm)

    def _start_batch(self, migrations: Sequence[tuple[int, int]], t: float, causes: list[str],
                     power_on: frozenset[int]) -> None:
        """:meth:`start` for a decision's migrations, with one timing call for all of them.

        Only without virtualization models, where a migration's timing depends on its RAM and NIC alone
        (not on the others in flight), so the result is the same as starting them one by one."""
        s = self.core.state
        started: list[tuple[int, int, int, float, str]] = []
        for (vm, target), cause in zip(migrations, causes, strict=True):
            claimed = self._claim(vm, target, t, power_on)
            if claimed is not None:
                started.append((vm, claimed[0], target, claimed[1], cause))
        if not started:
            return
        srcs = [x[1] for x in started]
        dsts = [x[2] for x in started]
        nic = np.minimum(s.hosts.nic_mbps[srcs], s.hosts.nic_mbps[dsts])
        dur, down, loss = self._timings(np.array([x[3] for x in started], dtype=np.float64), nic)
        vms = [x[0] for x in started]
        if len(set(vms)) < len(vms):  # a VM twice (not from the controllers): one record at a time
            for j, (vm, src, target, ram, cause) in enumerate(started):
                self._record_start(vm, src, target, t, ram, float(dur[j]), float(down[j]), float(loss[j]), cause)
        else:
            self._record_starts(started, t, dur.tolist(), down.tolist(), loss.tolist())
        self.core.books.step_rec["migrations_started"][s.step] += len(started)

    def _record_starts(self, started: list[tuple[int, int, int, float, str]], t: float, dur: list[float],
                       down: list[float], loss: list[float]) -> None:
        # _record_start of each migration, in order, for distinct VMs: the same records, values and events
        core = self.core
        m = core.log.migrations
        n0 = len(m["vm"])
        vms = [x[0] for x in started]
        srcs = [x[1] for x in started]
        dsts = [x[2] for x in started]
        ends = [t + d for d in dur]
        for k, v in (("vm", vms), ("src", srcs), ("dst", dsts), ("start_s", [t] * len(vms)), ("end_s", ends),
                     ("ram_mb", [x[3] for x in started]), ("status", ["in-flight"] * len(vms)),
                     ("downtime_s", down), ("cpu_loss", loss), ("cause", [x[4] for x in started])):
            m[k].extend(v)
        for j, vm in enumerate(vms):
            self.open[vm] = n0 + j
        self.flight[0, vms] = t
        self.flight[1, vms] = ends
        self.flight[2, vms] = loss
        np.add.at(core.books.vm_acc["migrations"], vms, 1)
        for vm, dt in zip(vms, down, strict=True):
            core.add_downtime(vm, dt)
        np.add.at(core.books.host_acc["migrations_out"], srcs, 1)
        np.add.at(core.books.host_acc["migrations_in"], dsts, 1)
        for vm, end in zip(vms, ends, strict=True):
            core.events.push(end, EV_MIGRATION, vm)

    # ------------------------------------------------------------------------------------------ timing
    def _timings(self, ram: np.ndarray, nic: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # (duration s, downtime s, CPU loss fraction) per migration from the migration model alone
        model = self.model
        if hasattr(model, "timing"):
            tm = model.timing(ram, nic, None)
            return (np.asarray(tm.total_s, dtype=np.float64), np.asarray(tm.downtime_s, dtype=np.float64),
                    np.asarray(tm.cpu_loss, dtype=np.float64))
        dur = np.asarray(model.duration_s(ram, nic), dtype=np.float64)
        down = np.asarray(model.downtime_s(ram, nic), dtype=np.float64)
        return dur, down, np.full(ram.size, float(model.source_cpu_loss))

    def _timing_one(self, vm: int, src: int, dst: int, ram: float) -> tuple[float, float, float]:
        """(duration s, downtime s, fraction of CPU lost while in flight) of one migration starting now."""
        s = self.core.state
        if self.virt is not None:
            # the NIC left after VM traffic, shared with the migrations already in flight on either end
            mig = np.flatnonzero(s.vm_state == VM_MIGRATING)
            mig = mig[mig != vm]  # this one is already marked as migrating; it is counted once below
            ends = np.concatenate([s.vm_host[mig], s.vm_target[mig], [src, dst]])
            per_host = np.bincount(ends, minlength=s.hosts.n)
            bw = self.virt.migration_bandwidth_mbps(np.array([src]), np.array([dst]), s.hosts.nic_mbps,
                                                    self.host_net_mbps, per_host)
            tm = self.virt.migration_timing(self.model, np.array([vm]), np.array([ram]), bw,
                                            self.dirty_mbps[[vm]], s.vm_ram_demand[[vm]])
            return float(tm.total_s[0]), float(tm.downtime_s[0]), float(tm.cpu_loss[0])
        nic = min(s.hosts.nic_mbps[src], s.hosts.nic_mbps[dst])
        dur, down, loss = self._timings(np.array([ram]), np.array([nic]))
        return float(dur[0]), float(down[0]), float(loss[0])

    # ------------------------------------------------------------------------------------------ ends
    def finish(self, vm: int) -> None:
        """A migration's end event: the VM runs on its target (nothing if it was cancelled meanwhile)."""
        core = self.core
        s = core.state
        if s.vm_state[vm] != VM_MIGRATING:
            return  # cancelled (the VM departed)
        core.book(vm, int(s.vm_host[vm]), -1)
        s.vm_host[vm] = s.vm_target[vm]
        s.vm_target[vm] = -1
        s.vm_state[vm] = VM_RUNNING
        core.log.migrations["status"][self.open.pop(vm)] = "done"

    def abort(self, vm: int, t: float) -> None:
        """Cut ``vm``'s migration short at ``t``: it stays on its source."""
        core = self.core
        s = core.state
        core.book(vm, int(s.vm_target[vm]), -1)
        s.vm_target[vm] = -1
        s.vm_state[vm] = VM_RUNNING
        rec = self.open.pop(vm)
        core.log.migrations["status"][rec] = "aborted"
        core.log.migrations["end_s"][rec] = t

    def close(self) -> None:
        """End of the run: migrations still in flight keep their planned end and are marked unfinished."""
        for rec in self.open.values():
            self.core.log.migrations["status"][rec] = "unfinished"
