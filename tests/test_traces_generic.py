"""Generic long-format reader (CSV and Parquet)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kumo.errors import TraceFormatError
from kumo.traces.generic import infer_step, read_generic

BASIC = """vm_id,t_s,cpu_mhz,ram_mb
b,1000,10,100
b,1300,20,200
a,1300,30,300
a,1600,40,400
"""


def write(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_grid_order_and_lifetimes(tmp_path):
    tr = read_generic(write(tmp_path, BASIC))
    assert tr.vm_ids.tolist() == ["b", "a"]  # order of first appearance
    assert (tr.step_s, tr.start_epoch_s, tr.n_steps) == (300.0, 1000.0, 3)
    assert tr.cpu.tolist() == [[10, 0], [20, 30], [0, 40]] and tr.ram_mb[1].tolist() == [200, 300]
    assert tr.arrive_step.tolist() == [0, 1] and tr.depart_step.tolist() == [2, 3]
    assert tr.cores.tolist() == [0, 0] and np.isnan(tr.cpu_booked_mhz).all() and tr.extra == {}
    assert tr.quirks == {"ignored_columns": 0, "missing_slots": 0, "rows_read": 4} and tr.name == "t"


def test_bookings_are_per_vm_max_and_extras_are_read(tmp_path):
    text = "vm_id,t_s,cpu_mhz,ram_mb,cores,cpu_booked_mhz,ram_booked_mb,disk_read_kbps,note\n"
    text += "v,0,1,2,2,5200,4096,7,x\nv,60,1,2,4,10400,2048,8,y\n"
    tr = read_generic(write(tmp_path, text))
    assert (tr.cores[0], tr.cpu_booked_mhz[0], tr.ram_booked_mb[0]) == (4, 10400, 4096)
    assert tr.extra["disk_read_kbps"][:, 0].tolist() == [7, 8] and tr.step_s == 60
    assert tr.quirks["ignored_columns"] == 1 and tr.provenance["ignored_columns"] == "note"


def test_parquet_and_given_step_with_missing_slots(tmp_path):
    df = pd.DataFrame(
        {
            "vm_id": [1, 1, 2],
            "t_s": [0.0, 900.0, 300.0],
            "cpu_mhz": [1.0, 2.0, 3.0],
            "ram_mb": [4.0, 5.0, 6.0],
        }
    )
    df.to_parquet(tmp_path / "t.parquet")
    tr = read_generic(tmp_path / "t.parquet", step_s=300)
    assert tr.vm_ids.tolist() == ["1", "2"] and tr.cpu[:, 0].tolist() == [1, 0, 0, 2]
    assert tr.quirks["missing_slots"] == 2


def test_infer_step_picks_the_most_common_difference():
    assert infer_step(np.array([0, 300, 600, 900, 1000, 1300.0])) == 300
    assert np.isnan(infer_step(np.array([5.0, 5.0])))


def test_missing_columns_are_all_listed(tmp_path):
    with pytest.raises(
        TraceFormatError, match=r"t\.csv, line 1, field 't_s': missing required column\(s\): t_s, ram_mb"
    ):
        read_generic(write(tmp_path, "vm_id,cpu_mhz\na,1\n"))


@pytest.mark.parametrize(
    ("cell", "column", "words"),
    [
        ("", "cpu_mhz", "missing value"),
        ("nan", "cpu_mhz", "not a finite number"),
        ("-3", "ram_mb", "negative value -3"),
        ("abc", "ram_mb", "not a finite number: 'abc'"),
        ("2.5", "cores", "whole number"),
    ],
)
def test_bad_values_name_line_and_column(tmp_path, cell, column, words):
    header = "vm_id,t_s,cpu_mhz,ram_mb,cores"
    cells = {"cpu_mhz": "1", "ram_mb": "2", "cores": "1", column: cell}
    bad = f"a,300,{cells['cpu_mhz']},{cells['ram_mb']},{cells['cores']}"
    with pytest.raises(TraceFormatError) as exc:
        read_generic(write(tmp_path, f"{header}\na,0,1,2,1\n{bad}\n"))
    msg = str(exc.value)
    assert "t.csv, line 3" in msg and f"field '{column}'" in msg and words in msg


def test_parquet_errors_name_the_row(tmp_path):
    df = pd.DataFrame(
        {"vm_id": ["a", "a"], "t_s": [0.0, 300.0], "cpu_mhz": [1.0, np.nan], "ram_mb": [1.0, 1.0]}
    )
    df.to_parquet(tmp_path / "t.parquet")
    with pytest.raises(TraceFormatError, match=r"t\.parquet, field 'cpu_mhz': row 2: missing value"):
        read_generic(tmp_path / "t.parquet")


def test_off_grid_duplicate_and_single_time(tmp_path):
    with pytest.raises(TraceFormatError, match=r"line 4, field 't_s': t_s=650 is not on the grid"):
        read_generic(write(tmp_path, "vm_id,t_s,cpu_mhz,ram_mb\na,0,1,1\na,300,1,1\na,650,1,1\n"))
    with pytest.raises(TraceFormatError, match=r"line 4, field 't_s': second row for VM 'a' at t_s=0"):
        read_generic(write(tmp_path, "vm_id,t_s,cpu_mhz,ram_mb\na,0,1,1\na,300,1,1\na,0,1,1\n"))
    with pytest.raises(TraceFormatError, match="pass step_s"):
        read_generic(write(tmp_path, "vm_id,t_s,cpu_mhz,ram_mb\na,0,1,1\n"))
    assert read_generic(write(tmp_path, "vm_id,t_s,cpu_mhz,ram_mb\na,0,1,1\n"), step_s=60).n_steps == 1


def test_empty_vm_id_and_empty_files(tmp_path):
    with pytest.raises(TraceFormatError, match=r"line 2, field 'vm_id': missing value"):
        read_generic(write(tmp_path, "vm_id,t_s,cpu_mhz,ram_mb\n,0,1,1\n"))
    with pytest.raises(TraceFormatError, match="no data rows"):
        read_generic(write(tmp_path, "vm_id,t_s,cpu_mhz,ram_mb\n"))
    with pytest.raises(TraceFormatError, match="empty file"):
        read_generic(write(tmp_path, ""))


def test_vm_named_na_is_an_id_not_a_missing_value(tmp_path):
    assert read_generic(
        write(tmp_path, "vm_id,t_s,cpu_mhz,ram_mb\nNA,0,1,1\nNA,300,1,1\n")
    ).vm_ids.tolist() == ["NA"]
