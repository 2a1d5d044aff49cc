"""``kumo check``: validate a scenario, federation or sweep file and list every problem with its path."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from kumo.cli.common import PluginOpt, console, err_console, fail, load_plugins
from kumo.errors import KumoError

__all__ = ["check_cmd"]


def check_cmd(scenario: Annotated[Path, typer.Argument(help="Scenario, federation or sweep TOML file.")],
              plugin: PluginOpt = None) -> None:
    """Validate a scenario, federation or sweep file and list every problem with its path.

    Checks what a run would meet: every field and policy, every sweep point, the trace (it exists and
    reads), and warns about VMs larger than every host type.
    """
    from kumo import loader

    load_plugins(plugin)
    try:
        kind, warnings = loader.check(scenario)
    except (KumoError, ValueError) as e:
        fail(e)
        return
    for w in warnings:
        err_console.print(f"[yellow]warning:[/] {escape(w)}", highlight=False, soft_wrap=True)
    console.print(f"[green]ok[/] {scenario} ({kind}{', with warnings' if warnings else ''})")
