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

The controller is stateless; the engine keeps its memory (``init_memory`` before the first decision) and
checks every decision it returns (:mod:`kumo.engine.migrations`).
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from kumo.books import Books
from kumo.config import Scenario
from kumo.engine.core import REFUSAL_COLUMNS, Core, RunLog
from kumo.engine.events import EV_BOOT, EV_FAIL, EV_MIGRATION, EV_REPAIR, EV_RESTART
from kumo.engine.lifecycle import Lifecycle
from kumo.engine.migrations import Migrations
from kumo.engine.setup import bucket, build_hosts, carbon_forecast, carbon_intensity, prepare_trace
from kumo.models.migration import MIGRATION_MODELS
from kumo.models.power import host_power_w
from kumo.models.virtualization import Virtualization
from kumo.policies import registry
from kumo.policies.placement import Placer
from kumo.results import RunResult, build_result
from kumo.state import (
    HOST_BOOTING,
    HOST_FAILED,
    HOST_OFF,
    HOST_ON,
    VM_MIGRATING,
    VM_QUEUED,
    VM_RUNNING,
    ClusterState,
    ClusterView,
    VmArrays,
)
from kumo.traces.base import Trace

__all__ = ["Engine", "Progress", "run"]

Progress = Callable[[int, int], None]


class Engine:
    """One simulation run. Use :func:`run` unless you need to step by hand (:meth:`step`, or
    :meth:`begin_step` / :meth:`place_arrivals` / :meth:`finish_step` for an outside broker)."""

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
        self.controller = (
            None if scenario.controller.name == "none"
            else registry.make("controller", scenario.controller.name, scenario.controller.params)
        )
        self._memory: Any = None
        self._memory_ready = False
        self.progress = progress
        self.dt = float(tr.step_s)
        n, nh, nv = tr.n_steps, hosts.n, vms.n
        pm = scenario.power_management
        self._boot_w = np.array(
            [hosts.power_tables[i].max_w if pm.boot_power == "max" else hosts.power_tables[i].idle_w
             for i in hosts.type_index])
        # accumulators and per-step records (kumo.books; plain steps are accounted in batches)
        self.carbon = carbon_intensity(scenario, n, self.dt)  # (n,) gCO2/kWh, or None
        self.state.carbon_g_per_kwh = self.carbon
        self.state.carbon_forecast = carbon_forecast(scenario, self.carbon, self.dt)
        books = Books(n, nh, nv, self.dt, hosts.cpu_mhz, hosts.ram_mb, self._power_w,
                      scenario.record_host_steps, scenario.record_vm_steps, self.carbon)
        self.core = Core(self.state, books, pm.boot_s)
        # virtualization models (kumo.models.virtualization): None when the scenario has none
        self.virt = (Virtualization.build(scenario.virtualization, tr.vm_ids, scenario.seed, scenario.name)
                     if scenario.virtualization else None)
        self.migrations = Migrations(self.core, MIGRATION_MODELS[scenario.migration.model](**scenario.migration.params),
                                     self.virt, scenario.controller.name)
        self.lifecycle = Lifecycle(self.core, Placer.from_spec(scenario.placement), self.rng, self.migrations,
                                   self.virt, scenario.placement.on_no_host == "queue",
                                   scenario.placement.queue_timeout_s, self.dt)
        # with managed_arrivals an outside broker decides which VMs arrive here (see place_arrivals)
        self._arrivals = [np.zeros(0, np.int64)] * n if managed_arrivals else bucket(vms.arrive_step, n)
        self._departures = bucket(vms.depart_step, n + 1)
        if self.virt is not None:
            self.state.vm_image[:] = self.virt.vm_image
            self.state.vm_migratable[:] = self.virt.can_migrate
            if self.virt.has_failures:
                frng = np.random.default_rng(np.random.SeedSequence([scenario.seed, 1]))
                fev = self.virt.failures(frng, n * self.dt, nh)
                for h, tf, tr_ in zip(fev.host, fev.fail_s, fev.repair_s, strict=True):
                    self.core.events.push(float(tf), EV_FAIL, int(h))
                    self.core.events.push(float(tr_), EV_REPAIR, int(h))

    # the public parts
    @property
    def books(self) -> Books:
        return self.core.books

    @property
    def log(self) -> RunLog:
        """The run's migrations, rejections and refusals, and each VM's first placed step."""
        return self.core.log

    @property
    def placer(self) -> Placer:
        return self.lifecycle.placer

    @property
    def memory(self) -> Any:
        """The controller's memory (None before its first decision, or without a controller)."""
        return self._memory

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
        self.log.wall_s = _time.perf_counter() - t_wall
        return build_result(self)

    def close(self) -> None:
        """End the run: migrations still in flight keep their planned end time and are marked unfinished."""
        self.migrations.close()
        self.books.flush()

    def step(self, k: int) -> None:
        """Simulate step ``k``: :meth:`begin_step`, trace-driven arrivals, :meth:`finish_step`."""
        self.begin_step(k)
        self.place_arrivals(self._arrivals[k])
        self.finish_step(k)

    def begin_step(self, k: int, retry_queued: bool = True) -> None:
        """Advance the clock to step ``k``: due events, departures, and queued VMs retried (unless
        ``retry_queued`` is False: an outside driver then places them, see :meth:`place_on`)."""
        s = self.state
        t0 = k * self.dt
        s.step, s.t_s = k, t0
        self._run_events_until(t0)
        for vm in self._departures[k]:
            self.lifecycle.depart(int(vm), t0)
        if retry_queued:
            self.lifecycle.retry_queued(k, t0)

    def place_arrivals(self, arrivals: np.ndarray) -> np.ndarray:
        """Place arriving VMs in the scenario's order; returns a bool array: placed or not.

        VMs that fit nowhere are queued or rejected as ``placement.on_no_host`` says. A federation
        broker calls this (with ``managed_arrivals``) for the VMs it routes to this data center.
        """
        return self.lifecycle.place_arrivals(arrivals, self.scenario.placement.order)

    def fits(self, vm: int) -> bool:
        """Whether ``vm`` would find a host now (running or switched off), without placing it."""
        return self.lifecycle.fits(vm)

    def evict(self, vm: int) -> None:
        """Take ``vm`` out of this data center now (it moves elsewhere); recorded as departed."""
        self.lifecycle.depart(vm, self.state.t_s)

    def start_migration(self, vm: int, target: int, t: float, cause: str = "") -> bool:
        """Begin moving ``vm`` to ``target`` at ``t``, switching the target on if it is off; False (and a
        recorded refusal) when the engine's checks refuse it."""
        return self.migrations.start(vm, target, t, cause, frozenset([target]))

    def finish_step(self, k: int) -> None:
        """Observe demand, let the controller decide, account the step and run the events inside it.

        With ``controller.timing = "start"`` the controller acts at the start of the step on the demand of
        the step (its moves start before the step is accounted); with ``"end"`` it acts at the step's end on
        the demand just accounted, so the moves start with the next step (CloudSim's order).
        """
        for t in self.finish_step_decisions(k):
            self._decide(t)

    def finish_step_decisions(self, k: int, external: bool = False) -> Iterator[float]:
        """:meth:`finish_step` with the decisions left to the caller: a generator that yields the time (s) of
        each decision point (``controller.interval_steps``, ``controller.timing``), where the caller decides
        and applies its decision (:meth:`apply_decision`) before it resumes the generator. ``external``:
        decision points also without a controller in the scenario (an outside agent takes its place)."""
        s, dt = self.state, self.dt
        t0, t1 = k * dt, (k + 1) * dt
        cpu, ram, load, useful, mem, idx = self._observe(k)
        decide = ((self.controller is not None or external)
                  and k % self.scenario.controller.interval_steps == 0)
        at_end = self.scenario.controller.timing == "end"
        if decide and not at_end:
            yield t0
        mig = np.flatnonzero(s.vm_state == VM_MIGRATING)  # migrations started now count this step
        self._switch_off_idle(k)
        self._account(k, t0, t1, cpu, ram, load, useful, mem, idx, mig)
        if decide and at_end and k < self.trace.n_steps - 1:
            # the step is over: finish what ends by t1, look again at the step's demand if that moved VMs,
            # and decide (not after the run's last step: nothing decided then could take effect)
            s.t_s = t1
            if self._run_events_until(t1):
                self._observe(k)
            yield t1
        else:
            self._run_events_until(t1, inclusive=False)

    def _switch_off_idle(self, k: int) -> None:
        """With ``power_management.switch_off_idle``: hosts left empty by departures or finished migrations go
        off for the whole step ``k``."""
        s = self.state
        pm = self.scenario.power_management
        if pm.switch_off_idle and (pm.switch_off_carbon_above is None or self.carbon is None
                                   or self.carbon[k] >= pm.switch_off_carbon_above):
            idle = np.flatnonzero((s.host_state == HOST_ON) & (s.host_n_vms == 0))
            if len(idle):
                s.host_state[idle] = HOST_OFF
                self.books.host_acc["switch_offs"][idle] += 1

    def apply_decision(self, decision: Any, t: float | None = None) -> list[tuple[Any, ...]]:
        """Check and apply ``decision`` (a :class:`~kumo.policies.base.Decision` or None) at ``t`` (default:
        now), as the engine applies its controller's; returns the refusals it caused, as rows of
        :data:`~kumo.engine.core.REFUSAL_COLUMNS`."""
        ref = self.log.refusals
        n0 = len(ref["step"])
        self.migrations.apply(decision, self.state.t_s if t is None else t)
        return list(zip(*(ref[c][n0:] for c in REFUSAL_COLUMNS), strict=True))

    # ------------------------------------------------------------------ placement by an outside driver
    def arrivals_at(self, k: int) -> np.ndarray:
        """The trace's VMs arriving at step ``k``, in the order :meth:`place_arrivals` places them."""
        return self.lifecycle.ordered(self._arrivals[k], self.scenario.placement.order)

    def placement_candidates(self, vm: int) -> tuple[np.ndarray, bool, str | None]:
        """Where the scenario's placement may put ``vm`` now: ``(mask, wake, emptied)``, the (n_hosts,) bool
        running hosts passing every filter or, if none does, the switched-off ones (``wake``: the chosen
        host is powered on); ``emptied``: the filter that left no host, when ``mask`` is empty."""
        return self.lifecycle.candidates(vm)

    def place_on(self, vm: int, host: int,
                 candidates: tuple[np.ndarray, bool, str | None] | None = None) -> str | None:
        """Place ``vm`` on ``host`` now with the checks and books of the engine's own placement: ``host``
        must be in :meth:`placement_candidates` (``candidates``, if given, must be its answer for ``vm``
        since the state last changed). None when placed, else the reason it was refused (nothing changed;
        see :meth:`refuse_placement`)."""
        s = self.state
        return self.lifecycle.place_on(vm, host, s.step, s.t_s, candidates)

    def refuse_placement(self, vm: int, reason: str) -> None:
        """``vm`` gets no host now: rejected with ``reason`` (the ``rejections`` table) or queued, as
        ``placement.on_no_host`` says; a queued VM stays queued."""
        s = self.state
        self.lifecycle.refuse(vm, s.step, s.t_s, reason)

    # ------------------------------------------------------------------ runs of steps without a decision
    def run_quiet(self, k: int, stop: int, history: int = 0, external: bool = False) -> tuple[int, np.ndarray]:
        """Run steps ``k``, ``k + 1``, ... before ``stop`` while they need no decision, exactly as
        :meth:`begin_step` (``retry_queued=False``) then :meth:`finish_step` would: an outside driver's
        fast-forward. A step is *quiet* when no VM arrives, none is queued, no controller decides (with
        ``external``, at every decision point of :meth:`finish_step_decisions`), no event (migration end,
        boot, failure) is due before its end, no VM migrates, no host boots and the scenario has no
        virtualization models; VMs may depart. The steps between two departures keep one placement: their
        demand is read as one (steps, VMs) block and accounted at once (:meth:`kumo.books.Books.plain_run`), so
        the state and the books end as they would step by step, to the bit.

        Returns
        -------
        end : the first step not run (``k`` when step ``k`` is not quiet).
        host_cpu : (m, n_hosts) float64, the hosts' CPU demand in MHz (``state.host_cpu_demand``) in the last
            m = min(``history``, end - k) steps run, oldest first.
        """
        s, dt, tr = self.state, self.dt, self.trace
        nh = s.hosts.n
        stop = min(stop, tr.n_steps)
        out: list[np.ndarray] = []
        if not hasattr(self, "_busy"):  # steps with arrivals or departures
            self._busy = (np.array([len(a) > 0 for a in self._arrivals] + [False]),
                          np.array([len(d) > 0 for d in self._departures]))
        arrives, departs = self._busy
        every = self.scenario.controller.interval_steps if self.controller is not None or external else 0
        t_ev = self.core.events.next_time()  # nothing schedules events in a quiet run
        if (k >= stop or self.virt is not None or not self.batch_plain_steps or arrives[k]
                or (every and k % every == 0) or (k + 1) * dt > t_ev
                or ((s.vm_state == VM_QUEUED) | (s.vm_state == VM_MIGRATING)).any()
                or (s.host_state == HOST_BOOTING).any()):
            return k, np.empty((0, nh))
        cap = self.scenario.trace.cap_demand_at_booking
        pm = self.scenario.power_management
        start = k
        cpu = ram = np.zeros(0)
        idx = np.zeros(0, np.int64)
        while k < stop and not arrives[k] and not (every and k % every == 0) and (k + 1) * dt <= t_ev:
            # a run of quiet steps [k, j) with one placement: departures only at its first step
            m = np.arange(k + 1, stop)
            ends = arrives[k + 1:stop] | departs[k + 1:stop] | ((m + 1) * dt > t_ev)
            if every:
                ends |= m % every == 0
            j = k + 1 + int(np.argmax(ends)) if ends.any() else stop
            t0 = k * dt
            s.step, s.t_s = k, t0
            for vm in self._departures[k]:
                self.lifecycle.depart(int(vm), t0)
            self._switch_off_idle(k)
            if pm.switch_off_idle and ((s.host_state == HOST_ON) & (s.host_n_vms == 0)).any():
                j = k + 1  # idle hosts left on (carbon timing): a later step may switch them off
            placed = s.vm_state == VM_RUNNING  # as _observe, block by block (no VM migrates)
            idx = np.flatnonzero(placed)
            cpu = tr.cpu[k:j].astype(np.float64)
            if cap:
                cpu = np.minimum(cpu, s.vms.cpu_booked_mhz)
            ram = (np.tile(s.vms.ram_booked_mb, (j - k, 1)) if tr.ram_mb is None
                   else tr.ram_mb[k:j].astype(np.float64))
            if cap:
                ram = np.minimum(ram, s.vms.ram_booked_mb)
            cpu = np.where(placed, cpu, 0.0)
            ram = np.where(placed, ram, 0.0)
            hosts_of = s.vm_host[idx]
            self.books.plain_run(k, cpu, ram, idx, s.vm_host.copy(), s.host_state != HOST_OFF, s.host_n_vms.copy(),
                                 s.host_state.copy())
            out += [np.bincount(hosts_of, cpu[i][idx], nh) for i in range(max(0, j - k - history), j - k)]
            out = out[max(0, len(out) - history):] if history else []
            s.step, s.t_s = j - 1, (j - 1) * dt
            k = j
        if k > start:  # the state as _observe leaves it after the last step run
            hosts_of = s.vm_host[idx]
            s.vm_cpu_demand[:] = cpu[-1]
            s.vm_ram_demand[:] = ram[-1]
            s.host_cpu_demand[:] = np.bincount(hosts_of, cpu[-1][idx], nh)
            s.host_ram_demand[:] = np.bincount(hosts_of, ram[-1][idx], nh)
        return k, np.array(out, dtype=np.float64).reshape(-1, nh)

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
        ctl = self.controller
        assert ctl is not None
        if not self._memory_ready:
            self._memory = ctl.init_memory(self.view)
            self._memory_ready = True
        self.migrations.apply(ctl.decide(self.view, self._memory, self.rng), t)

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
        s, tr, mig = self.state, self.trace, self.migrations
        extra = {c: np.where(placed, tr.extra[c][k], 0.0) for c in tr.extra}
        mig.dirty_mbps = virt.dirty_mbps(cpu, s.vms.cpu_booked_mhz, extra)
        load, useful = cpu, None
        if virt.has_cpu or virt.has_io or virt.has_replication:
            on = np.maximum(s.vm_host, 0)
            c = virt.cpu_demand(cpu, s.hosts.core_mhz[on], on, s.hosts.nic_mbps, extra, mig.dirty_mbps,
                                s.vms.ram_booked_mb)
            load = np.where(placed, c.effective_mhz, 0.0)
            useful = c.useful_factor
            mig.host_net_mbps = np.bincount(s.vm_host[idx], c.net_mbps[idx], s.hosts.n)
        mem = None
        if virt.has_memory:
            mem = virt.ram_demand(ram, s.vms.ram_booked_mb, np.where(placed, s.vm_host, -1), s.hosts.ram_mb)
        return load, useful, mem

    def _run_events_until(self, t: float, inclusive: bool = True) -> int:
        """Run the events due by ``t``; returns how many ran."""
        s = self.state
        n = 0
        for t_ev, kind, payload in self.core.events.due(t, inclusive):
            n += 1
            if kind == EV_MIGRATION:
                self.migrations.finish(payload)
            elif kind == EV_BOOT and s.host_state[payload] == HOST_BOOTING:
                s.host_state[payload] = HOST_ON
            elif kind == EV_FAIL:
                self.lifecycle.fail_host(payload, t_ev)
            elif kind == EV_REPAIR and s.host_state[payload] == HOST_FAILED:
                s.host_state[payload] = HOST_OFF  # repaired hosts come back switched off
            elif kind == EV_RESTART:
                self.lifecycle.restart(payload, t_ev)
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
        reserve = getattr(self.migrations.model, "target_cpu_reserve", 0.0)
        self.books.exact(k, t0, t1, s, cpu, ram, load, useful, mem, placed, mig, self.migrations.flight[:, mig],
                         reserve, booting, self._boot_w)


def run(scenario: Scenario, trace: Trace | None = None, progress: Progress | None = None) -> RunResult:
    """Simulate ``scenario`` on ``trace`` (default: the scenario's trace source) and return the results."""
    if trace is None:
        trace = scenario.trace.load()
    return Engine(scenario, trace, progress).run()
