"""What the reader fuzz tests share: mutations of a small valid file (as a table of text cells or as bytes),
hypothesis strategies that draw them, and the one property every reader must keep: a valid Trace or a
TraceFormatError naming the file, nothing else.
"""

from __future__ import annotations

import gzip
import io
import os
import random
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from kumo.errors import TraceFormatError
from kumo.traces.base import EXTRA_COLUMNS, MAX_CORES, MAX_TIME_S, MAX_VALUE, Trace

#: modest on purpose: the whole fuzz suite runs in about 10 s (the ``ci`` profile keeps it derandomized); set
#: KUMO_FUZZ_EXAMPLES=2000 to search longer
FUZZ = settings(max_examples=int(os.environ.get("KUMO_FUZZ_EXAMPLES", "60")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

#: cells that broke readers somewhere, plus the plain ones
BAD_CELLS = ("", " ", "nan", "NaN", "inf", "-inf", "Infinity", "1e300", "-1e300", "1e39", "3.5e38", "1e13", "-1",
             "-0", "0", "0.5", "1e-320", "99999999999999999999999", "9" * 5000, "abc", "1,5", "0x10", "1_000", "\x00",
             "\u00e9", ";", ",", "\t", '"', "2013-07-01", "05.11.2015 00:00:00", "31.02.2015 25:00:00", ">24", ">",
             "NA", "null", "True", "1e", "+", ".", "9223372036854775808", "-9223372036854775809")
CELL = st.one_of(st.sampled_from(BAD_CELLS), st.text(max_size=6),
                 st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers().map(str))
IDX = st.integers(0, 2**16)

#: table mutations: (op, i, j, cell) with indices taken modulo the table's size
TABLE_OP = st.one_of(
    st.tuples(st.just("cell"), IDX, IDX, CELL),
    st.tuples(st.sampled_from(["drop_col", "dup_col", "drop_row", "dup_row", "blank_row"]), IDX, st.just(0),
              st.just("")),
    st.tuples(st.sampled_from(["swap_cols", "swap_rows", "shuffle_rows"]), IDX, IDX, st.just("")),
)
#: byte mutations after serializing: cut the file, flip a byte, insert bytes
BYTE_OP = st.one_of(
    st.tuples(st.just("cut"), IDX, st.just(b"")),
    st.tuples(st.just("flip"), IDX, st.integers(1, 255).map(lambda b: bytes([b]))),
    st.tuples(st.just("insert"), IDX, st.binary(min_size=1, max_size=8)),
)
TABLE_OPS = st.lists(TABLE_OP, min_size=1, max_size=3)
BYTE_OPS = st.lists(BYTE_OP, max_size=2)


def mutate_table(rows: list[list[str]], ops: list[tuple[str, int, int, str]], header: bool = True) -> list[list[str]]:
    """The table (header first when ``header``) after ``ops``; rows may end up ragged, as in a broken file."""
    rows = [list(r) for r in rows]
    body0 = 1 if header else 0
    for op, i, j, cell in ops:
        if not rows:
            break
        width = max(len(r) for r in rows) or 1
        if op == "cell":
            r = rows[i % len(rows)]
            if r:
                r[j % len(r)] = cell
        elif op in ("drop_col", "dup_col", "swap_cols"):
            a, b = i % width, j % width
            for r in rows:
                if op == "drop_col" and a < len(r):
                    del r[a]
                elif op == "dup_col" and a < len(r):
                    r.insert(a, r[a])
                elif op == "swap_cols" and max(a, b) < len(r):
                    r[a], r[b] = r[b], r[a]
        elif len(rows) > body0:
            n = len(rows) - body0
            a, b = body0 + i % n, body0 + j % n
            if op == "drop_row":
                del rows[a]
            elif op == "dup_row":
                rows.insert(a, list(rows[a]))
            elif op == "blank_row":
                rows.insert(a, [])
            elif op == "swap_rows":
                rows[a], rows[b] = rows[b], rows[a]
            elif op == "shuffle_rows":
                body = rows[body0:]
                random.Random(i).shuffle(body)
                rows[body0:] = body
    return rows


def mutate_bytes(data: bytes, ops: list[tuple[str, int, bytes]]) -> bytes:
    for op, i, b in ops:
        at = i % (len(data) + 1)
        if op == "cut":
            data = data[:at]
        elif op == "flip" and data:
            at %= len(data)
            data = data[:at] + bytes([data[at] ^ b[0]]) + data[at + 1:]
        elif op == "insert":
            data = data[:at] + b + data[at:]
    return data


def to_text(rows: list[list[str]], sep: str) -> bytes:
    return "".join(sep.join(r) + "\n" for r in rows).encode("utf-8", errors="surrogatepass")


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=1, mtime=0)


def parse_csv(text: str, sep: str = ",") -> list[list[str]]:
    return [line.split(sep) for line in text.splitlines() if line]


def to_parquet(rows: list[list[str]], types: dict[str, str] | None = None) -> bytes:
    """A Parquet file of a (mutated) table: each column numeric when every cell parses (empty = null, the type
    the valid file had when ``types`` names it), else text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    header, body = rows[0], rows[1:]
    columns: dict[str, Any] = {}
    for k, name in enumerate(header):
        cells = [r[k] if k < len(r) else "" for r in body]
        want = (types or {}).get(name)
        try:
            values = [None if c == "" else float(c) for c in cells]
            arr = pa.array(values, pa.float64())
            if want == "int" and all(v is None or (np.isfinite(v) and v == int(v) and abs(v) < 2**62)
                                     for v in values):
                arr = arr.cast(pa.int64())
        except ValueError:
            arr = pa.array([None if c == "" else c for c in cells], pa.string())
        columns[name if name not in columns else f"{name}.{k}"] = arr
    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf)
    return buf.getvalue()


@contextmanager
def workdir() -> Iterator[Path]:
    # not tmp_path: a function-scoped fixture is shared by every example of a hypothesis test
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


def assert_valid(tr: Trace, zero_outside_life: bool = True) -> None:
    """Every invariant a reader promises of a Trace."""
    n_steps, n_vms = tr.cpu.shape
    assert n_steps >= 1 and n_vms >= 1
    assert np.isfinite(tr.step_s) and tr.step_s > 0 and np.isfinite(tr.start_epoch_s)
    assert abs(tr.start_epoch_s) <= MAX_TIME_S and tr.start_epoch_s + tr.duration_s <= MAX_TIME_S
    assert tr.vm_ids.shape == (n_vms,) and len(set(tr.vm_ids.tolist())) == n_vms
    demand = [tr.cpu, *([] if tr.ram_mb is None else [tr.ram_mb]), *tr.extra.values()]
    assert set(tr.extra) <= set(EXTRA_COLUMNS)
    for a in demand:
        assert a.dtype == np.float32 and a.shape == (n_steps, n_vms)
        assert np.isfinite(a).all() and (a >= 0).all() and (a <= MAX_VALUE).all()
    assert tr.cores.dtype == np.int32 and ((tr.cores >= 0) & (tr.cores <= MAX_CORES)).all()
    for b in (tr.cpu_booked_mhz, tr.ram_booked_mb):
        assert b.dtype == np.float32 and b.shape == (n_vms,)
        known = b[~np.isnan(b)]
        assert np.isfinite(known).all() and (known > 0).all() and (known <= MAX_VALUE).all()
    a, d = tr.arrive_step, tr.depart_step
    assert a.dtype == d.dtype == np.int32
    assert ((0 <= a) & (a < d) & (d <= n_steps)).all()
    if zero_outside_life:
        alive = tr.alive()
        for arr in demand:
            assert not arr[~alive].any()
    assert all(isinstance(k, str) and isinstance(v, int) for k, v in tr.quirks.items())
    assert tr.cpu_unit in ("mhz", "fraction")


def outcome(read: Callable[[], Any], where: Path) -> Any:
    """Run ``read``: its result, or None when it raised a TraceFormatError that names ``where`` (the file, or a
    file in the folder). Anything else (another exception, a RuntimeWarning) fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            return read()
        except TraceFormatError as e:
            msg = str(e)
            assert "\n" not in msg, f"a multi-line error: {msg!r}"
            assert e.path == str(where) or Path(e.path).parent == where or Path(e.path) == where, msg
            assert msg.startswith(e.path), msg
            return None
