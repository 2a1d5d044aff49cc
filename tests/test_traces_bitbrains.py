"""Bitbrains reader: one tiny folder per repair rule and per error, written in tmp_path."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from kumo.errors import TraceFormatError
from kumo.traces.bitbrains import read_bitbrains

HEADER = [
    "Timestamp [ms]",
    "CPU cores",
    "CPU capacity provisioned [MHZ]",
    "CPU usage [MHZ]",
    "CPU usage [%]",
    "Memory capacity provisioned [KB]",
    "Memory usage [KB]",
    "Disk read throughput [KB/s]",
    "Disk write throughput [KB/s]",
    "Network received throughput [KB/s]",
    "Network transmitted throughput [KB/s]",
]
T0 = 1_372_629_804  # 2013-06-30 22:03:24 UTC, the first Rnd timestamp


def row(t, cores=2, cap=5200.0, use=100.0, mem=4194304.0, memu=1048576.0, dr=1.0, dw=2.0, rx=3.0, tx=4.0):
    """One data row as a list of cells (CPU % is derived; the reader ignores it)."""
    pct = 100.0 * use / cap if cap else 0.0
    return [t, cores, cap, use, pct, mem, memu, dr, dw, rx, tx]


def write_vm(folder: Path, stem: str, rows, header=HEADER, gz=False, sep=";\t") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = sep.join(header) + "\n" + "".join(sep.join(map(str, r)) + "\n" for r in rows)
    if gz:
        path = folder / f"{stem}.csv.gz"
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path = folder / f"{stem}.csv"
        path.write_text(text)
    return path


def steady(n, start=T0, **kw):
    return [row(start + 300 * i, **kw) for i in range(n)]


def test_values_units_and_bookings(tmp_path):
    write_vm(
        tmp_path,
        "1",
        [row(T0, use=100.0, memu=2048.0, dr=1.5, dw=2.5, rx=3.5, tx=4.5), row(T0 + 300, use=200.0)],
    )
    tr = read_bitbrains(tmp_path)
    assert (tr.n_steps, tr.n_vms, tr.step_s, tr.start_epoch_s) == (2, 1, 300.0, T0)
    assert tr.cpu.dtype == np.float32 and tr.cpu[:, 0].tolist() == [100.0, 200.0]
    assert tr.ram_mb[0, 0] == 2.0  # 2048 KB / 1024
    assert [
        tr.extra[k][0, 0] for k in ("disk_read_kbps", "disk_write_kbps", "net_rx_kbps", "net_tx_kbps")
    ] == [
        1.5,
        2.5,
        3.5,
        4.5,
    ]
    assert (tr.cores[0], tr.cpu_booked_mhz[0], tr.ram_booked_mb[0]) == (2, 5200.0, 4096.0)
    assert tr.cpu_unit == "mhz" and tr.provenance["format"] == "bitbrains"
    assert tr.quirks["timestamps_seconds_under_ms_header"] == 1 and tr.quirks["rows_read"] == 2


def test_vm_order_is_numeric_and_gzip_is_read(tmp_path):
    for stem in ("10", "2", "1"):
        write_vm(tmp_path, stem, steady(2), gz=stem == "2")
    tr = read_bitbrains(tmp_path, name="x")
    assert tr.vm_ids.tolist() == ["1", "2", "10"] and tr.name == "x"


def test_millisecond_timestamps_are_divided(tmp_path):
    write_vm(tmp_path, "1", [row(T0 * 1000), row((T0 + 300) * 1000, use=7.0)])
    tr = read_bitbrains(tmp_path)
    assert tr.start_epoch_s == T0 and tr.cpu[1, 0] == 7.0
    assert tr.quirks["timestamps_ms_converted"] == 1 and tr.quirks["timestamps_seconds_under_ms_header"] == 0


def test_duplicate_timestamps_keep_last(tmp_path):
    write_vm(tmp_path, "1", [row(T0, use=1.0), row(T0, use=2.0), row(T0 + 300, use=3.0)])
    tr = read_bitbrains(tmp_path)
    assert tr.cpu[:, 0].tolist() == [2.0, 3.0] and tr.quirks["duplicate_timestamp_rows"] == 1


def test_jitter_snaps_to_grid(tmp_path):
    write_vm(
        tmp_path,
        "1",
        [row(T0, use=1.0), row(T0 + 301, use=2.0), row(T0 + 599, use=3.0), row(T0 + 900, use=4.0)],
    )
    tr = read_bitbrains(tmp_path)
    assert tr.cpu[:, 0].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert tr.quirks["off_step_intervals"] == 3 and tr.quirks["same_slot_rows_dropped"] == 0


def test_grid_origin_is_earliest_vm_and_half_rounds_up(tmp_path):
    write_vm(tmp_path, "1", steady(3))
    write_vm(tmp_path, "2", [row(T0 + 150, use=9.0), row(T0 + 450, use=8.0)])  # exactly half a step late
    tr = read_bitbrains(tmp_path)
    assert tr.arrive_step.tolist() == [0, 1] and tr.cpu[1:, 1].tolist() == [9.0, 8.0]


def test_two_rows_in_one_slot_keep_last(tmp_path):
    write_vm(tmp_path, "1", [row(T0, use=1.0), row(T0 + 100, use=2.0), row(T0 + 300, use=3.0)])
    tr = read_bitbrains(tmp_path)
    assert tr.cpu[:, 0].tolist() == [2.0, 3.0] and tr.quirks["same_slot_rows_dropped"] == 1


def test_gap_holds_one_hour_then_zero(tmp_path):
    write_vm(tmp_path, "1", [row(T0, use=5.0), row(T0 + 20 * 300, use=6.0)])
    tr = read_bitbrains(tmp_path)
    cpu = tr.cpu[:, 0]
    assert (
        tr.n_steps == 21
        and cpu[:13].tolist() == [5.0] * 13
        and cpu[13:20].tolist() == [0.0] * 7
        and cpu[20] == 6.0
    )
    assert tr.ram_mb[12, 0] == 1024.0 and tr.ram_mb[13, 0] == 0.0
    assert (tr.arrive_step[0], tr.depart_step[0]) == (0, 21)  # alive through the gap
    q = tr.quirks
    assert (q["gaps"], q["gap_slots_held"], q["gap_slots_zeroed"]) == (1, 12, 7)
    assert (
        q["sample_gaps_over_2_steps"],
        q["vms_with_sample_gap_over_2_steps"],
        q["longest_sample_gap_s"],
    ) == (1, 1, 6000)


def test_hold_steps_is_a_parameter(tmp_path):
    write_vm(tmp_path, "1", [row(T0, use=5.0), row(T0 + 4 * 300, use=6.0)])
    assert read_bitbrains(tmp_path, hold_steps=1).cpu[:, 0].tolist() == [5.0, 5.0, 0.0, 0.0, 6.0]


def test_late_start_and_early_end(tmp_path):
    write_vm(tmp_path, "1", steady(10))
    write_vm(tmp_path, "2", steady(3, start=T0 + 3 * 300, use=7.0))
    tr = read_bitbrains(tmp_path)
    assert tr.arrive_step.tolist() == [0, 3] and tr.depart_step.tolist() == [10, 6]
    assert tr.cpu[:3, 1].tolist() == [0.0] * 3 and tr.cpu[6:, 1].tolist() == [0.0] * 4
    assert (tr.quirks["vms_arrive_late"], tr.quirks["vms_depart_early"]) == (1, 1)


def test_late_by_more_than_a_day(tmp_path):
    write_vm(tmp_path, "1", steady(2))
    write_vm(
        tmp_path, "2", [row(T0 + 86_400 + 300, cores=0, mem=0.0, use=0.0)] + steady(2, start=T0 + 90_000)
    )
    write_vm(tmp_path, "3", [row(T0 + 300, cores=0, mem=0.0, use=0.0)] + steady(2, start=T0 + 90_000))
    q = read_bitbrains(tmp_path).quirks
    assert (q["vms_first_row_after_24h"], q["vms_arrive_after_24h"]) == (1, 2)


def test_unprovisioned_rows_at_the_edges_are_not_lifetime(tmp_path):
    rows = [row(T0, cores=0, cap=0.0, use=0.0, memu=5.0)]  # usage without booking: dropped
    rows += steady(3, start=T0 + 300, use=4.0)
    rows += [row(T0 + 1200, mem=0.0, memu=0.0, use=0.0, dr=0.0, dw=0.0, rx=0.0, tx=0.0)]
    write_vm(tmp_path, "1", rows)
    write_vm(tmp_path, "2", steady(6))
    tr = read_bitbrains(tmp_path)
    assert (tr.arrive_step[0], tr.depart_step[0]) == (1, 4) and tr.ram_mb[0, 0] == 0.0
    q = tr.quirks
    assert (q["unprovisioned_rows"], q["unprovisioned_edge_slots"], q["unprovisioned_inside_slots"]) == (
        2,
        2,
        0,
    )
    assert (q["vms_with_unprovisioned_rows"], q["unprovisioned_rows_with_usage"]) == (1, 1)


def test_unprovisioned_row_inside_lifetime_holds_booking(tmp_path):
    rows = [
        row(T0, use=3.0),
        row(T0 + 300, cores=0, cap=0.0, mem=0.0, use=0.0, memu=0.0),
        row(T0 + 600, use=4.0),
    ]
    write_vm(tmp_path, "1", rows)
    tr = read_bitbrains(tmp_path)
    assert tr.cpu[:, 0].tolist() == [3.0, 0.0, 4.0] and (tr.arrive_step[0], tr.depart_step[0]) == (0, 3)
    assert tr.quirks["unprovisioned_inside_slots"] == 1 and tr.quirks["booking_changes"] == 0


def test_never_provisioned_vm_is_dropped(tmp_path):
    write_vm(tmp_path, "1", steady(2))
    write_vm(tmp_path, "2", steady(2, cores=0, mem=0.0))
    tr = read_bitbrains(tmp_path)
    assert tr.vm_ids.tolist() == ["1"] and tr.quirks["vms_never_provisioned"] == 1


def test_usage_above_booking_is_kept_and_counted(tmp_path):
    write_vm(tmp_path, "1", [row(T0, cap=5200.0, use=6000.0), row(T0 + 300, mem=1024.0, memu=2048.0)])
    tr = read_bitbrains(tmp_path)
    assert tr.cpu[0, 0] == 6000.0 and tr.ram_mb[1, 0] == 2.0
    assert (tr.quirks["cpu_usage_above_booked"], tr.quirks["ram_usage_above_booked"]) == (1, 1)


def test_booking_is_the_lifetime_max_and_changes_are_counted(tmp_path):
    rows = [
        row(T0, cores=2, cap=5200.0),
        row(T0 + 300, cores=2, cap=5200.0001),
        row(T0 + 600, cores=4, cap=10400.0),
    ]
    rows += [row(T0 + 900, cores=4, cap=10400.0, mem=8388608.0)]
    write_vm(tmp_path, "1", rows)
    tr = read_bitbrains(tmp_path)
    assert (tr.cores[0], tr.cpu_booked_mhz[0], tr.ram_booked_mb[0]) == (4, 10400.0, 8192.0)
    q = tr.quirks
    assert (q["booking_changes"], q["vms_booking_changed"]) == (2, 1)  # 1e-8 relative MHz noise is no change
    assert (q["vms_cores_changed"], q["vms_cpu_booked_changed"], q["vms_ram_booked_changed"]) == (1, 1, 1)


def test_header_with_plain_semicolons_and_spaces_is_accepted(tmp_path):
    write_vm(tmp_path, "1", steady(2), sep="; ")
    assert read_bitbrains(tmp_path).n_steps == 2


# ----------------------------------------------------------------------------------------------- errors
def _bad(rows_after_good, *, col=None, value=None):
    rows = steady(2)
    if col is not None:
        rows[1][col] = value
    return rows + rows_after_good


@pytest.mark.parametrize(
    ("col", "value", "field", "words"),
    [
        (3, "nan", "CPU usage [MHZ]", "not a number"),
        (6, "NaN", "Memory usage [KB]", "not a number"),
        (2, "abc", "CPU capacity provisioned [MHZ]", "not a number"),
        (7, "-1.5", "Disk read throughput [KB/s]", "negative"),
        (0, "-5", "Timestamp", "negative"),
        (10, "inf", "Network transmitted throughput [KB/s]", "not a number"),
        (4, "", "CPU usage [%]", "empty"),
        (1, "2.5", "CPU cores", "whole number"),
    ],
)
def test_bad_value_names_file_line_and_field(tmp_path, col, value, field, words):
    write_vm(tmp_path, "7", _bad([], col=col, value=value))
    with pytest.raises(TraceFormatError) as exc:
        read_bitbrains(tmp_path)
    msg = str(exc.value)
    assert "7.csv" in msg and "line 3" in msg and f"field '{field}'" in msg and words in msg
    assert exc.value.line == 3 and exc.value.field == field


@pytest.mark.parametrize(("cells", "found"), [(10, "found 10"), (12, "found 12")])
def test_wrong_field_count_names_line(tmp_path, cells, found):
    rows = steady(3)
    rows[2] = rows[2][:cells] if cells < 11 else rows[2] + [1.0]
    write_vm(tmp_path, "3", rows)
    with pytest.raises(TraceFormatError, match=rf"3\.csv, line 4: expected 11 fields, {found}"):
        read_bitbrains(tmp_path)


def test_blank_lines_do_not_shift_line_numbers(tmp_path):
    path = write_vm(tmp_path, "1", steady(3))
    lines = path.read_text().splitlines()
    lines.insert(2, "")
    lines[4] = lines[4].replace("100.0", "x", 1)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(TraceFormatError, match=r"line 5, field 'CPU usage \[MHZ\]'"):
        read_bitbrains(tmp_path)


@pytest.mark.parametrize(
    ("header", "words", "field"),
    [
        (
            HEADER[:-1],
            "missing column(s) 'Network transmitted throughput [KB/s]'",
            "Network transmitted throughput [KB/s]",
        ),
        ([*HEADER, "Power [W]"], "unexpected column(s) 'Power [W]'", "Power [W]"),
        (["Time", *HEADER[1:]], "first column must be a timestamp", None),
    ],
)
def test_bad_header_names_line_1(tmp_path, header, words, field):
    write_vm(tmp_path, "1", steady(2), header=header)
    with pytest.raises(TraceFormatError) as exc:
        read_bitbrains(tmp_path)
    assert "1.csv, line 1" in str(exc.value) and words in str(exc.value) and exc.value.field == field


def test_decreasing_timestamps(tmp_path):
    write_vm(tmp_path, "4", [row(T0), row(T0 + 600), row(T0 + 300)])
    with pytest.raises(
        TraceFormatError, match=r"4\.csv, line 4, field 'Timestamp': timestamps must not decrease"
    ):
        read_bitbrains(tmp_path)


def test_mixed_time_units(tmp_path):
    write_vm(tmp_path, "4", [row(T0), row((T0 + 300) * 1000)])
    with pytest.raises(TraceFormatError, match=r"4\.csv, line 3, field 'Timestamp': timestamps mix"):
        read_bitbrains(tmp_path)


def test_header_only_and_empty_files(tmp_path):
    write_vm(tmp_path / "a", "1", [])
    with pytest.raises(TraceFormatError, match=r"1\.csv: no data rows"):
        read_bitbrains(tmp_path / "a")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "1.csv").write_text("")
    with pytest.raises(TraceFormatError, match=r"1\.csv, line 1: empty file"):
        read_bitbrains(tmp_path / "b")


def test_empty_folder_and_no_vms(tmp_path):
    with pytest.raises(TraceFormatError, match="no VM files"):
        read_bitbrains(tmp_path)
    (tmp_path / "README").write_text("not a VM")
    with pytest.raises(TraceFormatError, match="no VM files"):
        read_bitbrains(tmp_path)
    write_vm(tmp_path, "1", steady(2, cores=0))
    with pytest.raises(TraceFormatError, match="no VM is ever provisioned"):
        read_bitbrains(tmp_path)
    with pytest.raises(TraceFormatError, match="not a folder"):
        read_bitbrains(tmp_path / "missing")


def test_same_vm_twice(tmp_path):
    write_vm(tmp_path, "1", steady(2))
    write_vm(tmp_path, "1", steady(2), gz=True)
    with pytest.raises(TraceFormatError, match="VM '1' appears twice"):
        read_bitbrains(tmp_path)
