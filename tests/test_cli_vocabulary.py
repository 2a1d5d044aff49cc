"""One vocabulary across the command line: --format is what is printed, --trace-format the reader,
--jobs/-j the workers, --quiet/-q silences status lines; help reads at 80 columns; kumo --version."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from kumo.cli import build_app

runner = CliRunner()


def _commands(app):
    """(argv prefix, click command) of every leaf command."""
    import typer.main

    root = typer.main.get_command(app)
    out = []

    def walk(cmd, path):
        sub = getattr(cmd, "commands", None)
        if sub:
            for name, c in sub.items():
                walk(c, [*path, name])
        else:
            out.append((path, cmd))

    walk(root, [])
    return out


APP = build_app()
COMMANDS = _commands(APP)
IDS = [" ".join(p) for p, _ in COMMANDS]
READERS = {"bitbrains", "materna", "planetlab", "generic", "opendc", "azure", "kumo"}


def _options(cmd):
    return {name: p for p in cmd.params for name in (*p.opts, *p.secondary_opts) if not getattr(p, "hidden", False)}


def _choices(param) -> list[str]:
    """The fixed values a parameter takes (a Literal or an Enum, optional or not), else []."""
    import enum
    import types
    import typing

    ann = param.type_descriptor.annotation
    if typing.get_origin(ann) in (typing.Union, types.UnionType):
        ann = next(a for a in typing.get_args(ann) if a is not type(None))
    if typing.get_origin(ann) is typing.Literal:
        return [str(a) for a in typing.get_args(ann)]
    if isinstance(ann, type) and issubclass(ann, enum.Enum):
        return [str(m.value) for m in ann]
    return []


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=IDS)
def test_every_command_speaks_the_same_option_names(path, cmd):
    opts = _options(cmd)
    if "--format" in opts:  # an output format, never a trace reader
        choices = set(_choices(opts["--format"]))
        assert choices and not choices & READERS, (path, choices)
        assert choices <= {"table", "json", "csv", "toml"}, (path, choices)
    for old in ("--workers", "--json", "-f"):
        assert old not in opts, f"{' '.join(path)} still shows {old}"
    if "--jobs" in opts:
        assert "-j" in opts
    if "--quiet" in opts:
        assert "-q" in opts
    if any(o in opts for o in ("--out", "--plot", "--report")) or "sweep" in path or "compare" in path:
        assert "--quiet" in opts, f"{' '.join(path)} writes files or shows progress but has no --quiet"


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=IDS)
def test_help_reads_at_80_columns_with_no_internal_references(path, cmd):
    res = runner.invoke(APP, [*path, "--help"], terminal_width=80, env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    text = res.output
    assert max(len(line) for line in text.splitlines()) <= 80, text
    assert "…" not in text  # no truncated option names
    assert not re.search(r"\.\./shared|issue ?#?\d|#\d{1,3}\b", text), text
    assert "<list[" not in text  # a repeatable option shows what one value is, not a Python type
    for p in cmd.params:  # every fixed set of values is listed as <a|b|c>
        if _choices(p) and not getattr(p, "hidden", False):
            assert "<" + "|".join(_choices(p)) + ">" in text, (p.name, text)


def test_version():
    res = runner.invoke(APP, ["--version"])
    assert res.exit_code == 0 and re.match(r"^kumo \S+", res.output), res.output


def test_the_former_names_still_work(tmp_path):
    res = runner.invoke(APP, ["trace", "info", "planetlab", "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["vms"] == 1052
    spec = tmp_path / "s.toml"
    spec.write_text('name = "w"\nseeds = [0]\n[scenario]\nhosts = [{count = 2, cores = 4, core_mhz = 2000, '
                    'ram_mb = 8192}]\ntrace = {source = "bitbrains-rnd", max_steps = 4, max_vms = 10}\n'
                    '[axes]\n"hosts[0].count" = [2]\n')
    res = runner.invoke(APP, ["sweep", str(spec), "--workers", "1", "-q", "--format", "csv", "-o", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("point,key,hosts[0].count,seed")


def test_trace_format_forces_the_reader(tmp_path):
    p = tmp_path / "t.txt"  # a name no detection rule knows
    p.write_text("vm_id,t_s,cpu_mhz,ram_mb,cpu_booked_mhz,ram_booked_mb,cores\na,0,1,1,2,3,1\na,300,1,1,2,3,1\n")
    assert runner.invoke(APP, ["trace", "info", str(p)]).exit_code == 2
    res = runner.invoke(APP, ["trace", "info", str(p), "--trace-format", "generic", "--format", "json"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(APP, ["run", "--trace", str(p), "--trace-format", "generic", "--format", "json", "-q"])
    assert res.exit_code == 0, res.output


def test_quiet_silences_status_lines(tmp_path):
    res = runner.invoke(APP, ["trace", "convert", "planetlab", str(tmp_path / "p.kumo"), "-q"])
    assert res.exit_code == 0 and res.output == ""
    res = runner.invoke(APP, ["trace", "convert", "planetlab", str(tmp_path / "p2.kumo")])
    assert "wrote" in res.output


def test_check_json(tmp_path):
    good = tmp_path / "g.toml"
    good.write_text('hosts = [{count = 1, cores = 64, core_mhz = 3000, ram_mb = 262144}]\n'
                    'trace = {source = "bitbrains-rnd"}\n')
    res = runner.invoke(APP, ["check", str(good), "--format", "json"])
    out = json.loads(res.output)
    assert res.exit_code == 0 and out["ok"] and out["kind"] == "scenario"
    bad = tmp_path / "b.toml"
    bad.write_text('hosts = [{count = 0, cores = 1, core_mhz = 1000, ram_mb = 1024}]\n')
    res = runner.invoke(APP, ["check", str(bad), "--format", "json"])
    out = json.loads(res.output)
    assert res.exit_code == 2 and not out["ok"] and any("hosts[0].count" in p for p in out["problems"])
