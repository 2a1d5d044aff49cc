"""Fuzzing every trace reader with hypothesis: random bytes, and structured mutations of a small valid file
(drop, duplicate or swap columns, replace a cell with garbage, a huge, negative or NaN number or nothing,
shuffle, drop or duplicate rows, cut the file, flip bytes of the text, the gzip or the Parquet).

The property (issue 15): the outcome is a valid Trace (every invariant of :func:`fuzzing.assert_valid`) or a
TraceFormatError whose one-line message names the file. Any other exception, or a RuntimeWarning, fails.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from fuzzing import (
    BYTE_OPS,
    FUZZ,
    TABLE_OPS,
    assert_valid,
    gz,
    mutate_bytes,
    mutate_table,
    outcome,
    parse_csv,
    to_parquet,
    to_text,
    workdir,
)
from hypothesis import given
from hypothesis import strategies as st

from kumo.traces.azure import read_azure
from kumo.traces.bitbrains import read_bitbrains
from kumo.traces.compact import load_compact, save
from kumo.traces.generic import read_generic
from kumo.traces.materna import read_materna
from kumo.traces.opendc import read_opendc
from kumo.traces.planetlab import read_planetlab
from kumo.traces.series import read_carbon, read_failures

FIX = Path(__file__).parent / "fixtures" / "traces"
# pandas parses a damaged carbon timestamp cell by cell, and says so
pytestmark = pytest.mark.filterwarnings("ignore:Could not infer format:UserWarning")
GENERIC = (FIX / "generic-mini.csv").read_text()
BITBRAINS = (FIX / "bitbrains-mini" / "1.csv").read_text()
MATERNA = (FIX / "materna-mini" / "01.csv").read_text()
PLANETLAB = (FIX / "planetlab-mini" / "host a_slice").read_text()
BLOB = st.binary(max_size=300)


def _table_or_bytes(draw: st.DrawFn, text: str, sep: str, header: bool = True, gzipped: bool | None = None) -> bytes:
    """A valid file's text after table and byte mutations, gzipped or not (drawn when ``gzipped`` is None)."""
    rows = mutate_table(parse_csv(text, sep), draw(TABLE_OPS), header)
    data = to_text(rows, sep)
    if gzipped if gzipped is not None else draw(st.booleans()):
        data = gz(data)
    return mutate_bytes(data, draw(BYTE_OPS))


# ------------------------------------------------------------------------------------------- generic
@FUZZ
@given(st.data(), st.booleans())
def test_generic_csv_mutations(data, gzipped):
    with workdir() as d:
        f = d / ("t.csv.gz" if gzipped else "t.csv")
        f.write_bytes(_table_or_bytes(data.draw, GENERIC, ",", gzipped=gzipped))
        tr = outcome(lambda: read_generic(f), f)
        if tr is not None:
            assert_valid(tr)


@FUZZ
@given(BLOB, st.sampled_from(["t.csv", "t.csv.gz", "t.parquet"]), st.booleans())
def test_generic_random_bytes(blob, name, gzipped):
    with workdir() as d:
        f = d / name
        f.write_bytes(gz(blob) if gzipped else blob)
        tr = outcome(lambda: read_generic(f), f)
        if tr is not None:
            assert_valid(tr)


GENERIC_TYPES = {"t_s": "int", "cores": "int"}


@FUZZ
@given(TABLE_OPS, BYTE_OPS)
def test_generic_parquet_mutations(ops, byte_ops):
    with workdir() as d:
        f = d / "t.parquet"
        f.write_bytes(mutate_bytes(to_parquet(mutate_table(parse_csv(GENERIC), ops), GENERIC_TYPES), byte_ops))
        tr = outcome(lambda: read_generic(f), f)
        if tr is not None:
            assert_valid(tr)


# ------------------------------------------------------------------------------------------- GWA
@FUZZ
@given(st.data())
def test_bitbrains_mutations(data):
    with workdir() as d:
        folder = d / "bb"
        shutil.copytree(FIX / "bitbrains-mini", folder)
        (folder / "1.csv").unlink()
        gzipped = data.draw(st.booleans())
        (folder / ("1.csv.gz" if gzipped else "1.csv")).write_bytes(
            _table_or_bytes(data.draw, BITBRAINS, ";", gzipped=gzipped))
        tr = outcome(lambda: read_bitbrains(folder), folder)
        if tr is not None:
            assert_valid(tr)


@FUZZ
@given(st.data())
def test_materna_mutations(data):
    with workdir() as d:
        folder = d / "ma"
        shutil.copytree(FIX / "materna-mini", folder)
        (folder / "01.csv").write_bytes(_table_or_bytes(data.draw, MATERNA, ";", gzipped=False))
        tr = outcome(lambda: read_materna(folder), folder)
        if tr is not None:
            assert_valid(tr)


@FUZZ
@given(BLOB, st.sampled_from(["bitbrains", "materna"]), st.booleans())
def test_gwa_random_bytes(blob, fmt, gzipped):
    with workdir() as d:
        folder = d / fmt
        folder.mkdir()
        (folder / ("1.csv.gz" if gzipped else "1.csv")).write_bytes(gz(blob) if gzipped else blob)
        read = read_bitbrains if fmt == "bitbrains" else read_materna
        tr = outcome(lambda: read(folder), folder)
        if tr is not None:
            assert_valid(tr)


# ------------------------------------------------------------------------------------------- PlanetLab
@FUZZ
@given(st.data(), BLOB)
def test_planetlab_mutations_and_bytes(data, blob):
    with workdir() as d:
        folder = d / "20110303"
        shutil.copytree(FIX / "planetlab-mini", folder)
        first = folder / "host a_slice"
        raw = data.draw(st.booleans())
        first.write_bytes(blob if raw else _table_or_bytes(data.draw, PLANETLAB, ",", header=False, gzipped=False))
        tr = outcome(lambda: read_planetlab(folder), folder)
        if tr is not None:
            assert_valid(tr)


# ------------------------------------------------------------------------------------------- OpenDC
TASKS = ("id,submission_time,duration,cpu_count,cpu_capacity,mem_capacity\n"
         "1,1699999800000,120000,2,4000,2048\n4,1699999800000,0,1,1000,512\n3,1699999830000,60000,1,1000,512\n"
         "2,1699999845000,90000,1,2000,1024\n")
FRAGMENTS = ("id,duration,cpu_usage\n1,30000,1000\n1,30000,2000\n2,60000,1200\n2,60000,600\n1,60000,4500\n"
             "4,30000,100\n99,30000,5\n")
OPENDC_TYPES = {"id": "int", "submission_time": "int", "duration": "int", "cpu_count": "int"}


def _opendc(folder: Path, tasks: str = TASKS, fragments: str = FRAGMENTS) -> None:
    folder.mkdir()
    (folder / "tasks.parquet").write_bytes(to_parquet(parse_csv(tasks), OPENDC_TYPES))
    (folder / "fragments.parquet").write_bytes(to_parquet(parse_csv(fragments), OPENDC_TYPES))


@FUZZ
@given(st.sampled_from(["tasks", "fragments"]), TABLE_OPS, BYTE_OPS, st.sampled_from([30.0, 60.0, 300.0]))
def test_opendc_mutations(which, ops, byte_ops, step_s):
    with workdir() as d:
        folder = d / "odc"
        _opendc(folder)
        text = TASKS if which == "tasks" else FRAGMENTS
        f = folder / f"{which}.parquet"
        f.write_bytes(mutate_bytes(to_parquet(mutate_table(parse_csv(text), ops), OPENDC_TYPES), byte_ops))
        tr = outcome(lambda: read_opendc(folder, step_s=step_s), folder)
        if tr is not None:
            assert_valid(tr)


@FUZZ
@given(st.sampled_from(["tasks", "fragments"]), BLOB)
def test_opendc_random_bytes(which, blob):
    with workdir() as d:
        folder = d / "odc"
        _opendc(folder)
        (folder / f"{which}.parquet").write_bytes(blob)
        tr = outcome(lambda: read_opendc(folder), folder)
        if tr is not None:
            assert_valid(tr)


# ------------------------------------------------------------------------------------------- Azure
AZURE_FILES = ("vmtable.csv.gz", "vm_cpu_readings-file-1-of-2.csv.gz", "vm_cpu_readings-file-2-of-2.csv.gz")


@FUZZ
@given(st.data(), st.sampled_from(["azure-v1", "azure-v2"]), st.sampled_from(AZURE_FILES),
       st.sampled_from(["avg", "max", "p95"]), st.sampled_from([300.0, 900.0]))
def test_azure_mutations(data, version, member, cpu, step_s):
    import gzip

    with workdir() as d:
        folder = d / version
        shutil.copytree(FIX / version, folder)
        text = gzip.decompress((folder / member).read_bytes()).decode()
        (folder / member).unlink()
        gzipped = data.draw(st.booleans())
        name = member if gzipped else member.removesuffix(".gz")
        (folder / name).write_bytes(_table_or_bytes(data.draw, text, ",", header=False, gzipped=gzipped))
        tr = outcome(lambda: read_azure(folder, cpu=cpu, step_s=step_s), folder)
        if tr is not None:
            assert_valid(tr)


@FUZZ
@given(st.sampled_from(AZURE_FILES), BLOB, st.booleans())
def test_azure_random_bytes(member, blob, gzipped):
    with workdir() as d:
        folder = d / "az"
        shutil.copytree(FIX / "azure-v1", folder)
        (folder / member).write_bytes(gz(blob) if gzipped else blob)
        tr = outcome(lambda: read_azure(folder), folder)
        if tr is not None:
            assert_valid(tr)


# ------------------------------------------------------------------------------------------- compact
JSON_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(), st.text(max_size=5),
                        st.lists(st.integers(-3, 3), max_size=3), st.dictionaries(st.text(max_size=3),
                                                                                  st.integers(), max_size=2))


def _valid_kumo(d: Path, codec: str) -> Path:
    tr = read_generic(FIX / "generic-mini.csv")
    return save(tr, d / "t.kumo", codec=codec)


def _set_path(meta: object, path: list[int], value: object) -> None:
    """Replace one value of a nested JSON document, chosen by ``path`` (indices taken modulo the sizes)."""
    node = meta
    for step, i in enumerate(path):
        if not isinstance(node, dict | list) or not node:
            return
        keys = sorted(node) if isinstance(node, dict) else list(range(len(node)))
        key = keys[i % len(keys)]
        if step == len(path) - 1 or not isinstance(node[key], dict | list):  # type: ignore[index]
            node[key] = value  # type: ignore[index]
            return
        node = node[key]  # type: ignore[index]


@FUZZ
@given(st.sampled_from(["zstd", "zlib"]), st.lists(st.integers(0, 99), min_size=1, max_size=4), JSON_VALUES,
       st.booleans(), BYTE_OPS)
def test_compact_mutations(codec, json_path, value, edit_meta, byte_ops):
    with workdir() as d:
        f = _valid_kumo(d, codec)
        if edit_meta:
            with zipfile.ZipFile(f) as zf:
                members = {n: zf.read(n) for n in zf.namelist()}
            meta = json.loads(members["meta.json"])
            _set_path(meta, json_path, value)
            members["meta.json"] = json.dumps(meta).encode()
            with zipfile.ZipFile(f, "w") as zf:
                for n, b in members.items():
                    zf.writestr(n, b)
        f.write_bytes(mutate_bytes(f.read_bytes(), byte_ops))
        tr = outcome(lambda: load_compact(f), f)
        if tr is not None:
            assert_valid(tr, zero_outside_life=False)  # bytes are data: a flipped arrival is a valid trace


@FUZZ
@given(BLOB)
def test_compact_random_bytes(blob):
    with workdir() as d:
        f = d / "t.kumo"
        f.write_bytes(blob)
        tr = outcome(lambda: load_compact(f), f)
        if tr is not None:
            assert_valid(tr, zero_outside_life=False)


# ------------------------------------------------------------------------------------------- series
CARBON = "timestamp,carbon_intensity\n2024-01-01T00:00Z,100\n2024-01-01T01:00Z,200\n2024-01-01T02:00Z,150\n"
FAILURES = ("failure_interval,failure_duration,failure_intensity\n3600000,600000,0.5\n7200000,1200000,1.0\n"
            "60000,60000,0.25\n")


def _series_file(d: Path, text: str, ops: list, byte_ops: list, parquet: bool) -> Path:
    rows = mutate_table(parse_csv(text), ops)
    f = d / ("s.parquet" if parquet else "s.csv")
    f.write_bytes(mutate_bytes(to_parquet(rows) if parquet else to_text(rows, ","), byte_ops))
    return f


@FUZZ
@given(TABLE_OPS, BYTE_OPS, st.booleans())
def test_carbon_series_mutations(ops, byte_ops, parquet):
    with workdir() as d:
        f = _series_file(d, CARBON, ops, byte_ops, parquet)
        got = outcome(lambda: read_carbon(f), f)
        if got is not None:
            _, epoch, step, g = got
            assert np.isfinite(epoch) and np.isfinite(step) and step > 0
            assert g.ndim == 1 and len(g) >= 1 and np.isfinite(g).all() and (g >= 0).all()


@FUZZ
@given(TABLE_OPS, BYTE_OPS, st.booleans())
def test_failure_series_mutations(ops, byte_ops, parquet):
    with workdir() as d:
        f = _series_file(d, FAILURES, ops, byte_ops, parquet)
        got = outcome(lambda: read_failures(f), f)
        if got is not None:
            _, interval, duration, intensity = got
            assert len(interval) == len(duration) == len(intensity) >= 1
            assert np.isfinite(interval).all() and (interval >= 0).all()
            assert np.isfinite(duration).all() and (duration > 0).all()
            assert ((intensity > 0) & (intensity <= 1)).all()


@FUZZ
@given(BLOB, st.sampled_from(["s.csv", "s.parquet"]), st.sampled_from(["carbon", "failures"]))
def test_series_random_bytes(blob, name, kind):
    with workdir() as d:
        f = d / name
        f.write_bytes(blob)
        outcome(lambda: (read_carbon if kind == "carbon" else read_failures)(f), f)
