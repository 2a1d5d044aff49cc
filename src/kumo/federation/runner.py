"""Run a federation: one kumo engine per data center, in lockstep over the trace steps.

At every step, in this order: each engine begins the step (its events, departures, retries); the runner
records departures, completes WAN transfers that are due (evict at the source, place at the target), and
routes arrivals (then VMs waiting in the federation queue): the customer's own provider first, its data
centers in the order of its site policy, skipping full ones and those above its ``risk_util``; then the
broker among partners that can host the VM; then a risky own data center; else the VM is rejected or
queued. Then each engine finishes the step (demand, its controller, accounting), and every
``rebalance_interval_steps`` the site policies may start WAN moves.

Residency is structural: the engine of a data center holds only the VMs whose customers may run there
(:meth:`FederationSpec.allowed_matrix`), so a forbidden placement has no VM index to place; every
placement also checks the matrix and raises if it were ever asked for one.
"""

from __future__ import annotations

import math
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from kumo.config import Scenario
from kumo.engine import Engine, prepare_trace
from kumo.federation.brokers import Quotes, Sites  # also registers the policies
from kumo.federation.moves import (
    ST_DEPARTED,
    ST_EXPIRED,
    ST_QUEUED,
    ST_REJECTED,
    ST_RUNNING,
    Moves,
)
from kumo.federation.spec import FederationSpec, datacenter_scenario
from kumo.policies import registry
from kumo.traces.base import Trace

Progress = Callable[[int, int], None]



def assign_customers(spec: FederationSpec, n_vms: int) -> np.ndarray:
    """(n_vms,) customer index of every trace VM, by share and ``federation.customer_assignment``.

    Counts are the shares' largest-remainder apportionment of the VMs. ``blocks``: contiguous in trace
    order; ``round-robin``: the k-th VM of customer c sits at its ideal position (k + 1/2) / count_c,
    interleaved by that position; ``random``: blocks over a permutation seeded by the federation seed.
    """
    w = np.array([c.share for c in spec.customers], dtype=np.float64)
    ideal = w / w.sum() * n_vms
    counts = np.floor(ideal).astype(np.int64)
    rest = n_vms - counts.sum()
    counts[np.lexsort((np.arange(len(w)), -(ideal - counts)))[:rest]] += 1
    rule = spec.federation.customer_assignment
    if rule == "round-robin":
        pos = np.concatenate([(np.arange(k) + 0.5) / k for k in counts if k])
        who = np.concatenate([np.full(k, c) for c, k in enumerate(counts) if k])
        return who[np.lexsort((who, pos))].astype(np.int64)
    blocks = np.repeat(np.arange(len(w)), counts).astype(np.int64)
    if rule == "random":
        out = np.empty(n_vms, np.int64)
        out[np.random.default_rng(np.random.SeedSequence([spec.seed, 1])).permutation(n_vms)] = blocks
        return out
    return blocks


def prepare_federation_trace(spec: FederationSpec, trace: Trace) -> Trace:
    """The trace with the federation's VM subset, step limit and VM types applied (once for all DCs)."""
    host = spec.providers[0].datacenters[0].hosts[0]
    probe = Scenario.model_validate({"name": spec.name, "trace": spec.trace.model_dump(), "hosts": [host.model_dump()]})
    return prepare_trace(probe, trace)


def _empty_trace(trace: Trace) -> Trace:
    """One idle placeholder VM, for a data center no customer may use (an engine needs a VM)."""
    n = trace.n_steps
    z = np.zeros((n, 1), np.float32)
    return replace(trace, vm_ids=np.array(["<none>"]), cpu=z, ram_mb=None if trace.ram_mb is None else z.copy(),
                   cores=np.ones(1, np.int32), cpu_booked_mhz=np.ones(1, np.float32),
                   ram_booked_mb=np.ones(1, np.float32), arrive_step=np.full(1, n, np.int32),
                   depart_step=np.full(1, n, np.int32), extra={})


def _bucket(step_of: np.ndarray, n: int, among: np.ndarray) -> list[np.ndarray]:
    idx = np.flatnonzero(among & (step_of >= 0) & (step_of < n))
    order = idx[np.argsort(step_of[idx], kind="stable")]
    cut = np.searchsorted(step_of[order], np.arange(n + 1))
    return [order[cut[i]:cut[i + 1]] for i in range(n)]


def _carbon_arrays(eng: Engine, pue: float) -> dict[str, np.ndarray]:
    """A data center's carbon per IT kWh now and its day-ahead mean, per step (zeros without [carbon])."""
    n = eng.trace.n_steps
    c = (np.zeros(n) if eng.carbon is None else np.asarray(eng.carbon, np.float64)) * pue
    w = max(1, int(round(86400.0 / eng.dt)))
    forecast = eng.state.carbon_forecast
    if forecast is not None and forecast.kind != "perfect":
        # the day-ahead mean as the site is told it ([carbon] forecast)
        return {"carbon_now": c, "carbon_day": forecast.day_mean(w) * pue}
    cs = np.concatenate([[0.0], np.cumsum(c)])
    end = np.minimum(np.arange(n) + w, n)
    return {"carbon_now": c, "carbon_day": (cs[end] - cs[:n]) / (end - np.arange(n))}


@dataclass
class DataCenter:
    """One data center in a run: its engine and the map between trace and engine VM indices."""

    index: int
    provider: int
    name: str
    engine: Engine
    local: np.ndarray  # (n_vms,) engine index of each trace VM, -1 if the VM may not run here
    glob: np.ndarray  # (n_local,) trace index of each engine VM (-1 for the placeholder)
    energy_cost: float
    cpu_mhz: float
    ram_mb: float
    cpu_bookable: float
    ram_bookable: float
    offer_cpu: float
    offer_ram: float
    #: (n_steps,) carbon per IT kWh (grid intensity x PUE, gCO2/kWh) at each step, and its mean over the
    #: day ahead (this step and the next 24 h, shorter at the end of the run); zeros without ``[carbon]``
    carbon_now: np.ndarray | None = None
    carbon_day: np.ndarray | None = None

    def carbon(self) -> tuple[float, float]:
        """(now, day-ahead mean) carbon per IT kWh at the current step, gCO2/kWh."""
        if self.carbon_now is None or self.carbon_day is None:
            return 0.0, 0.0
        k = min(self.engine.state.step, len(self.carbon_now) - 1)
        return float(self.carbon_now[k]), float(self.carbon_day[k])

    def utils(self) -> tuple[float, float, float]:
        """(booked share, demand share, CPU demand share) now; shares are max over CPU and RAM."""
        s = self.engine.state
        booked = max(s.host_cpu_booked.sum() / self.cpu_bookable, s.host_ram_booked.sum() / self.ram_bookable)
        cpu = s.host_cpu_demand.sum() / self.cpu_mhz
        return booked, max(cpu, s.host_ram_demand.sum() / self.ram_mb), cpu


class FederationRun(Moves):
    """The state of one federation run; :meth:`run` loops and returns a FederationResult."""

    def __init__(self, spec: FederationSpec, trace: Trace, progress: Progress | None = None):
        self.spec, self.progress = spec, progress
        self.trace = tr = prepare_federation_trace(spec, trace)  # its content hash is cached
        n = tr.n_vms
        self.customer = assign_customers(spec, n)
        names = [p.name for p in spec.providers]
        self.home = np.array([names.index(c.provider) for c in spec.customers], np.int64)[self.customer]
        self.allowed = spec.allowed_matrix()[self.customer]  # (n_vms, n_dc)
        from kumo.federation.ledger import template_index

        tix = template_index(spec)
        self.template = np.array([tix[(c.provider, c.sla_class)] for c in spec.customers], np.int64)[self.customer]
        self.templates = [t for p in spec.providers for t in p.sla_templates.values()]
        cores = tr.cores.astype(np.float64)
        ram_gb = tr.ram_booked_mb.astype(np.float64) / 1024.0
        self.cpu_booked = tr.cpu_booked_mhz.astype(np.float64)
        self.ram_booked = tr.ram_booked_mb.astype(np.float64)

        def price(ps: object) -> np.ndarray:
            return ps.scale * (ps.per_vcpu_hour * cores + ps.per_gb_hour * ram_gb)  # type: ignore[attr-defined]

        factor = np.array([t.price_factor for t in self.templates])[self.template]
        cust_price = np.stack([price(p.prices.customer) for p in spec.providers])
        self.customer_price = cust_price[self.home, np.arange(n)] * factor
        self.partner_price = np.stack([price(p.prices.partner) for p in spec.providers])  # (n_prov, n_vms)
        seeds = np.random.SeedSequence(spec.seed).spawn(len(spec.datacenters) + 1)
        self.rng = np.random.default_rng(seeds[-1])
        self.broker = registry.make("broker", spec.broker.name, spec.broker.params)
        self.sites = [registry.make("site", p.site.name, p.site.params) for p in spec.providers]
        record = spec.federation.sla_detail == "steps"
        self.dcs: list[DataCenter] = []
        for d, (p, j, dspec) in enumerate(spec.datacenters):
            idx = np.flatnonzero(self.allowed[:, d])
            sub = tr if len(idx) == n else (tr.select(vms=idx) if len(idx) else _empty_trace(tr))
            local = np.full(n, -1, np.int64)
            local[idx] = np.arange(len(idx))
            sc = datacenter_scenario(spec, p, j, record, int(seeds[d].generate_state(1)[0]))
            eng = Engine(sc, sub, managed_arrivals=True)
            h = eng.state.hosts
            offer = spec.providers[p].sharing.offer_fraction
            self.dcs.append(DataCenter(
                index=d, provider=p, name=f"{spec.providers[p].name}/{dspec.name}", engine=eng, local=local,
                glob=idx if len(idx) else np.full(1, -1, np.int64),
                energy_cost=dspec.energy_price_per_kwh * dspec.pue, cpu_mhz=float(h.cpu_mhz.sum()),
                ram_mb=float(h.ram_mb.sum()), cpu_bookable=float((h.cpu_mhz * h.cpu_overcommit).sum()),
                ram_bookable=float((h.ram_mb * h.ram_overcommit).sum()),
                offer_cpu=offer * float((h.cpu_mhz * h.cpu_overcommit).sum()),
                offer_ram=offer * float((h.ram_mb * h.ram_overcommit).sum()),
                **_carbon_arrays(eng, dspec.pue)))
        self.dcs_of = [np.array([d.index for d in self.dcs if d.provider == p], np.int64)
                       for p in range(len(spec.providers))]
        self.n_steps, self.dt = tr.n_steps, float(tr.step_s)
        live = tr.arrive_step < tr.depart_step
        self.arrivals = _bucket(tr.arrive_step.astype(np.int64), self.n_steps, live)
        self.departures = _bucket(tr.depart_step.astype(np.int64), self.n_steps, live)
        # federation-level VM state
        self.status = np.zeros(n, np.int8)
        self.vm_dc = np.full(n, -1, np.int64)
        self.first_dc = np.full(n, -1, np.int64)
        self.last_dc = np.full(n, -1, np.int64)
        self.first_step = np.full(n, -1, np.int64)
        self.host = np.full(n, -1, np.int64)  # partner hosting an outsourced VM
        self.agreed = np.full(n, math.nan)
        self.in_transfer = np.full(n, -1, np.int64)
        self.ins_cpu = np.zeros(len(self.dcs))
        self.ins_ram = np.zeros(len(self.dcs))
        self.queue: list[int] = []
        self.rej: dict[str, list] = {"vm": [], "step": [], "reason": []}
        self.tr: dict[str, list] = {k: [] for k in ("vm", "src", "dst", "start_s", "end_s", "switch_s", "size_mb",
                                                     "status")}
        self.down = np.zeros(len(self.dcs), dtype=bool)
        self.outage_at: dict[int, list[tuple[int, bool]]] = {}
        for d, (_, _, dspec) in enumerate(spec.datacenters):
            for o in dspec.outages:
                a = int(np.floor(o.start_h * 3600 / self.dt))
                b = int(np.ceil((o.start_h + o.duration_h) * 3600 / self.dt))
                if a < self.n_steps:
                    self.outage_at.setdefault(a, []).append((d, True))
                    self.outage_at.setdefault(b, []).append((d, False))
        self.downtime: dict[str, list] = {"vm": [], "t_s": [], "down_s": [], "cause": []}
        self.failed_from = np.full(n, -1, np.int64)
        self.failovers = 0
        self._heap: list[tuple[float, int]] = []
        self._link_free: dict[tuple[int, int], float] = {}
        self.wall_s = 0.0

    # ------------------------------------------------------------------------------------------ placing
    def _place(self, v: int, d: int) -> None:
        dc = self.dcs[d]
        loc = int(dc.local[v])
        if loc < 0 or not self.allowed[v, d]:
            raise RuntimeError(f"residency: VM {self.trace.vm_ids[v]} of customer "
                               f"{self.spec.customers[self.customer[v]].name!r} may not run in {dc.name}")
        if not dc.engine.place_arrivals(np.array([loc]))[0]:
            raise RuntimeError(f"{dc.name} refused VM {self.trace.vm_ids[v]} after fits() said it fits")
        self.vm_dc[v] = self.last_dc[v] = d
        self.status[v] = ST_RUNNING
        if self.first_dc[v] < 0:
            self.first_dc[v], self.first_step[v] = d, self.dcs[d].engine.state.step
        if dc.provider != self.home[v]:
            self.ins_cpu[d] += self.cpu_booked[v]
            self.ins_ram[d] += self.ram_booked[v]

    def _unbook(self, v: int, d: int) -> None:
        if self.dcs[d].provider != self.home[v]:
            self.ins_cpu[d] -= self.cpu_booked[v]
            self.ins_ram[d] -= self.ram_booked[v]

    def _within_offer(self, v: int, d: int) -> bool:
        dc = self.dcs[d]
        return (self.ins_cpu[d] + self.cpu_booked[v] <= dc.offer_cpu * (1 + 1e-12)
                and self.ins_ram[d] + self.ram_booked[v] <= dc.offer_ram * (1 + 1e-12))

    def _ranked(self, p: int, v: int) -> np.ndarray:
        """Provider p's data centers allowed for VM v, in its site policy's order."""
        cand = self.dcs_of[p][self.allowed[v, self.dcs_of[p]]]
        if len(cand) < 2:
            return cand
        u = np.array([self.dcs[d].utils()[:2] for d in cand])
        c = np.array([self.dcs[d].carbon() for d in cand])
        sites = Sites(dc=cand, energy_cost=np.array([self.dcs[d].energy_cost for d in cand]),
                      booked_util=u[:, 0], demand_util=u[:, 1], carbon_now=c[:, 0], carbon_day=c[:, 1])
        return cand[self.sites[p].rank(sites)]

    def _route(self, v: int, k: int) -> str | None:
        """Place VM v now; returns None when placed, else why not."""
        home = int(self.home[v])
        risk = self.spec.providers[home].risk_util
        fallback = -1
        for d in self._ranked(home, v):
            dc = self.dcs[d]
            if self.down[d] or not dc.engine.fits(int(dc.local[v])):
                continue
            if risk is not None and dc.utils()[1] > risk:
                fallback = int(d) if fallback < 0 else fallback
                continue
            self._place(v, int(d))
            return None
        quotes, where = self._quotes(v, home)
        if quotes.n:
            i, price = self.broker.choose(quotes, self.rng)
            if i >= 0:
                self._place(v, where[i])
                self.host[v], self.agreed[v] = int(quotes.provider[i]), price
                return None
        if fallback >= 0:
            self._place(v, fallback)
            return None
        if quotes.n:
            return f"no own data center fits; broker '{self.spec.broker.name}' declined {quotes.n} offer(s)"
        return "no own data center fits and no partner can host it"

    def _quotes(self, v: int, home: int) -> tuple[Quotes, list[int]]:
        prov, where = [], []
        for p in range(len(self.spec.providers)):
            if p == home or not self.allowed[v, self.dcs_of[p]].any():
                continue
            for d in self._ranked(p, v):
                d = int(d)
                if not self.down[d] and self._within_offer(v, d) and self.dcs[d].engine.fits(int(self.dcs[d].local[v])):
                    prov.append(p)
                    where.append(d)
                    break
        pa = np.array(prov, np.int64)
        carbon = np.array([self.dcs[d].carbon() for d in where]).reshape(len(where), 2)
        util, ok, steps = np.zeros(len(pa)), np.zeros((2, len(pa))), np.zeros((2, len(pa)))
        for i, p in enumerate(pa):
            dcs = [self.dcs[d] for d in self.dcs_of[p]]
            util[i] = max(sum(self.ins_cpu[d.index] for d in dcs) / max(sum(d.offer_cpu for d in dcs), 1e-300),
                          sum(self.ins_ram[d.index] for d in dcs) / max(sum(d.offer_ram for d in dcs), 1e-300))
            for dc in dcs:
                va = dc.engine.vm_acc
                run = va["steps_run"]
                bad = np.minimum(va["cpu_short_steps"] + va["ram_short_steps"], run)
                foreign = (dc.glob >= 0) & (self.home[np.maximum(dc.glob, 0)] != p)
                ok[0, i] += (run - bad).sum()
                steps[0, i] += run.sum()
                ok[1, i] += (run - bad)[foreign].sum()
                steps[1, i] += run[foreign].sum()
        q = Quotes(provider=pa, list_price=self.partner_price[pa, v], utilization=np.minimum(util, 1.0),
                   bid_surge=np.array([self.spec.providers[p].sharing.bid_surge for p in pa]),
                   ok_steps=ok, steps=steps, customer_price=float(self.customer_price[v]),
                   reputation=np.array([np.nan if self.spec.providers[p].reputation is None
                                        else self.spec.providers[p].reputation for p in pa]),
                   carbon_now=carbon[:, 0], carbon_day=carbon[:, 1])
        return q, where

    # ------------------------------------------------------------------------------------------ the loop
    def run(self):  # -> FederationResult
        from kumo.federation.tables import build_federation_result

        t_wall = _time.perf_counter()
        n, dcs = self.n_steps, self.dcs
        every = max(1, n // 100)
        interval = self.spec.federation.rebalance_interval_steps
        rebalancing = [p for p, s in enumerate(self.sites)
                       if getattr(s, "rebalance_above", None) is not None and len(self.dcs_of[p]) > 1]
        for k in range(n):
            for dc in dcs:
                dc.engine.begin_step(k)
            if len(self.departures[k]):
                self._departures(k)
            if k in self.outage_at:
                self._outages(k)
            if self._heap and self._heap[0][0] <= k * self.dt:
                self._complete_transfers(k)
            if self.queue:
                self._retry_queue(k)
            for v in self.arrivals[k]:
                self._arrive(int(v), k)
            for dc in dcs:
                dc.engine.finish_step(k)
            if rebalancing and (k + 1) % interval == 0 and k + 1 < n:
                for p in rebalancing:
                    self._rebalance(p, k)
            if self.progress is not None and (k % every == 0 or k == n - 1):
                self.progress(k + 1, n)
        for dc in dcs:
            dc.engine.close()
        self.wall_s = _time.perf_counter() - t_wall
        return build_federation_result(self)

    def _arrive(self, v: int, k: int) -> None:
        why = self._route(v, k)
        if why is None:
            return
        if self.spec.federation.on_no_capacity == "queue":
            self.status[v] = ST_QUEUED
            self.queue.append(v)
        else:
            self.status[v] = ST_REJECTED
        self.rej["vm"].append(v)
        self.rej["step"].append(k)
        self.rej["reason"].append(why)

    def _retry_queue(self, k: int) -> None:
        waiting, self.queue = self.queue, []
        for v in waiting:
            if self.status[v] != ST_QUEUED:
                continue
            if self._route(v, k) is None:
                continue
            self.queue.append(v)

    def _departures(self, k: int) -> None:
        for v in self.departures[k]:
            v = int(v)
            st = self.status[v]
            if st == ST_RUNNING:
                self._unbook(v, int(self.vm_dc[v]))
                self.vm_dc[v] = -1
                self.status[v] = ST_DEPARTED
                t = self.in_transfer[v]
                if t >= 0:
                    self.tr["status"][t] = "aborted"
                    self.in_transfer[v] = -1
            elif st == ST_QUEUED:
                self.status[v] = ST_EXPIRED
