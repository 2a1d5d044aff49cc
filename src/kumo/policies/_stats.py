"""Java-compatible numerics for the CloudSim 3.0.3/4.0 consolidation policies (commons-math3 3.6.1 semantics).

Every function here reproduces the *floating-point operation order* of the Java code it stands for, so that
the results agree bit for bit, not just to a tolerance. That matters: a 2-VM Maximum-Correlation choice is a
strict ``>`` between two mathematically equal R² values, and an LR decision is ``prediction >= 1``. Every
such port lives here, in one module past the usual size, so the rules below are stated once.

Rules followed throughout (written from the documented definitions, not from copied code):

* A Java ``double s = 0; for (...) s += a[i];`` loop is :func:`java_sum`: sequential, from ``+0.0``. numpy's
  ``sum``/``dot`` reorder (pairwise or BLAS), so they are never used where bits matter.
* ``a * b * c`` is ``(a * b) * c``; nothing is fused (Java has no implicit FMA; numpy ufuncs do not fuse).
* Scalar functions are pure Python (``float`` is IEEE binary64, as Java's ``double``), vector functions are
  numpy over rows; both do the same operations in the same order, so they agree exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: ``Double.MIN_VALUE`` (smallest positive subnormal), the start value of CloudSim's MC maximum search.
JAVA_DOUBLE_MIN_VALUE = 5e-324
#: ``Double.MAX_VALUE``.
JAVA_DOUBLE_MAX_VALUE = 1.7976931348623157e308
#: commons-math ``Precision.SAFE_MIN`` (= ``Double.MIN_NORMAL``), SimpleRegression's "sumXX is zero" test.
SAFE_MIN = 2.0**-1022

# --------------------------------------------------------------------------------------------- basics


def java_round(x: float) -> int:
    """``Math.round(double)`` (Java 7+): the closest integer, halves rounded up (towards +inf).

    Equals ``floor(x + 0.5)`` in exact arithmetic; computed without the ``x + 0.5`` rounding error.
    NaN gives 0, as in Java.
    """
    if x != x:
        return 0
    f = math.floor(x)
    return int(f) + (1 if x - f >= 0.5 else 0)


def java_round_array(x: np.ndarray) -> np.ndarray:
    """Vector :func:`java_round` (int64); ``x - floor(x)`` is exact for binary64, so halves are exact."""
    x = np.asarray(x, dtype=np.float64)
    f = np.floor(x)
    out = f + (x - f >= 0.5)
    return np.where(np.isnan(x), 0, out).astype(np.int64)


def java_sum(a: np.ndarray, axis: int = -1) -> np.ndarray:
    """Sequential left-to-right sum along ``axis`` starting from +0.0, as a Java ``s += a[i]`` loop.

    Parameters
    ----------
    a : array, any shape; summed along ``axis``.

    Returns
    -------
    array with ``axis`` removed.
    """
    a = np.moveaxis(np.asarray(a, dtype=np.float64), axis, -1)
    acc = np.zeros(a.shape[:-1])
    for j in range(a.shape[-1]):
        acc = acc + a[..., j]
    return acc


def _java_neg_sum(a: np.ndarray) -> np.ndarray:
    # Java ``double s = 0; for (...) s -= a[i];`` along the last axis.
    acc = np.zeros(a.shape[:-1])
    for j in range(a.shape[-1]):
        acc = acc - a[..., j]
    return acc


# --------------------------------------------------------------------------------------------- percentile


def percentile_legacy(values: Sequence[float] | np.ndarray, p: float) -> float:
    """commons-math3 ``Percentile(p)`` with its default ``EstimationType.LEGACY`` estimator.

    Definition (commons-math3 3.6.1 documentation of ``Percentile``/``EstimationType.LEGACY``): NaNs are
    removed, the rest sorted ascending (``x[1..n]``, 1-based). ``pos = p/100 * (n + 1)`` (``pos = 0`` for
    ``p/100 == 0``, ``n`` for ``p/100 == 1``). If ``pos < 1`` the result is ``x[1]``; if ``pos >= n`` it is
    ``x[n]``; otherwise with ``d = pos - floor(pos)``, ``lower = x[floor(pos)]``, ``upper = x[floor(pos)+1]``
    the result is ``lower + d * (upper - lower)`` (this form, not ``(lower + upper) / 2``: they differ in
    the last bit). ``n == 1`` returns the value, ``n == 0`` NaN.

    Parameters
    ----------
    values : 1-D data, any order.
    p : percentile in (0, 100].
    """
    return _percentile_sorted(sorted(float(v) for v in values if v == v), p)


def _percentile_sorted(work: list[float], p: float) -> float:
    """:func:`percentile_legacy` of ``work``, a list of floats without NaN, sorted ascending."""
    n = len(work)
    if n == 0:
        return math.nan
    if n == 1:
        return work[0]
    q = p / 100.0
    pos = 0.0 if q == 0.0 else (float(n) if q == 1.0 else q * (n + 1))
    if pos < 1:
        return work[0]
    if pos >= n:
        return work[n - 1]
    fpos = math.floor(pos)
    i = int(fpos)
    dif = pos - fpos
    lower, upper = work[i - 1], work[i]
    return lower + dif * (upper - lower)


def percentile_legacy_sorted_rows(sorted_rows: np.ndarray, n: np.ndarray, p: float) -> np.ndarray:
    """Row-wise :func:`percentile_legacy` of rows already sorted ascending whose first ``n`` entries are valid.

    Parameters
    ----------
    sorted_rows : (r, H) float64, each row ascending over its first ``n[i]`` entries (the rest ignored).
    n : (r,) int, number of valid entries per row, 1 <= n <= H (n == 0 gives NaN).
    p : percentile in (0, 100].

    Returns
    -------
    (r,) float64
    """
    s = np.asarray(sorted_rows, dtype=np.float64)
    n = np.asarray(n, dtype=np.int64)
    r, h = s.shape
    if r == 0:
        return np.zeros(0)
    q = p / 100.0
    nf = n.astype(np.float64)
    pos = np.zeros(r) if q == 0.0 else (nf.copy() if q == 1.0 else q * (nf + 1))
    fpos = np.floor(pos)
    i = fpos.astype(np.int64)
    dif = pos - fpos
    hi = max(h - 1, 0)
    lower = np.take_along_axis(s, np.clip(i - 1, 0, hi)[:, None], 1)[:, 0]
    upper = np.take_along_axis(s, np.clip(i, 0, hi)[:, None], 1)[:, 0]
    first = s[:, 0]
    last = np.take_along_axis(s, np.clip(n - 1, 0, hi)[:, None], 1)[:, 0]
    with np.errstate(invalid="ignore"):
        mid = lower + dif * (upper - lower)
    out = np.where(pos < 1, first, np.where(pos >= nf, last, mid))
    out = np.where(n == 1, first, out)
    return np.where(n <= 0, np.nan, out)


def _sorted_valid(rows: np.ndarray, n: np.ndarray) -> np.ndarray:
    # sort each row's first n entries; padding with +inf keeps them at the end
    rows = np.asarray(rows, dtype=np.float64)
    valid = np.arange(rows.shape[1])[None, :] < np.asarray(n)[:, None]
    return np.sort(np.where(valid, rows, np.inf), axis=1)


# --------------------------------------------------------------------------------------------- IQR, MAD


def iqr_cloudsim(values: Sequence[float] | np.ndarray) -> float:
    """CloudSim ``MathUtil.iqr``: ``s[round(0.75(n+1)) - 1] - s[round(0.25(n+1)) - 1]`` on sorted data.

    ``round`` is Java ``Math.round``. Needs ``n >= 2`` (for ``n == 1`` the upper index is out of range).
    """
    s = sorted(float(v) for v in values)
    n = len(s)
    if n < 2:
        raise ValueError(f"iqr needs at least 2 values, got {n}")
    q1 = java_round(0.25 * (n + 1)) - 1
    q3 = java_round(0.75 * (n + 1)) - 1
    return s[q3] - s[q1]


def iqr_cloudsim_floats(xs: list[float]) -> float:
    """:func:`iqr_cloudsim` of ``xs``, a list of Python floats (the same steps, without the conversion)."""
    s = sorted(xs)
    n = len(s)
    if n < 2:
        raise ValueError(f"iqr needs at least 2 values, got {n}")
    return s[java_round(0.75 * (n + 1)) - 1] - s[java_round(0.25 * (n + 1)) - 1]


def iqr_cloudsim_rows(rows: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Row-wise :func:`iqr_cloudsim` over the first ``n[i]`` entries of each row; NaN where ``n < 2``.

    Parameters
    ----------
    rows : (r, H) float64, any order within the valid prefix.
    n : (r,) int valid lengths.
    """
    n = np.asarray(n, dtype=np.int64)
    s = _sorted_valid(rows, n)
    hi = max(s.shape[1] - 1, 0)
    nf = n.astype(np.float64)
    q1 = np.clip(java_round_array(0.25 * (nf + 1)) - 1, 0, hi)
    q3 = np.clip(java_round_array(0.75 * (nf + 1)) - 1, 0, hi)
    with np.errstate(invalid="ignore"):
        out = np.take_along_axis(s, q3[:, None], 1)[:, 0] - np.take_along_axis(s, q1[:, None], 1)[:, 0]
    return np.where(n >= 2, out, np.nan)


def mad_cloudsim(values: Sequence[float] | np.ndarray) -> float:
    """CloudSim ``MathUtil.mad``: median of ``|median(x) - x_i|``, both medians commons-math ``Percentile(50)``.

    Returns 0.0 for empty input, as CloudSim does.
    """
    xs = [float(v) for v in values]
    if not xs:
        return 0.0
    total = sum(xs)
    if total - total == 0:  # no NaN (nor inf): the same steps as below, with the sorts done once
        med = _percentile_sorted(sorted(xs), 50.0)
        return _percentile_sorted(sorted([abs(med - x) for x in xs]), 50.0)
    med = percentile_legacy(xs, 50.0)
    return percentile_legacy([abs(med - x) for x in xs], 50.0)


def mad_cloudsim_floats(xs: list[float]) -> float:
    """:func:`mad_cloudsim` of ``xs``, a non-empty list of Python floats (the same steps, without the copy)."""
    total = sum(xs)
    if total - total == 0:
        med = _percentile_sorted(sorted(xs), 50.0)
        return _percentile_sorted(sorted([abs(med - x) for x in xs]), 50.0)
    return mad_cloudsim(xs)


def mad_cloudsim_rows(rows: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Row-wise :func:`mad_cloudsim` over the first ``n[i]`` entries of each row (0.0 where ``n == 0``)."""
    rows = np.asarray(rows, dtype=np.float64)
    n = np.asarray(n, dtype=np.int64)
    if rows.shape[0] == 0:
        return np.zeros(0)
    med = percentile_legacy_sorted_rows(_sorted_valid(rows, n), n, 50.0)
    dev = np.abs(med[:, None] - rows)
    out = percentile_legacy_sorted_rows(_sorted_valid(dev, n), n, 50.0)
    return np.where(n > 0, out, 0.0)


# --------------------------------------------------------------------------------------------- simple regression


def simple_regression(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """commons-math3 ``SimpleRegression`` (with intercept): ``regress().getParameterEstimates()``.

    The sums are the updating (West/Welford) form of ``addData``: for the first point ``xbar = x, ybar = y``;
    for each later point, with ``n`` points already added, ``f = n / (1 + n)``, ``dx = x - xbar``,
    ``dy = y - ybar``: ``Sxx += dx*dx*f``, ``Sxy += dx*dy*f``, ``xbar += dx/(1+n)``, ``ybar += dy/(1+n)``;
    ``Sx += x``, ``Sy += y`` throughout. Then ``slope = Sxy / Sxx`` and ``intercept = (Sy - slope*Sx) / n``;
    if ``|Sxx| <= SAFE_MIN`` (or NaN) the estimates are ``(Sy / n, NaN)``.

    Returns
    -------
    (intercept, slope)

    Raises
    ------
    ValueError
        fewer than 3 points (commons-math throws ``NoDataException``).
    """
    n = 0
    xbar = ybar = 0.0
    sxx = sxy = sx = sy = 0.0
    for x, y in zip(xs, ys, strict=True):
        x = float(x)
        y = float(y)
        if n == 0:
            xbar, ybar = x, y
        else:
            fact1 = 1.0 + n
            fact2 = n / (1.0 + n)
            dx = x - xbar
            dy = y - ybar
            sxx += dx * dx * fact2
            sxy += dx * dy * fact2
            xbar += dx / fact1
            ybar += dy / fact1
        sx += x
        sy += y
        n += 1
    if n < 3:
        raise ValueError(f"simple regression needs at least 3 points, got {n}")
    if abs(sxx) > SAFE_MIN:
        slope = _slope(n, sxx, sxy)
        return (sy - slope * sx) / n, slope
    return sy / n, math.nan


def _slope(n: int, sxx: float, sxy: float) -> float:
    # SimpleRegression.getSlope()
    if n < 2 or abs(sxx) < 10 * JAVA_DOUBLE_MIN_VALUE:
        return math.nan
    return sxy / sxx


def simple_regression_rows(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise :func:`simple_regression`, bit-identical to it.

    Parameters
    ----------
    x : (w,) shared abscissae, or (r, w) per row.
    y : (r, w) ordinates; w >= 3.

    Returns
    -------
    intercept (r,), slope (r,)
    """
    y = np.asarray(y, dtype=np.float64)
    r, w = y.shape
    if w < 3:
        raise ValueError(f"simple regression needs at least 3 points, got {w}")
    x = np.broadcast_to(np.asarray(x, dtype=np.float64), (r, w))
    with np.errstate(all="ignore"):
        xbar, ybar = x[:, 0].copy(), y[:, 0].copy()
        sxx = np.zeros(r)
        sxy = np.zeros(r)
        sx = 0.0 + x[:, 0]
        sy = 0.0 + y[:, 0]
        for j in range(1, w):
            fact1 = 1.0 + j
            fact2 = j / (1.0 + j)
            dx = x[:, j] - xbar
            dy = y[:, j] - ybar
            sxx = sxx + dx * dx * fact2
            sxy = sxy + dx * dy * fact2
            xbar = xbar + dx / fact1
            ybar = ybar + dy / fact1
            sx = sx + x[:, j]
            sy = sy + y[:, j]
        ok = np.abs(sxx) > SAFE_MIN
        slope = np.where(np.abs(sxx) < 10 * JAVA_DOUBLE_MIN_VALUE, np.nan, sxy / sxx)
        intercept = np.where(ok, (sy - slope * sx) / w, sy / w)
        slope = np.where(ok, slope, np.nan)
    return intercept, slope


# --------------------------------------------------------------------------------------------- OLS R² (MC)


def r_squared_cloudsim(data: np.ndarray) -> np.ndarray | None:
    """R² of each row regressed on all other rows, as CloudSim's MC computes it with commons-math3.

    For candidate ``i``, ``OLSMultipleLinearRegression`` (intercept, QR threshold 0) is fitted with
    ``y = data[i]`` and regressors ``data[j], j != i`` in order; R² = ``1 - SSR / SSTO`` with
    ``SSR = r·r`` (sequential dot product of the residuals ``y - X·beta``) and ``SSTO`` the second central
    moment of ``y`` (commons-math ``SecondMoment``, updating form). ``beta`` is the Householder-QR least
    squares solution in commons-math's order of operations: per column, ``a = ∓||x||`` (minus if the
    diagonal entry is positive), ``x_0 -= a``, then each later column ``c -= (-(c·x)/(a·x_0)) x``; the
    solve applies the same reflections to ``y`` and back-substitutes.

    Parameters
    ----------
    data : (k, m) float64, row i = candidate i's utilization history (m observations, same order for all).

    Returns
    -------
    (k,) float64 R² values (may be NaN or -inf when ``y`` is constant), or **None** where commons-math would
    throw an ``IllegalArgumentException`` so that CloudSim falls back to MMT:

    * ``k < 2`` (no regressor: ``Array2DRowRealMatrix`` of zero rows), or ``m == 0``;
    * too few observations: ``n_regressors + 1 > n_obs``, i.e. ``(k - 1) + 1 > m``, i.e. ``k > m``
      (``NOT_ENOUGH_DATA_FOR_NUMBER_OF_PREDICTORS``; note ``m == k`` is accepted and fits exactly);
    * a singular design in any of the k regressions: a Householder diagonal exactly 0
      (``SingularMatrixException``, threshold 0). Nearly singular designs are *not* caught, as in Java.
    """
    data = np.asarray(data, dtype=np.float64)
    k, m = data.shape
    if k < 2 or m == 0 or k > m:
        return None
    p = k  # intercept + (k - 1) regressors
    others = np.array([[j for j in range(k) if j != i] for i in range(k)], dtype=np.int64)
    design_t = np.empty((k, p, m))  # batch i: X_i transposed (commons-math keeps X^T as "qrt")
    design_t[:, 0, :] = 1.0
    design_t[:, 1:, :] = data[others]
    qrt = design_t.copy()
    rdiag = np.empty((k, p))
    with np.errstate(all="ignore"):
        for minor in range(p):
            v = qrt[:, minor, minor:]
            a = np.sqrt(java_sum(v * v))
            a = np.where(qrt[:, minor, minor] > 0, -a, a)
            rdiag[:, minor] = a
            if np.any(a == 0.0):
                return None  # that regression is singular: solve() throws, CloudSim falls back
            qrt[:, minor, minor] = qrt[:, minor, minor] - a
            v = qrt[:, minor, minor:]
            for col in range(minor + 1, p):
                alpha = _java_neg_sum(qrt[:, col, minor:] * v)
                alpha = alpha / (a * qrt[:, minor, minor])
                qrt[:, col, minor:] = qrt[:, col, minor:] - alpha[:, None] * v
        # solve Q R beta = y
        yv = data.copy()
        for minor in range(p):
            v = qrt[:, minor, minor:]
            dot = java_sum(yv[:, minor:] * v)
            dot = dot / (rdiag[:, minor] * qrt[:, minor, minor])
            yv[:, minor:] = yv[:, minor:] + dot[:, None] * v
        beta = np.empty((k, p))
        for row in range(p - 1, -1, -1):
            yv[:, row] = yv[:, row] / rdiag[:, row]
            y_row = yv[:, row]
            beta[:, row] = y_row
            yv[:, :row] = yv[:, :row] - y_row[:, None] * qrt[:, row, :row]
        # residuals y - X beta, X rows summed over columns in order
        fitted = np.zeros((k, m))
        for c in range(p):
            fitted = fitted + design_t[:, c, :] * beta[:, c][:, None]
        res = data - fitted
        ssr = java_sum(res * res)
        ssto = second_moment_rows(data)
        return 1 - ssr / ssto


def second_moment_rows(y: np.ndarray) -> np.ndarray:
    """commons-math ``SecondMoment`` (sum of squared deviations from the mean) per row, updating form.

    For each value, ``n += 1``, ``dev = x - m1``, ``nDev = dev / n``, ``m1 += nDev``,
    ``m2 += (n - 1) * dev * nDev``. An empty row gives NaN.
    """
    y = np.asarray(y, dtype=np.float64)
    r, m = y.shape
    if m == 0:
        return np.full(r, np.nan)
    m1 = np.zeros(r)
    m2 = np.zeros(r)
    with np.errstate(all="ignore"):
        for j in range(m):
            n = float(j + 1)
            dev = y[:, j] - m1
            ndev = dev / n
            m1 = m1 + ndev
            m2 = m2 + (n - 1) * dev * ndev
    return m2


# --------------------------------------------------------------------------------------------- LR / LRR fits


def _abscissae(w: int) -> np.ndarray:
    return np.arange(1, w + 1, dtype=np.float64)


def _cloudsim_tricube(w: int) -> list[float]:
    # CloudSim MathUtil.getTricubeWeigts: the *inverse* tricube (1/k), entries 0 and 1 copied from entry 2.
    # Only the sign of these weights matters for the result (see cloudsim_robust_fit), so x*x*x stands in
    # for Math.pow.
    top = float(w - 1)
    out = [0.0] * w
    for i in range(2, w):
        c = (top - i) / top
        u = 1 - c * c * c
        k = u * u * u
        out[i] = 1 / k if k > 0 else JAVA_DOUBLE_MAX_VALUE
    out[0] = out[1] = out[2]
    return out


def _cloudsim_bisquare(residuals: list[float], s6: float, tri: list[float]) -> list[float]:
    # CloudSim MathUtil.getTricubeBisquareWeigts with the median already taken (s6 = 6 * median|r|)
    w = len(residuals)
    out = [0.0] * w
    for i in range(2, w):
        t = residuals[i] / s6 if s6 != 0.0 else (math.nan if residuals[i] == 0.0 else math.copysign(
            math.inf, residuals[i]))
        u = 1 - t * t
        k = u * u
        out[i] = (1 / k) * tri[i] if k > 0 else JAVA_DOUBLE_MAX_VALUE
    out[0] = out[1] = out[2]
    return out


def cloudsim_robust_fit(ys: Sequence[float]) -> tuple[float, float]:
    """CloudSim ``MathUtil.getRobustLoessParameterEstimates`` on ``ys`` at x = 1..w (w >= 3).

    CloudSim's ``createWeigthedLinearRegression`` applies weights (as ``sqrt(w)·x``, ``sqrt(w)·y`` fed to an
    ordinary SimpleRegression) only when at least 40 % of the weights are ``<= 0``. Its tricube weights are
    inverted (``1/k``) and always positive, so the first fit is plain OLS (:func:`simple_regression`). The
    bisquare weights ``(1/k)·tricube`` with ``k = (1 - (r_i/s6)^2)^2``, ``s6 = 6·median|r|``, are positive as
    well, **except** when ``median|r| == 0`` exactly: then a non-zero residual gives ``r/0 = ±inf``, ``k = inf``
    and weight 0, a zero residual gives NaN and ``Double.MAX_VALUE``. Only if that makes >= 40 % of the
    weights zero is the second fit weighted (it then overflows and yields NaN, so the host is not
    overloaded). In every other case the result equals :func:`simple_regression` bit for bit, which is why
    LRR and LR give identical CloudSim runs. Entries 0 and 1 of both weight vectors copy entry 2, as in
    CloudSim. The NaN check on the estimates in CloudSim compares with ``== Double.NaN`` and never fires.

    Returns
    -------
    (intercept, slope)
    """
    ys = [float(v) for v in ys]
    w = len(ys)
    xs = [float(i + 1) for i in range(w)]
    a, b = simple_regression(xs, ys)
    residuals = [y - (a + b * x) for x, y in zip(xs, ys, strict=True)]
    s6 = percentile_legacy([abs(r) for r in residuals], 50.0) * 6
    wts = _cloudsim_bisquare(residuals, s6, _cloudsim_tricube(w))
    if sum(1 for v in wts if v <= 0) >= 0.4 * w:
        return simple_regression([math.sqrt(v) * x for v, x in zip(wts, xs, strict=True)],
                                 [math.sqrt(v) * y for v, y in zip(wts, ys, strict=True)])
    return a, b


def cloudsim_robust_fit_rows(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise :func:`cloudsim_robust_fit`, bit-identical to it. ``y`` is (r, w), oldest first."""
    y = np.asarray(y, dtype=np.float64)
    r, w = y.shape
    x = _abscissae(w)
    a, b = simple_regression_rows(x, y)
    with np.errstate(all="ignore"):
        res = y - (a[:, None] + b[:, None] * x[None, :])
        s6 = percentile_legacy_sorted_rows(np.sort(np.abs(res), axis=1), np.full(r, w), 50.0) * 6
        t = res / s6[:, None]
        u = 1 - t * t
        k = u * u
        tri = np.asarray(_cloudsim_tricube(w))
        wts = np.where(k > 0, (1 / k) * tri[None, :], JAVA_DOUBLE_MAX_VALUE)
        wts[:, 0] = wts[:, 2]
        wts[:, 1] = wts[:, 2]
        weighted = (wts <= 0).sum(axis=1) >= 0.4 * w
        if weighted.any():
            sw = np.sqrt(wts[weighted])
            a2, b2 = simple_regression_rows(sw * x[None, :], sw * y[weighted])
            a = a.copy()
            b = b.copy()
            a[weighted] = a2
            b[weighted] = b2
    return a, b


def loess_tricube(w: int) -> np.ndarray:
    """Tricube weights of a local line fitted at the newest of ``w`` points (Cleveland 1979).

    ``T_i = (1 - u_i^3)^3`` with ``u_i = (x_w - x_i) / (x_w - x_1)``: the newest point weighs 1, the oldest 0
    (the neighbourhood is the whole window, as in Beloglazov & Buyya, CCPE 2012, local regression).
    """
    u = (w - _abscissae(w)) / (w - 1)
    v = 1 - u * u * u
    return np.where(u < 1, v * v * v, 0.0)


def weighted_line_fit(xs: Sequence[float], ys: Sequence[float], ws: Sequence[float]) -> tuple[float, float, bool]:
    """Weighted least-squares line; sums are sequential. Returns (intercept, slope, ok); ok is False when
    the weights are all zero or the weighted spread of x is zero (the fit is then undefined)."""
    s0 = s1 = s2 = 0.0
    for x, y, wt in zip(xs, ys, ws, strict=True):
        s0 += wt
        s1 += wt * x
        s2 += wt * y
    if not s0 > 0:
        return math.nan, math.nan, False
    xm = s1 / s0
    ym = s2 / s0
    sxx = sxy = 0.0
    for x, y, wt in zip(xs, ys, ws, strict=True):
        sxx += wt * (x - xm) * (x - xm)
        sxy += wt * (x - xm) * (y - ym)
    if not sxx > 0:
        return math.nan, math.nan, False
    b = sxy / sxx
    return ym - b * xm, b, True


def weighted_line_fit_rows(x: np.ndarray, y: np.ndarray, wts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row-wise :func:`weighted_line_fit` (bit-identical); x (w,), y and wts (r, w)."""
    y = np.asarray(y, dtype=np.float64)
    r, w = y.shape
    x = np.broadcast_to(np.asarray(x, dtype=np.float64), (r, w))
    wts = np.broadcast_to(np.asarray(wts, dtype=np.float64), (r, w))
    with np.errstate(all="ignore"):
        s0 = java_sum(wts)
        s1 = java_sum(wts * x)
        s2 = java_sum(wts * y)
        xm = s1 / s0
        ym = s2 / s0
        dx = x - xm[:, None]
        sxx = java_sum(wts * dx * dx)
        sxy = java_sum(wts * dx * (y - ym[:, None]))
        ok = (s0 > 0) & (sxx > 0)
        b = sxy / sxx
        a = ym - b * xm
    return np.where(ok, a, np.nan), np.where(ok, b, np.nan), ok


def loess_line_fit(ys: Sequence[float], robust_iterations: int = 0) -> tuple[float, float]:
    """Local linear fit at the newest point, tricube-weighted, with optional bisquare robustness steps.

    This is the fit Beloglazov & Buyya describe (CCPE 2012, local regression, after Cleveland 1979): tricube weights
    :func:`loess_tricube`; each robustness iteration computes the residuals ``e_i``, ``s = median|e|``
    (commons-math ``Percentile(50)``) and multiplies the tricube weights by the bisquare
    ``B(e_i / 6s) = (1 - (e_i/6s)^2)^2`` (0 when ``|e_i| >= 6s``), then refits. Iterations stop early when
    ``s == 0`` (a perfect fit) or the reweighted fit is undefined; the last good fit is kept.

    Parameters
    ----------
    ys : w >= 3 values, oldest first, at x = 1..w.
    robust_iterations : int >= 0; 0 gives the plain tricube-weighted fit.

    Returns
    -------
    (intercept, slope)
    """
    ys = [float(v) for v in ys]
    w = len(ys)
    xs = [float(i + 1) for i in range(w)]
    tri = [float(v) for v in loess_tricube(w)]
    a, b, _ = weighted_line_fit(xs, ys, tri)
    for _ in range(robust_iterations):
        res = [y - (a + b * x) for x, y in zip(xs, ys, strict=True)]
        s = percentile_legacy([abs(e) for e in res], 50.0)
        if not s > 0:
            break
        wts = []
        for e, t in zip(res, tri, strict=True):
            z = e / (6 * s)
            v = 1 - z * z
            wts.append(t * (v * v) if abs(z) < 1 else 0.0)
        a2, b2, ok = weighted_line_fit(xs, ys, wts)
        if not ok:
            break
        a, b = a2, b2
    return a, b


def loess_line_fit_rows(y: np.ndarray, robust_iterations: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise :func:`loess_line_fit` (bit-identical); y (r, w) oldest first."""
    y = np.asarray(y, dtype=np.float64)
    r, w = y.shape
    x = _abscissae(w)
    tri = loess_tricube(w)
    a, b, _ = weighted_line_fit_rows(x, y, tri[None, :])
    active = np.ones(r, dtype=bool)
    with np.errstate(all="ignore"):
        for _ in range(robust_iterations):
            res = y - (a[:, None] + b[:, None] * x[None, :])
            s = percentile_legacy_sorted_rows(np.sort(np.abs(res), axis=1), np.full(r, w), 50.0)
            active = active & (s > 0)
            if not active.any():
                break
            z = res / (6 * s)[:, None]
            v = 1 - z * z
            wts = np.where(np.abs(z) < 1, tri[None, :] * (v * v), 0.0)
            a2, b2, ok = weighted_line_fit_rows(x, y, wts)
            active = active & ok
            a = np.where(active, a2, a)
            b = np.where(active, b2, b)
    return a, b
