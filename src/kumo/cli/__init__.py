"""The ``kumo`` command line: argument handling and rendering only; the work happens in the library.

One module per command group: :mod:`~kumo.cli.run`, :mod:`~kumo.cli.check`, :mod:`~kumo.cli.sweep`,
:mod:`~kumo.cli.report`, :mod:`~kumo.cli.trace`, :mod:`~kumo.cli.model`; :mod:`~kumo.cli.common` holds what they share. Commands of
plugins (kumo's own studies among them: ``compare``, ``validate``) come from :func:`kumo.hooks.commands`.
"""

from __future__ import annotations

import importlib
import os
from typing import Annotated, Any

import typer

from kumo.cli.check import check_cmd
from kumo.cli.common import err_console
from kumo.cli.model import model_app
from kumo.cli.report import report_cmd
from kumo.cli.run import run_cmd
from kumo.cli.sweep import sweep_cmd
from kumo.cli.trace import trace_app

__all__ = ["app", "build_app", "main"]


def _resolve(target: Any) -> Any:
    # a registered command may be given as "module:attribute", imported only when the CLI is built
    if isinstance(target, str):
        module, _, attr = target.partition(":")
        return getattr(importlib.import_module(module), attr)
    return target


def build_app() -> typer.Typer:
    """The ``kumo`` app: the core commands, then every command registered by a plugin."""
    from kumo import hooks

    app = typer.Typer(
        name="kumo",
        help="kumo: a fast, trace-driven cloud operating-system lab (IaaS data-center simulator).",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,  # plain help: wraps at any width, never truncates an option name
    )
    app.callback()(_main_options)
    app.command("run")(run_cmd)
    app.command("check")(check_cmd)
    app.command("sweep")(sweep_cmd)
    app.command("report")(report_cmd)
    app.add_typer(trace_app, name="trace")
    app.add_typer(model_app, name="model")
    core = {"run", "check", "sweep", "report", "trace", "model"}
    for name, cmd in hooks.commands().items():
        if name in core:
            raise typer.BadParameter(f"plugin command '{name}' shadows a core command")
        target = _resolve(cmd.target)
        if isinstance(target, typer.Typer):
            app.add_typer(target, name=name, help=cmd.help)
        else:
            app.command(name, help=cmd.help)(target)
    return app


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version("kumosim")
        except PackageNotFoundError:  # run from a source tree without installing
            v = "unknown (not installed)"
        typer.echo(f"kumo {v}")
        raise typer.Exit()


def _main_options(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print kumo's version and exit.")] = False,
) -> None:
    """kumo: a fast, trace-driven cloud operating-system lab (IaaS data-center simulator)."""


def _arrow_malloc_pool() -> None:
    """Have pyarrow allocate with the C library's malloc in this process, unless ``ARROW_DEFAULT_MEMORY_POOL``
    names a pool (read by Arrow once, when pyarrow is first imported: building the app imports it).

    pyarrow's default pool (mimalloc in its wheels) asks the kernel for transparent huge pages; on a shared
    machine compacting memory for them took 1.5 to 3 s of system time per ``kumo trace convert`` of a 100k-VM
    trace (reading the Parquet columns or the CSV blocks), against 0.1 to 0.5 s with malloc. Only the speed
    changes, never a value."""
    import sys

    if "pyarrow" not in sys.modules:
        os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")


def main() -> None:  # console-script entry point
    from kumo.errors import KumoError

    _arrow_malloc_pool()
    try:
        app = build_app()
    except KumoError as e:  # a plugin that cannot load: say so once, without a Python traceback
        from rich.markup import escape

        err_console.print(f"[bold red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
    app()


def __getattr__(name: str) -> Any:
    if name == "app":  # tests and tools use kumo.cli.app (typer.testing.CliRunner)
        return build_app()
    raise AttributeError(f"module 'kumo.cli' has no attribute {name!r}")
