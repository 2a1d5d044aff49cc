"""OpenDC workload reader (tasks.parquet + fragments.parquet) and topology converter.

The tiny workload is built by ``write_workload`` in a temporary folder; every expected value is written as
the arithmetic that gives it.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from kumo.cli import app
from kumo.config import validate
from kumo.errors import TraceFormatError
from kumo.traces import detect_format, load
from kumo.traces.opendc import read_opendc
from kumo.traces.opendc_topology import hosts_toml, read_topology

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "opendc"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared/data/opendc (OpenDC's traces)")
T0 = 1_699_999_800_000  # ms, a multiple of 300 s

TASKS = {  # id, submission ms, duration ms, cores, MHz, MB
    "id": [1, 4, 3, 2],
    "submission_time": [T0, T0, T0 + 30_000, T0 + 45_000],
    "duration": [120_000, 0, 60_000, 90_000],
    "cpu_count": [2, 1, 1, 1],
    "cpu_capacity": [4000.0, 1000.0, 1000.0, 2000.0],
    "mem_capacity": [2048, 512, 512, 1024],
}
FRAGMENTS = {  # task 1: 30 s @1000, 30 s @2000, (task 2's run), 60 s @4500 (above its 4000 MHz)
    "id": [1, 1, 2, 2, 1, 4, 99],
    "duration": [30_000, 30_000, 60_000, 60_000, 60_000, 30_000, 30_000],
    "cpu_usage": [1000.0, 2000.0, 1200.0, 600.0, 4500.0, 100.0, 5.0],
}


def write_workload(folder: Path, tasks: dict | None = None, fragments: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(TASKS if tasks is None else tasks), folder / "tasks.parquet")
    pq.write_table(pa.table(FRAGMENTS if fragments is None else fragments), folder / "fragments.parquet")
    return folder


@pytest.fixture
def workload(tmp_path):
    return write_workload(tmp_path / "mini")


def test_one_minute_grid_time_weighted_means(workload):
    tr = read_opendc(workload, step_s=60)
    assert detect_format(workload) == "opendc" and tr.provenance["format"] == "opendc"
    # arrival order: task 1 (T0), task 3 (T0+30 s), task 2 (T0+45 s); task 4 has zero duration
    assert tr.vm_ids.tolist() == ["1", "3", "2"] and tr.start_epoch_s == T0 / 1000
    assert tr.arrive_step.tolist() == [0, 0, 0] and tr.depart_step.tolist() == [2, 2, 3] and tr.n_steps == 3
    assert tr.cores.tolist() == [2, 1, 1] and tr.cpu_booked_mhz.tolist() == [4000, 1000, 2000] and tr.ram_mb is None
    task1 = [(1000 * 30 + 2000 * 30) / 60, 4500, 0]
    task3 = [0, 0, 0]  # no fragments
    # task 2 lives [45, 135) s: 60 s @1200 from 45 s, then 60 s @600 cut at 135 s
    task2 = [1200 * 15 / 60, (1200 * 45 + 600 * 15) / 60, 600 * 15 / 60]
    assert np.allclose(tr.cpu, np.array([task1, task3, task2]).T, rtol=1e-7)
    q = tr.quirks
    assert (q["tasks_read"], q["fragments_read"], q["tasks_zero_duration"], q["fragments_of_unknown_tasks"]) == (4, 7, 1, 1)
    assert (q["fragments_past_task_end"], q["fragments_clipped"], q["clipped_fragment_s"]) == (1, 1, 30)
    assert (q["tasks_without_fragments"], q["tasks_fragments_short"], q["tasks_split_fragment_runs"]) == (1, 0, 1)
    assert (q["fragments_above_capacity"], q["partial_first_steps"], q["partial_last_steps"]) == (1, 2, 2)
    assert (q["steps_merging_fragments"], q["fragments_split_at_steps"]) == (2, 2)


def test_default_step_keeps_the_integral_and_dilutes_partial_steps(workload):
    tr = load(workload)  # 300 s: one step holds everything
    assert tr.n_steps == 1 and tr.step_s == 300
    assert tr.cpu[0].tolist() == pytest.approx([(1000 * 30 + 2000 * 30 + 4500 * 60) / 300, 0,
                                                (1200 * 60 + 600 * 30) / 300])
    fine = read_opendc(workload, step_s=30)
    assert fine.cpu.sum(dtype=np.float64) * 30 == pytest.approx(tr.cpu.sum(dtype=np.float64) * 300, rel=1e-7)


def test_window_and_max_vms(workload):
    tr = read_opendc(workload, step_s=60, window="1m:2m")
    assert tr.start_epoch_s == T0 / 1000 + 60 and tr.n_steps == 1
    assert tr.cpu[0].tolist() == pytest.approx([4500, 0, (1200 * 45 + 600 * 15) / 60])
    assert tr.quirks["vms_clipped_by_window"] == 3
    first = read_opendc(workload, step_s=60, max_vms=2)
    assert first.vm_ids.tolist() == ["1", "3"] and first.quirks["vms_beyond_max_vms"] == 1
    with pytest.raises(TraceFormatError, match="above max_cells=2"):
        read_opendc(workload, step_s=60, max_cells=2)


def test_fragments_short_of_the_duration_leave_zero_demand(tmp_path):
    folder = write_workload(tmp_path / "short", {**{k: v[:1] for k, v in TASKS.items()}, "duration": [180_000]},
                            {"id": [1], "duration": [60_000], "cpu_usage": [600.0]})
    tr = read_opendc(folder, step_s=60)
    assert tr.cpu[:, 0].tolist() == [600, 0, 0] and tr.depart_step.tolist() == [3]
    assert (tr.quirks["tasks_fragments_short"], tr.quirks["uncovered_s"]) == (1, 120)


def test_timestamp_submission_and_string_ids(tmp_path):
    tasks = dict(TASKS, id=["a", "d", "c", "b"],
                 submission_time=pa.array(TASKS["submission_time"], pa.timestamp("ms")))
    frags = dict(FRAGMENTS, id=["a", "a", "b", "b", "a", "d", "zz"])
    tr = read_opendc(write_workload(tmp_path / "ts", tasks, frags), step_s=60)
    assert tr.vm_ids.tolist() == ["a", "c", "b"] and tr.cpu[1, 0] == 4500


@pytest.mark.parametrize(("which", "change", "words", "field"), [
    ("tasks", {"duration": [120_000, 0, -5, 90_000]}, "row 3: negative value -5", "duration"),
    ("tasks", {"cpu_count": [2.5, 1.0, 1.0, 1.0]}, "row 1: not a whole number: 2.5", "cpu_count"),
    ("tasks", {"cpu_capacity": [4000.0, float("nan"), 1.0, 1.0]}, "row 2: missing or NaN value", "cpu_capacity"),
    ("tasks", {"mem_capacity": pa.array([1, None, 1, 1], pa.int64())}, "row 2: missing value", "mem_capacity"),
    ("tasks", {"id": [1, 4, 1, 2]}, "row 3: task id 1 appears twice", "id"),
    ("fragments", {"cpu_usage": [1.0, 2.0, 3.0, float("inf"), 5.0, 6.0, 7.0]}, "row 4: infinite value", "cpu_usage"),
])
def test_bad_values_name_file_row_and_column(tmp_path, which, change, words, field):
    tasks = dict(TASKS, **change) if which == "tasks" else TASKS
    frags = dict(FRAGMENTS, **change) if which == "fragments" else FRAGMENTS
    folder = write_workload(tmp_path / "bad", tasks, frags)
    with pytest.raises(TraceFormatError) as err:
        read_opendc(folder)
    assert err.value.path.endswith(f"{which}.parquet") and err.value.field == field and words in err.value.reason


def test_missing_files_columns_and_broken_parquet(tmp_path, workload):
    (workload / "fragments.parquet").unlink()
    with pytest.raises(TraceFormatError, match=r"fragments\.parquet: missing"):
        read_opendc(workload)
    with pytest.raises(TraceFormatError, match="needs both tasks.parquet and fragments.parquet"):
        detect_format(workload)
    folder = write_workload(tmp_path / "cols", {k: v for k, v in TASKS.items() if k not in ("duration", "cpu_count")})
    with pytest.raises(TraceFormatError, match=r"missing column\(s\): duration, cpu_count") as err:
        read_opendc(folder)
    assert err.value.field == "duration"
    folder = write_workload(tmp_path / "trunc")
    raw = (folder / "tasks.parquet").read_bytes()
    (folder / "tasks.parquet").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(TraceFormatError, match=r"tasks\.parquet: cannot read as Parquet"):
        read_opendc(folder)
    with pytest.raises(TraceFormatError, match="whole number of ms"):
        read_opendc(workload.parent / "cols", step_s=0.0005)


def test_random_workloads_keep_the_cpu_integral(tmp_path):
    rng = np.random.default_rng(5)
    n = 40
    durations = [rng.integers(1, 20, size=rng.integers(1, 8)) * 7_000 for _ in range(n)]
    tasks = {"id": list(range(n)), "submission_time": (T0 + rng.integers(0, 3_600_000, n)).tolist(),
             "duration": [int(d.sum()) for d in durations], "cpu_count": [1] * n, "cpu_capacity": [1e4] * n,
             "mem_capacity": [1] * n}
    frags = {"id": np.repeat(np.arange(n), [len(d) for d in durations]).tolist(),
             "duration": np.concatenate(durations).tolist()}
    frags["cpu_usage"] = rng.uniform(0, 5000, len(frags["id"])).tolist()
    folder = write_workload(tmp_path / "rnd", tasks, frags)
    work = float(np.dot(frags["cpu_usage"], frags["duration"])) / 1000
    for step in (30, 60, 300, 3600):
        tr = read_opendc(folder, step_s=step)
        assert tr.cpu.sum(dtype=np.float64) * step == pytest.approx(work, rel=1e-6)
        assert not tr.cpu[~tr.alive()].any()


@needs_shared
def test_surf_week_and_bitbrains_small():
    tr = read_opendc(SHARED / "workloads" / "surf_week")
    assert (tr.n_vms, tr.n_steps) == (6295, 2016) and tr.quirks["fragments_read"] == 2_323_475
    assert tr.quirks["tasks_split_fragment_runs"] == 4 and tr.alive().sum(axis=1).max() <= 277
    frags = pq.read_table(SHARED / "workloads" / "surf_week" / "fragments.parquet").to_pandas()
    work = float((frags.cpu_usage * frags.duration).sum()) / 1000
    assert tr.cpu.sum(dtype=np.float64) * 300 == pytest.approx(work, rel=1e-6)
    bb = read_opendc(SHARED / "workloads" / "bitbrains-small")
    assert bb.n_vms == 50 and bb.quirks["tasks_fragments_short"] == 50 and bb.quirks["tasks_mem_above_4tib"] > 0


@needs_shared
def test_100k_tasks_needs_a_smaller_grid():
    path = SHARED / "workloads" / "100K_tasks"
    with pytest.raises(TraceFormatError, match="8,928 steps x 100,000 VMs"):
        read_opendc(path)
    tr = read_opendc(path, window="0:1d")
    assert tr.n_steps == 288 and 0 < tr.n_vms < 100_000 and tr.quirks["vms_outside_window"] == 100_000 - tr.n_vms


# ------------------------------------------------------------------------------------------ topology
SURF = {"clusters": [{"name": "C01", "hosts": [{"name": "H01", "cpu": {"coreCount": 16, "coreSpeed": 2100},
                                                  "memory": {"memorySize": 100000},
                                                  "cpuPowerModel": {"modelType": "sqrt", "power": 400.0,
                                                                    "idlePower": 32.0, "maxPower": 180.0},
                                                  "count": 277}]}]}


def test_topology_to_hosts_and_toml(tmp_path):
    path = tmp_path / "surf.json"
    path.write_text(json.dumps(SURF))
    hosts = read_topology(path)
    assert hosts == [{"name": "C01-H01", "count": 277, "cores": 16, "core_mhz": 2100.0, "ram_mb": 100000.0,
                      "power": {"kind": "sqrt", "idle_w": 32.0, "max_w": 180.0}}]
    parsed = tomllib.loads(hosts_toml(hosts, "surf.json"))["hosts"]
    assert parsed == hosts and validate({"hosts": parsed}) == []
    res = CliRunner().invoke(app, ["trace", "topology", str(path)])
    assert res.exit_code == 0 and tomllib.loads(res.output)["hosts"] == hosts
    if SHARED.is_dir():
        assert read_topology(SHARED / "topologies" / "surf.json") == hosts


def test_topology_counts_cpus_constant_power_and_bytes(tmp_path):
    topo = {"clusters": [{"count": 2, "hosts": [
        {"count": 3, "cpus": [{"coreCount": 8, "coreSpeed": 2000, "count": 2}, {"coreCount": 4, "coreSpeed": 2000}],
         "memory": {"memorySize": 64 * 2**30}, "powerModel": {"modelType": "constant", "power": 250}},
        {"cpu": {"coreCount": 4, "coreSpeed": 3000}, "memory": {"memorySize": 2**30}}]}]}
    path = tmp_path / "t.json"
    path.write_text(json.dumps(topo))
    a, b = read_topology(path, memory_unit="bytes")
    assert (a["name"], a["count"], a["cores"], a["ram_mb"]) == ("C0-H0", 6, 20, 65536.0)
    assert a["power"] == {"kind": "linear", "idle_w": 250.0, "max_w": 250.0} and "power" not in b
    assert (b["count"], b["cores"], b["core_mhz"]) == (2, 4, 3000.0)


@pytest.mark.parametrize(("text", "field", "words"), [
    ('{"clusters": [', None, "not valid JSON"),
    ('{"hosts": []}', "clusters", "missing or empty"),
    ('{"clusters": [{"hosts": [{"cpu": {"coreSpeed": 1}, "memory": {"memorySize": 1}}]}]}',
     "clusters[0].hosts[0].cpu.coreCount", "missing"),
    ('{"clusters": [{"hosts": [{"cpu": {"coreCount": 2, "coreSpeed": -1}, "memory": {"memorySize": 1}}]}]}',
     "clusters[0].hosts[0].cpu.coreSpeed", "must be > 0"),
    ('{"clusters": [{"hosts": [{"cpu": {"coreCount": 2, "coreSpeed": 1}, "memory": {"memorySize": 1},'
     ' "cpuPowerModel": {"modelType": "mse", "idlePower": 1, "maxPower": 2}}]}]}',
     "clusters[0].hosts[0].cpuPowerModel.modelType", "unsupported power model 'mse'"),
    ('{"clusters": [{"hosts": [{"cpus": [{"coreCount": 2, "coreSpeed": 1}, {"coreCount": 2, "coreSpeed": 2}],'
     ' "memory": {"memorySize": 1}}]}]}', "clusters[0].hosts[0].cpus", "one core speed"),
])
def test_topology_errors_name_the_field(tmp_path, text, field, words):
    path = tmp_path / "t.json"
    path.write_text(text)
    with pytest.raises(TraceFormatError) as err:
        read_topology(path)
    assert err.value.field == field and words in err.value.reason
