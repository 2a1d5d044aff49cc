"""The planned cluster: a controller's what-if copy of the hosts while it makes one decision.

Controllers (``consolidation``, ``sla``, yours) plan their moves on a :class:`PlannedCluster` built from
the read-only view: each :meth:`~PlannedCluster.move` shifts a VM's demand from its source to its target
in the copy, so the next choice sees the moves already planned. A trial (:meth:`~PlannedCluster.trial`)
can be rolled back exactly, e.g. when a host cannot be emptied completely. The copy offers the same
attributes as a :class:`~kumo.state.ClusterView`, with the planned values, so the registered filters and
weighers score it directly (:meth:`kumo.policies.placement.Placer.rank`).

Bookkeeping follows the engine: a VM's demand leaves its source at once, its booking stays on the source
until the migration ends (the engine books a VM in flight on both hosts).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from kumo.state import HOST_OFF, VM_MIGRATING, VM_RUNNING, ClusterView, HostArrays, VmArrays

__all__ = ["CpuHistory", "PlannedCluster"]


@dataclass(frozen=True)
class CpuHistory:
    """Recent CPU demand kept by a controller: ``vm`` (T, n_vms) and ``host`` (T, n_hosts) MHz, rows in any
    (common) order, the first ``filled`` rows valid. Weighers that correlate loads read it (``op``)."""

    vm: np.ndarray
    host: np.ndarray
    filled: int


def _ro(a: np.ndarray) -> np.ndarray:
    v = a.view()
    v.flags.writeable = False
    return v


class PlannedCluster:
    """Host loads, bookings and power states of one decision in progress (copies; the view is untouched).

    Parameters
    ----------
    view : the cluster now.
    release_in_flight : count a VM migrating out as gone from its source already (its demand and the
        source's use), mark both ends of every migration in flight as touched, and block hosts all of
        whose VMs are leaving (the ``sla`` controller's reading). False: the view's loads as they are.
    ceiling : with ``ceiling = (cpu, ram)`` (fractions of capacity) the plan also keeps ``room`` (4,
        n_hosts): CPU and RAM use left under the ceiling, CPU and RAM bookable left under the overcommit
        ratios; and ``need`` (n_vms, 4), what each VM takes of them. :meth:`fits` is then one comparison.
    history : recent CPU demand for weighers that need it (:class:`CpuHistory`), or None.

    Attributes
    ----------
    used_c, used_r : (n_hosts,) planned CPU (MHz) and RAM (MB) demand.
    book_c, book_r : (n_hosts,) planned CPU (MHz) and RAM (MB) bookings.
    n_vms : (n_hosts,) VMs on each host.
    on : (n_hosts,) bool, not switched off (a target is switched on by the move).
    touched : (n_hosts,) bool, sent or received a VM in this decision.
    blocked : (n_hosts,) bool, may not receive (hosts being emptied); the controller's to set.
    moves : [(vm, target)] in planning order; ``moved`` the set of their VMs.
    extras : per-host arrays of the controller's own (first axis = host); a move may change their rows
        ``src`` and ``dst`` only, and a rolled-back trial restores those rows too.
    kernel : None, or a compiled stand-in for the array work of :meth:`move` and of a trial's saves and
        rollbacks (``kumo.policies._pick.Kernel``), set by a controller whose kernel holds these very arrays
        and every one of ``extras`` (the consolidation controller: its kernel's move also updates the host
        histories). The same values, bit for bit; only the Python overhead per move goes.
    """

    def __init__(self, view: ClusterView, *, release_in_flight: bool = False,
                 ceiling: tuple[float, float] | None = None, history: CpuHistory | None = None):
        hosts, vms = view.hosts, view.vms
        nh = hosts.n
        self.view = view
        self.cap_c: np.ndarray = hosts.cpu_mhz
        self.cap_r: np.ndarray = hosts.ram_mb
        self.vm_c: np.ndarray = view.vm_cpu_demand
        self.vm_r: np.ndarray = view.vm_ram_demand
        self.used_c = np.array(view.host_cpu_demand, dtype=np.float64)
        self.used_r = np.array(view.host_ram_demand, dtype=np.float64)
        self.book_c = np.array(view.host_cpu_booked, dtype=np.float64)
        self.book_r = np.array(view.host_ram_booked, dtype=np.float64)
        self.n_vms = np.array(view.host_n_vms, dtype=np.int64)
        self.on = np.array(view.host_state != HOST_OFF)
        self.touched = np.zeros(nh, bool)
        self.blocked = np.zeros(nh, bool)
        self.moves: list[tuple[int, int]] = []
        self.moved: set[int] = set()
        self.extras: dict[str, np.ndarray] = {}
        self.history = history
        if release_in_flight:
            vm_state, vm_host = view.vm_state, view.vm_host
            mig = np.flatnonzero(vm_state == VM_MIGRATING)
            if len(mig):
                src = vm_host[mig]
                np.subtract.at(self.used_c, src, self.vm_c[mig])
                np.subtract.at(self.used_r, src, self.vm_r[mig])
                self.touched[src] = True
                self.touched[view.vm_target[mig]] = True
                # a host all of whose VMs are leaving is being emptied: it receives nothing
                staying = np.bincount(vm_host[vm_state == VM_RUNNING], minlength=nh)
                self.blocked[src] = True
                self.blocked &= staying == 0
        self.room: np.ndarray | None = None
        self.need: np.ndarray | None = None
        self.ceiling = ceiling
        if ceiling is not None:
            eps = 1 - 1e-12  # a booking that fills a host exactly still fits
            self.need = np.stack([self.vm_c, self.vm_r, vms.cpu_booked_mhz * eps, vms.ram_booked_mb * eps], axis=1)
            self.room = np.stack([self.used_c, self.used_r,
                                  hosts.cpu_overcommit * hosts.cpu_mhz - view.host_cpu_booked,
                                  hosts.ram_overcommit * hosts.ram_mb - view.host_ram_booked])
            self.set_ceiling(ceiling)
        self.kernel: Any = None
        self._log: list[bool] | None = None  # in a trial: per move, whether its VM had moved before it
        self._saved: dict[int, tuple[Any, ...]] = {}  # in a trial: each touched host's values before it
        self._ro = {name: _ro(getattr(self, attr)) for name, attr in (
            ("host_cpu_demand", "used_c"), ("host_ram_demand", "used_r"), ("host_cpu_booked", "book_c"),
            ("host_ram_booked", "book_r"), ("host_n_vms", "n_vms"), ("host_on", "on"))}

    # ------------------------------------------------------------------------------------------ changes
    def set_ceiling(self, ceiling: tuple[float, float]) -> None:
        """Use ``ceiling`` (CPU, RAM fractions of capacity) for the use rows of ``room`` from now on."""
        assert self.room is not None, "the plan was built without a ceiling"
        self.ceiling = ceiling
        self.room[0] = ceiling[0] * self.cap_c - self.used_c
        self.room[1] = ceiling[1] * self.cap_r - self.used_r

    def move(self, vm: int, src: int, dst: int) -> None:
        """Plan ``vm``'s migration from ``src`` to ``dst``."""
        k = self.kernel
        if self._log is not None:
            saved = self._saved
            if src not in saved:
                saved[src] = self._save_host(src) if k is None else k.save(src)
            if dst not in saved:
                saved[dst] = self._save_host(dst) if k is None else k.save(dst)
            self._log.append(vm in self.moved)
        if k is not None:  # the same updates below (and of the extras' rows) in one compiled call
            k.move(vm, src, dst)
            self.moves.append((vm, dst))
            self.moved.add(vm)
            return
        vc, vr = self.vm_c[vm], self.vm_r[vm]
        self.used_c[src] -= vc
        self.used_r[src] -= vr
        self.used_c[dst] += vc
        self.used_r[dst] += vr
        vms = self.view.vms
        self.book_c[dst] += vms.cpu_booked_mhz[vm]
        self.book_r[dst] += vms.ram_booked_mb[vm]
        self.n_vms[src] -= 1
        self.n_vms[dst] += 1
        if self.room is not None:
            self.room[0, src] += vc
            self.room[1, src] += vr
            self.room[:, dst] -= self.need[vm]  # type: ignore[index]
        self.on[dst] = True
        self.touched[src] = self.touched[dst] = True
        self.moves.append((vm, dst))
        self.moved.add(vm)

    def _save_host(self, h: int) -> tuple[Any, ...]:
        # a host's values before the trial first changed them: scalars of the host arrays, copies of the extras'
        # rows (a rolled-back trial restores each host it touched to these, as undoing its moves in reverse does)
        rows = [a[h] for a in (self.used_c, self.used_r, self.book_c, self.book_r, self.n_vms, self.on, self.touched)]
        extras = [a[h].copy() if a.ndim > 1 else a[h] for a in self.extras.values()]
        room = None if self.room is None else self.room[:, h].copy()
        return rows, extras, room

    @contextmanager
    def trial(self) -> Iterator[_Trial]:
        """Moves that may be undone: ``with plan.trial() as t: ...; t.rollback()`` restores every planned
        array (and ``extras``) bit for bit, and forgets the trial's moves. Trials do not nest."""
        if self._log is not None:
            raise RuntimeError("PlannedCluster.trial: trials do not nest")
        self._log = []
        self._saved = {}
        t = _Trial(self, len(self.moves))
        try:
            yield t
        finally:
            self._log = None
            self._saved = {}

    def _rollback(self, n_moves: int) -> None:
        assert self._log is not None
        arrays = (self.used_c, self.used_r, self.book_c, self.book_r, self.n_vms, self.on, self.touched)
        k = self.kernel
        for h, saved in self._saved.items():
            if k is not None:
                k.restore(h, saved)
                continue
            rows, extras, room = saved
            for a, v in zip(arrays, rows, strict=True):
                a[h] = v
            for a, r in zip(self.extras.values(), extras, strict=True):
                a[h] = r
            if room is not None:
                self.room[:, h] = room  # type: ignore[index]
        for was_moved in reversed(self._log):
            vm = self.moves.pop()[0]
            if not was_moved:
                self.moved.discard(vm)
        self._log.clear()
        self._saved.clear()
        del self.moves[n_moves:]

    # ------------------------------------------------------------------------------------------ queries
    def fits(self, vm: int, src: int, within: np.ndarray) -> np.ndarray:
        """(n_hosts,) bool: hosts of ``within``, not blocked, not ``src``, where ``vm`` fits the room left
        (use under the ceiling, bookings under the overcommit ratios). Needs a plan built with a ceiling."""
        assert self.room is not None and self.need is not None, "the plan was built without a ceiling"
        ok = (self.room >= self.need[vm][:, None]).all(axis=0)
        ok &= within
        ok &= ~self.blocked
        ok[src] = False
        return ok

    def load(self) -> np.ndarray:
        """(n_hosts,) max over CPU and RAM of planned use / capacity."""
        return np.maximum(self.used_c / self.cap_c, self.used_r / self.cap_r)

    # ------------------------------------------------------------------------------------------ the Cluster interface
    @property
    def hosts(self) -> HostArrays:
        return self.view.hosts

    @property
    def vms(self) -> VmArrays:
        return self.view.vms

    @property
    def step(self) -> int:
        return self.view.step

    @property
    def t_s(self) -> float:
        return self.view.t_s

    @property
    def host_cpu_demand(self) -> np.ndarray:
        return self._ro["host_cpu_demand"]

    @property
    def host_ram_demand(self) -> np.ndarray:
        return self._ro["host_ram_demand"]

    @property
    def host_cpu_booked(self) -> np.ndarray:
        return self._ro["host_cpu_booked"]

    @property
    def host_ram_booked(self) -> np.ndarray:
        return self._ro["host_ram_booked"]

    @property
    def host_n_vms(self) -> np.ndarray:
        return self._ro["host_n_vms"]

    @property
    def host_on(self) -> np.ndarray:
        return self._ro["host_on"]

    @property
    def host_state(self) -> np.ndarray:
        return self.view.host_state

    @property
    def vm_state(self) -> np.ndarray:
        return self.view.vm_state

    @property
    def vm_host(self) -> np.ndarray:
        return self.view.vm_host

    @property
    def vm_target(self) -> np.ndarray:
        return self.view.vm_target

    @property
    def vm_cpu_demand(self) -> np.ndarray:
        return self.view.vm_cpu_demand

    @property
    def vm_ram_demand(self) -> np.ndarray:
        return self.view.vm_ram_demand

    @property
    def vm_image(self) -> np.ndarray:
        return self.view.vm_image

    @property
    def vm_migratable(self) -> np.ndarray:
        return self.view.vm_migratable

    @property
    def cpu_history(self) -> CpuHistory | None:
        return self.history

    @property
    def carbon_g_per_kwh(self) -> float:
        return self.view.carbon_g_per_kwh

    def carbon_forecast(self, steps: int) -> np.ndarray:
        return self.view.carbon_forecast(steps)


class _Trial:
    """Handle of one :meth:`PlannedCluster.trial`."""

    def __init__(self, plan: PlannedCluster, n_moves: int):
        self._plan = plan
        self._n = n_moves

    def rollback(self) -> None:
        """Undo every move of the trial."""
        self._plan._rollback(self._n)
