"""Bad input never crashes or lies (issue 15): one regression test per bug the reader fuzzing found (named
after it), values out of range in every reader, and the one-line error of the command line."""

from __future__ import annotations

import gzip
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from kumo.cli import app
from kumo.errors import TraceFormatError
from kumo.traces import load
from kumo.traces.azure import read_azure
from kumo.traces.base import MAX_VALUE, Trace, TraceInvariantError, reader
from kumo.traces.bitbrains import read_bitbrains
from kumo.traces.compact import load_compact, save
from kumo.traces.generic import read_generic
from kumo.traces.info import trace_info
from kumo.traces.materna import read_materna
from kumo.traces.opendc import read_opendc
from kumo.traces.planetlab import read_planetlab
from kumo.traces.series import read_carbon, read_failures

FIX = Path(__file__).parent / "fixtures" / "traces"
# pandas parses a damaged carbon timestamp cell by cell, and says so
pytestmark = pytest.mark.filterwarnings("ignore:Could not infer format:UserWarning")
HEADER = "vm_id,t_s,cpu_mhz,ram_mb,cores,cpu_booked_mhz"


def csv(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    f = tmp_path / name
    f.write_bytes(gzip.compress(text.encode()) if name.endswith(".gz") else text.encode())
    return f


def opendc(folder: Path, tasks: dict | None = None, fragments: dict | None = None) -> Path:
    folder.mkdir()
    t = {"id": [1, 2], "submission_time": [0, 0], "duration": [600_000, 600_000], "cpu_count": [1, 1],
         "cpu_capacity": [1000.0, 1000.0], "mem_capacity": [512.0, 512.0]} | (tasks or {})
    f = {"id": [1, 2], "duration": [600_000, 600_000], "cpu_usage": [500.0, 500.0]} | (fragments or {})
    pq.write_table(pa.table(t), folder / "tasks.parquet")
    pq.write_table(pa.table(f), folder / "fragments.parquet")
    return folder


# ----------------------------------------------------------------------------- values out of range
@pytest.mark.parametrize(("cell", "column", "words"), [
    ("1e300", "cpu_mhz", "above the limit 1e+12"),       # became inf in the float32 grid
    ("1e39", "cpu_mhz", "above the limit"),              # finite in float64, inf in float32
    ("-1e300", "cpu_mhz", "negative value"),
    ("inf", "cpu_mhz", "not a finite number"),
    ("2147483648", "cores", "above the limit 65536"),    # wrapped around in the int32 cast
    ("0", "cpu_booked_mhz", "a booking must be > 0"),    # a zero booking: every share of it infinite
    ("1.4e12", "t_s", "above the limit 1e+11"),          # milliseconds taken for seconds: year 46000
])
def test_generic_out_of_range_values_name_line_and_field(tmp_path, cell, column, words):
    cells = {"cpu_mhz": "1", "cores": "1", "cpu_booked_mhz": "2600", "t_s": "300"} | {column: cell}
    text = f"{HEADER}\na,0,1,1,1,2600\na,{cells['t_s']},{cells['cpu_mhz']},1,{cells['cores']},{cells['cpu_booked_mhz']}\n"
    with pytest.raises(TraceFormatError) as err:
        read_generic(csv(tmp_path, text))
    assert (err.value.line, err.value.field) == (3, column) and words in err.value.reason


def test_integer_of_400_digits_is_out_of_range_not_an_overflow_error(tmp_path):
    # pandas.to_numeric(errors="coerce") raises OverflowError on it instead of coercing
    huge = "9" * 400
    with pytest.raises(TraceFormatError, match="not a finite number") as err:
        read_generic(csv(tmp_path, f"vm_id,t_s,cpu_mhz,ram_mb\na,0,1,1\na,300,{huge},1\n"))
    assert (err.value.line, err.value.field) == (3, "cpu_mhz")
    with pytest.raises(TraceFormatError, match="carbon_intensity must be"):
        read_carbon(csv(tmp_path, f"timestamp,carbon_intensity\n2024-01-01T00:00Z,{huge}\n", "c.csv"))


def test_generic_tiny_step_overflowing_the_grid_is_named(tmp_path):
    # step 1e-300 s: the slot numbers overflowed int64 (a RuntimeWarning and a wrong "off the grid" error)
    with pytest.raises(TraceFormatError, match="too large") as err:
        read_generic(csv(tmp_path, "vm_id,t_s,cpu_mhz,ram_mb\na,0,1,1\na,1e-300,1,1\na,5,1,1\n"))
    assert err.value.field == "t_s"


@pytest.mark.parametrize(("column", "cell", "words"), [
    (3, "1e300", "above the limit 1e+12"), (1, "70000", "above the limit 65536"), (0, "1e15", "above the limit"),
])
def test_bitbrains_out_of_range_values_name_line_and_field(tmp_path, column, cell, words):
    folder = tmp_path / "bb"
    shutil.copytree(FIX / "bitbrains-mini", folder)
    lines = (folder / "1.csv").read_text().splitlines()
    cells = lines[2].split(";")
    cells[column] = "\t" + cell
    lines[2] = ";".join(cells)
    (folder / "1.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(TraceFormatError) as err:
        read_bitbrains(folder)
    assert err.value.line == 3 and words in err.value.reason and err.value.path.endswith("1.csv")


def test_materna_out_of_range_value_names_line_and_field(tmp_path):
    folder = tmp_path / "ma"
    shutil.copytree(FIX / "materna-mini", folder)
    lines = (folder / "01.csv").read_text().splitlines()
    lines[2] = lines[2].replace(";100,25;", ";1e300;", 1).replace(";110,25;", ";1e300;", 1)
    (folder / "01.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(TraceFormatError, match="above the limit") as err:
        read_materna(folder)
    assert err.value.line == 3 and err.value.field == "CPU usage [MHZ]"


@pytest.mark.parametrize(("member", "text", "line", "field", "words"), [
    ("vm_cpu_readings-file-2-of-2.csv.gz", "900,vmC,10,80,1e300\n", 1, "avgcpu", "above the limit"),
    ("vmtable.csv.gz", "vmA,s,d,0,1200,90,40,80,I,0,4\n", 1, "vmcorecount", "must be > 0"),
    ("vmtable.csv.gz", "vmA,s,d,0,1200,90,40,80,I,99999999,4\n", 1, "vmcorecount", "<= 65536"),
    ("vmtable.csv.gz", "vmA,s,d,0,1e12,90,40,80,I,2,4\n", 1, "vmdeleted", "above 1e+11"),
])
def test_azure_out_of_range_values_name_line_and_field(tmp_path, member, text, line, field, words):
    folder = tmp_path / "az"
    shutil.copytree(FIX / "azure-v1", folder)
    (folder / member).write_bytes(gzip.compress(text.encode()))
    with pytest.raises(TraceFormatError) as err:
        read_azure(folder)
    assert (err.value.line, err.value.field) == (line, field) and words in err.value.reason


@pytest.mark.parametrize(("which", "change", "field", "words"), [
    ("fragments", {"cpu_usage": [500.0, 1e300]}, "cpu_usage", "row 2: value 1e+300 above the limit"),
    ("tasks", {"submission_time": [0, 2**62]}, "submission_time", "above the limit"),
    ("tasks", {"cpu_capacity": [1000.0, 0.0]}, "cpu_capacity", "row 2: zero value"),
    ("tasks", {"cpu_count": [1, 10**9]}, "cpu_count", "above the limit 65536"),
])
def test_opendc_out_of_range_values_name_row_and_field(tmp_path, which, change, field, words):
    folder = opendc(tmp_path / "odc", **{which: change})
    with pytest.raises(TraceFormatError) as err:
        read_opendc(folder)
    assert err.value.field == field and words in err.value.reason and err.value.path.endswith(f"{which}.parquet")


def test_failure_series_out_of_range_interval_is_named(tmp_path):
    f = csv(tmp_path, "failure_interval,failure_duration,failure_intensity\n1e300,1000,0.5\n", "f.csv")
    with pytest.raises(TraceFormatError, match="failure_interval must be") as err:
        read_failures(f)
    assert err.value.line == 2


def test_failure_trace_of_a_millisecond_looped_over_the_run_is_refused_not_a_hang(tmp_path):
    from kumo.errors import ConfigError
    from kumo.models.replication import FailureModel

    f = csv(tmp_path, "failure_interval,failure_duration,failure_intensity\n0,1,0.5\n", "f.csv")
    with pytest.raises(ConfigError, match="repeats every 0.001 s"):  # 3.6 million bursts in an hour
        FailureModel(kind="bursts", source=str(f)).timeline(np.random.default_rng(0), 3600.0, 4)


def test_every_reader_checks_the_trace_it_returns(tmp_path):
    @reader
    def read_nan(path: Path) -> Trace:
        tr = read_generic(FIX / "generic-mini.csv")
        tr.cpu[0, 0] = np.nan  # what a reader's bug would hand out
        return tr

    with pytest.raises(TraceFormatError, match=r"x\.csv, field 'cpu': values must be finite"):
        read_nan(tmp_path / "x.csv")
    tr = read_generic(FIX / "generic-mini.csv")
    with pytest.raises(TraceInvariantError, match="arrive_step"):
        Trace(**{**tr.__dict__, "depart_step": tr.arrive_step - 1})  # arrive > depart is never a Trace
    tr.ram_mb[0, 0] = MAX_VALUE * 10
    with pytest.raises(TraceInvariantError, match="ram_mb"):
        save(tr, tmp_path / "t.kumo")  # nor written


# ----------------------------------------------------------------------------- crashes found by fuzzing
def test_generic_ragged_row_parser_error_is_one_line_naming_the_line(tmp_path):
    # pandas' message ends with a newline: the CLI printed two lines, and the line number was only in the text
    with pytest.raises(TraceFormatError) as err:
        read_generic(csv(tmp_path, "vm_id,t_s,cpu_mhz,ram_mb\na,0,1,1\na,300,1,1,9\n"))
    assert err.value.line == 3 and "\n" not in str(err.value)


def zlib_damaged(text: str) -> bytes:
    """``text`` gzipped, with the first byte flip that makes the deflate stream itself invalid (zlib.error)."""
    import zlib

    body = gzip.compress(text.encode(), mtime=0)
    for at in range(20, len(body) - 8):
        bad = body[:at] + bytes([body[at] ^ 0xFF]) + body[at + 1:]
        try:
            gzip.decompress(bad)
        except zlib.error:
            return bad
        except (OSError, EOFError):
            continue
    raise AssertionError("no flip gives a zlib.error")


@pytest.mark.parametrize("fmt", ["generic", "bitbrains", "azure"])
def test_corrupt_gzip_zlib_error_is_named(tmp_path, fmt):
    # a damaged deflate stream raises zlib.error (neither EOFError nor OSError): it escaped the readers
    if fmt == "generic":
        rows = "".join(f"v{i % 3},{300 * (i // 3)},1,1\n" for i in range(3000))
        target = tmp_path / "t.csv.gz"
        target.write_bytes(zlib_damaged("vm_id,t_s,cpu_mhz,ram_mb\n" + rows))
        bad_file = target
    elif fmt == "bitbrains":
        target = tmp_path / "bb"
        shutil.copytree(FIX / "bitbrains-mini", target)
        text = (FIX / "bitbrains-mini" / "1.csv").read_text()
        bad_file = target / "2.csv.gz"
        bad_file.write_bytes(zlib_damaged(text + "".join(text.splitlines(keepends=True)[1:]) * 50))
    else:
        target = tmp_path / "az"
        shutil.copytree(FIX / "azure-v1", target)
        bad_file = target / "vm_cpu_readings-file-2-of-2.csv.gz"
        bad_file.write_bytes(zlib_damaged("".join(f"{300 * i},vmC,1,2,1\n" for i in range(3000))))
    with pytest.raises(TraceFormatError) as err:
        load(target)
    assert err.value.path == str(bad_file)


def test_opendc_no_fragment_of_a_selected_task_gives_zero_demand_not_index_error(tmp_path):
    folder = opendc(tmp_path / "odc", fragments={"id": [7, 8]})  # fragments of unknown tasks only
    tr = read_opendc(folder)
    assert tr.n_vms == 2 and not tr.cpu.any() and tr.quirks["fragments_of_unknown_tasks"] == 2


def test_opendc_nan_task_id_is_a_missing_value(tmp_path):
    folder = opendc(tmp_path / "odc", tasks={"id": [1.0, float("nan")]})
    with pytest.raises(TraceFormatError, match="row 2: missing value") as err:
        read_opendc(folder)
    assert err.value.field == "id"


def _parquet_with_bad_utf8(path: Path, column: str, others: dict) -> None:
    text = pa.array([b"\xff.0", b"1"], pa.binary()).cast(pa.string(), safe=False)  # not UTF-8, unchecked
    pq.write_table(pa.table({column: text, **others}), path)


def test_parquet_text_that_is_not_utf8_is_named_not_an_arrow_exception(tmp_path):
    f = tmp_path / "f.parquet"
    _parquet_with_bad_utf8(f, "failure_interval", {"failure_duration": [1.0, 1.0], "failure_intensity": [0.5, 0.5]})
    with pytest.raises(TraceFormatError, match="cannot read as Parquet"):
        read_failures(f)
    g = tmp_path / "g.parquet"
    _parquet_with_bad_utf8(g, "vm_id", {"t_s": [0, 300], "cpu_mhz": [1.0, 1.0], "ram_mb": [1.0, 1.0]})
    with pytest.raises(TraceFormatError, match="cannot read as Parquet"):
        read_generic(g)
    folder = opendc(tmp_path / "odc")
    _parquet_with_bad_utf8(folder / "fragments.parquet", "id", {"duration": [1, 1], "cpu_usage": [1.0, 1.0]})
    with pytest.raises(TraceFormatError, match="cannot read as Parquet"):
        read_opendc(folder)


def _rewrite_kumo(src: Path, dst: Path, meta_change=None, member=None, data=b"") -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            raw = zin.read(item)
            if item.filename == "meta.json" and meta_change:
                meta = json.loads(raw)
                meta_change(meta)
                raw = json.dumps(meta).encode()
            if item.filename == member:
                raw = data
            zout.writestr(item, raw)
    return dst


@pytest.mark.parametrize(("change", "field"), [
    (lambda m: m.update(step_s=None), "step_s"),                          # TypeError in float()
    (lambda m: m.update(quirks=None), "quirks"),                          # AttributeError on .items()
    (lambda m: m.update(vm_ids=["web-1", "web-1"]), "vm_ids"),            # two VMs of one name
    (lambda m: m["arrays"]["cpu"].update(raw_bytes=2**60), "cpu"),        # would allocate an exabyte
    (lambda m: m["arrays"]["cores"].update(dtype="|O"), "cores"),         # an object array from bytes
    (lambda m: m["arrays"]["cpu"].update(shape=[2, 2]), "cpu"),           # another shape than the grid
    (lambda m: m["arrays"]["cpu"].update(scale="x"), "cpu"),
])
def test_compact_damaged_meta_is_named_not_a_python_error(tmp_path, change, field):
    src = save(read_generic(FIX / "generic-mini.csv"), tmp_path / "ok.kumo", codec="zlib")
    bad = _rewrite_kumo(src, tmp_path / "bad.kumo", meta_change=change)
    with pytest.raises(TraceFormatError) as err:
        load_compact(bad)
    assert err.value.field == field and err.value.path == str(bad)


@pytest.mark.parametrize("codec", ["zstd", "zlib"])
def test_compact_damaged_member_is_named_not_a_codec_error(tmp_path, codec):
    src = save(read_generic(FIX / "generic-mini.csv"), tmp_path / "ok.kumo", codec=codec)
    with zipfile.ZipFile(src) as zf:
        blob = zf.read("cpu.zst")
    for data in (blob[: len(blob) // 2], b"\x00" * len(blob), blob + b"junk"):
        bad = _rewrite_kumo(src, tmp_path / "bad.kumo", member="cpu.zst", data=data)
        with pytest.raises(TraceFormatError, match="array 'cpu' cannot be decoded"):
            load_compact(bad)


def test_carbon_empty_timestamp_is_named_not_a_cast_warning(tmp_path):
    f = csv(tmp_path, "timestamp,carbon_intensity\n2024-01-01T00:00Z,1\n,2\n", "c.csv")
    with pytest.raises(TraceFormatError, match="missing timestamp") as err:
        read_carbon(f)
    assert err.value.line == 3


def test_carbon_numeric_timestamps_are_refused_not_read_as_nanoseconds(tmp_path):
    f = csv(tmp_path, "timestamp,carbon_intensity\n0,1\n3600,2\n", "c.csv")
    with pytest.raises(TraceFormatError, match="timestamps must be times"):
        read_carbon(f)


def test_carbon_timestamp_of_year_minus_one_is_named_not_out_of_bounds_datetime(tmp_path):
    f = csv(tmp_path, "timestamp,carbon_intensity\n-1,1\n2024-01-01T01:00Z,2\n", "c.csv")
    with pytest.raises(TraceFormatError, match="timestamps out of range"):
        read_carbon(f)


def test_planetlab_line_of_thousands_of_digits_is_out_of_range_not_a_value_error(tmp_path):
    folder = tmp_path / "pl"
    shutil.copytree(FIX / "planetlab-mini", folder)
    lines = (folder / "host a_slice").read_text().splitlines()
    lines[1] = "9" * 5000  # int() refuses strings above 4,300 digits; 20 digits overflowed int64
    (folder / "host a_slice").write_text("\n".join(lines) + "\n")
    with pytest.raises(TraceFormatError, match=r"CPU percentage 9{20}\.\.\. outside 0\.\.100") as err:
        read_planetlab(folder)
    assert err.value.line == 2


def test_trace_info_of_a_valid_trace_never_fails_on_its_dates(tmp_path):
    # t_s up to the limit (1e11 s, the year 5138) is a date trace_info can print
    tr = read_generic(csv(tmp_path, "vm_id,t_s,cpu_mhz,ram_mb\na,99999999000,1,1\na,99999999300,1,1\n"))
    assert trace_info(tr)["end_utc"].startswith("5138-")


# ----------------------------------------------------------------------------- the command line
@pytest.mark.parametrize("bad", ["truncated", "huge"])
def test_cli_bad_trace_is_one_error_line_naming_the_file(tmp_path, bad, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if bad == "truncated":
        body = gzip.compress(("vm_id,t_s,cpu_mhz,ram_mb\n" + "".join(
            f"v{i % 50},{300 * (i // 50)},1,1\n" for i in range(100_000))).encode(), compresslevel=1)
        Path("t.csv.gz").write_bytes(body[: len(body) // 2])
        name = "t.csv.gz"
    else:
        Path("t.csv").write_text("vm_id,t_s,cpu_mhz,ram_mb\na,0,1e300,1\na,300,1,1\n")
        name = "t.csv"
    Path("s.toml").write_text(f'name = "s"\n[trace]\nsource = "{name}"\n'
                              "[[hosts]]\ncount = 1\ncores = 4\ncore_mhz = 2000\nram_mb = 8192\n")
    runner = CliRunner()
    for args in (["trace", "info", name], ["trace", "convert", name, "o.kumo"], ["run", "--trace", name, "-q"],
                 ["run", "s.toml", "-q"]):
        res = runner.invoke(app, args)
        lines = res.output.strip().splitlines()
        assert res.exit_code == 2 and len(lines) == 1 and lines[0].startswith(f"error: {name}"), (args, res.output)
        assert "Aborted" not in res.output
    res = runner.invoke(app, ["check", "s.toml"])  # a ConfigError: its issue names the file on one line
    assert res.exit_code == 2 and f"trace.source: {name}" in res.output and "Aborted" not in res.output
