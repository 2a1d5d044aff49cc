"""The ``consolidation`` controller on the general engine (realistic mode): oracles on tiny worlds, properties
on random ones, and the consolidation metrics computed from run results."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import make_scenario, make_trace
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kumo.engine import Engine, run
from kumo.policies import registry
from kumo.state import HOST_OFF
from kumo.studies.cloudsim.metrics import consolidation_metrics, pdm, slatah

LINEAR = (100.0, 200.0)  # idle, max watts of the test hosts


def scenario(n_hosts=2, ram_mb=4096.0, detection="thr", selection="mmt", placement="pabfd", **kw):
    # as the realistic PlanetLab set-up: consolidation by demand may oversubscribe CPU bookings (4x), the
    # initial placement admits by booked CPU at ratio 1
    data = {
        "placement": {"preset": "first-fit", "resource": "cpu",
                      "filters": ["powered", "vcpus", {"name": "cpu-booking", "params": {"ratio": 1.0}}, "ram-booking"]},
        "controller": {"name": "consolidation",
                       "params": {"detection": detection, "selection": selection, "placement": placement}},
        "power_management": {"switch_off_idle": True},
        "record_host_steps": True,
        "record_vm_steps": True,
    }
    data.update(kw)
    return make_scenario(hosts=((n_hosts, 1, 1000.0, ram_mb),), power=LINEAR, cpu_overcommit=4.0, **data)


def test_overloaded_host_sheds_its_smallest_vm_to_the_free_host():
    # both VMs (booked 500 MHz) start on host 0 (first fit); demand 450 + 450 = 90 % > THR 0.8: MMT takes the
    # first of two equal-RAM VMs, PABFD sends it to host 1, the only other host
    tr = make_trace([[450, 450], [450, 450]], booked_cpu=[500, 500])
    res = run(scenario(), tr)
    mig = res.tables["migrations"]
    assert mig[["vm", "src", "dst"]].values.tolist() == [[0, 0, 1]]
    assert mig["duration_s"].iloc[0] == pytest.approx(1024 / (1000 * 0.5 / 8))
    assert res.summary["migrations"] == 1
    assert mig["cause"].tolist() == ["overload"]


def test_underloaded_host_is_emptied_and_switched_off():
    # VM0 (100 MHz) on host 0, VM1 (300 MHz) on host 1, host 2 empty: nothing over 0.8; the least utilized
    # host (0) is emptied onto host 1 (the only other host with VMs); empty host 2 goes off at once, host 0
    # once its VM has left
    tr = make_trace([[100, 300]] * 3, booked_cpu=[800, 800])
    res = run(scenario(n_hosts=3), tr)
    assert res.tables["migrations"][["vm", "src", "dst"]].values.tolist() == [[0, 0, 1]]
    assert res.tables["migrations"]["cause"].tolist() == ["underload"]
    state = res.arrays["host_state"]
    assert state[-1].tolist() == [HOST_OFF, 1, HOST_OFF]
    static = run(scenario(n_hosts=3, controller={"name": "none"}), tr)
    assert res.summary["energy_kwh"] < static.summary["energy_kwh"]


def test_a_target_without_room_for_the_vms_ram_is_skipped():
    # host 0 is overloaded (2 x 450 MHz); host 1 holds two 1 GB VMs in 2 GB and would win the power tie with
    # empty host 2 (linear power: +45 W either way, lower id first) if RAM did not count
    tr = make_trace([[450, 450, 50, 50]] * 2, booked_cpu=[500, 500, 500, 500], booked_ram=[1024] * 4)
    sc = scenario(n_hosts=3, ram_mb=2048.0)
    e = Engine(sc, tr)
    e.step(0)
    mig = e.log.migrations
    assert 1 not in mig["dst"]
    assert mig["vm"][0] in (0, 1) and mig["dst"][0] == 2


def test_controller_validates_its_parts():
    ctl = registry.make("controller", "consolidation", {"detection": "nope", "placement": "random-fit"})
    issues = ctl.validate()
    assert any(i.startswith("placement:") for i in issues)
    assert any(i.startswith("detection:") for i in issues)
    ok = registry.make("controller", "consolidation", {"detection": "mad", "detection_params": {"safety": 2.0}})
    assert ok.validate() == []


def test_metrics_from_a_run():
    tr = make_trace([[450, 450], [450, 450]], booked_cpu=[500, 500])
    res = run(scenario(), tr)
    m = consolidation_metrics(res)
    # one migration of VM0 (450 MHz) lasting 1024 / 62.5 s loses 10 % of its CPU meanwhile
    demand = 2 * 2 * 450 * 300.0
    assert pdm(res) == pytest.approx(0.1 * 450 * 1024 / 62.5 / demand)
    assert m["slatah"] == slatah(res) == 0.0  # never above capacity
    assert m["migrations"] == 1 and m["slav"] == 0.0 and m["esv"] == 0.0
    assert math.isnan(m["time_before_host_shutdown_mean_s"]) or m["time_before_host_shutdown_mean_s"] >= 0


def test_realistic_mode_on_a_reduced_planetlab_day():
    from kumo.studies.cloudsim import run_cloudsim
    from kumo.traces import load

    tr = load("planetlab-20110303").select(vms=slice(0, 120), steps=slice(0, 24))
    out = run_cloudsim("lr-mmt", trace=tr, mode="realistic")
    assert out.keys() >= {"energy_kwh", "migrations", "slatah", "pdm", "slav", "esv", "host_shutdowns"}
    assert out["energy_kwh"] > 0 and 0 <= out["slatah"] <= 1 and 0 <= out["pdm"] < 1


# --------------------------------------------------------------------------------------------- properties


@st.composite
def worlds(draw):
    n_hosts = draw(st.integers(2, 5))
    n_vms = draw(st.integers(1, 8))
    steps = draw(st.integers(2, 6))
    booked = draw(st.lists(st.sampled_from([250.0, 500.0, 1000.0]), min_size=n_vms, max_size=n_vms))
    cpu = [[draw(st.floats(0.0, 1.0)) * b for b in booked] for _ in range(steps)]
    ram = draw(st.lists(st.sampled_from([512.0, 1024.0, 2048.0]), min_size=n_vms, max_size=n_vms))
    det = draw(st.sampled_from(["thr", "iqr", "mad", "lr", "lrr"]))
    sel = draw(st.sampled_from(["mmt", "mu", "mc", "rs", "hpg", "mm"]))
    place = draw(st.sampled_from(["pabfd", "first-fit", "best-fit", "worst-fit"]))
    return n_hosts, booked, cpu, ram, det, sel, place


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_no_vm_lands_on_an_overloaded_or_switched_off_host(world):
    n_hosts, booked, cpu, ram, det, sel, place = world
    tr = make_trace(cpu, booked_cpu=booked, booked_ram=ram)
    sc = scenario(n_hosts=n_hosts, ram_mb=4096.0, detection=det, selection=sel, placement=place)
    e = Engine(sc, tr)
    ctl = e.controller
    original = type(ctl).decide

    def checked(self, view, memory, rng):
        d = original(self, view, memory, rng)  # decisions are applied after decide returns: the view is as it saw it
        util = np.asarray(view.host_cpu_demand) / view.hosts.cpu_mhz
        over = self._overloaded(memory, util, self._plan(view, memory).extras["hist"]) & (np.asarray(view.host_n_vms) > 0)
        if d is not None:
            vms = [v for v, _ in d.migrations]
            assert len(vms) == len(set(vms))  # one move per VM and decision
            for _, h in d.migrations:
                assert not over[h]  # never onto a host the detector flags
            for h in d.switch_off:
                assert view.host_n_vms[h] == 0  # switching off never strands a VM
        return d

    type(ctl).decide = checked
    try:
        for k in range(tr.n_steps):
            e.step(k)
            assert e.state.check() == []  # every VM on a powered host, bookings consistent
    finally:
        type(ctl).decide = original


def test_a_decision_needs_one_cause_per_migration():
    from kumo.api import Decision

    with pytest.raises(ValueError, match="causes"):
        Decision(migrations=[(0, 2)], reason="test", causes=["a", "b"])
