"""No number in an example is typed by hand: every sweep example's measured block is written by
scripts/example_numbers.py from examples/figures/<name>.csv, and that CSV holds exactly the sweep's current
points (same keys). Editing a sweep without re-running the script fails here."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).parents[1]
SWEEPS = sorted((ROOT / "examples").glob("sweep-*.toml"))

_spec = importlib.util.spec_from_file_location("example_numbers", ROOT / "scripts" / "example_numbers.py")
numbers = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(numbers)  # type: ignore[union-attr]


@pytest.mark.parametrize("spec", SWEEPS, ids=[s.stem for s in SWEEPS])
def test_measured_block_is_the_script_s_and_matches_the_current_sweep(spec):
    from kumo.sweep import load_experiment

    csv = ROOT / "examples" / "figures" / f"{spec.stem}.csv"
    assert csv.exists(), f"run python scripts/example_numbers.py --only {spec.stem}"
    results = pd.read_csv(csv)
    exp, root = load_experiment(spec)
    points = exp.expand(root)
    assert results["key"].tolist() == [p.key for p in points], "the CSV is from another version of the sweep"
    text = spec.read_text()
    got = re.search(r"^# BEGIN measured.*?^# END measured$", text, re.S | re.M)
    assert got, "no measured block"
    command = f"python scripts/example_numbers.py --only {spec.stem}"
    assert got.group(0).splitlines() == numbers.block(results, numbers.axes_of(spec), command)


def test_no_example_names_an_internal_issue():
    for f in (ROOT / "examples").rglob("*.toml"):
        assert not re.search(r"issue\s*#?\d", f.read_text(), re.I), f


def test_the_worst_fit_example_is_the_default_run_spelled_out():
    import json

    from typer.testing import CliRunner

    from kumo.cli import app

    a = CliRunner().invoke(app, ["run", "--format", "json", "-q", "--max-steps", "288"])
    b = CliRunner().invoke(app, ["run", str(ROOT / "examples" / "bitbrains-worst-fit.toml"), "--format", "json", "-q",
                                 "--max-steps", "288"])
    sa, sb = json.loads(a.output), json.loads(b.output)
    differ = {k for k in sa if sa[k] != sb[k]}
    assert differ == {"scenario", "facility_energy_kwh", "energy_cost"}  # the name, and the PUE it says it sets
    assert sb["facility_energy_kwh"] == sa["energy_kwh"] * 1.58
