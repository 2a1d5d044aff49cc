"""Fast screens that let the compatibility run skip expensive bit-exact computations when their outcome is certain.

A screen never decides a close call: it either returns the answer the exact code would give (because the
margin is far larger than any rounding difference) or None, and the caller then runs the exact code from
:mod:`kumo.policies` (the policy itself stays the single source of truth).
"""

from __future__ import annotations

import math

import numpy as np

from kumo.policies._stats import java_round

#: a screened maximum must beat the runner-up by this much (R² units)
MC_SEPARATION = 1e-6
#: and the centred Gram matrix must be this well conditioned (R² error ~ 1e-16 x condition)
MC_MAX_COND = 1e7


def mc_pick_screen(history: np.ndarray, hist_len: np.ndarray) -> int | None:
    """Maximum-correlation choice from one Gram-matrix inverse, or None when the exact code must decide.

    For candidate i, the R² of an OLS regression with intercept of its history on the others' equals
    ``1 - 1 / (G_ii (G^-1)_ii)`` with G the Gram matrix of the centred histories (m newest values, m = the
    shortest history). The pick is the strict maximum when it exceeds the runner-up by
    :data:`MC_SEPARATION`, is clearly positive, and G is well conditioned; every other case (too few
    observations, constant or collinear histories, near ties) returns None.

    Parameters
    ----------
    history : (k, H) float64, candidates' utilization histories, newest first.
    hist_len : (k,) int, valid lengths.
    """
    k = history.shape[0]
    m = int(np.min(hist_len)) if k else 0
    if k < 2 or k > m - 1:
        return None
    x = history[:, :m].T
    x = x - x.mean(axis=0)
    g = x.T @ x
    d = np.diag(g)
    if not np.all(d > 1e-12 * max(float(d.max()), 1e-300)):
        return None
    ev = np.linalg.eigvalsh(g)  # ascending; G is symmetric positive semi-definite
    if ev[0] <= 0 or ev[-1] / ev[0] > MC_MAX_COND:
        return None
    r2 = 1 - 1 / (d * np.diag(np.linalg.inv(g)))
    best = int(np.argmax(r2))
    top = r2[best]
    if not np.isfinite(top) or top <= MC_SEPARATION:
        return None
    rest = np.delete(r2, best)
    if rest.size and top - float(rest.max()) <= MC_SEPARATION:
        return None
    return best


# --------------------------------------------------------------------------------------------- IQR / MAD rows


def _pct50_sorted(s: np.ndarray, n: int) -> np.ndarray:
    # commons-math Percentile(50), legacy estimator, on rows sorted ascending with n valid values each
    if n == 1:
        return s[:, 0].copy()
    pos = 0.5 * (n + 1)
    if pos >= n:
        return s[:, n - 1].copy()
    fpos = math.floor(pos)
    i = int(fpos)
    dif = pos - fpos
    lower = s[:, i - 1]
    return lower + dif * (s[:, i] - lower)


def spread_overloaded(detector: object, kind: str, util: np.ndarray, rows: np.ndarray, n: np.ndarray) -> np.ndarray:
    """``detector.overloaded(util, rows, n)`` for IQR/MAD with the per-row percentiles at fixed columns.

    Same operations as :func:`kumo.policies._stats.iqr_cloudsim_rows` / ``mad_cloudsim_rows`` (which handle
    any mix of lengths); rows are grouped by valid length so that the percentile positions are constants.
    Tests check equality with the detector bit for bit.

    Parameters
    ----------
    detector : an InterQuartileRange or MedianAbsoluteDeviation policy.
    kind : ``"iqr"`` or ``"mad"``.
    util : (k,) current utilization with the VM.
    rows : (k, H) histories, newest first; n : (k,) valid lengths.
    """
    safety = detector.safety  # type: ignore[attr-defined]
    n0 = int(n[0])
    if n0 >= detector.min_history and (n == n0).all():  # type: ignore[attr-defined]
        return util > 1 - safety * _spread(kind, rows[:, :n0], n0)  # the usual case: one full length
    out = util > detector.fallback_threshold  # type: ignore[attr-defined]
    long = n >= detector.min_history  # type: ignore[attr-defined]
    if not long.any():
        return out
    for m in np.unique(n[long]).tolist():
        sel = np.flatnonzero(n == m)
        out[sel] = util[sel] > 1 - safety * _spread(kind, rows[sel, :m], m)
    return out


def _spread(kind: str, sub: np.ndarray, m: int) -> np.ndarray:
    # IQR (CloudSim MathUtil.iqr) or MAD (median of |median - x|) of rows with m valid values each
    s = np.sort(sub, axis=1)
    if kind == "iqr":
        q1 = java_round(0.25 * (m + 1)) - 1
        q3 = java_round(0.75 * (m + 1)) - 1
        return s[:, q3] - s[:, q1]
    med = _pct50_sorted(s, m)
    return _pct50_sorted(np.sort(np.abs(med[:, None] - sub), axis=1), m)
