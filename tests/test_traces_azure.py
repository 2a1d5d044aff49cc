"""Azure Public Dataset reader (V1 and V2 schemas): lifetimes, sizes, CPU statistics, fill, selection,
streaming in blocks, and located errors. Expected grids are written out by hand from the fixture files."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from kumo.cli import app
from kumo.errors import TraceFormatError
from kumo.traces import _csvstream, load
from kumo.traces.azure import read_azure

FIX = Path(__file__).parent / "fixtures" / "traces"
V1, V2 = FIX / "azure-v1", FIX / "azure-v2"
SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "azure-sample"


def test_v1_lifetimes_sizes_and_average_cpu():
    tr = load(V1)
    assert tr.provenance["format"] == "azure" and tr.name == "azure-v1"
    # arrival order: vmA (created 0), vmC (300), vmB (600)
    assert tr.vm_ids.tolist() == ["vmA", "vmC", "vmB"]
    assert tr.arrive_step.tolist() == [0, 1, 2] and tr.depart_step.tolist() == [5, 9, 4] and tr.n_steps == 9
    assert tr.cores.tolist() == [2, 4, 1] and tr.cpu_booked_mhz.tolist() == [5200, 10400, 2600]
    assert tr.ram_booked_mb.tolist() == [4096, 8192, 1792] and tr.ram_mb is None
    # percent x cores x 2600 MHz / 100; slots of the life without a reading take the vmtable's avg
    want_a = np.array([30, 40, 20, 40, 40, 0, 0, 0, 0]) * 52
    want_c = np.array([0, 60, 50, 40, 30, 50, 50, 50, 10]) * 104
    want_b = np.array([0, 0, 20, 20, 0, 0, 0, 0, 0]) * 26
    assert np.allclose(tr.cpu, np.stack([want_a, want_c, want_b], axis=1), rtol=1e-6)
    q = tr.quirks
    assert (q["vms_read"], q["readings_read"], q["readings_not_selected"], q["readings_outside_life"]) == (3, 11, 1, 1)
    assert (q["slots_without_reading"], q["vms_without_readings"], q["duplicate_readings"]) == (6, 0, 0)
    assert q["open_core_buckets"] == 0


def test_max_p95_and_zero_fill():
    mx = read_azure(V1, cpu="max")
    assert mx.cpu[:5, 0].tolist() == pytest.approx(np.array([60, 90, 50, 90, 90]) * 52)
    p95 = read_azure(V1, cpu="p95")  # the 5-minute max capped at the VM's p95 of maxima (80 for vmA)
    assert p95.cpu[:5, 0].tolist() == pytest.approx(np.array([60, 80, 50, 80, 80]) * 52)
    zero = read_azure(V1, fill="zero")
    assert zero.cpu[:5, 0].tolist() == pytest.approx(np.array([30, 40, 20, 0, 0]) * 52)


def test_v2_open_buckets_read_as_their_bound():
    tr = read_azure(V2)
    assert tr.cores.tolist() == [2, 8, 24] and tr.ram_booked_mb.tolist() == [4096, 32768, 65536]
    assert tr.quirks["open_core_buckets"] == 1 and tr.quirks["open_memory_buckets"] == 1


def test_coarser_step_is_the_time_weighted_mean_of_slots():
    tr = read_azure(V1, step_s=600)
    # vmA lives [0, 1500): cells (30+40)/2, (20+40)/2, then 40 over 300 of 600 s
    assert tr.cpu[:3, 0].tolist() == pytest.approx(np.array([35, 30, 20]) * 52)
    assert tr.arrive_step[0] == 0 and tr.depart_step[0] == 3
    # the integral of CPU over time is the same as at 300 s
    fine = read_azure(V1)
    assert tr.cpu.sum(dtype=np.float64) * 600 == pytest.approx(fine.cpu.sum(dtype=np.float64) * 300, rel=1e-6)


def test_window_and_max_vms():
    tr = read_azure(V1, window="600s:1800s")
    assert tr.n_steps == 4 and tr.vm_ids.tolist() == ["vmA", "vmC", "vmB"]
    assert tr.arrive_step.tolist() == [0, 0, 0] and tr.depart_step.tolist() == [3, 4, 2]
    assert tr.cpu[:, 0].tolist() == pytest.approx(np.array([20, 40, 40, 0]) * 52)
    assert tr.quirks["readings_outside_window"] == 5
    first = read_azure(V1, max_vms=2)
    assert first.vm_ids.tolist() == ["vmA", "vmC"] and first.quirks["vms_beyond_max_vms"] == 1


def test_subscription_sample_is_seeded_and_order_free(tmp_path):
    picks = {seed: tuple(read_azure(V1, sample_subscriptions=0.5, seed=seed).vm_ids.tolist())
             for seed in range(12) if _has_vms(seed)}
    assert len(set(picks.values())) > 1  # different seeds, different subscriptions
    seed, ids = next(iter(picks.items()))
    assert tuple(read_azure(V1, sample_subscriptions=0.5, seed=seed).vm_ids.tolist()) == ids
    # the same subscriptions are kept when the vmtable lines come in another order
    lines = gzip.decompress((V1 / "vmtable.csv.gz").read_bytes()).decode().splitlines()
    folder = tmp_path / "shuffled"
    shutil.copytree(V1, folder)
    (folder / "vmtable.csv.gz").write_bytes(gzip.compress(("\n".join(lines[::-1]) + "\n").encode()))
    assert sorted(read_azure(folder, sample_subscriptions=0.5, seed=seed).vm_ids.tolist()) == sorted(ids)
    assert read_azure(V1, sample_subscriptions=1.0).n_vms == 3


def _has_vms(seed: int) -> bool:
    try:
        read_azure(V1, sample_subscriptions=0.5, seed=seed)
        return True
    except TraceFormatError:
        return False


def test_reading_in_small_blocks_gives_the_same_trace(monkeypatch):
    whole = read_azure(V1)
    monkeypatch.setattr(_csvstream, "BLOCK_BYTES", 40)
    monkeypatch.setattr(_csvstream.batches, "__defaults__", (40,))
    small = read_azure(V1)
    assert np.array_equal(whole.cpu, small.cpu) and whole.quirks == small.quirks


def _copy(tmp_path: Path, vmtable: str | None = None, readings: str | None = None, raw: bytes | None = None) -> Path:
    folder = tmp_path / "az"
    shutil.copytree(V1, folder)
    if vmtable is not None:
        (folder / "vmtable.csv.gz").write_bytes(gzip.compress(vmtable.encode()))
    if readings is not None:
        (folder / "vm_cpu_readings-file-2-of-2.csv.gz").write_bytes(gzip.compress(readings.encode()))
    if raw is not None:
        (folder / "vm_cpu_readings-file-2-of-2.csv.gz").write_bytes(raw)
    return folder


@pytest.mark.parametrize(("readings", "line", "field", "words"), [
    ("900,vmC,10,80,40\n1200,vmC,5,nan,30\n", 2, "maxcpu", "not a number: 'nan'"),
    ("900,vmC,10,80,-4\n", 1, "avgcpu", "negative value -4"),
    ("900,vmC,10,80,40\n1200,vmC,5,abc,30\n", 2, "maxcpu", "not a number: 'abc'"),
    ("900,vmC,10,80,40\n1200,vmC,5,30\n", 2, None, "expected 5 fields, found 4"),
    ("900,vmC,10,80,40\n1200,vmC,5,,30\n", 2, "maxcpu", "missing value"),
])
def test_bad_readings_name_file_line_and_field(tmp_path, readings, line, field, words):
    folder = _copy(tmp_path, readings=readings)
    with pytest.raises(TraceFormatError) as err:
        read_azure(folder)
    e = err.value
    assert e.path.endswith("vm_cpu_readings-file-2-of-2.csv.gz") and e.line == line and e.field == field
    assert words in e.reason


def test_truncated_gzip_is_named(tmp_path):
    body = gzip.compress(("".join(f"{300 * i},vmC,1,2,1\n" for i in range(4000))).encode())
    folder = _copy(tmp_path, raw=body[: len(body) // 2])
    with pytest.raises(TraceFormatError, match=r"file-2-of-2\.csv\.gz: the file ends early or is corrupt"):
        read_azure(folder)


@pytest.mark.parametrize(("vmtable", "line", "field", "words"), [
    ("vmA,s,d,0,1200,90,40,80,I,2,4\nvmB,s,d,600,300,50,20,45,I,1,2\n", 2, "vmdeleted", "before created"),
    ("vmA,s,d,0,1200,90,40,80,I,2,4\nvmA,s,d,0,300,50,20,45,I,1,2\n", 2, "vmid", "appears twice"),
    ("vmA,s,d,0,1200,90,40,80,I,two,4\n", 1, "vmcorecount", "not a size or bucket: 'two'"),
    ("vmA,s,d,0,1200,90,-40,80,I,2,4\n", 1, "avgcpu", "negative value -40"),
    ("vmA,s,d,0,1200,90,40,80,I,2\n", 1, None, "expected 11 fields, found 10"),
])
def test_bad_vmtable_names_line_and_field(tmp_path, vmtable, line, field, words):
    with pytest.raises(TraceFormatError) as err:
        read_azure(_copy(tmp_path, vmtable=vmtable))
    assert (err.value.line, err.value.field) == (line, field) and words in err.value.reason
    assert err.value.path.endswith("vmtable.csv.gz")


def test_missing_files_and_bad_options(tmp_path):
    folder = _copy(tmp_path)
    for f in folder.glob("vm_cpu_readings*"):
        f.unlink()
    with pytest.raises(TraceFormatError, match="no vm_cpu_readings-file"):
        read_azure(folder)
    (folder / "vmtable.csv.gz").unlink()
    with pytest.raises(TraceFormatError, match="no vmtable"):
        read_azure(folder)
    with pytest.raises(TraceFormatError, match="multiple of 300 s"):
        read_azure(V1, step_s=450)
    with pytest.raises(TraceFormatError, match="cpu must be one of avg, max, p95"):
        read_azure(V1, cpu="median")
    with pytest.raises(TraceFormatError, match="window: need 0 <= start < end"):
        read_azure(V1, window="5:1")
    with pytest.raises(TraceFormatError, match="above max_cells=10"):
        read_azure(V1, max_cells=10)
    with pytest.raises(TraceFormatError, match="takes no option 'window'"):
        load(FIX / "generic-mini.csv", window="0:1")


@pytest.mark.skipif(not SAMPLE.is_dir(), reason="needs ../shared/data/azure-sample (the real 10-VM V1 sample)")
def test_real_v1_sample():
    tr = read_azure(SAMPLE)
    assert (tr.n_vms, tr.n_steps) == (10, 8640)
    # the sample's 100 readings are of 100 other VMs: every slot is filled from the vmtable's avg
    q = tr.quirks
    assert (q["readings_read"], q["readings_not_selected"], q["vms_without_readings"]) == (100, 100, 10)
    life = (tr.depart_step - tr.arrive_step).astype(np.float64)
    assert q["slots_without_reading"] == int(life.sum())
    rows = [line.split(",") for line in gzip.decompress((SAMPLE / "vmtable.csv.gz").read_bytes()).decode().split()]
    avg = {r[0]: float(r[6]) for r in rows}
    cores = {r[0]: int(r[9]) for r in rows}
    mean = tr.cpu.sum(axis=0, dtype=np.float64) / life
    want = [avg[v] / 100 * cores[v] * 2600 for v in tr.vm_ids]
    assert mean.tolist() == pytest.approx(want, rel=1e-6)


def test_cli_info_convert_and_run_take_the_options(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["trace", "info", str(V1), "--max-vms", "2", "--cpu", "max", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert '"vms": 2' in res.output and '"cpu": "max"' in res.output
    out = tmp_path / "az.kumo"
    res = runner.invoke(app, ["trace", "convert", str(V1), str(out), "--window", "0:0.25", "--step", "600"])
    assert res.exit_code == 0, res.output
    tr = load(out)
    assert (tr.n_vms, tr.n_steps, tr.step_s) == (3, 2, 600)
    res = runner.invoke(app, ["run", "--trace", str(V1), "--format", "json", "-q"])
    assert res.exit_code == 0, res.output
    assert '"vms": 3' in res.output
    res = runner.invoke(app, ["trace", "info", str(V1), "--sample-subscriptions", "2"])
    assert res.exit_code == 2 and "sample_subscriptions must be in (0, 1]" in res.output


def test_read_ahead_keeps_order_errors_and_stops_when_closed():
    import threading

    from kumo.traces._csvstream import _read_ahead

    def items():
        yield from range(5)
        raise ValueError("bad block")

    got = []
    with pytest.raises(ValueError, match="bad block"):
        for x in _read_ahead(items(), depth=1):
            got.append(x)
    assert got == [0, 1, 2, 3, 4]  # every item before the error, in order
    before = threading.active_count()
    gen = _read_ahead(iter(range(10**6)), depth=2)
    assert next(gen) == 0
    gen.close()  # a caller that stops early (an error in a block) leaves no thread behind
    assert threading.active_count() <= before
