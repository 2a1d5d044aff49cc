"""Python side of the compiled kernel of the CloudSim compatibility mode (``kumo/compat/_kernel*.c``).

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
``spec_power_vec``         ``kumo.compat._model.spec_power_flat``
``hist_hosts``/``hist_vms`` ``Histories.host_entries`` / ``vm_entries``
=========================  =====================================================================
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from kumo.compat import _model as M
from kumo.compat._model import INTERVAL_S, MIGRATION_MB_PER_S, POWER_FLAT

if TYPE_CHECKING:
    from kumo.compat._optimize import HostTable

K: Any  # the extension module, or None
try:
    from kumo.compat import _kernel as K  # type: ignore[attr-defined, no-redef]
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
    """Every host's P(u): :func:`kumo.compat._model.spec_power_flat`, in the kernel when it is there."""
    if not available():
        return M.spec_power_flat(u, offset)
    out = np.empty(u.size)
    K.spec_power_vec(np.ascontiguousarray(u, np.float64), np.ascontiguousarray(offset, np.int64), POWER_FLAT, out)
    return out


def table_context(sim: Any, t: HostTable) -> np.ndarray | None:
    """The context words of ``pabfd``/``spread_now`` (see ``_kernel.c``) for one Python
    :class:`~kumo.compat._optimize.HostTable`, or None without the kernel or for an after-test it does not
    know. Every array it points to lives as long as the table."""
    if not available():
        return None
    from kumo.compat._after import RegressionAfter, SpreadAfter, ThresholdAfter

    after = t.after
    if isinstance(after, ThresholdAfter):
        mode = 1
    elif isinstance(after, RegressionAfter):
        mode = 2
    elif isinstance(after, SpreadAfter):
        mode = 3 if sim.detector_name == "iqr" else 4
    else:
        return None
    keep: list[np.ndarray] = []

    def ptr(a: np.ndarray, dtype: Any) -> int:
        if a.dtype != dtype or not a.flags.c_contiguous:
            raise TypeError(f"kernel array must be C-contiguous {dtype}, got {a.dtype}")
        keep.append(a)
        return int(a.__array_interface__["data"][0])

    f8, i8 = np.dtype(np.float64), np.dtype(np.int64)
    names = K.words()
    words = np.zeros(len(names), dtype=np.uint64)
    w = words.view(np.int64)
    d = words.view(np.float64)
    slot = {name: k for k, name in enumerate(names)}

    def put(name: str, a: np.ndarray, dtype: np.dtype) -> None:
        w[slot[name]] = ptr(a, dtype)

    if sim.vmh.shape[1] != t._hist.shape[1]:
        return None
    for name in ("avail", "pe", "sum_c", "sum_r", "cap", "pnow", "hist"):
        put(name, getattr(t, "_" + name), f8)
    for name in ("off", "nlist", "peak", "host", "hlen"):
        put(name, getattr(t, "_" + name), i8)
    put("r", sim.r, f8)
    put("vm_mips", sim.vm_mips, f8)
    put("vmh", sim.vmh, f8)
    put("power", POWER_FLAT, f8)
    w[slot["hist_stride"]] = t._hist.shape[1]
    w[slot["mode"]] = mode
    d[slot["pe_min"]] = float(sim.pe_min)
    if mode == 1:
        d[slot["thr"]] = float(sim.detector.threshold)
    elif mode in (3, 4):
        det = sim.detector
        put("vm_hlen", sim.vm_hlen, i8)
        w[slot["min_len"]] = int(det.min_history)
        d[slot["safety"]] = float(det.safety)
        d[slot["fallback"]] = float(det.fallback_threshold)
    else:
        put("A", after._A, f8)
        put("B", after._B, f8)
        put("hz", after._hz, f8)
        put("vm_lr", np.ascontiguousarray(sim.vm_lr), f8)
        put("vm_hz", sim.vm_hz, f8)
        put("vm_hlen", sim.vm_hlen, i8)
        if after.robust:
            put("vm_res", np.ascontiguousarray(sim.vm_res), f8)
            put("hat", np.ascontiguousarray(after.hat), f8)
        w[slot["w"]] = after.w
        w[slot["min_len"]] = after.min_len
        w[slot["robust"]] = int(after.robust)
        d[slot["safety"]] = after.safety
        d[slot["fallback"]] = after.fallback
    t._kernel_keep = keep  # type: ignore[attr-defined]
    return words


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
    names = K.opt_words()
    words = np.zeros(len(names), dtype=np.uint64)
    w = words.view(np.int64)
    d = words.view(np.float64)
    slot = {n: k for k, n in enumerate(names)}
    keep: list[np.ndarray] = []

    def put(key: str, a: np.ndarray, dtype: Any) -> None:
        a = np.ascontiguousarray(a, dtype=dtype)
        keep.append(a)
        w[slot[key]] = int(a.__array_interface__["data"][0])

    nh, nv = sim.nh, sim.nv
    out = np.empty(4 * nv + 4, dtype=np.int64)
    peak = sim.peak
    if peak.dtype != np.int64 or not peak.flags.c_contiguous:
        return None
    for key, val in (("nh", nh), ("nv", nv), ("nslot", s_vm.size), ("stride", sim.vmh.shape[1]), ("mode", mode),
                     ("sel", sel),
                     ("ntypes", int(sim.host_type.max()) + 1)):
        w[slot[key]] = val
    put("s_vm", s_vm, np.int64)
    put("s_host", s_host, np.int64)
    over = np.zeros(nh, dtype=np.uint8)
    put("alloc", alloc, np.float64)
    put("c_slot", c, np.float64)
    put("over_out", over, np.uint8)
    put("u", sim.u_cached, np.float64)
    w[slot["peak"]] = int(peak.__array_interface__["data"][0])  # updated in place on success
    put("type", sim.host_type, np.int64)
    put("cap", sim.host_mips, np.float64)
    put("pe", sim.pe_mips, np.float64)
    put("off", sim.power_offset, np.int64)
    put("power", POWER_FLAT, np.float64)
    put("r", sim.r, np.float64)
    put("vm_ram", sim.vm_ram, np.float64)
    put("vm_mips", sim.vm_mips, np.float64)
    put("vmh", sim.vmh, np.float64)
    put("vm_hlen", sim.vm_hlen, np.int64)
    put("out", out, np.int64)
    d[slot["pe_min"]] = float(sim.pe_min)
    d[slot["mig_rate"]] = float(MIGRATION_MB_PER_S)
    d[slot["interval"]] = float(INTERVAL_S)
    det = sim.detector
    if mode == 1:
        d[slot["thr"]] = float(det.threshold)
    elif mode == 2:
        win = int(det.window)
        w[slot["w"]] = win
        w[slot["min_len"]] = max(int(det.min_history), win)
        w[slot["robust"]] = int(name == "lrr")
        d[slot["safety"]] = float(det.safety)
        d[slot["fallback"]] = float(det.fallback_threshold)
        put("vm_lr", sim.vm_lr, np.float64)
        put("vm_hz", sim.vm_hz, np.float64)
        put("alpha", sim.lr_weights[0], np.float64)
        put("beta", sim.lr_weights[1], np.float64)
        if name == "lrr":
            put("vm_res", sim.vm_res, np.float64)
            put("hat", sim.lr_hat, np.float64)
    else:
        w[slot["min_len"]] = int(det.min_history)
        d[slot["safety"]] = float(det.safety)
        d[slot["fallback"]] = float(det.fallback_threshold)
    n = K.optimize_mmt(words)
    if n < 0:
        return None
    pairs = out[: 2 * n].reshape(n, 2).tolist()
    return [(v, h) for v, h in pairs], over.view(bool)
