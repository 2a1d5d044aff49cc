"""Replicates: trace windows, demand noise, threshold jitter; the Kohne comparison on any trace."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_scenario, make_trace

import kumo
from kumo.errors import ConfigError
from kumo.sweep import Experiment, ReplicateSpec


def test_a_window_of_the_trace_keeps_the_vms_alive_in_it():
    cpu = np.arange(20, dtype=float).reshape(10, 2) + 1
    tr = make_trace(cpu, depart=[4, 10])
    w = tr.select(steps=slice(5, 9))
    assert w.n_steps == 4 and w.vm_ids.tolist() == ["vm1"]  # vm0 left at step 4, before the window
    assert w.cpu[:, 0].tolist() == cpu[5:9, 1].tolist() and w.depart_step.tolist() == [4]
    sc = make_scenario(trace={"source": "x", "start_step": 5, "max_steps": 4})
    r = kumo.run(sc, tr)
    assert (r.summary["steps"], r.summary["vms"]) == (4, 1)
    with pytest.raises(ConfigError, match="start_step: 10 is past"):
        kumo.run(make_scenario(trace={"source": "x", "start_step": 10}), tr)


def test_demand_noise_is_mean_preserving_seeded_and_small():
    tr = make_trace(np.full((400, 50), 100.0), ram=np.full((400, 50), 1000.0))
    a, b, c = tr.with_noise(0.05, 1), tr.with_noise(0.05, 1), tr.with_noise(0.05, 2)
    assert np.array_equal(a.cpu, b.cpu) and not np.array_equal(a.cpu, c.cpu)
    assert a.cpu.mean() == pytest.approx(100.0, rel=0.005) and a.ram_mb.mean() == pytest.approx(1000.0, rel=0.005)
    assert np.std(a.cpu / 100.0) == pytest.approx(0.05, rel=0.05)
    assert tr.with_noise(0.0, 1) is tr


def test_replicates_expand_into_windows_jitter_and_noise():
    exp = Experiment(name="r", base="kohne", scheduler="MMWF", seeds=[0, 1],
                     replicates=ReplicateSpec(windows=4, noise=0.01, jitter=0.02), axes={"controller.params.lb": [False, True]})
    pts = exp.expand()
    assert len(pts) == 2 * 4 * 3 * 2
    assert exp.replicate_axes == ["seed", "trace.start_step", "jitter"] and exp.treatment_axes == ["controller.params.lb"]
    starts = sorted({p.values["trace.start_step"] for p in pts})
    assert starts == [0, 2160, 4320, 6480] and all(p.scenario["trace"]["max_steps"] == 2160 for p in pts)
    assert all(p.scenario["trace"]["demand_noise"] == 0.01 for p in pts)
    ups = sorted({p.scenario["controller"]["params"]["upper_cpu"] for p in pts})
    assert ups == pytest.approx([0.78, 0.8, 0.82])  # the set-up's 0.8, jittered
    with pytest.raises(ConfigError, match="do not fit"):
        Experiment(name="r", base="kohne", scenario={"trace": {"max_steps": 5000}},
                   replicates=ReplicateSpec(windows=2)).expand()


def test_jitter_moves_a_controllers_default_thresholds_too():
    from kumo.sweep import jitter_thresholds

    sc = {"controller": {"name": "consolidation", "params": {"detection": "thr", "detection_params": {"threshold": 0.7}}}}
    jitter_thresholds(sc, {}, 0.05)
    assert sc["controller"]["params"]["detection_params"]["threshold"] == pytest.approx(0.75)
    sla = {"controller": {"name": "kohne-mmwf"}}
    jitter_thresholds(sla, {}, -0.1)
    assert sla["controller"]["params"]["upper_cpu"] == pytest.approx(0.8)  # the sla default 0.9
    with pytest.raises(ValueError, match="number"):
        jitter_thresholds(sla, {}, "x")


def test_compare_on_another_trace_prints_no_reference(tmp_path):
    from typer.testing import CliRunner

    from kumo.cli import app
    from kumo.studies.kohne2018.compare import compare

    c = compare(schedulers=["MMWF", "FF"], max_steps=288, executor=None, trace_source="bitbrains-rnd",
                windows=None, seeds=[0])
    assert c.reference is not None  # the set-up's own trace: the reference applies
    c = compare(schedulers=["MMWF", "FF"], max_steps=144, windows=2)
    assert c.reference is None and c.n_replicates == 2 and np.isnan(c.spearman_margin) and c.checks().empty
    assert set(c.table()["source"]) == {"kumo"}
    st = c.stability()
    assert set(st["scheduler"]) == {"MMWF", "FF"} and (st["replicates"] == 2).all()
    r = CliRunner().invoke(app, ["compare", "-s", "MMWF", "-s", "FF", "--max-steps", "144", "--windows", "2", "-q",
                                 "--jobs", "1"])
    assert r.exit_code == 0, r.output
    assert "over 2 replicates" in r.output and "rank stability" in r.output and "reference" not in r.output.split(
        "rank stability")[0].replace("source", "")
