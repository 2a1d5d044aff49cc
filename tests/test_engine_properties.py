"""Hypothesis properties of the engine: nothing is lost, bookings add up, energy grows with load."""

from __future__ import annotations

import numpy as np
from conftest import make_trace
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kumo
from kumo.api import Decision
from kumo.engine import Engine
from kumo.state import VM_MIGRATING, VM_RUNNING


class RandomMover:
    """Migrates a random running VM to a random other host every step (exercises every code path)."""

    def __init__(self, switch_off: bool):
        self.switch_off = switch_off

    def init_memory(self, view):
        return None

    def decide(self, view, memory, rng):
        running = np.flatnonzero(view.vm_state == VM_RUNNING)
        moves = []
        if len(running) and view.hosts.n > 1:
            vm = int(running[rng.integers(len(running))])
            target = int(rng.integers(view.hosts.n - 1))
            target += target >= view.vm_host[vm]
            moves.append((vm, target))
        off = []
        if self.switch_off:
            targets = {t for _, t in moves}
            off = [int(h) for h in np.flatnonzero((view.host_n_vms == 0) & (view.host_state == 1)) if h not in targets]
        return Decision(migrations=moves, switch_off=off, power_on=[t for _, t in moves])


worlds = st.fixed_dictionaries({
    "n_vms": st.integers(1, 6),
    "n_steps": st.integers(1, 6),
    "n_hosts": st.integers(1, 4),
    "seed": st.integers(0, 2**16),
    "ram_gb": st.sampled_from([1, 2, 8]),
    "switch_off": st.booleans(),
    "boot_s": st.sampled_from([0.0, 45.0]),
})


def build(w):
    rng = np.random.default_rng(w["seed"])
    cpu = rng.uniform(0, 1200, (w["n_steps"], w["n_vms"]))
    ram = rng.uniform(0, 3000, (w["n_steps"], w["n_vms"]))
    arrive = rng.integers(0, w["n_steps"], w["n_vms"])
    depart = np.minimum(arrive + rng.integers(1, w["n_steps"] + 1, w["n_vms"]), w["n_steps"])
    tr = make_trace(cpu, ram=ram, booked_cpu=np.full(w["n_vms"], 1000.0), booked_ram=rng.uniform(500, 3000, w["n_vms"]),
                    arrive=arrive, depart=depart)
    sc = kumo.parse_scenario({
        "seed": w["seed"],
        "hosts": [{"count": w["n_hosts"], "cores": 2, "core_mhz": 1000, "ram_mb": 1024 * w["ram_gb"],
                   "cpu_overcommit": 2.0, "ram_overcommit": 1.5}],
        "power_management": {"switch_off_idle": w["switch_off"], "boot_s": w["boot_s"]},
        "placement": {"on_no_host": "queue"},
    })
    return sc, tr


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds)
def test_every_vm_accounted_for_and_bookings_add_up(w):
    sc, tr = build(w)
    e = Engine(sc, tr)
    e.controller = RandomMover(w["switch_off"])
    for k in range(tr.n_steps):
        e.step(k)
        assert e.state.check() == [], f"step {k}"
        # a VM is on exactly one host (running) or in flight (source + target), never lost
        s = e.state
        alive = (tr.arrive_step <= k) & (tr.depart_step > k)
        placed = (s.vm_state == VM_RUNNING) | (s.vm_state == VM_MIGRATING)
        queued = s.vm_state == 5
        assert np.array_equal(alive, placed | queued | (s.vm_state == 4))
        assert np.all(s.host_cpu_booked[s.host_n_vms == 0] == 0)
    from kumo.results import build_result

    res = build_result(e)
    assert res.vms.cpu_delivered_mhz_s.le(res.vms.cpu_demand_mhz_s + 1e-6).all()
    assert (res.vms.cpu_delivered_mhz_s >= -1e-9).all()
    assert res.summary["migrations"] == len(res.migrations)


@settings(max_examples=40, deadline=None)
@given(worlds, st.floats(1.0, 3.0))
def test_energy_does_not_decrease_when_load_increases(w, factor):
    sc, tr = build(w)
    hi = make_trace(tr.cpu * factor, ram=tr.ram_mb, booked_cpu=tr.cpu_booked_mhz * factor,
                    booked_ram=tr.ram_booked_mb, arrive=tr.arrive_step, depart=tr.depart_step)
    # same placement (bookings scale uniformly, worst-fit ranks are unchanged) -> more load, more energy;
    # the 1e-6 slack absorbs float32 rounding of the scaled bookings so that admission is identical
    sc2 = kumo.parse_scenario({**sc.model_dump(),
                               "hosts": [{**sc.hosts[0].model_dump(), "cpu_overcommit": 2.0 * factor * (1 + 1e-6)}]})
    e_lo = kumo.run(sc, tr).summary["energy_kwh"]
    e_hi = kumo.run(sc2, hi).summary["energy_kwh"]
    assert e_hi >= e_lo * (1 - 1e-12)


@settings(max_examples=30, deadline=None)
@given(worlds)
def test_same_seed_gives_identical_tables(w):
    sc, tr = build(w)
    a = Engine(sc, tr)
    a.controller = RandomMover(False)
    b = Engine(sc, tr)
    b.controller = RandomMover(False)
    ra, rb = a.run(), b.run()
    for name in ra.tables:
        assert ra.tables[name].equals(rb.tables[name]), name


@settings(max_examples=30, deadline=None)
@given(worlds)
def test_host_and_step_energy_agree(w):
    sc, tr = build(w)
    r = kumo.run(sc, tr)
    assert np.isclose(r.hosts.energy_kwh.sum(), r.steps.energy_kwh.sum(), rtol=1e-9)
    assert np.isclose(r.summary["energy_kwh"], r.hosts.energy_kwh.sum(), rtol=1e-12)
