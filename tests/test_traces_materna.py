"""Materna reader: German locale in, the Bitbrains pipeline's result out."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from kumo.errors import TraceFormatError
from kumo.traces import detect_format
from kumo.traces.bitbrains import read_bitbrains
from kumo.traces.materna import read_materna

HEADER = [
    "Timestamp",
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
T0 = int(datetime(2015, 11, 5, tzinfo=UTC).timestamp())


def german(t_s: float) -> str:
    return datetime.fromtimestamp(t_s, tz=UTC).strftime("%d.%m.%Y %H:%M:%S")


def rows_of(starts_uses):
    """Rows as numbers: (t, cores, cap, use, pct, mem, memu, dr, dw, rx, tx)."""
    return [[t, 2, 5200.5, u, u / 52.005, 4194304, 1048576.5, 1.5, 2.25, 0.5, 0.125] for t, u in starts_uses]


def write_materna(folder: Path, stem: str, rows, header=HEADER) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [";".join(header)]
    for r in rows:
        cells = [german(r[0]) if isinstance(r[0], (int, float)) else r[0]]
        cells += [str(v).replace(".", ",") if isinstance(v, float) else str(v) for v in r[1:]]
        lines.append(";".join(cells))
    path = folder / f"{stem}.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_bitbrains(folder: Path, stem: str, rows) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    head = ";\t".join(["Timestamp [ms]", *HEADER[1:]])
    (folder / f"{stem}.csv").write_text(head + "\n" + "".join(";\t".join(map(str, r)) + "\n" for r in rows))


def test_decimal_commas_and_utc_timestamps(tmp_path):
    write_materna(tmp_path, "01", rows_of([(T0, 100.25), (T0 + 300, 110.5)]))
    tr = read_materna(tmp_path)
    assert tr.start_epoch_s == T0 and tr.cpu[:, 0].tolist() == [100.25, 110.5]
    assert tr.cpu_booked_mhz[0] == np.float32(5200.5) and tr.ram_mb[0, 0] == np.float32(1048576.5 / 1024)
    assert tr.extra["net_tx_kbps"][0, 0] == 0.125 and tr.provenance["format"] == "materna"


def test_same_pipeline_as_bitbrains(tmp_path):
    """The same samples spelled in both locales give the same trace, quirks included."""
    vm1 = rows_of([(T0, 1.5), (T0, 2.5), (T0 + 301, 3.5), (T0 + 20 * 300, 4.5)])  # duplicate, jitter, gap
    vm2 = rows_of([(T0 + 900, 5.5), (T0 + 1200, 6.5)])  # late start
    write_materna(tmp_path / "m", "01", vm1)
    write_materna(tmp_path / "m", "02", vm2)
    write_bitbrains(tmp_path / "b", "01", vm1)
    write_bitbrains(tmp_path / "b", "02", vm2)
    m, b = read_materna(tmp_path / "m"), read_bitbrains(tmp_path / "b")
    for attr in (
        "cpu",
        "ram_mb",
        "cores",
        "cpu_booked_mhz",
        "ram_booked_mb",
        "arrive_step",
        "depart_step",
        "vm_ids",
    ):
        np.testing.assert_array_equal(getattr(m, attr), getattr(b, attr), err_msg=attr)
    for k in b.extra:
        np.testing.assert_array_equal(m.extra[k], b.extra[k])
    b_quirks = {k: v for k, v in b.quirks.items() if not k.startswith("timestamps_")}
    assert m.quirks == b_quirks and m.quirks["duplicate_timestamp_rows"] == 1 and m.quirks["gaps"] == 1


def test_numeric_file_order(tmp_path):
    for stem in ("10", "02", "01"):
        write_materna(tmp_path, stem, rows_of([(T0, 1.0)]))
    assert read_materna(tmp_path).vm_ids.tolist() == ["01", "02", "10"]


@pytest.mark.parametrize(
    ("col", "text", "field", "words"),
    [
        (3, "1.5", "CPU usage [MHZ]", "not a number with a decimal comma"),
        (3, "1.234,5", "CPU usage [MHZ]", "not a number with a decimal comma"),
        (6, "NaN", "Memory usage [KB]", "not a number"),
        (7, "-1,5", "Disk read throughput [KB/s]", "negative"),
        (0, "2015-11-05 00:05:00", "Timestamp", "not a DD.MM.YYYY HH:MM:SS timestamp"),
        (0, "31.11.2015 00:05:00", "Timestamp", "not a DD.MM.YYYY HH:MM:SS timestamp"),
    ],
)
def test_bad_cells_name_file_line_and_field(tmp_path, col, text, field, words):
    rows = rows_of([(T0, 1.0), (T0 + 300, 2.0), (T0 + 600, 3.0)])
    rows[1][col] = text
    write_materna(tmp_path, "05", rows)
    with pytest.raises(TraceFormatError) as exc:
        read_materna(tmp_path)
    msg = str(exc.value)
    assert "05.csv, line 3" in msg and f"field '{field}'" in msg and words in msg


def test_missing_field_and_bad_header(tmp_path):
    path = write_materna(tmp_path / "a", "01", rows_of([(T0, 1.0), (T0 + 300, 2.0)]))
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:2], lines[2].rsplit(";", 1)[0]]) + "\n")
    with pytest.raises(TraceFormatError, match=r"01\.csv, line 3: expected 11 fields, found 10"):
        read_materna(tmp_path / "a")
    write_materna(tmp_path / "b", "01", rows_of([(T0, 1.0)]), header=HEADER[:5] + HEADER[6:])
    with pytest.raises(
        TraceFormatError, match=r"01\.csv, line 1, field 'Memory capacity provisioned \[KB\]'"
    ):
        read_materna(tmp_path / "b")


def test_windows_export_with_bom_and_crlf(tmp_path):
    path = write_materna(tmp_path, "01", rows_of([(T0, 1.25), (T0 + 300, 2.5)]))
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    tr = read_materna(tmp_path)
    assert tr.cpu[:, 0].tolist() == [1.25, 2.5] and tr.start_epoch_s == T0
    assert detect_format(tmp_path) == "materna"
