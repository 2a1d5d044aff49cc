"""What every part of the engine shares: the state, the books, the event queue, the run's public log, and
the few primitive mutations (booking a VM on a host, switching a host on, counting downtime)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kumo.books import Books
from kumo.engine.events import EV_BOOT, EventQueue
from kumo.state import HOST_BOOTING, HOST_OFF, HOST_ON, ClusterState

__all__ = ["MIGRATION_COLUMNS", "REFUSAL_COLUMNS", "REJECTION_COLUMNS", "Core", "RunLog"]

#: the migration log's columns: VM, source and target host, start and (planned) end s, RAM copied MB,
#: status (in-flight, done, aborted, unfinished), downtime s, CPU loss fraction while in flight, cause
MIGRATION_COLUMNS = ("vm", "src", "dst", "start_s", "end_s", "ram_mb", "status", "downtime_s", "cpu_loss", "cause")
#: arrivals no host could take: VM, step, time s, reason
REJECTION_COLUMNS = ("vm", "step", "t_s", "reason")
#: parts of controller decisions the engine refused: step, time s, kind (migration, switch_off, power_on),
#: VM (-1 if none), host, reason
REFUSAL_COLUMNS = ("step", "t_s", "kind", "vm", "host", "reason")


@dataclass
class RunLog:
    """The run's event records, public: what :mod:`kumo.results` builds its tables from."""

    n_vms: int
    migrations: dict[str, list] = field(default_factory=lambda: {k: [] for k in MIGRATION_COLUMNS})
    rejections: dict[str, list] = field(default_factory=lambda: {k: [] for k in REJECTION_COLUMNS})
    refusals: dict[str, list] = field(default_factory=lambda: {k: [] for k in REFUSAL_COLUMNS})
    first_placed_step: np.ndarray = field(init=False)
    wall_s: float = 0.0

    def __post_init__(self) -> None:
        self.first_placed_step = np.full(self.n_vms, -1, np.int32)

    @property
    def migrations_refused(self) -> int:
        """Migrations the engine refused."""
        return sum(1 for k in self.refusals["kind"] if k == "migration")

    def refuse(self, step: int, t_s: float, kind: str, vm: int, host: int, reason: str) -> None:
        for k, v in zip(REFUSAL_COLUMNS, (step, t_s, kind, vm, host, reason), strict=True):
            self.refusals[k].append(v)

    def reject(self, vm: int, step: int, t_s: float, reason: str) -> None:
        for k, v in zip(REJECTION_COLUMNS, (vm, step, t_s, reason), strict=True):
            self.rejections[k].append(v)


class Core:
    """The shared parts of one run and its primitive mutations (only the engine's modules use it)."""

    def __init__(self, state: ClusterState, books: Books, boot_s: float):
        self.state = state
        self.books = books
        self.events = EventQueue()
        self.log = RunLog(state.vms.n)
        self.boot_s = float(boot_s)

    def book(self, vm: int, host: int, sign: float) -> None:
        """Add (sign +1) or remove (-1) ``vm``'s booking on ``host``."""
        s = self.state
        s.host_cpu_booked[host] += sign * s.vms.cpu_booked_mhz[vm]
        s.host_ram_booked[host] += sign * s.vms.ram_booked_mb[vm]
        s.host_n_vms[host] += int(sign)

    def power_on(self, host: int, t: float) -> None:
        """Switch a host that is off on at ``t`` (booting for ``boot_s`` first when it is > 0)."""
        s = self.state
        if s.host_state[host] != HOST_OFF:
            return
        self.books.host_acc["switch_ons"][host] += 1
        if self.boot_s > 0:
            s.host_state[host] = HOST_BOOTING
            s.host_ready_s[host] = t + self.boot_s
            self.events.push(t + self.boot_s, EV_BOOT, host)
        else:
            s.host_state[host] = HOST_ON

    def add_downtime(self, vm: int, seconds: float) -> None:
        self.books.vm_acc["downtime_s"][vm] += seconds
        if self.books.vm_steps is not None:
            self.books.vm_steps["downtime_s"][self.state.step, vm] += seconds
