"""Replicates and what every comparison prints about them: means, spreads, intervals, rank stability.

A comparison (``kumo compare``, ``kumo sweep``) is worth what its uncertainty is worth. Runs are repeated
over *replicates* — seeds, windows of the trace, perturbed demand, jittered thresholds — and summarized per
*treatment* (a scheduler, a point of the swept axes):

* :func:`summarize`: per treatment and metric, the mean over replicates, the sample standard deviation,
  the number of replicates and a two-sided **Student-t confidence interval of the mean** (level 95 % by
  default): ``mean ± t(1 - α/2, n - 1) · s / √n``. The t-interval assumes the replicate values are
  independent draws around the treatment's mean; with the few replicates a simulation study affords (4
  windows, 3 seeds) it is wider, and more honest, than a bootstrap percentile interval, which needs tens of
  replicates. Replicates from windows of one trace are not independent draws of the workload; read the
  interval as "how much this number moves across the windows", not as a sampling guarantee.
* :func:`rank_stability`: per replicate, the treatments ranked by one metric; per treatment, its rank in
  the pooled comparison, how often it holds that rank, and its mean rank.
* :func:`pairwise_wins`: for every ordered pair (A, B), in how many replicates A beats B on the metric.

Replicates are paired: replicate ``r`` of every treatment sees the same window, seed and perturbation, so
ranks and wins compare like with like.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["pairwise_wins", "rank_stability", "summarize", "t_interval"]


def t_interval(values: Sequence[float] | np.ndarray, level: float = 0.95) -> tuple[float, float, float, float, int]:
    """``(mean, std, low, high, n)`` of ``values``: the Student-t interval of the mean at ``level``.

    With one value the spread and the interval are NaN (nothing to say about uncertainty).
    """
    from scipy import stats

    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return np.nan, np.nan, np.nan, np.nan, 0
    mean = float(x.mean())
    if n == 1:
        return mean, np.nan, np.nan, np.nan, 1
    std = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * std / np.sqrt(n)
    return mean, std, mean - half, mean + half, n


def summarize(table: pd.DataFrame, by: Sequence[str], metrics: Sequence[str], level: float = 0.95) -> pd.DataFrame:
    """One row per treatment (the columns ``by``) and metric: ``mean``, ``std``, ``ci_low``, ``ci_high``,
    ``n`` over the replicates (every other row of the group), in the order the treatments first appear."""
    rows = []
    groups = table.groupby(list(by), sort=False, dropna=False) if by else [((), table)]
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        for m in metrics:
            mean, std, lo, hi, n = t_interval(part[m].to_numpy(dtype=np.float64), level)
            rows.append({**dict(zip(by, key, strict=True)), "metric": m, "mean": mean, "std": std, "ci_low": lo,
                         "ci_high": hi, "n": n})
    return pd.DataFrame(rows)


def _ranks(table: pd.DataFrame, treatment: str, metric: str, replicate: Sequence[str], higher_is_better: bool) -> pd.DataFrame:
    """(replicate x treatment) ranks, 1 = best; ties share the best rank."""
    wide = table.pivot_table(index=list(replicate) or None, columns=treatment, values=metric, aggfunc="first",
                             sort=False) if replicate else table.set_index(treatment)[[metric]].T
    return wide.rank(axis=1, ascending=not higher_is_better, method="min")


def rank_stability(table: pd.DataFrame, treatment: str, metric: str, replicate: Sequence[str],
                   higher_is_better: bool = True) -> pd.DataFrame:
    """Per treatment: ``rank`` in the comparison of the replicate means, ``held`` how many replicates put it
    at that rank, ``replicates``, and ``mean_rank`` over replicates."""
    ranks = _ranks(table, treatment, metric, replicate, higher_is_better)
    means = table.groupby(treatment, sort=False)[metric].mean()
    pooled = means.rank(ascending=not higher_is_better, method="min")
    out = []
    for t in means.index:
        r = ranks[t].to_numpy()
        out.append({treatment: t, "rank": int(pooled[t]), "held": int(np.sum(r == pooled[t])),
                    "replicates": int(r.size), "mean_rank": float(np.mean(r))})
    return pd.DataFrame(out)


def pairwise_wins(table: pd.DataFrame, treatment: str, metric: str, replicate: Sequence[str],
                  higher_is_better: bool = True) -> pd.DataFrame:
    """Square table: cell (A, B) = in how many replicates A's metric is strictly better than B's."""
    ranks = _ranks(table, treatment, metric, replicate, higher_is_better)
    names = list(ranks.columns)
    r = ranks.to_numpy()
    wins = (r[:, :, None] < r[:, None, :]).sum(axis=0)
    return pd.DataFrame(wins, index=pd.Index(names, name=treatment), columns=names)
