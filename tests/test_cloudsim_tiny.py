"""CloudSim compatibility mode on tiny worlds where the right answer can be worked out by hand.

Host i is a G4 (2 x 1860 MIPS, 3720 in all) if i is even, a G5 (2 x 2660, 5320) if odd. With 4 files the VMs
are one of each type: VM0 2500 MIPS / 870 MB, VM1 2000 / 1740, VM2 1000 / 1740, VM3 500 / 613. Watts at
0, 10, ... 100 %: G4 86, 89.4, 92.6, 96, 99.5, 102, 106, 108, 112, 114, 117; G5 93.7, 97, 101, 105, 110, 116,
121, 125, 129, 133, 135.
"""

from __future__ import annotations

import numpy as np
import pytest

from kumo.studies.cloudsim.replay import make_run


def constant(percents, steps=2):
    """(steps, n_vms) utilization matrix holding each VM's percentage constant."""
    return np.tile(np.asarray(percents, dtype=np.int64), (steps, 1))


def test_dvfs_first_fit_and_energy_of_one_vm():
    run = make_run(constant([40], steps=3), "dvfs", n_hosts=2)
    out = run.run()
    assert run.vm_host.tolist() == [1]  # 2500 MIPS does not fit a 1860-MIPS PE of host 0
    # updates at 300.1 and 600.1 (900.1 is past the 900 s end); [0, 300.1] starts at 0 % and books nothing
    t1 = 0.1 + 300.0
    t2 = t1 + 300.0
    u = 2500 * 0.4 / 5320
    p = 97 + (101 - 97) / 10 * (u - 1 / 10) * 100
    assert out["energy_kwh"] == (p + (p - p) / 2) * (t2 - t1) / 3.6e6
    assert out["host_shutdowns"] == 1  # host 0 is idle at its first entry
    assert out["migrations"] == 0


def test_a_vm_dies_at_the_first_update_where_its_demand_is_exactly_zero():
    pct = np.array([[50, 10], [0, 10], [0, 10], [20, 10]])
    run = make_run(pct, "dvfs", n_hosts=2)
    out = run.run()
    # u(300.1) = d1 + (d2 - d1) * 0.1 / 300 = 0 for VM0: removed at 300.1 and never back
    assert run.vm_host.tolist() == [-1, 1]
    u = 2000 * 0.1 / 5320  # only VM1 (2000 MIPS at 10 %) is left on host 1
    p = 97 + (101 - 97) / 10 * (u - 0 / 10) * 100 if u >= 0.1 else 93.7 + (97 - 93.7) / 10 * (u - 0) * 100
    t1 = 0.1 + 300.0
    t2 = t1 + 300.0
    t3 = t2 + 300.0
    assert out["energy_kwh"] == (p * (t2 - t1) + p * (t3 - t2)) / 3.6e6


def test_initial_pabfd_placement_charges_every_host_from_p0():
    # VM0 -> host 1 (only the G5s fit 2500); VM1 -> host 3: empty G5, +15.1 W, beats host 1 (+33.1 W);
    # VM2 -> host 0: empty G4, +8.9 W (host 2 ties, higher id); VM3 -> host 2: +4.5 W, beats host 0 (+13.6 W)
    run = make_run(constant([10, 30, 10, 10]), "thr-mmt", n_hosts=4)
    run._initial_placement()
    assert run.vm_host.tolist() == [1, 3, 0, 2]


def test_underload_consolidation_moves_the_obvious_vms():
    # at 300.1 (u: host0 .027, host1 .047, host2 .013, host3 .113) nothing is over 0.8; least utilized first:
    # host 2's VM3 (50 MIPS): host 1 +33*50/5320 = .31 W, host 3 +40*50/5320 = .38 W, host 0 +34*50/3720 = .46 W;
    # then host 0's VM2 (100 MIPS): host 3 +40*100/5320 = .75 W beats host 1, whose getPower() is still that of
    # the last update, +33*150/5320 = .93 W; hosts 1 and 3 are targets now, so the loop ends
    run = make_run(constant([10, 30, 10, 10]), "thr-mmt", n_hosts=4, record=True)
    out = run.run()
    moves = [(e[2], e[3], e[4], e[5]) for e in run.log if e[0] == "migrate"]
    assert moves == [(3, 2, 1, 300.1 + 613 / 62.5), (2, 0, 3, 300.1 + 1740 / 62.5)]
    assert out["migrations"] == 2
    assert run.vm_host.tolist() == [1, 3, 3, 1]


def test_a_vm_placed_off_an_overloaded_host_can_be_moved_again_in_the_same_round():
    # 3 hosts; t = 0: VM0, VM1 -> host 1 (the G4s' PEs are too small for them), VM2 -> host 0, VM3 -> host 2.
    # At 300.1 LR has one history value, so it falls back to THR 0.7: host 1 at (1850 + 1980) / 5320 = .72 is
    # over-utilized; MMT takes VM0 (870 MB); PABFD: host 2 +15.98 W beats host 0 +16.05 W. Then CloudSim's
    # under-load loop does not exclude host 2 (it just received VM0), finds it least utilized (cached .013) and
    # empties it, VM0 included, onto host 0. Both moves of VM0 count; it ends on host 0.
    run = make_run(constant([74, 99, 10, 10]), "lr-mmt", n_hosts=3, record=True)
    out = run.run()
    assert [e[2] for e in run.log if e[0] == "optimize"] == [[1]]
    moves = [(e[2], e[3], e[4]) for e in run.log if e[0] == "migrate"]
    assert moves == [(0, 1, 2), (0, 1, 0), (3, 2, 0)]
    assert out["migrations"] == 3
    assert run.vm_host.tolist() == [0, 1, 0, 0]


def test_npa_books_full_power_for_every_host_from_time_zero():
    out = make_run(constant([10, 20], steps=3), "npa", n_hosts=4).run()
    t1 = 0.1 + 300.0
    t2 = t1 + 300.0
    frame = lambda dt: ((117.0 * dt + 135.0 * dt) + 117.0 * dt) + 135.0 * dt  # noqa: E731  (host order)
    assert out["energy_kwh"] == (frame(t1 - 0.0) + frame(t2 - t1)) / 3.6e6


@pytest.mark.parametrize("policy", ["thr-mmt", "lr-mc", "mad-mu", "iqr-rs", "lrr-mmt", "thr-hpg", "mad-mm"])
def test_properties_of_a_reduced_day(policy, planetlab_percent):
    """A VM never migrates to a host found over-utilized in that round; migrations last RAM / 62.5 s; a VM
    moves at most twice in one round (CloudSim's quirk), the second time off a host that received it."""
    run = make_run(planetlab_percent[:48, :160], policy, n_hosts=80, record=True)
    out = run.run()
    over: set[int] = set()
    seen: dict[int, int] = {}
    for e in run.log:
        if e[0] == "optimize":
            over = set(e[2])
            seen = {}
            continue
        _, t, vm, src, dst, end = e
        assert dst not in over
        assert end == t + run.vm_ram[vm] / (1_000_000 / 16000)
        seen[vm] = seen.get(vm, 0) + 1
        assert seen[vm] <= 2
    assert out["migrations"] == sum(1 for e in run.log if e[0] == "migrate")
    alive = run.vm_host >= 0
    assert np.all(run.vm_host[alive] < 80) and run.inflight.size == 0
    assert 0 <= out["slatah"] <= 1 and 0 <= out["pdm"] <= 1


def test_random_selection_is_reproducible_for_a_seed(planetlab_percent):
    pct = planetlab_percent[:36, :120]
    a = make_run(pct, "lr-rs", n_hosts=60, seed=7).run()
    b = make_run(pct, "lr-rs", n_hosts=60, seed=7).run()
    assert a.keys() == b.keys()
    assert all(x == y or (np.isnan(x) and np.isnan(y)) for x, y in zip(a.values(), b.values(), strict=True))


@pytest.fixture(scope="module")
def planetlab_percent():
    from kumo.studies.cloudsim.replay import _percent, load_day

    return _percent(load_day("20110303"))

