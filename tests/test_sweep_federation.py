"""`kumo sweep` runs unchanged on a federation base (issue #6)."""

from __future__ import annotations

from pathlib import Path

from kumo.sweep import expand, load_experiment, run_many

EXAMPLES = Path(__file__).parents[1] / "examples"


def test_sweep_over_brokers_on_a_federation(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text(f'name = "fed"\nbase = "{EXAMPLES / "federation-brokers.toml"}"\nseeds = [0]\n'
                    '[scenario.trace]\nmax_steps = 12\nmax_vms = 60\n'
                    '[axes]\n"broker.name" = ["cheapest", "auction"]\n')
    exp, root = load_experiment(spec)
    points = expand(exp, root)
    assert len(points) == 2
    table = run_many(points, executor=None, out_dir=tmp_path / "out")
    assert len(table) == 2
    again = run_many(points, executor=None, out_dir=tmp_path / "out")  # resumed: nothing rerun, same rows
    assert again.equals(table)


def test_a_policy_table_axis_keeps_its_column_and_a_short_label(tmp_path):
    from kumo.report.labels import value_label

    assert value_label({"name": "greenest", "params": {"min_reliance": 0.9}}) == "greenest(min_reliance=0.9)"
    assert value_label({"model": "precopy"}) == "precopy"
    assert value_label([]) == "none"
    assert value_label([{"name": "dedup", "multiplier": 2.0}]) == "dedup(multiplier=2.0)"
    spec = tmp_path / "s.toml"
    spec.write_text(f'name = "fed"\nbase = "{EXAMPLES / "federation-carbon.toml"}"\nseeds = [0]\n'
                    '[scenario.trace]\nmax_steps = 12\nmax_vms = 40\n'
                    '[axes]\nbroker = [{ name = "cheapest" }, { name = "greenest", params = { min_reliance = 0.9 } }]\n'
                    'carbon_start = ["2023-01-09", 100]\n')
    exp, root = load_experiment(spec)
    points = expand(exp, root)
    assert [p.scenario["providers"][2]["datacenters"][0]["carbon"]["start"] for p in points] == \
        ["2023-01-09", 100, "2023-01-09", 100]
    table = run_many(points, executor=None, out_dir=tmp_path / "out")
    # the federation summary has a 'broker' column too: the axis keeps its own
    assert table["broker"].tolist() == ["cheapest", "cheapest", "greenest(min_reliance=0.9)",
                                        "greenest(min_reliance=0.9)"]
    assert (table["co2_kg"] > 0).all()


def test_carbon_start_needs_a_carbon_series(tmp_path):
    import pytest

    from kumo.errors import ConfigError

    spec = tmp_path / "s.toml"
    spec.write_text(f'name = "fed"\nbase = "{EXAMPLES / "federation-brokers.toml"}"\ncarbon_start = "2023-01-09"\n')
    exp, root = load_experiment(spec)
    with pytest.raises(ConfigError, match="carbon_start: the scenario has no \\[carbon\\] section"):
        expand(exp, root)
