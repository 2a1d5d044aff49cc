"""The underload round of the ``consolidation`` controller, at region scale.

CloudSim's rule (Beloglazov & Buyya, CCPE 2012, §7; ``PowerVmAllocationPolicyMigrationAbstract``): powered
hosts with 0 < utilization < 1 that neither sent nor received a VM this decision, least utilized first, are
emptied all or nothing: each of their VMs (largest CPU demand first) goes to the best-ranked host that takes
it among the powered hosts that hold VMs and are not themselves sources or overloaded; if one VM finds no
host, the host's planned moves are rolled back. A host that was tried is a source from then on, emptied or
not.

On a packed park nearly every try fails and is rolled back. :func:`empty_underloaded` makes the same
decisions without trying the hosts whose try is certain to fail, by two necessary conditions checked on the
separable filters' rooms (:mod:`kumo.policies.targets`):

1. *each VM fits somewhere*: a VM's need is at most the largest room among the hosts that can still be
   targets when its host's turn comes (the hosts never tried, the ones after it in the order, and those a
   successful try filled; a target's room only shrinks, so rooms read earlier bound it);
2. *the largest VMs fit together*: for the j largest needs, their sum is at most the summed rooms of the
   targets whose room is at least the j-th largest (each VM needing at least that goes to one of them),
   counted at a few levels of need (the distinct needs, or a geometric grid below them).

A host failing either is a source, as if its try had failed (a rolled-back try changes nothing else). The
tries that remain run as before, their host choice on the :class:`~kumo.policies.targets.TargetIndex`
candidates.

Which filters' rooms the checks are worked out on changes only the speed, never a decision (a host the
checks do not catch is tried, and its try fails): :class:`BoundParts`, kept by the controller across
decisions, works out every filter's checks once every few decisions and, in between, only those of the
filters that caught hosts the others did not (on a park bound by RAM bookings, the CPU filters catch none
and cost a fifth of the round).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from kumo.policies.planning import PlannedCluster
from kumo.policies.targets import TargetIndex, slack

__all__ = ["BoundParts", "empty_underloaded", "underload_order"]


@dataclass
class BoundParts:
    """Which separable filters (positions in the target index's parts) the underload round's checks use,
    kept across decisions. Every ``every``-th decision (and the first) uses them all and counts, per filter,
    the hosts only it caught; the decisions in between use the filters that caught any such host (or, if
    they only caught hosts together, the one that caught most)."""

    every: int = 8
    use: tuple[int, ...] | None = None
    decisions: int = 0

    def pick(self, n_parts: int) -> tuple[tuple[int, ...], bool]:
        """The filters this decision uses, and whether it counts (uses them all)."""
        full = self.use is None or self.decisions % self.every == 0
        self.decisions += 1
        return (tuple(range(n_parts)) if full else self.use), full  # type: ignore[return-value]

    def learn(self, only: np.ndarray, caught: np.ndarray) -> None:
        """After a counting decision: ``only[k]`` hosts caught by filter k alone, ``caught[k]`` by it at all."""
        use = tuple(int(k) for k in np.flatnonzero(only > 0))
        if not use and caught.size and caught.max() > 0:
            use = (int(np.argmax(caught)),)
        self.use = use

def underload_order(util: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """Hosts to try emptying, least utilized first (ties to the lowest id): eligible with 0 < util < 1."""
    cand = np.flatnonzero(eligible & (util > 0) & (util < 1))
    return cand[np.lexsort((cand, util[cand]))]


def empty_underloaded(view: Any, plan: PlannedCluster, index: TargetIndex, running: np.ndarray,
                      on_host: np.ndarray, over: np.ndarray,
                      find_host: Callable[[int, int, np.ndarray, TargetIndex], int],
                      move: Callable[[int, int, int], None], parts: BoundParts | None = None) -> None:
    """Run the underload round on ``plan`` (module docstring).

    Parameters
    ----------
    view : the cluster now.
    plan : the decision's plan, after the overload round.
    index : the decision's :class:`TargetIndex`.
    running, on_host : (m,) the movable running VMs, increasing, and their hosts.
    over : (n_hosts,) bool, the overloaded hosts (never targets).
    find_host : ``find_host(vm, src, excluded, index)``, the host ``vm`` goes to (or -1) among the powered
        hosts not ``excluded``, the candidates from ``index`` (``excluded`` holds every host that is off).
    move : ``move(vm, src, dst)`` plans a move.
    parts : which filters the checks use (:class:`BoundParts`, updated here); None: all of them.
    """
    moved = {vm for vm, _ in plan.moves}
    # grows: every host tried becomes a source; it holds every host that is off from the start (a round never
    # powers one on), so ``find_host`` may skip the powered test
    excluded = over | (plan.n_vms == 0) | ~plan.on
    cands = underload_order(plan.used_c / view.hosts.cpu_mhz, plan.on & ~over & ~plan.touched & (plan.n_vms > 0))
    if not cands.size:
        return
    by = np.argsort(on_host, kind="stable")  # each host's VMs in increasing index, as running[on_host == h]
    vms_by_host = running[by]
    if moved:
        vms_by_host = vms_by_host[~np.isin(vms_by_host, np.fromiter(moved, np.int64))]
    hosts_sorted = view.vm_host[vms_by_host]
    lo = np.searchsorted(hosts_sorted, cands, side="left")
    hi = np.searchsorted(hosts_sorted, cands, side="right")
    # a host with a VM in flight (or a pinned one) has more VMs than it can move: it is never tried
    tried = (hi - lo) == plan.n_vms[cands]
    proc, lo, hi = cands[tried], lo[tried], hi[tried]
    use, count = (tuple(range(len(index.parts))), False) if parts is None else parts.pick(len(index.parts))
    bounds = _Bounds(plan, index, excluded, proc, vms_by_host, lo, hi, use, count)
    # the targets only, re-indexed when half of them have become sources
    targets = _Targets(index, plan, excluded)
    demand = view.vm_cpu_demand
    n = len(proc)
    i = f0 = f1 = 0
    fails = np.zeros(0, dtype=bool)  # check (1)/(2) verdicts for positions f0..f1-1
    while i < n:
        if i >= f1:
            f0, f1 = i, min(n, i + _CHUNK)
            fails = bounds.chunk(f0, f1)
        left = np.flatnonzero(~fails[i - f0:])
        nxt = i + int(left[0]) if left.size else f1
        failed = proc[i:nxt]
        failed = failed[~plan.touched[failed]]
        excluded[failed] = True  # certain to fail: sources, as if tried
        targets.lost(len(failed))
        i = nxt
        if nxt == f1:
            continue
        h = int(proc[nxt])
        i += 1
        if plan.touched[h]:
            continue  # it received VMs this round: never emptied
        excluded[h] = True
        targets.lost(1)
        vms = vms_by_host[lo[nxt]:hi[nxt]]
        n0 = len(plan.moves)
        idx = targets.index()
        # largest demand first, ties in VM order (a stable sort, as np.argsort(-demand, kind="stable"))
        dem = demand[vms].tolist()
        order = sorted(range(len(dem)), key=lambda j: -dem[j])
        vm_list = vms.tolist()
        with plan.trial() as trial:
            for vm in [vm_list[j] for j in order]:
                t = find_host(vm, h, excluded, idx)
                if t < 0:
                    trial.rollback()
                    break
                move(vm, h, t)
            else:
                at = bounds.received([dst for _, dst in plan.moves[n0:]])
                # bounds only shrank, except after a filled host that was to be tried (now it stays a target)
                at = at[(at >= i) & (at < f1)]
                if at.size:
                    a = int(at.min()) + 1
                    fails[a - f0:] = bounds.fails(a, f1)
    if count and parts is not None:
        parts.learn(bounds.only, bounds.caught)


class _Targets:
    """The :class:`TargetIndex` of the round's targets (powered, not sources), built again from the rooms now
    once half of the hosts it holds have become sources (candidate sets stay near the live targets)."""

    def __init__(self, index: TargetIndex, plan: PlannedCluster, excluded: np.ndarray):
        self.plan, self.excluded, self.base = plan, excluded, index
        self._build()

    def _build(self) -> None:
        hosts = np.flatnonzero(self.plan.on & ~self.excluded)
        self._index = self.base.among(self.plan, hosts)
        self.live = self.size = len(hosts)

    def lost(self, k: int) -> None:
        """``k`` targets became sources."""
        self.live -= k

    def index(self) -> TargetIndex:
        if self.live * 2 < self.size:
            self._build()
        return self._index


#: hosts whose verdicts are worked out at once (again after each successful try, from the next one on)
_CHUNK = 256
#: levels of need the summed-room check (2) is counted at (the distinct needs, if not more)
_LEVELS = 24


class _Bounds:
    """Checks (1) and (2) of the module docstring, for the hosts of one chunk at a time.

    A host's possible targets when its turn comes are the hosts that *stay* (powered, not sources, never
    tried, and those a successful try filled), counted at their rooms now, and the hosts to be tried after
    it that have not received a VM, counted at their rooms when the round started (unchanged since)."""

    def __init__(self, plan: PlannedCluster, index: TargetIndex, excluded: np.ndarray, proc: np.ndarray,
                 vms_by_host: np.ndarray, lo: np.ndarray, hi: np.ndarray, use: tuple[int, ...] | None = None,
                 count: bool = False):
        self.plan, self.proc = plan, proc
        use = tuple(range(len(index.parts))) if use is None else use
        self.count = count  # count the hosts each filter catches (alone: ``only``; at all: ``caught``)
        self.only = np.zeros(len(use), np.int64)
        self.caught = np.zeros(len(use), np.int64)
        n = len(proc)
        self.pos_of = np.full(plan.n_vms.shape, -1, np.int64)  # host -> its position among the hosts to try
        self.pos_of[proc] = np.arange(n)
        self.stay = plan.on & ~excluded
        self.stay[proc] = False
        self.pending = np.ones(n, dtype=bool)  # to be tried after the chunk and counted in the "beyond" sums
        self.f1 = 0
        # the VMs of the hosts to try, grouped by the host's position, largest need first in each group
        self.pos = np.repeat(np.arange(n), hi - lo)
        # lo[p]..hi[p]-1 for every p, concatenated (one repeat instead of an arange per host)
        size = hi - lo
        take = np.arange(int(size.sum()), dtype=np.int64) + np.repeat(lo - (np.cumsum(size) - size), size)
        vms = vms_by_host[take]
        self.first = np.searchsorted(self.pos, np.arange(n + 1))  # group p is [first[p], first[p+1])
        stay_hosts = np.flatnonzero(self.stay)
        self.parts: list[dict[str, Any]] = []
        for part in (index.parts[k] for k in use):
            f = part.filter
            need = np.asarray(f.need(plan, vms), dtype=np.float64)
            need = need[np.lexsort((-need, self.pos))]
            cum = np.cumsum(need)
            cum -= (cum - need)[self.first[self.pos]]  # running sum within each group
            room = np.asarray(f.room(plan), dtype=np.float64)
            s = float(slack(max(part.scale, float(np.abs(room).max(initial=0.0))), need.max(initial=0.0)))
            levels = np.unique(need[need > 0])
            if len(levels) > _LEVELS:
                levels = np.geomspace(levels[0], levels[-1], _LEVELS)
                levels[-1] = min(levels[-1], need.max())
            p = {"filter": f, "s": s, "cum": cum, "levels": levels, "room0": room[proc],
                 "low": levels - s,  # the levels less the slack, as _counted compares
                 "g": np.searchsorted(levels, need, side="right") - 1,  # the highest level at most the need
                 "max_need": need[self.first[:-1]] if n else need,
                 "stay_room": np.full(plan.n_vms.shape, np.nan)}
            p["beyond"] = self._counted(p, p["room0"]).sum(axis=1)
            p["stay_room"][stay_hosts] = room[stay_hosts]
            p["stay_sum"] = self._counted(p, room[stay_hosts]).sum(axis=1)
            p["stay_max"] = float(np.nanmax(p["stay_room"], initial=-np.inf))  # kept up to date by received
            self.parts.append(p)
        self.rank = np.arange(len(self.pos)) - self.first[self.pos] + 1  # place in its group, from 1
        # the largest room0 among the pending hosts after position rest_b, per part (fails' "rest"); rest_b -1:
        # to be worked out again
        self.rest_b = -1
        self.rest_max: list[float] = []

    @staticmethod
    def _counted(p: dict[str, Any], rooms: np.ndarray) -> np.ndarray:
        """(levels, k) each room where it counts for a level (room >= level - s), else 0."""
        return np.where(rooms[None, :] >= p["low"][:, None], rooms[None, :], 0.0)

    def chunk(self, f0: int, f1: int) -> np.ndarray:
        """Start the chunk of positions f0..f1-1 (the previous one ended at f0); its verdicts."""
        assert f0 == self.f1
        cols = np.arange(f0, f1)
        cols = cols[self.pending[cols]]
        for p in self.parts:
            p["beyond"] -= self._counted(p, p["room0"][cols]).sum(axis=1)
        self.pending[f0:f1] = False
        self.f1 = f1
        return self.fails(f0, f1)

    def received(self, hosts: list[int]) -> np.ndarray:
        """A try succeeded: the hosts that received its VMs stay targets (they are not tried this round) and
        their rooms shrank. Returns the positions of those among the hosts to try."""
        h = np.unique(np.asarray(hosts, dtype=np.int64))
        at = self.pos_of[h]
        at = at[at >= 0]
        where = at[self.pending[at]]
        self.pending[where] = False
        if where.size and int(where.max()) >= self.rest_b:
            self.rest_b = -1  # a pending host after it left the "rest"
        for p in self.parts:
            if where.size:
                p["beyond"] -= self._counted(p, p["room0"][where]).sum(axis=1)
            old = p["stay_room"][h]
            was = ~np.isnan(old)
            if was.any():
                p["stay_sum"] -= self._counted(p, old[was]).sum(axis=1)
            new = np.asarray(p["filter"].room(self.plan, h), dtype=np.float64)
            p["stay_room"][h] = new
            p["stay_sum"] += self._counted(p, new).sum(axis=1)
            # the largest room of the hosts that stay: a max is exact, so only a host that held it and shrank
            # (or a NaN) needs the whole array again
            if bool((old[was] == p["stay_max"]).any()) or bool(np.isnan(new).any()):
                p["stay_max"] = float(np.nanmax(p["stay_room"], initial=-np.inf))
            elif new.size:
                p["stay_max"] = max(p["stay_max"], float(new.max()))
        self.stay[h] = True
        return at

    def fails(self, a: int, b: int) -> np.ndarray:
        """(b - a,) bool: the hosts at positions a..b-1 (in the current chunk) that check (1) or (2) says
        cannot be emptied, from the rooms now."""
        out = np.zeros(b - a, dtype=bool)
        sl = slice(int(self.first[a]), int(self.first[b]))
        pos = self.pos[sl] - a
        live = ~self.plan.touched[self.proc[a:b]]  # hosts of the chunk still to be tried, with their rooms
        if self.rest_b != b:
            pend = self.pending[b:]
            self.rest_max = [float(p["room0"][b:][pend].max(initial=-np.inf)) for p in self.parts]
            self.rest_b = b
        each = []
        for p, rest_max in zip(self.parts, self.rest_max, strict=True):
            s = p["s"]
            r = np.where(live, p["room0"][a:b], -np.inf)
            later = np.full(b - a, -np.inf)  # largest room tried after each position, in the chunk
            if b - a > 1:
                later[:-1] = np.maximum.accumulate(r[::-1])[::-1][1:]
            best = np.maximum(np.maximum(later, rest_max), p["stay_max"])
            mine = p["max_need"][a:b] - s > best
            counted = self._counted(p, np.where(live, p["room0"][a:b], 0.0))  # (levels, b - a)
            after = np.zeros_like(counted)
            if b - a > 1:
                after[:, :-1] = np.cumsum(counted[:, ::-1], axis=1)[:, ::-1][:, 1:]
            after += (p["beyond"] + p["stay_sum"])[:, None]
            g = p["g"][sl]
            ok = g >= 0
            bad = ok & (p["cum"][sl] > after[np.maximum(g, 0), pos] + s * self.rank[sl])
            if bad.any():
                mine[np.unique(pos[bad])] = True
            out |= mine
            if self.count:
                each.append(mine)
        if self.count and each:
            hit = np.array(each)
            self.caught += hit.sum(axis=1)
            self.only += (hit & (hit.sum(axis=0) == 1)).sum(axis=1)
        return out
