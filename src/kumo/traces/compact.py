"""kumo's compact single-file trace format (``.kumo``): small on disk, fast to load.

Layout: a zip archive (members stored, not deflated) holding ``meta.json`` and one compressed member per
array (zstd by default, or zlib: each array's spec names its codec; the member is named ``<array>.zst``
either way). ``meta.json`` carries ``format = "kumo-trace"``, ``version`` (this module writes and reads
version 1; any other raises), the grid (``step_s``, ``start_epoch_s``, ``cpu_unit``, ``n_steps``,
``n_vms``), ``vm_ids``, ``quirks``, ``provenance`` and, per array, its encoding (see
:mod:`kumo.traces._codec`).

Quantization (the only loss; each array's spec in ``meta.json`` records its scale and whether it is
exact). Values are rounded to a grid of step ``1 / scale``, never clipped; zero stays zero. The decoded
value is that grid value rounded to float32, so the error bound is ``0.5 / scale`` plus float32 rounding
(at most 6e-8 relative, which only matters above 2**17 = 131,072 in the array's unit).

=====================  ==============================  =============================================
array                  stored as                        max abs error (plus float32 rounding)
=====================  ==============================  =============================================
cpu, ``mhz`` unit      round(MHz x 100), uint           0.005 MHz
cpu, ``fraction``      round(x x 100) when that is      0 (PlanetLab's integer percent, as uint8)
                       exact, else round(x x 1e5)       5e-6 of the booking
ram_mb                 round(MB x 64), uint             1/128 MB = 8 KiB
extra ``*_kbps``       round(KB/s x 100), uint          0.005 KB/s
anything else          its own bytes                    0 (lossless)
=====================  ==============================  =============================================

Arrays that contain NaN or negative values (never demand: only a trace that passes
:meth:`~kumo.traces.base.Trace.check` is saved or loaded) are stored lossless. Per-VM arrays (bookings,
arrive/depart) are always lossless. Demand arrays are stored VM-major (one VM's time series contiguous, which compresses
better) and byte-shuffled; loading transposes them back to the time-major layout of :class:`Trace`.
Saving a loaded trace again gives the same values (quantization is idempotent).
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from kumo.errors import TraceFormatError
from kumo.traces import _codec
from kumo.traces.base import Trace, TraceInvariantError, reader

SUFFIX = ".kumo"
FORMAT = "kumo-trace"
VERSION = 1
DEFAULT_LEVEL = 9

CPU_MHZ_SCALE = 100.0
CPU_PERCENT_SCALE = 100.0
CPU_FRACTION_SCALE = 1e5
RAM_MB_SCALE = 64.0
KBPS_SCALE = 100.0

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_PER_VM = ("cores", "cpu_booked_mhz", "ram_booked_mb", "arrive_step", "depart_step")
#: the largest grid a .kumo file may declare (as the generic reader's limit): a larger one is a damaged header
_MAX_CELLS = 2**31
#: what reading a damaged member raises: zipfile (BadZipFile, a CRC error; NotImplementedError, RuntimeError
#: for a compression method or encryption it cannot undo; zlib.error, EOFError from a deflated member),
#: :func:`kumo.traces._codec.decode` (ValueError, TypeError, KeyError from a bad spec or stream; OSError)
_MEMBER_ERRORS = (KeyError, ValueError, TypeError, OSError, EOFError, zipfile.BadZipFile, zlib.error,
                  NotImplementedError, RuntimeError)


def _writer_version() -> str:
    from importlib import metadata  # only when writing (importing it costs ~15 ms)

    try:
        return metadata.version("kumosim")
    except metadata.PackageNotFoundError:
        return "unknown"


def _encode_demand(name: str, x: np.ndarray, cpu_unit: str, level: int, codec: str) -> tuple[bytes, dict[str, Any]]:
    vm_major = np.ascontiguousarray(x.T)
    if name == "cpu" and cpu_unit == "fraction":
        blob, spec = _codec.encode(vm_major, level, CPU_PERCENT_SCALE, codec)
        if not spec.get("exact"):
            blob, spec = _codec.encode(vm_major, level, CPU_FRACTION_SCALE, codec)
    else:
        scale = {"cpu": CPU_MHZ_SCALE, "ram_mb": RAM_MB_SCALE}.get(name)
        if scale is None and name.endswith("_kbps"):
            scale = KBPS_SCALE
        blob, spec = _codec.encode(vm_major, level, scale, codec)
    spec["layout"] = "vm-major"
    return blob, spec


def save(trace: Trace, path: str | Path, *, level: int = DEFAULT_LEVEL, codec: str = _codec.CODEC) -> Path:
    """Write ``trace`` to ``path`` in the compact format (``.kumo`` is the conventional suffix).

    Parameters
    ----------
    trace : the trace to store.
    path : target file.
    level : zstd level, 1..22 (zlib: 0..9); higher is smaller and slower to write, loading speed barely changes.
    codec : ``zstd`` (smaller) or ``zlib`` (loads without importing pyarrow: for small traces, where the
        import costs more than the bytes).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    TraceInvariantError
        When the trace breaks an invariant (:meth:`Trace.check`): no reader would load the file.
    """
    path = Path(path)
    trace.check()  # a file no reader would accept is never written
    blobs: dict[str, bytes] = {}
    specs: dict[str, dict[str, Any]] = {}
    demand = {"cpu": trace.cpu, **({"ram_mb": trace.ram_mb} if trace.ram_mb is not None else {})}
    demand |= {f"extra/{k}": v for k, v in trace.extra.items()}
    # the demand arrays are encoded in threads (zstd and numpy release the GIL): a large trace's save takes
    # about as long as its largest array
    with ThreadPoolExecutor(max_workers=min(len(demand), os.cpu_count() or 1)) as pool:
        done = {key: pool.submit(_encode_demand, key.removeprefix("extra/"), arr, trace.cpu_unit, level, codec)
                for key, arr in demand.items()}
        for key, fut in done.items():
            blobs[key], specs[key] = fut.result()
    for key in _PER_VM:
        blobs[key], specs[key] = _codec.encode(getattr(trace, key), level, codec=codec)
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "writer": f"kumosim {_writer_version()}",
        "name": trace.name,
        "step_s": trace.step_s,
        "start_epoch_s": trace.start_epoch_s,
        "cpu_unit": trace.cpu_unit,
        "n_steps": trace.n_steps,
        "n_vms": trace.n_vms,
        "vm_ids": [str(v) for v in trace.vm_ids.tolist()],
        "quirks": {k: int(v) for k, v in trace.quirks.items()},
        "provenance": {k: str(v) for k, v in trace.provenance.items()},
        "arrays": specs,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    members = {
        "meta.json": json.dumps(meta, indent=1, sort_keys=True).encode(),
        **{f"{k}.zst": b for k, b in blobs.items()},
    }
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
            for member, data in members.items():
                # a fixed date makes the bytes depend on the trace only (same trace, same file hash)
                zf.writestr(zipfile.ZipInfo(member, date_time=_ZIP_DATE), data)
        tmp.replace(path)  # never leave a half-written trace under the final name
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_meta(path: str | Path) -> dict[str, Any]:
    """The checked ``meta.json`` of a ``.kumo`` file (cheap: no array is decoded)."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            meta = json.loads(zf.read("meta.json"))
    except _MEMBER_ERRORS as exc:  # not a zip, no meta.json, not JSON (ValueError), nested too deep (RuntimeError)
        raise TraceFormatError(path, f"not a .kumo trace file ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise TraceFormatError(
            path, f"not a .kumo trace file (meta.json has no format={FORMAT!r})", field="format"
        )
    if meta.get("version") != VERSION:
        raise TraceFormatError(
            path,
            f"unsupported .kumo version {meta.get('version')!r}; this kumo reads version {VERSION}",
            field="version",
        )
    missing = [
        k
        for k in ("name", "step_s", "start_epoch_s", "cpu_unit", "n_steps", "n_vms", "vm_ids", "arrays")
        if k not in meta
    ]
    if missing:
        raise TraceFormatError(path, f"meta.json lacks {', '.join(missing)}", field=missing[0])
    if meta["cpu_unit"] not in ("mhz", "fraction"):
        raise TraceFormatError(
            path, f"cpu_unit must be 'mhz' or 'fraction', got {meta['cpu_unit']!r}", field="cpu_unit"
        )
    _check_meta_types(path, meta)
    return meta


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _check_meta_types(path: Path, meta: dict[str, Any]) -> None:
    """Every value of ``meta.json`` of the type :func:`save` writes (a damaged file says which is not)."""
    def count(x: Any) -> bool:
        return isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= _MAX_CELLS

    def mapping(x: Any, values: tuple[type, ...]) -> bool:
        return isinstance(x, dict) and all(isinstance(v, values) and not isinstance(v, bool) for v in x.values())

    checks = {
        "name": isinstance(meta["name"], str),
        "step_s": _is_number(meta["step_s"]),
        "start_epoch_s": _is_number(meta["start_epoch_s"]),
        "n_steps": count(meta["n_steps"]),
        "n_vms": count(meta["n_vms"]),
        "vm_ids": isinstance(meta["vm_ids"], list) and all(isinstance(v, str) for v in meta["vm_ids"]),
        "arrays": mapping(meta["arrays"], (dict,)),
        "quirks": mapping(meta.get("quirks", {}), (int,)),
        "provenance": mapping(meta.get("provenance", {}), (str,)),
    }
    bad = [k for k, ok in checks.items() if not ok]
    if bad:
        raise TraceFormatError(path, f"meta.json: {bad[0]} is not what a .kumo file holds there", field=bad[0])
    if meta["n_steps"] * meta["n_vms"] > _MAX_CELLS:
        raise TraceFormatError(path, f"meta.json: {meta['n_steps']} steps x {meta['n_vms']} VMs is too large",
                               field="n_steps")
    if len(meta["vm_ids"]) != meta["n_vms"] or len(set(meta["vm_ids"])) != meta["n_vms"]:
        raise TraceFormatError(path, f"meta.json: vm_ids must be {meta['n_vms']} distinct names", field="vm_ids")


def _expected_shape(key: str, spec: dict[str, Any], n_steps: int, n_vms: int) -> tuple[int, ...]:
    if key in _PER_VM:
        return (n_vms,)
    return (n_vms, n_steps) if spec.get("layout") == "vm-major" else (n_steps, n_vms)


@reader
def load_compact(path: str | Path) -> Trace:
    """Read a ``.kumo`` file written by :func:`save`.

    Returns
    -------
    Trace
        Equal to the saved trace within the quantization stated in this module's docstring.
    """
    path = Path(path)
    meta = read_meta(path)
    specs: dict[str, dict[str, Any]] = meta["arrays"]
    arrays: dict[str, np.ndarray] = {}
    for key in ("cpu", *_PER_VM):
        if key not in specs:
            raise TraceFormatError(path, f"array {key!r} is missing", field=key)
    try:
        with zipfile.ZipFile(path) as zf:
            for key, spec in specs.items():
                if key not in _PER_VM and key not in ("cpu", "ram_mb") and not key.startswith("extra/"):
                    raise ValueError("not an array of a trace")
                shape = _expected_shape(key, spec, meta["n_steps"], meta["n_vms"])
                arrays[key] = _codec.decode(zf.read(f"{key}.zst"), spec, transpose=spec.get("layout") == "vm-major",
                                            shape=shape)
    except _MEMBER_ERRORS as exc:  # a damaged zip member or compressed stream; which array is in the message
        raise TraceFormatError(path, f"array {key!r} cannot be decoded: {exc}", field=key) from None
    try:
        return Trace(
            name=str(meta["name"]),
            step_s=float(meta["step_s"]),
            start_epoch_s=float(meta["start_epoch_s"]),
            vm_ids=np.array(meta["vm_ids"], dtype=str),
            cpu=arrays["cpu"],
            ram_mb=arrays.get("ram_mb"),
            cores=arrays["cores"],
            cpu_booked_mhz=arrays["cpu_booked_mhz"],
            ram_booked_mb=arrays["ram_booked_mb"],
            arrive_step=arrays["arrive_step"],
            depart_step=arrays["depart_step"],
            cpu_unit=meta["cpu_unit"],
            extra={k.removeprefix("extra/"): v for k, v in arrays.items() if k.startswith("extra/")},
            quirks={k: int(v) for k, v in meta.get("quirks", {}).items()},
            provenance={k: str(v) for k, v in meta.get("provenance", {}).items()},
        )
    except TraceInvariantError as exc:
        raise TraceFormatError(path, f"inconsistent arrays: {exc.reason}", field=exc.field) from None
