"""The shipped federation examples: they equal their presets, run from the CLI, and feed the report."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kumo import load_trace
from kumo.cli import app
from kumo.federation import load_federation, parse_federation, run_federation
from kumo.federation import presets as P
from kumo.federation.report import (
    broker_table,
    constraint_costs,
    markdown,
    model_table,
)
from kumo.report.federation import plot_brokers, plot_models

EXAMPLES = Path(__file__).parents[1] / "examples"
PAIRS = {"private": P.private_cloud, "public": P.public_cloud, "hybrid": P.hybrid_cloud,
         "community": P.community_cloud, "brokers": P.three_providers}


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_example_equals_its_preset(name):
    assert load_federation(EXAMPLES / f"federation-{name}.toml") == parse_federation(PAIRS[name]())


def test_unknown_preset_lists_the_valid_ones():
    with pytest.raises(KeyError, match="valid: private, community, public, hybrid, three-providers"):
        P.preset("cooperative")


def test_kumo_run_on_a_federation_file(tmp_path):
    r = CliRunner().invoke(app, ["run", str(EXAMPLES / "federation-hybrid.toml"), "--max-steps", "6", "--quiet",
                                 "--out", str(tmp_path / "out"), "--out-format", "csv"])
    assert r.exit_code == 0, r.output
    assert "federation hybrid" in r.output and "customer_cost" in r.output and "corp" in r.output
    assert (tmp_path / "out" / "ledger.csv").exists()
    r = CliRunner().invoke(app, ["run", str(EXAMPLES / "federation-brokers.toml"), "--max-steps", "3", "--format", "json"])
    assert r.exit_code == 0 and '"broker": "cheapest"' in r.output


def test_kumo_run_names_the_bad_field_of_a_federation(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[providers]]\nname = "a"\n[[providers.datacenters]]\nname = "x"\njurisdiction = "DE"\n'
                   '[[providers.datacenters.hosts]]\ncount = 1\ncores = 1\ncore_mhz = 1000\nram_mb = -1\n'
                   '[[customers]]\nname = "c"\nprovider = "a"\n')
    r = CliRunner().invoke(app, ["run", str(bad)])
    assert r.exit_code == 2
    assert "providers[0].datacenters[0].hosts[0].ram_mb" in r.output


def test_report_tables_and_figures_on_a_day(tmp_path, monkeypatch):
    from kumo.federation import report

    monkeypatch.setattr(report, "MODEL_RUNS", [r for r in report.MODEL_RUNS if r[1] in ("private", "hybrid")])
    day = load_trace("bitbrains-rnd").select(steps=slice(0, 24))
    models = model_table(day)
    assert list(models["label"]) == ["private (30 hosts)", "private (44 hosts, peak)", "hybrid (30 + public)",
                                     "hybrid, no residency", "hybrid, finance stays private"]
    assert models["served_pct"].between(0, 100).all() and (models["cost_per_vm_h"] > 0).all()
    costs = constraint_costs(models)
    assert list(costs["constraints"]) == ["residency", "residency+security"]
    brokers = broker_table(day, max_steps=12)
    assert len(brokers) == 12 and set(brokers["broker"]) == {"cheapest", "reliance", "auction"}
    assert plot_models(models, tmp_path / "m.png").stat().st_size > 0
    assert plot_brokers(brokers, tmp_path / "b.png").stat().st_size > 0
    assert markdown(costs).startswith("| label | model | constraints |")


def test_presets_run_and_keep_residency_on_a_day():
    r = run_federation(parse_federation({**P.public_cloud(), "trace": {"source": "bitbrains-rnd", "max_steps": 12}}))
    vms = r.vms
    assert set(vms[vms.customer == "finance"].jurisdiction) <= {"DE", ""}
    assert set(vms[vms.customer == "web"].jurisdiction) <= {"DE", "IE", ""}
    assert r.summary["residency_violations"] == 0
