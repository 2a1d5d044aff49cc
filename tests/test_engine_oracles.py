"""Hand-computed oracles for the engine: energy, CPU sharing, RAM shortfall, migrations, power states.

Every expected number is written as the arithmetic that produces it.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_scenario, make_trace

import kumo
from kumo.api import Decision
from kumo.engine import Engine


class Scripted:
    """A controller that issues fixed decisions at given steps (test helper, not registered)."""

    def __init__(self, plan: dict[int, Decision]):
        self.plan = plan

    def init_memory(self, view):
        return None

    def decide(self, view, memory, rng):
        return self.plan.get(view.step)


def run_with(sc, tr, plan=None):
    e = Engine(sc, tr)
    if plan:
        e.controller = Scripted(plan)
    return e.run(), e


def test_energy_linear_model_two_hosts_first_fit():
    tr = make_trace([[500, 300], [1500, 300], [800, 800]], booked_cpu=[1000, 1000])
    sc = make_scenario(hosts=((2, 1, 1000.0, 4096.0),), placement={"preset": "first-fit"})
    r = kumo.run(sc, tr)
    # VM0 -> host0 (first fit), VM1 -> host1 (host0's CPU booking is full). Demand capped at booking 1000.
    host0_j = (100 + 100 * 0.5) * 300 + (100 + 100 * 1.0) * 300 + (100 + 100 * 0.8) * 300
    host1_j = (100 + 100 * 0.3) * 300 * 2 + (100 + 100 * 0.8) * 300
    assert r.hosts.energy_kwh.tolist() == pytest.approx([host0_j / 3.6e6, host1_j / 3.6e6], rel=1e-12)
    assert r.summary["energy_kwh"] == pytest.approx((host0_j + host1_j) / 3.6e6, rel=1e-12)


def test_cpu_shared_in_proportion_to_demand_when_host_is_full():
    # one host of 1000 MHz with CPU overcommit 2: two VMs demand 900 and 300 -> shares 1000*900/1200 and 1000*300/1200
    tr = make_trace([[900, 300]], booked_cpu=[1000, 1000])
    sc = kumo.parse_scenario({"hosts": [{"count": 1, "cores": 1, "core_mhz": 1000, "ram_mb": 4096,
                                         "cpu_overcommit": 2.0}]})
    r = kumo.run(sc, tr)
    assert r.vms.cpu_delivered_mhz_s.tolist() == pytest.approx([1000 * 900 / 1200 * 300, 1000 * 300 / 1200 * 300])
    assert r.vms.cpu_short_steps.tolist() == [1, 1]
    assert r.summary["cpu_unmet_fraction"] == pytest.approx(1 - 1000 / 1200)
    assert r.summary["host_overload_h"] == pytest.approx(300 / 3600)


def test_ram_shortfall_split_by_ram_demand():
    # 4096 MB host, RAM overcommit 2, VMs use 3000 and 2000 MB: 904 MB short for 300 s, split 3:2
    tr = make_trace([[100, 100]], ram=[[3000, 2000]], booked_ram=[3000, 3000])
    sc = kumo.parse_scenario({"hosts": [{"count": 1, "cores": 2, "core_mhz": 1000, "ram_mb": 4096,
                                         "ram_overcommit": 2.0}]})
    r = kumo.run(sc, tr)
    short = (5000 - 4096) * 300
    assert r.hosts.ram_shortfall_gb_h[0] == pytest.approx(short / 1024 / 3600)
    assert r.vms.ram_shortfall_mb_s.tolist() == pytest.approx([short * 3 / 5, short * 2 / 5])


def test_cloudsim_migration_time_loss_and_energy():
    # 1250 MB over half of 1 Gbit/s = 1250 / 62.5 = 20 s; VM demand 600 MHz on 1000 MHz hosts, 100..200 W
    tr = make_trace([[600], [600], [600]], booked_cpu=[1000], booked_ram=[1250])
    sc = make_scenario(hosts=((2, 1, 1000.0, 4096.0),), placement={"preset": "first-fit"})
    r, e = run_with(sc, tr, {1: Decision(migrations=[(0, 1)])})
    m = r.migrations.iloc[0]
    assert (m.src, m.dst, m.start_s, m.duration_s, m.status) == (0, 1, 300.0, 20.0, "done")
    assert r.vms.cpu_delivered_mhz_s[0] == pytest.approx(600 * 900 - 0.1 * 600 * 20)
    host0 = 160 * 300 + 160 * 20 + 100 * 280 + 100 * 300
    host1 = 100 * 300 + (100 + 100 * 0.06) * 20 + 160 * 280 + 160 * 300
    assert (r.hosts.energy_kwh * 3.6e6).tolist() == pytest.approx([host0, host1])
    assert r.vms.final_host[0] == 1 and e.state.check() == []


def test_migration_aborted_when_vm_departs():
    # 6400 MB take 102.4 s... make it longer than a step: 31250 MB / 62.5 = 500 s > 300 s
    tr = make_trace([[100], [100], [0]], booked_cpu=[1000], booked_ram=[31250], depart=[2])
    sc = make_scenario(hosts=((2, 1, 1000.0, 65536.0),), placement={"preset": "first-fit"})
    r, e = run_with(sc, tr, {1: Decision(migrations=[(0, 1)])})
    assert r.migrations.status.tolist() == ["aborted"]
    assert r.migrations.end_s.tolist() == [600.0]
    assert r.vms.final_state[0] == "departed"
    assert e.state.check() == []
    assert e.state.host_ram_booked.tolist() == [0.0, 0.0]


def test_rejection_when_no_host_fits_is_recorded_not_raised():
    tr = make_trace([[100, 100]], booked_cpu=[500, 5000])
    sc = make_scenario(hosts=((1, 1, 1000.0, 4096.0),))
    r = kumo.run(sc, tr)
    assert r.summary["rejections"] == 1
    assert r.rejections.vm.tolist() == [1]
    assert "cpu-booking" in r.rejections.reason[0]
    assert r.vms.final_state.tolist() == ["running", "rejected"]


def test_queue_mode_places_when_capacity_frees():
    tr = make_trace([[100, 100], [0, 100], [0, 100]], booked_cpu=[1000, 1000], depart=[1, 3])
    sc = make_scenario(hosts=((1, 1, 1000.0, 4096.0),), placement={"on_no_host": "queue"})
    r = kumo.run(sc, tr)
    assert r.vms.first_placed_step.tolist() == [0, 1]
    assert r.summary["rejections"] == 0
    assert r.rejections.vm.tolist() == [1]  # the first failed attempt is still on record


def test_switch_off_idle_and_power_on_when_needed():
    # host1 starts off; VM1 arrives at step 1 and only fits on host1, which is switched on.
    tr = make_trace([[500, 0], [500, 500], [0, 500]], booked_cpu=[1000, 1000], arrive=[0, 1], depart=[2, 3])
    sc = kumo.parse_scenario({
        "hosts": [{"count": 1, "cores": 1, "core_mhz": 1000, "ram_mb": 4096},
                  {"count": 1, "cores": 1, "core_mhz": 1000, "ram_mb": 4096, "initially_on": False}],
        "power_management": {"switch_off_idle": True},
        "placement": {"preset": "first-fit"}})
    r = kumo.run(sc, tr)
    assert r.hosts.switch_ons.tolist() == [0, 1]
    assert r.hosts.switch_offs.tolist() == [1, 0]  # host0 empties after VM0 leaves at step 2
    assert r.steps.active_hosts.tolist() == [1, 2, 1]
    assert r.hosts.on_h.tolist() == pytest.approx([600 / 3600, 600 / 3600])


def test_boot_delay_delays_service_and_draws_boot_power():
    tr = make_trace([[500]], booked_cpu=[1000])
    sc = kumo.parse_scenario({
        "hosts": [{"count": 1, "cores": 1, "core_mhz": 1000, "ram_mb": 4096, "initially_on": False,
                   "power": {"kind": "linear", "idle_w": 100, "max_w": 200}}],
        "power_management": {"boot_s": 60.0, "boot_power": "max"}})
    r = kumo.run(sc, tr)
    assert r.vms.cpu_delivered_mhz_s[0] == pytest.approx(500 * 240)
    assert r.hosts.energy_kwh[0] * 3.6e6 == pytest.approx(200 * 60 + 150 * 240)


def test_placement_presets_choose_as_named():
    # hosts with 1000, 2000, 4000 MHz; a 500 MHz VM: first-fit -> 0, best-fit -> 0 (least free after), worst-fit -> 2
    tr = make_trace([[100]], booked_cpu=[500])
    hosts = [{"count": 1, "cores": 1, "core_mhz": m, "ram_mb": 4096} for m in (1000, 2000, 4000)]
    got = {}
    for preset in ("first-fit", "best-fit", "worst-fit"):
        sc = kumo.parse_scenario({"hosts": hosts, "placement": {"preset": preset, "resource": "cpu"}})
        got[preset] = int(kumo.run(sc, tr).vms.final_host[0])
    assert got == {"first-fit": 0, "best-fit": 0, "worst-fit": 2}


def test_ram_desc_order_places_biggest_first():
    tr = make_trace([[10, 10, 10]], booked_cpu=[100, 100, 100], booked_ram=[1000, 3000, 2000])
    sc = make_scenario(hosts=((2, 1, 1000.0, 4096.0),),
                       placement={"preset": "worst-fit", "resource": "ram", "order": "ram-desc"})
    r = kumo.run(sc, tr)
    # 3000 -> host0, 2000 -> host1 (more free), 1000 -> host1 (2096 free vs 1096)
    assert r.vms.final_host.tolist() == [1, 0, 1]


def test_fraction_trace_needs_vm_types():
    tr = make_trace([[0.5]])
    tr = type(tr)(**{**tr.__dict__, "cpu_unit": "fraction"})
    sc = make_scenario()
    with pytest.raises(kumo.ConfigError, match="vm_types"):
        kumo.run(sc, tr)
    sc2 = make_scenario(trace={"vm_types": [{"cpu_mhz": 800, "ram_mb": 512}], "vm_type_assignment": "blocks"})
    r = kumo.run(sc2, tr)
    assert r.vms.cpu_demand_mhz_s[0] == pytest.approx(0.5 * 800 * 300)


def test_interleaved_hosts_alternate_types():
    sc = make_scenario(hosts=((2, 1, 1000.0, 4096.0), (2, 2, 1000.0, 4096.0)), host_layout="interleaved")
    from kumo.engine import build_hosts
    h, _ = build_hosts(sc)
    assert h.type_index.tolist() == [0, 1, 0, 1]
    assert np.array_equal(h.cpu_mhz, [1000, 2000, 1000, 2000])


def test_managed_arrivals_fits_and_evict():
    # a broker drives arrivals: nothing arrives by itself; fits() does not place; evict() removes at once
    tr = make_trace([[100, 100], [100, 100], [100, 100]], booked_cpu=[800, 800])
    sc = make_scenario(hosts=((1, 1, 1000.0, 4096.0),))
    e = Engine(sc, tr, managed_arrivals=True)
    e.begin_step(0)
    assert e.fits(0) and e.state.vm_host[0] == -1
    assert e.place_arrivals([0]).tolist() == [True]
    assert not e.fits(1)
    e.finish_step(0)
    e.begin_step(1)
    e.evict(0)
    assert e.fits(1) and e.place_arrivals([1]).tolist() == [True]
    e.finish_step(1)
    e.step(2)
    assert e.state.check() == []
    from kumo.results import build_result

    r = build_result(e)
    assert r.vms.final_state.tolist() == ["departed", "running"]
    assert r.vms.steps_run.tolist() == [1, 2]
