"""CPU, paging and I/O virtualization models against virtualization-models.md secs. 3-5."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kumo.models.cpu import (
    MODES,
    PAGE_SIZES,
    PAGING,
    WORKLOADS,
    CpuVirtModel,
    emulation_factor,
    translation_slowdown,
    walk_refs,
    workload_arrays,
)
from kumo.models.io import IO_MODES, IO_PATHS, SYSCALL_CYCLES, IoModel, migratable, pinned_memory

A = np.array
M = CpuVirtModel()


def mult(mode: str, workload: str, paging: str = "nested", page: str = "4k", core_mhz: float = 2600.0) -> float:
    w = workload_arrays([workload])
    return float(M.multiplier(A([MODES.index(mode)]), w, A([PAGING.index(paging)]), A([PAGE_SIZES.index(page)]),
                              A([core_mhz]), 40.0)[0])


# ------------------------------------------------------------------------------------------ emulation (B/X)
@pytest.mark.parametrize(("emu", "opt", "unopt"), [("qemu-0.9.0", 40.4, 46.2), ("bochs-2.3.5", 96.2, 119.2),
                                                   ("bochs-2.3.7", 30.8, 38.5)])
def test_CPU_02_to_04_emulation_factors(emu, opt, unopt):
    # B/X: alpha = T_emul / 0.26 s, as printed to one decimal
    assert round(emulation_factor(emu), 1) == opt
    assert round(emulation_factor(emu, optimized=False), 1) == unopt


def test_CPU_01_emulated_mode_multiplies_demand():
    w = workload_arrays(["compute"])
    got = M.multiplier(A([MODES.index("emulation")]), w, A([0]), A([0]), A([2600.0]), emulation_factor("qemu-0.9.0"))
    assert got[0] * 0.26 == pytest.approx(10.5)


# ------------------------------------------------------------------------------------------ hardware assist (C/D)
def test_CPU_05_06_PAG_03_compute_bound_overhead_below_5_percent():
    # C/D: Firecracker > 95 % of bare metal; SPECint2000 < 5 % overhead under hardware assist
    for paging in PAGING:
        assert 1.0 / mult("hardware", "compute", paging) > 0.95
        assert mult("hardware", "compute", paging) - 1 < 0.05


def test_CPU_07_tuned_kvm_linpack():
    # R: tuned KVM Linpack 284.2 / 290.8 GFLOPS of native; wide tolerance (a compute profile, not Linpack)
    assert 1.0 / mult("hardware", "compute") == pytest.approx(284.2 / 290.8, rel=0.25)


def test_CPU_09_forkwait_ordering():
    # R: forkwait native 6.0 s < software VMM (BT) 36.9 s < first-generation VT-x with shadow paging 106.4 s.
    # Only the ordering is asserted: the magnitudes need first-generation exit costs we have no figure for.
    assert 1.0 < mult("binary-translation", "mmu-micro") < mult("hardware", "mmu-micro", "shadow")


def test_exit_cost_scales_linearly_with_rate_and_cost():
    base = M.exit_overhead(10_000.0, 2600.0)
    assert M.exit_overhead(20_000.0, 2600.0) == pytest.approx(2 * base)
    assert CpuVirtModel(exit_cycles=6000.0).exit_overhead(10_000.0, 2600.0) == pytest.approx(2 * base)
    assert base == pytest.approx(10_000 * 4000 / 2.6e9)


# ------------------------------------------------------------------------------------------ paging (D/X)
def test_PAG_01_07_walk_references():
    assert [int(walk_refs(n, n)) for n in (4, 5, 3, 2)] == [24, 35, 15, 8]


def test_PAG_04_05_nested_gains_within_published_ranges():
    # D: nested over shadow up to +42 % (RVI) / +48 % (EPT) on MMU-intensive benchmarks,
    # up to +500 % / +600 % on MMU microbenchmarks
    gain = mult("hardware", "mmu", "shadow") / mult("hardware", "mmu", "nested") - 1
    assert 0 < gain <= 0.48
    micro = mult("hardware", "mmu-micro", "shadow") / mult("hardware", "mmu-micro", "nested") - 1
    assert gain < micro <= 6.0


def test_PAG_06_walk_flattening_cross_prediction():
    # D: native 1.5 -> 1.0 accesses per walk gives +2.3 %; fit k on that, predict virtualized 4.4 -> 2.8
    # (D: +7.1 %). 0.5 points = the paper averages different workloads for the two numbers.
    k = 0.023 / (1.5 - 1.0 - 0.023 * 1.0)
    assert translation_slowdown(1.5, k) / translation_slowdown(1.0, k) == pytest.approx(1.023)
    pred = translation_slowdown(4.4, k) / translation_slowdown(2.8, k) - 1
    assert pred == pytest.approx(0.071, abs=0.005)
    assert (M.native_accesses_per_walk, M.nested_accesses_per_walk) == (1.5, 4.4)


def test_tlb_bound_work_prefers_shadow_and_mmu_work_prefers_nested():
    assert mult("hardware", "tlb", "nested") > mult("hardware", "tlb", "shadow")
    assert mult("hardware", "mmu", "nested") < mult("hardware", "mmu", "shadow")


@settings(max_examples=80, deadline=None)
@given(st.floats(0.0, 50.0), st.floats(0.3, 5.0), st.floats(0.0, 1e6), st.floats(1000.0, 4000.0))
def test_paging_properties(mpki, cpi, pte, f):
    wl = {k: A([v]) for k, v in vars(WORKLOADS["server"]).items()}
    wl.update(tlb_mpki=A([mpki]), cpi=A([cpi]), pte_writes_per_s=A([pte]))
    costs = [float(M.paging_overhead(wl, A([0]), A([p]), A([f]))[0]) for p in range(3)]
    # large pages never increase the nested walk cost
    assert costs[0] >= costs[1] >= costs[2] >= 0
    # with no page-table activity, nested is never cheaper than shadow
    quiet = dict(wl, pte_writes_per_s=A([0.0]), cr3_switches_per_s=A([0.0]), hidden_faults_per_s=A([0.0]))
    assert M.paging_overhead(quiet, A([0]), A([0]), A([f]))[0] >= M.paging_overhead(quiet, A([1]), A([0]), A([f]))[0]


def test_cpu_model_validation():
    assert CpuVirtModel().validate() == []
    assert len(CpuVirtModel(base_overhead=-1, bt_kernel_slowdown=0.5).validate()) == 2


# ------------------------------------------------------------------------------------------ I/O (C/D/R)
IO = IoModel()
NET = np.arange(len(IO_MODES))


def idx(mode: str) -> np.ndarray:
    return A([IO_MODES.index(mode)])


def test_IO_01_emulated_10gbe():
    # D: device emulation tops out at 4.5-6.5 Gbit/s on a 10 GbE NIC (one 2.3-2.6 GHz core)
    for f in (2300.0, 2600.0):
        assert 4500 <= IO.backend_cap_mbps(idx("emulated"), "net", A([f]))[0] <= 6500


def test_IO_02_virtio_net_one_core():
    # C: 25 Gbit/s at 100 % of one core (i3.metal, 2.3 GHz), and >= 14.5 Gbit/s with <= 80 % of it
    assert IO.backend_cap_mbps(idx("virtio-user"), "net", A([2300.0]))[0] == pytest.approx(25_000, rel=1e-3)
    assert IO.backend_cap_mbps(idx("virtio-user"), "net", A([2300.0]), cores=0.8)[0] >= 14_500


def test_IO_03_virtio_added_latency():
    r = IO.evaluate(idx("virtio-user"), A([100.0]), A([0.0]), A([2300.0]))
    assert r.latency_s[0] == pytest.approx(60e-6)  # C: 0.06 ms


def test_IO_04_virtio_block_1_gib_s_under_70_percent():
    gib_mbps = 2**30 * 8 / 1e6
    assert IO.backend_cap_mbps(idx("virtio-user"), "disk", A([2300.0]), cores=0.7)[0] >= gib_mbps


def test_IO_05_exitless_interrupts():
    # D: ELI 1.3-1.6x better, reaching 97-100 % of bare metal; X: baseline assignment 61-77 %
    base = IO.assignment_efficiency(idx("sriov"), 70_000.0, A([2600.0]))[0]
    eli = IoModel(interrupts="posted").assignment_efficiency(idx("sriov"), 70_000.0, A([2600.0]))[0]
    assert 0.61 <= base <= 0.77 and 0.97 <= eli <= 1.0 and 1.3 <= eli / base <= 1.6


def test_IO_06_CPU_11_direct_interrupt_delivery():
    # D: 100x fewer exits and -80 % interrupt latency (1 point: the figure is given as a round percentage)
    posted = IoModel(interrupts="posted")
    assert IO.exits_per_irq(idx("sriov"))[0] / posted.exits_per_irq(idx("sriov"))[0] == pytest.approx(100)
    lat = posted.irq_latency_s(idx("sriov"), A([2600.0]))[0] / IO.irq_latency_s(idx("sriov"), A([2600.0]))[0]
    assert 1 - lat == pytest.approx(0.80, abs=0.01)


def test_IO_07_virtio_blk_random_4k_about_half_native():
    # R: about half of native IOPS for random 4 KiB; wide tolerance (25 %)
    assert IO.random_iops_fraction(idx("virtio"))[0] == pytest.approx(0.5, rel=0.25)


def test_IO_08_vhost_request_response_latency():
    # R: about +30 us per transaction with KVM's kernel backend
    assert IO_PATHS[("virtio", "net")].latency_s == pytest.approx(30e-6, rel=0.25)


def test_IO_09_vhost_saves_four_syscalls_per_packet():
    extra = IO_PATHS[("virtio-user", "net")].cycles_per_request - IO_PATHS[("virtio", "net")].cycles_per_request
    assert extra == 4 * SYSCALL_CYCLES


def test_io_ranking_invariant():
    f = np.full(len(IO_MODES), 2600.0)
    cap = IO.backend_cap_mbps(NET, "net", f)
    order = [IO_MODES.index(m) for m in ("emulated", "virtio-user", "virtio", "passthrough")]
    assert np.all(np.diff(cap[order]) > 0)
    cpu = IO.evaluate(NET, np.full(len(IO_MODES), 1000.0), np.zeros(len(IO_MODES)), f).host_cpu_mhz
    assert np.all(np.diff(cpu[order]) < 0) and cpu[IO_MODES.index("native")] == 0


def test_passthrough_and_sriov_pin_the_vm():
    assert list(migratable(NET)) == [True, True, True, True, False, False]
    assert list(pinned_memory(NET)) == [False, False, False, False, True, True]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 30_000.0), min_size=1, max_size=12), st.integers(0, 2**31 - 1))
def test_nic_share_never_exceeds_line_rate(demand, seed):
    rng = np.random.default_rng(seed)
    n = len(demand)
    mode = rng.integers(0, len(IO_MODES), n)
    host = rng.integers(-1, 3, n)
    nic = A([10_000.0, 25_000.0, 1000.0])
    r = IO.evaluate(mode, A(demand), np.zeros(n), np.full(n, 2600.0), host, nic)
    got = A(demand) * r.net_fraction
    for h in range(3):
        assert got[host == h].sum() <= nic[h] * (1 + 1e-9)
    assert np.all((r.net_fraction >= 0) & (r.net_fraction <= 1)) and np.all(r.host_cpu_mhz >= 0)
