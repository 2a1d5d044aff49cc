"""The `kumo` command line: every command runs, errors are one clear line, not a traceback."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from kumo.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def generic_csv(tmp_path):
    p = tmp_path / "tiny.csv"
    rows = ["vm_id,t_s,cpu_mhz,ram_mb,cores,cpu_booked_mhz,ram_booked_mb"]
    for t in range(6):
        rows.append(f"a,{t * 300},{100 + 50 * t},{512},1,1000,1024")
        rows.append(f"b,{t * 300},{900},{2048},2,2000,4096")
    p.write_text("\n".join(rows) + "\n")
    return p


def test_run_help_documents_every_option():
    res = invoke("run", "--help")
    assert res.exit_code == 0
    for opt in ("--trace", "--placement", "--resource", "--seed", "--max-steps", "--max-vms", "--out", "--out-format",
                "--format", "--quiet"):
        assert opt in res.output


def test_run_default_scenario_on_a_generic_trace_json(generic_csv, tmp_path):
    res = invoke("run", "--trace", str(generic_csv), "--format", "json", "--out", str(tmp_path / "out"),
                 "--out-format", "csv")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output[res.output.index("{"):res.output.rindex("}") + 1])
    assert summary["vms"] == 2 and summary["steps"] == 6 and summary["rejections"] == 0
    assert (tmp_path / "out" / "vms.csv").exists() and (tmp_path / "out" / "manifest.json").exists()


def test_run_embedded_planetlab_few_steps_table():
    res = invoke("run", "--trace", "planetlab-20110303", "--max-steps", "3", "--quiet")
    assert res.exit_code == 0, res.output
    assert "energy_kwh" in res.output and "1052" in res.output


def test_run_embedded_bitbrains_slice_csv():
    res = invoke("run", "--max-steps", "12", "--max-vms", "50", "--placement", "best-fit", "--format", "csv")
    assert res.exit_code == 0, res.output
    header, row = res.output.strip().splitlines()[-2:]
    assert header.startswith("scenario,seed,hosts,vms,steps") and ",50,12," in row


def test_scenario_file_and_check(tmp_path, generic_csv):
    sc = tmp_path / "s.toml"
    sc.write_text(f'name = "x"\n[trace]\nsource = "{generic_csv}"\n[[hosts]]\ncount = 2\ncores = 4\n'
                  'core_mhz = 2000\nram_mb = 8192\n')
    assert invoke("check", str(sc)).exit_code == 0
    res = invoke("run", str(sc), "--quiet")
    assert res.exit_code == 0 and "kumo run: x" in res.output


def test_bad_scenario_lists_every_problem_with_paths(tmp_path):
    sc = tmp_path / "bad.toml"
    sc.write_text("[[hosts]]\ncount = 1\ncores = 1\ncore_mhz = 1000\nram_mb = -4\n[placement]\npreset = 'x'\n")
    res = runner.invoke(app, ["run", str(sc)])
    assert res.exit_code == 2
    assert "hosts[0].ram_mb" in res.output and "placement.preset" in res.output
    assert "Traceback" not in res.output


def test_bad_trace_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("vm_id,t_s,cpu_mhz,ram_mb\na,0,nan,1\n")
    res = runner.invoke(app, ["run", "--trace", str(bad)])
    assert res.exit_code == 2 and "bad.csv" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["trace", "info", str(tmp_path / "missing")])
    assert res.exit_code == 2 and "missing" in res.output


def test_trace_info_and_convert(generic_csv, tmp_path):
    res = invoke("trace", "info", str(generic_csv))
    assert res.exit_code == 0 and "vms" in res.output.lower()
    res = invoke("trace", "info", "planetlab", "--format", "json")
    assert res.exit_code == 0 and '"vms": 1052' in res.output.replace("\n", " ").replace("  ", " ")
    out = tmp_path / "t.kumo"
    res = invoke("trace", "convert", str(generic_csv), str(out))
    assert res.exit_code == 0 and out.exists()
    assert invoke("trace", "info", str(out)).exit_code == 0


def test_trace_convert_with_either_codec(tmp_path):
    from kumo.traces import load

    for codec in ("zstd", "zlib"):
        out = tmp_path / f"pl-{codec}.kumo"
        r = runner.invoke(app, ["trace", "convert", "planetlab", str(out), "--codec", codec])
        assert r.exit_code == 0, r.output
        assert load(str(out)).content_hash() == load("planetlab").content_hash()
    r = runner.invoke(app, ["trace", "convert", "planetlab", str(tmp_path / "x.kumo"), "--codec", "lz4"])
    assert r.exit_code == 2 and "--codec" in r.output


def test_check_meets_what_a_run_would_meet(tmp_path):
    """kumo check reads the trace and warns about VMs no host can take; a missing trace is an error."""
    from typer.testing import CliRunner

    from kumo.cli import app

    r = CliRunner().invoke(app, ["check", "examples/bitbrains-worst-fit.toml"])
    assert r.exit_code == 0 and "ok" in r.output
    assert "1 VM(s) larger than every host type" in r.output and ": 27" in r.output  # the 512 GiB VM
    bad = tmp_path / "s.toml"
    bad.write_text('[trace]\nsource = "nowhere/at/all.csv"\n[[hosts]]\ncount = 1\ncores = 1\ncore_mhz = 1000\n'
                   'ram_mb = 1024\n')
    r = CliRunner().invoke(app, ["check", str(bad)])
    assert r.exit_code == 2 and "trace.source" in r.output and "no such file or folder" in r.output
    sweep = tmp_path / "w.toml"
    sweep.write_text(f'base = "{bad}"\n[axes]\n"hosts[0].count" = [1, 2]\n')
    r = CliRunner().invoke(app, ["check", str(sweep)])
    assert r.exit_code == 2 and "trace.source" in r.output
