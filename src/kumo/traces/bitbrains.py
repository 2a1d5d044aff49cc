"""Bitbrains GWA-T-12 reader (fastStorage and Rnd subsets of the Grid Workloads Archive).

Format: a folder of per-VM files ``N.csv`` or ``N.csv.gz``; a header line, then one line per sample with
eleven fields separated by ``;`` plus a tab: ``Timestamp [ms]; CPU cores; CPU capacity provisioned [MHZ];
CPU usage [MHZ]; CPU usage [%]; Memory capacity provisioned [KB]; Memory usage [KB]; Disk read throughput
[KB/s]; Disk write throughput [KB/s]; Network received throughput [KB/s]; Network transmitted throughput
[KB/s]``. VM order is the numeric file name (1, 2, ..., 500); the VM id is the file stem.

Output: CPU demand in MHz (``CPU usage [MHZ]``), RAM demand in MB (``Memory usage [KB]`` / 1024), the four
throughput columns as ``extra`` (KB/s), booked size per VM = maximum over its lifetime of cores,
provisioned MHz and provisioned memory (KB / 1024 -> MB).

Repair rules. Each is applied in this order and counted in ``trace.quirks`` under the name in brackets.

1. Time unit. The header says milliseconds but the Rnd and fastStorage values are Unix seconds. A file
   whose timestamps are all < 1e11 is read as seconds [``timestamps_seconds_under_ms_header``, files]; a
   file whose timestamps are all >= 1e11 is read as milliseconds and divided by 1000
   [``timestamps_ms_converted``, files]; a file mixing both is an error.
2. Timestamps must not decrease within a file (error otherwise). Rows sharing a timestamp are collapsed,
   keeping the last row of the run [``duplicate_timestamp_rows``, rows dropped].
3. Jitter. Samples come every 300 s give or take a second (299 s, 301 s), some files sample faster than
   the step [``off_step_intervals``: intervals between distinct timestamps that are not a whole number of
   steps]. Every timestamp is snapped to the common grid ``slot = floor((t - t0) / step + 1/2)``, where
   ``t0`` is the earliest first timestamp over all VMs and ``step = 300 s`` (``t0`` becomes
   ``start_epoch_s``). Rows of one VM that land in the same slot: the last one is kept
   [``same_slot_rows_dropped``].
4. Lifetime. A row is *provisioned* when it has > 0 cores and > 0 provisioned memory
   [``unprovisioned_rows`` as read, in ``vms_with_unprovisioned_rows`` files; ``unprovisioned_rows_with_usage``
   of them report non-zero CPU, memory, disk or network usage]. The VM arrives at the slot of its first
   provisioned row and departs one past the slot of its last one [``vms_arrive_late``,
   ``vms_depart_early``, ``vms_arrive_after_24h``; ``vms_first_row_after_24h`` counts files whose first
   row, provisioned or not, is more than 24 h after ``t0``]. Unprovisioned slots before the arrival or
   after the departure are not part of the trace [``unprovisioned_edge_slots``]. Unprovisioned slots
   inside the lifetime keep their usage values and hold the previous booking
   [``unprovisioned_inside_slots``]. A file with no provisioned row is dropped [``vms_never_provisioned``].
5. Gaps. A slot inside the lifetime with no row holds the values of the last row for up to ``hold_steps``
   slots (12 = 1 h); further slots of the same gap have zero demand, the VM stays alive
   [``gaps`` (runs of empty slots), ``gap_slots_held``, ``gap_slots_zeroed``]. Gaps between samples as read
   are also reported: [``sample_gaps_over_2_steps``, ``vms_with_sample_gap_over_2_steps``,
   ``longest_sample_gap_s``].
6. Bookings. Bookings may change during a lifetime [``booking_changes``: slot-to-slot changes of the
   (cores, MHz, memory) triple, ``vms_booking_changed``, ``vms_cores_changed``, ``vms_cpu_booked_changed``,
   ``vms_ram_booked_changed``]; values within 1e-6 of each other (relative) are the same booking, as
   the provisioned-MHz column carries noise of about 1e-7. The trace keeps the maximum.
7. Usage above the booking is kept as read: the engine caps, the reader does not
   [``cpu_usage_above_booked``, ``ram_usage_above_booked``: rows as read, before any rule].

Errors (:class:`~kumo.errors.TraceFormatError`, naming file, 1-based line including the header, and
column): NaN, infinite, empty, non-numeric or negative values, values above their limit (timestamps above
:data:`~kumo.traces.base.MAX_TIME_S` s, cores above :data:`~kumo.traces.base.MAX_CORES`, the others above
:data:`~kumo.traces.base.MAX_VALUE`), a wrong number of fields, missing, extra or misordered header columns, fractional core counts, decreasing timestamps, a file without data rows, a
truncated gzip file, an empty folder, and a folder where no VM is ever provisioned.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from kumo.errors import TraceFormatError
from kumo.traces._gwa import (
    VALUE_COLUMNS,
    VmRows,
    assemble,
    check_header,
    find_bad_line,
    prepare_vm,
    value_limits,
    vm_files,
)
from kumo.traces._textio import NUMBER_RE, READ_ERRORS, data_line_number, head_lines, is_gzip
from kumo.traces.base import MAX_TIME_S, Trace, reader

STEP_S = 300.0
HOLD_STEPS = 12
#: timestamps at or above this are milliseconds (1e11 s is the year 5138; 1e11 ms is 1973)
MS_THRESHOLD = 1e11
#: the largest timestamp as written (in ms; seconds are below MS_THRESHOLD anyway)
MAX_TIME_MS = MAX_TIME_S * 1000.0
_N_FIELDS = 1 + len(VALUE_COLUMNS)


def _parse_number(col: int, text: str) -> float:
    if not NUMBER_RE.match(text):
        raise ValueError(f"not a number: {text!r}")
    return float(text)


def read_table(path: Path) -> np.ndarray:
    """All data rows of one Bitbrains file as (n, 11) float64, finite and >= 0, or a located error."""
    header = head_lines(path, 1)
    if not header:
        raise TraceFormatError(path, "empty file, expected a header line", line=1)
    check_header(path, header[0].split(";"))
    try:
        frame = pd.read_csv(
            path,
            sep=";",
            header=None,
            skiprows=1,
            names=list(range(_N_FIELDS)),
            dtype=np.float64,
            engine="c",
            compression="gzip" if is_gzip(path) else None,
        )
    except pd.errors.EmptyDataError:
        raise TraceFormatError(path, "no data rows after the header") from None
    except READ_ERRORS as exc:  # a gzip stream that ends early or is corrupt, or an unreadable file
        raise TraceFormatError(path, f"the file ends early or is corrupt ({exc}): truncated gzip?") from None
    except (ValueError, pd.errors.ParserError) as exc:
        raise find_bad_line(path, lambda s: s.split(";"), _parse_number, MAX_TIME_MS) or TraceFormatError(
            path, f"cannot parse: {exc}"
        ) from None
    table = frame.to_numpy()
    bad = ~np.isfinite(table) | (table < 0) | (table > value_limits(MAX_TIME_MS))
    if bad.any():
        err = find_bad_line(path, lambda s: s.split(";"), _parse_number, MAX_TIME_MS)
        if err is None:
            row, col = map(int, np.argwhere(bad)[0])
            err = TraceFormatError(
                path,
                "missing, NaN, negative or too large value",
                data_line_number(path, row),
                ("Timestamp", *VALUE_COLUMNS)[col],
            )
        raise err
    return table


def to_seconds(path: Path, t: np.ndarray, counts: Counter[str]) -> np.ndarray:
    """Apply rule 1 (time unit) to one file's timestamps."""
    is_ms = t >= MS_THRESHOLD
    if is_ms.all():
        counts["timestamps_ms_converted"] += 1
        return t / 1000.0
    if is_ms.any():
        row = int(np.flatnonzero(is_ms != is_ms[0])[0])
        raise TraceFormatError(
            path,
            "timestamps mix seconds and milliseconds",
            line=data_line_number(path, row),
            field="Timestamp",
        )
    counts["timestamps_seconds_under_ms_header"] += 1
    return t


@reader
def read_bitbrains(
    path: str | Path, *, name: str | None = None, step_s: float = STEP_S, hold_steps: int = HOLD_STEPS
) -> Trace:
    """Read a Bitbrains GWA-T-12 folder (one file per VM) into a :class:`~kumo.traces.base.Trace`.

    Parameters
    ----------
    path : folder of ``N.csv`` / ``N.csv.gz`` files.
    name : trace label; the folder name by default.
    step_s : grid step in seconds.
    hold_steps : how many empty slots of a gap hold the last sample before demand drops to zero.

    Returns
    -------
    Trace
        ``cpu`` (n_steps, n_vms) MHz, ``ram_mb`` (n_steps, n_vms) MB, extras in KB/s, bookings per VM, and
        the counts of every repair rule of this module in ``quirks``.
    """
    folder = Path(path)
    counts: Counter[str] = Counter(timestamps_ms_converted=0, timestamps_seconds_under_ms_header=0)
    vms: list[VmRows] = []
    for vm_id, file in vm_files(folder):
        table = read_table(file)
        t_s = to_seconds(file, table[:, 0], counts)
        vms.append(prepare_vm(vm_id, file, t_s, table[:, 1:], step_s))
    counts["files_read"] = len(vms)
    return assemble(
        vms,
        folder=folder,
        name=name or folder.name,
        step_s=step_s,
        hold_steps=hold_steps,
        provenance={"format": "bitbrains", "source": str(folder), "files": str(len(vms))},
        quirks=counts,
    )
