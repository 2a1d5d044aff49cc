"""CPU virtualization cost: execution modes, VM exits, and shadow vs nested paging, as demand multipliers.

Each VM runs in one mode; its CPU demand (MHz of native work) becomes ``demand x multiplier`` MHz on its
host (virtualization-models.md secs. 3-4). With f the host core clock in Hz and per-vCPU-second event rates
of the VM's workload profile (at 100 % busy)::

    native (bare metal, containers)   1
    hardware-assisted (VT-x/AMD-V)    1 + base + exits (c_exit + c_handle) / f + paging
    binary translation (VMware BT)    1 + base + kernel_fraction (bt_slowdown - 1) + shadow(c_bt_sync)
    paravirtual (Xen PV)              1 + base + (hypercalls + pte_writes / batch + cr3) c_hypercall / f
    full emulation (QEMU TCG, Bochs)  alpha = T_emul / T_native (the seed's loop benchmark, CPU-01..04)

Paging, relative to native (sec. 3.1)::

    walk references   native n,  nested (n+1)(m+1) - 1  (24 for 4/4 levels; large pages cut n and m)
    nested            MPKI x L x (a_2D - a_1D) / (1000 CPI),   a_1D = 1.5 n/4,  a_2D = 4.4 refs(n, m)/24
    shadow            (pte_writes + cr3_switches + hidden_faults) x c_sync / f

``a_1D = 1.5`` and ``a_2D = 4.4`` memory accesses per walk with page-walk caches are the D figures of
"Every Walk's a Hit"; L is the mean latency of one walk access in cycles. Nested paging has no exits for
page-table updates but longer TLB-miss walks; shadow paging the reverse. The defaults (2 % base overhead,
2000-cycle direct exit (SplitX, D), handling cost, workload profiles) are engineering values chosen so the
D-tagged bounds hold: compute-bound overhead < 5 % (PAG-03, CPU-05/06), nested gains over shadow within
+42-48 % for MMU-intensive work and +500-600 % for MMU microbenchmarks (PAG-04/05).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

MODES = ("native", "hardware", "binary-translation", "paravirtual", "emulation")
PAGING = ("nested", "shadow")
PAGE_SIZES = ("4k", "2m", "1g")
#: page-table levels a walk traverses for each page size (4-level x86-64 tables)
PAGE_LEVELS = {"4k": 4, "2m": 3, "1g": 2}

#: the seed's loop benchmark: native seconds and (optimized, unoptimized) seconds per emulator (B)
NATIVE_LOOP_S = 0.26
EMULATOR_LOOP_S = {"qemu-0.9.0": (10.5, 12.0), "bochs-2.3.5": (25.0, 31.0), "bochs-2.3.7": (8.0, 10.0)}

#: direct cost of one VM exit, cycles (sec. 4.2; D)
EXIT_CYCLES = {"vmx-nehalem": 2000.0, "svm-vmrun-vmexit": 1360.0, "svm-kvm-run-roundtrip": 2555.0}
#: hypercall round trip, cycles (Dall et al. ISCA 2016; R, verify)
HYPERCALL_CYCLES = {"kvm-x86": 1300.0, "xen-x86": 1228.0, "kvm-arm": 6500.0, "xen-arm": 376.0}


def emulation_factor(emulator: str, optimized: bool = True) -> float:
    """alpha = T_emul / T_native for the seed's loop benchmark (CPU-02..04): e.g. QEMU 0.9.0 10.5/0.26."""
    opt, unopt = EMULATOR_LOOP_S[emulator]
    return (opt if optimized else unopt) / NATIVE_LOOP_S


def walk_refs(n: np.ndarray | int, m: np.ndarray | int) -> np.ndarray:
    """Memory references of a two-dimensional walk, worst case: (n+1)(m+1) - 1 (PAG-01/07)."""
    n, m = np.asarray(n), np.asarray(m)
    return (n + 1) * (m + 1) - 1


def translation_slowdown(accesses_per_walk: np.ndarray | float, k: float) -> np.ndarray:
    """Runtime factor 1 + k x accesses, k = MPKI x L / (1000 CPI): the walk share of run time."""
    return 1.0 + k * np.asarray(accesses_per_walk, np.float64)


@dataclass(frozen=True)
class Workload:
    """A guest workload's virtualization-sensitive event rates per busy vCPU-second (engineering profiles)."""

    tlb_mpki: float = 0.2
    cpi: float = 1.0
    pte_writes_per_s: float = 100.0
    cr3_switches_per_s: float = 100.0
    hidden_faults_per_s: float = 100.0
    exits_per_s: float = 1000.0
    hypercalls_per_s: float = 500.0
    kernel_fraction: float = 0.02


#: profiles for the workload classes of sec. 3.2
WORKLOADS: dict[str, Workload] = {
    "compute": Workload(),
    "server": Workload(tlb_mpki=1.0, cpi=1.5, pte_writes_per_s=20_000, cr3_switches_per_s=5_000,
                       hidden_faults_per_s=5_000, exits_per_s=10_000, hypercalls_per_s=5_000, kernel_fraction=0.2),
    "mmu": Workload(tlb_mpki=1.0, cpi=1.5, pte_writes_per_s=100_000, cr3_switches_per_s=10_000,
                    hidden_faults_per_s=20_000, exits_per_s=5_000, hypercalls_per_s=5_000, kernel_fraction=0.3),
    "mmu-micro": Workload(tlb_mpki=1.0, cpi=1.5, pte_writes_per_s=1_000_000, cr3_switches_per_s=100_000,
                          hidden_faults_per_s=200_000, exits_per_s=5_000, hypercalls_per_s=5_000, kernel_fraction=0.8),
    "tlb": Workload(tlb_mpki=10.0, cpi=4.0, pte_writes_per_s=100, cr3_switches_per_s=100, hidden_faults_per_s=100,
                    exits_per_s=1000, hypercalls_per_s=500, kernel_fraction=0.02),
}


def workload_arrays(names: list[str], table: dict[str, Workload] | None = None) -> dict[str, np.ndarray]:
    """Column arrays (len(names),) of the named profiles, for vectorized evaluation."""
    t = WORKLOADS if table is None else table
    return {f.name: np.array([getattr(t[n], f.name) for n in names], np.float64) for f in fields(Workload)}


@dataclass(frozen=True)
class CpuVirtModel:
    """Demand multipliers per virtualization mode (Popek-Goldberg trap-and-emulate cost; module docstring)."""

    base_overhead: float = 0.02
    exit_cycles: float = 2000.0
    exit_handle_cycles: float = 2000.0
    shadow_sync_cycles: float = 6000.0
    bt_sync_cycles: float = 2000.0
    bt_kernel_slowdown: float = 3.0
    hypercall_cycles: float = 1300.0
    pv_batch: float = 8.0
    walk_access_cycles: float = 30.0
    native_accesses_per_walk: float = 1.5
    nested_accesses_per_walk: float = 4.4

    def validate(self) -> list[str]:
        out = []
        for f in fields(self):
            v = getattr(self, f.name)
            if not (np.isfinite(v) and v >= 0):
                out.append(f"{f.name}: must be finite and >= 0, got {v}")
        if self.bt_kernel_slowdown < 1:
            out.append(f"bt_kernel_slowdown: must be >= 1, got {self.bt_kernel_slowdown}")
        if self.pv_batch < 1:
            out.append(f"pv_batch: must be >= 1, got {self.pv_batch}")
        return out

    def accesses_per_walk(self, page_idx: np.ndarray, nested: bool) -> np.ndarray:
        """Mean memory accesses per TLB-miss walk with page-walk caches, scaled by the walk length."""
        lv = np.array([PAGE_LEVELS[p] for p in PAGE_SIZES])[np.asarray(page_idx, np.int64)]
        if nested:
            return self.nested_accesses_per_walk * walk_refs(lv, lv) / 24.0
        return self.native_accesses_per_walk * lv / 4.0

    def paging_overhead(self, w: dict[str, np.ndarray], paging_idx: np.ndarray, page_idx: np.ndarray,
                        core_mhz: np.ndarray, sync_cycles: float | None = None) -> np.ndarray:
        """Extra fraction of native run time for address translation (nested or shadow per VM)."""
        f_hz = np.asarray(core_mhz, np.float64) * 1e6
        a1 = self.accesses_per_walk(page_idx, nested=False)
        a2 = self.accesses_per_walk(page_idx, nested=True)
        nested = w["tlb_mpki"] * self.walk_access_cycles * (a2 - a1) / (1000.0 * w["cpi"])
        c = self.shadow_sync_cycles if sync_cycles is None else sync_cycles
        shadow = (w["pte_writes_per_s"] + w["cr3_switches_per_s"] + w["hidden_faults_per_s"]) * c / f_hz
        return np.where(np.asarray(paging_idx) == PAGING.index("shadow"), shadow, nested)

    def coefficients(self, mode_idx: np.ndarray, workload: dict[str, np.ndarray], paging_idx: np.ndarray,
                     page_idx: np.ndarray, alpha: np.ndarray | float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """(a, b) per VM with ``multiplier = a + b / f_hz``: the clock-free part and the cycles per second.

        Static per VM, so the engine can compute them once and evaluate ``a + b / (core_mhz x 1e6)`` per step.
        """
        mode = np.asarray(mode_idx, np.int64)
        w = workload
        nested = np.asarray(paging_idx) == PAGING.index("nested")
        a1 = self.accesses_per_walk(page_idx, nested=False)
        a2 = self.accesses_per_walk(page_idx, nested=True)
        walk = w["tlb_mpki"] * self.walk_access_cycles * (a2 - a1) / (1000.0 * w["cpi"])
        pt_events = w["pte_writes_per_s"] + w["cr3_switches_per_s"] + w["hidden_faults_per_s"]
        exits = w["exits_per_s"] * (self.exit_cycles + self.exit_handle_cycles)
        one = np.ones(mode.shape)
        a = np.stack([one, 1 + self.base_overhead + np.where(nested, walk, 0.0),
                      1 + self.base_overhead + w["kernel_fraction"] * (self.bt_kernel_slowdown - 1),
                      (1 + self.base_overhead) * one, np.broadcast_to(np.asarray(alpha, np.float64), mode.shape)])
        b = np.stack([0 * one, exits + np.where(nested, 0.0, pt_events * self.shadow_sync_cycles),
                      pt_events * self.bt_sync_cycles,
                      (w["hypercalls_per_s"] + w["pte_writes_per_s"] / self.pv_batch + w["cr3_switches_per_s"])
                      * self.hypercall_cycles, 0 * one])
        pick = mode[None, :]
        return np.take_along_axis(a, pick, axis=0)[0], np.take_along_axis(b, pick, axis=0)[0]

    def multiplier(
        self,
        mode_idx: np.ndarray,
        workload: dict[str, np.ndarray],
        paging_idx: np.ndarray,
        page_idx: np.ndarray,
        core_mhz: np.ndarray,
        alpha: np.ndarray | float = 1.0,
    ) -> np.ndarray:
        """(n,) host cycles per native guest cycle.

        Parameters
        ----------
        mode_idx : (n,) int index into :data:`MODES`.
        workload : column arrays of :class:`Workload`, each (n,) (see :func:`workload_arrays`).
        paging_idx, page_idx : (n,) indices into :data:`PAGING` and :data:`PAGE_SIZES`.
        core_mhz : (n,) clock of the host core the VM runs on, MHz.
        alpha : (n,) or scalar emulation factor for mode ``emulation``.
        """
        a, b = self.coefficients(mode_idx, workload, paging_idx, page_idx, alpha)
        return a + b / (np.asarray(core_mhz, np.float64) * 1e6)

    def exit_overhead(self, exits_per_s: np.ndarray | float, core_mhz: np.ndarray | float) -> np.ndarray:
        """Fraction of a busy vCPU spent in exits: rate x (c_exit + c_handle) / f (linear in both)."""
        return np.asarray(exits_per_s, np.float64) * (self.exit_cycles + self.exit_handle_cycles) / (
            np.asarray(core_mhz, np.float64) * 1e6)
