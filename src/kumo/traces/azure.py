"""Azure Public Dataset VM traces, V1 (2017) and V2 (2019) (format ``azure``), read as a stream.

Format (the dataset's AzurePublicDatasetV1.md / V2.md): a folder with ``vmtable.csv(.gz)`` and
``vm_cpu_readings-file-<i>-of-<n>.csv(.gz)``, comma-separated, no header.

- vmtable, one line per VM: vm id, subscription id, deployment id, created (s from the trace's start),
  deleted (s), max CPU %, avg CPU %, p95 of max CPU %, category, core count, memory GB. V1 gives exact
  cores and GB; V2 gives buckets (``2``, ``4``, ``8``, ``24``, ``>24`` cores; ``2`` ... ``64``, ``>64`` GB),
  each read as its number, the open ones (``>24``) as their bound [``open_core_buckets``,
  ``open_memory_buckets``].
- readings, one line per VM and 5 minutes: timestamp (s), vm id, min, max, avg CPU % of the VM's cores.
  Files are read in their number order, each in blocks of about 32 MB (:mod:`kumo.traces._csvstream`),
  keeping only the selected VMs' readings: memory is bounded by the grid, not by the file (the full V2 trace
  has 1.9 billion readings).

Selection, at read time: a time ``window`` (seconds from the trace's start, or ``"START:END"`` in hours or
with units, ``"2d:9d"``), a seeded sample of subscriptions (``sample_subscriptions = 0.1, seed = 1``: each
subscription is kept with that probability, drawn in the sorted order of the subscription ids, so the same
seed keeps the same subscriptions in any file order), then the first ``max_vms`` VMs to arrive. VMs are in
arrival order (created, then vmtable order) [``vms_outside_window``, ``vms_not_sampled``,
``vms_beyond_max_vms``].

Output: booked cores = the core count, ``cpu_booked_mhz`` = cores x ``core_mhz`` (an option, 2600 MHz by
default: the trace gives no clock), booked RAM = GB x 1024 MB, CPU demand in MHz = reading % / 100 x the
booked MHz, no RAM series, ``start_epoch_s`` 0 (the trace's absolute start is not published).

- Lifetime: a VM lives in the 5-minute slots from the one holding ``created`` to the one holding
  ``deleted`` (its last reading's slot), on a grid of ``step_s`` (a multiple of 300 s) that starts at the
  window's start; it arrives at the step holding its first slot and departs after the step holding its last.
- ``cpu = "avg"`` (default) reads the 5-minute average, ``"max"`` the 5-minute maximum, ``"p95"`` the
  5-minute maximum capped at the VM's p95 of maxima (vmtable column 8: its peaks without the 5 % highest).
- A step's value is the time-weighted mean of its 5-minute slots: slots of the VM's life with a reading take
  it (the mean of several readings for the same slot) [``duplicate_readings``]; slots of its life without a
  reading take the VM's vmtable statistic of the same kind (avg, max or p95 of max) with ``fill =
  "vmtable"`` (default), or 0 with ``fill = "zero"`` [``slots_without_reading``, ``vms_without_readings``];
  slots outside its life count 0 (a partial first or last step is diluted, the integral stays exact).
- Readings of VMs not in the vmtable or not selected, outside the window, or outside their VM's life are
  skipped [``readings_not_selected``, ``readings_outside_window``, ``readings_outside_life``]; values above
  100 % are kept [``readings_above_100_percent``]; ``vms_read``, ``readings_read``.

Errors (:class:`~kumo.errors.TraceFormatError`, naming the file, the line and the field): a missing
vmtable or no readings file, a wrong number of fields, missing, non-numeric, NaN or negative values, values
above :data:`~kumo.traces.base.MAX_VALUE` (times above :data:`~kumo.traces.base.MAX_TIME_S`), a core count
or memory of 0 or cores above :data:`~kumo.traces.base.MAX_CORES`,
``deleted`` before ``created``, a duplicate VM id, a gzip stream that ends early, a step that is not a
multiple of 300 s, and a grid above ``max_cells``.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from kumo.errors import TraceFormatError
from kumo.traces import _csvstream as cs
from kumo.traces._select import MAX_CELLS, Window, check_cells, check_step, parse_window, select_vms
from kumo.traces._textio import list_files
from kumo.traces.base import MAX_CORES, MAX_TIME_S, MAX_VALUE, Trace, reader

SLOT_S = 300.0
CORE_MHZ = 2600.0
CPU_STATS = ("avg", "max", "p95")
FILLS = ("vmtable", "zero")
VMTABLE = ("vmid", "subscriptionid", "deploymentid", "vmcreated", "vmdeleted", "maxcpu", "avgcpu", "p95maxcpu",
           "vmcategory", "vmcorecount", "vmmemory")
READINGS = ("timestamp", "vmid", "mincpu", "maxcpu", "avgcpu")
_READING_FILE = re.compile(r"^vm_cpu_readings-file-(\d+)-of-(\d+)\.csv(\.gz)?$", re.IGNORECASE)
_BUCKET = re.compile(r"^>?\s*(\d+(?:\.\d*)?|\.\d+)$")
QUIRKS = (
    "vms_read", "readings_read", "open_core_buckets", "open_memory_buckets", "vms_outside_window", "vms_not_sampled",
    "vms_beyond_max_vms", "duplicate_readings", "slots_without_reading", "vms_without_readings",
    "readings_not_selected", "readings_outside_window", "readings_outside_life", "readings_above_100_percent",
)  # fmt: skip


def azure_files(folder: Path) -> tuple[Path, list[Path]]:
    """The vmtable and the readings files (in their number order) of an Azure trace folder."""
    files = list_files(folder)
    tables = [f for f in files if f.name.lower() in ("vmtable.csv", "vmtable.csv.gz")]
    if not tables:
        raise TraceFormatError(folder, "no vmtable.csv(.gz): not an Azure Public Dataset VM trace folder")
    readings = sorted(((int(m.group(1)), f) for f in files if (m := _READING_FILE.match(f.name))), key=lambda x: x[0])
    if not readings:
        raise TraceFormatError(folder, "no vm_cpu_readings-file-<i>-of-<n>.csv(.gz) files")
    return tables[0], [f for _, f in readings]


def is_azure_folder(folder: Path) -> bool:
    return any(f.name.lower() in ("vmtable.csv", "vmtable.csv.gz") for f in list_files(folder))


def _bucket(path: Path, col: Any, field: str) -> tuple[np.ndarray, int]:
    """Sizes of a core or memory column (numbers, or ``>N`` read as N) and how many were open-ended."""
    cells = col.to_pylist()
    values = np.empty(len(cells))
    for i, c in enumerate(cells):
        m = _BUCKET.match(c.strip()) if c is not None else None
        if m is None:
            raise cs.locate(path, VMTABLE, _VMTABLE_CHECKS) or TraceFormatError(path, f"bad {field}: {c!r}", field=field)
        values[i] = float(m.group(1))
    return values, sum(1 for c in cells if c.strip().startswith(">"))


def _size_check(cell: str) -> str | None:
    return None if _BUCKET.match(cell) else (f"not a size or bucket: {cell!r}" if cell else "missing value")


_VMTABLE_CHECKS = (cs.text, cs.text, cs.text, cs.number, cs.number, cs.number, cs.number, cs.number,
                   lambda c: None, _size_check, _size_check)
_READINGS_CHECKS = (cs.number, cs.text, cs.number, cs.number, cs.number)


def read_vmtable(path: Path) -> dict[str, Any]:
    """The vmtable as arrays: ids and subscriptions (pyarrow string arrays), times and percents (float64),
    cores and GB (float64), open-bucket counts."""
    import pyarrow as pa

    types = {"vmid": pa.string(), "subscriptionid": pa.string(), "vmcreated": pa.float64(),
             "vmdeleted": pa.float64(), "maxcpu": pa.float64(), "avgcpu": pa.float64(), "p95maxcpu": pa.float64(),
             "vmcorecount": pa.string(), "vmmemory": pa.string()}
    parts = [b for _, b in cs.batches(path, VMTABLE, types, _VMTABLE_CHECKS)]
    if not parts or sum(b.num_rows for b in parts) == 0:
        raise TraceFormatError(path, "no VMs (empty vmtable)")
    table = pa.Table.from_batches(parts)
    out: dict[str, Any] = {"vmid": table.column("vmid"), "subscriptionid": table.column("subscriptionid")}
    for name in ("vmcreated", "vmdeleted", "maxcpu", "avgcpu", "p95maxcpu"):
        v = table.column(name).to_numpy()
        limit = MAX_TIME_S if name in ("vmcreated", "vmdeleted") else MAX_VALUE
        bad = np.flatnonzero(~(np.isfinite(v) & (v >= 0) & (v <= limit)))
        if bad.size:
            raise cs.locate(path, VMTABLE, _VMTABLE_CHECKS) or TraceFormatError(
                path, f"NaN, negative or above {limit:g}: {v[bad[0]]:g}", line=int(bad[0]) + 1, field=name)
        out[name] = v
    back = np.flatnonzero(out["vmdeleted"] < out["vmcreated"])
    if back.size:
        raise TraceFormatError(path, f"deleted ({out['vmdeleted'][back[0]]:g} s) before created "
                                     f"({out['vmcreated'][back[0]]:g} s)", line=int(back[0]) + 1, field="vmdeleted")
    out["cores"], out["open_cores"] = _bucket(path, table.column("vmcorecount"), "vmcorecount")
    out["memory_gb"], out["open_memory"] = _bucket(path, table.column("vmmemory"), "vmmemory")
    for key, name, limit in (("cores", "vmcorecount", MAX_CORES), ("memory_gb", "vmmemory", MAX_VALUE / 1024)):
        bad = np.flatnonzero(~((out[key] > 0) & (out[key] <= limit)))
        if bad.size:
            raise TraceFormatError(path, f"a VM size must be > 0 and <= {limit:g}, got {out[key][bad[0]]:g}",
                                   line=int(bad[0]) + 1, field=name)
    return out


def _sample(subs: Any, fraction: float | None, seed: int) -> np.ndarray | None:
    """Which VMs a seeded subscription sample keeps (None: no sampling)."""
    if fraction is None:
        return None
    import pyarrow.compute as pc

    enc = subs.combine_chunks().dictionary_encode()
    rank = np.empty(len(enc.dictionary), np.int64)
    rank[pc.array_sort_indices(enc.dictionary).to_numpy()] = np.arange(len(enc.dictionary))
    pick = np.random.default_rng(np.random.SeedSequence(seed)).random(len(rank)) < fraction
    return pick[rank[enc.indices.to_numpy()]]


@reader
def read_azure(
    path: str | Path,
    *,
    cpu: str = "avg",
    step_s: float = SLOT_S,
    window: str | Window | None = None,
    max_vms: int | None = None,
    sample_subscriptions: float | None = None,
    seed: int = 0,
    fill: str = "vmtable",
    core_mhz: float = CORE_MHZ,
    name: str | None = None,
    max_cells: int = MAX_CELLS,
) -> Trace:
    """Read an Azure Public Dataset VM trace folder (V1 or V2), streaming the readings.

    Parameters
    ----------
    path : folder with ``vmtable.csv.gz`` and ``vm_cpu_readings-file-*-of-*.csv.gz``.
    cpu : ``avg``, ``max`` or ``p95`` (this module's docstring).
    step_s : grid step, a multiple of 300 s.
    window : ``"START:END"`` (hours, or with units s/m/h/d) or ``(start_s, end_s)`` from the trace's start.
    max_vms : keep the first N VMs to arrive (after the window and the sample).
    sample_subscriptions, seed : keep each subscription with this probability (seeded).
    fill : ``vmtable`` or ``zero``: what slots of a VM's life without a reading read.
    core_mhz : MHz of one booked core.
    name : trace label; the folder name by default.
    max_cells : refuse grids of more steps x VMs than this.

    Returns
    -------
    Trace
        ``cpu`` (n_steps, n_vms) MHz, bookings, arrivals and departures, and the counts of this module's
        rules in ``quirks``.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise TraceFormatError(folder, "not a folder (an Azure trace is a folder with vmtable and readings files)")
    step = check_step(folder, step_s)
    if step % SLOT_S:
        raise TraceFormatError(folder, f"step_s must be a multiple of 300 s (the readings' interval), got {step_s:g}",
                               field="step_s")
    for what, value, valid in (("cpu", cpu, CPU_STATS), ("fill", fill, FILLS)):
        if value not in valid:
            raise TraceFormatError(folder, f"{what} must be one of {', '.join(valid)}, got {value!r}", field=what)
    if sample_subscriptions is not None and not 0 < sample_subscriptions <= 1:
        raise TraceFormatError(folder, f"sample_subscriptions must be in (0, 1], got {sample_subscriptions!r}",
                               field="sample_subscriptions")
    if not np.isfinite(core_mhz) or core_mhz <= 0:
        raise TraceFormatError(folder, f"core_mhz must be > 0, got {core_mhz!r}", field="core_mhz")
    try:
        win = parse_window(window)
    except ValueError as exc:
        raise TraceFormatError(folder, str(exc), field="window") from None
    table_path, reading_paths = azure_files(folder)
    vt = read_vmtable(table_path)
    counts: Counter[str] = Counter(dict.fromkeys(QUIRKS, 0))
    counts["vms_read"] = len(vt["vmcreated"])
    counts["open_core_buckets"], counts["open_memory_buckets"] = vt["open_cores"], vt["open_memory"]
    _check_unique_ids(table_path, vt["vmid"])
    life_lo = np.floor(vt["vmcreated"] / SLOT_S) * SLOT_S
    life_hi = np.floor(vt["vmdeleted"] / SLOT_S) * SLOT_S + SLOT_S
    keep = _sample(vt["subscriptionid"], sample_subscriptions, seed)
    if keep is not None:
        counts["vms_not_sampled"] = int(np.count_nonzero(~keep))
    w0 = 0.0 if win is None else float(np.floor(win[0] / step) * step)
    w1 = None if win is None or win[1] is None else float(win[1])
    sel = select_vms(life_lo, life_hi, None if win is None else (w0, w1), max_vms, counts, keep=keep)
    if not len(sel):
        raise TraceFormatError(folder, "no VM left after the window, the subscription sample and max_vms")
    lo = np.maximum(life_lo[sel], w0) - w0
    hi = (life_hi[sel] if w1 is None else np.minimum(life_hi[sel], w1)) - w0
    arrive = np.floor(lo / step).astype(np.int64)
    n_steps = int(np.ceil((w1 - w0) / step)) if w1 is not None else int(np.ceil(hi.max() / step))
    depart = np.minimum(np.ceil(hi / step).astype(np.int64), n_steps)
    check_cells(folder, n_steps, len(sel), step, max_cells)
    stat = {"avg": "avgcpu", "max": "maxcpu", "p95": "p95maxcpu"}[cpu]
    cap = vt["p95maxcpu"][sel] if cpu == "p95" else None
    total, seen = _stream_readings(reading_paths, vt["vmid"].take(sel), cpu, cap, w0, w1, lo, hi, n_steps, step,
                                   counts)
    fill_pct = vt[stat][sel] if fill == "vmtable" else np.zeros(len(sel))
    cores = vt["cores"][sel]
    mhz = cores * float(core_mhz)
    out = _to_mhz(total, seen, lo, hi, step, fill_pct, mhz / 100.0, counts)
    return Trace(
        name=name or folder.name,
        step_s=step,
        start_epoch_s=0.0,
        vm_ids=np.array(vt["vmid"].take(sel).to_pylist(), dtype=str),
        cpu=out,
        ram_mb=None,
        cores=np.rint(cores).astype(np.int32),
        cpu_booked_mhz=mhz.astype(np.float32),
        ram_booked_mb=(vt["memory_gb"][sel] * 1024.0).astype(np.float32),
        arrive_step=arrive.astype(np.int32),
        depart_step=depart.astype(np.int32),
        cpu_unit="mhz",
        quirks={k: int(v) for k, v in sorted(counts.items())},
        provenance={"format": "azure", "source": str(folder), "cpu": cpu, "fill": fill,
                    "core_mhz": f"{core_mhz:g}", "readings_files": str(len(reading_paths)),
                    "window": "" if win is None else f"{win[0]:g}:{'' if win[1] is None else f'{win[1]:g}'} s",
                    "sample_subscriptions": "" if sample_subscriptions is None else f"{sample_subscriptions:g} seed {seed}"},
    )


def _check_unique_ids(path: Path, ids: Any) -> None:
    import pyarrow.compute as pc

    counts = pc.value_counts(ids.combine_chunks())
    dup = np.flatnonzero(counts.field("counts").to_numpy() > 1)
    if dup.size:
        vm = counts.field("values")[int(dup[0])].as_py()
        line = int(np.flatnonzero(pc.equal(ids, vm).to_numpy(zero_copy_only=False))[1]) + 1
        raise TraceFormatError(path, f"VM id {vm!r} appears twice", line=line, field="vmid")


def _stream_readings(paths: list[Path], ids: Any, cpu: str, cap: np.ndarray | None, w0: float, w1: float | None,
                     lo: np.ndarray, hi: np.ndarray, n_steps: int, step: float,
                     counts: Counter[str]) -> tuple[np.ndarray, np.ndarray]:
    """Sum (percent) and count of the selected VMs' readings per (step, VM) cell, one block at a time."""
    span = np.inf if w1 is None else w1 - w0
    import pyarrow as pa
    import pyarrow.compute as pc

    value_set = ids.combine_chunks()
    total = np.zeros((n_steps, len(lo)), np.float32)
    seen = np.zeros((n_steps, len(lo)), np.uint16)
    column = {"avg": "avgcpu", "max": "maxcpu", "p95": "maxcpu"}[cpu]
    types = {"timestamp": pa.float64(), "vmid": pa.string(), "maxcpu": pa.float64(), "avgcpu": pa.float64()}
    for path in paths:
        for _first, batch in cs.batches(path, READINGS, types, _READINGS_CHECKS):
            counts["readings_read"] += batch.num_rows
            t = batch.column("timestamp").to_numpy(zero_copy_only=False)
            val = batch.column(column).to_numpy(zero_copy_only=False)
            other = batch.column("avgcpu" if column == "maxcpu" else "maxcpu").to_numpy(zero_copy_only=False)
            if not ((t >= 0) & (t <= MAX_TIME_S) & (val >= 0) & (val <= MAX_VALUE) & (other >= 0)
                    & (other <= MAX_VALUE)).all():  # NaN fails every comparison
                raise cs.locate(path, READINGS, _READINGS_CHECKS) or TraceFormatError(
                    path, f"NaN, negative or too large value (timestamps at most {MAX_TIME_S:g} s)")
            vm = pc.index_in(batch.column("vmid"), value_set=value_set).to_numpy(zero_copy_only=False)
            known = ~np.isnan(vm.astype(np.float64)) if vm.dtype == object else np.isfinite(vm)
            counts["readings_not_selected"] += int(np.count_nonzero(~known))
            idx = np.flatnonzero(known)
            v = vm[idx].astype(np.int64)
            rel = t[idx] - w0
            in_win = (rel >= 0) & (rel < span)
            counts["readings_outside_window"] += int(np.count_nonzero(~in_win))
            in_life = in_win & (rel >= lo[v]) & (rel < hi[v])
            counts["readings_outside_life"] += int(np.count_nonzero(in_win & ~in_life))
            v, rel, x = v[in_life], rel[in_life], val[idx][in_life]
            if cap is not None:
                x = np.minimum(x, cap[v])
            counts["readings_above_100_percent"] += int(np.count_nonzero(x > 100))
            # a flat index: numpy's fast path of ufunc.at (same order of additions as a (step, VM) pair)
            cell = (rel // step).astype(np.int64) * len(lo) + v
            np.add.at(total.reshape(-1), cell, x.astype(np.float32))
            np.add.at(seen.reshape(-1), cell, np.uint16(1))
    return total, seen


def _to_mhz(total: np.ndarray, seen: np.ndarray, lo: np.ndarray, hi: np.ndarray, step: float,
            fill_pct: np.ndarray, mhz_per_pct: np.ndarray, counts: Counter[str]) -> np.ndarray:
    """Each cell's time-weighted mean percent over its step (readings, then the fill for slots of the life
    without one), in MHz; computed in place in ``total``, a block of VMs at a time."""
    n_steps, n = total.shape
    k = np.arange(n_steps, dtype=np.float64)[:, None]
    without = np.zeros(n, np.int64)
    for c in range(0, n, 2048):
        cols = slice(c, min(c + 2048, n))
        alive_s = np.clip(np.minimum((k + 1) * step, hi[cols]) - np.maximum(k * step, lo[cols]), 0, None)
        got = seen[:, cols].astype(np.float64)
        covered = got * SLOT_S
        s = total[:, cols].astype(np.float64)
        counts["duplicate_readings"] += int(np.clip(covered - alive_s, 0, None).sum() / SLOT_S)
        pct_s = np.where(covered <= alive_s, s * SLOT_S + fill_pct[cols] * (alive_s - covered),
                         s / np.maximum(got, 1) * alive_s)
        missing = np.clip(alive_s - covered, 0, None).sum(axis=0) / SLOT_S
        counts["slots_without_reading"] += int(round(float(missing.sum())))
        without[cols] = (got.sum(axis=0) == 0).astype(np.int64)
        total[:, cols] = (pct_s / step * mhz_per_pct[cols]).astype(np.float32)
    counts["vms_without_readings"] = int(without.sum())
    return total
