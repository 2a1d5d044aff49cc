"""The workload generator: determinism, arrivals (count, profiles, bursts), lifetimes (given, fitted,
empirical), sizes, utilization copied in phase, validation, and the command line."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from typer.testing import CliRunner

from kumo.cli import app
from kumo.errors import ConfigError
from kumo.traces import load
from kumo.traces.base import Trace
from kumo.traces.synth import InstanceType, SynthSpec, instance_types, synthesize
from kumo.traces.synth_fit import Lifetimes, diurnal_profile, lifetimes

DAY = 86400.0
T0 = 1_700_006_400.0  # a UTC midnight


def source(n_vms: int = 60, days: int = 2, hot_hour: int = 12, seed: int = 0) -> Trace:
    """VMs that arrive at 06:00-07:00 on each day and live 1..12 steps; CPU at 100 % of the booking during
    ``hot_hour`` and 10 % otherwise; RAM at half the booking."""
    rng = np.random.default_rng(seed)
    n_steps = days * 288
    t = T0 + np.arange(n_steps) * 300.0
    hot = ((t // 3600) % 24 == hot_hour)
    arrive = (rng.integers(0, days, n_vms) * 288 + 72 + rng.integers(0, 12, n_vms)).astype(np.int32)
    arrive[:5] = 0  # a population present from the start
    depart = np.minimum(arrive + rng.integers(1, 13, n_vms), n_steps).astype(np.int32)
    depart[:5] = n_steps
    alive = (np.arange(n_steps)[:, None] >= arrive) & (np.arange(n_steps)[:, None] < depart)
    cpu = np.where(alive, np.where(hot[:, None], 2000.0, 200.0), 0.0).astype(np.float32)
    return Trace(name="src", step_s=300.0, start_epoch_s=T0, vm_ids=np.array([f"s{i}" for i in range(n_vms)]),
                 cpu=cpu, ram_mb=(alive * 512.0).astype(np.float32), cores=np.full(n_vms, 2, np.int32),
                 cpu_booked_mhz=np.full(n_vms, 2000.0, np.float32), ram_booked_mb=np.full(n_vms, 1024.0, np.float32),
                 arrive_step=arrive, depart_step=depart, provenance={"format": "test"})


SRC = source()


def test_same_seed_same_trace_other_seed_other_trace():
    spec = SynthSpec(vms=300, seed=4)
    a, b = synthesize(spec, SRC, SRC), synthesize(spec, SRC, SRC)
    assert a.content_hash() == b.content_hash()
    assert synthesize(replace(spec, seed=5), SRC, SRC).content_hash() != a.content_hash()
    # each part draws from its own stream: other sizes leave arrivals and lifetimes alone
    c = synthesize(replace(spec, catalogue=(InstanceType("x", 1, 512),)), SRC, SRC)
    assert np.array_equal(c.arrive_step, a.arrive_step) and np.array_equal(c.depart_step, a.depart_step)


def test_exact_count_initial_population_and_grid():
    tr = synthesize(SynthSpec(vms=500, initial_vms=40, days=2, step_s=600, seed=1), SRC, SRC)
    assert (tr.n_vms, tr.n_steps, tr.step_s, tr.start_epoch_s) == (540, 288, 600.0, T0)
    assert (tr.arrive_step[:40] == 0).all() and tr.quirks["vms_arriving"] == 500
    assert (tr.depart_step > tr.arrive_step).all() and tr.depart_step.max() <= tr.n_steps
    info = json.loads(tr.provenance["synth"])
    assert info["spec"]["vms"] == 500 and info["fitted"]["lifetime"]["kind"] == "lognormal"


def test_arrivals_follow_the_fitted_diurnal_profile_and_bursts():
    tr = synthesize(SynthSpec(vms=2000, seed=2), SRC, SRC)
    hours = ((T0 + tr.arrive_step * 300.0) // 3600) % 24
    assert set(np.unique(hours).tolist()) == {6}  # the source's VMs all arrive 06:00-07:00
    assert diurnal_profile(SRC)[6] == pytest.approx(24.0) and diurnal_profile(SRC).sum() == pytest.approx(24.0)
    flat = synthesize(SynthSpec(vms=2400, diurnal="flat", bursts=((0, 12, 0.0),), seed=2), SRC, SRC)
    fh = (flat.arrive_step * 300.0) // 3600
    assert fh.min() >= 12 and len(np.unique(fh)) == 12
    burst = synthesize(SynthSpec(vms=5000, diurnal="flat", bursts=((10, 1, 13.0),), seed=3), SRC, SRC)
    share = np.mean((burst.arrive_step * 300.0) // 3600 == 10)
    assert share == pytest.approx(13 / 36, abs=0.03)  # 13 of 23 + 13 rate-hours


def test_poisson_rate_gives_a_random_count():
    counts = [synthesize(SynthSpec(vms=None, rate_per_h=50, diurnal="flat", seed=s), SRC, SRC).n_vms for s in range(4)]
    assert len(set(counts)) > 1 and all(abs(c - 1200) < 4 * 1200 ** 0.5 for c in counts)


def test_given_lognormal_is_recovered_by_the_grid_aware_fit():
    tr = synthesize(SynthSpec(vms=20000, days=7, diurnal="flat", lifetime_median_s=3600, lifetime_sigma=1.0,
                              seed=6), SRC, SRC)
    median, sigma = lifetimes(tr).lognormal()
    assert median == pytest.approx(3600, rel=0.05) and sigma == pytest.approx(1.0, rel=0.05)


def test_fit_on_a_hand_gridded_sample():
    rng = np.random.default_rng(0)
    life = np.exp(rng.normal(np.log(900), 0.8, 30000))
    steps = np.ceil((rng.random(30000) * 300 + life) / 300)
    median, sigma = Lifetimes(steps * 300.0, 0, 300.0).lognormal()
    assert median == pytest.approx(900, rel=0.03) and sigma == pytest.approx(0.8, rel=0.03)


def test_pareto_and_empirical_lifetimes():
    par = synthesize(SynthSpec(vms=3000, diurnal="flat", lifetime="pareto", pareto_alpha=1.5, pareto_min_s=600,
                               seed=7), SRC, SRC)
    done = par.depart_step < par.n_steps
    life = (par.depart_step - par.arrive_step)[done]
    assert life.min() >= 3 and np.median(life) < 6  # ceil((phase + >= 600 s) / 300 s) >= 3
    emp = synthesize(SynthSpec(vms=3000, lifetime="empirical", seed=7), SRC, SRC)
    seen = set(((SRC.depart_step - SRC.arrive_step)[5:]).tolist())
    cut = emp.depart_step == emp.n_steps
    assert set((emp.depart_step - emp.arrive_step)[~cut].tolist()) <= seen
    fitted = json.loads(emp.provenance["synth"])["fitted"]["lifetime"]
    assert fitted["kind"] == "empirical"


def test_catalogue_weights_and_source_sizes():
    cat = (InstanceType("a", 1, 1024, 0.0), InstanceType("b", 4, 8192, 1.0, cpu_mhz=9000))
    tr = synthesize(SynthSpec(vms=200, catalogue=cat, seed=1), SRC, SRC)
    assert set(tr.cores.tolist()) == {4} and set(tr.cpu_booked_mhz.tolist()) == {9000}
    src_sizes = synthesize(SynthSpec(vms=50, catalogue="source", seed=1), SRC, SRC)
    assert set(src_sizes.ram_booked_mb.tolist()) == {1024.0}
    assert instance_types([{"name": "m", "cores": 2, "ram_gb": 8, "weight": 3}]) == (InstanceType("m", 2, 8192, 3.0),)
    with pytest.raises(ConfigError, match=r"types\[0\]: unknown key\(s\) gpus"):
        instance_types([{"cores": 2, "ram_gb": 8, "gpus": 1}])


def test_utilization_copied_in_phase_within_the_booking():
    tr = synthesize(SynthSpec(vms=1000, days=2, diurnal="flat", lifetime_median_s=6 * 3600, lifetime_sigma=0.5,
                              noise=0.0, seed=9), SRC, SRC)
    frac = tr.cpu / tr.cpu_booked_mhz[None, :]
    alive = tr.alive()
    assert not tr.cpu[~alive].any() and (frac <= 1.0 + 1e-6).all()
    hour = ((T0 + np.arange(tr.n_steps) * 300.0) // 3600) % 24
    busy = frac[alive & (frac > 0)]
    assert np.allclose(busy[busy < 0.5], 0.1) and np.allclose(busy[busy >= 0.5], 1.0)
    # the source's hot hour stays the hot hour
    hot = (frac > 0.5) & alive
    assert set(hour[np.nonzero(hot)[0]].tolist()) == {12}
    assert tr.ram_mb is not None and np.allclose(tr.ram_mb[alive] / np.broadcast_to(tr.ram_booked_mb, alive.shape)[alive], 0.5)
    noisy = synthesize(SynthSpec(vms=1000, days=2, diurnal="flat", lifetime_median_s=6 * 3600, lifetime_sigma=0.5,
                                 noise=0.2, seed=9), SRC, SRC)
    assert not np.array_equal(noisy.cpu, tr.cpu) and (noisy.cpu <= noisy.cpu_booked_mhz[None, :] + 1e-3).all()


def test_every_problem_of_a_spec_is_listed():
    spec = SynthSpec(vms=0, days=-1, lifetime="weibull", diurnal=(1.0, 2.0), bursts=((1, 0, 2),), noise=-1)
    with pytest.raises(ConfigError) as err:
        synthesize(spec, SRC, SRC)
    text = str(err.value)
    for words in ("vms: must be >= 1", "days: must be > 0", "lifetime: must be one of", "diurnal: needs 24 factors",
                  "bursts[0]: must be", "noise: must be >= 0"):
        assert words in text
    few = replace(SRC, arrive_step=np.zeros(SRC.n_vms, np.int32))  # nobody arrives: nothing to fit
    with pytest.raises(ConfigError, match="0 complete lifetimes"):
        synthesize(SynthSpec(vms=10, diurnal="flat"), few, SRC)


def test_cli_writes_a_compact_trace(tmp_path):
    cat = tmp_path / "sizes.toml"
    cat.write_text('[[types]]\nname = "s"\ncores = 2\nram_gb = 4\nweight = 1\n')
    out = tmp_path / "s.kumo"
    runner = CliRunner()
    res = runner.invoke(app, ["trace", "synth", str(out), "--vms", "300", "--days", "0.5", "--seed", "3",
                              "--catalogue", str(cat), "--lifetime-median", "1h", "--lifetime-sigma", "1",
                              "--burst", "2:1:3", "--diurnal", "flat"])
    assert res.exit_code == 0, res.output
    tr = load(out)
    assert (tr.n_vms, tr.n_steps) == (300, 144) and set(tr.cores.tolist()) == {2}
    again = tmp_path / "t.kumo"
    runner.invoke(app, ["trace", "synth", str(again), "--vms", "300", "--days", "0.5", "--seed", "3", "--catalogue",
                        str(cat), "--lifetime-median", "1h", "--lifetime-sigma", "1", "--burst", "2:1:3",
                        "--diurnal", "flat"])
    assert load(again).content_hash() == tr.content_hash()
    res = runner.invoke(app, ["trace", "synth", str(out), "--vms", "10", "--lifetime", "weibull"])
    assert res.exit_code == 2 and "'weibull' is not one of 'lognormal', 'pareto', 'empirical'" in res.output
