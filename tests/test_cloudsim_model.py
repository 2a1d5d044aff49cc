"""CloudSim compatibility mode, building blocks: hand-computed oracles for the power model, the trace
interpolation, energy, Java's HashMap order, the state-history metrics, and the exactness of the fast
screens against the policies' own code."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kumo.policies import registry
from kumo.policies.selection import MaximumCorrelation, SelectionContext
from kumo.studies.cloudsim import _model as M
from kumo.studies.cloudsim._accounting import Histories
from kumo.studies.cloudsim._screens import mc_pick_screen, spread_overloaded

G4 = M.POWER[0]
G5 = M.POWER[1]


# --------------------------------------------------------------------------------------------- power


def test_spec_power_uses_the_table_entry_where_u_mod_0_1_is_zero():
    # 0.8 % 0.1 == 0 in doubles: CloudSim returns P[8] without interpolating
    assert M.spec_power(np.array([0.8]), G4)[0] == 112.0
    assert M.spec_power_one(0.8, tuple(G4)) == 112.0
    assert M.spec_power(np.array([0.0, 0.1, 0.2, 0.4]), G5).tolist() == [93.7, 97.0, 101.0, 110.0]


def test_spec_power_interpolates_in_cloudsims_operation_order():
    u = 0.25
    expected = 92.6 + (96.0 - 92.6) / 10 * (u - 2 / 10) * 100  # P[2] + (P[3]-P[2])/10 * (u - f/10) * 100
    assert M.spec_power(np.array([u]), G4)[0] == expected
    assert M.spec_power_flat(np.array([u]), np.array([0]))[0] == expected
    assert M.spec_power_one(u, tuple(G4)) == expected
    # 0.3 % 0.1 != 0 in doubles, but 10 * 0.3 rounds to exactly 3: P[3] by the formula
    assert M.spec_power(np.array([0.3]), G4)[0] == 96.0


def test_full_load_and_clamp():
    assert M.spec_power(np.array([1.0]), G5)[0] == 135.0
    assert M.clamp_util(np.array([1.005, 1.01, 0.5])).tolist() == [1.0, 1.01, 0.5]


def test_interval_energy_is_zero_after_idle_and_a_trapezoid_otherwise():
    e = M.interval_energy(np.array([0.0, 0.5]), np.array([0.5, 0.8]), G4, 300.0)
    p0, p1 = 102.0, 112.0  # P(0.5), P(0.8) of the G4
    assert e[0] == 0.0  # the host counts as off for an interval that starts at 0 %
    assert e[1] == (p0 + (p1 - p0) / 2) * 300.0


def test_seq_sum_is_a_left_to_right_java_loop():
    x = np.array([1e16, 1.0, -1e16, 1.0])
    s = 0.0
    for v in x.tolist():
        s += v
    assert M.seq_sum(x) == s


# --------------------------------------------------------------------------------------------- trace


def test_trace_interpolation_at_update_times():
    data = M.trace_matrix(np.array([[10, 40], [30, 40], [50, 0]]))
    assert data.shape == (4, 2) and data[3].tolist() == data[2].tolist()  # d[n] = d[n-1]
    u = M.utilization_at(data, 300.1)
    assert u[0] == 0.3 + (0.5 - 0.3) / (1 * 300.0) * (300.1 - 1 * 300.0)
    assert u[1] == 0.4 + (0.0 - 0.4) / 300.0 * (300.1 - 300.0)
    assert M.utilization_at(data, 600.0).tolist() == [0.5, 0.0]  # a multiple of 300 s is the sample itself


def test_update_times_accumulate_in_doubles_and_keep_the_history_rule():
    t = M.START_S
    for _ in range(287):
        t += M.INTERVAL_S
        assert math.fmod(t - 0.1, 300.0) == 0  # every periodic update appends to the VM histories
    assert t == 86100.1 + 0.0 or abs(t - 86100.1) < 1e-9


# --------------------------------------------------------------------------------------------- HashMap


def test_java_string_hash_and_hashmap_table_size():
    # "2-0".hashCode() = '2'*31^2 + '-'*31 + '0' = 50*961 + 45*31 + 48
    assert M.java_string_hash("2-0") == 50 * 961 + 45 * 31 + 48
    assert M.vm_uid_hashes(1)[0] == 49493  # 49493 >>> 16 == 0
    assert M.hashmap_capacity(np.array([0, 12, 13, 24, 25, 48, 49])).tolist() == [16, 16, 32, 32, 64, 64, 128]


# --------------------------------------------------------------------------------------------- histories


def test_host_history_pairs_give_slatah_and_shutdowns():
    h = Histories(2, 1)
    all_hosts = np.arange(2)
    # host 0: active and short for 100 s, then active and fine for 200 s, then idle; host 1: always idle
    h.host_entries(all_hosts, 0.0, np.array([50.0, 0.0]), np.array([60.0, 0.0]))
    h.host_entries(all_hosts, 100.0, np.array([70.0, 0.0]), np.array([70.0, 0.0]))
    h.host_entries(all_hosts, 300.0, np.array([1.0, 0.0]), np.array([9.0, 0.0]))
    h.host_entries(all_hosts, 300.0, np.array([0.0, 0.0]), np.array([0.0, 0.0]))  # same time: replaces
    h.host_entries(all_hosts, 400.0, np.array([0.0, 0.0]), np.array([0.0, 0.0]))
    h.close()
    m = h.metrics()
    assert m["slatah"] == 100.0 / 300.0
    # host 1 is idle at its first entry: one shutdown (the walk starts with "previous = active");
    # host 0 goes idle at 300 s, 300 s after the start of the walk
    assert m["host_shutdowns"] == 2.0
    assert m["time_before_host_shutdown_mean_s"] == (0.0 + 300.0) / 2


def test_vm_history_pairs_give_pdm_and_overall():
    h = Histories(1, 2)
    vms = np.arange(2)
    h.vm_entries(vms, 0.0, np.array([90.0, 100.0]), np.array([100.0, 100.0]), np.array([True, False]))
    h.vm_entries(vms, 10.0, np.array([100.0, 50.0]), np.array([100.0, 100.0]), np.array([False, False]))
    h.vm_entries(vms, 20.0, np.array([100.0, 100.0]), np.array([100.0, 100.0]), None)
    h.close()
    m = h.metrics()
    requested = 4 * 100.0 * 10
    assert m["pdm"] == (10.0 * 10) / requested  # only the first VM's shortfall is during a migration
    assert m["sla_overall"] == (10.0 * 10 + 50.0 * 10) / requested
    assert m["sla_average"] == (0.1 + 0.5) / 2
    assert m["time_before_vm_migration_mean_s"] == 10.0  # migration started at 0, over at the 10 s entry


# --------------------------------------------------------------------------------------------- screens


@pytest.mark.parametrize("kind", ["iqr", "mad"])
def test_spread_rows_equal_the_detector_bit_for_bit(kind):
    det = registry.make("detection", kind)
    rng = np.random.default_rng(3)
    for _ in range(400):
        k = int(rng.integers(1, 7))
        rows = np.round(rng.random((k, 30)) * rng.integers(1, 4), int(rng.integers(1, 4)))
        for i in range(k):
            rows[i, int(rng.integers(1, 31)):] = 0.0
        n = np.array([np.flatnonzero(r)[-1] + 1 if r.any() else 1 for r in rows])
        util = rng.random(k) * 1.2
        util = np.where(rng.random(k) < 0.3, det.upper_threshold(rows, n), util)  # knife edges
        assert np.array_equal(spread_overloaded(det, kind, util, rows, n), np.asarray(det.overloaded(util, rows, n)))


def test_mc_screen_agrees_with_the_exact_pick_or_defers():
    rng = np.random.default_rng(5)
    decided = 0
    for _ in range(150):
        k = int(rng.integers(1, 9))
        m = int(rng.integers(2, 31))
        hist = np.round(rng.random((k, 30)), 2) * rng.random((k, 1))
        hist_len = np.full(k, m)
        ctx = SelectionContext(np.arange(k), np.full(k, 870.0), np.ones(k), np.ones(k), np.zeros(k), np.ones(k),
                               hist, hist_len, 1000.0, 4096.0, 1.0, 0.0)
        fast = mc_pick_screen(hist, hist_len)
        if fast is not None:
            decided += 1
            assert fast == MaximumCorrelation().pick(ctx, rng)
    assert decided > 50  # the screen decides the clear cases
