"""The generic reader's row-group Parquet path gives the very Trace of the whole-file pandas path: arrays,
dtypes, quirks, provenance, and for a bad file the same one-line error."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kumo.traces.generic as generic
from kumo.errors import TraceFormatError
from kumo.traces.base import Trace
from kumo.traces.generic import read_generic


def _both(path, **kw):
    """(streaming, pandas) outcomes of reading ``path``: a Trace or the error's text."""
    out = []
    for stream in (True, False):
        generic.STREAM_PARQUET = stream
        try:
            out.append(read_generic(path, **kw))
        except TraceFormatError as exc:
            out.append(str(exc))
        finally:
            generic.STREAM_PARQUET = True
    return out


def assert_same(a, b):
    if isinstance(a, str) or isinstance(b, str):
        assert a == b
        return
    for f in fields(Trace):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            assert x.dtype == y.dtype and x.shape == y.shape, f.name
            assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), f.name
        elif f.name == "extra":
            assert x.keys() == y.keys()
            for k in x:
                assert x[k].dtype == y[k].dtype and np.array_equal(x[k], y[k]), k
        else:
            assert x == y, f.name
    assert a.content_hash() == b.content_hash()


def _write(tmp_path, table, rows_per_group=None, name="t.parquet"):
    path = tmp_path / name
    pq.write_table(pa.table(table) if isinstance(table, dict) else table, path, row_group_size=rows_per_group)
    return path


def test_streaming_is_taken_and_identical_with_quirks_and_several_row_groups(tmp_path):
    rng = np.random.default_rng(3)
    n_vms, n_steps = 7, 9
    vm, k = np.meshgrid(np.arange(n_vms), np.arange(n_steps))
    keep = rng.random(vm.size) < 0.8  # missing slots
    order = rng.permutation(int(keep.sum()))  # rows in any order: VMs first seen in later row groups
    ids = np.array([f"vm-{i}" for i in range(n_vms)])[vm.ravel()[keep]][order]
    path = _write(tmp_path, {
        "vm_id": ids, "t_s": (1000 + 60 * k.ravel()[keep])[order].astype(np.int64),
        "cpu_mhz": rng.uniform(0, 900, keep.sum())[order], "ram_mb": rng.uniform(0, 512, keep.sum()).astype(np.float32),
        "cores": rng.integers(1, 5, keep.sum())[order], "ram_booked_mb": rng.uniform(600, 700, keep.sum())[order],
        "disk_read_kbps": rng.uniform(0, 50, keep.sum())[order], "note": ["x"] * int(keep.sum())}, rows_per_group=5)
    assert pq.ParquetFile(path).metadata.num_row_groups > 3
    assert generic._parquet_columns(path) is not None  # the row-group path reads it
    a, b = _both(path)
    assert_same(a, b)
    assert a.quirks["missing_slots"] > 0 and a.quirks["ignored_columns"] == 1
    assert a.extra.keys() == {"disk_read_kbps"} and np.isnan(a.cpu_booked_mhz).all()


def test_time_major_file_with_the_same_ids_in_every_group(tmp_path):
    n_vms, n_steps = 5, 6
    path = _write(tmp_path, {"vm_id": [f"v{i}" for i in range(n_vms)] * n_steps,
                             "t_s": np.repeat(np.arange(n_steps) * 300.0, n_vms),
                             "cpu_mhz": np.arange(n_vms * n_steps, dtype=float), "ram_mb": np.ones(n_vms * n_steps)},
                  rows_per_group=n_vms)
    a, b = _both(path)
    assert_same(a, b)
    assert a.cpu[2, 3] == 13 and a.vm_ids.tolist() == [f"v{i}" for i in range(n_vms)]


def test_integer_ids_and_a_given_step(tmp_path):
    path = _write(tmp_path, {"vm_id": np.array([7, 7, -2, 30], np.int64), "t_s": [0.0, 900.0, 300.0, 0.0],
                             "cpu_mhz": [1.0, 2.0, 3.0, 4.0], "ram_mb": [4.0, 5.0, 6.0, 7.0]})
    assert generic._parquet_columns(path) is not None
    a, b = _both(path, step_s=300)
    assert_same(a, b)
    assert a.vm_ids.tolist() == ["7", "-2", "30"]


@pytest.mark.parametrize("case", ["null_cpu", "nan_cpu", "negative", "blank_id", "null_id", "duplicate", "off_grid",
                                  "float_ids", "fractional_cores", "zero_booking", "missing_column", "huge",
                                  "text_numbers", "nul_id"])
def test_bad_files_give_the_same_outcome_on_both_paths(tmp_path, case):
    t = {"vm_id": ["a", "b", "a", "b"], "t_s": [0.0, 0.0, 300.0, 300.0], "cpu_mhz": [1.0, 2.0, 3.0, 4.0],
         "ram_mb": [1.0, 1.0, 1.0, 1.0]}
    cols: dict = {k: pa.array(v) for k, v in t.items()}
    if case == "null_cpu":
        cols["cpu_mhz"] = pa.array([1.0, None, 3.0, 4.0])
    elif case == "nan_cpu":
        cols["cpu_mhz"] = pa.array([1.0, 2.0, np.nan, 4.0])
    elif case == "negative":
        cols["ram_mb"] = pa.array([1.0, 1.0, -1.0, 1.0])
    elif case == "blank_id":
        cols["vm_id"] = pa.array(["a", "b", " ", "b"])
    elif case == "null_id":
        cols["vm_id"] = pa.array(["a", None, "a", "b"])
    elif case == "duplicate":
        cols["t_s"] = pa.array([0.0, 0.0, 300.0, 0.0])
    elif case == "off_grid":
        cols["t_s"] = pa.array([0.0, 300.0, 600.0, 650.0])
    elif case == "float_ids":
        cols["vm_id"] = pa.array([1.0, 2.0, 1.0, 2.0])
    elif case == "fractional_cores":
        cols["cores"] = pa.array([1.0, 1.5, 1.0, 1.0])
    elif case == "zero_booking":
        cols["cpu_booked_mhz"] = pa.array([1.0, 0.0, 1.0, 1.0])
    elif case == "missing_column":
        del cols["ram_mb"]
    elif case == "huge":
        cols["cpu_mhz"] = pa.array([1.0, 2e13, 1.0, 1.0])
    elif case == "text_numbers":
        cols["cpu_mhz"] = pa.array(["1", "2", "x", "4"])
    elif case == "nul_id":
        cols["vm_id"] = pa.array(["a", "b", "a", "a\x00"])
    path = _write(tmp_path, pa.table(cols))
    a, b = _both(path)
    assert_same(a, b)
    if case != "float_ids":  # float ids are read as their text ('1.0'), by pandas
        assert isinstance(a, str) and "\n" not in a and "t.parquet" in a


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_random_files_read_alike(tmp_path_factory, data):
    n = data.draw(st.integers(1, 40))
    ids = data.draw(st.lists(st.sampled_from(["a", "bb", "c c", "é", "0", "vm-1"]), min_size=n, max_size=n))
    slots = data.draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    cpu = data.draw(st.lists(st.floats(0, 1e4, allow_nan=False), min_size=n, max_size=n))
    group = data.draw(st.integers(1, 8))
    path = _write(tmp_path_factory.mktemp("p"), {"vm_id": ids, "t_s": np.array(slots) * 60 + 5,
                                                 "cpu_mhz": cpu, "ram_mb": np.arange(n, dtype=float)},
                  rows_per_group=group)
    assert generic._parquet_columns(path) is not None
    a, b = _both(path, step_s=60)
    assert_same(a, b)


def test_pandas_written_file_with_an_index_is_read_through_pandas(tmp_path):
    df = pd.DataFrame({"vm_id": ["a", "a"], "t_s": [0.0, 300.0], "cpu_mhz": [1.0, 2.0], "ram_mb": [1.0, 1.0]},
                      index=pd.Index([5, 6], name="row"))
    df.to_parquet(tmp_path / "t.parquet")
    assert generic._parquet_columns(tmp_path / "t.parquet") is None  # the stored index is pandas' business
    a, b = _both(tmp_path / "t.parquet")
    assert_same(a, b)
