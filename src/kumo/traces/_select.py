"""What the arrival-trace readers (OpenDC, Azure) share: time windows, VM subsets in arrival order, grid
size limits, located errors in Parquet columns."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np

from kumo.errors import TraceFormatError

#: seconds per unit suffix of a window bound (a bare number is hours)
UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_BOUND = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([smhd]?)\s*$")
#: refuse dense grids above this many cells (1 GiB per float32 array); pass max_cells to go further
MAX_CELLS = 2**28

Window = tuple[float, float | None]


def parse_duration(text: str) -> float:
    """``"36"`` (hours), ``"90m"``, ``"7d"``, ``"3600s"`` -> seconds; ValueError otherwise."""
    m = _BOUND.match(text)
    if not m:
        raise ValueError(f"not a duration: {text!r} (a number with an optional unit s, m, h or d; bare = hours)")
    return float(m.group(1)) * UNITS[m.group(2) or "h"]


def parse_window(window: str | Window | None) -> Window | None:
    """A window ``"START:END"`` (each a :func:`parse_duration`; END may be empty = open) or a (start_s, end_s)
    pair, as seconds from the trace's start; None stays None."""
    if window is None:
        return None
    if isinstance(window, str):
        start, sep, end = window.partition(":")
        if not sep:
            raise ValueError(f"window: expected START:END, got {window!r}")
        w: Window = (parse_duration(start) if start.strip() else 0.0, parse_duration(end) if end.strip() else None)
    else:
        w = (float(window[0]), None if window[1] is None else float(window[1]))
    if w[0] < 0 or (w[1] is not None and w[1] <= w[0]) or not np.isfinite(w[0]):
        raise ValueError(f"window: need 0 <= start < end, got {window!r}")
    return w


def check_step(path: Path, step_s: float) -> float:
    step = float(step_s)
    if not np.isfinite(step) or step <= 0:
        raise TraceFormatError(path, f"step_s must be a positive number of seconds, got {step_s!r}", field="step_s")
    return step


def select_vms(start_s: np.ndarray, end_s: np.ndarray, window: Window | None, max_vms: int | None,
               counts: Counter[str], keep: np.ndarray | None = None) -> np.ndarray:
    """Indices of the VMs to read, in arrival order (start time, then file order).

    A VM is kept when it overlaps the window [``vms_outside_window`` otherwise], passes ``keep`` and is among
    the first ``max_vms`` to arrive [``vms_beyond_max_vms``]. Times are seconds from the trace's start.
    """
    ok = np.ones(len(start_s), bool) if keep is None else keep.copy()
    if window is not None:
        inside = end_s > window[0]
        if window[1] is not None:
            inside &= start_s < window[1]
        counts["vms_outside_window"] = int(np.count_nonzero(ok & ~inside))
        ok &= inside
    idx = np.flatnonzero(ok)
    idx = idx[np.argsort(start_s[idx], kind="stable")]
    if max_vms is not None:
        counts["vms_beyond_max_vms"] = int(max(0, len(idx) - max_vms))
        idx = idx[:max_vms]
    return idx


def check_cells(path: Path, n_steps: int, n_vms: int, step_s: float, max_cells: int) -> None:
    """Refuse a dense (n_steps, n_vms) grid above ``max_cells``, saying how to make it smaller."""
    if n_steps * n_vms > max_cells:
        raise TraceFormatError(
            path,
            f"a grid of {n_steps:,} steps x {n_vms:,} VMs ({n_steps * n_vms * 4 / 2**30:.1f} GiB per float32 "
            f"array) is above max_cells={max_cells:,}: read fewer VMs (max_vms), a time window (window), a longer "
            f"step (step_s, now {step_s:g} s), or raise max_cells",
        )


def column_error(path: Path, values: np.ndarray, name: str, integer: bool = False,
                 allow_zero: bool = True, limit: float = np.inf) -> None:
    """Raise for the first missing (NaN), infinite, negative (or zero), too large (above ``limit``) or
    fractional (``integer``) value of a Parquet column, naming its 1-based row."""
    if np.asarray(values).dtype.kind in "iu":  # integers: never NaN, infinite or fractional (no float copy)
        w = np.asarray(values)
        bad = (w < 0) | (False if allow_zero else w == 0) | (w > limit)
    else:
        w = np.asarray(values, dtype=np.float64)
        bad = ~np.isfinite(w) | (w < 0) | (False if allow_zero else w == 0) | (w > limit)
        if integer:
            bad |= np.isfinite(w) & (w != np.floor(w))
    if not bad.any():
        return
    v = np.asarray(values, dtype=np.float64)
    rows = np.flatnonzero(bad)
    if rows.size:
        r = int(rows[0])
        x = v[r]
        what = ("missing or NaN value" if np.isnan(x) else "infinite value" if not np.isfinite(x)
                else f"negative value {x:g}" if x < 0 else "zero value" if x == 0
                else f"value {x:g} above the limit {limit:g}" if x > limit else f"not a whole number: {x:g}")
        raise TraceFormatError(path, f"row {r + 1}: {what}", field=name)
