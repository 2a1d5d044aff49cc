"""Plugins end to end: the examples of examples/plugins run from their scenario files, from ``--plugin``, in
a 2-worker sweep and on a Dask cluster, from an installed package's entry point; a broken plugin gives a
clear error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from kumo import plugins
from kumo.cli import app
from kumo.errors import PluginError, PolicyError
from kumo.policies import registry

ROOT = Path(__file__).parents[1]
EXAMPLES = ROOT / "examples" / "plugins"
SCENARIOS = sorted(EXAMPLES.glob("*.toml"))


def _kumo(*args, env=None, cwd=None):
    """``kumo ...`` in a fresh process (a fresh registry): (exit code, stdout, stderr)."""
    r = subprocess.run([sys.executable, "-c", "from kumo.cli import main; main()", *args], capture_output=True,
                       text=True, env={**os.environ, **(env or {})}, cwd=cwd, timeout=300)
    return r.returncode, r.stdout, r.stderr


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_plugin_example_runs_from_its_scenario(scenario):
    code, out, err = _kumo("run", str(scenario), "--max-steps", "48", "--format", "json", "-q")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["steps"] == 48 and summary["vms_placed"] > 0


def test_the_hotspot_controller_moves_vms_and_relieves_hosts():
    code, out, err = _kumo("run", str(EXAMPLES / "hotspot.toml"), "--max-steps", "288", "--format", "json", "-q")
    assert code == 0, err
    s = json.loads(out)
    assert s["migrations"] > 0 and s["migrations_refused"] == 0


def test_plugin_option_loads_a_file_given_on_the_command_line(tmp_path):
    scenario = tmp_path / "s.toml"
    text = (EXAMPLES / "hotspot.toml").read_text().replace('plugins = ["hotspot.py"]', "")
    scenario.write_text(text)
    code, _, err = _kumo("run", str(scenario), "--max-steps", "24", "-q")
    assert code == 2 and "unknown controller policy 'hotspot'" in err
    code, out, err = _kumo("run", "--plugin", str(EXAMPLES / "hotspot.py"), str(scenario), "--max-steps", "24",
                           "--format", "json", "-q")
    assert code == 0, err
    code, out, err = _kumo("check", "--plugin", str(EXAMPLES / "hotspot.py"), str(scenario))
    assert code == 0 and "ok" in out, err


def _sweep_file(tmp_path, plugin_line=True):
    spec = tmp_path / "sweep.toml"
    spec.write_text(textwrap.dedent(f"""
        name = "hotspot-thresholds"
        {'plugins = ["' + str(EXAMPLES / 'hotspot.py') + '"]' if plugin_line else ''}
        base = "{EXAMPLES / 'hotspot.toml'}"
        seeds = [0]
        [scenario.trace]
        max_steps = 36
        [axes]
        "controller.params.threshold" = [0.3, 0.35]
    """))
    return spec


def test_a_sweep_with_a_plugin_policy_runs_on_two_workers(tmp_path):
    spec = _sweep_file(tmp_path)
    code, out, err = _kumo("sweep", str(spec), "--jobs", "2", "-q", "-o", str(tmp_path / "out"))
    assert code == 0, err
    import pandas as pd

    table = pd.read_csv(tmp_path / "out" / "results.csv")
    assert len(table) == 2 and (table["migrations"] > 0).all()
    # the base file names the plugin too: without the sweep's own plugins line it still loads
    spec2 = _sweep_file(tmp_path, plugin_line=False)
    code, out, err = _kumo("sweep", str(spec2), "--jobs", "2", "-q", "-o", str(tmp_path / "out2"))
    assert code == 0, err
    assert pd.read_csv(tmp_path / "out2" / "results.csv")["migrations"].tolist() == table["migrations"].tolist()


def test_a_sweep_with_a_plugin_policy_runs_on_a_dask_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    from kumo.sweep import load_experiment, run_many

    exp, root = load_experiment(_sweep_file(tmp_path))
    points = exp.expand(root)
    assert all(str(EXAMPLES / "hotspot.py") in p.plugins for p in points)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        table = run_many(points, executor=client.get_executor())
    assert len(table) == 2 and (table["migrations"] > 0).all()


def _installed(tmp_path):
    """The example package as an installed distribution would lay it out: its module and a .dist-info
    folder with the entry point, on a site folder given to the subprocess on PYTHONPATH."""
    site = tmp_path / "site"
    (site / "kumo_efficient").mkdir(parents=True)
    src = EXAMPLES / "package" / "src" / "kumo_efficient" / "__init__.py"
    (site / "kumo_efficient" / "__init__.py").write_text(src.read_text())
    info = site / "kumo_efficient-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kumo-efficient\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[kumo.plugins]\nefficient = kumo_efficient\n")
    return {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}


def test_an_installed_package_is_loaded_through_its_entry_point(tmp_path):
    env = _installed(tmp_path)
    scenario = EXAMPLES / "package" / "efficient.toml"
    code, out, err = _kumo("run", str(scenario), "--max-steps", "36", "--format", "json", "-q", env=env)
    assert code == 0, err
    assert json.loads(out)["migrations"] > 0  # the preset controller consolidates
    code, out, err = _kumo("run", str(scenario), "--max-steps", "36", "-q")  # not installed: unknown names
    assert code == 2 and "unknown weigher 'efficient'" in err


# ------------------------------------------------------------------------------------------------ bad plugins
def _plugin(tmp_path, name, body):
    p = tmp_path / f"{name}.py"
    p.write_text("from dataclasses import dataclass\nimport numpy as np\nfrom kumo.api import register\n\n"
                 + textwrap.dedent(body))
    return p


def test_a_plugin_that_does_not_import_shows_its_own_traceback_once(tmp_path):
    p = tmp_path / "broken.py"
    p.write_text("import numpy\n\ndef helper():\n    return 1 / 0\n\nhelper()\n")
    with pytest.raises(PluginError) as e:
        plugins.load(str(p))
    msg = str(e.value)
    assert msg.startswith(f"plugin '{p}' failed to import: ZeroDivisionError: division by zero")
    assert msg.count("Traceback") == 1 and "broken.py\", line 4, in helper" in msg
    assert "importlib" not in msg
    code, _, err = _kumo("run", "--plugin", str(p), "-q")
    assert code == 2 and err.count("ZeroDivisionError") == 2 and "Traceback (most recent call last)" in err


def test_a_missing_module_or_file_is_named(tmp_path):
    with pytest.raises(PluginError, match="no module named 'no_such_plugin_mod' on sys.path"):
        plugins.load("no_such_plugin_mod")
    with pytest.raises(PluginError, match="no such file"):
        plugins.load(str(tmp_path / "nope.py"))


@pytest.mark.parametrize(("body", "message"), [
    ('''
     @register("weigher", "t-missing")
     @dataclass(frozen=True)
     class W:
         """x"""
         def weigh(self, view, vm, hosts):
             return hosts * 0.0
     ''', "has no method score()"),
    ('''
     @register("filter", "t-mutable")
     @dataclass
     class F:
         """x"""
         def mask(self, view, vm):
             return view.host_n_vms >= 0
     ''', "is not frozen"),
    ('''
     @register("controller", "t-arity")
     @dataclass(frozen=True)
     class C:
         """x"""
         def init_memory(self, view):
             return None
         def decide(self, view, rng):
             return None
     ''', "decide() must take 3 argument(s)"),
    ('''
     @register("weigher", "first")
     @dataclass(frozen=True)
     class Taken:
         """x"""
         def score(self, view, vm, hosts):
             return hosts * 0.0
     ''', "registered twice: by kumo.policies.placement.FirstWeigher"),
    ('''
     @register("gizmo", "g")
     @dataclass(frozen=True)
     class G:
         """x"""
     ''', "unknown policy kind 'gizmo'"),
])
def test_a_plugin_that_breaks_the_contract_is_refused_with_a_clear_message(tmp_path, body, message):
    p = _plugin(tmp_path, "bad_" + str(abs(hash(message)))[:8], body)
    with pytest.raises(PluginError, match="plugin '.*'") as e:
        plugins.load(str(p))
    assert message in str(e.value)


def test_a_wrong_return_shape_is_a_policy_error_naming_the_policy(tmp_path):
    p = _plugin(tmp_path, "shapes", '''
        @register("weigher", "t-short")
        @dataclass(frozen=True)
        class Short:
            """x"""
            def score(self, view, vm, hosts):
                return np.zeros(1)

        @register("filter", "t-ints")
        @dataclass(frozen=True)
        class Ints:
            """x"""
            def mask(self, view, vm):
                return view.host_n_vms

        @register("controller", "t-list")
        @dataclass(frozen=True)
        class Lister:
            """x"""
            def init_memory(self, view):
                return None
            def decide(self, view, memory, rng):
                return [(0, 1)]
    ''')
    plugins.load(str(p))
    from conftest import make_scenario, make_trace

    import kumo

    tr = make_trace([[100, 100]] * 2)
    for placement, match in (({"preset": "none", "weighers": [{"name": "t-short"}]}, "weigher policy 't-short'"),
                             ({"filters": ["t-ints"]}, "filter policy 't-ints': mask\\(\\) returned")):
        sc = make_scenario(hosts=((3, 1, 1000.0, 4096.0),), placement=placement)
        with pytest.raises(PolicyError, match=match):
            kumo.run(sc, tr)
    sc = make_scenario(hosts=((3, 1, 1000.0, 4096.0),), controller={"name": "t-list"})
    with pytest.raises(PolicyError, match="controller policy 't-list': decide\\(\\) returned a list"):
        kumo.run(sc, tr)


def test_the_engine_refuses_what_breaks_the_rules_and_records_why():
    from conftest import make_scenario, make_trace

    from kumo.api import Decision
    from kumo.engine import Engine

    class Script:
        def __init__(self, d):
            self.d = d

        def init_memory(self, view):
            return None

        def decide(self, view, memory, rng):
            return self.d if view.step == 1 else None

    tr = make_trace([[100, 100, 100]] * 3, booked_cpu=[600, 600, 600])
    sc = make_scenario(hosts=((4, 1, 1000.0, 4096.0),), placement={"preset": "first-fit"},
                       controller={"name": "none"})
    e = Engine(sc, tr)
    e.state.host_state[3] = 0  # host 3 off
    # VM i on host i (600 MHz booked each, no CPU overcommit: no host takes a second VM)
    d = Decision(migrations=[(0, 0), (0, 3), (0, 1), (1, 0)], switch_off=[1], power_on=[])
    e.controller = Script(d)
    r = e.run()
    ref = r.tables["refusals"]
    assert ref[["kind", "vm", "host", "reason"]].values.tolist() == [
        ["migration", 0, 0, "target-is-source"], ["migration", 0, 3, "target-off"],
        ["migration", 0, 1, "target-cpu-full"], ["migration", 1, 0, "target-cpu-full"],
        ["switch_off", -1, 1, "host-not-empty"]]
    assert r.summary["migrations_refused"] == 4 and r.summary["migrations"] == 0
    # the same move with the target switched on by the decision goes ahead
    e = Engine(sc, tr)
    e.state.host_state[3] = 0
    e.controller = Script(Decision(migrations=[(0, 3)], power_on=[3]))
    r = e.run()
    assert r.summary["migrations"] == 1 and r.summary["host_switch_ons"] == 1


def test_a_sweep_file_given_to_run_says_which_command_takes_it():
    r = CliRunner().invoke(app, ["run", str(ROOT / "examples" / "sweep-penalties.toml")])
    assert r.exit_code == 2 and "this is a sweep file: use kumo sweep" in r.output
    r = CliRunner().invoke(app, ["sweep", str(ROOT / "examples" / "bitbrains-worst-fit.toml")])
    assert r.exit_code == 2 and "this is a scenario file: use kumo run" in r.output


def test_controller_memory_is_owned_by_the_engine():
    from conftest import make_scenario, make_trace

    import kumo

    tr = make_trace(np.full((4, 2), 900.0), booked_cpu=[1000, 1000])
    sc = make_scenario(hosts=((2, 1, 1000.0, 4096.0),), cpu_overcommit=4.0,
                       controller={"name": "consolidation", "params": {"detection": "thr"}},
                       placement={"preset": "first-fit", "resource": "cpu"})
    e = kumo.Engine(sc, tr)
    assert e.memory is None
    e.step(0)
    mem = e.memory
    assert mem is not None and mem.filled == 1 and mem.vm_hist.shape == (2, 30)
    ctl = registry.make("controller", "consolidation", {"detection": "thr"})
    assert ctl == e.controller  # the controller itself holds no state: equal to a fresh one


def test_the_guide_s_first_controller_runs_as_written(tmp_path):
    """docs/extending.md: the five-minute exercise, copied from the page into files, runs."""
    import re

    text = (ROOT / "docs" / "extending.md").read_text()
    section = text.split("## Your first controller", 1)[1].split("\n## ", 1)[0]
    python, toml = re.findall(r"```python\n(.*?)```", section, re.S)[0], re.findall(r"```toml\n(.*?)```", section, re.S)[0]
    (tmp_path / "hotspot.py").write_text(python.replace('"hotspot"', '"hotspot-guide"'))
    (tmp_path / "hotspot.toml").write_text(toml.replace('name = "hotspot"', 'name = "hotspot-guide"'))
    code, out, err = _kumo("run", "hotspot.toml", "--max-steps", "288", "--format", "json", "-q", cwd=tmp_path)
    assert code == 0, err
    s = json.loads(out)
    assert s["migrations"] > 0 and s["migrations_refused"] == 0
    manifest_plugins = kumo_manifest_plugins(tmp_path)
    assert any(p["file"].endswith("hotspot.py") and len(p["sha256"]) == 64 for p in manifest_plugins)


def kumo_manifest_plugins(folder):
    code, _, err = _kumo("run", "hotspot.toml", "--max-steps", "12", "-q", "-o", "out", "--out-format", "csv",
                         cwd=folder)
    assert code == 0, err
    return json.loads((folder / "out" / "manifest.json").read_text())["plugins"]
