"""What every ``kumo`` command shares: consoles, error exit, output formats, the ``--plugin`` option,
executors and progress bars. Public: a plugin's own commands may use it too."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kumo.errors import KumoError

__all__ = ["DaskOpt", "JobsOpt", "PluginOpt", "Printed", "QuietOpt", "TraceFormatOpt", "WorkersAlias", "bar",
           "console", "err_console", "executor", "fail", "fmt_value", "jobs_of", "load_plugins", "say",
           "summary_table", "wide"]

console = Console()
err_console = Console(stderr=True)


class Printed(str, Enum):
    """How a command prints its result."""

    table = "table"
    json = "json"
    csv = "csv"


# The options every command spells the same way: --format (what is printed), --trace-format (which
# reader), --jobs/-j (worker processes), --quiet/-q (nothing on stderr but errors and warnings), --plugin.

#: ``--plugin``: a plugin module or .py file to load first (repeatable)
PluginOpt = Annotated[list[str] | None, typer.Option(
    "--plugin", metavar="<module|file.py>",
    help="Load this plugin first: a module on sys.path or a .py file (repeatable).")]

#: ``--jobs/-j``: worker processes of a command that runs several simulations
JobsOpt = Annotated[int | None, typer.Option("--jobs", "-j", min=1,
                                             help="Worker processes (default: one per core).")]
#: the former name of ``--jobs``, still accepted (hidden from the help)
WorkersAlias = Annotated[int | None, typer.Option("--workers", min=1, hidden=True)]
#: ``--dask``: run on a Dask distributed scheduler instead of local processes
DaskOpt = Annotated[str | None, typer.Option("--dask", metavar="<address>",
                                             help="Run on the Dask distributed scheduler at this address "
                                                  "(e.g. tcp://10.0.0.5:8786) instead of local processes.")]
#: ``--quiet/-q``
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q",
                                        help="No progress bar and no status lines; errors and warnings still "
                                             "show.")]

#: the trace readers, by the name ``--trace-format`` takes (``kumo`` is the compact format)
TraceFormat = Literal["bitbrains", "materna", "planetlab", "generic", "opendc", "azure", "kumo"]
#: ``--trace-format``: force a trace reader
TraceFormatOpt = Annotated[TraceFormat | None, typer.Option(
    "--trace-format", help="Trace reader (default: detected from the file names and first lines).")]


def jobs_of(jobs: int | None, workers: int | None) -> int | None:
    """``--jobs``, or the hidden ``--workers`` it replaced."""
    return jobs if jobs is not None else workers


def say(quiet: bool, message: str) -> None:
    """A status line on stderr (``results written to ...``), unless ``--quiet``."""
    if not quiet:
        err_console.print(message, highlight=False, soft_wrap=True)


def fail(e: Exception) -> None:
    """Print ``error: ...`` on stderr and exit with status 2."""
    from rich.markup import escape

    err_console.print(f"[bold red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)  # one line
    raise typer.Exit(2)


def load_plugins(specs: list[str] | None) -> None:
    """Load the ``--plugin`` options (paths relative to the current folder); exits with the error if one
    cannot be loaded."""
    from kumo import plugins

    try:
        plugins.load_all([plugins.resolve(s) for s in (specs or [])])
    except KumoError as e:
        fail(e)


def fmt_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.4f}" if abs(v) < 1e6 else f"{v:,.1f}"
    return str(v)


def summary_table(summary: dict[str, Any], title: str, schema: dict[str, tuple[str, str, str]] | None = None) -> Table:
    """A run summary as a metric / value / unit table."""
    from kumo.results import SCHEMA

    t = Table(title=title, show_header=True, header_style="bold")
    t.add_column("metric")
    t.add_column("value", justify="right")
    t.add_column("unit")
    for k, v in summary.items():
        unit = (schema or SCHEMA["summary"]).get(k, ("", "", ""))[1]
        t.add_row(k, fmt_value(v), "" if unit == "-" else unit)
    return t


@contextmanager
def executor(dask: str | None, workers: int | None, plugins: list[str] | None = None) -> Iterator[Any]:
    """A Dask distributed client's executor for ``--dask ADDRESS`` (a :class:`kumo.cluster.DaskExecutor`: a
    trace given to :func:`kumo.sweep.run_many` goes once to each worker), else a local process pool. With
    Dask, the ``.py`` plugins are uploaded to the workers (``Client.upload_file``), so a remote cluster
    imports them too."""
    if dask:
        from distributed import Client

        from kumo.cluster import DaskExecutor

        client = Client(dask)
        try:
            for spec in plugins or []:
                if spec.endswith(".py") and Path(spec).is_file():
                    client.upload_file(spec)
            yield DaskExecutor(client)
        finally:
            client.close()
    else:
        from concurrent.futures import ProcessPoolExecutor

        os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread per run; parallelism is across runs
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        with ProcessPoolExecutor(max_workers=workers) as ex:
            yield ex


@contextmanager
def bar(label: str, quiet: bool, unit: str = "runs") -> Iterator[Any]:
    """A transient progress bar on stderr; yields ``update(done, total)`` (None when quiet)."""
    if quiet:
        yield None
        return
    with Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
                  TimeElapsedColumn(), console=err_console, transient=True) as progress:
        task = progress.add_task(label, total=None)
        yield lambda done, total: progress.update(task, completed=done, total=total)


def wide(width: int) -> Console:
    """The CLI's console, but never narrower than ``width`` (wide tables are not squeezed into an 80-column
    pipe; a terminal wider than that is used in full)."""
    return Console(file=console.file, width=max(console.width, width), force_terminal=console.is_terminal)
