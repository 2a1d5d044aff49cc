"""Experiments: cartesian expansion, any Executor (local processes, Dask), resumable, deterministic."""

from __future__ import annotations

from concurrent.futures import Executor, Future, ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_trace

from kumo.errors import ConfigError
from kumo.sweep import Experiment, load_experiment, run_many, set_path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

BASE = {
    "name": "tiny",
    "hosts": [{"count": 3, "cores": 2, "core_mhz": 1500, "ram_mb": 4096, "cpu_overcommit": 4, "ram_overcommit": 2,
               "initially_on": False}],
    "placement": {"preset": "worst-fit", "resource": "ram", "order": "ram-desc"},
    "migration": {"params": {"ram": "used", "source_cpu_loss": 0.0}},
    "controller": {"name": "sla", "params": {"lower": 0.15}},
}


@pytest.fixture(scope="module")
def tiny_trace():
    rng = np.random.default_rng(11)
    cpu = rng.uniform(0, 1, (24, 10)) * np.array([2000, 1000] * 5)
    ram = rng.uniform(100, 1800, (24, 10))
    return make_trace(cpu, ram=ram, booked_cpu=[2000, 1000] * 5, booked_ram=[2048] * 10)


def experiment(**kw):
    data = {"name": "t", "scenario": BASE, "ledger": {"prices": {"scale": 0.05}},
            "axes": {"scheduler": ["MMWF", "HPGBF"], "hosts[0].ram_overcommit": [2.0, 3.0],
                     "ledger.penalties.ram.value": [120.0, 240.0]},
            "seeds": [0]}
    data.update(kw)
    return Experiment.model_validate(data)


def test_expand_is_the_cartesian_product_in_axis_order_with_ledger_points_sharing_a_simulation():
    pts = experiment(seeds=[0, 1]).expand()
    assert len(pts) == 2 * 2 * 2 * 2
    assert [p.values["scheduler"] for p in pts[:8]] == ["MMWF"] * 8
    assert [p.seed for p in pts[:2]] == [0, 1]
    p = pts[0]
    assert p.scenario["controller"]["params"]["selection"] == "mm" and p.scenario["hosts"][0]["ram_overcommit"] == 2.0
    assert p.ledger["penalties"]["ram"]["value"] == 120.0 and p.scenario["seed"] == 0
    # the two ledger values of one (scheduler, overcommit, seed) share one simulation
    assert len({q.sim_key for q in pts}) == 8 and len({q.key for q in pts}) == 16


def test_bad_axes_are_all_reported_with_their_paths():
    exp = experiment(axes={"hosts[3].cores": [1], "scheduler": ["NOPE"], "controller.params.upper_cpu": [2.0],
                           "ledger.sla.counting": ["weekly"]})
    with pytest.raises(ConfigError) as e:
        exp.expand()
    text = "\n".join(e.value.issues)
    assert "axes.hosts[3].cores: index [3] out of range" in text
    assert "axes.scheduler: unknown scheduler 'NOPE'" in text
    assert "controller.params.upper_cpu: must be in (0, 1], got 2.0" in text
    assert "ledger.sla.counting: Input should be 'interval', 'episode' or 'window'" in text
    d = {"a": [{"b": 1}]}
    set_path(d, "a[0].c.d", 5)
    assert d == {"a": [{"b": 1, "c": {"d": 5}}]}


class CountingExecutor(Executor):
    """Runs tasks inline and counts them (to prove resumed points are not rerun)."""

    def __init__(self):
        self.submitted = 0

    def submit(self, fn, /, *args, **kwargs):
        self.submitted += 1
        f: Future = Future()
        f.set_result(fn(*args, **kwargs))
        return f


def test_process_pool_and_dask_give_identical_tables_and_runs_resume(tiny_trace, tmp_path):
    pts = experiment().expand()
    with ProcessPoolExecutor(2) as ex:
        a = run_many(pts, ex, out_dir=tmp_path / "a", trace=tiny_trace)
    with ProcessPoolExecutor(2) as ex:
        b = run_many(pts, ex, trace=tiny_trace)
    pd.testing.assert_frame_equal(a, b)  # same seeds -> identical tables
    assert len(a) == 8 and a["point"].tolist() == list(range(8))
    assert (a["profit"] - (a["revenue"] - a["penalties"] - a["costs"])).abs().max() < 1e-9
    # the RAM penalty doubles the RAM penalties of the same simulation
    pair = a.groupby(["scheduler", "hosts[0].ram_overcommit"])["penalties_ram"].apply(list)
    assert all(np.isclose(2 * x[0], x[1]) for x in pair)
    # resume: every point is on disk, nothing is submitted again; a partial folder runs only the rest
    ex = CountingExecutor()
    c = run_many(pts, ex, out_dir=tmp_path / "a", trace=tiny_trace)
    assert ex.submitted == 0
    pd.testing.assert_frame_equal(a, c)
    (tmp_path / "a" / "points" / f"{pts[0].key}.json").unlink()
    ex = CountingExecutor()
    d = run_many(pts, ex, out_dir=tmp_path / "a", trace=tiny_trace)
    assert ex.submitted == 1  # one simulation, accounted under its two ledgers; only the missing point is new
    pd.testing.assert_frame_equal(a, d)
    assert (tmp_path / "a" / "results.csv").exists()
    # a Dask cluster in this process
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        e = run_many(pts, client.get_executor(), trace=tiny_trace)
    pd.testing.assert_frame_equal(a, e)


def test_shipped_example_specs_are_valid():
    specs = sorted(EXAMPLES.glob("sweep-*.toml")) + sorted(EXAMPLES.glob("kohne-*.toml"))
    sweeps = [p for p in specs if p.name.startswith("sweep-")]
    assert len(sweeps) >= 3
    for path in sweeps:
        exp, root = load_experiment(path)
        pts = exp.expand(root)
        assert pts, path
        assert exp.plot.get("x") in exp.axes, f"{path.name}: [plot] x must be an axis"


def test_cli_sweep_runs_resumes_and_plots(tmp_path):
    from typer.testing import CliRunner

    from kumo.cli import app

    spec = tmp_path / "s.toml"
    spec.write_text('name = "cli"\nbase = "kohne"\n[scenario]\ntrace = { max_steps = 12 }\n'
                    '[axes]\nscheduler = ["MMWF", "FF"]\n"ledger.penalties.cpu.value" = [160.0, 320.0]\n'
                    '[plot]\nx = "ledger.penalties.cpu.value"\nhue = "scheduler"\n')
    run = CliRunner()
    res = run.invoke(app, ["sweep", str(spec), "--dry-run"])
    assert res.exit_code == 0, res.output
    assert "4 point(s), 2 simulation(s)" in res.output
    res = run.invoke(app, ["sweep", str(spec), "-q", "--jobs", "1"])
    assert res.exit_code == 0, res.output
    out = tmp_path / "sweep-cli"
    table = pd.read_csv(out / "results.csv")
    assert table.scheduler.tolist() == ["MMWF", "MMWF", "FF", "FF"]
    assert (out / "figure.png").exists() and len(list((out / "points").glob("*.json"))) == 4
    again = run.invoke(app, ["sweep", str(spec), "-q", "--jobs", "1"])
    assert again.exit_code == 0
    pd.testing.assert_frame_equal(table, pd.read_csv(out / "results.csv"))
    # --ledgers: every point's ledger on disk, its lines summing to the point's profit
    res = run.invoke(app, ["sweep", str(spec), "-q", "--jobs", "1", "--ledgers", "-o", str(tmp_path / "L")])
    assert res.exit_code == 0, res.output
    led_table = pd.read_csv(tmp_path / "L" / "results.csv")
    for _, row in led_table.iterrows():
        led = pd.read_csv(tmp_path / "L" / "ledgers" / f"{row['key']}.csv")
        assert led.amount.sum() == pytest.approx(row["profit"], abs=1e-6)
        assert (led.category == "penalty").sum() == row["sla_breaks_cpu"] + row["sla_breaks_ram"] + \
            row["sla_breaks_uptime"]
    bad = tmp_path / "bad.toml"
    bad.write_text('[axes]\n"hosts[0].cores" = [0]\n"scheduler" = ["XX"]\n')
    res = run.invoke(app, ["sweep", str(bad), "--dry-run"])
    text = " ".join(res.output.split())  # the console wraps long lines
    assert res.exit_code == 2 and "unknown scheduler 'XX'" in text and "hosts: List should have at least 1 item" in text
