"""The gym's plugin module loads without gymnasium (the core CLI never imports the gym): checked in a
subprocess that hides gymnasium."""

from __future__ import annotations

import subprocess
import sys


def test_plugin_and_cli_without_gymnasium():
    code = (
        "import sys\n"
        "sys.modules['gymnasium'] = None  # as if the rl extra were not installed\n"
        "import kumo.gym.plugin\n"
        "from typer.testing import CliRunner\n"
        "from kumo.cli import build_app\n"
        "r = CliRunner().invoke(build_app(), ['gym', 'baselines', 'placement', '-q'])\n"
        "assert r.exit_code != 0 and \"pip install 'kumosim[rl]'\" in r.output, r.output\n"
        "r = CliRunner().invoke(build_app(), ['run', '--max-steps', '2', '--format', 'json'])\n"
        "assert r.exit_code == 0, r.output\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_core_does_not_import_the_gym():
    code = ("import sys, kumo, kumo.cli, kumo.engine, kumo.accounting\n"
            "kumo.cli.build_app()\n"
            "assert 'kumo.gym.placement' not in sys.modules and 'kumo.gym.cli' in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True)
