"""Power curves (sqrt, square, cubic: OpenDC's shapes) beside the tables: values, validation, an energy oracle."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import make_trace

import kumo
from kumo.config import validate
from kumo.models.power import PowerCurve, host_power_w, linear_table


@pytest.mark.parametrize(("kind", "f"), [("linear", lambda u: u), ("sqrt", math.sqrt), ("square", lambda u: u * u),
                                         ("cubic", lambda u: u ** 3)])
def test_curve_values_are_idle_plus_range_times_shape(kind, f):
    c = PowerCurve(kind, 32.0, 180.0)
    u = np.array([-0.5, 0.0, 0.09, 0.25, 0.5, 1.0, 1.7])
    want = [32 + 148 * f(min(max(x, 0.0), 1.0)) for x in u]
    assert c.power_w(u).tolist() == pytest.approx(want, rel=1e-15)
    assert (c.idle_w, c.max_w) == (32.0, 180.0)


def test_linear_curve_equals_the_linear_table():
    u = np.linspace(0, 1, 101)
    assert np.allclose(PowerCurve("linear", 100, 250).power_w(u), linear_table(100, 250).power_w(u), rtol=1e-15)


def test_curves_mix_with_tables_per_host_type():
    tables = (linear_table(100, 200), PowerCurve("sqrt", 0, 100))
    w = host_power_w(np.array([0.25, 0.25, 1.0]), np.array([0, 1, 1]), tables)
    assert w.tolist() == pytest.approx([125.0, 50.0, 100.0])


@pytest.mark.parametrize(("idle", "peak"), [(-1, 10), (20, 10), (float("nan"), 10)])
def test_bad_curves_are_refused(idle, peak):
    with pytest.raises(ValueError, match="idle_w <= max_w"):
        PowerCurve("sqrt", idle, peak)
    with pytest.raises(ValueError, match="unknown shape"):
        PowerCurve("log", 1, 2)


def test_scenario_power_kinds_validate():
    host = {"count": 1, "cores": 1, "core_mhz": 1, "ram_mb": 1}
    assert validate({"hosts": [{**host, "power": {"kind": "sqrt", "idle_w": 32, "max_w": 180}}]}) == []
    issues = validate({"hosts": [{**host, "power": {"kind": "cubic", "idle_w": 200, "max_w": 180}}]})
    assert any("max_w (180.0) must be >= idle_w (200.0)" in i for i in issues)
    issues = validate({"hosts": [{**host, "power": {"kind": "log"}}]})
    assert any(i.startswith("hosts[0].power.kind") for i in issues)


def test_energy_oracle_with_a_sqrt_host():
    # one 1000 MHz host, sqrt 32..180 W: loads 250, 1000, 0 MHz for 300 s each (the VM's demand)
    tr = make_trace([[250], [1000], [0]], booked_cpu=[1000])
    sc = kumo.parse_scenario({"hosts": [{"count": 1, "cores": 1, "core_mhz": 1000, "ram_mb": 4096,
                                         "power": {"kind": "sqrt", "idle_w": 32, "max_w": 180}}]})
    r = kumo.run(sc, tr)
    joules = (32 + 148 * 0.5) * 300 + 180 * 300 + 32 * 300
    assert r.summary["energy_kwh"] == pytest.approx(joules / 3.6e6, rel=1e-12)
