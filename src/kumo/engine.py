"""The time-step loop: the only code that mutates simulation state.

Time model. Step k covers [k*dt, (k+1)*dt). The trace sample of step k is the VM's demand for that whole
step (piecewise constant). At the start of step k, in this order: VMs whose lifetime ended leave, arriving
(and queued) VMs are placed, the demand of step k is observed, the controller (if any) decides, and
migrations start at t = k*dt. With ``controller.timing = "end"`` the controller decides instead once step
k is accounted, on its demand, and its migrations start at (k+1)*dt (CloudSim's order). Migrations and host
boots end at exact times inside a step; their effects are integrated exactly per segment
(:mod:`kumo.integrate`), so a 14 s migration in a 300 s step costs 14 s, not a step. With
``power_management.switch_off_idle``, hosts that are empty after the decisions are switched off for the
whole step. The books (per-step records and totals) are kept by :mod:`kumo.books`, which accounts steps
without sub-step events in batches.

Energy. Between events every host's load is constant, so energy = sum of P(u) x duration over segments is
exact (no trapezoid error). Hosts that are off draw 0 W; hosts that are on but empty draw idle power;
booting hosts draw the boot power.
"""

from __future__ import annotations

import heapq
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kumo.books import Books
from kumo.config import Scenario
from kumo.errors import ConfigError
from kumo.models.migration import MIGRATION_MODELS
from kumo.models.power import SPECPOWER_TABLES, PowerTable, host_power_w, linear_table
from kumo.models.virtualization import Virtualization
from kumo.policies import registry
from kumo.policies.placement import Placer
from kumo.results import RunResult, build_result
from kumo.state import (
    HOST_BOOTING,
    HOST_FAILED,
    HOST_OFF,
    HOST_ON,
    VM_DEPARTED,
    VM_DOWN,
    VM_MIGRATING,
    VM_PENDING,
    VM_QUEUED,
    VM_REJECTED,
    VM_RUNNING,
    ClusterState,
    ClusterView,
    HostArrays,
    VmArrays,
)
from kumo.traces.base import Trace

Progress = Callable[[int, int], None]

# event kinds; at equal times they run in this order
_EV_MIGRATION = 0
_EV_BOOT = 1
_EV_FAIL = 2
_EV_REPAIR = 3
_EV_RESTART = 4


@dataclass
class Decision:
    """What a controller asks for at one step: migrations (vm, target host) and hosts to switch off.

    ``causes`` (optional, one per migration) says why each VM moves (``overload``, ``underload``, ``lb``,
    ``ee``...); the migrations table records it, ``reason`` standing in where it is not given."""

    migrations: list[tuple[int, int]] = field(default_factory=list)
    switch_off: list[int] = field(default_factory=list)
    reason: str = ""
    causes: list[str] | None = None


# ------------------------------------------------------------------------------------------------ set-up
def _power_table(spec: object) -> PowerTable:
    kind = spec.kind  # type: ignore[attr-defined]
    if kind == "linear":
        return linear_table(spec.idle_w, spec.max_w)  # type: ignore[attr-defined]
    if kind == "table":
        return PowerTable(tuple(spec.watts))  # type: ignore[attr-defined]
    return PowerTable(SPECPOWER_TABLES[spec.model])  # type: ignore[attr-defined]


def build_hosts(scenario: Scenario) -> tuple[HostArrays, np.ndarray]:
    """Host arrays in scenario order (``grouped``) or round-robin over types (``interleaved``)."""
    types = np.concatenate([np.full(h.count, i, np.int32) for i, h in enumerate(scenario.hosts)])
    if scenario.host_layout == "interleaved":
        # host i takes the next type in turn among types with hosts left (CloudSim: type = i mod n)
        left = [h.count for h in scenario.hosts]
        order: list[int] = []
        while any(left):
            for i in range(len(left)):
                if left[i]:
                    order.append(i)
                    left[i] -= 1
        types = np.asarray(order, np.int32)
    ht = scenario.hosts
    cores = np.array([ht[i].cores for i in types], np.int32)
    core_mhz = np.array([ht[i].core_mhz for i in types], np.float64)
    hosts = HostArrays(
        type_index=types,
        cores=cores,
        core_mhz=core_mhz,
        cpu_mhz=cores * core_mhz,
        ram_mb=np.array([ht[i].ram_mb for i in types], np.float64),
        nic_mbps=np.array([ht[i].nic_mbps for i in types], np.float64),
        cpu_overcommit=np.array([ht[i].cpu_overcommit for i in types], np.float64),
        ram_overcommit=np.array([ht[i].ram_overcommit for i in types], np.float64),
        power_tables=[_power_table(h.power) for h in ht],
    )
    initially_on = np.array([ht[i].initially_on for i in types], bool)
    return hosts, initially_on


def prepare_trace(scenario: Scenario, trace: Trace) -> Trace:
    """Apply the scenario's VM subset, step limit and VM types to a trace."""
    ts = scenario.trace
    if ts.max_vms is not None or ts.max_steps is not None:
        trace = trace.select(
            vms=None if ts.max_vms is None else slice(0, ts.max_vms),
            steps=None if ts.max_steps is None else slice(0, ts.max_steps),
        )
    if ts.vm_type_assignment != "trace":
        n, k = trace.n_vms, len(ts.vm_types)
        if ts.vm_type_assignment == "blocks":
            idx = np.arange(n) // int(np.ceil(n / k))
        else:
            idx = np.arange(n) % k
        vt = ts.vm_types
        trace = trace.with_vm_sizes(
            cores=np.array([vt[i].cores for i in idx]),
            cpu_mhz=np.array([vt[i].cpu_mhz for i in idx]),
            ram_mb=np.array([vt[i].ram_mb for i in idx]),
        )
    problems = []
    if trace.cpu_unit != "mhz":
        problems.append("trace.vm_types: this trace gives CPU as a fraction of the VM size; set vm_types and "
                        "vm_type_assignment ('blocks' or 'round-robin')")
    else:
        bad = ~np.isfinite(trace.cpu_booked_mhz) | ~np.isfinite(trace.ram_booked_mb)
        if bad.any():
            problems.append(f"trace: {int(bad.sum())} VM(s) have no booked size (first: {trace.vm_ids[bad][0]}); "
                            "give trace.vm_types")
    if trace.n_vms == 0:
        problems.append("trace: has no VMs")
    if problems:
        raise ConfigError(problems, scenario.name)
    return trace


# ------------------------------------------------------------------------------------------------ engine
class Engine:
    """One simulation run. Use :func:`run` unless you need to step by hand."""

    #: account plain steps in batches (:mod:`kumo.books`); False integrates every step on its own (the
    #: reference the batched path is tested against)
    batch_plain_steps = True

    def __init__(self, scenario: Scenario, trace: Trace, progress: Progress | None = None,
                 managed_arrivals: bool = False):
        self.scenario = scenario
        self.trace = prepare_trace(scenario, trace)
        tr = self.trace
        hosts, initially_on = build_hosts(scenario)
        vms = VmArrays(
            ids=tr.vm_ids,
            cores=tr.cores.astype(np.int32),
            cpu_booked_mhz=tr.cpu_booked_mhz.astype(np.float64),
            ram_booked_mb=tr.ram_booked_mb.astype(np.float64),
            arrive_step=tr.arrive_step.astype(np.int32),
            depart_step=tr.depart_step.astype(np.int32),
        )
        self.state = ClusterState.empty(hosts, vms, initially_on)
        self.view = ClusterView(self.state)
        self.rng = np.random.default_rng(np.random.SeedSequence(scenario.seed))
        self.placer = Placer.from_spec(scenario.placement)
        self.migration = MIGRATION_MODELS[scenario.migration.model](**scenario.migration.params)
        self.controller = (
            None if scenario.controller.name == "none"
            else registry.make("controller", scenario.controller.name, scenario.controller.params)
        )
        self.progress = progress
        self.dt = float(tr.step_s)
        pm = scenario.power_management
        self._boot_w = np.array(
            [hosts.power_tables[i].max_w if pm.boot_power == "max" else hosts.power_tables[i].idle_w
             for i in hosts.type_index])
        self._events: list[tuple[float, int, int, int]] = []  # (time, kind, seq, payload)
        self._seq = 0
        # migration records
        self._mig: dict[str, list] = {k: [] for k in (
            "vm", "src", "dst", "start_s", "end_s", "ram_mb", "status", "downtime_s", "cpu_loss", "cause")}
        self._mig_open: dict[int, int] = {}  # vm -> record index
        self._flight = np.zeros((3, tr.n_vms))  # start s, end s, CPU loss fraction of each VM's open migration
        self._rej: dict[str, list] = {k: [] for k in ("vm", "step", "t_s", "reason")}
        n, nh, nv = tr.n_steps, hosts.n, vms.n
        # with managed_arrivals an outside broker decides which VMs arrive here (see place_arrivals)
        self._arrivals = [np.zeros(0, np.int64)] * n if managed_arrivals else _bucket(vms.arrive_step, n)
        self._departures = _bucket(vms.depart_step, n + 1)
        # accumulators and per-step records (kumo.books; plain steps are accounted in batches)
        self.books = Books(n, nh, nv, self.dt, hosts.cpu_mhz, hosts.ram_mb, self._power_w,
                           scenario.record_host_steps, scenario.record_vm_steps)
        self.migrations_refused = 0
        # virtualization models (kumo.models.virtualization): None when the scenario has none
        self.virt = (Virtualization.build(scenario.virtualization, tr.vm_ids, scenario.seed, scenario.name)
                     if scenario.virtualization else None)
        self._dirty_mbps = np.zeros(nv)
        self._host_net_mbps: np.ndarray = np.zeros(nh)
        self._down_since = np.full(nv, -1.0)
        if self.virt is not None:
            self.state.vm_image[:] = self.virt.vm_image
            self.state.vm_migratable[:] = self.virt.can_migrate
            if self.virt.has_failures:
                frng = np.random.default_rng(np.random.SeedSequence([scenario.seed, 1]))
                fev = self.virt.failures(frng, n * self.dt, nh)
                for h, tf, tr_ in zip(fev.host, fev.fail_s, fev.repair_s, strict=True):
                    self._push(float(tf), _EV_FAIL, int(h))
                    self._push(float(tr_), _EV_REPAIR, int(h))
        self.vm_first_step = np.full(nv, -1, np.int32)
        self.wall_s = 0.0

    # the books, brought up to date on every read
    @property
    def vm_acc(self) -> dict[str, np.ndarray]:
        self.books.flush()
        return self.books.vm_acc

    @property
    def host_acc(self) -> dict[str, np.ndarray]:
        self.books.flush()
        return self.books.host_acc

    @property
    def step_rec(self) -> dict[str, np.ndarray]:
        self.books.flush()
        return self.books.step_rec

    @property
    def vm_steps(self) -> dict[str, np.ndarray] | None:
        self.books.flush()
        return self.books.vm_steps

    @property
    def host_steps(self) -> dict[str, np.ndarray] | None:
        self.books.flush()
        return self.books.host_steps

    def _power_w(self, u: np.ndarray, hidx: np.ndarray | None) -> np.ndarray:
        """Watts of hosts ``hidx`` (None: all, in order) at utilization ``u``."""
        s = self.state
        return host_power_w(u, s.hosts.type_index if hidx is None else s.hosts.type_index[hidx],
                            s.hosts.power_tables)

    # -------------------------------------------------------------------------------------- mutations
    def _book(self, vm: int, host: int, sign: float) -> None:
        s = self.state
        s.host_cpu_booked[host] += sign * s.vms.cpu_booked_mhz[vm]
        s.host_ram_booked[host] += sign * s.vms.ram_booked_mb[vm]
        s.host_n_vms[host] += int(sign)

    def _power_on(self, host: int, t: float) -> None:
        s = self.state
        if s.host_state[host] != HOST_OFF:
            return
        self.books.host_acc["switch_ons"][host] += 1
        boot = self.scenario.power_management.boot_s
        if boot > 0:
            s.host_state[host] = HOST_BOOTING
            s.host_ready_s[host] = t + boot
            self._push(t + boot, _EV_BOOT, host)
        else:
            s.host_state[host] = HOST_ON

    def _push(self, t: float, kind: int, payload: int) -> None:
        heapq.heappush(self._events, (t, kind, self._seq, payload))
        self._seq += 1

    def _place(self, vm: int, step: int, t: float) -> bool:
        s = self.state
        ok, emptied = self.placer.feasible(self.view, vm)
        host = self.placer.rank(self.view, vm, ok, self.rng)
        if host < 0:
            # no running host fits: consider switched-off hosts and power the chosen one on
            off = s.host_state == HOST_OFF
            if off.any():
                ok2, _ = self.placer.feasible(self.view, vm, skip=("powered",), within=off)
                host = self.placer.rank(self.view, vm, ok2, self.rng)
                if host >= 0:
                    self._power_on(host, t)
        if host < 0:
            if s.vm_state[vm] != VM_QUEUED:
                self._rej["vm"].append(vm)
                self._rej["step"].append(step)
                self._rej["t_s"].append(t)
                self._rej["reason"].append(f"no host passes filter '{emptied}'")
            return False
        s.vm_host[vm] = host
        s.vm_state[vm] = VM_RUNNING
        self._book(vm, host, +1)
        if self.vm_first_step[vm] < 0:
            self.vm_first_step[vm] = step
        if self._down_since[vm] >= 0:  # back after a host failure
            self._add_downtime(vm, t - self._down_since[vm])
            self._down_since[vm] = -1.0
        return True

    def _add_downtime(self, vm: int, seconds: float) -> None:
        self.books.vm_acc["downtime_s"][vm] += seconds
        if self.books.vm_steps is not None:
            self.books.vm_steps["downtime_s"][self.state.step, vm] += seconds

    def start_migration(self, vm: int, target: int, t: float, cause: str = "") -> bool:
        """Begin moving ``vm`` to ``target`` at time ``t`` (controllers call this through decisions).

        A VM that cannot live-migrate (passthrough, SR-IOV, a container without checkpoint/restore) or a
        failed target is refused: counted in ``migrations_refused``, nothing moves, returns False.
        """
        claimed = self._claim(vm, target, t)
        if claimed is None:
            return False
        src, ram = claimed
        dur, down, loss = self._migration_timing(vm, src, target, ram)
        self._record_start(vm, src, target, t, ram, dur, down, loss, cause)
        self.books.step_rec["migrations_started"][self.state.step] += 1
        return True

    def _claim(self, vm: int, target: int, t: float) -> tuple[int, float] | None:
        """Check a requested move and mark the VM migrating, the target booked and powered: ``(source, RAM to
        copy)``, or None when the move is refused (counted)."""
        s = self.state
        if s.vm_state[vm] != VM_RUNNING:
            raise RuntimeError(f"controller asked to migrate VM {s.vms.ids[vm]} in state {s.vm_state[vm]}")
        src = int(s.vm_host[vm])
        if target == src or not 0 <= target < s.hosts.n:
            raise RuntimeError(f"controller asked to migrate VM {s.vms.ids[vm]} from host {src} to host {target}")
        if not s.vm_migratable[vm] or s.host_state[target] == HOST_FAILED:
            self.migrations_refused += 1
            return None
        self._power_on(target, t)
        s.vm_state[vm] = VM_MIGRATING
        s.vm_target[vm] = target
        self._book(vm, target, +1)
        # what the copy moves: the booking (CloudSim) or the RAM in use now (kohne-sla-scheduling.md §3.6)
        used = getattr(self.migration, "ram", "booked") == "used"
        return src, float(s.vm_ram_demand[vm] if used else s.vms.ram_booked_mb[vm])

    def _record_start(self, vm: int, src: int, target: int, t: float, ram: float, dur: float, down: float,
                      loss: float, cause: str) -> None:
        # the migration's record, its downtime and counters, and its completion event
        m = self._mig
        self._mig_open[vm] = len(m["vm"])
        for k, v in zip(("vm", "src", "dst", "start_s", "end_s", "ram_mb", "status", "downtime_s", "cpu_loss",
                         "cause"),
                        (vm, src, target, t, t + dur, ram, "in-flight", down, loss, cause), strict=True):
            m[k].append(v)
        self._flight[:, vm] = (t, t + dur, loss)
        self.books.vm_acc["migrations"][vm] += 1
        self._add_downtime(vm, down)
        self.books.host_acc["migrations_out"][src] += 1
        self.books.host_acc["migrations_in"][target] += 1
        self._push(t + dur, _EV_MIGRATION, vm)

    def _start_batch(self, migrations: list[tuple[int, int]], t: float, causes: list[str]) -> None:
        """:meth:`start_migration` for a decision's migrations, with one timing call for all of them.

        Only without virtualization models, where a migration's timing depends on its RAM and NIC alone
        (not on the others in flight), so the result is the same as starting them one by one."""
        s = self.state
        started: list[tuple[int, int, int, float, str]] = []
        for (vm, target), cause in zip(migrations, causes, strict=True):
            claimed = self._claim(int(vm), int(target), t)
            if claimed is not None:
                started.append((int(vm), claimed[0], int(target), claimed[1], cause))
        if not started:
            return
        srcs = [x[1] for x in started]
        dsts = [x[2] for x in started]
        nic = np.minimum(s.hosts.nic_mbps[srcs], s.hosts.nic_mbps[dsts])
        dur, down, loss = self._timings(np.array([x[3] for x in started], dtype=np.float64), nic)
        for j, (vm, src, target, ram, cause) in enumerate(started):
            self._record_start(vm, src, target, t, ram, float(dur[j]), float(down[j]), float(loss[j]), cause)
        self.books.step_rec["migrations_started"][s.step] += len(started)

    def _timings(self, ram: np.ndarray, nic: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # (duration s, downtime s, CPU loss fraction) per migration from the migration model alone
        model = self.migration
        if hasattr(model, "timing"):
            tm = model.timing(ram, nic, None)
            return (np.asarray(tm.total_s, dtype=np.float64), np.asarray(tm.downtime_s, dtype=np.float64),
                    np.asarray(tm.cpu_loss, dtype=np.float64))
        dur = np.asarray(model.duration_s(ram, nic), dtype=np.float64)
        down = np.asarray(model.downtime_s(ram, nic), dtype=np.float64)
        return dur, down, np.full(ram.size, float(model.source_cpu_loss))

    def _migration_timing(self, vm: int, src: int, dst: int, ram: float) -> tuple[float, float, float]:
        """(duration s, downtime s, fraction of CPU lost while in flight) of one migration starting now."""
        s, model = self.state, self.migration
        if self.virt is not None:
            # the NIC left after VM traffic, shared with the migrations already in flight on either end
            mig = np.flatnonzero(s.vm_state == VM_MIGRATING)
            mig = mig[mig != vm]  # this one is already marked as migrating; it is counted once below
            ends = np.concatenate([s.vm_host[mig], s.vm_target[mig], [src, dst]])
            per_host = np.bincount(ends, minlength=s.hosts.n)
            bw = self.virt.migration_bandwidth_mbps(np.array([src]), np.array([dst]), s.hosts.nic_mbps,
                                                    self._host_net_mbps, per_host)
            tm = self.virt.migration_timing(model, np.array([vm]), np.array([ram]), bw,
                                            self._dirty_mbps[[vm]], s.vm_ram_demand[[vm]])
            return float(tm.total_s[0]), float(tm.downtime_s[0]), float(tm.cpu_loss[0])
        nic = min(s.hosts.nic_mbps[src], s.hosts.nic_mbps[dst])
        dur, down, loss = self._timings(np.array([ram]), np.array([nic]))
        return float(dur[0]), float(down[0]), float(loss[0])

    def _abort_migration(self, vm: int, t: float) -> None:
        s = self.state
        self._book(vm, int(s.vm_target[vm]), -1)
        s.vm_target[vm] = -1
        s.vm_state[vm] = VM_RUNNING
        rec = self._mig_open.pop(vm)
        self._mig["status"][rec] = "aborted"
        self._mig["end_s"][rec] = t

    def _fail_host(self, host: int, t: float) -> None:
        """A host breaks at ``t``: migrations to it abort, its VMs go down and restart (or fail over)
        elsewhere after the delay the replication/container models give."""
        s = self.state
        if s.host_state[host] == HOST_FAILED:
            return
        for vm in np.flatnonzero((s.vm_state == VM_MIGRATING) & (s.vm_target == host)):
            self._abort_migration(int(vm), t)
        victims = np.flatnonzero(((s.vm_state == VM_RUNNING) | (s.vm_state == VM_MIGRATING)) & (s.vm_host == host))
        for vm in victims:
            if s.vm_state[vm] == VM_MIGRATING:
                self._abort_migration(int(vm), t)
            self._book(int(vm), host, -1)
            s.vm_host[vm] = -1
            s.vm_state[vm] = VM_DOWN
            self._down_since[vm] = t
            self.books.vm_acc["failures"][vm] += 1
        if len(victims) and self.virt is not None:
            delay, _ = self.virt.on_host_failure(victims)
            for vm, d in zip(victims, delay, strict=True):
                self._push(t + float(d), _EV_RESTART, int(vm))
        s.host_state[host] = HOST_FAILED
        self.books.host_acc["failures"][host] += 1

    def _restart(self, vm: int, t: float) -> None:
        s = self.state
        if s.vm_state[vm] != VM_DOWN:
            return
        if not self._place(vm, s.step, t):
            s.vm_state[vm] = VM_QUEUED if self.scenario.placement.on_no_host == "queue" else VM_REJECTED

    def _finish_migration(self, vm: int) -> None:
        s = self.state
        if s.vm_state[vm] != VM_MIGRATING:
            return  # cancelled (the VM departed)
        src = int(s.vm_host[vm])
        self._book(vm, src, -1)
        s.vm_host[vm] = s.vm_target[vm]
        s.vm_target[vm] = -1
        s.vm_state[vm] = VM_RUNNING
        self._mig["status"][self._mig_open.pop(vm)] = "done"

    def _depart(self, vm: int, t: float) -> None:
        s = self.state
        st = s.vm_state[vm]
        if st == VM_MIGRATING:
            self._abort_migration(vm, t)
        if st in (VM_RUNNING, VM_MIGRATING):
            self._book(vm, int(s.vm_host[vm]), -1)
            s.vm_host[vm] = -1
        if st == VM_DOWN:
            self._add_downtime(vm, t - self._down_since[vm])
            self._down_since[vm] = -1.0
        if st in (VM_RUNNING, VM_MIGRATING, VM_QUEUED, VM_PENDING, VM_DOWN):
            s.vm_state[vm] = VM_DEPARTED

    def _apply(self, d: Decision, t: float) -> None:
        causes = list(d.causes) if d.causes is not None else [d.reason] * len(d.migrations)
        if len(causes) != len(d.migrations):
            raise RuntimeError(f"decision '{d.reason}': {len(causes)} causes for {len(d.migrations)} migrations")
        if self.virt is None and len(d.migrations) > 1:
            self._start_batch(d.migrations, t, causes)
        else:
            for (vm, target), cause in zip(d.migrations, causes, strict=True):
                self.start_migration(int(vm), int(target), t, cause)
        s = self.state
        for h in d.switch_off:
            if s.host_n_vms[h] > 0:
                raise RuntimeError(f"controller asked to switch off host {h}, which holds {s.host_n_vms[h]} VM(s)")
            if s.host_state[h] != HOST_OFF:
                s.host_state[h] = HOST_OFF
                self.books.host_acc["switch_offs"][h] += 1

    # -------------------------------------------------------------------------------------- the loop
    def run(self) -> RunResult:
        t_wall = _time.perf_counter()
        n = self.trace.n_steps
        every = max(1, n // 100)
        for k in range(n):
            self.step(k)
            if self.progress is not None and (k % every == 0 or k == n - 1):
                self.progress(k + 1, n)
        self.close()
        self.wall_s = _time.perf_counter() - t_wall
        return build_result(self)

    def close(self) -> None:
        """End the run: migrations still in flight keep their planned end time and are marked unfinished."""
        for rec in self._mig_open.values():
            self._mig["status"][rec] = "unfinished"
        self.books.flush()

    def step(self, k: int) -> None:
        """Simulate step ``k``: :meth:`begin_step`, trace-driven arrivals, :meth:`finish_step`."""
        self.begin_step(k)
        self.place_arrivals(self._arrivals[k])
        self.finish_step(k)

    def begin_step(self, k: int) -> None:
        """Advance the clock to step ``k``: due events, departures, and queued VMs retried."""
        s = self.state
        t0 = k * self.dt
        s.step, s.t_s = k, t0
        self._run_events_until(t0)
        for vm in self._departures[k]:
            self._depart(int(vm), t0)
        if self.scenario.placement.on_no_host == "queue":
            for vm in np.flatnonzero(s.vm_state == VM_QUEUED):
                self._place(int(vm), k, t0)

    def place_arrivals(self, arrivals: np.ndarray) -> np.ndarray:
        """Place arriving VMs in the scenario's order; returns a bool array: placed or not.

        VMs that fit nowhere are queued or rejected as ``placement.on_no_host`` says. A federation
        broker calls this (with ``managed_arrivals``) for the VMs it routes to this data center.
        """
        s = self.state
        arrivals = np.asarray(arrivals, dtype=np.int64)
        ok = np.zeros(len(arrivals), dtype=bool)
        if not len(arrivals):
            return ok
        order = self.scenario.placement.order
        perm = np.arange(len(arrivals))
        if order == "ram-desc":
            perm = np.argsort(-s.vms.ram_booked_mb[arrivals], kind="stable")
        elif order == "cpu-desc":
            perm = np.argsort(-s.vms.cpu_booked_mhz[arrivals], kind="stable")
        queue = self.scenario.placement.on_no_host == "queue"
        for i in perm:
            vm = int(arrivals[i])
            ok[i] = self._place(vm, s.step, s.t_s)
            if not ok[i]:
                s.vm_state[vm] = VM_QUEUED if queue else VM_REJECTED
        return ok

    def fits(self, vm: int) -> bool:
        """Whether ``vm`` would find a host now (running or switched off), without placing it."""
        ok, _ = self.placer.feasible(self.view, vm)
        if ok.any():
            return True
        off = self.state.host_state == HOST_OFF
        return bool(off.any() and self.placer.feasible(self.view, vm, skip=("powered",), within=off)[0].any())

    def evict(self, vm: int) -> None:
        """Take ``vm`` out of this data center now (it moves elsewhere); recorded as departed."""
        self._depart(vm, self.state.t_s)

    def finish_step(self, k: int) -> None:
        """Observe demand, let the controller decide, account the step and run the events inside it.

        With ``controller.timing = "start"`` the controller acts at the start of the step on the demand of
        the step (its moves start before the step is accounted); with ``"end"`` it acts at the step's end on
        the demand just accounted, so the moves start with the next step (CloudSim's order).
        """
        s, dt = self.state, self.dt
        t0, t1 = k * dt, (k + 1) * dt
        cpu, ram, load, useful, mem, idx = self._observe(k)
        decide = self.controller is not None and k % self.scenario.controller.interval_steps == 0
        at_end = self.scenario.controller.timing == "end"
        if decide and not at_end:
            self._decide(t0)
        mig = np.flatnonzero(s.vm_state == VM_MIGRATING)  # migrations started now count this step
        if self.scenario.power_management.switch_off_idle:
            # hosts left empty by departures or finished migrations go off for the whole step
            idle = np.flatnonzero((s.host_state == HOST_ON) & (s.host_n_vms == 0))
            if len(idle):
                s.host_state[idle] = HOST_OFF
                self.books.host_acc["switch_offs"][idle] += 1
        self._account(k, t0, t1, cpu, ram, load, useful, mem, idx, mig)
        if decide and at_end and k < self.trace.n_steps - 1:
            # the step is over: finish what ends by t1, look again at the step's demand if that moved VMs,
            # and decide (not after the run's last step: nothing decided then could take effect)
            s.t_s = t1
            if self._run_events_until(t1):
                self._observe(k)
            self._decide(t1)
        else:
            self._run_events_until(t1, inclusive=False)

    def _observe(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, Any, np.ndarray]:
        """Read step ``k``'s demand into the state (per VM, and per host counting VMs in flight on both
        ends); returns (cpu, ram, host load per VM, useful fraction, memory-model result, placed VMs)."""
        s, tr = self.state, self.trace
        placed = (s.vm_state == VM_RUNNING) | (s.vm_state == VM_MIGRATING)
        cpu = tr.cpu[k].astype(np.float64)
        if self.scenario.trace.cap_demand_at_booking:
            cpu = np.minimum(cpu, s.vms.cpu_booked_mhz)
        ram = s.vms.ram_booked_mb.copy() if tr.ram_mb is None else tr.ram_mb[k].astype(np.float64)
        if self.scenario.trace.cap_demand_at_booking:
            ram = np.minimum(ram, s.vms.ram_booked_mb)
        cpu = np.where(placed, cpu, 0.0)
        ram = np.where(placed, ram, 0.0)
        nh = s.hosts.n
        idx = np.flatnonzero(placed)
        hosts_of = s.vm_host[idx]
        load, useful, mem = self._virtualize(k, placed, idx, cpu, ram)
        s.vm_cpu_demand[:] = cpu
        s.vm_ram_demand[:] = ram
        s.host_cpu_demand[:] = np.bincount(hosts_of, load[idx], nh)
        s.host_ram_demand[:] = mem.host_resident_mb if mem is not None else np.bincount(hosts_of, ram[idx], nh)
        mig = np.flatnonzero(s.vm_state == VM_MIGRATING)
        if len(mig):
            np.add.at(s.host_cpu_demand, s.vm_target[mig], load[mig])
            np.add.at(s.host_ram_demand, s.vm_target[mig], ram[mig])
        return cpu, ram, load, useful, mem, idx

    def _decide(self, t: float) -> None:
        assert self.controller is not None
        decision = self.controller.decide(self.view, self.rng)
        if decision is not None:
            self._apply(decision, t)

    def _virtualize(self, k: int, placed: np.ndarray, idx: np.ndarray, cpu: np.ndarray,
                    ram: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, Any]:
        """Apply the virtualization models to this step's demand.

        Returns the CPU load each VM puts on its host (MHz: guest demand x mode overhead + I/O CPU), the
        useful fraction of delivered CPU (replication pauses; None = all useful) and the memory model's
        result (None when off). Also refreshes the dirty rates and host NIC traffic used by migrations.
        """
        virt = self.virt
        if virt is None:
            return cpu, None, None
        s, tr = self.state, self.trace
        extra = {c: np.where(placed, tr.extra[c][k], 0.0) for c in tr.extra}
        self._dirty_mbps = virt.dirty_mbps(cpu, s.vms.cpu_booked_mhz, extra)
        load, useful = cpu, None
        if virt.has_cpu or virt.has_io or virt.has_replication:
            on = np.maximum(s.vm_host, 0)
            c = virt.cpu_demand(cpu, s.hosts.core_mhz[on], on, s.hosts.nic_mbps, extra, self._dirty_mbps,
                                s.vms.ram_booked_mb)
            load = np.where(placed, c.effective_mhz, 0.0)
            useful = c.useful_factor
            self._host_net_mbps = np.bincount(s.vm_host[idx], c.net_mbps[idx], s.hosts.n)
        mem = None
        if virt.has_memory:
            mem = virt.ram_demand(ram, s.vms.ram_booked_mb, np.where(placed, s.vm_host, -1), s.hosts.ram_mb)
        return load, useful, mem

    def _run_events_until(self, t: float, inclusive: bool = True) -> int:
        """Run the events due by ``t``; returns how many ran."""
        ev = self._events
        n = 0
        while ev and (ev[0][0] <= t if inclusive else ev[0][0] < t):
            n += 1
            t_ev, kind, _, payload = heapq.heappop(ev)
            if kind == _EV_MIGRATION:
                self._finish_migration(payload)
            elif kind == _EV_BOOT and self.state.host_state[payload] == HOST_BOOTING:
                self.state.host_state[payload] = HOST_ON
            elif kind == _EV_FAIL:
                self._fail_host(payload, t_ev)
            elif kind == _EV_REPAIR and self.state.host_state[payload] == HOST_FAILED:
                self.state.host_state[payload] = HOST_OFF  # repaired hosts come back switched off
            elif kind == _EV_RESTART:
                self._restart(payload, t_ev)
        return n

    def _account(self, k: int, t0: float, t1: float, cpu: np.ndarray, ram: np.ndarray, load: np.ndarray,
                 useful: np.ndarray | None, mem: Any, placed: np.ndarray, mig: np.ndarray) -> None:
        """Integrate step ``k``: ``cpu`` is useful guest demand, ``load`` what VMs put on their hosts;
        ``placed`` the running or migrating VMs (decisions do not change that set), ``mig`` the migrating ones
        after the step's decision."""
        s = self.state
        booting = np.flatnonzero((s.host_state == HOST_BOOTING) & (s.host_ready_s > t0))
        if self.batch_plain_steps and not len(mig) and not len(booting):
            # a plain step: constant loads over the step, accounted in a batch (kumo.books)
            self.books.plain(k, cpu, ram, placed, s.vm_host.copy(), s.host_state != HOST_OFF,
                             s.host_n_vms.copy(), s.host_state.copy(), None if load is cpu else load, useful, mem)
            return
        reserve = getattr(self.migration, "target_cpu_reserve", 0.0)
        self.books.exact(k, t0, t1, s, cpu, ram, load, useful, mem, placed, mig, self._flight[:, mig], reserve,
                         booting, self._boot_w)


def _bucket(step_of: np.ndarray, n: int) -> list[np.ndarray]:
    """VM indices grouped by step (ascending VM index within a step); steps >= n are dropped."""
    order = np.argsort(step_of, kind="stable")
    cut = np.searchsorted(step_of[order], np.arange(n + 1))
    return [order[cut[i]:cut[i + 1]] for i in range(n)]


def run(scenario: Scenario, trace: Trace | None = None, progress: Progress | None = None) -> RunResult:
    """Simulate ``scenario`` on ``trace`` (default: the scenario's trace source) and return the results."""
    if trace is None:
        from kumo.traces import load

        trace = load(scenario.trace.source, format=scenario.trace.format)
    return Engine(scenario, trace, progress).run()
