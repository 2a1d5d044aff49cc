"""Materna GWA-T-13 reader (Grid Workloads Archive; traces released by the FederatedCloudSim group).

Format: the Bitbrains column set (see :mod:`kumo.traces.bitbrains`) spelled in German locale: fields
separated by ``;`` (spaces or tabs after it are ignored), timestamps ``DD.MM.YYYY HH:MM:SS`` and a decimal
comma (``12,5``). Timestamps carry no zone; kumo reads them as UTC. A decimal point, a thousands separator
or an unparsable timestamp is an error naming file, line and column.

After parsing, the files go through exactly the Bitbrains pipeline (:mod:`kumo.traces._gwa`): duplicate
timestamps, snapping to the 300 s grid, lifetimes from provisioned rows, gap holding, bookings as the
lifetime maximum, usage above the booking kept as read; the same quirk names are counted. VM order is the
numeric file name (``01.csv``, ``02.csv``, ...); the VM id is the file stem.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from kumo.errors import TraceFormatError
from kumo.traces._gwa import (
    VALUE_COLUMNS,
    VmRows,
    assemble,
    check_header,
    find_bad_line,
    prepare_vm,
    value_limits,
    vm_files,
)
from kumo.traces._textio import READ_ERRORS, data_line_number, head_lines, is_gzip
from kumo.traces.base import MAX_TIME_S, Trace, reader

STEP_S = 300.0
HOLD_STEPS = 12
TIME_FORMAT = "%d.%m.%Y %H:%M:%S"
#: a number with an optional decimal comma, as the German-locale files write it
GERMAN_NUMBER_RE = re.compile(r"^[+-]?(?:\d+,?\d*|,\d+)(?:[eE][+-]?\d+)?$")
_N_FIELDS = 1 + len(VALUE_COLUMNS)


def _parse_cell(col: int, text: str) -> float:
    if col == 0:
        try:
            return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC).timestamp()
        except ValueError:
            raise ValueError(f"not a DD.MM.YYYY HH:MM:SS timestamp: {text!r}") from None
    if not GERMAN_NUMBER_RE.match(text):
        raise ValueError(f"not a number with a decimal comma: {text!r}")
    return float(text.replace(",", "."))


def _split(line: str) -> list[str]:
    return line.split(";")


def read_table(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One Materna file as (epoch seconds (n,) float64, values (n, 10) float64 finite and >= 0)."""
    header = head_lines(path, 1)
    if not header:
        raise TraceFormatError(path, "empty file, expected a header line", line=1)
    check_header(path, _split(header[0]))
    try:
        frame = pd.read_csv(
            path,
            sep=";",
            header=None,
            skiprows=1,
            names=list(range(_N_FIELDS)),
            dtype={0: str, **{i: np.float64 for i in range(1, _N_FIELDS)}},
            decimal=",",
            skipinitialspace=True,
            engine="c",
            compression="gzip" if is_gzip(path) else None,
        )
    except pd.errors.EmptyDataError:
        raise TraceFormatError(path, "no data rows after the header") from None
    except READ_ERRORS as exc:  # a gzip stream that ends early or is corrupt, or an unreadable file
        raise TraceFormatError(path, f"the file ends early or is corrupt ({exc}): truncated gzip?") from None
    except (ValueError, pd.errors.ParserError) as exc:
        raise find_bad_line(path, _split, _parse_cell, MAX_TIME_S) or TraceFormatError(
            path, f"cannot parse: {exc}"
        ) from None
    stamps = pd.to_datetime(frame[0].str.strip(), format=TIME_FORMAT, errors="coerce")
    values = frame.iloc[:, 1:].to_numpy(dtype=np.float64)
    t_s = np.where(stamps.isna(), np.nan, stamps.to_numpy().astype("datetime64[s]").astype(np.int64))
    limits = value_limits(MAX_TIME_S)
    bad = ~(t_s <= limits[0])[:, None] | ~np.isfinite(values) | (values < 0) | (values > limits[1:])
    if bad.any():
        err = find_bad_line(path, _split, _parse_cell, MAX_TIME_S)
        if err is None:
            row = int(np.argwhere(bad)[0][0])
            err = TraceFormatError(path, "missing, NaN, negative or too large value", line=data_line_number(path, row))
        raise err
    return t_s, values


@reader
def read_materna(
    path: str | Path, *, name: str | None = None, step_s: float = STEP_S, hold_steps: int = HOLD_STEPS
) -> Trace:
    """Read a Materna GWA-T-13 folder (one German-locale CSV per VM) into a Trace.

    Parameters
    ----------
    path : folder of ``NN.csv`` / ``NN.csv.gz`` files.
    name : trace label; the folder name by default.
    step_s : grid step in seconds.
    hold_steps : how many empty slots of a gap hold the last sample before demand drops to zero.

    Returns
    -------
    Trace
        As :func:`kumo.traces.bitbrains.read_bitbrains`: CPU MHz, RAM MB, extras KB/s, quirks counted.
    """
    folder = Path(path)
    vms: list[VmRows] = []
    for vm_id, file in vm_files(folder):
        t_s, values = read_table(file)
        vms.append(prepare_vm(vm_id, file, t_s, values, step_s))
    counts: Counter[str] = Counter(files_read=len(vms))
    return assemble(
        vms,
        folder=folder,
        name=name or folder.name,
        step_s=step_s,
        hold_steps=hold_steps,
        provenance={
            "format": "materna",
            "source": str(folder),
            "files": str(len(vms)),
            "timezone": "read as UTC",
        },
        quirks=counts,
    )
