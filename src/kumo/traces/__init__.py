"""Trace readers: every supported format in, one :class:`~kumo.traces.base.Trace` out.

``load(path_or_name)`` reads an embedded trace by name (``bitbrains-rnd-2013-7``, ``planetlab-20110303``,
``surf-week`` and their aliases, see :func:`embedded_names`) or a file or folder, detecting its format:

=========================================================  ==============
what                                                       format
=========================================================  ==============
a ``.kumo`` file                                           ``compact``
a ``.csv`` / ``.csv.gz`` / ``.parquet`` file               ``generic``
a folder of ``*.csv(.gz)``, header ``Timestamp...;\\t...``   ``bitbrains``
the same with ``DD.MM.YYYY HH:MM:SS`` timestamps            ``materna``
a folder of header-less files of whole numbers             ``planetlab``
a folder with ``tasks.parquet`` and ``fragments.parquet``      ``opendc``
a folder with ``vmtable.csv(.gz)`` (and readings files)        ``azure``
=========================================================  ==============

``kumo.traces.synth`` generates workloads (:func:`~kumo.traces.synth.synthesize`); ``read_topology``
turns an OpenDC topology into a scenario's hosts.

Embedded names take precedence over same-named entries of the working directory; write ``./planetlab`` to
read a local folder of that name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from kumo.errors import TraceFormatError
from kumo.traces._textio import head_lines, list_files
from kumo.traces.base import EXTRA_COLUMNS, Trace
from kumo.traces.compact import load_compact, save

# the text readers import pandas (~0.3 s): they load on first use, so reading a .kumo file stays light
_LAZY = {
    "read_bitbrains": "kumo.traces.bitbrains",
    "read_generic": "kumo.traces.generic",
    "read_materna": "kumo.traces.materna",
    "read_planetlab": "kumo.traces.planetlab",
    "read_opendc": "kumo.traces.opendc",
    "read_azure": "kumo.traces.azure",
    "read_topology": "kumo.traces.opendc_topology",
    "trace_info": "kumo.traces.info",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kumo.traces' has no attribute {name!r}")


def _reader(format: str) -> Callable[..., Trace]:
    if format in ("compact", "kumo"):
        return load_compact
    return __getattr__(READERS[format])

__all__ = [
    "EXTRA_COLUMNS",
    "FORMATS",
    "Trace",
    "detect_format",
    "embedded_names",
    "load",
    "load_compact",
    "read_azure",
    "read_bitbrains",
    "read_generic",
    "read_materna",
    "read_opendc",
    "read_planetlab",
    "read_topology",
    "save",
    "trace_info",
]

#: embedded trace name -> file in the ``kumo.data`` package
#: the ten PlanetLab days of CloudSim's examples, shipped compact (zlib, ~2.4 MB together)
PLANETLAB_DAYS = ("20110303", "20110306", "20110309", "20110322", "20110325", "20110403", "20110409", "20110411",
                  "20110412", "20110420")
EMBEDDED = {
    "bitbrains-rnd-2013-7": "bitbrains-rnd-2013-7.kumo",
    **{f"planetlab-{day}": f"planetlab-{day}.kumo" for day in PLANETLAB_DAYS},
    "surf-week": "surf-week.kumo",
}
ALIASES = {
    "bitbrains": "bitbrains-rnd-2013-7",
    "bitbrains-rnd": "bitbrains-rnd-2013-7",
    "planetlab": "planetlab-20110303",
    "surf": "surf-week",
}
#: format name -> reader (a function, or the name of a lazily imported one; resolve with ``_reader``)
READERS: dict[str, Any] = {
    "compact": load_compact,
    "kumo": load_compact,
    "bitbrains": "read_bitbrains",
    "materna": "read_materna",
    "planetlab": "read_planetlab",
    "generic": "read_generic",
    "opendc": "read_opendc",
    "azure": "read_azure",
}
#: format names accepted by ``load(..., format=)``; ``kumo`` is an alias of ``compact``
FORMATS = tuple(READERS)
_GERMAN_TIME = re.compile(r"^\s*\d{1,2}\.\d{1,2}\.\d{4}")
_GENERIC_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")


def embedded_names(*, aliases: bool = False) -> list[str]:
    """Names of the traces shipped with kumo (with their aliases when ``aliases`` is True)."""
    return sorted([*EMBEDDED, *ALIASES]) if aliases else sorted(EMBEDDED)


def _load_embedded(name: str) -> Trace:
    canonical = ALIASES.get(name, name)
    ref = resources.files("kumo.data").joinpath(EMBEDDED[canonical])
    with resources.as_file(ref) as path:
        if not path.is_file():
            raise TraceFormatError(path, f"embedded trace {canonical!r} is missing from this installation")
        return load_compact(path)


def _detect_folder(folder: Path) -> str:
    files = list_files(folder)
    if not files:
        raise TraceFormatError(folder, "empty folder: no trace files")
    names = {f.name.lower() for f in files}
    if {"tasks.parquet", "fragments.parquet"} <= names:
        return "opendc"
    if names & {"vmtable.csv", "vmtable.csv.gz"}:
        return "azure"
    if "tasks.parquet" in names or "fragments.parquet" in names:
        raise TraceFormatError(folder, "an OpenDC workload needs both tasks.parquet and fragments.parquet")
    if any(f.name.lower().endswith((".csv", ".csv.gz")) for f in files):
        from kumo.traces._gwa import vm_files

        _, first = vm_files(folder)[0]
        lines = head_lines(first, 2)
        if not lines or not lines[0].lower().lstrip().startswith("timestamp"):
            raise TraceFormatError(
                first, "a folder of CSV files but no 'Timestamp' header (Bitbrains/Materna)", 1
            )
        if ";\t" not in lines[0] and len(lines) > 1 and _GERMAN_TIME.match(lines[1]):
            return "materna"
        return "bitbrains"
    first_line = (head_lines(files[0], 1) or [""])[0].strip()
    if first_line.isdigit():
        return "planetlab"
    raise TraceFormatError(
        folder,
        f"cannot tell the trace format from {files[0].name!r}; pass format= one of {', '.join(FORMATS)}",
    )


def detect_format(path: str | Path) -> str:
    """The format name (a key of :data:`FORMATS`) of a trace file or folder, from its names and first lines."""
    path = Path(path)
    if path.is_dir():
        return _detect_folder(path)
    if not path.exists():
        raise TraceFormatError(path, "no such file or folder")
    low = path.name.lower()
    if low.endswith(".kumo"):
        return "compact"
    if low.endswith(_GENERIC_SUFFIXES):
        return "generic"
    raise TraceFormatError(path, f"unknown trace file type; pass format= one of {', '.join(FORMATS)}")


def _looks_like_path(s: str) -> bool:
    return "/" in s or "\\" in s or s.startswith(".") or s.startswith("~")


def load(path_or_name: str | Path, format: str | None = None, **options: Any) -> Trace:
    """Read a trace: an embedded name, or a file or folder in any supported format.

    Parameters
    ----------
    path_or_name : embedded name or alias (see :func:`embedded_names`), or a path.
    format : one of :data:`FORMATS` to skip detection.
    **options : passed to the reader (``name``, ``step_s``, ``hold_steps``... see each ``read_*``).

    Returns
    -------
    Trace
    """
    if format is not None and format not in READERS:
        raise TraceFormatError(
            str(path_or_name), f"unknown format {format!r}; valid: {', '.join(FORMATS)}", field="format"
        )
    text = str(path_or_name)
    if isinstance(path_or_name, str) and not _looks_like_path(text) and (text in EMBEDDED or text in ALIASES):
        if options:
            raise TraceFormatError(text, f"embedded traces take no reader options, got {', '.join(options)}")
        return _load_embedded(text)
    path = Path(path_or_name).expanduser()
    if not path.exists():
        raise TraceFormatError(
            path,
            f"no such file or folder, and not an embedded trace (valid names: {', '.join(embedded_names(aliases=True))})",
        )
    reader = _reader(format or detect_format(path))
    _check_options(path, reader, options)
    return reader(path, **options)


def _check_options(path: Path, reader: Callable[..., Trace], options: dict[str, Any]) -> None:
    """A clear error for reader options the format does not take (``--window`` on a Bitbrains folder)."""
    import inspect

    params = inspect.signature(reader).parameters
    valid = [n for n, p in params.items() if p.kind == p.KEYWORD_ONLY]
    unknown = [k for k in options if k not in valid]
    if unknown:
        raise TraceFormatError(
            path, f"the {reader.__name__.removeprefix('read_').removeprefix('load_')} reader takes no option "
                  f"{', '.join(map(repr, unknown))}; its options: {', '.join(valid) or 'none'}", field=unknown[0])
