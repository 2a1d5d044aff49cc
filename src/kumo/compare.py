"""Reproduce Kohne's Table 10.10: the eight SLA schedulers on Bitbrains Rnd month 1, beside the reference.

:func:`compare` runs the schedulers of :data:`kumo.policies.kohne.PRESETS` on the calibrated set-up
(``data/kohne-calibration.json``: scenario, ledger and which constants were calibrated on which rows),
accounts each run (:mod:`kumo.accounting`) and returns a :class:`Comparison`: kumo's row and the reference
row for every scheduler, the Spearman rank correlation of the margins, and the issue's targets checked.
Calibration rows are labelled as such; only the other rows validate the model.

Measured with the shipped calibration (``kumo compare``; kumo row / reference row; C = calibration row)::

    scheduler    migrations   CPU br    RAM br    UT br      margin %
    FF      C  42595/28326   30/12    184/370    758/3350   -36.0/-96.2
    HPGBF   C   4637/5355   490/401   222/212     20/60    -124.3/-98.9
    HPGOP      1740/2372    24/114    62/101      3/33      30.0/-2.0
    HPGWF      1870/3705    66/49     76/141      0/0       16.3/8.7
    MMBF        538/1111    11/6      31/69       0/40      39.6/31.1
    MMOP        505/825      5/2      21/34       0/7       43.2/39.1
    MMWF    C    447/890      3/2      31/34       0/0       41.7/40.6
    MMWF+LB      909/871      3/3      16/26       0/0       44.7/41.0

Two readings and the calibrated constants make this set-up:

* the controller acts at the *end* of each interval, on the demand just accounted (``controller.timing =
  "end"``): an overload is suffered for one interval before any move relieves it. This is CloudSim's order
  (``PowerDatacenter`` records each host's allocated and requested MIPS for the interval, then calls
  ``optimizeAllocation``), and FederatedCloudSim extends CloudSim; it is fixed before calibrating, not
  searched;
* CPU and RAM objectives evaluated per window (``SlaSpec.counting = "window"``, in the calibration grid with
  the per-interval and per-episode readings): a VM breaks one when it missed more than 5 % of its demand
  summed over a 4-hour window. A short spike costs nothing; a host left overloaded for hours does;
* calibrated on FF, HPGBF and MMWF (objective 5.37): 20 hosts of 64 cores and 96 GiB, upper thresholds 0.8,
  consolidation below 0.1 up to 0.6 every hour, at most two VMs leaving an overloaded host per step, FF
  evicting every VM of an overloaded host, 10 s of downtime per migration against 99.9 % uptime a day.

Met: Spearman of the margins 0.952 (two adjacent swaps: MMOP/MMWF, HPGOP/HPGWF); FF migrates 47x more than
any MM scheduler; zero uptime breaks on the worst-fit rows; revenue 60,806.34 in every row (calibrated
scale). Short: 13 of the 20 within-2x checks on the validation rows pass; HPGOP breaks too few CPU
objectives (24 vs 114) and uptime objectives (3 vs 33), MMBF and MMOP have no uptime breaks where the
reference has 40 and 7, MMBF migrates 0.48x and breaks RAM 0.45x the reference, MMOP's 5 CPU breaks are
2.5x its 2.

Still fragile: with both upper thresholds moved by -0.01 / +0.01 (not re-calibrated) the Spearman is 0.929 /
0.881, the worst-fit rows have 3 / 2 uptime breaks and 9 / 8 of 20 within-2x checks pass. The HPG rows are
the unstable ones: HPG evicts near-idle VMs first, so whether a CPU spike keeps a host overloaded for hours
hinges on a few episodes.

How the readings compare (all calibrated by the same script on the same rows; the validation rows were
looked at for each, so the choice of the timing reading is argued from CloudSim's code, not from them):

* timing *start* (the controller acts on the interval's own demand before it is accounted, so an overload
  it sees and relieves in time costs nothing), windowed objectives: objective 4.93 on the calibration rows
  (the same constants), Spearman 0.905, 11 of 20 within 2x, 0 / 0 / 1 uptime breaks on the worst-fit rows;
* timing start, breaks per interval (the set-up shipped before the window reading): objective 9.05,
  Spearman 0.952 but 28 / 4 / 5 uptime breaks on the worst-fit rows and 4 of 20 within 2x (migrations
  0.28-0.52x, HPG CPU breaks 3.3-3.6x);
* timing end, breaks per interval: objective 13.11, Spearman 0.929, 10 of 20 within 2x, no uptime break on
  the worst-fit rows, FF 16x;
* a wider stage-1 grid (lower threshold 0.2, consolidation up to the upper thresholds; ``--timing start end
  --grid '{"lower": [0.1, 0.2], "ee_upper": [null, 0.6, 0.75], "max_moves_per_host": [null, 1, 2]}'``, 720
  runs, 33 min) fits the calibration rows better (objective 2.86, timing start, 40 hosts of 32 cores,
  upper 0.9, lower 0.2) but validates worse (Spearman 0.76, 7 of 20, 7 uptime breaks on the worst-fit
  rows): three rows leave the constants underdetermined. Its best end-timing point scores 5.15.

Alternative set-up ``kumo compare --setup guard`` (``data/kohne-calibration-guard.json``, calibrated on the
same rows by ``scripts/calibrate_kohne.py --readings guard`` before the window reading was in the ledger
grid, so its breaks are counted per interval, and with the controller acting at the start of each interval):
the SLA-based schedulers know their VMs'
uptime objective and never break it by their own migrations (:mod:`kumo.policies._kohne_guard`; FF stays
naive). The grid adds the reference's own relief and consolidation rules and migrations sharing the link;
the calibration picked the then classic point with the guard on (objective 23.2; the guard removes HPGBF's 60
uptime breaks, which costs 16.9 of it)::

    scheduler    migrations   CPU br    RAM br    UT br      margin %
    FF      C  38908/28326   13/12    593/370   5410/3350  -336.6/-96.2
    HPGBF   C   1151/5355   272/401   434/212      0/60    -108.6/-98.9
    HPGOP        796/2372    41/114   280/101      0/33     -17.4/-2.0
    HPGWF       1027/3705   209/49    357/141      0/0      -76.8/8.7
    MMBF         383/1111     0/6      96/69       0/40      29.7/31.1
    MMOP         357/825     12/2      75/34       0/7       30.7/39.1
    MMWF    C    462/890      0/2      99/34       0/0       29.1/40.6
    MMWF+LB      457/871     17/3      66/26       0/0       31.2/41.0

Zero uptime breaks for every worst-fit variant, robustly (also with the thresholds at 0.79 / 0.81), FF 84x
the MM migrations, 4 of 20 within-2x checks (8 at 0.79 and at 0.81), but Spearman 0.881 (0.833 / 0.929 at
0.79 / 0.81; the classic set-up of then: 0.952, 0.929 / 0.833): about as good as the classic set-up on average,
below the target at the calibrated point, hence not the default. The guard also removes the uptime breaks
of the best-fit and OP rows, which the reference has (33-60). The reference's own rules alone (no per-step
cap, consolidation every interval down to 0.2 and up to the upper thresholds, guard on; not a calibrated
point) bring every validation row's migrations within 2x (HPG 1.2-2.0x, MM 0.55-0.78x) but leave HPG without
CPU breaks unless CPU breaks are counted at any shortfall, which gives the MM rows 14-33x the reference's
CPU breaks (HPG 0.9-3.2x). Letting a host's concurrent migrations share its link (``nic_sharing`` in the
grid) makes HPG, which sends many VMs off a host at once, keep its hosts overloaded for longer and break CPU
objectives where MM does not (HPG 11-68, MM 0-39 without a cap), the reference's direction but not yet its
size; the mechanism that makes HPG break CPU objectives 10-200x more often than MM in the reference is not
fully in the model.

The guard set-up recalibrated with the new readings (timing end, the window grid, the daily uptime rule of
the classic set-up, park 20 x 64 cores x 96 GiB; objective 20.4) gives zero uptime breaks on the worst-fit
rows and 11 of 20 within-2x checks but Spearman 0.76 (HPG's CPU breaks 2.7-16x the reference), so the
shipped guard file stays the earlier one.

Tried and not shipped (measured with the previous, per-interval ledger grid): the uptime reading
``SlaSpec.downtime_moves = "overload"`` (only migrations off an
overloaded source cost downtime; the others are live). Calibrated on the same rows
(``scripts/calibrate_kohne.py --downtime-moves all overload``) it lowers the objective from 9.05 to 7.22
and picks another stage-1 point (ee_upper 0.6, max_moves_per_host 2); on the validation rows the
within-2x checks pass 7 of 20 instead of 4, but the worst-fit variants still break uptime (HPGWF 17,
MMWF 2, MMWF+LB 29; 4, 0, 6 with the daily window of the reference's §4) and the Spearman of the margins
falls to 0.81, below the target, so the shipped calibration keeps ``downtime_moves = "all"``.

Also tried and not shipped (with the previous ledger grid, before the window reading):

* the controller acting at the *end* of its step with breaks counted per interval: see above (objective
  13.11);
* HPG's other two-resource drivers on the point shipped then (``selection_params.driver``): ``cpu_first``
  Spearman 0.881, ``normalized_sum`` 0.762, HPG CPU breaks 5-19x the reference on the validation rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kumo.policies.kohne import PRESETS

__all__ = ["COLUMNS", "SETUPS", "Comparison", "KohneSetup", "compare", "load_reference", "load_setup", "spearman"]

#: the reference table's columns, in its order
COLUMNS = ("scheduler", "migrations", "sla_breaks_cpu", "sla_breaks_ram", "sla_breaks_uptime", "penalties", "costs",
           "profit", "margin_percent", "revenue")
#: money columns rounded to the cent, margin to 0.1 pp, as in the reference
_MONEY = ("penalties", "costs", "profit", "revenue")
_COUNTS = ("migrations", "sla_breaks_cpu", "sla_breaks_ram", "sla_breaks_uptime")
SCHEDULERS = tuple(PRESETS)


def _data_file(name: str) -> Path:
    return Path(str(resources.files("kumo.data").joinpath(name)))


def load_reference(path: str | Path | None = None) -> pd.DataFrame:
    """Kohne's Table 10.10 (``data/kohne-table-10-10.csv``), indexed by scheduler."""
    df = pd.read_csv(path or _data_file("kohne-table-10-10.csv"))
    return df[list(COLUMNS)].set_index("scheduler")


@dataclass(frozen=True)
class KohneSetup:
    """The anchor scenario: ``scenario`` (dict, controller ``sla`` with the common parameters), ``ledger``
    (dict for :class:`kumo.accounting.LedgerSpec`) and ``calibration`` (what was calibrated, on which
    rows, with which script; the constants with their status)."""

    scenario: dict[str, Any]
    ledger: dict[str, Any]
    calibration: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    @property
    def calibration_rows(self) -> list[str]:
        return list(self.calibration.get("calibrated_on", []))

    def constants(self) -> pd.DataFrame:
        """Every documented constant with its value and status (calibrated / reference / assumption)."""
        rows = [{"constant": k, **v} for k, v in self.calibration.get("constants", {}).items()]
        return pd.DataFrame(rows)


#: set-ups shipped with kumo, by name (``kumo compare --setup guard``)
SETUPS = {"classic": "kohne-calibration.json", "guard": "kohne-calibration-guard.json"}


def load_setup(path: str | Path | None = None) -> KohneSetup:
    """The calibrated set-up (default: ``data/kohne-calibration.json``), a shipped one by name (``"classic"``,
    ``"guard"``: :data:`SETUPS`) or another file of the same shape."""
    p = Path(path) if path is not None else _data_file(SETUPS["classic"])
    if path is not None and not p.exists() and str(path) in SETUPS:
        p = _data_file(SETUPS[str(path)])
    data = json.loads(p.read_text())
    return KohneSetup(scenario=data["scenario"], ledger=data.get("ledger", {}),
                      calibration={k: v for k, v in data.items() if k not in ("scenario", "ledger")}, source=str(p))


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
        """The issue's targets: target, measured value, threshold, pass."""
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
            reference: pd.DataFrame | None = None, out_dir: str | Path | None = None) -> Comparison:
    """Run ``schedulers`` on the set-up and put each beside the reference row.

    Parameters
    ----------
    setup : a :class:`KohneSetup`, a path to one, or None for the calibrated default.
    schedulers : Table-10.10 names (``"MMWF+LB"`` ...).
    executor : where the runs go (default: a local process pool; one run per process, single-threaded).
    trace : a Trace to use instead of the scenario's (tests); default: the embedded Bitbrains month.
    max_steps, max_vms : shorten the runs (tests).
    progress : ``progress(done, total)`` per finished run.
    out_dir : keep the runs there (resumable, :func:`kumo.sweep.run_many`), with every scheduler's
        ledger in ``ledgers/<key>.csv`` and ``results.csv`` (the ``key`` column names the file).
    """
    from kumo.sweep import Experiment, run_many

    if not isinstance(setup, KohneSetup):
        setup = load_setup(setup)
    bad = [s for s in schedulers if s not in PRESETS]
    if bad:
        raise KeyError(f"unknown scheduler(s) {bad}; valid: {', '.join(PRESETS)}")
    over: dict[str, Any] = {}
    if max_steps is not None or max_vms is not None:
        over["trace"] = {k: v for k, v in (("max_steps", max_steps), ("max_vms", max_vms)) if v is not None}
    from kumo.sweep import deep_merge

    exp = Experiment(name="kohne-table-10-10", scenario=deep_merge(setup.scenario, over), ledger=setup.ledger,
                     axes={"scheduler": list(schedulers)}, seeds=[int(setup.scenario.get("seed", 0))])
    table = run_many(exp.expand(), executor=executor, trace=trace, progress=progress, out_dir=out_dir,
                     ledgers=out_dir is not None)
    kumo = table.set_index("scheduler")
    ref = reference if reference is not None else load_reference()
    return Comparison(kumo=kumo, reference=ref, setup=setup)
