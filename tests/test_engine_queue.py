"""Queues that hold: waiting VMs, the timeout, queueing delays and the demand of VMs never served.

Oracles are written as the arithmetic that gives them.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import make_scenario, make_trace
from typer.testing import CliRunner

import kumo
from kumo.cli import app
from kumo.config import validate

DT = 300.0


def one_host_two_vms(**placement):
    # one host of 1000 MHz takes one VM of 1000 MHz at a time; VM0 lives steps 0..2, VM1 asks at step 1
    tr = make_trace([[500, 0], [500, 200], [500, 200], [0, 200], [0, 200], [0, 0]], booked_cpu=[1000, 1000],
                    arrive=[0, 1], depart=[3, 5])
    sc = make_scenario(placement={"preset": "first-fit", **placement})
    return kumo.run(sc, tr)


def test_queued_vm_waits_for_the_host_to_free_up():
    r = one_host_two_vms(on_no_host="queue")
    # VM1 asks at step 1, VM0 leaves at the start of step 3, VM1 is placed then: 2 steps of waiting
    assert r.vms.queue_delay_s.tolist() == [0.0, 2 * DT]
    assert r.vms.first_placed_step.tolist() == [0, 3]
    s = r.summary
    assert (s["queue_delay_p50_s"], s["queue_delay_max_s"]) == (np.percentile([0, 600], 50), 600.0)
    assert s["queue_delay_p95_s"] == pytest.approx(np.percentile([0.0, 600.0], 95))
    assert (s["vms_never_served"], s["never_served_fraction"], s["rejections"]) == (0, 0.0, 0)
    # VM1's demand while it waited: 200 MHz at steps 1 and 2
    assert r.vms.cpu_demand_refused_mhz_s.tolist() == [0.0, 200 * 2 * DT]
    demand = (500 * 3 + 200 * 2) * DT
    assert s["cpu_demand_refused_ghz_h"] == pytest.approx(200 * 2 * DT / 1000 / 3600)
    assert s["cpu_unmet_fraction"] == pytest.approx(1 - demand / (demand + 200 * 2 * DT))


def test_queue_timeout_rejects_after_the_last_try_within_it():
    r = one_host_two_vms(on_no_host="queue", queue_timeout_s=DT)
    # VM1 queued at step 1 may be tried at step 2 ((2 - 1) x 300 <= 300) but not at step 3: rejected at step 2
    assert r.vms.final_state.tolist() == ["departed", "rejected"]
    assert r.rejections.step.tolist() == [1, 2]
    assert r.rejections.reason.iloc[1] == "queue timeout: waited 300 s (queue_timeout_s = 300)"
    s = r.summary
    assert (s["vms_never_served"], s["never_served_fraction"], s["rejections"]) == (1, 0.5, 1)
    assert r.vms.queue_delay_s.tolist() == [0.0, -1.0]
    # never served: its demand over the whole life it asked for (steps 1..4)
    assert r.vms.cpu_demand_refused_mhz_s.tolist() == [0.0, 200 * 4 * DT]


def test_timeout_below_a_step_rejects_at_arrival_and_reject_mode_counts_the_same():
    q0 = one_host_two_vms(on_no_host="queue", queue_timeout_s=0)
    rej = one_host_two_vms()
    for r in (q0, rej):
        assert r.vms.final_state.tolist() == ["departed", "rejected"] and r.rejections.step.tolist() == [1]
        assert r.summary["cpu_demand_refused_ghz_h"] == pytest.approx(200 * 4 * DT / 1000 / 3600)
    assert q0.summary == rej.summary | {"scenario": q0.summary["scenario"]}


def test_vm_waiting_when_its_life_ends_is_never_served():
    r = one_host_two_vms(on_no_host="queue", queue_timeout_s=None)
    assert r.summary["vms_never_served"] == 0
    tr = make_trace([[500, 200], [500, 200], [0, 0]], booked_cpu=[1000, 1000], depart=[2, 2])
    r = kumo.run(make_scenario(placement={"preset": "first-fit", "on_no_host": "queue"}), tr)
    assert r.vms.final_state.tolist() == ["departed", "departed"] and r.summary["vms_never_served"] == 1
    assert r.vms.cpu_demand_refused_mhz_s.tolist() == [0.0, 200 * 2 * DT]


def test_all_refused_reads_all_unmet():
    tr = make_trace(np.full((4, 5), 300.0), booked_cpu=[5000] * 5)
    r = kumo.run(make_scenario(), tr)  # a 1000 MHz host cannot book a 5000 MHz VM
    s = r.summary
    assert (s["vms_placed"], s["vms_never_served"], s["never_served_fraction"]) == (0, 5, 1.0)
    assert s["cpu_demand_ghz_h"] == 0 and s["cpu_demand_refused_ghz_h"] == pytest.approx(5 * 4 * 300 * DT / 3.6e6)
    assert s["cpu_unmet_fraction"] == 1.0


def test_timeout_needs_the_queue_and_is_not_negative():
    host = [{"count": 1, "cores": 1, "core_mhz": 1, "ram_mb": 1}]
    assert validate({"hosts": host, "placement": {"queue_timeout_s": 60}}) == [
        "placement.queue_timeout_s: only applies with on_no_host = 'queue'"]
    issues = validate({"hosts": host, "placement": {"on_no_host": "queue", "queue_timeout_s": -1}})
    assert issues and issues[0].startswith("placement.queue_timeout_s: Input should be greater than or equal to 0")


def test_cli_warns_when_most_vms_are_never_served(tmp_path):
    rows = ["vm_id,t_s,cpu_mhz,ram_mb,cores,cpu_booked_mhz,ram_booked_mb"]
    rows += [f"v{i},{t * 300},100,512,64,200000,1024" for i in range(3) for t in range(2)]
    (tmp_path / "big.csv").write_text("\n".join(rows) + "\n")
    res = CliRunner().invoke(app, ["run", "--trace", str(tmp_path / "big.csv"), "--format", "json"])
    assert res.exit_code == 0, res.output
    assert "warning: 3 VMs (100% of those that asked for a host) were never served" in " ".join(res.output.split())
    summary = json.loads(res.stdout[res.stdout.index("{"):])
    assert summary["cpu_unmet_fraction"] == 1.0
