"""Scenario validation: every problem at once, each with its path."""

from __future__ import annotations

import pytest

import kumo
from kumo.config import default_scenario, load, validate


def test_all_problems_reported_at_once_with_paths():
    issues = validate({
        "hosts": [{"count": 1, "cores": 2, "core_mhz": 1000, "ram_mb": -4},
                  {"count": 0, "cores": 2, "core_mhz": 1000, "ram_mb": 10}],
        "placement": {"weighers": [{"name": "free-cpu", "multiplier": float("nan")}]},
        "seed": -1,
    })
    text = "\n".join(issues)
    assert "hosts[0].ram_mb: Input should be greater than 0, got -4" in text
    assert "hosts[1].count" in text
    assert "placement.weighers[0].multiplier: must be finite, got nan" in text
    assert "seed" in text
    assert len(issues) >= 4


def test_unknown_policy_names_list_the_valid_ones():
    issues = validate({"hosts": [{"count": 1, "cores": 1, "core_mhz": 1, "ram_mb": 1}],
                       "placement": {"preset": "random-fit", "filters": ["nope"]}})
    assert any("placement.preset: unknown preset 'random-fit'; valid: best-fit, first-fit, worst-fit" in i
               for i in issues)
    assert any(i.startswith("placement.filters[0].name: unknown filter 'nope'; valid:") and "cpu-booking" in i
               for i in issues)


def test_unknown_fields_are_errors_not_silently_ignored():
    issues = validate({"hosts": [{"count": 1, "cores": 1, "core_mhz": 1, "ram_mb": 1, "ram_gb": 4}]})
    assert issues == ["hosts[0].ram_gb: Extra inputs are not permitted"]


def test_power_model_checks():
    issues = validate({"hosts": [{"count": 1, "cores": 1, "core_mhz": 1, "ram_mb": 1,
                                  "power": {"kind": "table", "watts": [100, 90]}}]})
    assert any("watts: must not decrease" in i for i in issues)
    issues = validate({"hosts": [{"count": 1, "cores": 1, "core_mhz": 1, "ram_mb": 1,
                                  "power": {"kind": "spec", "model": "nope"}}]})
    assert any("unknown SPECpower model" in i for i in issues)


def test_migration_params_are_validated():
    issues = validate({"hosts": [{"count": 1, "cores": 1, "core_mhz": 1, "ram_mb": 1}],
                       "migration": {"model": "cloudsim", "params": {"bandwidth_share": 2.0}}})
    assert issues == ["migration.params.bandwidth_share: must be in (0, 1], got 2.0"]


def test_toml_file_round_trip_and_errors(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text('name = "x"\n[[hosts]]\ncount = 2\ncores = 4\ncore_mhz = 2000\nram_mb = 8192\n')
    s = load(p)
    assert s.n_hosts == 2 and s.hosts[0].cores == 4
    bad = tmp_path / "bad.toml"
    bad.write_text("[[hosts]]\ncount = 2\n")
    with pytest.raises(kumo.ConfigError) as e:
        load(bad)
    assert str(bad) in str(e.value) and "hosts[0].cores: Field required" in str(e.value)
    with pytest.raises(kumo.ConfigError, match="not valid TOML"):
        (tmp_path / "x.toml").write_text("a = [")
        load(tmp_path / "x.toml")
    with pytest.raises(kumo.ConfigError, match="file not found"):
        load(tmp_path / "missing.toml")


def test_defaults_are_valid():
    assert validate(default_scenario()) == []
    assert validate(default_scenario("planetlab-20110303")) == []


def test_examples_are_valid():
    """Every shipped example loads: scenarios, sweep specs (``axes``) and federations (``providers``)."""
    import tomllib
    from pathlib import Path

    files = sorted((Path(__file__).parents[1] / "examples").glob("*.toml"))
    assert files
    for f in files:
        data = tomllib.loads(f.read_text())
        if "providers" in data:
            from kumo.federation import load_federation

            load_federation(f)
        elif "axes" in data:
            from kumo.sweep import load_experiment

            load_experiment(f)
        else:
            load(f)


def test_errors_survive_pickling_across_processes():
    import pickle

    from kumo.errors import TraceFormatError, UnknownPolicyError

    for e in (kumo.ConfigError(["a: b", "c: d"], "x.toml"), TraceFormatError("f.csv", "bad", 3, "cpu"),
              UnknownPolicyError("weigher", "x", ["a", "b"])):
        assert str(pickle.loads(pickle.dumps(e))) == str(e)
