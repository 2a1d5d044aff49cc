"""A sweep's trace travels once per worker, not once per point: on a Dask cluster (scattered to every
worker) and on run_many's own process pool (installed by the pool's initializer); same table as a local run."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pandas as pd
import pytest
from conftest import make_trace

from kumo.sweep import Experiment, Point, SharedTrace, common_trace, run_many, run_point_group
from kumo.traces.base import Trace

#: unpicklings of a CountedTrace in this process (a Dask worker's, when the module is imported there)
UNPICKLED: list[int] = []
#: picklings of a CountedTrace in this process
PICKLED: list[int] = []


class CountedTrace(Trace):
    """A Trace that counts how often it is pickled and unpickled in each process."""

    def __getstate__(self):
        PICKLED.append(1)
        return dict(self.__dict__)

    def __setstate__(self, state):
        UNPICKLED.append(1)
        self.__dict__.update(state)


def unpickled() -> int:
    return len(UNPICKLED)


def _counted() -> CountedTrace:
    rng = np.random.default_rng(5)
    base = make_trace(rng.uniform(0, 1, (24, 8)) * 1500, ram=rng.uniform(100, 1500, (24, 8)),
                      booked_cpu=[1500] * 8, booked_ram=[2048] * 8)
    return CountedTrace(**{f.name: getattr(base, f.name) for f in fields(Trace)})


def _points():
    scenario = {"name": "ship", "hosts": [{"count": 3, "cores": 2, "core_mhz": 1500, "ram_mb": 4096,
                                           "cpu_overcommit": 4, "initially_on": False}],
                "controller": {"name": "sla", "params": {"lower": 0.15}}}
    exp = Experiment.model_validate({"name": "ship", "scenario": scenario, "seeds": [0, 1],
                                     "axes": {"hosts[0].ram_overcommit": [1.0, 2.0, 3.0]}})
    return exp.expand()


def test_a_dask_cluster_gets_the_trace_once_per_worker_and_the_same_table():
    distributed = pytest.importorskip("distributed")
    from kumo.cluster import DaskExecutor

    trace, points = _counted(), _points()
    assert len({p.sim_key for p in points}) == 6  # six tasks for two workers
    local = run_many(points, executor=_Inline(), trace=trace)
    PICKLED.clear()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        shipped = run_many(points, executor=DaskExecutor(client), trace=trace)
        per_worker = client.run(unpickled)
    pd.testing.assert_frame_equal(local, shipped)
    assert len(per_worker) == 2 and all(n <= 1 for n in per_worker.values()), per_worker
    assert sum(per_worker.values()) >= 1  # it did reach the workers, as one copy each
    assert len(PICKLED) <= 1  # serialized once on the client (then sent to each worker), not once per task


def test_run_many_own_pool_installs_the_trace_once_per_process():
    trace, points = _counted(), _points()[:2]
    PICKLED.clear()
    own = run_many(points, trace=trace)
    assert len(PICKLED) <= 2  # at most once per worker process (none when the pool forks), not per task
    pd.testing.assert_frame_equal(own, run_many(points, executor=_Inline(), trace=trace))


def test_a_shared_trace_outside_its_pool_is_a_clear_error():
    p = _points()[0]
    with pytest.raises(RuntimeError, match="not installed in this worker"):
        run_point_group(p.scenario, [p.ledger], SharedTrace("nowhere"))


def test_the_common_trace_of_points_includes_reader_options():
    def point(trace):
        return Point(index=0, values={}, seed=0, scenario={"trace": trace}, ledger={})

    assert common_trace(_points()) == {}  # every point reads the default trace
    a = {"source": "x.parquet", "reader": {"step_s": 600}}
    assert common_trace([point(a), point(dict(a))]) == a
    assert common_trace([point(a), point({"source": "x.parquet", "reader": {"step_s": 300}})]) is None
    assert common_trace([point(a), point({"source": "y.parquet", "reader": {"step_s": 600}})]) is None
    assert common_trace([]) is None


def test_kumo_sweep_on_a_dask_scheduler_address_gives_the_local_table(tmp_path):
    distributed = pytest.importorskip("distributed")
    from typer.testing import CliRunner

    from kumo.cli import app

    spec = tmp_path / "s.toml"
    spec.write_text('name = "d"\nbase = "kohne"\n[scenario]\ntrace = { max_steps = 12 }\n'
                    '[axes]\nscheduler = ["MMWF", "FF"]\n')
    run = CliRunner()
    local = run.invoke(app, ["sweep", str(spec), "-q", "--jobs", "1", "--format", "csv", "-o", str(tmp_path / "a")])
    assert local.exit_code == 0, local.output
    with distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
        res = run.invoke(app, ["sweep", str(spec), "-q", "--dask", cluster.scheduler_address, "--format", "csv",
                               "-o", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a" / "results.csv"),
                                  pd.read_csv(tmp_path / "b" / "results.csv"))


class _Inline:
    """Runs each task at once, in this process (the reference table)."""

    def submit(self, fn, *args, **kwargs):
        from concurrent.futures import Future

        f: Future = Future()
        f.set_result(fn(*args, **kwargs))
        return f
