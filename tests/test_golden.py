"""Golden summary of a tiny scenario: any change in the numbers must be deliberate.

Regenerate (after checking the change is intended) with ``KUMO_REGEN_GOLDEN=1 pytest tests/test_golden.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import make_trace

import kumo

GOLDEN = Path(__file__).parent / "golden" / "tiny-summary.json"


def tiny_run():
    rng = np.random.default_rng(7)
    cpu = rng.uniform(0, 2400, (24, 8)).round(1)
    ram = rng.uniform(200, 3500, (24, 8)).round(1)
    tr = make_trace(cpu, ram=ram, booked_cpu=[2600] * 4 + [1300] * 4, booked_ram=[4096] * 4 + [2048] * 4,
                    cores=[2] * 4 + [1] * 4, arrive=[0, 0, 0, 2, 3, 5, 8, 12], depart=[24, 20, 24, 24, 15, 24, 24, 24])
    sc = kumo.parse_scenario({
        "name": "tiny", "seed": 3,
        "hosts": [{"name": "a", "count": 2, "cores": 4, "core_mhz": 2000, "ram_mb": 8192, "cpu_overcommit": 1.5,
                   "ram_overcommit": 1.2, "power": {"kind": "spec", "model": "ibm-x3550-x5675"}},
                  {"name": "b", "count": 2, "cores": 2, "core_mhz": 2600, "ram_mb": 4096, "initially_on": False,
                   "power": {"kind": "linear", "idle_w": 80, "max_w": 160}}],
        "placement": {"preset": "best-fit", "resource": "binding", "order": "ram-desc", "on_no_host": "queue"},
        "power_management": {"switch_off_idle": True, "boot_s": 90},
        "energy": {"pue": 1.5, "price_per_kwh": 0.2},
    })
    return kumo.run(sc, tr)


def test_tiny_summary_matches_golden():
    got = {k: (float(v) if isinstance(v, float | np.floating) else v) for k, v in tiny_run().summary.items()}
    got = json.loads(json.dumps(got, default=int))
    if os.environ.get("KUMO_REGEN_GOLDEN") or not GOLDEN.exists():
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True))
        pytest.skip("golden file written")
    want = json.loads(GOLDEN.read_text())
    assert got.keys() == want.keys()
    for k in want:
        if isinstance(want[k], float):
            # 1e-12 relative: the run is deterministic; only float summation order could move the last bits
            assert got[k] == pytest.approx(want[k], rel=1e-12, abs=1e-12), k
        else:
            assert got[k] == want[k], k


def test_summary_csv_is_byte_identical_across_runs(tmp_path):
    a = tiny_run().write(tmp_path / "a", "csv")
    b = tiny_run().write(tmp_path / "b", "csv")
    for name in ("summary", "steps", "hosts", "vms", "migrations", "rejections"):
        assert (a / f"{name}.csv").read_bytes() == (b / f"{name}.csv").read_bytes(), name
    man = json.loads((a / "manifest.json").read_text())
    assert {"kumo_version", "scenario", "seed", "trace", "wall_s"} <= man.keys()
    assert len(man["trace"]["hash"]) == 64
    schema = json.loads((a / "schema.json").read_text())
    assert schema["summary"]["energy_kwh"]["unit"] == "kWh"


def test_parquet_round_trip_keeps_dtypes(tmp_path):
    import pandas as pd

    r = tiny_run()
    out = r.write(tmp_path / "p")
    back = pd.read_parquet(out / "vms.parquet")
    assert back.dtypes.astype(str).tolist() == r.vms.dtypes.astype(str).tolist()
