"""``kumo check``: validate a scenario, federation or sweep file and list every problem with its path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape

from kumo.cli.common import PluginOpt, QuietOpt, console, err_console, fail, load_plugins
from kumo.errors import ConfigError, KumoError

__all__ = ["check_cmd"]


def check_cmd(scenario: Annotated[Path, typer.Argument(help="Scenario, federation or sweep TOML file.")],
              fmt: Annotated[Literal["table", "json"], typer.Option(
                  "--format", help="table: a line per problem; json: {file, kind, ok, problems, warnings}.")]
              = "table",
              quiet: QuietOpt = False,
              plugin: PluginOpt = None) -> None:
    """Validate a scenario, federation or sweep file.

    Lists every problem with its path. Checks what a run would meet: every field and policy, every sweep point, the trace (it exists and
    reads), and warns about VMs larger than every host type. Exit status 0 when the file is valid, 2 when
    it is not.
    """
    from kumo import loader

    load_plugins(plugin)
    try:
        kind, warnings = loader.check(scenario)
    except (KumoError, ValueError) as e:
        if fmt == "json":
            problems = e.issues if isinstance(e, ConfigError) else [str(e)]
            typer.echo(json.dumps({"file": str(scenario), "kind": None, "ok": False, "problems": problems,
                                   "warnings": []}, indent=1))
            raise typer.Exit(2) from None
        fail(e)
        return
    if fmt == "json":
        typer.echo(json.dumps({"file": str(scenario), "kind": kind, "ok": True, "problems": [],
                               "warnings": warnings}, indent=1))
        return
    for w in warnings:
        err_console.print(f"[yellow]warning:[/] {escape(w)}", highlight=False, soft_wrap=True)
    if not quiet:
        console.print(f"[green]ok[/] {scenario} ({kind}{', with warnings' if warnings else ''})")
