"""PlanetLab CPU traces in the form CloudSim ships them (CoMon data, Beloglazov & Buyya's workload).

Format: a folder (one day, e.g. ``20110303``) of per-VM text files without a header, one integer CPU
utilization in percent (0..100) per line, one line per 300 s, 288 lines per day. CloudSim's examples read
exactly these files (``UtilizationModelPlanetLabInMemory``).

VM order is ``sorted(os.listdir(folder))``: plain lexicographic order of the file names (for the ASCII
names of the data set this equals Java's ``String.compareTo``). CloudSim itself takes the files in
``File.listFiles()`` order, i.e. raw directory order, and gives VM *i* a VM type that depends on *i*, so
its results depend on the order; the sorted order is the one the reference CloudSim runs were made with
and the only one that is reproducible across filesystems. Hidden files (names starting with ``.``) and
sub-folders are skipped. Some file names contain spaces, so names are never split and the contents are
split on line breaks only.

Output: ``cpu_unit = "fraction"`` (value / 100, exact for the stored percent), ``ram_mb`` None, booked
sizes NaN and cores 0 (the scenario assigns VM types, see :meth:`Trace.with_vm_sizes`), every VM alive
from step 0 to ``n_steps``, ``start_epoch_s`` 0 (the folder name is a date but the time of day is not
known; it goes to the provenance).

Rules: trailing blank lines at the end of a file are ignored [``trailing_blank_lines``]. Errors
(:class:`~kumo.errors.TraceFormatError` with file and line): a line that is not a whole number, a blank
line before the end, a value outside 0..100, an empty file, files with different line counts (the file
that differs from the most common count is named), and a folder without files.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from kumo.errors import TraceFormatError
from kumo.traces._textio import list_files
from kumo.traces.base import Trace, reader

STEP_S = 300.0
MAX_PERCENT = 100


def percent_to_fraction(percent: np.ndarray) -> np.ndarray:
    """Integer percent -> float32 fraction, computed once in float64 so every reader gives the same bits."""
    return (np.asarray(percent, dtype=np.float64) / 100.0).astype(np.float32)


def _read_percent_file(path: Path, counts: Counter[str]) -> np.ndarray:
    """(n_lines,) int16 percent values of one file, or a located error."""
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise TraceFormatError(path, f"cannot read the file: {exc}") from exc
    lines = [s.strip() for s in text.splitlines()]
    n_trailing = 0
    while lines and not lines[-1]:
        lines.pop()
        n_trailing += 1
    counts["trailing_blank_lines"] += n_trailing
    if not lines:
        raise TraceFormatError(path, "empty file, expected one integer CPU percentage per line")
    if not all(s.isascii() and s.isdigit() for s in lines):
        lineno = next(i for i, s in enumerate(lines, 1) if not (s.isascii() and s.isdigit()))
        what = "blank line" if not lines[lineno - 1] else f"not a whole number: {lines[lineno - 1]!r}"
        raise TraceFormatError(path, f"{what} (expected an integer CPU percentage 0..100)", line=lineno)
    # more than 3 digits after leading zeros is above 100: never int() them (a 5000-digit line raises, a
    # 20-digit one overflows int64)
    values = np.array([int(s) if len(s.lstrip("0")) <= 3 else MAX_PERCENT + 1 for s in lines], dtype=np.int64)
    over = np.flatnonzero(values > MAX_PERCENT)
    if over.size:
        row = int(over[0])
        text = lines[row] if len(lines[row]) <= 20 else lines[row][:20] + "..."
        raise TraceFormatError(path, f"CPU percentage {text} outside 0..100", line=row + 1)
    return values.astype(np.int16)


@reader
def read_planetlab(path: str | Path, *, name: str | None = None, step_s: float = STEP_S) -> Trace:
    """Read a CloudSim PlanetLab day folder into a fraction-unit :class:`~kumo.traces.base.Trace`.

    Parameters
    ----------
    path : folder of per-VM files (one integer percent per line).
    name : trace label; ``planetlab-<folder name>`` by default.
    step_s : seconds between lines (300 in the CloudSim data).

    Returns
    -------
    Trace
        ``cpu`` (n_steps, n_vms) float32 fraction of the booked CPU, VMs in ``sorted(os.listdir(path))``
        order, ids = file names.
    """
    folder = Path(path)
    files = list_files(folder)
    if not files:
        raise TraceFormatError(folder, "no PlanetLab files in the folder")
    counts: Counter[str] = Counter()
    columns = [_read_percent_file(f, counts) for f in files]
    lengths = Counter(len(c) for c in columns)
    if len(lengths) > 1:
        expected = lengths.most_common(1)[0][0]
        odd = next(f for f, c in zip(files, columns, strict=True) if len(c) != expected)
        n_odd = len(columns[files.index(odd)])
        raise TraceFormatError(odd, f"has {n_odd} lines, but {lengths[expected]} other files have {expected}")
    percent = np.stack(columns, axis=1)
    n_steps, n_vms = percent.shape
    counts["files_read"] = n_vms
    return Trace(
        name=name or f"planetlab-{folder.name}",
        step_s=float(step_s),
        start_epoch_s=0.0,
        vm_ids=np.array([f.name for f in files], dtype=str),
        cpu=percent_to_fraction(percent),
        ram_mb=None,
        cores=np.zeros(n_vms, dtype=np.int32),
        cpu_booked_mhz=np.full(n_vms, np.nan, dtype=np.float32),
        ram_booked_mb=np.full(n_vms, np.nan, dtype=np.float32),
        arrive_step=np.zeros(n_vms, dtype=np.int32),
        depart_step=np.full(n_vms, n_steps, dtype=np.int32),
        cpu_unit="fraction",
        quirks={k: int(v) for k, v in sorted(counts.items())},
        provenance={"format": "planetlab", "source": str(folder), "day": folder.name, "files": str(n_vms)},
    )
