"""Reading Parquet files so that a damaged one is a TraceFormatError naming it, at once.

pyarrow reads some damage without complaint (a text column holding bytes that are not UTF-8) and fails
only later, in whatever touches the value, with an ``ArrowException`` that is not even a ValueError.
:func:`read_table` validates the whole table on reading instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kumo.errors import TraceFormatError


def read_table(path: Path, columns: list[str] | None = None) -> Any:
    """The (chosen ``columns`` of the) Parquet file as a fully validated pyarrow Table."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path, columns=columns)
        table.validate(full=True)
    except (OSError, ValueError, pa.ArrowException) as exc:  # ValueError: a damaged name that is not UTF-8
        raise TraceFormatError(path, f"cannot read as Parquet (truncated or not Parquet?): {exc}") from None
    return table


def read_frame(path: Path) -> Any:
    """The Parquet file as a pandas DataFrame (what ``pandas.read_parquet`` gives), validated on reading."""
    table = read_table(path)
    try:
        return table.to_pandas()
    except (ValueError, TypeError) as exc:  # pandas metadata that does not fit the columns
        raise TraceFormatError(path, f"cannot read as Parquet: {exc}") from None
