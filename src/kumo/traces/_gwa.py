"""The pipeline shared by the Grid Workloads Archive VM traces (Bitbrains GWA-T-12, Materna GWA-T-13).

Both formats are a folder of per-VM files with the same eleven columns; they differ only in how a line
is spelled (separator, decimal mark, timestamp form). Each format module parses its files into
:class:`VmRows` (epoch seconds plus ten validated float columns) and hands them to :func:`prepare_vm`
and :func:`assemble`, which apply every repair rule and count it. The rules are documented in
:mod:`kumo.traces.bitbrains`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kumo.errors import TraceFormatError
from kumo.traces._textio import data_line_number, list_files, numbered_lines
from kumo.traces.base import EXTRA_COLUMNS, MAX_CORES, MAX_VALUE, Trace

#: the ten value columns after the timestamp, as spelled in the files' header
VALUE_COLUMNS = (
    "CPU cores",
    "CPU capacity provisioned [MHZ]",
    "CPU usage [MHZ]",
    "CPU usage [%]",
    "Memory capacity provisioned [KB]",
    "Memory usage [KB]",
    "Disk read throughput [KB/s]",
    "Disk write throughput [KB/s]",
    "Network received throughput [KB/s]",
    "Network transmitted throughput [KB/s]",
)
CORES, CPU_BOOKED, CPU_USED, CPU_PCT, RAM_BOOKED, RAM_USED = range(6)
#: value-column index of each demand series in the Trace, in the order cpu, ram, then EXTRA_COLUMNS
DEMAND_COLUMNS = (CPU_USED, RAM_USED, 6, 7, 8, 9)
USAGE_COLUMNS = (CPU_USED, CPU_PCT, *DEMAND_COLUMNS[1:])
#: every quirk the pipeline counts; all are reported, zero when the rule never fired
QUIRKS = (
    "rows_read", "cpu_usage_above_booked", "ram_usage_above_booked", "unprovisioned_rows",
    "vms_with_unprovisioned_rows", "unprovisioned_rows_with_usage", "duplicate_timestamp_rows",
    "off_step_intervals", "sample_gaps_over_2_steps", "vms_with_sample_gap_over_2_steps", "longest_sample_gap_s",
    "same_slot_rows_dropped", "vms_first_row_after_24h", "vms_never_provisioned", "unprovisioned_inside_slots",
    "unprovisioned_edge_slots", "booking_changes", "vms_booking_changed", "vms_cores_changed",
    "vms_cpu_booked_changed", "vms_ram_booked_changed", "gaps", "gap_slots_held", "gap_slots_zeroed",
    "vms_arrive_late", "vms_arrive_after_24h", "vms_depart_early",
)  # fmt: skip
KB_PER_MB = 1024.0
DAY_S = 86400.0
#: bookings closer than this (relative) are the same booking: provisioned MHz carries ~1e-7 noise
BOOKING_RTOL = 1e-6


def normalize_header(name: str) -> str:
    """Header cell compared case- and whitespace-insensitively (files differ in tabs and spaces)."""
    return " ".join(name.split()).lower()


def check_header(path: Path, cells: list[str]) -> None:
    """Raise unless ``cells`` is a timestamp column followed by :data:`VALUE_COLUMNS`."""
    got = [normalize_header(c) for c in cells]
    want = [normalize_header(c) for c in VALUE_COLUMNS]
    if not got or not got[0].startswith("timestamp"):
        raise TraceFormatError(
            path, f"first column must be a timestamp, found {cells[0] if cells else ''!r}", 1
        )
    missing = [c for c, w in zip(VALUE_COLUMNS, want, strict=True) if w not in got[1:]]
    extra = [c for c, g in zip(cells[1:], got[1:], strict=False) if g not in want]
    if missing or extra:
        parts = ([f"missing column(s) {', '.join(map(repr, missing))}"] if missing else []) + (
            [f"unexpected column(s) {', '.join(repr(c.strip()) for c in extra)}"] if extra else []
        )
        raise TraceFormatError(
            path, "; ".join(parts), line=1, field=(missing or [c.strip() for c in extra])[0]
        )
    if got[1:] != want:
        raise TraceFormatError(path, f"columns out of order; expected {', '.join(VALUE_COLUMNS)}", line=1)


def vm_files(folder: Path) -> list[tuple[str, Path]]:
    """(vm_id, path) of every ``*.csv`` / ``*.csv.gz`` in ``folder``, numeric stems in numeric order.

    Numeric stems (``1`` ... ``500``, ``01`` ...) sort by value, the order the archive numbers its VMs;
    other stems follow in lexicographic order.
    """
    found: dict[str, Path] = {}
    for path in list_files(folder):
        low = path.name.lower()
        stem = (
            path.name[: -len(".csv.gz")]
            if low.endswith(".csv.gz")
            else path.name[:-4]
            if low.endswith(".csv")
            else None
        )
        if stem is None:
            continue
        if stem in found:
            raise TraceFormatError(folder, f"VM {stem!r} appears twice: {found[stem].name} and {path.name}")
        found[stem] = path
    if not found:
        raise TraceFormatError(folder, "no VM files (*.csv or *.csv.gz) in the folder")

    def key(stem: str) -> tuple[int, int, str]:
        return (0, int(stem), stem) if stem.isdigit() else (1, 0, stem)

    return [(stem, found[stem]) for stem in sorted(found, key=key)]


def value_limits(time_limit: float) -> np.ndarray:
    """(11,) the largest value of each column, the timestamp's (in the unit the file writes) first."""
    return np.array([time_limit, MAX_CORES, *[MAX_VALUE] * (len(VALUE_COLUMNS) - 1)])


def find_bad_line(
    path: Path, split: Callable[[str], list[str]], parse_cell: Callable[[int, str], float], time_limit: float
) -> TraceFormatError | None:
    """Scan a file line by line for the first row the fast parser refused; None if every row is fine.

    Only called after the vectorized parse failed, so speed does not matter here, exact blame does.
    ``parse_cell(column, text)`` returns the value or raises ValueError with the reason; values above
    :func:`value_limits` are refused.
    """
    limits = value_limits(time_limit)
    names = ("Timestamp", *VALUE_COLUMNS)
    for lineno, line in numbered_lines(path):
        if lineno == 1 or not line.strip():
            continue
        cells = [c.strip() for c in split(line)]
        if len(cells) != len(names):
            return TraceFormatError(path, f"expected {len(names)} fields, found {len(cells)}", line=lineno)
        for col, (name, cell) in enumerate(zip(names, cells, strict=True)):
            if not cell:
                return TraceFormatError(path, "empty value", line=lineno, field=name)
            try:
                value = parse_cell(col, cell)
            except ValueError as exc:
                return TraceFormatError(path, str(exc), line=lineno, field=name)
            if value < 0:
                return TraceFormatError(path, f"negative value {cell}", line=lineno, field=name)
            if not value <= limits[col]:
                return TraceFormatError(path, f"value {cell} above the limit {limits[col]:g}", line=lineno, field=name)
    return None


@dataclass
class VmRows:
    """One VM file after parsing and :func:`prepare_vm`.

    Attributes
    ----------
    vm_id : the file stem.
    path : the file, for error messages.
    t_s : (n,) float64 epoch seconds, strictly increasing (duplicates already collapsed).
    values : (n, 10) float32 columns in :data:`VALUE_COLUMNS` order.
    counts : quirk counts of this file that are summed over the trace.
    first_t_s : timestamp of the first row as read (before any rule).
    longest_gap_s : longest interval between distinct timestamps.
    """

    vm_id: str
    path: Path
    t_s: np.ndarray
    values: np.ndarray
    counts: Counter[str] = field(default_factory=Counter)
    first_t_s: float = 0.0
    longest_gap_s: float = 0.0


def prepare_vm(vm_id: str, path: Path, t_s: np.ndarray, values: np.ndarray, step_s: float) -> VmRows:
    """Check order and integrality, count the per-row quirks, collapse duplicate timestamps.

    Parameters
    ----------
    t_s : (n,) float64 epoch seconds in file order.
    values : (n, 10) float64, already checked finite and non-negative by the format's parser.
    """
    if len(t_s) == 0:
        raise TraceFormatError(path, "no data rows after the header")
    back = np.flatnonzero(np.diff(t_s) < 0)
    if back.size:
        row = int(back[0]) + 1
        raise TraceFormatError(
            path,
            f"timestamps must not decrease: {t_s[row]:.0f} s after {t_s[row - 1]:.0f} s",
            line=data_line_number(path, row),
            field="Timestamp",
        )
    frac = np.flatnonzero(values[:, CORES] != np.floor(values[:, CORES]))
    if frac.size:
        row = int(frac[0])
        raise TraceFormatError(
            path,
            f"cores must be a whole number, got {values[row, CORES]}",
            data_line_number(path, row),
            VALUE_COLUMNS[CORES],
        )
    counts: Counter[str] = Counter()
    counts["rows_read"] = len(t_s)
    # compared in float64 as read, before any row is dropped: a property of the file, like the reference scans
    counts["cpu_usage_above_booked"] = int(np.count_nonzero(values[:, CPU_USED] > values[:, CPU_BOOKED]))
    counts["ram_usage_above_booked"] = int(np.count_nonzero(values[:, RAM_USED] > values[:, RAM_BOOKED]))
    unprov = ~_provisioned(values)
    counts["unprovisioned_rows"] = int(np.count_nonzero(unprov))
    counts["vms_with_unprovisioned_rows"] = int(unprov.any())
    used = (values[:, USAGE_COLUMNS] > 0).any(axis=1)
    counts["unprovisioned_rows_with_usage"] = int(np.count_nonzero(unprov & used))
    last_of_run = np.ones(len(t_s), dtype=bool)
    last_of_run[:-1] = t_s[1:] != t_s[:-1]
    counts["duplicate_timestamp_rows"] = int(len(t_s) - np.count_nonzero(last_of_run))
    t_u = t_s[last_of_run]
    dt = np.diff(t_u)
    counts["off_step_intervals"] = int(np.count_nonzero(dt % step_s != 0))
    long_gaps = int(np.count_nonzero(dt > 2 * step_s))
    counts["sample_gaps_over_2_steps"] = long_gaps
    counts["vms_with_sample_gap_over_2_steps"] = int(long_gaps > 0)
    return VmRows(
        vm_id=vm_id,
        path=path,
        t_s=t_u,
        values=values[last_of_run].astype(np.float32),
        counts=counts,
        first_t_s=float(t_s[0]),
        longest_gap_s=float(dt.max()) if dt.size else 0.0,
    )


def _lifetime(values: np.ndarray, counts: Counter[str]) -> tuple[int, int] | None:
    """Row range [first, last] of provisioned grid rows, counting the others; None if never provisioned."""
    provisioned = _provisioned(values)
    rows = np.flatnonzero(provisioned)
    if rows.size == 0:
        counts["vms_never_provisioned"] += 1
        return None
    first, last = int(rows[0]), int(rows[-1])
    inside = (last - first + 1) - len(rows)
    counts["unprovisioned_inside_slots"] += inside
    counts["unprovisioned_edge_slots"] += len(provisioned) - len(rows) - inside
    return first, last


def _provisioned(values: np.ndarray) -> np.ndarray:
    """(n,) bool: the row has cores and memory booked (rule 4 of the Bitbrains docstring)."""
    return (values[:, CORES] > 0) & (values[:, RAM_BOOKED] > 0)


def _bookings(v: np.ndarray, counts: Counter[str]) -> np.ndarray:
    """(3,) max cores, MHz, KB over the lifetime rows ``v``; counts booking changes (unprovisioned rows hold)."""
    book = v[:, [CORES, CPU_BOOKED, RAM_BOOKED]].astype(np.float64)
    src = np.where(_provisioned(v), np.arange(len(v)), 0)
    np.maximum.accumulate(src, out=src)
    held = book[src]
    changed = np.abs(held[1:] - held[:-1]) > BOOKING_RTOL * np.maximum(held[1:], held[:-1])
    counts["booking_changes"] += int(np.count_nonzero(changed.any(axis=1)))
    counts["vms_booking_changed"] += int(changed.any())
    for j, key in enumerate(("vms_cores_changed", "vms_cpu_booked_changed", "vms_ram_booked_changed")):
        counts[key] += int(changed[:, j].any())
    return held.max(axis=0)


def _snap(
    vms: Sequence[VmRows], t0: float, step_s: float, counts: Counter[str]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(slots, values) per VM on the common grid; of rows sharing a slot the last is kept (rule 3)."""
    out = []
    for vm in vms:
        # round half up, so a sample exactly between two slots always goes to the later one
        slot = np.floor((vm.t_s - t0) / step_s + 0.5).astype(np.int64)
        keep = np.ones(len(slot), dtype=bool)
        keep[:-1] = slot[1:] != slot[:-1]
        counts["same_slot_rows_dropped"] += int(len(slot) - np.count_nonzero(keep))
        out.append((slot[keep], vm.values[keep]))
    return out


def _fill(
    out: np.ndarray, slot: np.ndarray, values: np.ndarray, hold_steps: int, counts: Counter[str]
) -> tuple[int, int]:
    """Write one VM's lifetime demand into ``out`` (len(DEMAND_COLUMNS), n_steps); return (arrive, depart).

    ``slot``/``values`` are the lifetime rows only. Empty slots hold the previous row for ``hold_steps``
    slots, then stay zero (rule 5).
    """
    arrive, depart = int(slot[0]), int(slot[-1]) + 1
    steps = np.arange(arrive, depart)
    src = np.searchsorted(slot, steps, side="right") - 1
    ok = steps - slot[src] <= hold_steps
    counts["gaps"] += int(np.count_nonzero(np.diff(slot) > 1))
    counts["gap_slots_held"] += int(np.count_nonzero(ok)) - len(slot)
    counts["gap_slots_zeroed"] += int(len(steps) - np.count_nonzero(ok))
    out[:, steps[ok]] = values[src[ok]][:, DEMAND_COLUMNS].T
    return arrive, depart


def assemble(
    vms: Sequence[VmRows],
    *,
    folder: Path,
    name: str,
    step_s: float,
    hold_steps: int,
    provenance: dict[str, str],
    quirks: Counter[str] | None = None,
) -> Trace:
    """Snap every VM onto the common grid, apply the lifetime, gap and booking rules, build the Trace.

    Parameters
    ----------
    vms : the prepared files, in VM order.
    folder : the trace folder, for error messages.
    quirks : format-specific counts to report with the pipeline's own.
    """
    if not vms:
        raise TraceFormatError(folder, "no VM files found")
    counts: Counter[str] = Counter(dict.fromkeys(QUIRKS, 0))
    counts.update(quirks or {})
    for vm in vms:
        counts.update(vm.counts)
    t0 = min(float(vm.t_s[0]) for vm in vms)
    snapped = _snap(vms, t0, step_s, counts)
    n_steps = int(max(slot[-1] for slot, _ in snapped)) + 1
    counts["vms_first_row_after_24h"] = sum(vm.first_t_s - t0 > DAY_S for vm in vms)

    buf = np.zeros((len(vms), len(DEMAND_COLUMNS), n_steps), dtype=np.float32)
    kept: list[int] = []
    booked, life_steps = [], []
    for i, (slot, values) in enumerate(snapped):
        life = _lifetime(values, counts)
        if life is None:
            continue
        rows = slice(life[0], life[1] + 1)
        booked.append(_bookings(values[rows], counts))
        life_steps.append(_fill(buf[i], slot[rows], values[rows], hold_steps, counts))
        kept.append(i)
    if not kept:
        raise TraceFormatError(folder, "no VM is ever provisioned (every row has 0 cores or 0 memory)")

    arrive, depart = np.array(life_steps, dtype=np.int32).T
    counts["vms_arrive_late"] = int(np.count_nonzero(arrive > 0))
    counts["vms_arrive_after_24h"] = int(np.count_nonzero(arrive > round(DAY_S / step_s)))
    counts["vms_depart_early"] = int(np.count_nonzero(depart < n_steps))
    counts["longest_sample_gap_s"] = int(round(max(vm.longest_gap_s for vm in vms)))
    book = np.array(booked, dtype=np.float64)
    sel = slice(None) if len(kept) == len(vms) else np.array(kept)
    demand = [np.ascontiguousarray(buf[sel, k].T) for k in range(len(DEMAND_COLUMNS))]
    del buf
    return Trace(
        name=name,
        step_s=float(step_s),
        start_epoch_s=t0,
        vm_ids=np.array([vms[i].vm_id for i in kept], dtype=str),
        cpu=demand[0],
        ram_mb=demand[1] / np.float32(KB_PER_MB),
        cores=book[:, 0].astype(np.int32),
        cpu_booked_mhz=book[:, 1].astype(np.float32),
        ram_booked_mb=(book[:, 2] / KB_PER_MB).astype(np.float32),
        arrive_step=np.ascontiguousarray(arrive),
        depart_step=np.ascontiguousarray(depart),
        cpu_unit="mhz",
        extra=dict(zip(EXTRA_COLUMNS, demand[2:], strict=True)),
        quirks={k: int(v) for k, v in sorted(counts.items())},
        provenance=dict(provenance),
    )
