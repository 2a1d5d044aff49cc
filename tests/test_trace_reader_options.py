"""``[trace] reader = {...}``: a scenario, a federation and a sweep read their trace with reader options
(a window, the first N VMs, another step), the same trace ``kumo.traces.load`` gives with those options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kumo import config, engine
from kumo.cli import app
from kumo.errors import KumoError, TraceFormatError
from kumo.sweep import trace_of
from kumo.traces import load

V1 = Path(__file__).parent / "fixtures" / "traces" / "azure-v1"
HOSTS = [{"count": 4, "cores": 8, "core_mhz": 2600.0, "ram_mb": 65536.0}]


def _scenario(reader: dict) -> config.Scenario:
    return config.parse({"trace": {"source": str(V1), "reader": reader}, "hosts": HOSTS})


def test_spec_loads_with_its_options():
    sc = _scenario({"max_vms": 2, "cpu": "max"})
    tr = sc.trace.load()
    ref = load(V1, max_vms=2, cpu="max")
    assert tr.vm_ids.tolist() == ref.vm_ids.tolist() == ["vmA", "vmC"]
    assert (tr.cpu == ref.cpu).all()
    assert engine.run(sc).summary["vms"] == 2


def test_sweep_cache_keys_on_the_options():
    a = trace_of({"source": str(V1), "reader": {"max_vms": 2}})
    b = trace_of({"source": str(V1), "reader": {"max_vms": 1}})
    assert (a.n_vms, b.n_vms) == (2, 1)
    assert trace_of({"source": str(V1), "reader": {"max_vms": 2}}) is a


def test_bad_options_are_named():
    with pytest.raises(TraceFormatError, match="colour"):
        _scenario({"colour": "red"}).trace.load()
    with pytest.raises(TraceFormatError, match="embedded traces take no reader options"):
        config.parse({"trace": {"reader": {"max_vms": 3}}, "hosts": HOSTS}).trace.load()
    with pytest.raises(KumoError, match="reader"):
        config.parse({"trace": {"source": str(V1), "reader": {"window": [0, 1]}}, "hosts": HOSTS})


def test_cli_run_check_and_sweep(tmp_path):
    toml = tmp_path / "az.toml"
    toml.write_text(f'[trace]\nsource = "{V1.as_posix()}"\nreader = {{ max_vms = 2, step_s = 600 }}\n\n'
                    "[[hosts]]\ncount = 4\ncores = 8\ncore_mhz = 2600.0\nram_mb = 65536.0\n")
    runner = CliRunner()
    res = runner.invoke(app, ["run", str(toml), "--format", "json", "-q"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["vms"] == 2 and summary["steps"] == load(V1, max_vms=2, step_s=600).n_steps
    assert runner.invoke(app, ["check", str(toml)]).exit_code == 0
    # --trace replaces the source: the file's reader options were for its own trace
    res = runner.invoke(app, ["run", str(toml), "--trace", str(V1), "--format", "json", "-q"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["vms"] == 3
    sweep = tmp_path / "sw.toml"
    sweep.write_text(f'base = "{toml.name}"\n\n[axes]\n"trace.reader.max_vms" = [1, 2]\n')
    res = runner.invoke(app, ["sweep", str(sweep), "-o", str(tmp_path / "out"), "-j", "1", "-q"])
    assert res.exit_code == 0, res.output
    rows = (tmp_path / "out" / "results.csv").read_text().splitlines()
    assert len(rows) == 3
