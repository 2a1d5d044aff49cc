"""VM selection (MMT, MU, MC, RS, HPG, MM), CloudSim's selection loop, and the MC R² numerics.

Hard-coded R² bit patterns come from commons-math3 3.6.1 on a JVM (checked outside the repository).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kumo.policies import _stats as S
from kumo.policies import registry
from kumo.policies import selection as sel
from kumo.policies.selection import SelectionContext, select_until_ok

RNG = np.random.default_rng(0)


def ctx(cpu=(100.0, 200.0), ram=None, booked=None, ram_use=None, ram_booked=None, hist=None, hist_len=None,
        host_cpu=1000.0, host_ram=4096.0, cpu_used=None, ram_used=None, upper_cpu=None, upper_ram=None, ids=None):
    """A context from a few lists; unspecified columns get harmless defaults."""
    k = len(cpu)
    cpu = np.asarray(cpu, dtype=np.float64)
    h = np.asarray(hist, dtype=np.float64) if hist is not None else np.full((k, 30), 0.5)
    return SelectionContext(
        vm_index=np.arange(k) if ids is None else np.asarray(ids),
        ram_mb=np.full(k, 870.0) if ram is None else np.asarray(ram, dtype=np.float64),
        cpu_demand_mhz=cpu,
        cpu_booked_mhz=np.full(k, 1000.0) if booked is None else np.asarray(booked, dtype=np.float64),
        ram_demand_mb=np.full(k, 100.0) if ram_use is None else np.asarray(ram_use, dtype=np.float64),
        ram_booked_mb=np.full(k, 1000.0) if ram_booked is None else np.asarray(ram_booked, dtype=np.float64),
        history=h,
        hist_len=np.full(k, h.shape[1]) if hist_len is None else np.asarray(hist_len),
        host_cpu_mhz=host_cpu,
        host_ram_mb=host_ram,
        host_cpu_used_mhz=float(cpu.sum()) if cpu_used is None else cpu_used,
        host_ram_used_mb=(100.0 * k if ram_use is None else float(np.sum(ram_use))) if ram_used is None
        else ram_used,
        upper_cpu=upper_cpu,
        upper_ram=upper_ram,
    )


# --------------------------------------------------------------------------------------------- CloudSim four


def test_mmt_smallest_ram_first_on_ties():
    c = ctx(cpu=[1, 1, 1, 1], ram=[1740, 613, 870, 613])
    assert sel.MinimumMigrationTime().pick(c, RNG) == 1


def test_mu_smallest_utilisation_fraction_first_on_ties():
    # u = demand / booked: 500/2500 = 0.2, 200/1000 = 0.2, 300/500 = 0.6 -> position 0 (first of the tie)
    c = ctx(cpu=[500, 200, 300], booked=[2500, 1000, 500])
    assert sel.MinimumUtilization().pick(c, RNG) == 0
    assert sel.MinimumUtilization(relative=False).pick(c, RNG) == 1  # absolute demand 200 is smallest


def test_empty_context_picks_nothing():
    c = ctx(cpu=[], hist=np.zeros((0, 30)))
    for cls in registry.all_policies()["selection"].values():
        assert cls().pick(dataclasses.replace(c, upper_cpu=0.8), RNG) == -1


def test_rs_is_deterministic_for_a_seed_and_covers_all():
    c = ctx(cpu=[1.0] * 5)
    a = [sel.RandomSelection().pick(c, np.random.default_rng(42)) for _ in range(3)]
    assert a[0] == a[1] == a[2]
    r1, r2 = np.random.default_rng(7), np.random.default_rng(7)
    s1 = [sel.RandomSelection().pick(c, r1) for _ in range(200)]
    s2 = [sel.RandomSelection().pick(c, r2) for _ in range(200)]
    assert s1 == s2 and set(s1) == {0, 1, 2, 3, 4}


# --------------------------------------------------------------------------------------------- MC


def test_mc_picks_the_obviously_correlated_vm():
    rng = np.random.default_rng(3)
    base = rng.integers(0, 100, 30) / 100
    noise = [rng.integers(0, 100, 30) / 100 for _ in range(2)]
    # VM 2 is VM 0 + small wiggle; VMs 1 and 3 are unrelated noise
    hist = np.array([base, noise[0], 0.5 * base + rng.integers(0, 3, 30) / 100, noise[1]])
    c = ctx(cpu=[1.0] * 4, hist=hist)
    r2 = sel.MaximumCorrelation.r_squared(c)
    assert r2[0] > 0.9 and r2[2] > 0.9 and r2[1] < 0.5 and r2[3] < 0.5
    assert sel.MaximumCorrelation().pick(c, RNG) == int(np.argmax(r2)) in (0, 2)


def test_mc_r_squared_matches_numpy_least_squares():
    rng = np.random.default_rng(5)
    data = rng.random((4, 30))
    r2 = S.r_squared_cloudsim(data)
    for i in range(4):
        x = np.column_stack([np.ones(30)] + [data[j] for j in range(4) if j != i])
        beta, *_ = np.linalg.lstsq(x, data[i], rcond=None)
        res = data[i] - x @ beta
        expect = 1 - res @ res / np.sum((data[i] - data[i].mean()) ** 2)
        assert r2[i] == pytest.approx(expect, rel=1e-12)


def test_mc_two_vms_tie_is_decided_by_commons_math_rounding():
    # With 2 VMs both R² are the squared correlation, mathematically equal; CloudSim takes VM 1 only if its
    # computed R² is strictly greater. commons-math3 3.6.1 on a JVM gives these bits (R²_1 is 1 ulp above
    # R²_0 here, so CloudSim moves VM 1; a symmetric formula would move VM 0).
    y0 = [0.13, 0.12, 0.79, 0.49, 0.59, 0.6, 0.71, 0.02, 0.48, 0.14]
    y1 = [0.4, 0.92, 0.54, 0.07, 0.54, 0.12, 0.75, 0.94, 0.97, 0.62]
    r2 = S.r_squared_cloudsim(np.array([y0, y1]))
    assert [float(v).hex() for v in r2] == ["0x1.cc680f2fc0d00p-4", "0x1.cc680f2fc0d08p-4"]
    assert sel.MaximumCorrelation().pick(ctx(cpu=[1.0, 1.0], hist=np.array([y0, y1])), RNG) == 1


def test_mc_falls_back_to_mmt_when_commons_math_throws():
    ram = [1740, 870, 613]
    rng = np.random.default_rng(1)
    h = rng.random((3, 30))
    mc = sel.MaximumCorrelation()
    # more candidates than observations: n_regressors + 1 = 3 > 2
    assert S.r_squared_cloudsim(h[:, :2]) is None
    assert mc.pick(ctx(cpu=[1.0] * 3, ram=ram, hist=h, hist_len=[30, 2, 30]), RNG) == 2
    # exactly singular designs (a Householder diagonal of exactly 0; same outcome on the JVM): a zero
    # history, or these quarter-valued duplicates
    q = np.array([[1, 3, 1, 3, 1, 3, 1, 3], [1, 1, 3, 3, 1, 1, 3, 3], [1, 1, 3, 3, 1, 1, 3, 3]]) / 4
    assert mc.pick(ctx(cpu=[1.0] * 3, ram=ram, hist=q), RNG) == 2
    # ...but duplicated random floats are only nearly singular: no exception, both duplicates get R² = 1
    # (JVM: 0x3ff0000000000000 twice), and the first strict maximum is position 0
    same = h.copy()
    same[1] = same[0]
    assert S.r_squared_cloudsim(same)[:2].tolist() == [1.0, 1.0]
    assert mc.pick(ctx(cpu=[1.0] * 3, ram=ram, hist=same), RNG) == 0
    zero = h.copy()
    zero[0] = 0.0
    assert mc.pick(ctx(cpu=[1.0] * 3, ram=ram, hist=zero), RNG) == 2
    # k == m is allowed (exact fit, R² = 1 for all): the first strict maximum is position 0
    assert S.r_squared_cloudsim(h[:, :3]) is not None
    # one candidate: position 0
    assert mc.pick(ctx(cpu=[1.0], ram=[1740], hist=h[:1]), RNG) == 0


def test_mc_starts_from_double_min_value():
    # orthogonal centred histories: every R² is exactly 0 (also on the JVM); 0 > 4.9e-324 is false for all,
    # so the initial index 0 stands, even though position 2 has the smallest RAM
    h = np.array([[1, 3, 1, 3, 1, 3, 1, 3], [1, 1, 3, 3, 1, 1, 3, 3], [1, 1, 1, 1, 3, 3, 3, 3]]) / 4
    assert S.r_squared_cloudsim(h).tolist() == [0.0, 0.0, 0.0]
    assert sel.MaximumCorrelation().pick(ctx(cpu=[1.0] * 3, ram=[1740, 870, 613], hist=h), RNG) == 0


def test_mc_truncates_to_the_shortest_history():
    rng = np.random.default_rng(4)
    h = rng.random((3, 30))
    c = ctx(cpu=[1.0] * 3, hist=h, hist_len=[30, 12, 20])
    np.testing.assert_array_equal(sel.MaximumCorrelation.r_squared(c), S.r_squared_cloudsim(h[:, :12]))


# --------------------------------------------------------------------------------------------- HPG / MM


def test_mm_moves_one_big_vm_instead_of_several_small_ones():
    # capacity 1000, threshold 0.8, used 1000: excess 200. VMs 150, 150, 150, 300, 250.
    # clearing VMs (use >= 200): 300 and 250 -> the smallest, 250 (position 4); one migration
    c = ctx(cpu=[150, 150, 150, 300, 250])
    assert sel.MinimizationOfMigrations().pick_set(c, RNG, upper_cpu=0.8, upper_ram=None).tolist() == [4]
    # HPG (all booked 1000) moves the least-used first: 150, 150 -> two migrations
    assert sel.HighestPotentialGrowth().pick_set(c, RNG, 0.8, None).tolist() == [0, 1]
    # MMT (equal RAM, first on ties) also needs two
    assert sel.MinimumMigrationTime().pick_set(c, RNG, 0.8, None).tolist() == [0, 1]


def test_mm_takes_the_largest_when_none_suffices_then_repeats():
    # threshold 500 of 1000, used 800: excess 300; VMs 100, 200, 250, 250 -> none >= 300 -> largest, first of
    # the tie (position 2); now used 550, excess 50 -> clearing: 100, 200, 250 -> smallest, 100 (position 0)
    c = ctx(cpu=[100, 200, 250, 250])
    assert sel.MinimizationOfMigrations().pick_set(c, RNG, 0.5, None).tolist() == [2, 0]
    assert sel.MinimizationOfMigrations().pick(dataclasses.replace(c, upper_cpu=0.5), RNG) == 2


def test_mm_needs_thresholds():
    with pytest.raises(ValueError, match="upper_cpu"):
        sel.MinimizationOfMigrations().pick(ctx(cpu=[1.0, 2.0]), RNG)


def test_hpg_lowest_use_relative_to_booking_with_tie_breaks():
    # g = 600/1000, 100/1000, 100/500 -> position 1
    assert sel.HighestPotentialGrowth().pick(ctx(cpu=[600, 100, 100], booked=[1000, 1000, 500]), RNG) == 1
    # g = 0.1 twice: larger booking first (position 1), then lower vm id
    assert sel.HighestPotentialGrowth().pick(ctx(cpu=[50, 100], booked=[500, 1000]), RNG) == 1
    assert sel.HighestPotentialGrowth().pick(ctx(cpu=[100, 100], booked=[1000, 1000], ids=[9, 4]), RNG) == 1


def two_resource_host():
    # CPU 500/1000 (threshold 0.9: fine), RAM 950/1000 (threshold 0.9: over by 50)
    return ctx(cpu=[50, 400, 50], booked=[100, 1000, 1000], ram_use=[100, 60, 790], ram_booked=[200, 1000, 800],
               host_ram=1000.0)


def test_kohne_both_resources_drive_by_the_overloaded_one():
    c = two_resource_host()
    mm, hpg = sel.MinimizationOfMigrations(resources="both"), sel.HighestPotentialGrowth(resources="both")
    # RAM is the overloaded resource: MM takes the smallest RAM user that clears 50 MB -> 60 MB (position 1)
    assert mm.pick_set(c, RNG, 0.9, 0.9).tolist() == [1]
    # HPG by RAM: g = 100/200, 60/1000, 790/800 -> position 1
    assert hpg.pick_set(c, RNG, 0.9, 0.9).tolist() == [1]
    # with CPU only, the host is not overloaded: nothing moves
    assert sel.MinimizationOfMigrations(resources="cpu").pick_set(c, RNG, 0.9, 0.9).tolist() == []
    # RAM only gives the same choice as "both" here
    assert sel.MinimizationOfMigrations(resources="ram").pick_set(c, RNG, 0.9, 0.9).tolist() == [1]


def test_kohne_driver_choices_when_both_are_overloaded():
    # CPU 950/1000 (excess 0.05 over 0.9), RAM 980/1000 (excess 0.08): max_excess drives by RAM
    c = ctx(cpu=[500, 400, 50], booked=[1000, 1000, 1000], ram_use=[30, 900, 50], ram_booked=[1000] * 3,
            host_ram=1000.0, upper_cpu=0.9, upper_ram=0.9)
    # a VM must clear both: CPU needs >= 50 MHz, RAM >= 80 MB -> only position 1 (400 MHz, 900 MB)
    for driver in ("max_excess", "cpu_first", "normalized_sum"):
        assert sel.MinimizationOfMigrations(resources="both", driver=driver).pick(c, RNG) == 1
    # HPG: by RAM (max excess) g = 0.03, 0.9, 0.05 -> 0; by CPU first g = 0.5, 0.4, 0.05 -> 2
    assert sel.HighestPotentialGrowth(resources="both").pick(c, RNG) == 0
    assert sel.HighestPotentialGrowth(resources="both", driver="cpu_first").pick(c, RNG) == 2
    # normalized_sum: mean of the two ratios = 0.265, 0.65, 0.05 -> 2
    assert sel.HighestPotentialGrowth(resources="both", driver="normalized_sum").pick(c, RNG) == 2


# --------------------------------------------------------------------------------------------- loops


def test_select_until_ok_reproduces_cloudsim_loop():
    c = ctx(cpu=[300, 100, 100, 500], ram=[1740, 613, 870, 613])
    seen = []

    def still(removed):
        seen.append(removed.tolist())
        return len(removed) < 3

    out = select_until_ok(sel.MinimumMigrationTime(), c, RNG, still)
    assert out == [1, 3, 2] and seen == [[1], [1, 3], [1, 3, 2]]
    # never satisfied: every candidate goes, then the loop ends
    assert select_until_ok(sel.MinimumMigrationTime(), c, RNG, lambda r: True) == [1, 3, 2, 0]
    # at least one VM is taken even if the first re-test passes
    assert select_until_ok(sel.MinimumMigrationTime(), c, RNG, lambda r: False) == [1]


def test_default_pick_set_retests_thresholds():
    # used 1000 of 1000, threshold 0.8: MMT takes 613 MB (100 MHz) -> 900, still over; then 613 MB (500) -> 400
    c = ctx(cpu=[300, 100, 100, 500], ram=[1740, 613, 870, 613])
    assert sel.MinimumMigrationTime().pick_set(c, RNG, 0.8, None).tolist() == [1, 3]
    assert sel.MinimumMigrationTime().pick_set(c, RNG, 1.0, None).tolist() == []


def test_context_take_and_without_remove_demand():
    c = ctx(cpu=[300, 100, 600], ram_use=[10, 20, 30])
    d = c.without([0, 2])
    assert d.k == 1 and d.vm_index.tolist() == [1]
    assert d.host_cpu_used_mhz == 100.0 and d.host_ram_used_mb == 20.0
    assert c.take([2, 0]).cpu_demand_mhz.tolist() == [600, 300]


@settings(max_examples=40, deadline=None)
@given(
    cpu=st.lists(st.integers(1, 500), min_size=1, max_size=6),
    upper=st.floats(0.3, 1.0),
    name=st.sampled_from(["mmt", "mu", "mc", "rs", "hpg", "mm"]),
)
def test_pick_set_leaves_the_host_under_its_threshold_or_empty(cpu, upper, name):
    c = ctx(cpu=[float(v) for v in cpu], hist=np.random.default_rng(len(cpu)).random((len(cpu), 30)))
    pol = registry.make("selection", name)
    moved = pol.pick_set(c, np.random.default_rng(0), upper, None)
    assert len(set(moved.tolist())) == len(moved)
    rest = c.without(moved)
    assert rest.k == 0 or rest.host_cpu_used_mhz / rest.host_cpu_mhz <= upper


# --------------------------------------------------------------------------------------------- contract


def test_all_six_are_registered():
    assert {"mmt", "mu", "mc", "rs", "hpg", "mm"} <= set(registry.all_policies()["selection"])


@pytest.mark.parametrize(("name", "cls"), sorted((n, c) for n, c in registry.all_policies()["selection"].items()
                                                 if c.__module__.startswith("kumo.")))  # kumo's own
def test_selection_contract(name, cls):
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
    assert cls.__doc__ and "20" in cls.__doc__.splitlines()[0]
    pol = registry.make("selection", name)
    assert pol.validate() == []
    rng = np.random.default_rng(2)
    c = ctx(cpu=list(rng.integers(100, 400, 4).astype(float)), hist=rng.random((4, 30)), upper_cpu=0.5,
            upper_ram=0.9)
    arrays = {f.name: getattr(c, f.name) for f in dataclasses.fields(c) if isinstance(getattr(c, f.name), np.ndarray)}
    copies = {k: v.copy() for k, v in arrays.items()}
    for v in arrays.values():
        v.flags.writeable = False
    p = pol.pick(c, rng)
    s = pol.pick_set(c, rng, 0.5, 0.9)
    assert 0 <= p < 4 and s.dtype == np.int64
    for k, v in arrays.items():
        np.testing.assert_array_equal(v, copies[k])


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("mm", {"resources": "disk"}, "resources: must be one of ['cpu', 'ram', 'both'], got 'disk'"),
        ("hpg", {"driver": "x"}, "driver: must be one of ['max_excess', 'cpu_first', 'normalized_sum'], got 'x'"),
        ("mu", {"relative": 1}, "relative: must be true or false, got 1"),
    ],
)
def test_validate_messages(name, params, message):
    assert message in registry.make("selection", name, params).validate()
