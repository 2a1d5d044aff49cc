"""Where a VM can go while a controller plans, found without a pass over every host.

A filter is *separable* when it passes a host exactly when the VM's ``need(view, vms)`` fits the host's
``room(view, hosts)``, up to the rounding of its own comparison: the booking filters (``cpu-booking``,
``ram-booking``) and ``cpu-demand`` are. While a controller plans (:class:`~kumo.policies.planning.PlannedCluster`)
a host's room shrinks when it receives a VM and grows only when one leaves it, and the hosts VMs leave
are not targets (a source, an overloaded host, a host being emptied). So the rooms sorted once, when the
decision starts, bound every target's room for the whole decision, and :class:`TargetIndex` answers
"which hosts may take this VM" with a superset found by one binary search per separable filter; the
controller's filters then decide on that superset alone, with their own arithmetic, so the answer is the
one a pass over every host gives.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["TargetIndex", "separable"]


def separable(placer: Any) -> list[Any]:
    """The filters of ``placer`` (a :class:`~kumo.policies.placement.Placer`) that have ``room`` and ``need``."""
    return [f for _, f in placer.filters if hasattr(f, "room") and hasattr(f, "need")]


def slack(room: np.ndarray | float, need: np.ndarray | float) -> Any:
    """How far below ``need`` a room may read and the filter still pass: rounding of the filter's own
    comparison (sums and products of MHz and MB below 1e15), with a wide margin."""
    r: Any = room  # abs() of a float or an array (np.abs's dispatch costs more on the scalars controllers pass)
    n: Any = need
    return 1e-6 + 1e-9 * (abs(r) + abs(n))


@dataclass(frozen=True)
class _Part:
    filter: Any
    order: np.ndarray  # host indices by increasing room
    rooms: np.ndarray  # their rooms, increasing
    scale: float  # the largest |room|
    #: each VM's need (a decision's needs do not change), shared by the indexes :meth:`TargetIndex.among` makes
    needs: np.ndarray | None = None
    #: ``rooms`` as Python floats for :func:`bisect.bisect_left` (None when a room is NaN: numpy's order then)
    room_list: list[float] | None = field(default=None, repr=False)


def _part(f: Any, order: np.ndarray, rooms: np.ndarray, scale: float, needs: np.ndarray | None) -> _Part:
    rl = None if np.isnan(rooms).any() else rooms.tolist()
    return _Part(f, order, rooms, scale, needs, rl)


class TargetIndex:
    """The separable filters' room of every host when a decision starts, sorted (see the module docstring).

    Parameters
    ----------
    placer : the controller's host choice (its separable filters are indexed).
    view : the plan (or view) whose rooms bound the targets' rooms for the rest of the decision.
    hosts : the hosts that may be targets (default: all); the others are never candidates.
    """

    def __init__(self, placer: Any, view: Any, hosts: np.ndarray | None = None):
        self.n = view.hosts.n
        self.hosts = np.arange(self.n) if hosts is None else np.asarray(hosts, dtype=np.int64)
        self.parts: list[_Part] = []
        for f in separable(placer):
            room = np.asarray(f.room(view), dtype=np.float64)
            scale = float(np.abs(room).max()) if room.size else 0.0
            room = room[self.hosts]
            order = np.argsort(room, kind="stable")
            needs = np.asarray(f.need(view, np.arange(view.vms.n)), dtype=np.float64)
            self.parts.append(_part(f, self.hosts[order], room[order], scale, needs))

    def among(self, view: Any, hosts: np.ndarray) -> TargetIndex:
        """The index of ``hosts`` only (the only hosts that can still be targets), with their rooms now."""
        out = TargetIndex.__new__(TargetIndex)
        out.n, out.hosts = self.n, np.asarray(hosts, dtype=np.int64)
        out.parts = []
        for p in self.parts:
            room = np.asarray(p.filter.room(view, out.hosts), dtype=np.float64)
            order = np.argsort(room, kind="stable")
            out.parts.append(_part(p.filter, out.hosts[order], room[order], p.scale, p.needs))
        return out

    def candidates(self, view: Any, vm: int) -> np.ndarray:
        """(k,) host indices, in no order: every host of the decision whose room may still take ``vm`` under
        each separable filter (a superset of the hosts that pass them; the fewest of the filters' sets)."""
        hosts, start = self.candidates_at(view, vm)
        return hosts[start:]

    def candidates_at(self, view: Any, vm: int) -> tuple[np.ndarray, int]:
        """:meth:`candidates` as ``(array, start)``: the candidates are ``array[start:]`` (the array is one of
        the index's own, the same object from call to call: compiled callers keep its buffer)."""
        best_i, best_p = -1, None
        for p in self.parts:
            need = float(p.filter.need(view, vm) if p.needs is None else p.needs[vm])
            level = need - (1e-6 + 1e-9 * (abs(p.scale) + abs(need)))  # need - slack(p.scale, need), inlined
            if p.room_list is not None and level == level:  # the same position as np.searchsorted(side="left"), without its overhead
                i = bisect_left(p.room_list, level)
            else:
                i = int(np.searchsorted(p.rooms, level, side="left"))
            if best_p is None or i > best_i:
                best_i, best_p = i, p
        if best_p is None:
            return self.hosts, 0
        return best_p.order, best_i

    def rooms_at_least(self, part: int, level: float) -> np.ndarray:
        """Host indices (unsorted) whose room under separable filter ``part`` was at least ``level`` when the
        decision started."""
        p = self.parts[part]
        return p.order[int(np.searchsorted(p.rooms, level, side="left")):]

    def count_at_least(self, part: int, needs: np.ndarray) -> np.ndarray:
        """For each of ``needs``: how many hosts' rooms under filter ``part`` were at least that (less the slack)."""
        p = self.parts[part]
        return len(p.rooms) - np.searchsorted(p.rooms, needs - slack(p.scale, needs), side="left")
