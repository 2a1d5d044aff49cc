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

import numpy as np

__all__ = ["FORECASTS", "REGIONS", "CarbonForecast", "CarbonSeries", "load_series", "step_intensity"]

#: the grid series shipped with kumo
REGIONS = ("AT", "AU", "BE", "NL")  # = kumo.traces.series.CARBON_REGIONS


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
            if not (np.isfinite(start) and start >= 0):
                raise ValueError(f"start {start!r}: hours from the series' start must be finite and >= 0")
            return float(start) * 3600.0
        try:
            t = np.datetime64(start, "s").astype("int64")
        except ValueError:
            raise ValueError(f"start {start!r} is not an ISO date such as '2023-06-05' or a number of hours") from None
        off = float(t) - self.epoch_s
        if not 0 <= off < self.n * self.step_s:
            raise ValueError(f"start {start!r} is outside the series {self.name} "
                             f"({np.datetime64(int(self.epoch_s), 's')} + {self.n * self.step_s / 3600:.0f} h)")
        return off


def load_series(source: str) -> CarbonSeries:
    """A shipped series (``"NL"`` or ``"carbon-NL"``) or a CSV/Parquet file with columns ``timestamp`` and
    ``carbon_intensity`` (gCO2/kWh), equally spaced (read by :func:`kumo.traces.series.read_carbon`)."""
    from kumo.traces.series import read_carbon

    name, epoch, step, g = read_carbon(source)
    return CarbonSeries(name=name, epoch_s=epoch, step_s=step, g_per_kwh=g)


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


#: what a policy may be told of the intensity ahead (``[carbon] forecast``)
FORECASTS = ("perfect", "persistence", "yesterday")


@dataclass(frozen=True)
class CarbonForecast:
    """What policies are told of the grid's intensity ahead, at every step of a run.

    ``ext`` holds the ``lag`` steps before the run (one day) and then the run's ``n`` steps, gCO2/kWh. The
    intensity now is always known; the steps ahead are, by ``kind``:

    * ``perfect``: the series the run replays (an upper bound on what any forecaster gives);
    * ``persistence``: the intensity now, held for the whole horizon;
    * ``yesterday``: each step ahead as it was one day (``lag`` steps) earlier, two days for a horizon
      beyond one day, and so on: the "same hour yesterday" baseline of carbon-aware scheduling, which
      follows the daily cycle of solar and demand but not the weather.
    """

    kind: str
    ext: np.ndarray
    lag: int

    def __post_init__(self) -> None:
        if self.kind not in FORECASTS:
            raise ValueError(f"forecast {self.kind!r}: valid are {', '.join(FORECASTS)}")
        if self.lag < 1:
            raise ValueError("forecast lag must be >= 1 step")

    @property
    def n(self) -> int:
        """Steps of the run."""
        return int(self.ext.shape[0]) - self.lag

    def at(self, k: int, steps: int) -> np.ndarray:
        """(m,) the intensity told at step ``k`` for steps ``k .. k + m - 1``, ``m = min(steps, n - k)``."""
        lag, m = self.lag, max(0, min(int(steps), self.n - int(k)))
        if self.kind == "perfect":
            return self.ext[lag + k:lag + k + m]
        if self.kind == "persistence":
            return np.full(m, self.ext[lag + k])
        j = np.arange(m)
        return self.ext[lag + k + j - lag * -(-j // lag)]  # j = 0 is now; j >= 1 goes back ceil(j / lag) days

    def day_mean(self, window: int) -> np.ndarray:
        """(n,) at every step k, the mean of :meth:`at` over ``window`` steps (fewer at the run's end)."""
        n, lag = self.n, self.lag
        k = np.arange(n)
        w = np.minimum(k + window, n) - k
        now = self.ext[lag:]
        if self.kind == "persistence":
            return now.copy()
        cs = np.concatenate([[0.0], np.cumsum(self.ext)])
        if self.kind == "perfect":
            return (cs[lag + k + w] - cs[lag + k]) / w
        if window > lag:
            return np.array([self.at(i, window).mean() for i in range(n)])
        # yesterday within one day: now, then the steps k + 1 - lag .. k + w - 1 - lag
        return (now + cs[k + w] - cs[k + 1]) / w
