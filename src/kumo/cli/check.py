"""``kumo check``: validate a scenario, federation or sweep file and list every problem with its path."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kumo.cli.common import PluginOpt, console, fail, load_plugins
from kumo.errors import KumoError

__all__ = ["check_cmd"]


def check_cmd(scenario: Annotated[Path, typer.Argument(help="Scenario, federation or sweep TOML file.")],
              plugin: PluginOpt = None) -> None:
    """Validate a scenario, federation or sweep file and list every problem with its path."""
    from kumo import loader

    load_plugins(plugin)
    try:
        kind, _ = loader.load(scenario)
    except (KumoError, ValueError) as e:
        fail(e)
        return
    console.print(f"[green]ok[/] {scenario} ({kind})")
