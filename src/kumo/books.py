"""The run's books: per-step records and running totals; how each step of a run is accounted.

Most steps of a trace replay are *plain*: no migration in flight and no host booting, so every host's load
is constant over the step (the virtualization models' results for the step — host load, useful CPU,
memory-model verdicts — are kept with it). The engine hands such steps to :meth:`Books.plain`,
which only keeps the step's demand and placement; :meth:`Books.flush` then accounts up to
:data:`BATCH` of them at once with 2-D numpy (steps x hosts, steps x VMs) instead of some sixty small numpy
calls per step. Steps with sub-step events go to :meth:`Books.exact`, which integrates them exactly
(:mod:`kumo.integrate`: migrations in flight, boots, virtualization models) after flushing the kept ones.

The batched path gives the same numbers to the last bit as accounting step by step: per-host sums add the
same VMs in the same order, running totals are added step after step, and per-step totals are row sums
over the same contiguous rows. ``tests/test_books.py`` checks it against the step-by-step path.

Read the dicts only after :meth:`flush` (the engine's ``vm_acc``, ``host_acc``, ``step_rec``, ``vm_steps``
and ``host_steps`` properties do it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from kumo.integrate import Pulses, integrate_step
from kumo.state import HOST_OFF, ClusterState

#: plain steps kept before they are accounted together
BATCH = 96
#: ... and at most this many VM-steps (bounds the batch's memory for large traces: about 30 MB)
MAX_CELLS = 250_000


class Books:
    """Accumulators (``vm_acc``, ``host_acc``: per VM / host totals), per-step records (``step_rec``) and,
    when recorded, the per-step matrices (``vm_steps``, ``host_steps``)."""

    def __init__(self, n_steps: int, n_hosts: int, n_vms: int, dt: float, cpu_cap: np.ndarray,
                 ram_cap: np.ndarray, power_w: Callable[[np.ndarray, np.ndarray | None], np.ndarray],
                 host_steps: bool, vm_steps: bool, carbon_g_per_kwh: np.ndarray | None = None):
        n, nh, nv = n_steps, n_hosts, n_vms
        self.dt = dt
        #: (n_steps,) grid intensity, gCO2/kWh; the IT energy's emissions are booked per host and step
        self.carbon = carbon_g_per_kwh
        self.cpu_cap, self.ram_cap = cpu_cap, ram_cap
        self.power_w = power_w
        self.step_rec = {k: np.zeros(n) for k in (
            "active_hosts", "energy_j", "cpu_demand_mhz", "cpu_delivered_mhz", "ram_demand_mb",
            "ram_shortfall_mb", "running_vms", "migrations_started", "migrations_in_flight", "overloaded_hosts",
            "co2_g")}
        self.host_acc = {k: np.zeros(nh) for k in (
            "energy_j", "co2_g", "on_s", "cpu_load_mhz_s", "overload_s", "ram_shortfall_mb_s", "vm_steps",
            "switch_ons", "switch_offs", "migrations_out", "migrations_in", "failures")}
        self.vm_acc = {k: np.zeros(nv) for k in (
            "cpu_demand_mhz_s", "cpu_delivered_mhz_s", "ram_demand_mb_s", "ram_shortfall_mb_s",
            "cpu_short_steps", "ram_short_steps", "migrations", "downtime_s", "steps_run", "failures")}
        self.host_steps: dict[str, np.ndarray] | None = (
            {"cpu_util": np.zeros((n, nh), np.float32), "power_w": np.zeros((n, nh), np.float32),
             "state": np.zeros((n, nh), np.int8)} if host_steps else None)
        self.vm_steps: dict[str, np.ndarray] | None = (
            {"cpu_demand_mhz": np.zeros((n, nv), np.float32), "cpu_delivered_mhz": np.zeros((n, nv), np.float32),
             "ram_demand_mb": np.zeros((n, nv), np.float32), "ram_shortfall_mb": np.zeros((n, nv), np.float32),
             "downtime_s": np.zeros((n, nv), np.float32), "host": np.full((n, nv), -1, np.int32)}
            if vm_steps else None)
        self._pending: list[tuple[Any, ...]] = []
        self._ahead: list[Any] | None = None  # totals_with_kept's running totals, until the next flush

    # ------------------------------------------------------------------------------------------ plain steps
    def plain(self, k: int, cpu: np.ndarray, ram: np.ndarray, placed: np.ndarray, vm_host: np.ndarray,
              on: np.ndarray, n_vms: np.ndarray, state: np.ndarray, load: np.ndarray | None = None,
              useful: np.ndarray | None = None, mem: Any = None) -> None:
        """Keep plain step ``k`` for the next batch: ``cpu``, ``ram`` (n_vms,) demand (0 where not placed),
        ``placed`` the placed VMs' indices, and snapshots of ``vm_host``, the hosts drawing power (``on``),
        VMs per host and host states. With virtualization models: ``load`` the CPU each VM puts on its host
        (None: its demand), ``useful`` the useful fraction of delivered CPU and ``mem`` the memory model's
        result (host RAM, per-VM RAM shortfall and CPU penalty). The caller must not change the arrays
        afterwards."""
        if self._pending and self._pending[-1][0] != k - 1:
            self.flush()
        virt = None
        if load is not None or useful is not None or mem is not None:
            virt = (load, useful, None if mem is None else (mem.host_resident_mb, mem.vm_ram_short_mb,
                                                            mem.vm_cpu_penalty))
        self._pending.append((k, cpu, ram, placed, vm_host, on, n_vms, state, virt))
        if len(self._pending) >= BATCH or len(self._pending) * len(cpu) >= MAX_CELLS:
            self.flush()

    def flush(self) -> None:
        """Account the kept plain steps (all at once); a no-op when none is kept."""
        if not self._pending:
            return
        p, self._pending = self._pending, []
        self._ahead = None
        dt = self.dt
        b, nh = len(p), len(self.cpu_cap)
        ks = slice(p[0][0], p[-1][0] + 1)
        cpu = np.stack([x[1] for x in p])
        ram = np.stack([x[2] for x in p])
        vm_host = np.stack([x[4] for x in p])
        on = np.stack([x[5] for x in p])
        n_vms = np.stack([x[6] for x in p])
        placed = np.zeros(cpu.shape, dtype=bool)
        for i, x in enumerate(p):
            placed[i, x[3]] = True
        # per-host loads: one bincount over (step, host) bins; unplaced VMs go to a dummy bin
        rows = np.arange(b)[:, None] * nh
        src = np.where(placed, vm_host, 0)
        bins = np.where(placed, rows + src, b * nh).ravel()
        virt = [x[8] for x in p]
        loads = cpu if all(v is None or v[0] is None for v in virt) else \
            np.stack([x[1] if v is None or v[0] is None else v[0] for x, v in zip(p, virt, strict=True)])
        cpu_load = np.bincount(bins, loads.ravel(), b * nh + 1)[:-1].reshape(b, nh)
        ram_load = np.bincount(bins, ram.ravel(), b * nh + 1)[:-1].reshape(b, nh)
        has_mem = np.array([v is not None and v[2] is not None for v in virt])
        for j in np.flatnonzero(has_mem).tolist():  # the memory model says what each host holds in RAM
            ram_load[j] = virt[j][2][0]
        # the same formulas as kumo.integrate.integrate_step without pulses, over (steps, hosts)
        cap, rcap = self.cpu_cap, self.ram_cap
        util = np.minimum(cpu_load, cap) / cap
        share = cap / np.maximum(cpu_load, cap)  # 1 unless overloaded (and no huge quotient to discard)
        watts = np.where(on, self.power_w(util.ravel(), np.tile(np.arange(nh), b)).reshape(b, nh), 0.0)
        short = np.maximum(ram_load - rcap, 0.0)
        energy_j = watts * dt
        share_s = share * dt
        load_mhz_s = util * cap * dt
        overload_s = np.where(cpu_load > cap * (1 + 1e-12), dt, 0.0)
        ram_short_mb_s = short * dt
        ram_load_mb_s = ram_load * dt
        # per VM (demand is 0 where a VM is not placed, so its products are 0 too)
        delivered = cpu * np.take_along_axis(share_s, src, axis=1)
        frac = np.divide(ram_short_mb_s, ram_load_mb_s, out=np.zeros_like(ram_load_mb_s), where=ram_load_mb_s > 0)
        vm_ram_short = ram * dt * np.take_along_axis(frac, src, axis=1)
        for i, v in enumerate(virt):  # as Books.exact: useful fraction, then the memory model's verdicts
            if v is None:
                continue
            if v[1] is not None:
                delivered[i] *= v[1]
            if v[2] is not None:
                vm_ram_short[i] = v[2][1] * dt
                delivered[i] *= 1.0 - v[2][2]
        self._post(ks, placed, cpu, ram, delivered, vm_ram_short, vm_host, on, n_vms,
                   np.stack([x[7] for x in p]) if self.host_steps is not None else None, energy_j, load_mhz_s,
                   overload_s, ram_short_mb_s, [len(x[3]) for x in p], 0)

    def kept(self) -> int:
        """How many plain steps are kept, not accounted yet."""
        return len(self._pending)

    def totals_with_kept(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """``host_acc["energy_j"]``, ``host_acc["on_s"]`` and ``vm_acc["steps_run"]`` as :meth:`flush` will leave
        them, to the bit, without accounting the kept steps (a reader of these totals only, such as a running
        ledger, need not break the batch); None when a kept step has virtualization models. Do not change
        the arrays returned."""
        if any(x[8] is not None for x in self._pending):
            return None
        ahead = self._ahead
        if ahead is None:
            ahead = self._ahead = [0, self.host_acc["energy_j"].copy(), self.host_acc["on_s"].copy(),
                                   self.vm_acc["steps_run"].copy()]
        nh, dt, cap = len(self.cpu_cap), self.dt, self.cpu_cap
        for x in self._pending[ahead[0]:]:  # as flush: the same loads, power and order of the additions
            cpu, placed, vm_host, on = x[1], x[3], x[4], x[5]
            util = np.minimum(np.bincount(vm_host[placed], cpu[placed], nh), cap) / cap
            ahead[1] += np.where(on, self.power_w(util, np.arange(nh)), 0.0) * dt
            ahead[2] += np.where(on, dt, 0.0)
            ahead[3][placed] += 1.0
        ahead[0] = len(self._pending)
        return ahead[1], ahead[2], ahead[3]

    def plain_run(self, k: int, cpu: np.ndarray, ram: np.ndarray, placed: np.ndarray, vm_host: np.ndarray,
                  on: np.ndarray, n_vms: np.ndarray, state: np.ndarray) -> None:
        """Account the plain steps ``k`` .. ``k + b - 1`` of a run that keeps one placement, without
        virtualization models: ``cpu``, ``ram`` (b, n_vms) demand (0 where not placed), ``placed`` the placed
        VMs' indices, ``vm_host``, ``on``, ``n_vms``, ``state`` as for :meth:`plain`, the same in every step.
        The same bits as :meth:`plain` step after step (kept steps are accounted first), with less work: the
        placement is shared by the steps."""
        self.flush()
        dt = self.dt
        nh, nv = len(self.cpu_cap), cpu.shape[1]
        mask = np.zeros(nv, dtype=bool)
        mask[placed] = True
        src = np.where(mask, vm_host, 0)
        rows = max(1, MAX_CELLS // max(nv, 1))
        for a in range(0, cpu.shape[0], rows):
            c, r = cpu[a:a + rows], ram[a:a + rows]
            b = c.shape[0]
            # per-host loads: as flush's bincount, the placed VMs of a step in index order
            bins = (np.arange(b)[:, None] * nh + src[placed][None, :]).ravel()
            cpu_load = np.bincount(bins, c[:, placed].ravel(), b * nh).reshape(b, nh)
            ram_load = np.bincount(bins, r[:, placed].ravel(), b * nh).reshape(b, nh)
            cap, rcap = self.cpu_cap, self.ram_cap
            util = np.minimum(cpu_load, cap) / cap
            share = np.where(cpu_load > cap, cap / np.maximum(cpu_load, 1e-300), 1.0)
            watts = np.where(on, self.power_w(util.ravel(), np.tile(np.arange(nh), b)).reshape(b, nh), 0.0)
            short = np.maximum(ram_load - rcap, 0.0)
            energy_j = watts * dt
            share_s = share * dt
            load_mhz_s = util * cap * dt
            overload_s = np.where(cpu_load > cap * (1 + 1e-12), dt, 0.0)
            ram_short_mb_s = short * dt
            ram_load_mb_s = ram_load * dt
            delivered = c * share_s[:, src]
            frac = np.divide(ram_short_mb_s, ram_load_mb_s, out=np.zeros_like(ram_load_mb_s), where=ram_load_mb_s > 0)
            vm_ram_short = r * dt * frac[:, src]
            self._post(slice(k + a, k + a + b), np.broadcast_to(mask, (b, nv)), c, r, delivered, vm_ram_short,
                       np.broadcast_to(vm_host, (b, nv)), np.broadcast_to(on, (b, nh)),
                       np.broadcast_to(n_vms, (b, nh)), np.broadcast_to(state, (b, nh)), energy_j, load_mhz_s,
                       overload_s, ram_short_mb_s, [len(placed)] * b, 0, _add_rows_at_once)

    def _post(self, ks: slice, placed: np.ndarray, cpu: np.ndarray, ram: np.ndarray, delivered: np.ndarray,
              vm_ram_short: np.ndarray, vm_host: np.ndarray, on: np.ndarray, n_vms: np.ndarray,
              state: np.ndarray | None, energy_j: np.ndarray, load_mhz_s: np.ndarray, overload_s: np.ndarray,
              ram_short_mb_s: np.ndarray, running: list[int], in_flight: int,
              add: Callable[[np.ndarray, np.ndarray], None] | None = None) -> None:
        """Post the steps ``ks`` to the books: per-VM arrays (steps, n_vms) — placed mask, demand, delivered
        CPU (MHz-s), RAM shortfall (MB-s), host; per-host arrays (steps, n_hosts) — drawing power, VMs,
        state, energy (J), load (MHz-s), overload (s), RAM shortfall (MB-s). Totals are added step after
        step, so posting steps one at a time or together gives the same bits (``add``: how rows are added to a
        total, :func:`_add_rows` by default)."""
        dt = self.dt
        add = add or _add_rows
        demand_s = cpu * dt
        va = self.vm_acc
        add(va["cpu_demand_mhz_s"], demand_s)
        add(va["cpu_delivered_mhz_s"], delivered)
        add(va["ram_demand_mb_s"], ram * dt)
        add(va["ram_shortfall_mb_s"], vm_ram_short)
        va["cpu_short_steps"] += _per_column(placed & (delivered < demand_s * (1 - 1e-9)))
        va["ram_short_steps"] += _per_column(placed & (vm_ram_short > 1e-9))
        va["steps_run"] += _per_column(placed)
        ha = self.host_acc
        add(ha["energy_j"], energy_j)
        if self.carbon is not None:
            co2_g = energy_j * (self.carbon[ks][:, None] / 3.6e6)  # J x gCO2/kWh / (J/kWh), IT energy
            add(ha["co2_g"], co2_g)
            self.step_rec["co2_g"][ks] = _row_sums(co2_g)
        add(ha["on_s"], np.where(on, dt, 0.0))
        add(ha["cpu_load_mhz_s"], load_mhz_s)
        add(ha["overload_s"], overload_s)
        add(ha["ram_shortfall_mb_s"], ram_short_mb_s)
        add(ha["vm_steps"], n_vms.astype(np.float64))
        sr = self.step_rec
        sr["active_hosts"][ks] = _per_row(on)
        sr["energy_j"][ks] = _row_sums(energy_j)
        sr["cpu_demand_mhz"][ks] = _row_sums(cpu)
        sr["cpu_delivered_mhz"][ks] = _row_sums(delivered) / dt
        sr["ram_demand_mb"][ks] = _row_sums(ram)
        sr["ram_shortfall_mb"][ks] = _row_sums(ram_short_mb_s) / dt
        sr["running_vms"][ks] = running
        sr["migrations_in_flight"][ks] = in_flight
        sr["overloaded_hosts"][ks] = _per_row(overload_s > 0)
        if self.vm_steps is not None:
            vs = self.vm_steps
            vs["cpu_demand_mhz"][ks] = cpu
            vs["cpu_delivered_mhz"][ks] = delivered / dt
            vs["ram_demand_mb"][ks] = ram
            vs["ram_shortfall_mb"][ks] = vm_ram_short / dt
            vs["host"][ks] = vm_host
        if self.host_steps is not None:
            self.host_steps["cpu_util"][ks] = load_mhz_s / (self.cpu_cap * dt)
            self.host_steps["power_w"][ks] = energy_j / dt
            self.host_steps["state"][ks] = state

    # ------------------------------------------------------------------------------------------ exact steps
    def exact(self, k: int, t0: float, t1: float, s: ClusterState, cpu: np.ndarray, ram: np.ndarray,
              load: np.ndarray, useful: np.ndarray | None, mem: Any, placed: np.ndarray, mig: np.ndarray,
              flight: np.ndarray, reserve: float, booting: np.ndarray, boot_w: np.ndarray) -> None:
        """Account step ``k`` with its sub-step events, exactly (:mod:`kumo.integrate`): migrations in flight
        (``mig``, with ``flight`` = their start s, end s and CPU loss fraction; the target reserves
        ``reserve`` x the VM's CPU load), hosts still ``booting`` (drawing ``boot_w``) and the virtualization
        models' results (``load`` on hosts, ``useful`` CPU fraction, memory model ``mem``). ``placed``: the
        running or migrating VMs. Kept plain steps are accounted first."""
        self.flush()
        dt = self.dt
        nh = s.hosts.n
        src = s.vm_host[placed]
        cpu_load = np.bincount(src, load[placed], nh)
        ram_load = mem.host_resident_mb if mem is not None else np.bincount(src, ram[placed], nh)
        mig_start, mig_end, mig_loss = flight
        n = len(mig)
        tables = []
        if n:
            # per migration, in order: the target's reserve while in flight, then, when it completes inside
            # the step, the VM's load moving from source to target
            lm, rm = load[mig], ram[mig]
            done = mig_end < t1
            rows = np.zeros((n, 3, 6))  # (host, start, end, CPU, RAM, down) of the three pulses
            rows[:, :, 0] = np.stack((s.vm_target[mig], s.vm_target[mig], s.vm_host[mig]), axis=1)
            rows[:, 0, 1] = np.maximum(mig_start, t0)
            rows[:, 1:, 1] = mig_end[:, None]
            rows[:, 0, 2] = np.minimum(mig_end, t1)
            rows[:, 1:, 2] = t1
            rows[:, :, 3] = lm[:, None] * np.array([reserve, 1.0, -1.0])
            rows[:, :, 4] = rm[:, None] * np.array([1.0, 1.0, -1.0])
            keep = np.ones((n, 3), bool)
            keep[:, 1:] = done[:, None]
            tables.append(rows.reshape(-1, 6)[keep.ravel()])
        if len(booting):
            tables.append(np.column_stack((booting, np.full(len(booting), t0), np.minimum(s.host_ready_s[booting], t1),
                                           np.zeros((len(booting), 2)), np.ones(len(booting)))))
        pulses = Pulses.from_table(np.concatenate(tables)) if tables else None
        on = s.host_state != HOST_OFF
        integ = integrate_step(t0, t1, cpu_load, ram_load, s.hosts.cpu_mhz, s.hosts.ram_mb, on, self.power_w,
                               boot_w, pulses)
        base_share = integ.share_s / dt
        # delivered CPU per VM: demand x time-integral of its host's share
        delivered = np.zeros_like(cpu)
        if pulses is None:
            delivered[placed] = cpu[placed] * integ.share_s[src]
        else:
            # the share integrals in one query (each is a function of its host and interval only): the
            # whole step on every host (a VM's is its host's), then per migration on its source over
            # [t0, end], on its source over the copy, on its target after the end
            src_h, tgt_h = s.vm_host[mig], s.vm_target[mig]
            seg_a = np.maximum(mig_start, t0)
            seg_b = np.minimum(mig_end, t1)
            m = len(mig)
            share = integ.share_integral(np.concatenate([np.arange(nh), src_h, src_h, tgt_h]),
                                         np.concatenate([np.full(nh + m, t0), seg_a, seg_b]),
                                         np.concatenate([np.full(nh, t1), seg_b, seg_b, np.full(m, t1)]), base_share)
            delivered[placed] = cpu[placed] * share[:nh][src]
            if m:
                on_src, lost = share[nh:nh + m], mig_loss * share[nh + m:nh + 2 * m]
                on_tgt = np.where(mig_end < t1, share[nh + 2 * m:], 0.0)
                delivered[mig] = cpu[mig] * (on_src - lost + on_tgt)
        if useful is not None:
            delivered *= useful
        if mem is not None:
            # the memory model says which VM misses what (swap, balloon), and what faults cost its CPU
            vm_ram_short = mem.vm_ram_short_mb * dt
            delivered *= 1.0 - mem.vm_cpu_penalty
        else:
            # RAM shortfall per VM: its host's shortfall split in proportion to RAM demand
            host_ram_s = integ.ram_load_mb_s
            frac = np.divide(integ.ram_short_mb_s, host_ram_s, out=np.zeros(nh), where=host_ram_s > 0)
            vm_ram_short = np.zeros_like(ram)
            vm_ram_short[placed] = ram[placed] * dt * frac[src]
        mask = np.zeros(len(cpu), bool)
        mask[placed] = True
        self._post(slice(k, k + 1), mask[None], cpu[None], ram[None], delivered[None], vm_ram_short[None],
                   s.vm_host[None], on[None], s.host_n_vms[None], s.host_state[None], integ.energy_j[None],
                   integ.load_mhz_s[None], integ.overload_s[None], integ.ram_short_mb_s[None], [len(placed)],
                   len(mig))


def _add_rows(acc: np.ndarray, rows: np.ndarray) -> None:
    """``acc += rows[0]; acc += rows[1]; ...`` in that order (bit-identical to adding step by step; a loop
    of row adds is several times faster here than ``np.add.accumulate`` along the step axis)."""
    for r in rows:
        acc += r


def _per_column(m: np.ndarray) -> np.ndarray:
    """``np.count_nonzero(m, axis=0)`` of a (steps, n) bool array; of one step, its row (several times faster)."""
    return m[0] if m.shape[0] == 1 else np.count_nonzero(m, axis=0)


def _per_row(m: np.ndarray) -> Any:
    """``np.count_nonzero(m, axis=1)`` of a (steps, n) bool array (one step: the count of its row)."""
    return np.count_nonzero(m[0]) if m.shape[0] == 1 else np.count_nonzero(m, axis=1)


def _add_rows_at_once(acc: np.ndarray, rows: np.ndarray) -> None:
    """:func:`_add_rows` in one reduction over the step axis: numpy reduces axis 0 of a C-contiguous
    (steps, n) array with n >= 2 row after row (its inner loop runs over the columns), so the bits are the
    same, several times faster for many rows (checked by ``tests/test_books.py``)."""
    if rows.shape[0] < 2 or acc.size < 2:
        _add_rows(acc, rows)
        return
    acc[...] = np.concatenate([acc[None], rows]).sum(axis=0)


def _row_sums(a: np.ndarray) -> np.ndarray:
    """Each row's ``sum()``: numpy reduces a contiguous row with the same pairwise summation as a 1-D array
    (checked bit for bit by ``tests/test_books.py``)."""
    return np.ascontiguousarray(a).sum(axis=1)
