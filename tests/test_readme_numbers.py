"""The SURF week numbers README.md quotes are those of the runs (``python scripts/readme_numbers.py`` writes
them; this checks them)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[1] / "scripts" / "readme_numbers.py"


@pytest.mark.slow
def test_readme_quotes_the_surf_week_runs(capsys):
    spec = importlib.util.spec_from_file_location("readme_numbers", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--check"]) == 0, capsys.readouterr().out
