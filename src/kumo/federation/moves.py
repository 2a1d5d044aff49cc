"""WAN moves between a provider's sites and site outages with failover (a mixin of FederationRun).

A move copies the VM's booked RAM over the provider's WAN (``size x 8 / mbps + latency``; moves on the
same pair of sites queue), while the VM keeps running at the source; at the first step boundary after the
copy it is evicted there and placed at the target (``failed`` if the target cannot take it then,
``aborted`` if the VM left). An outage takes a site down for whole steps: its VMs restart elsewhere as the
provider's ``failover`` allows (``restart_s`` of downtime each), or stay down, one downtime event per step,
until the site is back; then, with ``failback``, the VMs that left move back as WAN moves (also from a
partner). Arrivals, moves and failovers never go to a site that is down.

Approximation: a VM that stays at a site that is down still runs in that site's engine (energy, CPU);
the outage counts as its downtime (uptime SLA, availability). Exact host failure needs engine support.
"""

from __future__ import annotations

import heapq
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from kumo.federation.brokers import SiteLoads
from kumo.state import VM_RUNNING

if TYPE_CHECKING:
    from kumo.federation.runner import DataCenter

# federation-level VM status
ST_PENDING, ST_RUNNING, ST_DEPARTED, ST_REJECTED, ST_QUEUED, ST_EXPIRED = range(6)
STATUS_NAMES = np.array(["pending", "running", "departed", "rejected", "queued", "expired"])


class Moves:
    """WAN moves, outages and failover; the state lives in :class:`~kumo.federation.runner.FederationRun`."""

    dcs: list[DataCenter]
    dcs_of: list[np.ndarray]
    spec: Any
    sites: list[Any]
    tr: dict[str, list]
    downtime: dict[str, list]
    in_transfer: np.ndarray
    vm_dc: np.ndarray
    status: np.ndarray
    home: np.ndarray
    host: np.ndarray
    agreed: np.ndarray
    allowed: np.ndarray
    ram_booked: np.ndarray
    down: np.ndarray
    failed_from: np.ndarray
    outage_at: dict[int, list[tuple[int, bool]]]
    _heap: list[tuple[float, int]]
    _link_free: dict[tuple[int, int], float]
    dt: float
    n_steps: int
    failovers: int
    trace: Any
    broker: Any
    rng: np.random.Generator

    if TYPE_CHECKING:  # provided by FederationRun
        def _place(self, v: int, d: int) -> None: ...
        def _unbook(self, v: int, d: int) -> None: ...
        def _within_offer(self, v: int, d: int) -> bool: ...
        def _ranked(self, p: int, v: int) -> np.ndarray: ...
        def _quotes(self, v: int, home: int) -> tuple[Any, list[int]]: ...

    def _rebalance(self, p: int, k: int) -> None:
        if self.down[self.dcs_of[p]].any():
            return
        pol, dcs = self.sites[p], [self.dcs[d] for d in self.dcs_of[p]]
        u = np.array([dc.utils() for dc in dcs])
        if u[:, 2].max() <= pol.rebalance_above:
            return
        vm, site, cpu = [], [], []
        for j, dc in enumerate(dcs):
            s = dc.engine.state
            loc = np.flatnonzero(s.vm_state == VM_RUNNING)
            g = dc.glob[loc]
            keep = self.in_transfer[g] < 0
            vm.append(g[keep])
            site.append(np.full(keep.sum(), j))
            cpu.append(s.vm_cpu_demand[loc[keep]])
        vms = np.concatenate(vm)
        # moves in flight count at their target already, or the next plan would send more VMs after them
        cap = {int(d): dc.cpu_mhz for d, dc in zip(self.dcs_of[p], dcs, strict=True)}
        pos = {int(d): j for j, d in enumerate(self.dcs_of[p])}
        for v in np.flatnonzero(self.in_transfer >= 0):
            i = self.in_transfer[v]
            src, dst = self.tr["src"][i], self.tr["dst"][i]
            # a failover/failback transfer may cross providers: adjust only this provider's ends
            if src in pos or dst in pos:
                load = float(self.dcs[src].engine.state.vm_cpu_demand[self.dcs[src].local[v]])
                if src in pos:
                    u[pos[src], 2] -= load / cap[src]
                if dst in pos:
                    u[pos[dst], 2] += load / cap[dst]
        c = np.array([dc.carbon() for dc in dcs])
        loads = SiteLoads(dc=self.dcs_of[p], energy_cost=np.array([dc.energy_cost for dc in dcs]),
                          carbon_now=c[:, 0], carbon_day=c[:, 1],
                          booked_util=u[:, 0], demand_util=u[:, 1], cpu_util=u[:, 2],
                          cpu_mhz=np.array([dc.cpu_mhz for dc in dcs]), vm=vms, vm_site=np.concatenate(site),
                          vm_cpu_mhz=np.concatenate(cpu), vm_ram_mb=self.ram_booked[vms],
                          allowed=self.allowed[vms][:, self.dcs_of[p]])
        for v, src, dst in pol.plan(loads):
            self._start_transfer(v, src, dst, (k + 1) * self.dt)

    def _start_transfer(self, v: int, src: int, dst: int, t: float, failback: bool = False) -> None:
        if not self.allowed[v, dst] or (self.dcs[dst].provider != self.dcs[src].provider and not failback):
            raise RuntimeError(f"site policy asked to move VM {self.trace.vm_ids[v]} to {self.dcs[dst].name}, "
                               "which it may not run in")
        if self.vm_dc[v] != src or self.in_transfer[v] >= 0 or self.down[src] or self.down[dst]:
            return
        foreign = self.dcs[dst].provider != self.home[v]
        if (foreign and not self._within_offer(v, dst)) or not self.dcs[dst].engine.fits(int(self.dcs[dst].local[v])):
            return
        wan = self.spec.providers[self.dcs[dst].provider].wan
        size = float(self.ram_booked[v])
        link = (min(src, dst), max(src, dst))
        start = max(t, self._link_free.get(link, t))
        end = start + size * 8.0 / wan.mbps + wan.latency_ms / 1000.0
        self._link_free[link] = end - wan.latency_ms / 1000.0
        i = len(self.tr["vm"])
        for key, val in zip(("vm", "src", "dst", "start_s", "end_s", "switch_s", "size_mb", "status"),
                            (v, src, dst, start, end, math.nan, size, "in-flight"), strict=True):
            self.tr[key].append(val)
        self.in_transfer[v] = i
        heapq.heappush(self._heap, (end, i))

    def _complete_transfers(self, k: int) -> None:
        t0 = k * self.dt
        while self._heap and self._heap[0][0] <= t0:
            _, i = heapq.heappop(self._heap)
            if self.tr["status"][i] != "in-flight":
                continue
            v, src, dst = self.tr["vm"][i], self.tr["src"][i], self.tr["dst"][i]
            self.in_transfer[v] = -1
            target = self.dcs[dst]
            foreign = target.provider != self.home[v]
            if (self.down[dst] or (foreign and not self._within_offer(v, dst))
                    or not target.engine.fits(int(target.local[v]))):
                self.tr["status"][i] = "failed"
                continue
            self._move(v, src, dst)
            self.tr["status"][i] = "done"
            self.tr["switch_s"][i] = t0

    def _move(self, v: int, src: int, dst: int) -> None:
        self.dcs[src].engine.evict(int(self.dcs[src].local[v]))
        self._unbook(v, src)
        self._place(v, dst)

    # ------------------------------------------------------------------------------------------ outages
    def _outages(self, k: int) -> None:
        for d, starts in self.outage_at[k]:
            self.down[d] = starts
            if starts:
                self._failover(d, k)
            elif self.spec.providers[self.dcs[d].provider].failback:
                self._failback(d, k)

    def _failback(self, d: int, k: int) -> None:
        """Site d is back at step k: its VMs that failed over start moving home over the WAN."""
        for vi in np.flatnonzero(self.failed_from == d):
            v = int(vi)
            self.failed_from[v] = -1
            if self.status[v] == ST_RUNNING and self.vm_dc[v] != d:
                self._start_transfer(v, int(self.vm_dc[v]), d, k * self.dt, failback=True)

    def _outage_end(self, d: int, k: int) -> int:
        return min(s for s, evs in self.outage_at.items() if s > k and (d, False) in evs)

    def _failover(self, d: int, k: int) -> None:
        """Site d went down at step k: restart its VMs elsewhere (provider's policy) or keep them down."""
        p = self.dcs[d].provider
        prov = self.spec.providers[p]
        t0, end = k * self.dt, self._outage_end(d, k)
        for vi in np.flatnonzero((self.vm_dc == d) & (self.status == ST_RUNNING)):
            v = int(vi)
            target, price = -1, math.nan
            if prov.failover != "none" and self.in_transfer[v] < 0:
                target = next((int(t) for t in self._ranked(p, v) if not self.down[t] and
                               (self.dcs[t].provider == self.home[v] or self._within_offer(v, int(t))) and
                               self.dcs[t].engine.fits(int(self.dcs[t].local[v]))), -1)
                if target < 0 and prov.failover == "federation" and p == self.home[v]:
                    quotes, where = self._quotes(v, p)
                    i, price = self.broker.choose(quotes, self.rng) if quotes.n else (-1, math.nan)
                    target = where[i] if i >= 0 else -1
            if target >= 0:
                self._move(v, d, target)
                if self.dcs[target].provider != p and self.host[v] < 0:
                    self.host[v], self.agreed[v] = self.dcs[target].provider, price
                self.failovers += 1
                self.failed_from[v] = d
                self._down(v, t0, prov.restart_s, "restart")
            else:
                last = min(end, int(self.trace.depart_step[v]), self.n_steps)
                for j in range(k, last):  # one event per step, so uptime windows see where it fell
                    self._down(v, j * self.dt, self.dt, "outage")

    def _down(self, v: int, t: float, seconds: float, cause: str) -> None:
        for key, val in (("vm", v), ("t_s", t), ("down_s", seconds), ("cause", cause)):
            self.downtime[key].append(val)
