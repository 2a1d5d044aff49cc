"""load(): format detection, embedded traces, trace_info."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from kumo.errors import TraceFormatError
from kumo.traces import FORMATS, detect_format, embedded_names, load, save, trace_info

FIXTURES = Path(__file__).parent / "fixtures" / "traces"


@pytest.mark.parametrize(
    ("name", "fmt", "shape"),
    [
        ("bitbrains-mini", "bitbrains", (4, 2)),
        ("materna-mini", "materna", (3, 2)),
        ("planetlab-mini", "planetlab", (4, 2)),
        ("generic-mini.csv", "generic", (3, 2)),
    ],
)
def test_detects_every_fixture_format(name, fmt, shape):
    path = FIXTURES / name
    assert detect_format(path) == fmt
    tr = load(path)
    assert tr.provenance["format"] == fmt and tr.cpu.shape == shape


def test_fixture_contents():
    bb = load(FIXTURES / "bitbrains-mini")
    assert bb.vm_ids.tolist() == ["1", "2"] and bb.quirks["duplicate_timestamp_rows"] == 1
    assert bb.arrive_step.tolist() == [0, 2] and bb.quirks["unprovisioned_rows"] == 1  # VM 2 starts unbooked
    pl = load(FIXTURES / "planetlab-mini")
    assert pl.vm_ids.tolist() == ["host a_slice", "host-b_slice"] and pl.cpu[1].tolist() == [
        np.float32(0.07),
        1.0,
    ]
    gen = load(FIXTURES / "generic-mini.csv")
    assert gen.vm_ids.tolist() == ["web-1", "db-1"] and gen.cores.tolist() == [2, 4]


def test_compact_file_and_format_override(tmp_path):
    tr = load(FIXTURES / "generic-mini.csv")
    path = save(tr, tmp_path / "x.kumo")
    assert (
        detect_format(path) == "compact"
        and load(path).content_hash() == load(path, format="kumo").content_hash()
    )
    copy = tmp_path / "noext"
    shutil.copy(path, copy)
    assert load(copy, format="compact").n_vms == 2
    assert load(FIXTURES / "generic-mini.csv", step_s=150).n_steps == 5  # options go to the reader


def test_errors_name_the_path(tmp_path):
    with pytest.raises(TraceFormatError, match="no such file or folder, and not an embedded trace"):
        load(tmp_path / "missing")
    with pytest.raises(TraceFormatError, match=r"unknown format 'xls'; valid: compact, kumo"):
        load(FIXTURES / "generic-mini.csv", format="xls")
    (tmp_path / "t.txt").write_text("x")
    with pytest.raises(TraceFormatError, match=r"t\.txt: unknown trace file type"):
        load(tmp_path / "t.txt")
    (tmp_path / "d").mkdir()
    with pytest.raises(TraceFormatError, match="empty folder"):
        load(tmp_path / "d")
    (tmp_path / "d" / "notes").write_text("hello\n")
    with pytest.raises(TraceFormatError, match="cannot tell the trace format"):
        load(tmp_path / "d")
    assert set(FORMATS) >= {"compact", "bitbrains", "materna", "planetlab", "generic"}


def test_embedded_names_and_aliases():
    names = embedded_names()
    assert "bitbrains-rnd-2013-7" in names and "planetlab-20110303" in names and "surf-week" in names
    assert sum(n.startswith("planetlab-") for n in names) == 10  # CloudSim's ten days
    assert {"bitbrains", "bitbrains-rnd", "planetlab", "surf"} <= set(embedded_names(aliases=True))


def test_embedded_surf_week():
    tr = load("surf")
    assert (tr.name, tr.n_vms, tr.n_steps, tr.step_s, tr.cpu_unit) == ("surf-week", 6295, 2016, 300.0, "mhz")
    assert tr.provenance["format"] == "opendc" and "Mastenbroek" in tr.provenance["cite"]
    assert set(tr.cores.tolist()) == {16} and tr.ram_mb is None and tr.arrive_step.max() > 2000
    # the fragments' CPU integral (1,524,009,661,650 MHz*s) within the 0.005 MHz quantization
    assert tr.cpu.sum(dtype="float64") * 300 == pytest.approx(1_524_009_661_650, rel=1e-9)


def test_embedded_planetlab():
    tr = load("planetlab")
    assert (tr.name, tr.n_vms, tr.n_steps, tr.cpu_unit) == ("planetlab-20110303", 1052, 288, "fraction")
    assert list(tr.vm_ids) == sorted(tr.vm_ids) and float(tr.cpu.max()) <= 1.0
    assert load("planetlab-20110303").content_hash() == tr.content_hash()
    assert "Beloglazov" in tr.provenance["cite"]


@pytest.mark.slow
def test_embedded_bitbrains():
    tr = load("bitbrains")
    assert (tr.name, tr.n_vms, tr.n_steps, tr.step_s) == ("bitbrains-rnd-2013-7", 500, 8640, 300.0)
    assert tr.vm_ids[:3].tolist() == ["1", "2", "3"] and tr.quirks["duplicate_timestamp_rows"] == 71_664
    assert tr.cores.sum() == 1450 and set(tr.extra) == {
        "disk_read_kbps",
        "disk_write_kbps",
        "net_rx_kbps",
        "net_tx_kbps",
    }
    info = trace_info(tr)
    assert info["start_utc"] == "2013-06-30T22:03:24Z" and info["end_utc"] == "2013-07-30T22:03:24Z"
    assert info["booked"]["cores"] == 1450 and abs(info["used"]["cpu_ghz_max"] - 1018.4) < 0.1


def test_trace_info_is_plain_json():
    info = trace_info(load(FIXTURES / "generic-mini.csv"))
    assert json.loads(json.dumps(info, allow_nan=False)) == info
    assert (info["vms"], info["steps"], info["step_s"], info["start_utc"]) == (2, 3, 300.0, None)
    # generic-mini: step 0 = web-1 500 MHz; step 1 = 600 + 1500; step 2 = 1400
    assert info["used"]["cpu_ghz_max"] == 2.1 and info["used"]["cpu_ghz_mean"] == pytest.approx(
        4.0 / 3, rel=1e-5
    )
    assert info["booked"] == {"cores": 6, "cpu_ghz": 15.6, "ram_gb": 20.0}
    assert info["used"]["active_vms_mean"] == pytest.approx(4 / 3, rel=1e-5)
    pl = trace_info(load(FIXTURES / "planetlab-mini"))
    assert pl["booked"]["cpu_ghz"] is None and pl["used"]["ram_gb_mean"] is None
    assert pl["used"]["cpu_booked_fraction_sum_max"] == pytest.approx(1.07)  # 7 % + 100 % at step 1
    assert json.loads(json.dumps(pl, allow_nan=False)) == pl
