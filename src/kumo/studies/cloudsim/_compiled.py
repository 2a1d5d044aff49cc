"""Python side of the compiled kernel of the CloudSim compatibility mode (``kumo/studies/cloudsim/_kernel*.c``).

The kernel is an optional C extension built at install. Each function here hands one hot path to it, or
returns None/False when the kernel is missing, turned off (``KUMO_PURE_PYTHON=1``) or does not cover the
case, and the caller then runs the Python code, which stays the reference: the kernel does the same IEEE
operations in the same order and hands every close call of a detector back (tests/test_cloudsim_kernel.py
runs both paths and compares the migration logs and metrics).

=========================  =====================================================================
kernel entry               Python reference it replaces
=========================  =====================================================================
``optimize_mmt``           ``CloudSimRun._optimize_python`` + ``optimize`` with MMT or MU selection
``pabfd``/``spread_now``   ``HostTable.find_host`` / ``overloaded_now`` (other selections)
``initial_place``          ``CloudSimRun._initial_placement``'s loop
``host_update``            ``CloudSimRun._update_python``
``spec_power_vec``         ``kumo.studies.cloudsim._model.spec_power_flat``
``hist_hosts``/``hist_vms`` ``Histories.host_entries`` / ``vm_entries``
=========================  =====================================================================
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


def available() -> bool:
    """True when the kernel is installed and not turned off by ``KUMO_PURE_PYTHON``."""
    return K is not None and not os.environ.get("KUMO_PURE_PYTHON")


def initial_placement(sim: Any) -> bool:
    """``CloudSimRun._initial_placement`` in the kernel; False where it does not apply."""
    if not available():
        return False
    if sim.kind != "migration":
        kind, limit = 0, 0.0
    elif sim.detector_name == "thr":
        kind, limit = 1, float(sim.detector.threshold)
    elif sim.detector_name in ("lr", "lrr", "iqr", "mad") and \
            max(int(sim.detector.min_history), int(getattr(sim.detector, "window", 0))) > 1:
        kind, limit = 1, float(sim.detector.fallback_threshold)  # a one-value history is short
    else:
        return False
    f8 = np.float64
    vm_host = np.full(sim.nv, -1, np.int64)
    missing = K.initial_place(
        np.ascontiguousarray(sim.vm_mips, f8), np.ascontiguousarray(sim.vm_ram, f8),
        np.ascontiguousarray(sim.vm_bw, f8), np.ascontiguousarray(sim.pe_mips, f8),
        np.ascontiguousarray(sim.host_mips, f8), np.ascontiguousarray(sim.host_ram, f8),
        np.ascontiguousarray(sim.host_bw, f8), POWER_FLAT, np.ascontiguousarray(sim.power_offset, np.int64),
        sim.peak, vm_host, kind, limit)
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
    if not K.host_update(rs, s_host, s_role, sim.slot_hash(), sim.pe_mips, sim.host_mips, sim.peak, c, alloc, U, R,
                         grow_peak):
        return None  # a host with more than 4096 VMs
    return c, alloc, U, R


def power(u: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Every host's P(u): :func:`kumo.studies.cloudsim._model.spec_power_flat`, in the kernel when it is there."""
    if not available():
        return M.spec_power_flat(u, offset)
    out = np.empty(u.size)
    K.spec_power_vec(np.ascontiguousarray(u, np.float64), np.ascontiguousarray(offset, np.int64), POWER_FLAT, out)
    return out


class _Context:
    """A kernel context: 64-bit words by name (the kernel's ``words()``/``opt_words()`` order) holding array
    addresses, integers and bit-cast doubles; it keeps every array it points to alive."""

    def __init__(self, names: tuple[str, ...]):
        self.words = np.zeros(len(names), dtype=np.uint64)
        self._int = self.words.view(np.int64)
        self._float = self.words.view(np.float64)
        self._slot = {name: k for k, name in enumerate(names)}
        self.keep: list[np.ndarray] = []

    def array(self, name: str, a: np.ndarray, dtype: Any, inplace: bool = False) -> None:
        """Point ``name`` at ``a``; ``inplace``: the kernel or Python writes it, so no copy may be made."""
        if inplace:
            if a.dtype != np.dtype(dtype) or not a.flags.c_contiguous:
                raise TypeError(f"kernel array {name} must be C-contiguous {np.dtype(dtype)}, got {a.dtype}")
        else:
            a = np.ascontiguousarray(a, dtype=dtype)
        self.keep.append(a)
        self._int[self._slot[name]] = int(a.__array_interface__["data"][0])

    def int(self, name: str, value: int) -> None:
        self._int[self._slot[name]] = int(value)

    def float(self, name: str, value: float) -> None:
        self._float[self._slot[name]] = float(value)


def _detector_words(ctx: _Context, sim: Any, mode: int) -> None:
    # the detector's parameters, in the words both contexts share (mode: 1 THR, 2 LR/LRR, 3 IQR, 4 MAD)
    det = sim.detector
    if mode == 1:
        ctx.float("thr", det.threshold)
        return
    ctx.float("safety", det.safety)
    ctx.float("fallback", det.fallback_threshold)
    if mode == 2:
        win = int(det.window)
        ctx.int("w", win)
        ctx.int("min_len", max(int(det.min_history), win))
        ctx.int("robust", sim.detector_name == "lrr")
    else:
        ctx.int("min_len", det.min_history)


def table_context(sim: Any, t: HostTable) -> np.ndarray | None:
    """The context words of ``pabfd``/``spread_now`` (see ``_kernel.c``) for one Python
    :class:`~kumo.studies.cloudsim._optimize.HostTable`, or None without the kernel or for an after-test it does not
    know. Every array it points to lives as long as the table."""
    if not available():
        return None
    from kumo.studies.cloudsim._after import RegressionAfter, SpreadAfter, ThresholdAfter

    after = t.after
    if isinstance(after, ThresholdAfter):
        mode = 1
    elif isinstance(after, RegressionAfter):
        mode = 2
    elif isinstance(after, SpreadAfter):
        mode = 3 if sim.detector_name == "iqr" else 4
    else:
        return None
    if sim.vmh.shape[1] != t._hist.shape[1]:
        return None
    ctx = _Context(K.words())
    f8, i8 = np.float64, np.int64
    # the table's arrays are written in place by Python (create/rebuild) and the kernel (peak)
    for name in ("avail", "pe", "sum_c", "sum_r", "cap", "pnow", "hist"):
        ctx.array(name, getattr(t, "_" + name), f8, inplace=True)
    for name in ("off", "nlist", "peak", "host", "hlen"):
        ctx.array(name, getattr(t, "_" + name), i8, inplace=True)
    for name, a in (("r", sim.r), ("vm_mips", sim.vm_mips), ("vmh", sim.vmh), ("power", POWER_FLAT)):
        ctx.array(name, a, f8, inplace=True)
    ctx.int("hist_stride", t._hist.shape[1])
    ctx.int("mode", mode)
    ctx.float("pe_min", sim.pe_min)
    _detector_words(ctx, sim, mode)
    if mode in (2, 3, 4):
        ctx.array("vm_hlen", sim.vm_hlen, i8, inplace=True)
    if mode == 2:
        for name in ("A", "B", "hz"):
            ctx.array(name, getattr(after, "_" + name), f8, inplace=True)
        ctx.array("vm_lr", sim.vm_lr, f8)
        ctx.array("vm_hz", sim.vm_hz, f8, inplace=True)
        if after.robust:
            ctx.array("vm_res", sim.vm_res, f8)
            ctx.array("hat", after.hat, f8)
    t._kernel_keep = ctx.keep  # type: ignore[attr-defined]
    return ctx.words


def optimize(sim: Any, s_vm: np.ndarray, s_host: np.ndarray, c: np.ndarray,
             alloc: np.ndarray) -> tuple[list[tuple[int, int]], np.ndarray] | None:
    """Steps a to d of one ``optimizeAllocation`` with MMT or MU selection in the C kernel (``optimize_mmt``):
    ``(migration map, over-utilized hosts)``, or None where it does not apply or hands the call back (a
    close call for the detector's exact code); the caller then runs the Python path
    (``CloudSimRun._optimize_python``). Nothing outside the kernel changes unless it succeeds (then
    ``sim.peak`` grows, as in Python).

    Parameters
    ----------
    s_vm, s_host : the VM slots in list order (host-major); c : each slot's requested MIPS capped at the PE
        size; alloc : each slot's allocated MIPS (what CloudSim's scheduler holds).
    """
    if not available():
        return None
    if sim.sel_name in (None, "mmt"):
        sel = 0
    elif sim.sel_name == "mu":
        sel = 1 if getattr(sim.selector, "relative", True) else 2
    else:
        return None  # MC, RS, HPG, MM: the Python path (with the PABFD kernel)
    name = sim.detector_name
    mode = {"thr": 1, "lr": 2, "lrr": 2, "iqr": 3, "mad": 4}.get(name or "")
    if mode is None:
        return None
    peak = sim.peak
    if peak.dtype != np.int64 or not peak.flags.c_contiguous:
        return None
    nh, nv = sim.nh, sim.nv
    ctx = _Context(K.opt_words())
    for key, val in (("nh", nh), ("nv", nv), ("nslot", s_vm.size), ("stride", sim.vmh.shape[1]), ("mode", mode),
                     ("sel", sel), ("ntypes", int(sim.host_type.max()) + 1)):
        ctx.int(key, val)
    out = np.empty(4 * nv + 4, dtype=np.int64)
    over = np.zeros(nh, dtype=np.uint8)
    ctx.array("out", out, np.int64, inplace=True)
    ctx.array("over_out", over, np.uint8, inplace=True)
    ctx.array("peak", peak, np.int64, inplace=True)  # updated in place on success
    for key, a in (("s_vm", s_vm), ("s_host", s_host), ("type", sim.host_type), ("off", sim.power_offset),
                   ("vm_hlen", sim.vm_hlen)):
        ctx.array(key, a, np.int64)
    for key, a in (("alloc", alloc), ("c_slot", c), ("u", sim.u_cached), ("cap", sim.host_mips),
                   ("pe", sim.pe_mips), ("power", POWER_FLAT), ("r", sim.r), ("vm_ram", sim.vm_ram),
                   ("vm_mips", sim.vm_mips), ("vmh", sim.vmh)):
        ctx.array(key, a, np.float64)
    ctx.float("pe_min", sim.pe_min)
    ctx.float("mig_rate", MIGRATION_MB_PER_S)
    ctx.float("interval", INTERVAL_S)
    _detector_words(ctx, sim, mode)
    if mode == 2:
        for key, a in (("vm_lr", sim.vm_lr), ("vm_hz", sim.vm_hz), ("alpha", sim.lr_weights[0]),
                       ("beta", sim.lr_weights[1])):
            ctx.array(key, a, np.float64)
        if name == "lrr":
            ctx.array("vm_res", sim.vm_res, np.float64)
            ctx.array("hat", sim.lr_hat, np.float64)
    n = K.optimize_mmt(ctx.words)
    if n < 0:
        return None
    pairs = out[: 2 * n].reshape(n, 2).tolist()
    return [(v, h) for v, h in pairs], over.view(bool)


def table_pabfd(t: HostTable, v: int, excluded: np.ndarray) -> int | None:
    """One PABFD decision on a Python :class:`HostTable` in the kernel: the position or -1, or None (then
    run the Python :func:`~kumo.studies.cloudsim._pabfd.pabfd`)."""
    ctx = t._ctx
    if ctx is None:
        return None
    i = int(K.pabfd(ctx, t.n, v, excluded))
    return None if i == -2 else i
