"""Overload detection (THR, IQR, MAD, LR, LRR) and the CloudSim/commons-math numerics behind them.

Oracles are written as arithmetic on values exact in binary (multiples of 1/16, 1/32), so the expected
results are exact too. The random cases were also checked bit for bit against commons-math3 3.6.1 and
CloudSim 3.0.3 ``MathUtil`` run on a JVM outside the repository (see the report of that check); the few
hard-coded bit patterns below come from it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kumo.policies import _stats as S
from kumo.policies import detection as D
from kumo.policies import registry

POLICIES = [
    D.StaticThreshold(),
    D.InterQuartileRange(),
    D.MedianAbsoluteDeviation(),
    D.LocalRegression(),
    D.LocalRegression(weighted=True),
    D.LocalRegressionRobust(),
    D.LocalRegressionRobust(cloudsim_compat=False),
    D.LocalRegressionRobust(cloudsim_compat=False, robust_iterations=1),
]
NEXT = float(np.nextafter(0.0, 1.0))


def up(x: float) -> float:
    """The next double above x."""
    return float(np.nextafter(x, np.inf))


def one_host(policy, util, hist):
    """Vectorized call for one host with a full-length valid history."""
    h = np.asarray(hist, dtype=np.float64)
    return bool(policy.overloaded(np.array([util]), h[None, :], np.array([h.size]))[0])


# --------------------------------------------------------------------------------------------- Java numerics


@pytest.mark.parametrize(
    ("x", "expect"),
    [(0.5, 1), (1.5, 2), (2.5, 3), (3.25, 3), (9.75, 10), (-0.5, 0), (-1.5, -1), (0.49999999999999994, 0),
     (2.4999999999999996, 2), (float("nan"), 0)],
)
def test_java_round_is_half_up_not_bankers(x, expect):
    assert S.java_round(x) == expect
    assert S.java_round_array(np.array([x]))[0] == expect


def test_percentile_legacy_positions_and_clamping():
    # pos = p/100 (n+1); [1,2,3,4] at 50: pos 2.5 -> 2 + 0.5 (3 - 2)
    assert S.percentile_legacy([4, 1, 3, 2], 50) == 2.5
    # MATH-582: [0, 1] at 25: pos 0.75 < 1 -> the minimum, not 0.25
    assert S.percentile_legacy([0.0, 1.0], 25) == 0.0
    # [0, 1, 1, 1] at 25: pos 1.25 -> 0 + 0.25 (1 - 0)
    assert S.percentile_legacy([0.0, 1.0, 1.0, 1.0], 25) == 0.25
    # pos >= n clamps to the maximum; p = 100 -> pos = n
    assert S.percentile_legacy([0.0, 1.0, 5.0], 90) == 5.0 and S.percentile_legacy([0.0, 1.0, 5.0], 100) == 5.0
    assert S.percentile_legacy([7.0], 50) == 7.0
    assert np.isnan(S.percentile_legacy([], 50))
    assert S.percentile_legacy([3.0, float("nan"), 1.0], 50) == 2.0  # NaNStrategy.REMOVED


def test_median_is_lower_plus_d_times_gap_not_the_midpoint():
    lo, hi = 0.031183145201048548, 94.86494471372438
    assert (lo + hi) / 2 == 47.44806392946272
    assert S.percentile_legacy([hi, lo], 50) == lo + 0.5 * (hi - lo) == 47.44806392946271
    rows = S.percentile_legacy_sorted_rows(np.array([[lo, hi]]), np.array([2]), 50)
    assert rows[0] == 47.44806392946271


def test_java_sum_is_sequential():
    a = np.array([1e16, 1.0, -1e16, 1.0])
    # ((1e16 + 1) - 1e16) + 1 = (1e16 - 1e16) + 1 = 1 sequentially; a pairwise sum gives 0 or 2
    assert S.java_sum(a) == 1.0
    assert S.java_sum(np.array([[1e16, 1.0, -1e16, 1.0]] * 2)).tolist() == [1.0, 1.0]


# --------------------------------------------------------------------------------------------- THR


def test_thr_is_strict():
    thr = D.StaticThreshold(0.8)
    assert thr.overloaded(np.array([0.8, up(0.8), 0.5, 1.2])).tolist() == [False, True, False, True]
    assert not thr.overloaded_one(0.8) and thr.overloaded_one(up(0.8))
    assert thr.upper_threshold(np.zeros((2, 3)), np.array([1, 1])).tolist() == [0.8, 0.8]


# --------------------------------------------------------------------------------------------- IQR


def test_iqr_quartiles_n12_oracle():
    # sorted s_i = i/16, i = 1..12; q1 = round(0.25*13) - 1 = round(3.25) - 1 = 2 -> 3/16;
    # q3 = round(0.75*13) - 1 = round(9.75) - 1 = 9 -> 10/16; IQR = 7/16; threshold = 1 - 1.5*7/16 = 11/32
    hist = [i / 16 for i in (7, 2, 12, 1, 5, 9, 3, 11, 4, 10, 6, 8)]  # shuffled: order must not matter
    iqr = D.InterQuartileRange()
    assert S.iqr_cloudsim(hist) == 7 / 16
    assert iqr.upper_threshold(np.array([hist]), np.array([12]))[0] == 11 / 32 == 0.34375
    assert not one_host(iqr, 0.34375, hist) and not iqr.overloaded_one(0.34375, np.array(hist))
    assert one_host(iqr, up(0.34375), hist) and iqr.overloaded_one(up(0.34375), np.array(hist))


def test_iqr_uses_java_rounding_n13():
    # n = 13: q1 = round(3.5) - 1 = 3 and q3 = round(10.5) - 1 = 10 (half up; banker's would give 9)
    hist = [i / 16 for i in range(1, 14)]
    assert S.iqr_cloudsim(hist) == 11 / 16 - 4 / 16
    assert S.iqr_cloudsim_rows(np.array([hist]), np.array([13]))[0] == 7 / 16


def test_iqr_falls_back_below_min_history_and_ignores_entries_past_hist_len():
    iqr = D.InterQuartileRange()
    hist = np.zeros((1, 30))
    hist[0, :11] = 0.5
    hist[0, 11:] = 9.0  # junk past hist_len
    assert iqr.upper_threshold(hist, np.array([11]))[0] == 0.7
    assert not iqr.overloaded(np.array([0.7]), hist, np.array([11]))[0]
    assert iqr.overloaded(np.array([up(0.7)]), hist, np.array([11]))[0]
    assert iqr.overloaded_one(up(0.7), hist[0, :11]) and not iqr.overloaded_one(0.7, hist[0, :11])


# --------------------------------------------------------------------------------------------- MAD


def test_mad_oracle():
    # h_i = i/8, i = 0..11; median: pos 6.5 -> 5/8 + 0.5 (6/8 - 5/8) = 11/16
    # |11/16 - i/8| = |11 - 2i|/16 -> sorted 1,1,3,3,5,5,7,7,9,9,11,11 (/16); median pos 6.5 -> 5 + 0.5 (7 - 5) = 6
    # MAD = 6/16; threshold = 1 - 2.5 * 6/16 = 1/16
    hist = [i / 8 for i in range(12)][::-1]
    mad = D.MedianAbsoluteDeviation()
    assert S.mad_cloudsim(hist) == 6 / 16
    assert mad.upper_threshold(np.array([hist]), np.array([12]))[0] == 1 / 16
    assert not one_host(mad, 1 / 16, hist) and one_host(mad, up(1 / 16), hist)
    assert not mad.overloaded_one(1 / 16, np.array(hist)) and mad.overloaded_one(up(1 / 16), np.array(hist))


def test_mad_fallback_and_zero_spread():
    mad = D.MedianAbsoluteDeviation()
    assert mad.upper_threshold(np.full((1, 30), 0.5), np.array([11]))[0] == 0.7
    # a constant history has MAD 0: threshold 1, so only demand above 100 % is an overload
    assert mad.upper_threshold(np.full((1, 30), 0.5), np.array([30]))[0] == 1.0
    assert S.mad_cloudsim([]) == 0.0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                          st.sampled_from([0.0, -0.0, 0.25, 0.5])), min_size=1, max_size=30),
       st.floats(0, 2))
def test_mad_on_python_floats_is_the_same_bits(xs, util):
    # the one-host check on a list of floats (the consolidation controller's form) equals the array form
    a, b = S.mad_cloudsim(xs), S.mad_cloudsim_floats(list(xs))
    assert np.float64(a).tobytes() == np.float64(b).tobytes()
    if len(xs) >= 2:
        a, b = S.iqr_cloudsim(xs), S.iqr_cloudsim_floats(list(xs))
        assert np.float64(a).tobytes() == np.float64(b).tobytes()
    for det in (D.MedianAbsoluteDeviation(), D.InterQuartileRange()):
        if len(xs) >= 2:
            assert det.overloaded_floats(util, list(xs)) == det.overloaded_one(util, np.array(xs))


# --------------------------------------------------------------------------------------------- LR / LRR


def lr_history(f):
    """Newest-first history of 10 values whose oldest-first value at x = 1..10 is f(x)."""
    return np.array([f(x) for x in range(1, 11)][::-1], dtype=np.float64)


def test_lr_prediction_crosses_one_exactly():
    # y = (5 + x)/32 is an exact line: a = 5/32, b = 1/32, a + 11 b = 16/32 = 1/2
    h = lr_history(lambda x: (5 + x) / 32)
    assert S.simple_regression([float(x) for x in range(1, 11)], list(h[::-1])) == (5 / 32, 1 / 32)
    lr2 = D.LocalRegression(safety=2.0)  # 2 * 1/2 = 1 >= 1: overloaded (non-strict)
    assert lr2.predicted(h[None], np.array([10]))[0] == 1.0
    assert one_host(lr2, 0.0, h) and lr2.overloaded_one(0.0, h)
    lr_lo = D.LocalRegression(safety=1.9999999999999998)
    assert not one_host(lr_lo, 0.0, h) and not lr_lo.overloaded_one(0.0, h)
    # default safety 1.2: 0.6 < 1, whatever the current demand
    assert not one_host(D.LocalRegression(), 5.0, h)
    # y = (6 + x)/16: a + 11 b = 17/16, times 1.2 > 1
    assert one_host(D.LocalRegression(), 0.0, lr_history(lambda x: (6 + x) / 16))


def test_lr_uses_the_ten_newest_values_oldest_first():
    h = np.zeros(30)
    h[:10] = lr_history(lambda x: (5 + x) / 32)  # newest 10: rising line
    h[10:] = 0.9  # older values must not matter
    assert D.LocalRegression(safety=2.0).predicted(h[None], np.array([30]))[0] == 1.0


def test_lr_horizon_parameter_and_override():
    assert D.cloudsim_horizon_steps(1740) == 11 == D.cloudsim_horizon_steps(613)  # 27.84 s, 9.8 s < 300 s
    assert D.cloudsim_horizon_steps(20000) == 12  # 320 s
    h = lr_history(lambda x: x / 16)  # a = 0, b = 1/16
    lr = D.LocalRegression(safety=1.0, horizon_steps=16)
    assert lr.predicted(h[None], np.array([10]))[0] == 1.0  # 16/16
    assert D.LocalRegression(safety=1.0).predicted(h[None], np.array([10]), horizon=np.array([8.0]))[0] == 0.5
    assert D.LocalRegression(safety=1.0).overloaded_one(0.0, h, horizon=16.0)


def test_lr_fallback_on_short_history():
    lr = D.LocalRegression()
    h = np.full((1, 30), 0.9)
    assert lr.overloaded(np.array([0.7]), h, np.array([9])).tolist() == [False]
    assert lr.overloaded(np.array([up(0.7)]), h, np.array([9])).tolist() == [True]
    assert np.isnan(lr.predicted(h, np.array([9]))[0]) and lr.upper_threshold(h, np.array([9]))[0] == 0.7
    assert np.isnan(lr.upper_threshold(h, np.array([10]))[0])


def test_lrr_cloudsim_equals_lr_except_when_median_residual_is_zero():
    # a flat line at 1/2 with +-1/4 at x = 3, 4, 7, 8 (sum of e = 0, sum of x e = 3 - 4 - 7 + 8 = 0): OLS is
    # exactly a = 1/2, b = 0; 6 residuals are 0, so median|r| = 0 and CloudSim's bisquare weights become
    # 0 (r/0 = inf) at the 4 others: >= 40 % zero weights switch weighting on, the weighted fit overflows
    # to NaN and LRR says "not overloaded" where LR says overloaded (JVM check: estimates NaN, NaN).
    y = [0.5, 0.5, 0.75, 0.25, 0.5, 0.5, 0.25, 0.75, 0.5, 0.5]
    h = np.array(y[::-1])
    assert S.simple_regression([float(x) for x in range(1, 11)], y) == (0.5, 0.0)
    a, b = S.cloudsim_robust_fit(y)
    assert np.isnan(a) and np.isnan(b)
    assert D.LocalRegression(safety=2.0).overloaded_one(0.0, h)
    assert not D.LocalRegressionRobust(safety=2.0).overloaded_one(0.0, h)
    assert not one_host(D.LocalRegressionRobust(safety=2.0), 0.0, h)


def test_real_robust_loess_ignores_an_outlier():
    # flat 1/2 with one spike at x = 9: OLS is pulled up, tricube + bisquare drops the spike (|e| > 6 median)
    y = [0.5] * 8 + [1.5, 0.5]
    h = np.array(y[::-1])
    robust = D.LocalRegressionRobust(cloudsim_compat=False)
    assert robust.predicted(h[None], np.array([10]))[0] == pytest.approx(0.6, abs=1e-12)
    assert D.LocalRegression().predicted(h[None], np.array([10]))[0] > 0.75
    # the plain tricube fit (LR weighted) is pulled by the spike too
    assert D.LocalRegression(weighted=True).predicted(h[None], np.array([10]))[0] > 0.6 + 1e-3


def test_loess_tricube_weights():
    w = S.loess_tricube(10)
    assert w[-1] == 1.0 and w[0] == 0.0 and np.all(np.diff(w) > 0)


# --------------------------------------------------------------------------------------------- host history


def test_host_history_oracle_and_order():
    vm_hist = np.array([[0.5, 0.25, 0.0], [1.0, 0.5, 0.25], [0.5, 0.5, 0.5], [0.75, 0.75, 0.75]])
    vm_mips = np.array([1000.0, 500.0, 2000.0, 800.0])
    vm_host = np.array([0, 0, 1, -1])  # VM 3 is on no host
    host_mips = np.array([2000.0, 4000.0, 1000.0])
    h = D.host_history(vm_hist, vm_mips, vm_host, host_mips, 3)
    # host 0: (0.5*1000 + 1.0*500)/2000 = 0.5; (250 + 250)/2000 = 0.25; (0 + 125)/2000 = 0.0625
    # host 1: 0.5*2000/4000 = 0.25 each; host 2 empty
    assert h.tolist() == [[0.5, 0.25, 0.0625], [0.25, 0.25, 0.25], [0.0, 0.0, 0.0]]
    assert D.trim_zero_tail(h).tolist() == [3, 3, 1]


def test_host_history_sums_in_row_order():
    # (1e16 + 1) + (-1e16) = 0 but (1e16 - 1e16) + 1 = 1: rows are added in the given (host-list) order
    h1 = D.host_history(np.array([[1e16], [1.0], [-1e16]]), np.ones(3), np.zeros(3, int), np.ones(1), 1)
    h2 = D.host_history(np.array([[1e16], [-1e16], [1.0]]), np.ones(3), np.zeros(3, int), np.ones(1), 1)
    assert h1[0, 0] == 0.0 and h2[0, 0] == 1.0


@pytest.mark.parametrize(
    ("row", "n"),
    [([0.5, 0, 0.3, 0, 0], 3), ([0, 0, 0, 0], 1), ([0, 0, 0.1], 3), ([0.2], 1), ([0.2, 0.1], 2), ([], 1)],
)
def test_trim_zero_tail(row, n):
    arr = np.array(row, dtype=np.float64)
    assert D.trim_zero_tail(arr) == n
    assert D.trim_zero_tail(arr[None, :])[0] == n


# --------------------------------------------------------------------------------------------- vector == scalar

value = st.one_of(
    st.floats(0.0, 1.5, allow_nan=False, width=64),
    st.integers(0, 100).map(lambda i: i / 100.0),  # PlanetLab-like, with many ties
    st.sampled_from([0.0, 0.25, 0.5]),
)


@st.composite
def hosts(draw):
    n = draw(st.integers(1, 6))
    rows = [draw(st.lists(value, min_size=30, max_size=30)) for _ in range(n)]
    lens = [draw(st.integers(0, 30)) for _ in range(n)]
    util = [draw(st.floats(0.0, 1.5, allow_nan=False)) for _ in range(n)]
    return np.array(util), np.array(rows), np.array(lens)


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: f"{p.policy_name}:{dataclasses.astuple(p)}")
@settings(max_examples=60, deadline=None)
@given(data=hosts())
def test_vectorized_equals_scalar(policy, data):
    util, hist, lens = data
    vec = policy.overloaded(util, hist, lens)
    assert vec.dtype == bool and vec.shape == util.shape
    for i in range(len(util)):
        assert vec[i] == policy.overloaded_one(util[i], hist[i, : lens[i]])
    thr = policy.upper_threshold(hist, lens)
    if isinstance(policy, (D.StaticThreshold, D.InterQuartileRange, D.MedianAbsoluteDeviation)):
        assert np.array_equal(vec, util > thr)


@settings(max_examples=80, deadline=None)
@given(data=hosts())
def test_lrr_cloudsim_equals_lr_on_ordinary_data(data):
    util, hist, lens = data
    np.testing.assert_array_equal(D.LocalRegression().overloaded(util, hist, lens),
                                  D.LocalRegressionRobust().overloaded(util, hist, lens))


@settings(max_examples=80, deadline=None)
@given(rows=st.lists(st.lists(value, min_size=10, max_size=10), min_size=1, max_size=5))
def test_regression_rows_equal_scalar_bitwise(rows):
    y = np.array(rows)
    x = [float(i) for i in range(1, 11)]
    pairs = [
        (S.simple_regression_rows(np.arange(1.0, 11.0), y), lambda r: S.simple_regression(x, r)),
        (S.cloudsim_robust_fit_rows(y), S.cloudsim_robust_fit),
        (S.loess_line_fit_rows(y, 2), lambda r: S.loess_line_fit(r, 2)),
    ]
    for (a, b), one in pairs:
        for i, r in enumerate(rows):
            np.testing.assert_array_equal(np.array([a[i], b[i]]), np.array(one(r)))


# --------------------------------------------------------------------------------------------- contract


def detection_policies():
    # kumo's own (other suites may have loaded plugin examples into the registry)
    return sorted((n, c) for n, c in registry.all_policies()["detection"].items() if c.__module__.startswith("kumo."))


def test_all_five_are_registered():
    assert {"thr", "iqr", "mad", "lr", "lrr"} <= set(registry.all_policies()["detection"])


@pytest.mark.parametrize(("name", "cls"), detection_policies())
def test_detection_contract(name, cls):
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
    assert cls.__doc__ and "20" in cls.__doc__.splitlines()[0]  # one sentence citing a dated source
    pol = registry.make("detection", name)
    assert pol.validate() == []
    rng = np.random.default_rng(1)
    util, hist, lens = rng.random(8) * 1.2, rng.random((8, 30)), rng.integers(1, 31, 8)
    for a in (util, hist, lens):
        a.flags.writeable = False  # any in-place write raises
    copies = (util.copy(), hist.copy(), lens.copy())
    out = pol.overloaded(util, hist, lens)
    pol.upper_threshold(hist, lens)
    pol.overloaded_one(float(util[0]), hist[0, : lens[0]])
    assert out.dtype == bool and out.shape == (8,)
    for a, c in zip((util, hist, lens), copies, strict=True):
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("thr", {"threshold": 1.5}, "threshold: must be in (0, 1], got 1.5"),
        ("iqr", {"min_history": 1}, "min_history: must be an integer >= 2, got 1"),
        ("mad", {"safety": -1.0}, "safety: must be a finite number >= 0, got -1.0"),
        ("lr", {"window": 12}, "min_history: must be >= window (12), got 10"),
        ("lrr", {"robust_iterations": 0}, "robust_iterations: must be an integer >= 1, got 0"),
        ("lr", {"fallback_threshold": 0.0}, "fallback_threshold: must be in (0, 1], got 0.0"),
    ],
)
def test_validate_messages(name, params, message):
    assert message in registry.make("detection", name, params).validate()


def test_bad_shapes_are_errors():
    with pytest.raises(ValueError, match="hist_len"):
        D.InterQuartileRange().overloaded(np.zeros(2), np.zeros((2, 5)), np.array([3, 6]))
