"""The host choice of many placements in a row, without a pass over every host per VM.

Placing 60,000 VMs on 10,000 hosts one by one through :meth:`Placer.feasible` and :meth:`Placer.choose`
costs a pass over all hosts per VM. Between two placements only the host that took the VM changes (and a
host switched on for it), so for a :attr:`~kumo.policies.placement.Placer.local` placer (every filter
answers per host, at most one weigher, itself local) the totals of all other hosts are still right.
:class:`ChoiceCache` keeps, per distinct VM size (:data:`~kumo.policies.placement.VM_SIGNATURE`: VMs of the
same size get the same answer from every host), each host's total (-inf where a filter refuses it) and
brings the rows of the hosts changed since up to date before each choice: the choice is the same host
:meth:`Placer.choose` would return, bit for bit (the same arithmetic host by host, the first maximum, so
ties go to the lowest index).

It is valid while the caller reports every host whose arrays change (:meth:`ChoiceCache.touch`); the engine
builds one per batch of placements (a step's arrivals, the queue's retry).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kumo.policies.placement import Placer

__all__ = ["ChoiceCache"]

#: up to this many changed hosts are brought up to date one by one, in scalar arithmetic
_SCALAR_UP_TO = 8


class ChoiceCache:
    """Exact incremental :meth:`Placer.choose` over the hosts that pass the filters, for a run of placements.

    Parameters
    ----------
    placer : a :attr:`~kumo.policies.placement.Placer.local` placer with ``tie_break = "first"``
        (:meth:`usable`).
    view : the cluster (read at each choice).
    max_sizes : VM sizes kept at once (the least recently used is dropped).
    """

    def __init__(self, placer: Placer, view: Any, max_sizes: int = 64):
        self.placer = placer
        self.view = view
        self.max_sizes = max_sizes
        self._entries: dict[tuple[float, ...], list[Any]] = {}  # size -> [totals (n_hosts,), log position]
        self._log: list[int] = []

    @staticmethod
    def usable(placer: Placer) -> bool:
        """Whether ``placer`` can be cached: local filters and weigher, deterministic ties."""
        return placer.local and placer.tie_break == "first"

    def touch(self, host: int) -> None:
        """``host``'s arrays changed (a VM booked on it, switched on): its totals are recomputed when next needed."""
        self._log.append(host)

    def choose(self, vm: int) -> int:
        """The host :meth:`Placer.choose` picks for ``vm`` among the hosts passing every filter, or -1 when
        none passes (the caller then asks the placer itself, for the filter that emptied the set)."""
        view = self.view
        vms = view.vms
        key = (float(vms.cores[vm]), float(vms.cpu_booked_mhz[vm]), float(vms.ram_booked_mb[vm]),
               float(view.vm_cpu_demand[vm]), float(view.vm_ram_demand[vm]))
        entry = self._entries.pop(key, None)
        if entry is None:
            ok, _ = self.placer.feasible(view, vm)
            hosts = np.flatnonzero(ok)
            total = np.full(view.hosts.n, -np.inf)
            if hosts.size:
                total[hosts] = self.placer.total_at(view, vm, hosts)
            entry = [total, len(self._log)]
            if len(self._entries) >= self.max_sizes:
                del self._entries[next(iter(self._entries))]
        elif entry[1] < len(self._log):
            total = entry[0]
            log, placer = self._log, self.placer
            if len(log) - entry[1] <= _SCALAR_UP_TO:
                # a few hosts changed: scalar arithmetic, host by host, is cheaper than arrays of a few
                for h in set(log[entry[1]:]):
                    total[h] = placer.total_one(view, vm, h) if placer.feasible_one(view, vm, h) else -np.inf
            else:
                changed = np.unique(np.asarray(log[entry[1]:], dtype=np.int64))
                ok = placer.feasible_at(view, vm, changed)
                total[changed] = -np.inf
                good = changed[ok]
                if good.size:
                    total[good] = placer.total_at(view, vm, good)
            entry[1] = len(log)
        self._entries[key] = entry  # most recently used last
        total = entry[0]
        best = int(np.argmax(total))
        return best if total[best] > -np.inf else -1
