"""Grid carbon intensity: how many grams of CO2 a kWh drawn from a data center's grid emits, over time.

A data center's emissions are its facility energy (IT energy x PUE) times the intensity of its grid at
that time: ``kgCO2 = kWh x gCO2/kWh / 1000``. The intensity is a constant (the simple case) or an hourly
series (gCO2/kWh): the real 2021-2024 series of Austria (AT), Australia (AU), Belgium (BE) and the
Netherlands (NL) ship with kumo (``carbon-AT`` ...; from OpenDC's carbon traces, see
``kumo/data/PROVENANCE.md``), or a CSV/Parquet file with a time column and an intensity column.

A run's step k covers ``[start + k dt, start + (k+1) dt)``; its intensity is the time-weighted mean of the
hourly values over that interval (a 300 s step inside one hour takes that hour's value). Where the run
starts in the series is the scenario's choice (``start``: an ISO date or hours from the series' start), since
most traces carry no calendar date; a run longer than the series wraps around to its start.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from kumo.errors import TraceFormatError

__all__ = ["REGIONS", "CarbonSeries", "load_series", "step_intensity"]

#: the grid series shipped with kumo
REGIONS = ("AT", "AU", "BE", "NL")


@dataclass(frozen=True)
class CarbonSeries:
    """An intensity series: ``t_s`` (n,) seconds since ``epoch_s`` (Unix time of its first value), equally
    spaced by ``step_s``, and ``g_per_kwh`` (n,) gCO2/kWh, each value holding until the next."""

    name: str
    epoch_s: float
    step_s: float
    g_per_kwh: np.ndarray

    @property
    def n(self) -> int:
        return int(self.g_per_kwh.shape[0])

    @property
    def mean(self) -> float:
        return float(self.g_per_kwh.mean())

    def offset_s(self, start: str | float | None) -> float:
        """Seconds from the series' start to ``start`` (an ISO date/time, or hours as a number; None = 0)."""
        if start is None:
            return 0.0
        if isinstance(start, int | float):
            return float(start) * 3600.0
        t = np.datetime64(start, "s").astype("int64")
        off = float(t) - self.epoch_s
        if not 0 <= off < self.n * self.step_s:
            raise ValueError(f"start {start!r} is outside the series {self.name} "
                             f"({np.datetime64(int(self.epoch_s), 's')} + {self.n * self.step_s / 3600:.0f} h)")
        return off


def _packaged(region: str) -> Path:
    return Path(str(resources.files("kumo.data").joinpath(f"carbon-{region}.parquet")))


def load_series(source: str) -> CarbonSeries:
    """A shipped series (``"NL"`` or ``"carbon-NL"``) or a CSV/Parquet file with columns ``timestamp`` (any
    pandas-parsable time) and ``carbon_intensity`` (gCO2/kWh), equally spaced."""
    import pandas as pd

    name = source.removeprefix("carbon-")
    path = _packaged(name) if name in REGIONS else Path(source)
    if not path.exists():
        raise TraceFormatError(path, f"no such carbon series (shipped: {', '.join(REGIONS)})")
    try:
        df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as e:  # noqa: BLE001  (any reader error is the file's fault: name it)
        raise TraceFormatError(path, f"cannot read the carbon series: {type(e).__name__}: {e}") from None
    for col in ("timestamp", "carbon_intensity"):
        if col not in df.columns:
            raise TraceFormatError(path, f"missing column {col!r} (have {', '.join(map(str, df.columns))})", field=col)
    if len(df) < 1:
        raise TraceFormatError(path, "no rows")
    t = pd.to_datetime(df["timestamp"], utc=True).astype("int64").to_numpy() // 10**9
    g = df["carbon_intensity"].to_numpy(dtype=np.float64)
    bad = ~np.isfinite(g) | (g < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise TraceFormatError(path, f"carbon_intensity must be finite and >= 0, got {g[i]!r}", line=i + 2,
                               field="carbon_intensity")
    step = float(np.median(np.diff(t))) if len(t) > 1 else 3600.0
    if len(t) > 1 and (np.any(np.diff(t) <= 0) or np.any(np.abs(np.diff(t) - step) > 1)):
        raise TraceFormatError(path, f"timestamps must rise by a constant step (median {step:.0f} s)", field="timestamp")
    return CarbonSeries(name=name, epoch_s=float(t[0]), step_s=step, g_per_kwh=g)


def step_intensity(series: CarbonSeries, offset_s: float, n_steps: int, step_s: float) -> np.ndarray:
    """(n_steps,) gCO2/kWh of each simulation step: the time-weighted mean of the series over the step, the
    run starting ``offset_s`` into the series (wrapping around its end)."""
    period = series.n * series.step_s
    # the series' integral at any time, so a step's mean is a difference of two integrals (exact)
    cum = np.concatenate([[0.0], np.cumsum(series.g_per_kwh * series.step_s)])

    def integral(t: np.ndarray) -> np.ndarray:
        full, rest = np.divmod(t, period)
        i = np.minimum((rest // series.step_s).astype(np.int64), series.n - 1)
        return full * cum[-1] + cum[i] + series.g_per_kwh[i] * (rest - i * series.step_s)

    edges = offset_s + np.arange(n_steps + 1) * step_s
    return np.diff(integral(edges)) / step_s
