"""Live-migration models against virtualization-models.md sec. 1 (figure IDs as test names) and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kumo.models.migration import MIGRATION_MODELS, CloudSimMigration
from kumo.models.postcopy import ColdMigration, PostcopyMigration, loss_probability
from kumo.models.precopy import PrecopyMigration, closed_form, dirty_rate_mbps, xen_should_stop
from kumo.models.timing import GIB, MIB, PAGE_B
from kumo.models.virtualization import Virtualization

A = np.array


# ------------------------------------------------------------------------------------------ CloudSim (C/X)
def test_MIG_01_cloudsim_1024_mb_over_1_gbit():
    # C/X: exact arithmetic, 1024 / (1000 x 0.5 / 8) = 16.384 s
    assert CloudSimMigration().duration_s(A([1024.0]), A([1000.0]))[0] == pytest.approx(16.384, rel=1e-12)


def test_MIG_02_beloglazov_vm_types():
    got = CloudSimMigration().duration_s(A([613.0, 870.0, 1740.0]), A([1000.0] * 3))
    assert got == pytest.approx([9.808, 13.92, 27.84], rel=1e-12)


def test_MIG_03_cloudsim_degradation_split():
    m = CloudSimMigration()
    assert (m.source_cpu_loss, m.target_cpu_reserve) == (0.1, 0.1)
    t = m.timing(A([870.0]), A([1000.0]))
    assert t.cpu_loss[0] == 0.1 and t.downtime_s[0] == 0.0 and t.bytes_mb[0] == 870.0


def test_cloudsim_is_unchanged_and_ignores_dirty_rate():
    m = MIGRATION_MODELS["cloudsim"]()
    assert np.array_equal(m.duration_s(A([870.0]), A([1000.0])), m.duration_s(A([870.0]), A([1000.0]), A([900.0])))


# ------------------------------------------------------------------------------------------ worked example (X)
def test_MIG_12_qemu_worked_example():
    m = GIB / 1e6
    t = PrecopyMigration(rule="qemu").timing(A([m]), A([1000.0]), A([200.0]))
    cf = closed_form(m, 1000.0, 200.0, 37.5)
    # X: exact recomputation; both the loop and the closed form must give the reference's numbers
    assert cf["rounds_mb"] == pytest.approx([1073.74, 214.75, 42.95, 8.59], abs=0.005)
    assert t.bytes_mb[0] == pytest.approx(1340.03, abs=0.005) == cf["bytes_mb"]
    assert t.total_s[0] == pytest.approx(10.72, abs=0.005)
    assert t.downtime_s[0] * 1000 == pytest.approx(68.7, abs=0.05)
    assert t.rounds[0] == 3 and t.converged[0]


def test_MIG_12_setup_and_activation_add_up():
    m = GIB / 1e6
    base = PrecopyMigration().timing(A([m]), A([1000.0]), A([200.0]))
    t = PrecopyMigration(setup_s=0.05, activation_s=0.009).timing(A([m]), A([1000.0]), A([200.0]))
    assert t.total_s[0] == pytest.approx(base.total_s[0] + 0.059, rel=1e-12)
    assert t.downtime_s[0] == pytest.approx(base.downtime_s[0] + 0.009, rel=1e-12)


def test_qemu_default_rate_cap_is_128_mib_per_s():
    p = PrecopyMigration()
    assert p.effective_rate_cap_mbps == pytest.approx(128 * MIB * 8 / 1e6)
    assert p.rate_mb_per_s(A([10_000.0]))[0] == pytest.approx(128 * MIB / 1e6)
    assert p.effective_downtime_limit_s == 0.3 and PrecopyMigration(rule="simgrid").effective_downtime_limit_s == 0.03


# ------------------------------------------------------------------------------------------ SimGrid (C)
def _simgrid_fit():
    # MIG-04 gives two idle-VM points; an affine T = c + M/R through them (X arithmetic)
    r_bps = (1e9 - 1e8) / (132.766 - 13.346)
    c = 13.346 - 1e8 / r_bps
    return r_bps * 8 / 1e6, c


def test_MIG_04_idle_vm_time_is_affine_in_ram():
    mbps, c = _simgrid_fit()
    p = PrecopyMigration(rule="simgrid", setup_s=c)
    t = p.timing(A([1000.0, 100.0]), A([mbps, mbps]), A([0.0, 0.0]))
    # C: the two .tesh times, printed to the ms
    assert t.total_s == pytest.approx([132.766, 13.346], abs=1e-3)
    assert np.all(t.downtime_s == 0) and np.all(t.rounds == 1)


def test_MIG_05_two_concurrent_migrations_share_the_link():
    mbps, c = _simgrid_fit()
    v = Virtualization.build({}, ["a", "b"])
    bw = v.migration_bandwidth_mbps(A([0, 0]), A([1, 1]), A([mbps, mbps]), None, A([2, 2]))
    t = PrecopyMigration(rule="simgrid", setup_s=c).timing(A([1000.0, 1000.0]), bw, A([0.0, 0.0]))
    # C: 265.454 s each; predicted from the MIG-04 fit, so 5 ms covers the fit's ms rounding (x2)
    assert t.total_s == pytest.approx([265.454, 265.454], abs=5e-3)


def test_MIG_06_first_flow_of_partially_shared_paths():
    mbps, c = _simgrid_fit()
    v = Virtualization.build({}, ["a", "b"])
    bw = v.migration_bandwidth_mbps(A([0, 0]), A([1, 2]), A([mbps] * 3), None, A([2, 1, 1]))
    t = PrecopyMigration(rule="simgrid", setup_s=c).timing(A([1000.0, 1000.0]), bw, A([0.0, 0.0]))
    # C: 265.436 s (to Tremblay): the shared source NIC is its bottleneck; 0.05 s = SimGrid's TCP detail
    assert t.total_s[0] == pytest.approx(265.436, abs=0.05)


@pytest.mark.xfail(strict=True, reason="MIG-06's second flow (216.509 s) needs SimGrid's route/RTT network model; "
                                       "kumo shares NICs only, so both flows get half the source NIC")
def test_MIG_06_second_flow_of_partially_shared_paths():
    mbps, c = _simgrid_fit()
    v = Virtualization.build({}, ["a", "b"])
    bw = v.migration_bandwidth_mbps(A([0, 0]), A([1, 2]), A([mbps] * 3), None, A([2, 1, 1]))
    t = PrecopyMigration(rule="simgrid", setup_s=c).timing(A([1000.0, 1000.0]), bw, A([0.0, 0.0]))
    assert t.total_s[1] == pytest.approx(216.509, rel=0.01)


def test_simgrid_dirty_rate_follows_cpu_progress():
    # C (SimGrid convention): at x % vCPU the VM dirties x % as fast as at 100 %
    d = dirty_rate_mbps(A([0.0, 0.25, 1.0, 1.5]), 400.0)
    assert d == pytest.approx([0.0, 100.0, 400.0, 400.0])


def test_dirty_rate_adds_io_written_into_memory():
    # 1000 KB/s (KB = 1024 B) of disk writes and 500 KB/s received: (1500 x 1024 x 8) / 1e6 Mbit/s
    d = dirty_rate_mbps(A([0.5]), 200.0, A([1000.0]), A([500.0]))
    assert d[0] == pytest.approx(100.0 + 1500 * 1024 * 8 / 1e6)


# ------------------------------------------------------------------------------------------ Xen (C/D/X)
def test_MIG_07_xen_log_rates_are_consistent():
    # X: the log's own page counts and times give its printed rates
    assert round(28847 * PAGE_B * 8 / 1.702 / 1e6) == 555
    assert round(341 * PAGE_B * 8 / 0.012 / 1e6) == 931
    assert 28847 + 3921 == 128 * MIB / PAGE_B


def test_MIG_07_xen_starts_last_iteration_after_round_13():
    guest = 32768
    # (iteration, sent + skipped, total sent so far) from the xend log; totals below 3x the guest
    rows = [(1, 32768, 28847), (2, 3462, 32309), (12, 341, 40000), (13, 42, 40042)]
    got = [bool(xen_should_stop(i, p, tot, guest)) for i, p, tot in rows]
    assert got == [False, False, False, True]


def test_xen_caps_rounds_and_bytes():
    assert xen_should_stop(29, 10_000, 1, 32768) and not xen_should_stop(28, 10_000, 1, 32768)
    assert xen_should_stop(3, 10_000, 3 * 32768 + 1, 32768)
    assert xen_should_stop(3, 600, 1, 32768, prev_round_pages=500, rate_at_max=True)
    t = PrecopyMigration(rule="xen").timing(A([4096.0]), A([1000.0]), A([2000.0]))
    assert t.rounds[0] <= 29 and not t.converged[0]
    assert t.bytes_mb[0] <= 3 * 4096 + 4096 + 0.9 * 4096


def test_MIG_10_xen_adaptive_first_round_at_100_mbit():
    # R (Clark, Apache): first round about 62 s at 100 Mbit/s for 800 MB; wide tolerance (25 %)
    t = PrecopyMigration(rule="xen", xen_adaptive=True).timing(A([800.0]), A([1000.0]), A([0.0]))
    assert t.total_s[0] == pytest.approx(62.0, rel=0.25)


def test_MIG_08_specweb_downtime_and_bytes_are_jointly_reproduced():
    # D: 210 ms downtime (800 MB, gigabit). Fit the smallest dirty rate giving it under the QEMU rule with
    # Clark's 9 ms activation (R), then check the independent R figure: 960 MB sent = 1.2 M (+-25 %).
    p = PrecopyMigration(activation_s=0.009, rate_cap_mbps=-1)
    d = np.arange(0.0, 1000.0, 0.25)
    t = p.timing(np.full(d.size, 800.0), np.full(d.size, 1000.0), d)
    i = int(np.argmax(t.downtime_s >= 0.210))
    assert t.downtime_s[i] == pytest.approx(0.210, abs=0.002)
    assert t.bytes_mb[i] / 800.0 == pytest.approx(1.2, rel=0.25)


# ------------------------------------------------------------------------------------------ post-copy (D)
def test_MIG_15_prepaging_faults_at_most_21_percent_of_working_set():
    p = PostcopyMigration(prepaging=True, working_set_fraction=0.3, rtt_s=0.0)
    t = p.timing(A([1024.0]), A([1000.0]), A([0.0]))
    ws_pages = 0.3 * 1024.0 * 1e6 / PAGE_B
    faults = t.cpu_loss[0] * t.total_s[0] / (PAGE_B / (1000e6 / 8))
    assert faults <= 0.21 * ws_pages * (1 + 1e-9)


def test_postcopy_short_downtime_and_each_page_once():
    p = PostcopyMigration(state_mb=1.0)
    t = p.timing(A([4096.0, 64.0]), A([1000.0, 1000.0]), A([800.0, 0.0]))
    assert t.downtime_s == pytest.approx([0.008, 0.008])
    assert t.bytes_mb == pytest.approx([4097.0, 65.0])
    assert t.switchover_s == pytest.approx(t.downtime_s) and np.all(t.fragile_s > 0)


def test_hybrid_sends_dirty_pages_again_only_once():
    t = PostcopyMigration(precopy_rounds=1).timing(A([1000.0]), A([1000.0]), A([200.0]))
    # one pre-copy round of 8 s dirties 200 MB, which post-copy then pulls: 1000 + 1 + 200 MB
    assert t.bytes_mb[0] == pytest.approx(1201.0) and t.rounds[0] == 1
    assert t.total_s[0] == pytest.approx(8.0 + 0.008 + 1.6)


def test_postcopy_loss_probability():
    assert loss_probability(A([3600.0]), 3600.0 * 1000, 3600.0 * 1000)[0] == pytest.approx(1 - math.exp(-0.002))


def test_cold_migration_is_all_downtime():
    t = ColdMigration(dump_mbps=8000.0, restore_s=0.5).timing(A([1000.0]), A([1000.0]))
    assert t.total_s[0] == pytest.approx(1.0 + 8.0 + 0.5) == t.downtime_s[0]


# ------------------------------------------------------------------------------------------ auto-converge (C)
def test_auto_converge_throttles_in_qemu_steps_and_converges():
    p = PrecopyMigration(auto_converge=True, timeout_s=-1)
    t = p.timing(A([4096.0]), A([1000.0]), A([3000.0]))
    assert t.converged[0] and t.downtime_s[0] <= 0.3 + 1e-12
    assert 0 < t.cpu_loss[0] <= 0.99
    off = PrecopyMigration().timing(A([4096.0]), A([1000.0]), A([3000.0]))
    assert not off.converged[0] and off.downtime_s[0] > 0.3


def test_auto_converge_needs_two_triggers_before_throttling():
    # rho = 0.6 > 0.5: rounds 1 and 2 trigger, so the throttle starts only after the second round
    p = PrecopyMigration(auto_converge=True, downtime_limit_s=1e-6)
    t1 = p.timing(A([1000.0]), A([1000.0]), A([600.0]))
    t0 = PrecopyMigration(downtime_limit_s=1e-6).timing(A([1000.0]), A([1000.0]), A([600.0]))
    assert t1.total_s[0] < t0.total_s[0]
    assert PrecopyMigration(auto_converge=True, throttle_trigger_count=1).validate() == []


# ------------------------------------------------------------------------------------------ properties
RULES = ["qemu", "xen", "simgrid", "hyperv"]
ram = st.floats(16.0, 32768.0)
rate = st.floats(0.0, 4000.0)
bw = st.floats(50.0, 40000.0)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(RULES), st.booleans(), ram, rate, bw, st.floats(0.0, 0.5))
def test_downtime_never_exceeds_total(rule, ac, m, d, b, z):
    t = PrecopyMigration(rule=rule, auto_converge=ac, zero_fraction=z, activation_s=0.01).timing(A([m]), A([b]), A([d]))
    assert 0 <= t.downtime_s[0] <= t.total_s[0] and np.isfinite(t.total_s[0])
    assert 0 <= t.cpu_loss[0] <= 1 and t.bytes_mb[0] >= (1 - z) * m - 1e-9
    pc = PostcopyMigration(precopy_rounds=int(ac)).timing(A([m]), A([b]), A([d]))
    assert 0 <= pc.downtime_s[0] <= pc.switchover_s[0] <= pc.total_s[0]


# Xen's 3 M byte cap and auto-converge both make time non-monotone on purpose (an earlier forced stop; a
# throttle that kicks in sooner), so monotonicity is a property of the threshold rules without throttling.
@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["qemu", "simgrid", "hyperv"]), ram, rate, rate, bw)
def test_higher_dirty_rate_never_shortens_precopy(rule, m, d1, d2, b):
    lo, hi = sorted((d1, d2))
    t = PrecopyMigration(rule=rule).timing(A([m, m]), A([b, b]), A([lo, hi]))
    assert t.total_s[1] >= t.total_s[0] * (1 - 1e-9)
    assert t.bytes_mb[1] >= t.bytes_mb[0] * (1 - 1e-9)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["qemu", "simgrid", "hyperv"]), ram, rate, bw, bw)
def test_more_bandwidth_never_lengthens_a_migration(rule, m, d, b1, b2):
    lo, hi = sorted((b1, b2))
    t = PrecopyMigration(rule=rule).timing(A([m, m]), A([lo, hi]), A([d, d]))
    assert t.total_s[1] <= t.total_s[0] * (1 + 1e-9)
    for model in (PostcopyMigration(), CloudSimMigration(), ColdMigration()):
        u = model.timing(A([m, m]), A([lo, hi]), A([d, d]))
        assert u.total_s[1] <= u.total_s[0] * (1 + 1e-9)


@settings(max_examples=100, deadline=None)
@given(ram, rate, bw)
def test_qemu_downtime_within_limit_iff_converged(m, d, b):
    p = PrecopyMigration(activation_s=0.005)
    t = p.timing(A([m]), A([b]), A([d]))
    if t.converged[0]:
        assert t.downtime_s[0] <= 0.3 + 0.005 + 1e-9
    else:
        # a forced switch is never reported as a short downtime
        assert t.downtime_s[0] > 0.3 + 0.005 - 1e-9


@settings(max_examples=60, deadline=None)
@given(ram, st.floats(1.0, 4.0), bw)
def test_non_convergent_qemu_hits_timeout(m, ratio, b):
    t = PrecopyMigration(timeout_s=120.0, rate_cap_mbps=-1).timing(A([m]), A([b]), A([ratio * b]))
    if m * 8 / b > 2 * 0.3:  # not small enough to go in one stop-and-copy
        assert not t.converged[0] and t.total_s[0] == pytest.approx(120.0 + t.downtime_s[0], rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.floats(16.0, 8192.0), bw, st.sampled_from(RULES))
def test_idle_vm_time_is_linear_in_memory(m, b, rule):
    p = PrecopyMigration(rule=rule, rate_cap_mbps=-1)
    t = p.timing(A([m, 2 * m]), A([b, b]), A([0.0, 0.0]))
    assert t.total_s[1] == pytest.approx(2 * t.total_s[0], rel=1e-9)


def test_vectorized_equals_one_by_one():
    rng = np.random.default_rng(1)
    m, d, b = rng.uniform(100, 8000, 40), rng.uniform(0, 1500, 40), rng.uniform(200, 10000, 40)
    for rule in RULES:
        p = PrecopyMigration(rule=rule, auto_converge=rule == "qemu")
        t = p.timing(m, b, d)
        for i in range(0, 40, 7):
            one = p.timing(m[i:i + 1], b[i:i + 1], d[i:i + 1])
            assert one.total_s[0] == pytest.approx(t.total_s[i], rel=1e-12)
            assert one.downtime_s[0] == pytest.approx(t.downtime_s[i], rel=1e-12)


def test_validation_lists_every_problem():
    issues = PrecopyMigration(rule="vmware", wws_fraction=2, timeout_s=-5, xen_max_iters=0).validate()
    assert len(issues) == 4 and issues[0].startswith("rule:")
    assert PostcopyMigration(fault_fraction=3, precopy_rounds=-1).validate()
    for name, cls in MIGRATION_MODELS.items():
        assert cls().validate() == [], name


@pytest.mark.parametrize("model", ["precopy", "postcopy", "cold"])
def test_new_models_run_in_the_engine_unchanged(model):
    from conftest import make_scenario, make_trace

    from kumo.engine import Engine

    params = {} if model == "cold" else {"dirty_mbps": 200.0}
    sc = make_scenario(hosts=((2, 2, 1000.0, 4096.0),), migration={"model": model, "params": params})
    e = Engine(sc, make_trace([[300.0]], booked_ram=[1024.0]))
    e.step(0)
    src = int(e.state.vm_host[0])
    e.start_migration(0, 1 - src, 0.0)
    want = MIGRATION_MODELS[model](**params)
    dur = want.duration_s(A([1024.0]), A([1000.0]), A([200.0]))[0]
    assert e.log.migrations["end_s"][0] == pytest.approx(dur) and e.vm_acc["downtime_s"][0] > 0
