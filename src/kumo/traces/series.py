"""Readers of the time series beside a workload: grid carbon intensity and host failure traces.

* carbon intensity: a CSV or Parquet file with ``timestamp`` (any pandas-parsable time) and
  ``carbon_intensity`` (gCO2/kWh), equally spaced — OpenDC's carbon trace format; the 2021-2024 hourly
  series of Austria, Australia, Belgium and the Netherlands ship with kumo (``AT``, ``AU``, ``BE``, ``NL``);
* host failures: a Parquet or CSV file with ``failure_interval`` (ms from one failure's start to the next),
  ``failure_duration`` (ms) and ``failure_intensity`` (fraction of the hosts hit) — OpenDC's failure trace
  format; the user-reported outage traces of Facebook, Instagram and Netflix ship with kumo
  (``facebook``, ``instagram``, ``netflix``).

Every problem is a :class:`~kumo.errors.TraceFormatError` naming the file, the row (as a line number:
the header is line 1) and the field.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from kumo.errors import TraceFormatError
from kumo.traces._parquet import read_frame
from kumo.traces._textio import to_float
from kumo.traces.base import MAX_TIME_S

__all__ = ["CARBON_REGIONS", "FAILURE_TRACES", "read_carbon", "read_failures"]

CARBON_REGIONS = ("AT", "AU", "BE", "NL")
FAILURE_TRACES = ("facebook", "instagram", "netflix")


def _shipped(file: str) -> Path:
    return Path(str(resources.files("kumo.data").joinpath(file)))


def _frame(path: Path, columns: tuple[str, ...]) -> Any:
    import pandas as pd

    if not path.exists():
        raise TraceFormatError(path, "no such file")
    if path.suffix == ".parquet":
        df = read_frame(path)
    else:
        try:
            df = pd.read_csv(path)
        except Exception as e:  # noqa: BLE001  (any reader error is the file's fault: name it)
            raise TraceFormatError(path, f"cannot read it: {type(e).__name__}: {e}") from None
    for col in columns:
        if col not in df.columns:
            raise TraceFormatError(path, f"missing column {col!r} (have {', '.join(map(str, df.columns))})", field=col)
    if not len(df):
        raise TraceFormatError(path, "no rows")
    return df


def _bad_row(path: Path, values: np.ndarray, ok: np.ndarray, field: str, rule: str) -> None:
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise TraceFormatError(path, f"{field} must be {rule}, got {values[i]!r}", line=i + 2, field=field)


def read_carbon(source: str | Path) -> tuple[str, float, float, np.ndarray]:
    """``(name, epoch_s, step_s, g_per_kwh)`` of a carbon intensity series: a shipped region (``"NL"``,
    ``"carbon-NL"``) or a file. ``epoch_s`` is the Unix time of the first value, ``step_s`` the spacing."""
    import pandas as pd

    name = str(source).removeprefix("carbon-")
    path = _shipped(f"carbon-{name}.parquet") if name in CARBON_REGIONS else Path(source)
    if name not in CARBON_REGIONS and not path.exists():
        raise TraceFormatError(path, f"no such carbon series (shipped: {', '.join(CARBON_REGIONS)})")
    df = _frame(path, ("timestamp", "carbon_intensity"))
    if pd.api.types.is_numeric_dtype(df["timestamp"]):  # pandas would read them as ns since 1970, silently
        raise TraceFormatError(path, "timestamps must be times (text such as 2024-01-01T00:00Z, or a datetime "
                                     f"column), found numbers ({df['timestamp'].dtype})", field="timestamp")
    try:
        stamps = pd.to_datetime(df["timestamp"], utc=True)
    except (ValueError, TypeError, OverflowError) as e:
        raise TraceFormatError(path, f"timestamps that are not times: {e}", field="timestamp") from None
    missing = stamps.isna().to_numpy()
    if missing.any():
        raise TraceFormatError(path, "missing timestamp", line=int(np.flatnonzero(missing)[0]) + 2, field="timestamp")
    try:
        t = ((stamps - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy(dtype=np.int64)
    except (ValueError, OverflowError) as e:  # a year pandas parses but cannot count in ns from 1970
        raise TraceFormatError(path, f"timestamps out of range: {e}", field="timestamp") from None
    g = to_float(df["carbon_intensity"])
    _bad_row(path, g, np.isfinite(g) & (g >= 0) & (g < 1e5), "carbon_intensity",
             "a finite number of gCO2/kWh in [0, 1e5)")
    step = float(np.median(np.diff(t))) if len(t) > 1 else 3600.0
    if len(t) > 1 and (step <= 0 or np.any(np.abs(np.diff(t) - step) > 1)):
        bad = np.flatnonzero(np.abs(np.diff(t) - step) > 1)
        raise TraceFormatError(path, f"timestamps must rise by a constant step ({step:.0f} s)",
                               line=int(bad[0]) + 3 if len(bad) else None, field="timestamp")
    return Path(path).stem.removeprefix("carbon-"), float(t[0]), step, g


def read_failures(source: str | Path) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    """``(name, interval_s, duration_s, intensity)`` of a failure trace: a shipped one (``"netflix"``...) or a
    file (OpenDC's columns, times in ms)."""
    name = str(source).lower()
    path = _shipped(f"failures-{name}.parquet") if name in FAILURE_TRACES else Path(source)
    if name not in FAILURE_TRACES and not path.exists():
        raise TraceFormatError(path, f"no such failure trace (shipped: {', '.join(FAILURE_TRACES)})")
    df = _frame(path, ("failure_interval", "failure_duration", "failure_intensity"))
    out = []
    # at most MAX_TIME_S (3,000 years) in ms: a larger number is a damaged cell, and the sums stay finite
    top = MAX_TIME_S * 1e3
    for col, rule, ok in (("failure_interval", f"a number of ms in [0, {top:g}]", lambda x: (x >= 0) & (x <= top)),
                          ("failure_duration", f"a number of ms in (0, {top:g}]", lambda x: (x > 0) & (x <= top)),
                          ("failure_intensity", "a fraction in (0, 1]", lambda x: (x > 0) & (x <= 1))):
        v = to_float(df[col])
        _bad_row(path, v, np.isfinite(v) & ok(v), col, rule)
        out.append(v)
    return Path(path).stem.removeprefix("failures-"), out[0] / 1000.0, out[1] / 1000.0, out[2]
