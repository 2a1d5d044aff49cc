"""Compact .kumo format: round trips within the stated quantization, exact where promised, clear errors."""

from __future__ import annotations

import json
import tempfile
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kumo.errors import TraceFormatError
from kumo.traces import _codec
from kumo.traces.base import EXTRA_COLUMNS, Trace, TraceInvariantError
from kumo.traces.compact import CPU_MHZ_SCALE, load_compact, read_meta, save
from kumo.traces.generic import read_generic
from kumo.traces.planetlab import percent_to_fraction

F32_RTOL = 2.0**-23  # float32 rounding of the decoded value, on top of the grid's half step


def mhz_trace(n_steps=50, n_vms=7, seed=0) -> Trace:
    rng = np.random.default_rng(seed)

    def demand(scale):
        return (rng.random((n_steps, n_vms)) * scale).astype(np.float32)

    return Trace(
        name="synthetic",
        step_s=300.0,
        start_epoch_s=1_372_629_804.0,
        vm_ids=np.array([str(i) for i in range(1, n_vms + 1)]),
        cpu=demand(200_000.0),  # up to 200 GHz: past float32's 0.01 resolution on purpose
        ram_mb=demand(500_000.0),
        cores=rng.integers(1, 33, n_vms).astype(np.int32),
        cpu_booked_mhz=(rng.random(n_vms) * 1e5).astype(np.float32),
        ram_booked_mb=(rng.random(n_vms) * 1e5).astype(np.float32),
        arrive_step=rng.integers(0, 10, n_vms).astype(np.int32),
        depart_step=rng.integers(10, n_steps + 1, n_vms).astype(np.int32),
        extra={k: demand(1e4) for k in EXTRA_COLUMNS},
        quirks={"duplicate_timestamp_rows": 3, "gaps": 1},
        provenance={"format": "bitbrains", "source": "synthetic"},
    )


def percent_trace(n_steps=288, n_vms=30, seed=1) -> Trace:
    rng = np.random.default_rng(seed)
    return Trace(
        name="pl",
        step_s=300.0,
        start_epoch_s=0.0,
        vm_ids=np.array([f"host {i}" for i in range(n_vms)]),
        cpu=percent_to_fraction(rng.integers(0, 101, (n_steps, n_vms))),
        ram_mb=None,
        cores=np.zeros(n_vms, np.int32),
        cpu_booked_mhz=np.full(n_vms, np.nan, np.float32),
        ram_booked_mb=np.full(n_vms, np.nan, np.float32),
        arrive_step=np.zeros(n_vms, np.int32),
        depart_step=np.full(n_vms, n_steps, np.int32),
        cpu_unit="fraction",
    )


def assert_close(a, b, scale):
    np.testing.assert_allclose(a, b, rtol=F32_RTOL, atol=0.5 / scale)


def test_mhz_round_trip_within_quantization(tmp_path):
    tr = mhz_trace()
    back = load_compact(save(tr, tmp_path / "t.kumo"))
    assert_close(back.cpu, tr.cpu, 100)
    assert_close(back.ram_mb, tr.ram_mb, 64)
    for k in EXTRA_COLUMNS:
        assert_close(back.extra[k], tr.extra[k], 100)
    for attr in ("vm_ids", "cores", "cpu_booked_mhz", "ram_booked_mb", "arrive_step", "depart_step"):
        np.testing.assert_array_equal(getattr(back, attr), getattr(tr, attr))
        assert getattr(back, attr).dtype == getattr(tr, attr).dtype
    assert back.cpu.dtype == np.float32 and back.cpu.flags.c_contiguous and back.cpu.shape == tr.cpu.shape
    assert (back.name, back.step_s, back.start_epoch_s, back.cpu_unit) == (
        tr.name,
        tr.step_s,
        tr.start_epoch_s,
        "mhz",
    )
    assert back.quirks == tr.quirks and back.provenance == tr.provenance


def test_quantization_is_idempotent_and_files_are_deterministic(tmp_path):
    once = load_compact(save(mhz_trace(), tmp_path / "a.kumo"))
    twice = load_compact(save(once, tmp_path / "b.kumo"))
    assert once.content_hash() == twice.content_hash()
    save(once, tmp_path / "c.kumo")
    assert (tmp_path / "b.kumo").read_bytes() == (tmp_path / "c.kumo").read_bytes()


def test_zlib_codec_gives_the_same_trace(tmp_path):
    tr = mhz_trace()
    a = load_compact(save(tr, tmp_path / "z.kumo", codec="zstd"))
    b = load_compact(save(tr, tmp_path / "l.kumo", codec="zlib"))
    assert a.content_hash() == b.content_hash()
    assert {s["codec"] for s in read_meta(tmp_path / "l.kumo")["arrays"].values()} == {"zlib"}
    with pytest.raises(ValueError, match="unknown codec"):
        save(tr, tmp_path / "x.kumo", codec="lz4")


def test_embedded_planetlab_day_loads_without_pyarrow():
    # the CloudSim benchmark's whole-process time counts every import: the small day is stored with zlib
    import subprocess
    import sys

    code = ("import sys; from kumo.traces import load; t = load('planetlab-20110303'); "
            "print(t.n_vms, 'pyarrow' in sys.modules, 'pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["1052", "False", "False"]


def test_percent_traces_are_exact_and_stored_as_bytes(tmp_path):
    tr = percent_trace()
    path = save(tr, tmp_path / "pl.kumo")
    back = load_compact(path)
    assert back.content_hash() == tr.content_hash() and back.ram_mb is None and back.vm_ids[3] == "host 3"
    spec = read_meta(path)["arrays"]["cpu"]
    assert (spec["dtype"], spec["scale"], spec["exact"]) == ("|u1", 100.0, True)


def test_other_fractions_use_the_fine_grid(tmp_path):
    tr = replace(percent_trace(), cpu=np.full((288, 30), 0.123456, np.float32))
    back = load_compact(save(tr, tmp_path / "f.kumo"))
    assert_close(back.cpu, tr.cpu, 1e5)


def test_negative_or_nan_arrays_are_encoded_losslessly_but_no_trace_holds_them(tmp_path):
    cpu = mhz_trace().cpu.copy()
    cpu[0, 0], cpu[1, 1] = -1.25, np.nan
    blob, spec = _codec.encode(cpu, 3, CPU_MHZ_SCALE)
    assert spec["encoding"] == "raw"
    np.testing.assert_array_equal(_codec.decode(blob, spec), cpu)
    with pytest.raises(TraceInvariantError, match="cpu"):
        save(replace(mhz_trace(), cpu=cpu), tmp_path / "n.kumo")


def test_empty_trace_round_trips(tmp_path):
    tr = mhz_trace().select(vms=np.array([], dtype=int))
    back = load_compact(save(tr, tmp_path / "e.kumo"))
    assert back.n_vms == 0 and back.n_steps == tr.n_steps


def _rewrite_meta(src: Path, dst: Path, **changes) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename == "meta.json":
                meta = json.loads(data) | changes
                data = json.dumps(meta).encode()
            zout.writestr(item, data)
    return dst


def test_unknown_version_and_bad_files_raise(tmp_path):
    good = save(percent_trace(n_steps=3, n_vms=2), tmp_path / "g.kumo")
    with pytest.raises(TraceFormatError, match=r"v2\.kumo, field 'version': unsupported \.kumo version 2"):
        load_compact(_rewrite_meta(good, tmp_path / "v2.kumo", version=2))
    with pytest.raises(TraceFormatError, match="field 'format'"):
        load_compact(_rewrite_meta(good, tmp_path / "f.kumo", format="other"))
    with pytest.raises(TraceFormatError, match="field 'cpu_unit'"):
        load_compact(_rewrite_meta(good, tmp_path / "u.kumo", cpu_unit="ghz"))
    (tmp_path / "junk.kumo").write_text("hello")
    with pytest.raises(TraceFormatError, match=r"junk\.kumo: not a \.kumo trace file"):
        load_compact(tmp_path / "junk.kumo")
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(tmp_path / "m.kumo", "w") as zout:
        for item in zin.infolist():
            if item.filename != "cores.zst":
                zout.writestr(item, zin.read(item))
    with pytest.raises(TraceFormatError, match="field 'cores'"):
        load_compact(tmp_path / "m.kumo")


# ------------------------------------------------------------------------- property: generic -> .kumo
@st.composite
def long_tables(draw):
    n_vms = draw(st.integers(1, 5))
    n_steps = draw(st.integers(1, 12))
    step = draw(st.sampled_from([60.0, 300.0, 3600.0]))
    values = st.floats(0, 1e5, allow_nan=False, width=32)
    rows = []
    for v in range(n_vms):
        a = draw(st.integers(0, n_steps - 1))
        d = draw(st.integers(a + 1, n_steps))
        for s in range(a, d):
            rows.append((f"vm{v}", 1e9 + s * step, draw(values), draw(values), draw(values)))
    return pd.DataFrame(rows, columns=["vm_id", "t_s", "cpu_mhz", "ram_mb", "net_tx_kbps"]), step


@settings(max_examples=40, deadline=None)
@given(long_tables())
def test_generic_to_compact_round_trip(table):
    frame, step = table
    with tempfile.TemporaryDirectory() as tmp:
        frame.to_csv(Path(tmp) / "t.csv", index=False)
        tr = read_generic(Path(tmp) / "t.csv", step_s=step)
        back = load_compact(save(tr, Path(tmp) / "t.kumo"))
    assert back.n_vms == tr.n_vms == frame["vm_id"].nunique() and back.n_steps == tr.n_steps
    np.testing.assert_array_equal(back.arrive_step, tr.arrive_step)
    np.testing.assert_array_equal(back.depart_step, tr.depart_step)
    assert_close(back.cpu, tr.cpu, 100)
    assert_close(back.ram_mb, tr.ram_mb, 64)
    assert_close(back.extra["net_tx_kbps"], tr.extra["net_tx_kbps"], 100)
