"""OpenDC's workload format: a folder with ``tasks.parquet`` and ``fragments.parquet`` (format ``opendc``).

Format (OpenDC's documentation, "Workload"): ``tasks.parquet`` has one row per task (a VM): ``id``,
``submission_time`` (ms since the Unix epoch, int64 or a Parquet timestamp), ``duration`` (ms),
``cpu_count`` (cores), ``cpu_capacity`` (MHz, all cores together), ``mem_capacity`` (MB). Other columns
(``nature``, ``deadline``...) are ignored. ``fragments.parquet`` gives each task's CPU demand over its life:
``id`` (the task), ``duration`` (ms), ``cpu_usage`` (MHz); a task's fragments follow one another from its
submission, in file order. Tasks are VMs: booked cores, MHz and MB from the task, CPU demand in MHz from the
fragments, no RAM series (the engine uses the booking).

The grid. Step 0 starts at the first submission rounded down to a multiple of ``step_s`` since the epoch
(or at the window's start, rounded down likewise). VMs are in arrival order (submission time, then file
order), so ``max_vms`` takes the first VMs to arrive.

- Lifetime: a task lives [submission, submission + duration). It arrives at the step holding its submission
  (``floor``) and departs after the step holding its end (``ceil``): partial first and last steps are whole
  steps of its life, and its booking holds for them [``partial_first_steps``, ``partial_last_steps``].
- Demand: the value of a step is the **time-weighted mean of the fragments covering it over the whole
  step**: (integral of cpu_usage over the step's part of the task's life) / step_s. Inside the life the
  integral of CPU over time is exact; in a partial first or last step the task's work is spread over the
  whole step (the level reads lower, the integral stays exact). Fragments merged into one step
  [``steps_merging_fragments``: (VM, step) cells fed by two or more fragments] and fragments cut at a step
  boundary [``fragments_split_at_steps``] are counted. With 30 s fragments on a 300 s grid, ten fragments
  make one step; choose ``step_s = 30`` to keep them apart.

Repairs, each counted in ``trace.quirks`` under the name in brackets:

1. Tasks with a zero duration are dropped [``tasks_zero_duration``].
2. Fragments of an id that is not a task are dropped [``fragments_of_unknown_tasks``]. A task whose
   fragments are split into several runs in the file keeps them in file order [``tasks_split_fragment_runs``].
3. Fragments that start at or after their task's end are dropped [``fragments_past_task_end``]; one that
   runs past it is cut there [``fragments_clipped``, ``clipped_fragment_s``].
4. A task whose fragments end before its duration has zero demand for the rest of its life
   [``tasks_fragments_short``, ``uncovered_s``]; a task without fragments has zero demand
   [``tasks_without_fragments``].
5. Usage above the task's capacity is kept as read (the engine caps) [``fragments_above_capacity``];
   zero-length fragments carry no work [``fragments_zero_duration``]. Memory above 4 TiB per task is kept
   but counted [``tasks_mem_above_4tib``]: OpenDC's ``bitbrains-small`` gives ``mem_capacity`` in KB
   although the format says MB.
6. Selection: [``vms_outside_window``], [``vms_clipped_by_window``], [``vms_beyond_max_vms``];
   ``tasks_read``, ``fragments_read``.

Errors (:class:`~kumo.errors.TraceFormatError`, naming the file, the 1-based Parquet row and the column):
a missing file or column, a file that is not Parquet (or is truncated), missing (null or NaN), infinite or
negative values, values above their limit (times above :data:`~kumo.traces.base.MAX_TIME_S` s in ms, cores
above :data:`~kumo.traces.base.MAX_CORES`, the others above :data:`~kumo.traces.base.MAX_VALUE`), a zero
``cpu_capacity`` or ``mem_capacity``, fractional cores, a duplicate task id, no tasks, and a grid above ``max_cells``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from kumo.errors import TraceFormatError
from kumo.traces._select import (
    MAX_CELLS,
    Window,
    check_cells,
    check_step,
    column_error,
    parse_window,
    select_vms,
)
from kumo.traces.base import MAX_CORES, MAX_TIME_S, MAX_VALUE, Trace, reader

TASKS, FRAGMENTS = "tasks.parquet", "fragments.parquet"
TASK_COLUMNS = ("id", "submission_time", "duration", "cpu_count", "cpu_capacity", "mem_capacity")
FRAGMENT_COLUMNS = ("id", "duration", "cpu_usage")
STEP_S = 300.0
QUIRKS = (
    "tasks_read", "fragments_read", "tasks_zero_duration", "fragments_of_unknown_tasks", "tasks_split_fragment_runs",
    "fragments_past_task_end", "fragments_clipped", "clipped_fragment_s", "tasks_fragments_short", "uncovered_s",
    "tasks_without_fragments", "fragments_above_capacity", "fragments_zero_duration", "vms_outside_window",
    "vms_clipped_by_window", "vms_beyond_max_vms", "partial_first_steps", "partial_last_steps",
    "steps_merging_fragments", "fragments_split_at_steps", "tasks_mem_above_4tib",
)  # fmt: skip
MEM_PLAUSIBLE_MB = 4 * 2**20
#: grid cells computed at once (a block of VMs): bounds the memory of the gridding
CELL_BLOCK = 1 << 18
#: fragments handled at once in the first pass over them
FRAGMENT_BLOCK = 1 << 18


def is_opendc_folder(folder: Path) -> bool:
    """Whether ``folder`` holds OpenDC's two workload files."""
    return (folder / TASKS).is_file() and (folder / FRAGMENTS).is_file()


def _read_parquet(path: Path, columns: tuple[str, ...]) -> dict[str, Any]:
    """The ``columns`` of a Parquet file as numpy arrays (ids as they are; timestamps as int64 ms)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if not path.is_file():
        raise TraceFormatError(path, f"missing: an OpenDC workload folder holds {TASKS} and {FRAGMENTS}")
    try:
        schema = pq.read_schema(path)
        missing = [c for c in columns if c not in schema.names]
        if missing:
            raise TraceFormatError(path, f"missing column(s): {', '.join(missing)}", field=missing[0])
        table = pq.read_table(path, columns=list(columns))
        table.validate(full=True)  # text that is not UTF-8 fails here, not later in a conversion
    except TraceFormatError:
        raise
    except (OSError, ValueError, pa.ArrowException) as exc:  # ValueError: a damaged name that is not UTF-8
        raise TraceFormatError(path, f"cannot read as Parquet (truncated or not Parquet?): {exc}") from None
    out: dict[str, Any] = {}
    for name in columns:
        col = table.column(name)
        nan_id = name == "id" and pa.types.is_floating(col.type) and pc.any(pc.is_nan(col)).as_py()
        if col.null_count or nan_id:  # a NaN id is no id (NaN numbers are refused below, by column_error)
            row = int(np.flatnonzero(pc.is_null(col, nan_is_null=True).to_numpy(zero_copy_only=False))[0])
            raise TraceFormatError(path, f"row {row + 1}: missing value", field=name)
        if pa.types.is_timestamp(col.type):
            col = col.cast(pa.timestamp("ms")).cast(pa.int64())
        if name == "id":
            out[name] = col.to_numpy(zero_copy_only=False)
            continue
        if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
            raise TraceFormatError(path, f"must be numeric, found type {col.type}", field=name)
        out[name] = col.to_numpy(zero_copy_only=False)
    del table, col
    pa.default_memory_pool().release_unused()  # the columns are numpy copies now: give Arrow's cache back
    return out


def _task_order(ids: np.ndarray, frag_ids: np.ndarray) -> np.ndarray:
    """Index of each fragment's task in ``ids`` (-1: no such task); ids compared as text if types differ."""
    import pandas as pd

    if ids.dtype.kind != frag_ids.dtype.kind:
        ids, frag_ids = ids.astype(str), frag_ids.astype(str)
    return np.asarray(pd.Index(ids).get_indexer(frag_ids), dtype=np.int64)


def _is_sorted(key: np.ndarray) -> bool:
    return len(key) < 2 or bool((key[1:] >= key[:-1]).all())


def _stable_order(idx: np.ndarray, key: np.ndarray) -> np.ndarray:
    """``idx`` in the stable order of ``key`` (a file already in that order is not sorted again)."""
    return idx if _is_sorted(key) else idx[np.argsort(key, kind="stable")]


@reader
def read_opendc(
    path: str | Path,
    *,
    step_s: float = STEP_S,
    name: str | None = None,
    window: str | Window | None = None,
    max_vms: int | None = None,
    max_cells: int = MAX_CELLS,
) -> Trace:
    """Read an OpenDC workload folder (``tasks.parquet`` + ``fragments.parquet``) onto a step grid.

    Parameters
    ----------
    path : the folder.
    step_s : grid step in seconds (a whole number of ms); each step's value is the time-weighted mean of the
        fragments covering it (this module's docstring).
    name : trace label; the folder name by default.
    window : only this part of time, ``"START:END"`` (hours, or with a unit s/m/h/d: ``"1d:3d"``) or
        ``(start_s, end_s)``, from the first submission; lifetimes are clipped to it.
    max_vms : keep the first N tasks to arrive (in the window).
    max_cells : refuse grids of more steps x VMs than this.

    Returns
    -------
    Trace
        ``cpu`` (n_steps, n_vms) MHz, no RAM series, bookings from the tasks, arrivals and departures on the
        grid, and the count of every rule of this module in ``quirks``.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise TraceFormatError(folder, "not a folder (an OpenDC workload is a folder with tasks.parquet and "
                                       "fragments.parquet)")
    step = check_step(folder, step_s)
    step_ms = step * 1000.0
    if step_ms != round(step_ms):
        raise TraceFormatError(folder, f"step_s must be a whole number of ms, got {step_s!r}", field="step_s")
    try:
        win = parse_window(window)
    except ValueError as exc:
        raise TraceFormatError(folder, str(exc), field="window") from None
    tasks_path, frags_path = folder / TASKS, folder / FRAGMENTS
    t = _read_parquet(tasks_path, TASK_COLUMNS)
    f = _read_parquet(frags_path, FRAGMENT_COLUMNS)
    n_tasks = len(t["id"])
    if n_tasks == 0:
        raise TraceFormatError(tasks_path, "no tasks")
    max_ms = MAX_TIME_S * 1000.0
    for col, integer, positive, limit in (("submission_time", True, False, max_ms), ("duration", True, False, max_ms),
                                          ("cpu_count", True, False, MAX_CORES),
                                          ("cpu_capacity", False, True, MAX_VALUE),
                                          ("mem_capacity", False, True, MAX_VALUE)):
        column_error(tasks_path, t[col], col, integer=integer, allow_zero=not positive, limit=limit)
    column_error(frags_path, f["duration"], "duration", integer=True, limit=max_ms)
    column_error(frags_path, f["cpu_usage"], "cpu_usage", limit=MAX_VALUE)
    import pandas as pd

    dup = np.flatnonzero(pd.Index(t["id"]).duplicated())
    if dup.size:
        first = t["id"][dup[0]]
        first = first.item() if isinstance(first, np.generic) else first
        raise TraceFormatError(tasks_path, f"row {dup[0] + 1}: task id {first!r} appears twice", field="id")
    counts: Counter[str] = Counter(dict.fromkeys(QUIRKS, 0))
    counts["tasks_read"], counts["fragments_read"] = n_tasks, len(f["id"])
    counts["tasks_mem_above_4tib"] = int(np.count_nonzero(t["mem_capacity"] > MEM_PLAUSIBLE_MB))

    # times in ms from the grid origin: the first submission, rounded down to a multiple of the step
    sub = t["submission_time"].astype(np.int64)
    origin_ms = int(np.floor(sub.min() / step_ms) * step_ms)
    s_rel = sub - origin_ms
    e_rel = s_rel + t["duration"].astype(np.int64)
    nonzero = e_rel > s_rel
    counts["tasks_zero_duration"] = int(np.count_nonzero(~nonzero))
    w0 = 0 if win is None else int(np.floor(win[0] * 1000 / step_ms) * step_ms)
    w1 = None if win is None or win[1] is None else int(round(win[1] * 1000))
    sel = select_vms(s_rel, e_rel, None if win is None else (w0, w1), max_vms, counts, keep=nonzero)
    if not len(sel):
        raise TraceFormatError(folder, "no task left (all of zero duration, outside the window or max_vms = 0)")
    lo_task = np.maximum(s_rel[sel], w0) - w0
    hi_task = (e_rel[sel] if w1 is None else np.minimum(e_rel[sel], w1)) - w0
    clipped = s_rel[sel] < w0
    if w1 is not None:
        clipped |= e_rel[sel] > w1
    counts["vms_clipped_by_window"] = int(np.count_nonzero(clipped))
    arrive = np.floor(lo_task / step_ms).astype(np.int64)
    depart = np.ceil(hi_task / step_ms).astype(np.int64)
    counts["partial_first_steps"] = int(np.count_nonzero(lo_task % step_ms != 0))
    counts["partial_last_steps"] = int(np.count_nonzero(hi_task % step_ms != 0))
    n_steps = int(np.ceil((w1 - w0) / step_ms)) if w1 is not None else int(depart.max())
    depart = np.minimum(depart, n_steps)
    n = len(sel)
    check_cells(folder, n_steps, n, step, max_cells)

    cpu = _fragments_to_grid(f, t, sel, s_rel, e_rel, w0, lo_task, hi_task, arrive, depart, n_steps, step_ms,
                             counts, frags_path)
    ids = t["id"][sel]
    return Trace(
        name=name or folder.name,
        step_s=step,
        start_epoch_s=(origin_ms + w0) / 1000.0,
        vm_ids=np.array([str(x) for x in ids.tolist()], dtype=str),
        cpu=cpu,
        ram_mb=None,
        cores=t["cpu_count"][sel].astype(np.int32),
        cpu_booked_mhz=t["cpu_capacity"][sel].astype(np.float32),
        ram_booked_mb=t["mem_capacity"][sel].astype(np.float32),
        arrive_step=arrive.astype(np.int32),
        depart_step=depart.astype(np.int32),
        cpu_unit="mhz",
        quirks={k: int(v) for k, v in sorted(counts.items())},
        provenance={"format": "opendc", "source": str(folder), "tasks": str(n_tasks), "step_s": f"{step:g}"},
    )


def _cells(out: np.ndarray, frags: tuple[np.ndarray, ...], v0: int, v1: int, arrive: np.ndarray,
           depart: np.ndarray, lo_task: np.ndarray, hi_task: np.ndarray, span: int, amin: int,
           step_ms: float) -> int:
    """Fill the cells of VMs ``v0:v1`` in ``out`` (each the integral of its fragments over the step / step);
    returns how many of them merge two or more fragments.

    ``frags``: the VMs' kept fragments (:func:`_vm_fragments`): key (VM index, start), VM, start ``a``,
    clipped length ``d``, usage ``u``, work ``before`` each fragment in its VM. A cell's value is the
    integral of CPU*ms from the VM's start to the cell's end minus that to its start; a cell's end is the
    next cell's start, so the integral is taken once per boundary (lens + 1 per VM)."""
    lens = depart[v0:v1] - arrive[v0:v1]
    n_pts = lens + 1
    vm = np.repeat(np.arange(v0, v1), n_pts)
    step = arrive[vm] + (np.arange(int(n_pts.sum())) - np.repeat(np.cumsum(n_pts) - n_pts, n_pts))
    # the VM's first boundary is its start, the last its end, the others whole steps
    t = np.minimum(np.maximum(step * step_ms, lo_task[vm]), hi_task[vm]).astype(np.int64)
    key = vm * span + (t - amin)
    key_start, fv, a, d, u, before = frags
    if len(key_start):
        # CPU*ms of the VM from its start to t: the work before the fragment holding t, and its part up to t
        j = np.searchsorted(key_start, key, side="right") - 1
        jj = np.maximum(j, 0)
        ok = (j >= 0) & (fv[jj] == vm)
        part = u[jj] * np.clip(t - a[jj], 0, d[jj])
        integral = np.where(ok, before[jj] + part, 0.0)
        j_end = np.searchsorted(key_start, key, side="left") - 1  # the last fragment starting before t
    else:  # no fragment of these VMs: no work anywhere
        j = j_end = np.full(len(key), -1, np.int64)
        integral = np.zeros(len(key))
    cell_lo = np.flatnonzero(np.r_[vm[1:] == vm[:-1], False])  # every boundary but a VM's last
    cell_hi = cell_lo + 1
    work_cell = integral[cell_hi] - integral[cell_lo]
    # fragments feeding a cell: from the one holding its start (or the VM's first) to the last starting before
    # its end
    j_first = np.searchsorted(key_start, np.arange(v0, v1) * span, side="left")
    j_lo = np.maximum(j[cell_lo], np.repeat(j_first, lens))
    # the block's cells VM-major in a buffer (sequential writes), then into the time-major grid at once
    n_steps = out.shape[0]
    buf = np.zeros((v1 - v0, n_steps), np.float32)
    buf.reshape(-1)[(vm[cell_lo] - v0) * n_steps + step[cell_lo]] = work_cell / step_ms
    out[:, v0:v1] = buf.T
    return int(np.count_nonzero(j_end[cell_hi] - j_lo >= 1))


def _starts(ft: np.ndarray, d: np.ndarray, u: np.ndarray, s_rel: np.ndarray, e_rel: np.ndarray,
            cap: np.ndarray, vm_of_task: np.ndarray, w0: int, step_ms: float,
            counts: Counter[str]) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Start (ms from the grid origin) and clipped length of each fragment (``ft``: their tasks, sorted), a
    block at a time; counts rules 3 and 5 and ``fragments_split_at_steps``. Also the extremes of the kept
    fragments (of a selected task, starting before its end): the least start - ``w0`` (at most 0) and the
    greatest end - ``w0`` (at least 0)."""
    n = len(ft)
    a, dc = np.empty(n, np.int64), np.empty(n, np.int64)
    total = 0  # work before the block: the sum of d
    base_val = 0  # the exclusive sum of d at the first fragment of the block's first task
    prev = -1  # the task of the fragment before the block
    amin, amax = 0, 0
    zero = above = past_n = cut_n = clipped = split = 0
    for i in range(0, n, FRAGMENT_BLOCK):
        j = min(i + FRAGMENT_BLOCK, n)
        fb, db = ft[i:j], d[i:j]
        cs = np.cumsum(db)
        excl = cs - db + total  # sum of d before each fragment, over the whole file
        first = np.empty(j - i, bool)
        first[0] = fb[0] != prev
        np.not_equal(fb[1:], fb[:-1], out=first[1:])
        base = np.maximum.accumulate(np.where(first, np.arange(j - i), -1))
        start_val = np.where(base >= 0, excl[np.maximum(base, 0)], base_val)
        ab = s_rel[fb] + (excl - start_val)  # its task's submission + the fragments before it in the task
        end = e_rel[fb]
        past = ab >= end
        cut = ~past & (ab + db > end)
        past_n += int(np.count_nonzero(past))
        cut_n += int(np.count_nonzero(cut))
        clipped += int((ab + db - end)[cut].sum())
        dcb = np.where(past, 0, np.minimum(db, end - ab))
        a[i:j], dc[i:j] = ab, dcb
        zero += int(np.count_nonzero(db == 0))
        above += int(np.count_nonzero(u[i:j] > cap[fb]))
        wanted = (vm_of_task[fb] >= 0) & ~past
        if wanted.any():
            aw, dw = ab[wanted] - w0, dcb[wanted]
            amin = min(amin, int(aw.min()))
            amax = max(amax, int((aw + dw).max()))
            split += int(np.count_nonzero((dw > 0) & (np.floor(aw / step_ms) != np.floor((aw + dw - 1) / step_ms))))
        base_val = int(start_val[-1])
        total = int(excl[-1] + db[-1])
        prev = int(fb[-1])
    counts["fragments_zero_duration"] = zero
    counts["fragments_above_capacity"] = above
    counts["fragments_past_task_end"] = past_n
    counts["fragments_clipped"] = cut_n
    counts["clipped_fragment_s"] = int(round(float(clipped) / 1000))
    counts["fragments_split_at_steps"] = split
    return a, dc, amin, amax


def _vm_fragments(v0: int, v1: int, first: np.ndarray, last: np.ndarray, a: np.ndarray, dc: np.ndarray,
                  u: np.ndarray, end: np.ndarray, w0: int, amin: int, span: int,
                  wsum: float | None) -> tuple[tuple[np.ndarray, ...], float | None]:
    """The kept fragments of VMs ``v0:v1`` (those starting before their task's end), VM after VM, each VM's
    in time order, as the arrays of :func:`_integral`; and the running sum of work after them (``wsum``:
    before them, None at the first kept fragment: the float sums are those of one pass over all VMs)."""
    lens = last[v0:v1] - first[v0:v1]
    idx = np.repeat(first[v0:v1] - (np.cumsum(lens) - lens), lens) + np.arange(int(lens.sum()))
    fv = np.repeat(np.arange(v0, v1), lens)
    ab, dcb, ub = a[idx], dc[idx], u[idx]
    keep = ab < end[fv]
    if not keep.all():
        fv, ab, dcb, ub = fv[keep], ab[keep], dcb[keep], ub[keep]
    if w0:
        ab = ab - w0
    work = ub * dcb
    if not len(fv):
        return (np.zeros(0, np.int64), fv, ab, dcb, ub, np.zeros(0)), wsum
    if wsum is None:
        ws = np.cumsum(work)
    else:
        ws = np.cumsum(np.r_[wsum, work])[1:]
    kfirst = np.r_[True, fv[1:] != fv[:-1]]
    kbase = np.maximum.accumulate(np.where(kfirst, np.arange(len(fv)), 0))
    before = ws - work - (ws[kbase] - work[kbase])
    key_start = fv * span + (ab - amin)
    return (key_start, fv, ab, dcb, ub, before), float(ws[-1])


def _fragments_to_grid(f: dict[str, Any], t: dict[str, Any], sel: np.ndarray, s_rel: np.ndarray,
                       e_rel: np.ndarray, w0: int, lo_task: np.ndarray, hi_task: np.ndarray, arrive: np.ndarray,
                       depart: np.ndarray, n_steps: int, step_ms: float, counts: Counter[str],
                       frags_path: Path) -> np.ndarray:
    """(n_steps, n_vms) float32 MHz: each step's integral of the fragments over the step / step (rules 2-5)."""
    n_tasks = len(t["id"])
    task = _task_order(t["id"], f.pop("id"))  # the caller's columns are let go once used: large workloads
    known = task >= 0
    counts["fragments_of_unknown_tasks"] = int(np.count_nonzero(~known))
    runs = np.flatnonzero(np.r_[True, task[1:] != task[:-1]])
    run_tasks = task[runs]
    run_tasks = run_tasks[run_tasks >= 0]
    counts["tasks_split_fragment_runs"] = int(np.count_nonzero(np.bincount(run_tasks, minlength=n_tasks) > 1))
    duration, usage = f.pop("duration"), f.pop("cpu_usage")
    if known.all() and _is_sorted(task):  # the usual file: every fragment's task known, task after task
        ft, d, u = task, duration, usage
    else:
        order = np.flatnonzero(known)
        order = _stable_order(order, task[order])
        ft, d, u = task[order], duration[order], usage[order]
        del order
    del task, known, duration, usage
    d = d.astype(np.int64, copy=False)
    u = u.astype(np.float64, copy=False)
    vm_of_task = np.full(n_tasks, -1, np.int64)
    vm_of_task[sel] = np.arange(len(sel))
    # pass 1, in file (task) order a block of fragments at a time (block-long temporaries stay in cache and
    # reuse their pages; integer running sums carried across blocks): each fragment's start ``a`` and clipped
    # length ``dc``, and the counts of rules 3-5
    a, dc, amin, amax = _starts(ft, d, u, s_rel, e_rel, t["cpu_capacity"], vm_of_task, w0, step_ms, counts)
    # whole ms below 2**53: float sums are exact
    covered = np.bincount(ft, weights=dc, minlength=n_tasks).astype(np.int64)
    length = e_rel - s_rel
    bounds = np.searchsorted(ft, np.arange(n_tasks + 1))  # ft is sorted: task i's fragments are bounds[i]:bounds[i+1]
    has = bounds[1:] > bounds[:-1]
    counts["tasks_without_fragments"] = int(np.count_nonzero(~has & (length > 0)))
    short = has & (covered < length)
    counts["tasks_fragments_short"] = int(np.count_nonzero(short))
    counts["uncovered_s"] = int(round(float((length - covered)[short].sum()) / 1000))
    del ft
    span = int(max(amax, int(hi_task.max()))) - amin + 1

    # every (VM, step) cell of the selected lifetimes, a block of VMs at a time (a cell's arrays are as long
    # as the block, not the grid)
    out = np.zeros((n_steps, len(sel)), dtype=np.float32)
    ends = np.cumsum(depart - arrive)
    first, last = bounds[sel], bounds[sel + 1]  # each VM's fragments (past ones too), in VM order
    del bounds
    end = e_rel[sel]
    wsum = None  # the running sum of the kept fragments' work, in VM order, across blocks
    v0 = 0
    while v0 < len(sel):
        done = int(ends[v0 - 1]) if v0 else 0
        v1 = max(int(np.searchsorted(ends, done + CELL_BLOCK, side="right")), v0 + 1)
        frags, wsum = _vm_fragments(v0, v1, first, last, a, dc, u, end, w0, amin, span, wsum)
        counts["steps_merging_fragments"] += _cells(out, frags, v0, v1, arrive, depart, lo_task, hi_task, span,
                                                    amin, step_ms)
        v0 = v1
    if not np.isfinite(out).all():  # pragma: no cover - inputs are checked finite above
        raise TraceFormatError(frags_path, "non-finite demand after gridding")
    return out
