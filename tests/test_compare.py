"""The Table 10.10 comparison: reference arithmetic, Spearman, the table's shape, CLI and figure, full month."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import make_trace
from typer.testing import CliRunner

from kumo.cli import app
from kumo.report import profit_decomposition
from kumo.studies.kohne2018.compare import compare, spearman
from kumo.studies.kohne2018.setup import COLUMNS, KohneSetup, load_reference, load_setup


def test_spearman_against_hand_ranks():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ranks (1, 2, 3) vs (1.5, 1.5, 3): Pearson of the centred ranks (-1, 0, 1) and (-0.5, -0.5, 1)
    assert spearman([1, 2, 3], [5, 5, 9]) == pytest.approx(1.5 / np.sqrt(2 * 1.5))


def test_reference_table_identities_hold_to_the_cent():
    ref = load_reference()
    assert list(ref.index) == ["FF", "HPGBF", "HPGOP", "HPGWF", "MMBF", "MMOP", "MMWF", "MMWF+LB"]
    assert list(ref.reset_index().columns) == list(COLUMNS)
    assert np.allclose(ref.profit, ref.revenue - ref.penalties - ref.costs, atol=0.005)
    # margins: to 0.1 pp (MMWF+LB's printed 41.0 is 40.9 by arithmetic, kohne-sla-scheduling.md 1.2)
    assert np.all(np.abs(100 * ref.profit / ref.revenue - ref.margin_percent) <= 0.1 + 1e-9)
    # CPU 160 and RAM 120 per break solve the three rows without uptime breaks exactly
    no_ut = ref[ref.sla_breaks_uptime == 0]
    assert np.allclose(160 * no_ut.sla_breaks_cpu + 120 * no_ut.sla_breaks_ram, no_ut.penalties, atol=0.005)


def tiny_setup():
    sc = {
        "name": "tiny-kohne", "seed": 0, "record_vm_steps": True,
        "hosts": [{"count": 4, "cores": 2, "core_mhz": 1500, "ram_mb": 4096, "cpu_overcommit": 4,
                   "ram_overcommit": 3, "initially_on": False}],
        "placement": {"preset": "worst-fit", "resource": "ram", "order": "ram-desc"},
        "migration": {"params": {"ram": "used", "source_cpu_loss": 0.0}},
        "controller": {"name": "sla", "params": {"lower": 0.15, "op_min_history": 3}},
    }
    calib = {"calibrated_on": ["FF", "MMWF"], "constants": {"price scale": {"value": 0.1, "status": "calibrated"}}}
    return KohneSetup(scenario=sc, ledger={"prices": {"scale": 0.1}, "costs": {"hardware_per_host_hour": 0.01}},
                      calibration=calib, source="test")


def test_comparison_table_has_the_reference_columns_with_the_reference_row_beside_each_kumo_row(tmp_path):
    rng = np.random.default_rng(2)
    cpu = rng.uniform(0, 1, (36, 12)) * np.array([3000, 1500, 600] * 4)
    tr = make_trace(cpu, ram=rng.uniform(100, 2500, (36, 12)), booked_cpu=[3000, 1500, 600] * 4,
                    booked_ram=[3072] * 12)
    cmp = compare(tiny_setup(), schedulers=["FF", "HPGWF", "MMWF"], trace=tr)
    t = cmp.table()
    assert list(t.columns) == ["scheduler", "source", "row", *COLUMNS[1:]]
    assert t.scheduler.tolist() == ["FF", "FF", "HPGWF", "HPGWF", "MMWF", "MMWF"]
    assert t.source.tolist() == ["kumo", "reference"] * 3
    assert t.row.tolist() == ["calibration"] * 2 + ["validation"] * 2 + ["calibration"] * 2
    ref = load_reference()
    assert t.iloc[1]["penalties"] == ref.at["FF", "penalties"]
    k = t[t.source == "kumo"]
    assert np.allclose(k.profit, k.revenue - k.penalties - k.costs, atol=0.011)
    assert k.revenue.nunique() == 1  # revenue does not depend on the scheduler
    rho = spearman(cmp.kumo.margin_percent, ref.loc[["FF", "HPGWF", "MMWF"], "margin_percent"])
    assert cmp.spearman_margin == pytest.approx(rho)
    checks = cmp.checks()
    assert "Spearman of margins >= 0.9" in checks.target.tolist()
    assert any(c.startswith("HPGWF migrations within 2x") for c in checks.target)
    data = json.loads(cmp.to_json())
    assert data["spearman_margin"] == pytest.approx(rho) and len(data["table"]) == 6
    path = tmp_path / "cmp.json"
    path.write_text(cmp.to_json())
    png = profit_decomposition(path, tmp_path / "profit.png")
    assert png.stat().st_size > 10_000


def test_shipped_setup_labels_what_was_calibrated_and_on_which_rows():
    s = load_setup()
    rows = s.calibration_rows
    assert rows and set(rows) < set(load_reference().index)
    consts = s.constants()
    assert {"calibrated", "reference [D]"} <= set(consts.status)
    assert s.ledger["penalties"]["cpu"]["value"] == 160 and s.ledger["penalties"]["ram"]["value"] == 120
    assert "calibrate_kohne.py" in s.calibration["script"]


def test_cli_compare_prints_the_table_as_csv_on_a_short_run():
    res = CliRunner().invoke(app, ["compare", "--max-steps", "12", "-s", "MMWF", "-s", "FF", "--format", "csv",
                                   "--jobs", "1"])
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert lines[0] == "scheduler,source,row," + ",".join(COLUMNS[1:])
    assert [ln.split(",")[:2] for ln in lines[1:]] == [["MMWF", "kumo"], ["MMWF", "reference"], ["FF", "kumo"],
                                                       ["FF", "reference"]]


@pytest.fixture(scope="module")
def full_month():
    return compare()


@pytest.mark.slow
@pytest.mark.validation
def test_full_month_against_the_reference(full_month):
    cmp = full_month
    k = cmp.kumo
    # exact: the ledger's arithmetic and a scheduler-independent revenue equal to Kohne's (calibrated scale)
    assert np.allclose(k.profit, k.revenue - k.penalties - k.costs, atol=1e-6)
    assert np.allclose(k.revenue, 60806.34, atol=0.01)
    assert (k.penalties >= 160 * k.sla_breaks_cpu + 120 * k.sla_breaks_ram - 1e-6).all()
    # the targets that the calibrated set-up meets (docs/studies/kohne2018.md lists the measured
    # table); the runs are deterministic, so falling below is a regression, not noise
    checks = cmp.checks().set_index("target")
    assert cmp.spearman_margin >= 0.95  # measured 0.952: two adjacent swaps (MMOP/MMWF, HPGOP/HPGWF)
    assert checks.loc["FF migrations >= 10x every MM scheduler's", "pass"]
    # within-2x checks on the validation rows: measured 13 of 20 (a regression floor, not a target met)
    within = checks[checks.index.str.contains("within 2x")]
    assert len(within) == 20 and within["pass"].sum() >= 13
    # the ordering facts of the reference (kohne-sla-scheduling.md 8.7-8.9) that hold in kumo
    assert k.margin_percent.idxmax() == "MMWF+LB"
    assert k.loc[["MMBF", "MMOP", "MMWF", "MMWF+LB"], "margin_percent"].min() > \
        k.loc[["FF", "HPGBF", "HPGOP", "HPGWF"], "margin_percent"].max()
    assert k.sla_breaks_uptime.idxmax() == "FF"


@pytest.mark.slow
@pytest.mark.validation
def test_full_month_worst_fit_variants_have_no_uptime_breaks(full_month):
    # met at the calibrated point; not robust: with both upper thresholds moved by -0.01 / +0.01 (not
    # re-calibrated) MMWF+LB and HPGWF have 1-2 uptime breaks (docs/studies/kohne2018.md)
    assert full_month.checks().set_index("target").loc["zero uptime breaks for the worst-fit variants", "pass"]


def test_guard_setup_is_shipped_labelled_and_keeps_ff_naive():
    g = load_setup("guard")
    assert g.calibration["readings"] == "guard" and "--readings guard" in g.calibration["script"]
    assert g.calibration_rows == load_setup().calibration_rows  # same calibration rows, other readings
    params = g.scenario["controller"]["params"]
    assert params["uptime_guard"] is True
    # the guard knows the ledger's uptime rule: one fixed downtime over the allowance of one window
    sla = g.ledger["sla"]
    assert sla["downtime"] == "fixed" and params["uptime_downtime_s"] == sla["fixed_downtime_s"]
    assert params["uptime_window_h"] == sla["uptime_window_h"]
    assert params["uptime_allowance_s"] == pytest.approx((1 - sla["uptime_target"]) * sla["uptime_window_h"] * 3600)
    consts = g.constants().set_index("constant")
    assert consts.loc["uptime guard (SLA-aware selection)", "value"] is True
    assert load_setup().scenario["controller"]["params"]["uptime_guard"] is False


@pytest.mark.slow
@pytest.mark.validation
def test_guard_setup_full_month_worst_fit_variants_have_no_uptime_breaks():
    # the alternative reading (docs/studies/kohne2018.md): zero uptime breaks on the worst-fit rows, which is
    # robust (also at thresholds 0.79 / 0.81), FF still >= 10x; its Spearman (measured 0.881) is below the
    # target, so only the ordering facts it keeps are asserted, and the measured value as a regression floor
    cmp = compare("guard")
    checks = cmp.checks().set_index("target")
    assert checks.loc["zero uptime breaks for the worst-fit variants", "pass"]
    assert checks.loc["FF migrations >= 10x every MM scheduler's", "pass"]
    k = cmp.kumo
    assert k.loc[["MMBF", "MMOP", "MMWF", "MMWF+LB"], "margin_percent"].min() > \
        k.loc[["FF", "HPGBF", "HPGOP", "HPGWF"], "margin_percent"].max()
    assert k.sla_breaks_uptime.idxmax() == "FF"
    assert cmp.spearman_margin >= 0.88  # measured 0.881; deterministic runs


@pytest.mark.slow
def test_the_readme_and_the_study_page_quote_kumo_compare(full_month):
    """The comparison table in README.md and docs/studies/kohne2018.md is kumo compare's output, not typed."""
    import re
    from pathlib import Path

    root = Path(__file__).parents[1]
    t = full_month.table().set_index(["scheduler", "source"])
    for doc in (root / "README.md", root / "docs" / "studies" / "kohne2018.md"):
        pair = r" ([\d,.-]+ / [\d,.-]+) \|"  # a "kumo / reference" cell
        rows = re.findall(r"^\| (FF|HPGBF|HPGOP|HPGWF|MMBF|MMOP|MMWF|MMWF\+LB)(?: \(C\))? \|" + pair * 5,
                          doc.read_text(), re.M)
        assert len(rows) >= 8, doc
        for name, migr, cpu, ram, ut, margin in rows[:8]:
            kumo = t.loc[(name, "kumo")]
            got = [c.split("/")[0].strip().replace(",", "") for c in (migr, cpu, ram, ut, margin)]
            want = [str(int(kumo[c])) for c in ("migrations", "sla_breaks_cpu", "sla_breaks_ram", "sla_breaks_uptime")]
            assert got[:4] == want and float(got[4]) == round(float(kumo["margin_percent"]), 1), (doc.name, name)
