"""Sparse events inside the step grid: migration ends, host boots, failures, repairs, VM restarts.

A small heap keyed ``(time s, kind, sequence)``: at equal times events run in kind order (the constants
below), then in the order they were scheduled, so ties are deterministic.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

__all__ = ["EV_BOOT", "EV_FAIL", "EV_MIGRATION", "EV_REPAIR", "EV_RESTART", "EventQueue"]

EV_MIGRATION = 0  #: a migration ends (payload: VM)
EV_BOOT = 1  #: a booting host is ready (payload: host)
EV_FAIL = 2  #: a host fails (payload: host)
EV_REPAIR = 3  #: a failed host is repaired (payload: host)
EV_RESTART = 4  #: a VM of a failed host restarts elsewhere (payload: VM)


class EventQueue:
    """Events by time; :meth:`due` hands them out in order, including ones scheduled while handling."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, int, int]] = []
        self._seq = 0

    def push(self, t_s: float, kind: int, payload: int) -> None:
        heapq.heappush(self._heap, (t_s, kind, self._seq, payload))
        self._seq += 1

    def due(self, t_s: float, inclusive: bool = True) -> Iterator[tuple[float, int, int]]:
        """Pop and yield ``(time, kind, payload)`` for every event at or before ``t_s`` (before, if not
        ``inclusive``), events pushed meanwhile included when due."""
        heap = self._heap
        while heap and (heap[0][0] <= t_s if inclusive else heap[0][0] < t_s):
            t, kind, _, payload = heapq.heappop(heap)
            yield t, kind, payload

    def __len__(self) -> int:
        return len(self._heap)

    def next_time(self) -> float:
        """The time (s) of the next event, ``inf`` when none is scheduled."""
        return self._heap[0][0] if self._heap else float("inf")
