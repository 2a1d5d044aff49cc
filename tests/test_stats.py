"""The statistics every comparison prints: t-intervals (hand-computed), summaries, rank stability, wins."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from kumo.stats import pairwise_wins, rank_stability, summarize, t_interval


def test_t_interval_by_hand():
    # mean 2, s = 1 (values 1, 2, 3), t(0.975, 2) = 4.302652729749464: half-width 4.3027 / sqrt(3)
    mean, std, lo, hi, n = t_interval([1.0, 2.0, 3.0])
    assert (mean, std, n) == (2.0, 1.0, 3)
    assert hi - mean == pytest.approx(4.302652729749464 / math.sqrt(3), rel=1e-12)
    assert mean - lo == pytest.approx(hi - mean, rel=1e-12)
    one = t_interval([5.0])
    assert one[0] == 5.0 and all(math.isnan(v) for v in one[1:4]) and one[4] == 1
    assert t_interval([np.nan, 4.0, 4.0])[:4] == (4.0, 0.0, 4.0, 4.0)  # NaN dropped, no spread


def _runs():
    # three schedulers, four paired replicates (windows); B beats A in one window only
    return pd.DataFrame({
        "scheduler": ["A", "B", "C"] * 4,
        "window": np.repeat([0, 1, 2, 3], 3),
        "margin": [30, 20, -5, 31, 22, -4, 29, 35, -6, 33, 21, 1],
    })


def test_summarize_groups_by_treatment_in_order():
    s = summarize(_runs(), ["scheduler"], ["margin"])
    assert s["scheduler"].tolist() == ["A", "B", "C"] and (s["n"] == 4).all()
    a = s.iloc[0]
    assert a["mean"] == pytest.approx(30.75) and a["ci_low"] < 30.75 < a["ci_high"]


def test_rank_stability_and_pairwise_wins():
    st = rank_stability(_runs(), "scheduler", "margin", ["window"]).set_index("scheduler")
    assert st.loc["A", "rank"] == 1 and st.loc["A", "held"] == 3 and st.loc["A", "replicates"] == 4
    assert st.loc["B", "rank"] == 2 and st.loc["B", "held"] == 3
    assert st.loc["C", "held"] == 4 and st.loc["C", "mean_rank"] == 3.0
    w = pairwise_wins(_runs(), "scheduler", "margin", ["window"])
    assert w.loc["A", "B"] == 3 and w.loc["B", "A"] == 1 and w.loc["A", "C"] == 4 and w.loc["C", "A"] == 0
    lower = pairwise_wins(_runs(), "scheduler", "margin", ["window"], higher_is_better=False)
    assert lower.loc["C", "A"] == 4
