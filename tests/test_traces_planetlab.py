"""PlanetLab reader: order, units, and every error with file and line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kumo.errors import TraceFormatError
from kumo.traces.planetlab import percent_to_fraction, read_planetlab


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def test_values_become_fractions_of_the_booking(tmp_path):
    tr = read_planetlab(write(tmp_path / "20110303", {"vm": "0\n50\n100\n", "w": "7\n8\n9\n"}))
    assert tr.cpu_unit == "fraction" and tr.cpu.dtype == np.float32 and tr.cpu.shape == (3, 2)
    assert tr.cpu[:, 0].tolist() == [0.0, np.float32(0.5), 1.0] and tr.cpu[0, 1] == np.float32(0.07)
    assert tr.ram_mb is None and tr.cores.tolist() == [0, 0]
    assert np.isnan(tr.cpu_booked_mhz).all() and np.isnan(tr.ram_booked_mb).all()
    assert tr.arrive_step.tolist() == [0, 0] and tr.depart_step.tolist() == [3, 3]
    assert (tr.step_s, tr.start_epoch_s, tr.name) == (300.0, 0.0, "planetlab-20110303")
    assert tr.provenance["day"] == "20110303"


def test_order_is_plain_lexicographic_and_names_keep_spaces(tmp_path):
    names = ["b", "a b", "a", "B", "10", "9", "a_b"]
    tr = read_planetlab(write(tmp_path, {n: f"{i}\n" for i, n in enumerate(names)}))
    assert tr.vm_ids.tolist() == sorted(names) == ["10", "9", "B", "a", "a b", "a_b", "b"]
    assert tr.cpu[0].tolist() == [percent_to_fraction(np.array([names.index(n)]))[0] for n in sorted(names)]


def test_crlf_trailing_blank_lines_and_hidden_files(tmp_path):
    tr = read_planetlab(write(tmp_path, {"x": "1\r\n2\r\n\r\n\n", "y": "3\n4\n", ".DS_Store": "junk"}))
    assert (
        tr.cpu.shape == (2, 2) and tr.quirks["trailing_blank_lines"] == 2 and tr.vm_ids.tolist() == ["x", "y"]
    )


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("1\n2\nabc\n", 3, "not a whole number: 'abc'"),
        ("1\n101\n2\n", 2, "CPU percentage 101 outside 0..100"),
        ("1\n-1\n2\n", 2, "not a whole number: '-1'"),
        ("1\n2.5\n2\n", 2, "not a whole number: '2.5'"),
        ("1\n\n2\n", 2, "blank line"),
        ("1 2\n3\n4\n", 1, "not a whole number: '1 2'"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path, text, line, words):
    write(tmp_path, {"good": "1\n2\n3\n", "host name with spaces": text})
    with pytest.raises(TraceFormatError) as exc:
        read_planetlab(tmp_path)
    msg = str(exc.value)
    assert "host name with spaces" in msg and f"line {line}:" in msg and words in msg
    assert exc.value.line == line


def test_different_line_counts_name_the_odd_file(tmp_path):
    write(tmp_path, {"a": "1\n2\n3\n", "b": "1\n2\n", "c": "4\n5\n6\n"})
    with pytest.raises(TraceFormatError, match=r"/b: has 2 lines, but 2 other files have 3"):
        read_planetlab(tmp_path)


def test_empty_file_and_empty_folder(tmp_path):
    write(tmp_path / "a", {"x": "\n"})
    with pytest.raises(TraceFormatError, match=r"/x: empty file"):
        read_planetlab(tmp_path / "a")
    (tmp_path / "b").mkdir()
    with pytest.raises(TraceFormatError, match="no PlanetLab files"):
        read_planetlab(tmp_path / "b")
