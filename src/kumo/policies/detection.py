"""Host overload detection: static threshold and the adaptive tests of Beloglazov & Buyya (CCPE 2012).

Each policy answers "is this host over-utilised now?" for all hosts at once (:meth:`overloaded`) and for one
host (:meth:`overloaded_one`, used while VMs are taken off a host one by one); both give identical answers.
Arithmetic copies CloudSim 3.0.3/4.0 (``power/PowerVmAllocationPolicyMigration*``, ``util/MathUtil``) and
commons-math3 3.6.1 bit for bit; see :mod:`kumo.policies._stats` and ``shared/reference/cloudsim-planetlab.md`` §4.
The five detectors of the paper share their inputs, helpers and exactness rules, hence one module past the
usual size.

Inputs shared by every policy
-----------------------------
util_now : (n_hosts,) float64
    Current demand / capacity: Σ requested MIPS of the VMs on the host (including VMs migrating in, at full
    demand), summed in host-list order, divided by the host's total MIPS.
history : (n_hosts, H) float64
    Host utilisation history, **newest first** (H = 30 in CloudSim), as built by :func:`host_history`.
hist_len : (n_hosts,) int
    Valid entries per row, after CloudSim's zero-tail trimming (:func:`trim_zero_tail`); entries at or past
    ``hist_len`` are ignored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kumo.policies import _stats
from kumo.policies.registry import register

__all__ = [
    "InterQuartileRange",
    "LocalRegression",
    "LocalRegressionRobust",
    "MedianAbsoluteDeviation",
    "StaticThreshold",
    "cloudsim_horizon_steps",
    "host_history",
    "trim_zero_tail",
    "trim_zero_tail_1d",
]

# --------------------------------------------------------------------------------------------- host history


def host_history(
    vm_history: np.ndarray,
    vm_mips: np.ndarray,
    vm_host: np.ndarray,
    host_mips: np.ndarray,
    n_hosts: int,
) -> np.ndarray:
    """Host utilisation history as CloudSim builds it (``PowerHostUtilizationHistory.getUtilizationHistory``).

    ``h[host, i] = Σ_{vm on host} vm_history[vm, i] * vm_mips[vm] / host_mips[host]``, each term evaluated as
    ``(u * mips) / host_mips`` and accumulated from 0.0 in the order of the VM rows. To reproduce CloudSim bit
    for bit, order the rows of each host as its VM list (placement/migration-arrival order). The result is not
    trimmed; pass it through :func:`trim_zero_tail` for ``hist_len``.

    Parameters
    ----------
    vm_history : (n_vms, H) float64
        Each VM's CPU utilisation history as a fraction of its own MIPS, newest first; missing entries 0.
    vm_mips : (n_vms,) float64
        VM MIPS (CloudSim ``Vm.getMips()``; every PlanetLab VM has one PE).
    vm_host : (n_vms,) int
        Host index of each VM; -1 = on no host (ignored). Only VMs *currently on* the host count, and
        migrating-in VMs are on their target host in CloudSim's VM list.
    host_mips : (n_hosts,) float64
        Total host MIPS (``Host.getTotalMips()``).
    n_hosts : int

    Returns
    -------
    (n_hosts, H) float64, newest first.
    """
    vm_history = np.asarray(vm_history, dtype=np.float64)
    vm_host = np.asarray(vm_host, dtype=np.int64)
    n_vms, h = vm_history.shape
    on = vm_host >= 0
    hosts = vm_host[on]
    terms = vm_history[on] * np.asarray(vm_mips, dtype=np.float64)[on][:, None]
    terms = terms / np.asarray(host_mips, dtype=np.float64)[hosts][:, None]
    # bincount adds weights in input order (VM-major), so each (host, i) bin is a sequential sum over VMs
    bins = (hosts[:, None] * h + np.arange(h)[None, :]).ravel()
    out = np.bincount(bins, weights=terms.ravel(), minlength=n_hosts * h)
    return out.reshape(n_hosts, h)


def trim_zero_tail(history: np.ndarray) -> np.ndarray:
    """Valid length of each history after CloudSim's ``MathUtil.trimZeroTail``.

    Rule: drop the trailing (oldest) entries that are exactly 0.0; the length is the index of the last
    non-zero entry + 1. An all-zero (or empty) history keeps length **1** (CloudSim returns ``[0.0]``), so a
    host without load has one valid entry, 0.0. NaN counts as non-zero.

    Parameters
    ----------
    history : (..., H) float64, newest first.

    Returns
    -------
    (...) int64 lengths in [1, max(H, 1)].
    """
    history = np.asarray(history, dtype=np.float64)
    h = history.shape[-1]
    if h == 0:
        return np.ones(history.shape[:-1], dtype=np.int64)
    nz = history != 0.0
    last = h - 1 - np.argmax(nz[..., ::-1], axis=-1)
    return np.where(nz.any(axis=-1), last + 1, 1).astype(np.int64)


def trim_zero_tail_1d(row: np.ndarray, filled: int | None = None) -> int:
    """:func:`trim_zero_tail` of one (H,) float64 row, as an int (one numpy call: the scalar paths' form).

    ``filled``: when given, every entry at or past it is known to be 0.0 (a history recorded ``filled`` times)."""
    n = row.shape[0] if filled is None else min(filled, row.shape[0])
    if n and row[n - 1] != 0.0:  # a full history (the common case); NaN is non-zero here too
        return n
    nz = np.flatnonzero(row)
    return int(nz[-1]) + 1 if nz.size else 1


def cloudsim_horizon_steps(max_vm_ram_mb: float, host_bw: float = 1_000_000.0, interval_s: float = 300.0,
                           window: int = 10) -> int:
    """LR extrapolation point ``window + ceil(T_mig / interval)`` with ``T_mig = RAM / (BW / 16000)`` (CloudSim).

    With the PlanetLab set-up (RAM <= 1740 MB, BW = 1e6 units = 1 Gbit/s, 300 s) this is 11.
    """
    return int(window + math.ceil(max_vm_ram_mb / (host_bw / (2 * 8000)) / interval_s))


# --------------------------------------------------------------------------------------------- helpers


def _check(history: np.ndarray, hist_len: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    history = np.asarray(history, dtype=np.float64)
    hist_len = np.asarray(hist_len, dtype=np.int64)
    if history.ndim != 2 or history.shape[0] != n or hist_len.shape != (n,):
        raise ValueError(
            f"history must be (n_hosts, H) and hist_len (n_hosts,) for n_hosts={n}, "
            f"got {history.shape} and {hist_len.shape}"
        )
    if n and (hist_len.min() < 0 or hist_len.max() > history.shape[1]):
        raise ValueError(f"hist_len must be in [0, H={history.shape[1]}], got range "
                         f"[{hist_len.min()}, {hist_len.max()}]")
    return history, hist_len


def _unit_interval(name: str, v: float) -> list[str]:
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v <= 1
    return [] if ok else [f"{name}: must be in (0, 1], got {v!r}"]


def _non_negative(name: str, v: float) -> list[str]:
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
    return [] if ok else [f"{name}: must be a finite number >= 0, got {v!r}"]


def _int_at_least(name: str, v: int, lo: int) -> list[str]:
    ok = isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= lo
    return [] if ok else [f"{name}: must be an integer >= {lo}, got {v!r}"]


def _is_bool(name: str, v: bool) -> list[str]:
    return [] if isinstance(v, bool) else [f"{name}: must be true or false, got {v!r}"]


# --------------------------------------------------------------------------------------------- THR


@register("detection", "thr")
@dataclass(frozen=True)
class StaticThreshold:
    """Static utilisation threshold (Beloglazov & Buyya, CCPE 2012, "THR"; CloudSim ``…MigrationStaticThreshold``).

    Overloaded iff ``util_now > threshold`` (strict).

    Parameters
    ----------
    threshold : float in (0, 1]
        Upper utilisation threshold (CloudSim example: 0.8).
    """

    threshold: float = 0.8

    def validate(self) -> list[str]:
        return _unit_interval("threshold", self.threshold)

    def upper_threshold(self, history: np.ndarray, hist_len: np.ndarray) -> np.ndarray:
        """Upper threshold per host, (n_hosts,) float64: the constant."""
        return np.full(np.shape(hist_len), float(self.threshold))

    def overloaded(self, util_now: np.ndarray, history: np.ndarray | None = None,
                   hist_len: np.ndarray | None = None) -> np.ndarray:
        """(n_hosts,) bool: ``util_now > threshold``; history is not used."""
        return np.asarray(util_now, dtype=np.float64) > self.threshold

    def overloaded_one(self, util_now: float, history_1d: np.ndarray | None = None) -> bool:
        """Scalar :meth:`overloaded` for one host."""
        return bool(float(util_now) > self.threshold)


# --------------------------------------------------------------------------------------------- IQR / MAD


@dataclass(frozen=True)
class _AdaptiveThreshold:
    # threshold = 1 - safety * spread(history); fallback to a static threshold on short histories
    safety: float
    fallback_threshold: float
    min_history: int

    def validate(self) -> list[str]:
        return (_non_negative("safety", self.safety)
                + _unit_interval("fallback_threshold", self.fallback_threshold)
                + _int_at_least("min_history", self.min_history, self._MIN_HISTORY))

    _MIN_HISTORY = 1

    def _spread_rows(self, history: np.ndarray, hist_len: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _spread_one(self, history_1d: list[float]) -> float:
        raise NotImplementedError

    def upper_threshold(self, history: np.ndarray, hist_len: np.ndarray) -> np.ndarray:
        """Upper threshold per host, (n_hosts,) float64: ``1 - safety * spread``, or the fallback threshold
        where ``hist_len < min_history``."""
        history, hist_len = _check(history, hist_len, np.shape(hist_len)[0])
        ok = hist_len >= self.min_history
        out = np.full(hist_len.shape, float(self.fallback_threshold))
        if ok.any():
            out[ok] = 1 - self.safety * self._spread_rows(history[ok], hist_len[ok])
        return out

    def overloaded(self, util_now: np.ndarray, history: np.ndarray, hist_len: np.ndarray) -> np.ndarray:
        """(n_hosts,) bool: ``util_now > upper_threshold(history, hist_len)`` (strict)."""
        util_now = np.asarray(util_now, dtype=np.float64)
        return util_now > self.upper_threshold(history, hist_len)

    def overloaded_one(self, util_now: float, history_1d: np.ndarray) -> bool:
        """Scalar :meth:`overloaded` for one host; ``history_1d`` is its valid history, newest first."""
        if type(history_1d) is np.ndarray and history_1d.dtype == np.float64:
            h = history_1d.ravel().tolist()  # the same Python floats, in one call
        else:
            h = [float(v) for v in np.asarray(history_1d, dtype=np.float64).ravel()]
        if len(h) < self.min_history:
            return bool(float(util_now) > self.fallback_threshold)
        return bool(float(util_now) > 1 - self.safety * self._spread_one(h))

    def overloaded_floats(self, util_now: float, history: list[float]) -> bool:
        """:meth:`overloaded_one` of a valid history given as a list of Python floats, newest first (no copy)."""
        if len(history) < self.min_history:
            return bool(util_now > self.fallback_threshold)
        return bool(util_now > 1 - self.safety * self._spread_floats(history))

    def _spread_floats(self, history: list[float]) -> float:
        return self._spread_one(history)


@register("detection", "iqr")
@dataclass(frozen=True)
class InterQuartileRange(_AdaptiveThreshold):
    """Adaptive threshold ``1 - s·IQR`` (Beloglazov & Buyya, CCPE 2012, host overload detection; CloudSim ``…MigrationInterQuartileRange``).

    ``IQR = x[round(0.75(n+1)) - 1] - x[round(0.25(n+1)) - 1]`` on the sorted valid history, ``round`` being
    Java ``Math.round`` (halves up). Overloaded iff ``util_now > 1 - safety·IQR``; with fewer than
    ``min_history`` values, iff ``util_now > fallback_threshold``.

    Parameters
    ----------
    safety : float >= 0
        Safety parameter s (CloudSim example: 1.5).
    fallback_threshold : float in (0, 1]
        Static threshold used on short histories (CloudSim: 0.7).
    min_history : int >= 2
        Minimum valid history length (CloudSim: 12).
    """

    safety: float = 1.5
    fallback_threshold: float = 0.7
    min_history: int = 12
    _MIN_HISTORY = 2

    def _spread_rows(self, history: np.ndarray, hist_len: np.ndarray) -> np.ndarray:
        return _stats.iqr_cloudsim_rows(history, hist_len)

    def _spread_one(self, history_1d: list[float]) -> float:
        return _stats.iqr_cloudsim(history_1d)

    def _spread_floats(self, history: list[float]) -> float:
        return _stats.iqr_cloudsim_floats(history)


@register("detection", "mad")
@dataclass(frozen=True)
class MedianAbsoluteDeviation(_AdaptiveThreshold):
    """Adaptive threshold ``1 - s·MAD`` (Beloglazov & Buyya, CCPE 2012, host overload detection; CloudSim ``…MigrationMedianAbsoluteDeviation``).

    ``MAD = median_i |median(h) - h_i|``, both medians by commons-math ``Percentile(50)`` (legacy estimator,
    :func:`kumo.policies._stats.percentile_legacy`). Overloaded iff ``util_now > 1 - safety·MAD``; with
    fewer than ``min_history`` values, iff ``util_now > fallback_threshold``.

    Parameters
    ----------
    safety : float >= 0
        Safety parameter s (CloudSim example: 2.5).
    fallback_threshold : float in (0, 1]
        Static threshold used on short histories (CloudSim: 0.7).
    min_history : int >= 1
        Minimum valid history length (CloudSim: 12).
    """

    safety: float = 2.5
    fallback_threshold: float = 0.7
    min_history: int = 12

    def _spread_rows(self, history: np.ndarray, hist_len: np.ndarray) -> np.ndarray:
        return _stats.mad_cloudsim_rows(history, hist_len)

    def _spread_one(self, history_1d: list[float]) -> float:
        return _stats.mad_cloudsim(history_1d)

    def _spread_floats(self, history: list[float]) -> float:
        return _stats.mad_cloudsim_floats(history)


# --------------------------------------------------------------------------------------------- LR / LRR


@dataclass(frozen=True)
class _RegressionDetector:
    # predict utilisation `horizon_steps` on a line fitted to the `window` newest values; overloaded iff
    # safety * prediction >= 1; short histories use the static fallback
    safety: float
    fallback_threshold: float
    min_history: int
    window: int
    horizon_steps: int

    def validate(self) -> list[str]:
        out = (_non_negative("safety", self.safety)
               + _unit_interval("fallback_threshold", self.fallback_threshold)
               + _int_at_least("window", self.window, 3)
               + _int_at_least("min_history", self.min_history, 1)
               + _int_at_least("horizon_steps", self.horizon_steps, 1))
        if not out and self.min_history < self.window:
            out.append(f"min_history: must be >= window ({self.window}), got {self.min_history}")
        return out

    def _fit_rows(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    #: the exact fit can turn an OLS "over" into "not over" (LRR's robust step); a screen must not trust it
    ols_may_flip_over = False

    def ols_weights(self) -> np.ndarray | None:
        """Weights ``g`` (window,) on the newest-first window such that the OLS prediction at
        ``horizon_steps`` is ``safety * (h[:window] @ g)`` up to rounding, or None when the fit is not OLS.

        OLS is linear in the data, so callers can screen many candidate histories with one matrix-vector
        product and run :meth:`overloaded` only where the screen is within rounding of the threshold
        (``kumo.policies.consolidation`` does).
        """
        if not self._is_ols():
            return None
        w = int(self.window)
        x = np.arange(1, w + 1, dtype=np.float64)  # oldest first
        beta = (x - x.mean()) / ((x - x.mean()) ** 2).sum()
        alpha = 1.0 / w - beta * x.mean()
        return (alpha + beta * float(self.horizon_steps))[::-1].copy()  # newest first

    def _is_ols(self) -> bool:
        return False

    def _fit_one(self, y: list[float]) -> tuple[float, float]:
        raise NotImplementedError

    def _horizon(self, horizon: np.ndarray | float | None, n: int) -> np.ndarray:
        h = float(self.horizon_steps) if horizon is None else horizon
        return np.broadcast_to(np.asarray(h, dtype=np.float64), (n,))

    def predicted(self, history: np.ndarray, hist_len: np.ndarray,
                  horizon: np.ndarray | float | None = None) -> np.ndarray:
        """Safety-scaled predicted utilisation ``safety * (a + b * horizon)`` per host, (n_hosts,) float64.

        NaN where ``hist_len < min_history`` (those hosts use the fallback threshold). ``horizon`` (scalar
        or (n_hosts,)) overrides ``horizon_steps``, e.g. :func:`cloudsim_horizon_steps` of each host's
        largest VM. CloudSim records this value as the host's "threshold" history entry.
        """
        history, hist_len = _check(history, hist_len, np.shape(hist_len)[0])
        n = hist_len.shape[0]
        hz = self._horizon(horizon, n)
        ok = hist_len >= max(self.min_history, self.window)
        out = np.full(n, np.nan)
        if ok.any():
            y = history[ok, : self.window][:, ::-1]  # the window newest values, oldest first
            a, b = self._fit_rows(y)
            with np.errstate(all="ignore"):
                out[ok] = (a + b * hz[ok]) * self.safety
        return out

    def upper_threshold(self, history: np.ndarray, hist_len: np.ndarray) -> np.ndarray:
        """(n_hosts,) float64: ``fallback_threshold`` where the history is short, NaN elsewhere (the test
        there is ``predicted >= 1`` and does not compare ``util_now`` with a threshold)."""
        history, hist_len = _check(history, hist_len, np.shape(hist_len)[0])
        ok = hist_len >= max(self.min_history, self.window)
        return np.where(ok, np.nan, float(self.fallback_threshold))

    def overloaded(self, util_now: np.ndarray, history: np.ndarray, hist_len: np.ndarray,
                   horizon: np.ndarray | float | None = None) -> np.ndarray:
        """(n_hosts,) bool: ``predicted >= 1``; hosts with a short history: ``util_now > fallback_threshold``."""
        util_now = np.asarray(util_now, dtype=np.float64)
        pred = self.predicted(history, hist_len, horizon)
        short = np.asarray(hist_len) < max(self.min_history, self.window)
        with np.errstate(invalid="ignore"):
            return np.where(short, util_now > self.fallback_threshold, pred >= 1)

    def overloaded_one(self, util_now: float, history_1d: np.ndarray, horizon: float | None = None) -> bool:
        """Scalar :meth:`overloaded` for one host; ``history_1d`` is its valid history, newest first."""
        h = np.asarray(history_1d, dtype=np.float64).ravel()
        if h.shape[0] < max(self.min_history, self.window):
            return bool(float(util_now) > self.fallback_threshold)
        y = [float(v) for v in h[: self.window][::-1]]
        a, b = self._fit_one(y)
        hz = float(self.horizon_steps) if horizon is None else float(horizon)
        return bool((a + b * hz) * self.safety >= 1)


@register("detection", "lr")
@dataclass(frozen=True)
class LocalRegression(_RegressionDetector):
    """Local-regression overload prediction (Beloglazov & Buyya, CCPE 2012, host overload detection; CloudSim ``…MigrationLocalRegression``).

    The ``window`` newest history values, oldest first at x = 1..window, are fitted with a line; the host
    is overloaded iff ``safety * (a + b * horizon_steps) >= 1`` (non-strict). Hosts with fewer than
    ``min_history`` values use ``util_now > fallback_threshold``. The current demand is not used otherwise.

    With ``weighted=False`` (CloudSim) the fit is ordinary least squares exactly as commons-math
    ``SimpleRegression`` computes it: CloudSim passes tricube weights but never applies them (see
    :func:`kumo.policies._stats.cloudsim_robust_fit`). ``weighted=True`` applies the paper's tricube
    weights (:func:`kumo.policies._stats.loess_line_fit`, no robustness step).

    Parameters
    ----------
    safety : float >= 0
        Safety parameter s (CloudSim example: 1.2).
    fallback_threshold : float in (0, 1]
        Static threshold for short histories (CloudSim: 0.7).
    min_history : int >= window
        Minimum valid history length (CloudSim: 10).
    window : int >= 3
        Number of newest values fitted (CloudSim: 10).
    horizon_steps : int >= 1
        Abscissa of the prediction, the newest value being at x = window. CloudSim:
        ``10 + ceil(max VM RAM / 62.5 MB/s / 300 s)`` = 11 for the PlanetLab VMs
        (:func:`cloudsim_horizon_steps`).
    weighted : bool
        Tricube-weighted fit instead of CloudSim's OLS.
    """

    safety: float = 1.2
    fallback_threshold: float = 0.7
    min_history: int = 10
    window: int = 10
    horizon_steps: int = 11
    weighted: bool = False

    def validate(self) -> list[str]:
        return super().validate() + _is_bool("weighted", self.weighted)

    def _is_ols(self) -> bool:
        return not self.weighted

    def _fit_rows(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.weighted:
            return _stats.loess_line_fit_rows(y, 0)
        return _stats.simple_regression_rows(np.arange(1, y.shape[1] + 1, dtype=np.float64), y)

    def _fit_one(self, y: list[float]) -> tuple[float, float]:
        if self.weighted:
            return _stats.loess_line_fit(y, 0)
        return _stats.simple_regression([float(i + 1) for i in range(len(y))], y)


@register("detection", "lrr")
@dataclass(frozen=True)
class LocalRegressionRobust(_RegressionDetector):
    """Robust local-regression overload prediction (Beloglazov & Buyya, CCPE 2012, host overload detection; CloudSim ``…MigrationLocalRegressionRobust``).

    Same test as :class:`LocalRegression` with a robust line fit.

    ``cloudsim_compat=True`` copies CloudSim's ``MathUtil.getRobustLoessParameterEstimates`` bit for bit. Its
    weights only take effect when >= 40 % of them are <= 0, which happens only if the median absolute OLS
    residual is exactly 0 (then the fit overflows to NaN and the host is reported not overloaded); in
    every other case the fit is plain OLS and LRR == LR (:func:`kumo.policies._stats.cloudsim_robust_fit`).

    ``cloudsim_compat=False`` is the method the paper describes (Cleveland's LOESS, one local line at the
    newest point): tricube weights over the window (the oldest point weighs 0), then ``robust_iterations``
    rounds of iteratively reweighted least squares with bisquare weights on ``residual / (6 · median
    |residual|)`` (:func:`kumo.policies._stats.loess_line_fit`). Outliers then pull the line far less.

    Parameters
    ----------
    safety, fallback_threshold, min_history, window, horizon_steps
        As in :class:`LocalRegression` (CloudSim: 1.2, 0.7, 10, 10, 11).
    cloudsim_compat : bool
        Copy CloudSim's arithmetic (default) instead of the real robust LOESS.
    robust_iterations : int >= 1
        Bisquare reweighting rounds when ``cloudsim_compat`` is False (Cleveland: 2 to 3).
    """

    safety: float = 1.2
    fallback_threshold: float = 0.7
    min_history: int = 10
    window: int = 10
    horizon_steps: int = 11
    cloudsim_compat: bool = True
    robust_iterations: int = 2

    def validate(self) -> list[str]:
        return (super().validate() + _is_bool("cloudsim_compat", self.cloudsim_compat)
                + _int_at_least("robust_iterations", self.robust_iterations, 1))

    ols_may_flip_over = True  # CloudSim's robust fit gives NaN ("not over") where OLS residuals vanish

    def _is_ols(self) -> bool:
        return bool(self.cloudsim_compat)

    def _fit_rows(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.cloudsim_compat:
            return _stats.cloudsim_robust_fit_rows(y)
        return _stats.loess_line_fit_rows(y, self.robust_iterations)

    def _fit_one(self, y: list[float]) -> tuple[float, float]:
        if self.cloudsim_compat:
            return _stats.cloudsim_robust_fit(y)
        return _stats.loess_line_fit(y, self.robust_iterations)
