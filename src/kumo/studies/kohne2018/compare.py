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
from dataclasses import dataclass
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
    """kumo's rows (``kumo``: every accounts column, indexed by scheduler) beside the reference's."""

    kumo: pd.DataFrame
    reference: pd.DataFrame
    setup: KohneSetup

    @property
    def schedulers(self) -> list[str]:
        return list(self.kumo.index)

    @property
    def spearman_margin(self) -> float:
        """Spearman rank correlation of kumo's margins with the reference's, over the schedulers run."""
        ref = self.reference.loc[self.schedulers, "margin_percent"]
        return spearman(self.kumo["margin_percent"].to_numpy(), ref.to_numpy())

    def role(self, scheduler: str) -> str:
        return "calibration" if scheduler in self.setup.calibration_rows else "validation"

    def table(self) -> pd.DataFrame:
        """Exactly the reference's columns, kumo's row then the reference row for each scheduler, with
        ``source`` (kumo / reference) and ``row`` (calibration / validation) labels."""
        rows = []
        for s in self.schedulers:
            k = {c: self.kumo.at[s, c] for c in COLUMNS[1:]}
            rows.append({"scheduler": s, "source": "kumo", "row": self.role(s), **k})
            rows.append({"scheduler": s, "source": "reference", "row": self.role(s),
                         **{c: self.reference.at[s, c] for c in COLUMNS[1:]}})
        df = pd.DataFrame(rows)
        for c in _MONEY:
            df[c] = df[c].astype(float).round(2)
        df["margin_percent"] = df["margin_percent"].astype(float).round(1)
        for c in _COUNTS:
            df[c] = df[c].astype("int64")
        return df[["scheduler", "source", "row", *COLUMNS[1:]]]

    def checks(self) -> pd.DataFrame:
        """The reproduction's targets: target, measured value, threshold, pass."""
        k, ref = self.kumo, self.reference
        out: list[dict[str, Any]] = []
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
        return json.dumps({
            "table": self.table().to_dict(orient="records"),
            "spearman_margin": self.spearman_margin,
            "checks": self.checks().to_dict(orient="records"),
            "breakdown": self.kumo.reset_index().to_dict(orient="records"),
            "calibration": self.setup.calibration,
            "setup": self.setup.source,
        }, indent=2, default=float)


def compare(setup: KohneSetup | str | Path | None = None, schedulers: Sequence[str] = SCHEDULERS,
            executor: Executor | None = None, trace: Any = None, max_steps: int | None = None,
            max_vms: int | None = None, progress: Callable[[int, int], None] | None = None,
            reference: pd.DataFrame | None = None, out_dir: str | Path | None = None,
            plugins: Sequence[str] = ()) -> Comparison:
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
    """
    from kumo.sweep import Experiment, run_many

    if not isinstance(setup, KohneSetup):
        setup = load_setup(setup)
    bad = [s for s in schedulers if s not in TABLE_10_10]
    if bad:
        raise KeyError(f"unknown scheduler(s) {bad}; valid: {', '.join(TABLE_10_10)}")
    over: dict[str, Any] = {}
    if max_steps is not None or max_vms is not None:
        over["trace"] = {k: v for k, v in (("max_steps", max_steps), ("max_vms", max_vms)) if v is not None}
    from kumo.sweep import deep_merge

    exp = Experiment(name="kohne-table-10-10", scenario=deep_merge(setup.scenario, over), ledger=setup.ledger,
                     axes={"scheduler": list(schedulers)}, seeds=[int(setup.scenario.get("seed", 0))],
                     plugins=list(plugins))
    table = run_many(exp.expand(), executor=executor, trace=trace, progress=progress, out_dir=out_dir,
                     ledgers=out_dir is not None)
    kumo = table.set_index("scheduler")
    ref = reference if reference is not None else load_reference()
    return Comparison(kumo=kumo, reference=ref, setup=setup)
