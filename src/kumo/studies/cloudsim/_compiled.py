"""Python side of the compatibility mode's C kernel (``_kernel*.c``; see ``docs/studies/cloudsim.md``, "Kernel").

The kernel is an optional C extension built at install. Each function here hands one hot path to it, or
returns None/False and the caller runs the Python code, which stays the reference: the kernel does the same
IEEE operations in the same order and hands a close call of a detector back (``tests/test_cloudsim_kernel.py``
runs both paths and compares the migration logs and metrics). ``KUMO_PURE_PYTHON=1`` turns the kernel off.

Every kernel argument is built here, in the order of the entry point's argument table in C (``arg_t``); the
kernel checks each array's dtype, contiguity and shape and raises TypeError/ValueError, never reads blindly.
Arrays the kernel or Python edit in place are passed as they are (a copy would go stale); read-only inputs
are converted with :func:`numpy.ascontiguousarray`.

:func:`stats` counts, per entry point, the calls the kernel handled, those it handed back (a close call, a
case outside its buffers) and those it was not given because it does not cover the case (a selection other
than MMT/MU for ``optimize``, an unknown detector).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from kumo.studies.cloudsim import _model as M
from kumo.studies.cloudsim._model import INTERVAL_S, MIGRATION_MB_PER_S, POWER_FLAT

if TYPE_CHECKING:
    from kumo.studies.cloudsim._table import HostTable

K: Any  # the extension module, or None
try:
    from kumo.studies.cloudsim import _kernel as K  # type: ignore[attr-defined, no-redef]
except ImportError:  # pragma: no cover - an installation without a C compiler
    K = None

#: entry points with a Python fallback, as counted by :func:`stats`
ENTRIES = ("initial_placement", "host_update", "power", "optimize", "pabfd", "over_now")
_HANDLED, _HANDED_BACK, _NOT_COVERED = 0, 1, 2
_COUNTS: dict[str, list[int]] = {name: [0, 0, 0] for name in ENTRIES}
_PABFD, _OVER_NOW = _COUNTS["pabfd"], _COUNTS["over_now"]  # the per-decision counters, bound once

#: detector name -> the kernel's mode (THR 1, LR and LRR 2, IQR 3, MAD 4)
MODES = {"thr": 1, "lr": 2, "lrr": 2, "iqr": 3, "mad": 4}


class _Uncovered:
    """Stands in for a kernel Table where the kernel does not cover the table's after-test."""


UNCOVERED = _Uncovered()


def available() -> bool:
    """True when the kernel is installed and not turned off by ``KUMO_PURE_PYTHON``."""
    return K is not None and not os.environ.get("KUMO_PURE_PYTHON")


def stats() -> dict[str, dict[str, int]]:
    """Calls per entry point since the last :func:`reset_stats`: ``handled`` by the kernel, ``handed_back`` to
    Python by the kernel, ``not_covered`` (kept in Python: the kernel does not cover the case). Nothing is
    counted while the kernel is unavailable."""
    return {name: {"handled": c[0], "handed_back": c[1], "not_covered": c[2]} for name, c in _COUNTS.items()}


def reset_stats() -> None:
    """Set every counter of :func:`stats` to 0."""
    for c in _COUNTS.values():
        c[:] = [0, 0, 0]


def _in(a: Any, dtype: Any) -> np.ndarray:
    # a read-only input: any array-like, converted (a copy is harmless: nobody edits it during the call)
    return np.ascontiguousarray(a, dtype=dtype)


# --------------------------------------------------------------------------------------------- builders


def facts_args(sim: Any) -> tuple[Any, ...]:
    """The kernel's ``facts`` of a run (``FACTS_ARGS`` in ``_kernel_pabfd.c``, in order): the power tables, what
    the detector reads about the VMs, and its parameters. The arrays are read-only while the kernel uses them."""
    f8 = np.float64
    name = sim.detector_name
    mode = MODES[name]
    det = sim.detector
    lr, robust = mode == 2, name == "lrr"
    thr = safety = fallback = 0.0
    min_len = 0
    if mode == 1:
        thr = float(det.threshold)
    else:
        safety, fallback = float(det.safety), float(det.fallback_threshold)
        min_len = max(int(det.min_history), int(det.window)) if lr else int(det.min_history)
    return (
        POWER_FLAT, _in(sim.r, f8), _in(sim.vm_mips, f8), _in(sim.vm_ram, f8), _in(sim.vmh, f8),
        _in(sim.vm_hlen, np.int64),
        _in(sim.vm_lr, f8) if lr else None, _in(sim.vm_hz, f8) if lr else None,
        _in(sim.vm_res, f8) if robust else None,
        _in(sim.lr_weights[0], f8) if lr else None, _in(sim.lr_weights[1], f8) if lr else None,
        _in(sim.lr_hat, f8) if robust else None,
        mode, int(robust), min_len, thr, safety, fallback, float(sim.pe_min), MIGRATION_MB_PER_S, INTERVAL_S,
    )


def table_args(t: HostTable) -> tuple[Any, ...]:
    """The hosts of a Python :class:`HostTable` for the kernel's ``Table`` (``HOSTS_ARGS`` in ``_kernel.c``, in
    order): the table's own arrays with room for every host, which Python edits in place between calls."""
    from kumo.studies.cloudsim._after import RegressionAfter

    after = t.after
    lr = (after._A, after._B, after._hz) if isinstance(after, RegressionAfter) else (None, None, None)
    return (t._host, t._avail, t._pe, t._sum_c, t._sum_r, t._cap, t._pnow, t._off, t._nlist, t._peak, t._hlen,
            t._hist, *lr)


# --------------------------------------------------------------------------------------------- entry points


def initial_placement(sim: Any) -> bool:
    """:func:`kumo.studies.cloudsim._placement.initial_placement` in the kernel; False where it does not apply."""
    if not available():
        return False
    counts = _COUNTS["initial_placement"]
    if sim.kind != "migration":
        kind, limit = 0, 0.0
    elif sim.detector_name == "thr":
        kind, limit = 1, float(sim.detector.threshold)
    elif sim.detector_name in ("lr", "lrr", "iqr", "mad") and \
            max(int(sim.detector.min_history), int(getattr(sim.detector, "window", 0))) > 1:
        kind, limit = 1, float(sim.detector.fallback_threshold)  # a one-value history is short
    else:
        counts[_NOT_COVERED] += 1
        return False
    f8 = np.float64
    vm_host = np.full(sim.nv, -1, np.int64)
    missing = K.initial_place(
        _in(sim.vm_mips, f8), _in(sim.vm_ram, f8), _in(sim.vm_bw, f8), _in(sim.pe_mips, f8), _in(sim.host_mips, f8),
        _in(sim.host_ram, f8), _in(sim.host_bw, f8), POWER_FLAT, _in(sim.power_offset, np.int64), sim.peak,
        vm_host, kind, limit)
    counts[_HANDLED] += 1
    if missing >= 0:
        raise RuntimeError(f"initial placement: no host for VM {missing} (CloudSim's broker would exit)")
    sim.vm_host[:] = vm_host
    return True


def host_update(sim: Any, rs: np.ndarray, s_vm: np.ndarray, s_host: np.ndarray, s_role: np.ndarray,
                grow_peak: bool) -> tuple[np.ndarray, ...] | None:
    """``CloudSimRun._update_python`` in the kernel: ``(c, alloc, U, R)``, or None (then run Python)."""
    if not available():
        return None
    n = s_vm.size
    c, alloc = np.empty(n), np.empty(n)
    U, R = np.empty(sim.nh), np.empty(sim.nh)
    i8 = np.int64
    if not K.host_update(_in(rs, np.float64), _in(s_host, i8), _in(s_role, i8), _in(sim.slot_hash(), i8),
                         sim.pe_mips, sim.host_mips, sim.peak, c, alloc, U, R, int(grow_peak)):
        _COUNTS["host_update"][_HANDED_BACK] += 1  # a host with more than 4096 VMs
        return None
    _COUNTS["host_update"][_HANDLED] += 1
    return c, alloc, U, R


def power(u: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Every host's P(u): :func:`kumo.studies.cloudsim._model.spec_power_flat`, in the kernel when it is there."""
    if available():
        out = np.empty(u.size)
        if K.spec_power_vec(_in(u, np.float64), _in(offset, np.int64), POWER_FLAT, out):
            _COUNTS["power"][_HANDLED] += 1
            return out
        _COUNTS["power"][_HANDED_BACK] += 1  # a utilization beyond the table
    return M.spec_power_flat(u, offset)


def optimize(sim: Any, s_vm: np.ndarray, s_host: np.ndarray, c: np.ndarray,
             alloc: np.ndarray) -> tuple[list[tuple[int, int]], np.ndarray] | None:
    """Steps a to d of one ``optimizeAllocation`` with MMT or MU selection in the kernel: ``(migration map,
    over-utilized hosts)``, or None where it does not apply or hands the call back (a close call for the
    detector's exact code); the caller then runs :func:`kumo.studies.cloudsim._optimize.optimize_python`.
    Nothing outside the kernel changes unless it succeeds (then ``sim.peak`` grows, as in Python).

    Parameters
    ----------
    s_vm, s_host : the VM slots in list order (host-major); c : each slot's requested MIPS capped at the PE
        size; alloc : each slot's allocated MIPS (what CloudSim's scheduler holds).
    """
    if not available():
        return None
    counts = _COUNTS["optimize"]
    if sim.sel_name in (None, "mmt"):
        sel = 0
    elif sim.sel_name == "mu":
        sel = 1 if getattr(sim.selector, "relative", True) else 2
    else:
        sel = -1  # MC, RS, HPG, MM: the Python path (with the kernel's PABFD)
    if sel < 0 or sim.detector_name not in MODES:
        counts[_NOT_COVERED] += 1
        return None
    out = np.empty((2 * sim.nv, 2), dtype=np.int64)
    over = np.zeros(sim.nh, dtype=np.uint8)
    i8, f8 = np.int64, np.float64
    n = K.optimize(facts_args(sim), _in(sim.host_mips, f8), _in(sim.pe_mips, f8), _in(sim.power_offset, i8),
                   _in(sim.host_type, i8), _in(sim.u_cached, f8), sim.peak, _in(s_vm, i8), _in(s_host, i8),
                   _in(c, f8), _in(alloc, f8), out, over, sel)
    if n < 0:
        counts[_HANDED_BACK] += 1
        return None
    counts[_HANDLED] += 1
    return [(v, h) for v, h in out[:n].tolist()], over.view(bool)


def table_kernel(sim: Any, t: HostTable) -> Any:
    """The kernel's ``Table`` over a Python :class:`HostTable` (PABFD and the over-utilized test on its arrays),
    :data:`UNCOVERED` for an after-test the kernel does not know, or None without the kernel."""
    if not available():
        return None
    from kumo.studies.cloudsim._after import AFTER_TESTS

    name = sim.detector_name
    if name not in MODES or type(t.after) is not AFTER_TESTS.get(name):
        return UNCOVERED
    return K.Table(facts_args(sim), *table_args(t))


def table_pabfd(t: HostTable, v: int, excluded: np.ndarray) -> int | None:
    """One PABFD decision on a Python :class:`HostTable` in the kernel: the position or -1, or None (then run
    the Python :func:`~kumo.studies.cloudsim._pabfd.pabfd`)."""
    k = t._kernel
    if k is None:
        return None
    if k is UNCOVERED:
        _PABFD[_NOT_COVERED] += 1
        return None
    i = k.pabfd(v, excluded, t.n)
    if i == -2:
        _PABFD[_HANDED_BACK] += 1
        return None
    _PABFD[_HANDLED] += 1
    return int(i)


def table_over_now(t: HostTable, i: int) -> bool | None:
    """The detector on position ``i`` of a Python :class:`HostTable` as its list stands, in the kernel, or None
    (then run the after-test's Python ``now``)."""
    k = t._kernel
    if k is None:
        return None
    if k is UNCOVERED:
        _OVER_NOW[_NOT_COVERED] += 1
        return None
    r = k.over_now(i)
    if r == -2:
        _OVER_NOW[_HANDED_BACK] += 1
        return None
    _OVER_NOW[_HANDLED] += 1
    return bool(r)
