"""Small text-file helpers shared by the readers: gzip-aware opening, folder listing, number checks."""

from __future__ import annotations

import gzip
import io
import os
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from kumo.errors import TraceFormatError

_GZIP_MAGIC = b"\x1f\x8b"

#: what reading a damaged file raises: a gzip stream that ends early (EOFError), a corrupt one (zlib.error,
#: gzip.BadGzipFile), an unreadable file (OSError)
READ_ERRORS = (OSError, EOFError, zlib.error)

#: a plain decimal number as the C parser accepts it (no nan/inf, no digit separators)
NUMBER_RE = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


def is_gzip(path: Path) -> bool:
    """True when ``path`` starts with the gzip magic bytes (the suffix is not trusted)."""
    with open(path, "rb") as f:
        return f.read(2) == _GZIP_MAGIC


def open_text(path: Path) -> TextIO:
    """Open a text file, transparently decompressing gzip and dropping a UTF-8 byte-order mark.

    Undecodable bytes become U+FFFD, so that a stray byte is reported on its line instead of failing the
    whole file.
    """
    if is_gzip(path):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", errors="replace", newline="")
    return open(path, encoding="utf-8-sig", errors="replace", newline="")


def head_lines(path: Path, n: int = 2) -> list[str]:
    """The first ``n`` lines of a (possibly gzipped) text file, without line endings."""
    out: list[str] = []
    try:
        with open_text(path) as f:
            for line in f:
                out.append(line.rstrip("\r\n"))
                if len(out) >= n:
                    break
    except READ_ERRORS as exc:
        raise TraceFormatError(path, f"cannot read the file (truncated gzip?): {exc}") from None
    return out


def numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, line without its ending) for every line of the file; a damaged file is a
    TraceFormatError naming it."""
    lineno = 0
    try:
        with open_text(path) as f:
            for lineno, line in enumerate(f, 1):
                yield lineno, line.rstrip("\r\n")
    except READ_ERRORS as exc:
        raise TraceFormatError(path, f"the file ends early or is corrupt after line {lineno} ({exc}): "
                                     "truncated gzip?") from None


def data_line_number(path: Path, row: int, header_lines: int = 1) -> int:
    """1-based file line of data row ``row`` (0-based), skipping blank lines as the CSV parser does."""
    seen = -1
    last = header_lines
    for lineno, line in numbered_lines(path):
        if lineno <= header_lines or not line.strip():
            continue
        seen += 1
        last = lineno
        if seen == row:
            return lineno
    return last


def list_files(folder: Path) -> list[Path]:
    """Regular, non-hidden files of ``folder`` in plain lexicographic order of their names."""
    if not folder.is_dir():
        raise TraceFormatError(folder, "not a folder")
    names = sorted(n for n in os.listdir(folder) if not n.startswith("."))
    return [folder / n for n in names if (folder / n).is_file()]


def to_float(cells: Any) -> Any:
    """A pandas column as float64 numbers, NaN where a cell is missing or not a number.

    ``pandas.to_numeric(errors="coerce")`` raises OverflowError on an integer too large for a float (a cell of
    400 digits) instead of coercing it; such a column is converted cell by cell (the huge integer then reads as
    infinity, which the readers refuse like any other).
    """
    import numpy as np
    import pandas as pd

    try:
        return pd.to_numeric(cells, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    except (OverflowError, ValueError, TypeError):
        def one(x: Any) -> float:
            try:
                return float(x)
            except (ValueError, TypeError, OverflowError):
                return float("nan")

        return np.array([one(x) for x in cells], dtype=np.float64)
