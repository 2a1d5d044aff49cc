"""Scratch state of the ``sla`` controller (:mod:`kumo.policies.kohne`): its memory between decisions and
the virtual cluster it plans one decision on. Private to that module."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


class Memory:
    """Per-run scratch the controller keeps between decisions (history for OP, placement order for FF)."""

    def __init__(self) -> None:
        self.ready = False
        self.selector: Any = None
        self.placed_at: np.ndarray = np.zeros(0)
        self.vm_hist: np.ndarray = np.zeros((0, 0), np.float32)
        self.host_hist: np.ndarray = np.zeros((0, 0), np.float32)
        self.filled = 0
        self.pos = 0
        self.counts = {"overload": 0, "lb": 0, "ee": 0, "power_on": 0}
        self.on_since: np.ndarray = np.zeros(0, np.int64)
        self.was_on: np.ndarray = np.zeros(0, bool)
        self.ut_window = -1  # uptime guard: current window and downtime booked per VM in it
        self.ut_spent: np.ndarray = np.zeros(0)


@dataclass
class Plan:
    """Virtual host loads and bookings while one decision is made (copies; the view stays untouched).

    ``room`` (4, n_hosts) is what a target may still take: CPU and RAM use up to the ceiling (the upper
    thresholds, or ``ee_upper`` while consolidating) and CPU and RAM bookings up to the overcommit ratios;
    ``need`` (n_vms, 4) is what each VM takes of them. Both are kept up to date move by move, so a
    feasibility test is one comparison.
    """

    cap_c: np.ndarray
    cap_r: np.ndarray
    vm_c: np.ndarray  # (n_vms,) CPU demand now, MHz
    vm_r: np.ndarray  # (n_vms,) RAM demand now, MB
    need: np.ndarray  # (n_vms, 4) CPU, RAM demand and bookings
    used_c: np.ndarray
    used_r: np.ndarray
    room: np.ndarray  # (4, n_hosts) CPU, RAM use left under the ceiling; CPU, RAM bookable left
    on: np.ndarray
    blocked: np.ndarray  # hosts that may not receive (sources being emptied)
    touched: np.ndarray  # hosts that received or sent this round (not EE sources)
    ceiling: tuple[float, float]  # use / capacity a target may reach (CPU, RAM)
    moves: list[tuple[int, int]] = field(default_factory=list)
    moved: set[int] = field(default_factory=set)

    def set_ceiling(self, ceiling: tuple[float, float]) -> None:
        self.ceiling = ceiling
        self.room[0] = ceiling[0] * self.cap_c - self.used_c
        self.room[1] = ceiling[1] * self.cap_r - self.used_r

    def feasible(self, vm: int, src: int, on: np.ndarray) -> np.ndarray:
        ok = (self.room >= self.need[vm][:, None]).all(axis=0)
        ok &= on
        ok &= ~self.blocked
        ok[src] = False
        return ok

    def free_after(self, vm: int, fit: str) -> np.ndarray:
        fc = (self.cap_c - self.used_c - self.vm_c[vm]) / self.cap_c
        if fit == "cpu":
            return fc
        fr = (self.cap_r - self.used_r - self.vm_r[vm]) / self.cap_r
        return fr if fit == "ram" else np.minimum(fc, fr)

    def load(self) -> np.ndarray:
        return np.maximum(self.used_c / self.cap_c, self.used_r / self.cap_r)

    def move(self, vm: int, src: int, dst: int) -> None:
        vc, vr = self.vm_c[vm], self.vm_r[vm]
        self.used_c[src] -= vc
        self.used_r[src] -= vr
        self.used_c[dst] += vc
        self.used_r[dst] += vr
        self.room[0, src] += vc
        self.room[1, src] += vr
        self.room[:, dst] -= self.need[vm]
        self.on[dst] = True
        self.touched[src] = self.touched[dst] = True
        self.moves.append((vm, dst))
        self.moved.add(vm)

    def save(self) -> tuple[Any, ...]:
        return (self.used_c.copy(), self.used_r.copy(), self.room.copy(), self.on.copy(), self.touched.copy(),
                len(self.moves), set(self.moved))

    def restore(self, saved: tuple[Any, ...]) -> None:
        self.used_c, self.used_r, self.room, self.on, self.touched = saved[:5]
        del self.moves[saved[5]:]
        self.moved = saved[6]
