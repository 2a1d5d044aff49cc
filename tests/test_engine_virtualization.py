"""The virtualization models wired into the engine change results the way they should."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_trace

import kumo
from kumo.api import Decision
from kumo.engine import Engine


class Scripted:
    def __init__(self, plan):
        self.plan = plan

    def init_memory(self, view):
        return None

    def decide(self, view, memory, rng):
        return self.plan.get(view.step)


def scenario(virt=None, migration="cloudsim", n_hosts=2, **kw):
    data = {"name": "v", "hosts": [{"count": n_hosts, "cores": 2, "core_mhz": 1000, "ram_mb": 8192,
                                    "power": {"kind": "linear", "idle_w": 100, "max_w": 200}}],
            "placement": {"preset": "first-fit"}, "migration": {"model": migration}, **kw}
    if virt is not None:
        data["virtualization"] = virt
    return kumo.parse_scenario(data)


def test_no_virtualization_table_changes_nothing():
    tr = make_trace([[600, 300], [900, 100]], booked_cpu=[1000, 1000])
    a = kumo.run(scenario(), tr).summary
    b = kumo.run(scenario(virt={}), tr).summary
    assert a == b


def test_passthrough_vm_is_pinned_migration_refused():
    tr = make_trace([[600], [600]], booked_cpu=[1000], booked_ram=[1250])
    sc = scenario(virt={"classes": [{"name": "nic", "io_mode": "passthrough"}]})
    e = Engine(sc, tr)
    e.controller = Scripted({1: Decision(migrations=[(0, 1)])})
    r = e.run()
    assert r.summary["migrations"] == 0 and r.summary["migrations_refused"] == 1
    assert r.vms.final_host[0] == 0


def test_precopy_takes_longer_than_cloudsim_and_pauses_the_vm():
    tr = make_trace([[900], [900], [900]], booked_cpu=[1000], booked_ram=[2000])
    plan = {1: Decision(migrations=[(0, 1)])}
    res = {}
    for model in ("cloudsim", "precopy"):
        e = Engine(scenario(virt={"dirty_rate": {"source": "cpu", "dirty_mbps_at_full_cpu": 400.0}},
                            migration=model), tr)
        e.controller = Scripted(plan)
        res[model] = e.run()
    cs, pc = res["cloudsim"].migrations.iloc[0], res["precopy"].migrations.iloc[0]
    # cloudsim: 2000 MB / 62.5 MB/s = 32 s, no pause; pre-copy re-sends dirtied pages at the full link
    assert cs.duration_s == pytest.approx(32.0)
    assert cs.downtime_s == 0.0
    assert pc.downtime_s > 0 and pc.downtime_s <= pc.duration_s
    assert res["precopy"].summary["vm_downtime_h"] * 3600 == pytest.approx(pc.downtime_s)


def test_emulation_multiplies_host_cpu_load():
    tr = make_trace([[100]], booked_cpu=[1000])
    hw = kumo.run(scenario(virt={"cpu": {}}), tr)
    emu = kumo.run(scenario(virt={"cpu": {}, "classes": [{"name": "emu", "cpu_mode": "emulation"}]}), tr)
    assert emu.hosts.cpu_util_mean[0] > 10 * hw.hosts.cpu_util_mean[0]
    assert emu.summary["energy_kwh"] > hw.summary["energy_kwh"]


def test_page_sharing_lowers_host_ram_between_identical_guests():
    tr = make_trace([[100] * 4], ram=[[3000.0] * 4], booked_ram=[4000] * 4)
    hosts = [{"count": 1, "cores": 4, "core_mhz": 1000, "ram_mb": 16384, "ram_overcommit": 2.0}]
    shared_img = {"memory": {}, "images": [{"name": "lin", "preset": "homogeneous"}],
                  "classes": [{"name": "a", "image": "lin"}]}
    ram = {}
    for label, virt in (("shared", shared_img), ("alone", {"memory": {}})):
        e = Engine(kumo.parse_scenario({"hosts": hosts, "virtualization": virt}), tr)
        e.step(0)
        ram[label] = float(e.state.host_ram_demand[0])
    # four guests of one image share pages (MEM-02 preset, 67 % of the shareable part)
    assert ram["shared"] < 0.7 * ram["alone"]


def test_host_failure_restarts_vms_elsewhere_and_counts_downtime():
    # host 0 fails at t = 400 s and is repaired at 2000 s; its VM restarts on host 1 after detection + boot
    tr = make_trace([[500]] * 6, booked_cpu=[1000])
    sc = scenario(virt={"failures": {"kind": "trace", "events": [[0, 400.0, 2000.0]]}})
    e = Engine(sc, tr)
    for k in range(tr.n_steps):
        e.step(k)
        assert e.state.check() == []
    from kumo.results import build_result

    r = build_result(e)
    assert r.summary["host_failures"] == 1
    assert r.vms.final_host[0] == 1 and r.vms.failures[0] == 1
    delay, _ = e.virt.on_host_failure(np.array([0]))
    assert r.vms.downtime_s[0] == pytest.approx(float(delay[0]))
