"""Reproduce Kohne's Table 10.10: the eight SLA schedulers on Bitbrains Rnd month 1, beside the reference.

:func:`compare` runs the schedulers of :data:`~kumo.studies.kohne2018.presets.TABLE_10_10` on the calibrated
set-up (``data/kohne-calibration.json``: scenario, ledger and which constants were calibrated on which
rows), accounts each run (:mod:`kumo.accounting`) and returns a :class:`Comparison`: kumo's row and the
reference row for every scheduler, the Spearman rank correlation of the margins, and the reproduction's
targets checked. Calibration rows are labelled as such; only the other rows validate the model. The
readings, the numbers and what was tried are in ``docs/studies/kohne2018.md``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kumo.studies.kohne2018.presets import SCHEDULERS, TABLE_10_10
from kumo.studies.kohne2018.setup import COLUMNS, KohneSetup, load_reference, load_setup

__all__ = ["Comparison", "compare", "spearman"]

#: money columns rounded to the cent, margin to 0.1 pp, as in the reference
_MONEY = ("penalties", "costs", "profit", "revenue")
_COUNTS = ("migrations", "sla_breaks_cpu", "sla_breaks_ram", "sla_breaks_uptime")


def spearman(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Spearman's rank correlation: Pearson's r of the average ranks (ties share their mean rank)."""
    ra = pd.Series(np.asarray(a, dtype=np.float64)).rank(method="average").to_numpy()
    rb = pd.Series(np.asarray(b, dtype=np.float64)).rank(method="average").to_numpy()
    if len(ra) < 2:
        return float("nan")
    ra, rb = ra - ra.mean(), rb - rb.mean()
    den = np.sqrt((ra * ra).sum() * (rb * rb).sum())
    return float((ra * rb).sum() / den) if den > 0 else float("nan")


@dataclass
class Comparison:
    """kumo's rows beside the reference's.

    ``kumo``: every accounts column per scheduler (indexed by scheduler; the mean over the replicates when
    there are several). ``reference``: the reference's rows, or None when the runs are not the reference's
    experiment (another trace, a window of the month, perturbed demand): no reference column, Spearman or
    target is printed then. ``runs``: every run (one row per scheduler and replicate), ``replicate_axes``: the
    columns of ``runs`` that tell replicates apart.
    """

    kumo: pd.DataFrame
    reference: pd.DataFrame | None
    setup: KohneSetup
    runs: pd.DataFrame | None = None
    replicate_axes: list[str] = field(default_factory=list)

    @property
    def schedulers(self) -> list[str]:
        return list(self.kumo.index)

    @property
    def n_replicates(self) -> int:
        return 1 if self.runs is None or not len(self.kumo) else len(self.runs) // len(self.kumo)

    @property
    def spearman_margin(self) -> float:
        """Spearman rank correlation of kumo's margins with the reference's, over the schedulers run (NaN
        without a reference)."""
        if self.reference is None:
            return float("nan")
        ref = self.reference.loc[self.schedulers, "margin_percent"]
        return spearman(self.kumo["margin_percent"].to_numpy(), ref.to_numpy())

    def role(self, scheduler: str) -> str:
        return "calibration" if scheduler in self.setup.calibration_rows else "validation"

    def table(self) -> pd.DataFrame:
        """Exactly the reference's columns, kumo's row then the reference row for each scheduler, with
        ``source`` (kumo / reference) and ``row`` (calibration / validation) labels; kumo's rows alone
        without a reference."""
        rows = []
        for s in self.schedulers:
            k = {c: self.kumo.at[s, c] for c in COLUMNS[1:]}
            rows.append({"scheduler": s, "source": "kumo", "row": self.role(s), **k})
            if self.reference is not None:
                rows.append({"scheduler": s, "source": "reference", "row": self.role(s),
                             **{c: self.reference.at[s, c] for c in COLUMNS[1:]}})
        df = pd.DataFrame(rows)
        for c in _MONEY:
            df[c] = df[c].astype(float).round(2)
        df["margin_percent"] = df["margin_percent"].astype(float).round(1)
        if self.n_replicates == 1:
            for c in _COUNTS:
                df[c] = df[c].astype("int64")
        else:
            for c in _COUNTS:
                df[c] = df[c].astype(float).round(1)
        return df[["scheduler", "source", "row", *COLUMNS[1:]]]

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """Per scheduler and column of the reference table: mean, spread and t-interval over the replicates
        (:func:`kumo.stats.summarize`)."""
        from kumo.stats import summarize

        runs = self.runs if self.runs is not None else self.kumo.reset_index()
        return summarize(runs, ["scheduler"], list(COLUMNS[1:]), level)

    def stability(self, metric: str = "margin_percent") -> pd.DataFrame:
        """How often each scheduler holds its rank on ``metric`` across the replicates."""
        from kumo.stats import rank_stability

        runs = self.runs if self.runs is not None else self.kumo.reset_index()
        return rank_stability(runs, "scheduler", metric, self.replicate_axes)

    def wins(self, metric: str = "margin_percent") -> pd.DataFrame:
        """Cell (A, B): in how many replicates A's ``metric`` beats B's."""
        from kumo.stats import pairwise_wins

        runs = self.runs if self.runs is not None else self.kumo.reset_index()
        return pairwise_wins(runs, "scheduler", metric, self.replicate_axes)

    def checks(self) -> pd.DataFrame:
        """The reproduction's targets: target, measured value, threshold, pass (none without a reference)."""
        k, ref = self.kumo, self.reference
        out: list[dict[str, Any]] = []
        if ref is None:
            return pd.DataFrame(out, columns=["target", "value", "pass"])
        rho = self.spearman_margin
        out.append({"target": "Spearman of margins >= 0.9", "value": rho, "pass": bool(rho >= 0.9)})
        mm = [s for s in self.schedulers if s.startswith("MM")]
        if "FF" in k.index and mm:
            ratio = k.at["FF", "migrations"] / max(k.loc[mm, "migrations"].max(), 1)
            out.append({"target": "FF migrations >= 10x every MM scheduler's", "value": ratio,
                        "pass": bool(ratio >= 10)})
        wf = [s for s in self.schedulers if "WF" in s]
        if wf:
            ut = int(k.loc[wf, "sla_breaks_uptime"].max())
            out.append({"target": "zero uptime breaks for the worst-fit variants", "value": ut, "pass": ut == 0})
        for s in self.schedulers:
            if self.role(s) != "validation":
                continue
            for c in _COUNTS:
                a, b = float(k.at[s, c]), float(ref.at[s, c])
                ratio = (a / b) if b > 0 else (1.0 if a == 0 else float("inf"))
                out.append({"target": f"{s} {c} within 2x of the reference ({int(b)})", "value": ratio,
                            "pass": bool(0.5 <= ratio <= 2.0)})
        return pd.DataFrame(out)

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "table": self.table().to_dict(orient="records"),
            "spearman_margin": self.spearman_margin,
            "checks": self.checks().to_dict(orient="records"),
            "breakdown": self.kumo.reset_index().to_dict(orient="records"),
            "calibration": self.setup.calibration,
            "setup": self.setup.source,
        }
        if self.n_replicates > 1:
            data["replicates"] = {"axes": self.replicate_axes, "n": self.n_replicates,
                                  "summary": self.summary().to_dict(orient="records"),
                                  "stability": self.stability().to_dict(orient="records"),
                                  "wins": self.wins().reset_index().to_dict(orient="records")}
        return json.dumps(data, indent=2, default=float)


def compare(setup: KohneSetup | str | Path | None = None, schedulers: Sequence[str] = SCHEDULERS,
            executor: Executor | None = None, trace: Any = None, max_steps: int | None = None,
            max_vms: int | None = None, progress: Callable[[int, int], None] | None = None,
            reference: pd.DataFrame | None = None, out_dir: str | Path | None = None,
            plugins: Sequence[str] = (), seeds: Sequence[int] | None = None, windows: int | None = None,
            noise: float = 0.0, jitter: float = 0.0, trace_source: str | None = None,
            trace_format: str | None = None) -> Comparison:
    """Run ``schedulers`` on the set-up and put each beside the reference row.

    Parameters
    ----------
    setup : a :class:`KohneSetup`, a path to one, or None for the calibrated default.
    schedulers : Table-10.10 names (``"MMWF+LB"`` ...).
    executor : where the runs go (default: a local process pool; one run per process, single-threaded).
    trace : a Trace to use instead of the scenario's (tests); default: the embedded Bitbrains month.
    max_steps, max_vms : shorten the runs (tests).
    progress : ``progress(done, total)`` per finished run.
    plugins : plugins every run needs (module names or .py paths), loaded in the workers too.
    out_dir : keep the runs there (resumable, :func:`kumo.sweep.run_many`), with every scheduler's
        ledger in ``ledgers/<key>.csv`` and ``results.csv`` (the ``key`` column names the file).
    seeds, windows, noise, jitter : replicates (:class:`kumo.sweep.ReplicateSpec`): every scheduler runs once
        per seed, window of the trace and threshold jitter, with demand noise of relative size ``noise``.
    trace_source, trace_format : run on another trace (embedded name, folder or file); the reference is
        then not shown.
    """
    from kumo.sweep import Experiment, ReplicateSpec, run_many

    if not isinstance(setup, KohneSetup):
        setup = load_setup(setup)
    bad = [s for s in schedulers if s not in TABLE_10_10]
    if bad:
        raise KeyError(f"unknown scheduler(s) {bad}; valid: {', '.join(TABLE_10_10)}")
    over: dict[str, Any] = {}
    if max_steps is not None or max_vms is not None:
        over["trace"] = {k: v for k, v in (("max_steps", max_steps), ("max_vms", max_vms)) if v is not None}
    if trace_source is not None:
        over.setdefault("trace", {}).update({"source": trace_source, "format": trace_format})
    from kumo.sweep import deep_merge

    base_seed = int(setup.scenario.get("seed", 0))
    exp = Experiment(name="kohne-table-10-10", scenario=deep_merge(setup.scenario, over), ledger=setup.ledger,
                     axes={"scheduler": list(schedulers)}, seeds=list(seeds) if seeds else [base_seed],
                     replicates=ReplicateSpec(windows=windows, noise=noise, jitter=jitter), plugins=list(plugins))
    table = run_many(exp.expand(), executor=executor, trace=trace, progress=progress, out_dir=out_dir,
                     ledgers=out_dir is not None)
    replicated = len(table) > len(schedulers)
    if replicated:
        kumo = table.groupby("scheduler", sort=False).mean(numeric_only=True)
    else:
        kumo = table.set_index("scheduler")
    own = trace_source in (None, setup.scenario.get("trace", {}).get("source")) and not (windows or noise or jitter)
    ref = reference if reference is not None else (load_reference() if own else None)
    return Comparison(kumo=kumo, reference=ref, setup=setup, runs=table if replicated else None,
                      replicate_axes=exp.replicate_axes)
