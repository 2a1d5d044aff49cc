"""The columns of a long-format Parquet trace, read one row group at a time with pyarrow.

What the generic reader needs from its file is per row: the VM's code (order of first appearance), and
each numeric column as float64. The pandas path builds a whole DataFrame first (28.8 M rows of text ids
are several GB of Python strings); this path keeps only the numeric arrays and int32 codes. Row groups
are decoded in threads, each straight into its rows of preallocated arrays; its VM ids are
dictionary-encoded (the dictionary lists a group's distinct ids in the order they first appear), and the
groups' dictionaries, concatenated in file order and encoded once more, give the global codes
(:func:`_global_codes`).

It takes a valid file of plain types only. Anything else returns None and the caller reads the file through
pandas, which yields the very same arrays for a valid file, and for an invalid one the exact error of
before: a missing column or value, a value out of range, an id that is empty, a type other than text or
integer ids and integer or float numbers, pandas index columns, a file pyarrow cannot read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: row groups decoded at once, each in a thread
THREADS = 2
#: one open ParquetFile per worker thread
_local = threading.local()


@dataclass
class Columns:
    """A long-format trace's rows: ``codes`` (n_rows,) int VM index in ``uniques`` (first-appearance order),
    ``num`` the numeric columns as (n_rows,) float64, checked finite, >= 0 (> 0 for a booking) and within
    their limits; ``columns`` the header (stripped) in file order."""

    columns: list[str]
    n_rows: int
    codes: np.ndarray
    uniques: np.ndarray
    num: dict[str, np.ndarray]


def _plain_pandas_layout(schema: Any) -> bool:
    """No pandas index stored as columns and a single level of column names: ``to_pandas`` then gives the
    file's columns as they are."""
    meta = schema.pandas_metadata
    if not meta:
        return True
    return all(isinstance(c, dict) for c in meta.get("index_columns", [])) and len(meta.get("column_indexes", [])) <= 1


def _valid(values: np.ndarray, col: str, limits: dict[str, float], positive: Iterable[str], default: float) -> bool:
    limit = limits.get(col, default)
    low = values <= 0 if col in positive else values < 0
    return bool(np.isfinite(values).all() and not low.any() and not (values > limit).any())


Check = Callable[[np.ndarray, str], bool]


def _group(path: Path, group: int, rows: slice, source: list[str], wanted: list[str], codes: np.ndarray,
           num: dict[str, np.ndarray], valid: Check) -> Any:
    """Decode row group ``group`` into ``rows`` of ``codes`` (indices into the group's own dictionary of
    ids, which it returns) and of the ``num`` arrays; None when a value is missing or out of range. Runs in
    a worker thread."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if getattr(_local, "path", None) != path:  # the pool's threads live for one read
        _local.file, _local.path = pq.ParquetFile(path), path
    table = _local.file.read_row_group(group, columns=source)
    table.validate(full=True)  # text that is not UTF-8 fails here
    cols = [table.column(i).combine_chunks() for i in range(table.num_columns)]
    if any(c.null_count for c in cols) or len(cols[0]) != rows.stop - rows.start:
        return None
    vm = cols[0] if cols[0].type == pa.string() else cols[0].cast(pa.string())
    enc = pc.dictionary_encode(vm)
    codes[rows] = enc.indices.to_numpy()
    for c, col in zip(wanted, cols[1:], strict=True):
        out = num[c][rows]
        np.copyto(out, col.to_numpy(), casting="unsafe")  # ints and float32 to float64: exact, as pandas
        if not valid(out, c):
            return None
    return enc.dictionary


def _global_codes(codes: np.ndarray, bounds: list[slice], dictionaries: list[Any]) -> np.ndarray | None:
    """Turn each group's indices (in ``codes``, in place) into global codes in order of first appearance;
    returns the distinct ids, or None when one is empty or blank (the pandas path names its row).

    Each group's dictionary lists its ids in the order they first appear in it, so the distinct entries of
    the groups' dictionaries, concatenated in file order, are the ids in order of first appearance; a group
    whose dictionary equals the previous one (every VM at every step) adds nothing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    parts: list[Any] = []
    first: list[int] = []  # where each group's dictionary starts in the concatenation
    for d in dictionaries:
        if parts and d.equals(parts[-1]):
            first.append(first[-1])
            continue
        first.append(sum(len(p) for p in parts))
        parts.append(d)
    enc = pc.dictionary_encode(pa.concat_arrays(parts))
    entry = enc.indices.to_numpy().astype(np.int32)
    uniques = enc.dictionary.to_pylist()
    if any(not u.strip() for u in uniques):  # str.strip, as the pandas path checks
        return None
    for rows, start in zip(bounds, first, strict=True):
        block = codes[rows]
        block[...] = entry[start:][block]
    return np.array(uniques, dtype=object)


def read_columns(path: Path, required: tuple[str, ...], numeric: tuple[str, ...], limits: dict[str, float],
                 positive: tuple[str, ...], default_limit: float) -> Columns | None:
    """The rows of a valid Parquet long-format trace, or None (read it through pandas instead)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def valid(values: np.ndarray, col: str) -> bool:
        return _valid(values, col, limits, positive, default_limit)

    try:
        pf = pq.ParquetFile(path)
        schema = pf.schema_arrow
        names = list(schema.names)
        columns = [n.strip() for n in names]
        if len(set(columns)) != len(columns) or not _plain_pandas_layout(schema):
            return None
        if any(c not in columns for c in required) or pf.metadata.num_rows == 0:
            return None
        field = {c: schema.field(n) for c, n in zip(columns, names, strict=True)}
        id_type = field["vm_id"].type
        if not (pa.types.is_string(id_type) or pa.types.is_large_string(id_type) or pa.types.is_integer(id_type)):
            return None
        wanted = [c for c in numeric if c in columns]
        if not all(pa.types.is_integer(field[c].type) or pa.types.is_float32(field[c].type)
                   or pa.types.is_float64(field[c].type) for c in wanted):
            return None
        n_rows = pf.metadata.num_rows
        sizes = [pf.metadata.row_group(g).num_rows for g in range(pf.metadata.num_row_groups)]
        ends = np.cumsum(sizes)
        bounds = [slice(int(e - n), int(e)) for e, n in zip(ends, sizes, strict=True)]
        num = {c: np.empty(n_rows, np.float64) for c in wanted}
        codes = np.empty(n_rows, np.int32)
        source = [names[columns.index(c)] for c in ("vm_id", *wanted)]
        # row groups decoded in threads (pyarrow and numpy release the GIL), each into its own rows
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            dictionaries = list(pool.map(lambda g: _group(path, g, bounds[g], source, wanted, codes, num, valid),
                                         range(len(sizes))))
        if any(d is None for d in dictionaries) or int(ends[-1]) != n_rows:
            return None
        uniques = _global_codes(codes, bounds, dictionaries)
        del dictionaries
        pa.default_memory_pool().release_unused()  # the row groups are in numpy arrays now
    except (OSError, ValueError, TypeError, IndexError, pa.ArrowException):
        return None  # the pandas path names the damage
    if uniques is None:
        return None
    return Columns(columns=columns, n_rows=n_rows, codes=codes, uniques=uniques, num=num)
