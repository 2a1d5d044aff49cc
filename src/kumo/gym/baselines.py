"""The baseline table: every heuristic kumo ships, run inside an environment on the same episodes, with
the mean and a 95 % confidence interval over episodes of its reward, energy, SLA breaks and migrations.

The interval is Student's t interval of the mean over the N episodes (each episode one sample; the same
seeds, hence the same windows, for every policy, so policies can also be compared episode by episode).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CARBON", "METRICS", "evaluate", "mean_ci", "metrics_of", "summarize"]

#: the columns of the table, each with its mean and half-width
METRICS = ("reward", "profit", "energy_kwh", "sla_breaks", "migrations", "rejections")
#: added to the table when the runs emit CO2 (a scenario with ``[carbon]``)
CARBON = "co2_kg"


def metrics_of(runs: pd.DataFrame) -> tuple[str, ...]:
    """The table's metrics for these runs: :data:`METRICS`, and ``co2_kg`` for runs with emissions."""
    has_co2 = CARBON in runs.columns and bool((runs[CARBON] > 0).any())
    return METRICS + (CARBON,) if has_co2 else METRICS

# two-sided 95 % quantiles of Student's t for 1..30 degrees of freedom (beyond: the normal's 1.96)
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def mean_ci(x: Sequence[float]) -> tuple[float, float]:
    """(mean, half-width of its 95 % Student t interval); the half-width is NaN for fewer than 2 samples."""
    a = np.asarray(x, dtype=np.float64)
    n = a.size
    if n == 0:
        return math.nan, math.nan
    if n < 2:
        return float(a.mean()), math.nan
    t = _T95[n - 2] if n - 1 <= len(_T95) else 1.96
    return float(a.mean()), float(t * a.std(ddof=1) / math.sqrt(n))


def evaluate(make_env: Callable[[], Any], policies: Sequence[Any], episodes: int, seed: int = 0,
             progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """One row per (policy, episode): episode i of every policy is ``reset(seed=seed + i)`` (the same
    window). ``make_env()`` builds a fresh environment per policy."""
    from kumo.gym.policies import run_episode

    rows = []
    done, total = 0, len(policies) * episodes
    for pol in policies:
        env = make_env()
        try:
            for i in range(episodes):
                rows.append(run_episode(env, pol, seed=seed + i).row())
                done += 1
                if progress is not None:
                    progress(done, total)
        finally:
            env.close()
    return pd.DataFrame(rows)


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Per policy (in the order they ran): episodes, and ``<metric>`` with ``<metric>_ci`` (95 % half-width)
    for every metric of :func:`metrics_of` the runs."""
    out = []
    for name, g in runs.groupby("policy", sort=False):
        row: dict[str, Any] = {"policy": name, "episodes": len(g)}
        for m in metrics_of(runs):
            row[m], row[f"{m}_ci"] = mean_ci(g[m].to_numpy())
        out.append(row)
    return pd.DataFrame(out)
