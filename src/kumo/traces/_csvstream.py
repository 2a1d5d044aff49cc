"""Header-less CSV files read in blocks with pyarrow (gzip or plain): bounded memory on files of any size,
and, when a block does not parse, the exact line and field found by a second, line-by-line look.

Used by the Azure reader, whose readings files hold up to billions of lines.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from kumo.errors import TraceFormatError
from kumo.traces._textio import NUMBER_RE, READ_ERRORS, is_gzip, open_text
from kumo.traces.base import MAX_VALUE

#: bytes of CSV text per block (about 0.5 M Azure readings)
BLOCK_BYTES = 32 << 20
#: blocks read ahead of the caller by a thread
READ_AHEAD = 2

Check = Callable[[str], str | None]  # cell text -> None if fine, else the reason


def number(text: str) -> str | None:
    """A plain number >= 0 and <= MAX_VALUE (no NaN, no infinity)."""
    if not text:
        return "missing value"
    if not NUMBER_RE.match(text):
        return f"not a number: {text!r}"
    x = float(text)
    return f"negative value {text}" if x < 0 else f"value {text} above the limit {MAX_VALUE:g}" if x > MAX_VALUE \
        else None


def text(cell: str) -> str | None:
    return None if cell else "missing value"


def locate(path: Path, names: tuple[str, ...], checks: tuple[Check, ...]) -> TraceFormatError | None:
    """The first line whose field count or a cell is wrong; None if every line is fine.

    Only called once a block failed, so exact blame matters more than speed (a whole file is re-read).
    """
    try:
        with open_text(path) as f:
            for lineno, line in enumerate(f, 1):
                line = line.rstrip("\r\n")
                if not line.strip():
                    continue
                cells = line.split(",")
                if len(cells) != len(names):
                    return TraceFormatError(path, f"expected {len(names)} fields, found {len(cells)}", line=lineno)
                for name, check, cell in zip(names, checks, cells, strict=True):
                    reason = check(cell.strip())
                    if reason:
                        return TraceFormatError(path, reason, line=lineno, field=name)
    except READ_ERRORS as exc:
        return TraceFormatError(path, f"cannot read the file (truncated gzip?): {exc}")
    return None


def batches(path: Path, names: tuple[str, ...], types: dict[str, Any], checks: tuple[Check, ...],
            block_bytes: int = BLOCK_BYTES) -> Iterator[tuple[int, Any]]:
    """(first line number of the batch, pyarrow RecordBatch of the typed columns) for the whole file.

    Columns not in ``types`` are skipped. A block that does not parse is blamed on its line and field
    (:func:`locate`); a gzip stream that ends early names the file and the lines read.
    """
    import pyarrow as pa
    import pyarrow.csv as pcsv

    if not path.is_file():
        raise TraceFormatError(path, "no such file")
    stream = pa.input_stream(str(path), compression="gzip" if is_gzip(path) else None)
    read = pcsv.ReadOptions(column_names=list(names), block_size=block_bytes)
    convert = pcsv.ConvertOptions(column_types=types, include_columns=[n for n in names if n in types],
                                  strings_can_be_null=False, null_values=[""], quoted_strings_can_be_null=False)
    line = 1
    try:
        try:
            reader = pcsv.open_csv(stream, read_options=read, convert_options=convert)
            for batch in _read_ahead(reader):
                yield line, batch
                line += batch.num_rows
        except pa.ArrowInvalid as exc:
            err = locate(path, names, checks)
            raise (err or TraceFormatError(path, f"cannot parse after line {line - 1}: {exc}")) from None
        except READ_ERRORS as exc:
            raise TraceFormatError(
                path, f"the file ends early or is corrupt ({exc}): truncated gzip? {line - 1} lines read") from None
    finally:
        stream.close()


_END = object()


def _read_ahead(batches: Iterable[Any], depth: int = READ_AHEAD) -> Iterator[Any]:
    """The items of ``batches``, taken by a thread up to ``depth`` ahead of the caller; an exception of the
    iteration is raised here, after the items before it, as the plain loop would.

    pyarrow's streaming CSV reader inflates and parses a block only when asked for it: without the thread
    the caller's work on a block and the reading of the next one would take turns (pyarrow releases the GIL
    while it reads). Closing this generator early stops the thread before it returns."""
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in batches:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the caller, raised there
            put(exc)
            return
        put(_END)

    worker = threading.Thread(target=run, name="kumo-csv-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()
