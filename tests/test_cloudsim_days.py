"""Every PlanetLab day of ``../shared/data/planetlab`` runs in compatibility mode (CloudSim's numbers exist
only for 2011-03-03, so the others must simply run and be plausible). Skipped without ../shared."""

from __future__ import annotations

from pathlib import Path

import pytest

from kumo.studies.cloudsim import run_cloudsim

PLANETLAB = Path(__file__).resolve().parents[2] / "shared" / "data" / "planetlab"
DAYS = sorted(p.name for p in PLANETLAB.iterdir()) if PLANETLAB.is_dir() else []

pytestmark = [
    pytest.mark.validation,
    pytest.mark.skipif(not DAYS, reason=f"PlanetLab days not available: {PLANETLAB} does not exist"),
]


@pytest.mark.parametrize("day", DAYS)
def test_every_day_runs_with_the_baselines(day, monkeypatch):
    monkeypatch.setenv("KUMO_PLANETLAB_DIR", str(PLANETLAB))
    dvfs = run_cloudsim("dvfs", date=day)
    npa = run_cloudsim("npa", date=day)
    # 800 hosts at full power over [0, 86 100.1 s], whatever the day
    assert npa["energy_kwh"] == pytest.approx((400 * 117 + 400 * 135) * 86100.1 / 3.6e6, rel=1e-12)
    assert 0 < dvfs["energy_kwh"] < npa["energy_kwh"]
    assert dvfs["migrations"] == 0 and dvfs["slatah"] == 0


def test_a_consolidation_policy_runs_on_another_day(monkeypatch):
    monkeypatch.setenv("KUMO_PLANETLAB_DIR", str(PLANETLAB))
    day = next(d for d in DAYS if d != "20110303")
    lr = run_cloudsim("lr-mmt", date=day)
    dvfs = run_cloudsim("dvfs", date=day)
    # consolidation saves most of the baseline's energy at the price of a few % SLA time, as on 2011-03-03
    assert lr["energy_kwh"] < 0.5 * dvfs["energy_kwh"]
    assert lr["migrations"] > 1000 and 0 < lr["slatah"] < 0.2 and 0 < lr["pdm"] < 0.01


def test_every_planetlab_day_ships_with_kumo(monkeypatch, tmp_path):
    """validate --date works after pip install: the ten days are embedded, no folder needed."""
    from typer.testing import CliRunner

    from kumo.cli import app
    from kumo.traces import EMBEDDED, load

    monkeypatch.delenv("KUMO_PLANETLAB_DIR", raising=False)
    monkeypatch.chdir(tmp_path)  # no ../shared next to the working directory
    days = sorted(n for n in EMBEDDED if n.startswith("planetlab-"))
    assert len(days) == 10
    sizes = {d: load(d).n_vms for d in days}
    assert sizes["planetlab-20110303"] == 1052 and sizes["planetlab-20110306"] == 898
    r = CliRunner().invoke(app, ["validate", "cloudsim-planetlab", "--date", "20110412", "-p", "thr-mmt", "--format",
                                 "csv"])
    assert r.exit_code == 0, r.output
    assert "thr-mmt" in r.output and "energy_kwh" in r.output
    r = CliRunner().invoke(app, ["trace", "list"])
    assert r.exit_code == 0 and "planetlab-20110420" in r.output
