"""Every reader of gzip files names a file whose gzip stream ends early (``TraceFormatError``), never a bare
EOFError. (OpenDC's truncated Parquet and Azure's readings are tested with their readers.)"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from kumo.errors import TraceFormatError
from kumo.traces import load

FIX = Path(__file__).parent / "fixtures" / "traces"


def truncated(lines: list[str], repeat: int) -> bytes:
    """A gzip of a header and ``repeat`` copies of the data lines, cut in the middle of the stream."""
    body = lines[0] + "".join(lines[1:] * repeat)
    blob = gzip.compress(body.encode(), compresslevel=1)
    return blob[: len(blob) * 3 // 4]


def _lines(path: Path) -> list[str]:
    raw = path.read_bytes()
    text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode()
    return text.splitlines(keepends=True)


@pytest.mark.parametrize(("fixture", "member"), [("bitbrains-mini", "2.csv.gz"), ("materna-mini", "01.csv")])
def test_gwa_folders(tmp_path, fixture, member):
    folder = tmp_path / fixture
    shutil.copytree(FIX / fixture, folder)
    lines = _lines(folder / member)
    (folder / member).unlink()
    bad = folder / (member if member.endswith(".gz") else member + ".gz")
    bad.write_bytes(truncated(lines, 4000))
    with pytest.raises(TraceFormatError) as err:
        load(folder)
    assert err.value.path == str(bad) and "truncated gzip?" in err.value.reason


def test_generic_csv_gz(tmp_path):
    lines = _lines(FIX / "generic-mini.csv")
    bad = tmp_path / "t.csv.gz"
    # distinct times, so a complete file would be valid
    rows = [lines[0]] + [f"v{i},{300 * i},1,1,1,2600,1024,0\n" for i in range(200_000)]
    blob = gzip.compress("".join(rows).encode(), compresslevel=1)
    bad.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(TraceFormatError, match=r"t\.csv\.gz: the file ends early or is corrupt"):
        load(bad)
