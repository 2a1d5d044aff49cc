"""Generic long-format traces: one row per (VM, time) in a CSV or Parquet file.

Columns (names exact, order free):

==================  ========  ==============================================================
column              required  meaning
==================  ========  ==============================================================
``vm_id``           yes       VM identifier (text); VM order = order of first appearance
``t_s``             yes       sample time in seconds (Unix time, or any origin)
``cpu_mhz``         yes       CPU demand, MHz
``ram_mb``          yes       RAM demand, MB
``cores``           no        booked cores (whole number); per VM the maximum over its rows
``cpu_booked_mhz``  no        booked CPU, MHz; per VM the maximum
``ram_booked_mb``   no        booked RAM, MB; per VM the maximum
``disk_read_kbps``  no        and the other names of :data:`kumo.traces.base.EXTRA_COLUMNS`
==================  ========  ==============================================================

Parquet files are read a row group at a time (:mod:`kumo.traces._generic_parquet`), giving the same
Trace as one pandas frame would; CSV files through pandas.

Grid: step 0 is the smallest ``t_s`` (it becomes ``start_epoch_s``); the step is ``step_s`` when given,
else the most common positive difference between the sorted distinct ``t_s``. Every ``t_s`` must lie on
that grid (within 1e-6 of a step). A VM arrives at its first row and departs one past its last; slots
inside that span without a row have zero demand [``missing_slots``]. Columns with other names are
ignored [``ignored_columns``; their names go to the provenance]. Absent booking columns give cores 0 and
NaN bookings.

Errors (:class:`~kumo.errors.TraceFormatError`): missing required columns (all listed), NaN, empty,
non-numeric or negative values, values above their limit (``t_s`` above
:data:`~kumo.traces.base.MAX_TIME_S`, ``cores`` above :data:`~kumo.traces.base.MAX_CORES`, the others
above :data:`~kumo.traces.base.MAX_VALUE`), a booking of 0, fractional cores, a time off the grid, two
rows for the same VM and slot and an id ending in a NUL character, each with the CSV line (1-based, header
included) or the Parquet row (1-based) and the column; a ragged row with its line; a truncated or damaged
``.csv.gz`` or Parquet file names the file.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from kumo.errors import TraceFormatError
from kumo.traces._generic_parquet import Columns, read_columns
from kumo.traces._parquet import read_frame
from kumo.traces._textio import data_line_number, is_gzip, to_float
from kumo.traces.base import EXTRA_COLUMNS, MAX_CORES, MAX_TIME_S, MAX_VALUE, Trace, reader

REQUIRED = ("vm_id", "t_s", "cpu_mhz", "ram_mb")
BOOKINGS = ("cores", "cpu_booked_mhz", "ram_booked_mb")
NUMERIC = ("t_s", "cpu_mhz", "ram_mb", *BOOKINGS, *EXTRA_COLUMNS)
#: the largest value of a column (the others: MAX_VALUE) and the columns that must be > 0
LIMITS = {"t_s": MAX_TIME_S, "cores": MAX_CORES}
POSITIVE = ("cpu_booked_mhz", "ram_booked_mb")
GRID_TOL = 1e-6
#: refuse grids above 2**31 cells (8 GiB per float32 array): almost surely a wrong step or a stray t_s
MAX_CELLS = 2**31
_PARSER_LINE = re.compile(r"Expected \d+ fields in line (\d+)")
#: read Parquet files a record batch at a time (:mod:`kumo.traces._generic_parquet`); False: one pandas frame
#: (the former path, kept for comparison: ``benchmarks/trace_io.py`` measures both)
STREAM_PARQUET = True
#: rows per block of the per-row grid arithmetic (its temporaries stay in cache)
_BLOCK = 1 << 16


class _Rows:
    """Turns a 0-based data row into the location words of an error (CSV line or Parquet row)."""

    def __init__(self, path: Path, is_csv: bool):
        self.path, self.is_csv = path, is_csv

    def error(self, row: int, reason: str, column: str | None) -> TraceFormatError:
        if self.is_csv:
            return TraceFormatError(self.path, reason, line=data_line_number(self.path, row), field=column)
        return TraceFormatError(self.path, f"row {row + 1}: {reason}", field=column)


def _read_frame(path: Path) -> tuple[pd.DataFrame, bool]:
    name = path.name.lower()
    try:
        if name.endswith(".parquet") or name.endswith(".pq"):
            return read_frame(path), False
        frame = pd.read_csv(
            path,
            dtype={"vm_id": str},
            keep_default_na=False,
            na_values=[""],
            engine="c",
            compression="gzip" if is_gzip(path) else None,
        )
        return frame, True
    except pd.errors.EmptyDataError:
        raise TraceFormatError(path, "empty file, expected a header line", line=1) from None
    except (EOFError, zlib.error) as exc:
        raise TraceFormatError(path, f"the file ends early or is corrupt ({exc}): truncated gzip?") from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        where = _PARSER_LINE.search(str(exc))  # the C parser names the line of a ragged row
        raise TraceFormatError(path, f"cannot parse: {exc}", line=int(where.group(1)) if where else None) from None


def _numeric(frame: pd.DataFrame, col: str, rows: _Rows) -> np.ndarray:
    """Column ``col`` as float64, finite, >= 0 (> 0 for a booking) and at most its limit, or the first
    offending row's error."""
    raw = frame[col]
    values = to_float(raw)
    limit = LIMITS.get(col, MAX_VALUE)
    low = values <= 0 if col in POSITIVE else values < 0
    bad = np.flatnonzero(~np.isfinite(values) | low | (values > limit))
    if bad.size:
        row = int(bad[0])
        cell, x = raw.iloc[row], values[row]
        text = str(cell) if len(str(cell)) <= 30 else str(cell)[:30] + "..."
        reason = (
            "missing value" if pd.isna(cell) or str(cell).strip() == ""
            else f"not a finite number: {text!r}" if not np.isfinite(x)
            else f"value {text} above the limit {limit:g}" if x > limit
            else f"negative value {text}" if x < 0
            else f"a booking must be > 0, got {text} (leave the column out when unknown)"
        )
        raise rows.error(row, reason, col)
    return values


def _is_parquet(path: Path) -> bool:
    return path.name.lower().endswith((".parquet", ".pq"))


def _parquet_columns(path: Path) -> Columns | None:
    return read_columns(path, REQUIRED, NUMERIC, LIMITS, POSITIVE, MAX_VALUE)


def _pandas_columns(path: Path) -> Columns:
    """The file as one pandas frame (CSV, and Parquet files the streaming path leaves to it): checked rows."""
    frame, is_csv = _read_frame(path)
    rows = _Rows(path, is_csv)
    columns = [str(c).strip() for c in frame.columns]
    frame.columns = columns
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise TraceFormatError(
            path,
            f"missing required column(s): {', '.join(missing)}",
            line=1 if is_csv else None,
            field=missing[0],
        )
    if len(frame) == 0:
        raise TraceFormatError(path, "no data rows")
    ids = frame["vm_id"]
    empty = np.flatnonzero(ids.isna().to_numpy() | (ids.astype(str).str.strip() == "").to_numpy())
    if empty.size:
        raise rows.error(int(empty[0]), "missing value", "vm_id")
    codes, uniques = pd.factorize(ids.astype(str), sort=False)
    num = {c: _numeric(frame, c, rows) for c in NUMERIC if c in columns}
    return Columns(columns=columns, n_rows=len(frame), codes=codes, uniques=np.asarray(uniques, dtype=object),
                   num=num)


def _cells(t: np.ndarray, t0: float, step: float, codes: np.ndarray, n_vms: int) -> tuple[np.ndarray, int, int]:
    """Each row's cell in the (n_steps, n_vms) grid (slot * n_vms + code), the number of steps, and the first
    row whose time is off the grid (-1: none). A block of rows at a time: no temporary as long as the file."""
    cell = np.empty(len(t), np.int64)
    top = 0
    for i in range(0, len(t), _BLOCK):
        pos = t[i:i + _BLOCK] - t0
        pos /= step
        near = np.rint(pos)
        pos -= near
        off = np.flatnonzero(np.abs(pos, out=pos) > GRID_TOL)
        if off.size:
            return cell, 0, i + int(off[0])
        slot = near.astype(np.int64)
        top = max(top, int(slot.max()))
        slot *= n_vms
        slot += codes[i:i + _BLOCK]
        cell[i:i + _BLOCK] = slot
    return cell, top + 1, -1


def _first_fractional(x: np.ndarray) -> int:
    """The first index of a value that is not a whole number, -1 if none (a block at a time)."""
    for i in range(0, len(x), _BLOCK):
        part = x[i:i + _BLOCK]
        frac = np.flatnonzero(part != np.floor(part))
        if frac.size:
            return i + int(frac[0])
    return -1


def infer_step(t_s: np.ndarray) -> float:
    """Most common positive difference between sorted distinct times (smallest on a tie); NaN if none."""
    diffs = np.diff(np.unique(pd.unique(t_s)))  # hashing first: sorting every row costs seconds
    if diffs.size == 0:
        return float("nan")
    values, counts = np.unique(diffs, return_counts=True)
    return float(values[np.argmax(counts)])


@reader
def read_generic(path: str | Path, *, step_s: float | None = None, name: str | None = None) -> Trace:
    """Read a long-format CSV (optionally gzipped) or Parquet trace.

    Parameters
    ----------
    path : ``.csv``, ``.csv.gz`` or ``.parquet`` file with the columns in this module's docstring.
    step_s : grid step in seconds; inferred from ``t_s`` when None.
    name : trace label; the file name without suffixes by default.

    Returns
    -------
    Trace
        ``cpu`` in MHz and ``ram_mb`` in MB, both (n_steps, n_vms) float32.
    """
    path = Path(path)
    cols = _parquet_columns(path) if STREAM_PARQUET and _is_parquet(path) else None
    if cols is None:
        cols = _pandas_columns(path)
    is_csv = not _is_parquet(path)
    rows = _Rows(path, is_csv)
    codes, uniques, num = cols.codes, cols.uniques, cols.num
    ignored = [c for c in cols.columns if c not in REQUIRED and c not in NUMERIC]
    counts: Counter[str] = Counter(rows_read=cols.n_rows, ignored_columns=len(ignored))
    n_rows = cols.n_rows
    del cols

    nul = next((i for i, u in enumerate(uniques) if str(u).endswith("\x00")), None)
    if nul is not None:  # numpy text drops trailing NUL characters: two ids could become one
        row = int(np.flatnonzero(codes == nul)[0])
        raise rows.error(row, f"VM id {uniques[nul]!r} ends in a NUL character", "vm_id")
    t = num["t_s"]
    t0 = float(t.min())
    step = float(step_s) if step_s is not None else infer_step(t)
    if not np.isfinite(step) or step <= 0:
        raise TraceFormatError(path, "cannot infer the step from a single time; pass step_s", field="t_s")
    n_vms = len(uniques)
    top = (float(t.max()) - t0) / step  # the largest (t - t0) / step: both operations are monotonic
    if (top + 1) * n_vms > MAX_CELLS:  # checked before the cast: a tiny step overflows int64
        raise TraceFormatError(
            path,
            f"grid of {top + 1:.3g} steps x {n_vms} VMs is too large; check t_s and step_s={step:g}",
            field="t_s",
        )
    cell, n_steps, off = _cells(t, t0, step, codes, n_vms)
    if off >= 0:
        raise rows.error(off, f"t_s={t[off]:g} is not on the grid t0={t0:g} + k * {step:g} s", "t_s")
    if n_steps * n_vms > MAX_CELLS:
        raise TraceFormatError(
            path,
            f"grid of {n_steps} steps x {n_vms} VMs is too large; check t_s and step_s={step:g}",
            field="t_s",
        )
    alive = np.zeros((n_steps, n_vms), dtype=bool)
    alive.reshape(-1)[cell] = True
    if np.count_nonzero(alive) < n_rows:  # two rows share a cell: a cheap test first, the exact row only then
        key = codes.astype(np.int64) * n_steps + cell // n_vms
        row = int(np.flatnonzero(pd.Series(key).duplicated().to_numpy())[0])
        raise rows.error(row, f"second row for VM {uniques[codes[row]]!r} at t_s={t[row]:g}", "t_s")
    arrive = np.argmax(alive, axis=0).astype(np.int64)  # every VM has a row: its first and last slots
    depart = n_steps - np.argmax(alive[::-1], axis=0).astype(np.int64)
    del alive
    counts["missing_slots"] = int((depart - arrive).sum() - n_rows)

    def grid(values: np.ndarray) -> np.ndarray:
        out = np.zeros((n_steps, n_vms), dtype=np.float32)
        out.reshape(-1)[cell] = values
        return out

    def per_vm(col: str) -> np.ndarray:
        if col not in num:
            return np.full(n_vms, np.nan)
        out = np.zeros(n_vms)
        np.maximum.at(out, codes, num[col])
        return out

    if "cores" in num:
        frac = _first_fractional(num["cores"])
        if frac >= 0:
            raise rows.error(frac, f"cores must be a whole number, got {num['cores'][frac]:g}", "cores")
    cores = np.nan_to_num(per_vm("cores"), nan=0.0)
    provenance = {"format": "generic", "source": str(path)}
    if ignored:
        provenance["ignored_columns"] = ", ".join(ignored)
    return Trace(
        name=name or path.name.split(".")[0],
        step_s=step,
        start_epoch_s=t0,
        vm_ids=np.array([str(u) for u in uniques], dtype=str),
        cpu=grid(num["cpu_mhz"]),
        ram_mb=grid(num["ram_mb"]),
        cores=cores.astype(np.int32),
        cpu_booked_mhz=per_vm("cpu_booked_mhz").astype(np.float32),
        ram_booked_mb=per_vm("ram_booked_mb").astype(np.float32),
        arrive_step=arrive.astype(np.int32),
        depart_step=depart.astype(np.int32),
        cpu_unit="mhz",
        extra={c: grid(num[c]) for c in EXTRA_COLUMNS if c in num},
        quirks={k: int(v) for k, v in sorted(counts.items())},
        provenance=provenance,
    )
