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
