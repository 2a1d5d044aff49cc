"""The region-scale shortcuts give the same runs, to the bit, as the plain paths they replace."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_trace

from kumo.config import parse
from kumo.engine import run
from kumo.policies.placement import Placer
from kumo.policies.placement_cache import ChoiceCache


def _trace(seed: int, n_vms: int = 160, n_steps: int = 24):
    """VMs of five sizes (so sizes repeat, as a catalogue's do), arriving and leaving, with demand."""
    rng = np.random.default_rng(seed)
    sizes = np.array([(1, 2600.0, 2048.0), (2, 5200.0, 4096.0), (4, 10400.0, 16384.0), (8, 20800.0, 32768.0),
                      (16, 41600.0, 65536.0)])
    kind = rng.choice(5, n_vms, p=[0.3, 0.3, 0.2, 0.15, 0.05])
    arrive = np.where(rng.random(n_vms) < 0.5, 0, rng.integers(0, n_steps, n_vms))
    depart = np.minimum(arrive + rng.integers(1, n_steps, n_vms), n_steps)
    cpu = rng.random((n_steps, n_vms)) * sizes[kind, 1] * 0.6
    ram = rng.random((n_steps, n_vms)) * sizes[kind, 2] * 0.5
    return make_trace(cpu, ram, booked_cpu=sizes[kind, 1], booked_ram=sizes[kind, 2], cores=sizes[kind, 0],
                      arrive=arrive, depart=depart)


def _scenario(preset: str, resource: str, queue: bool, **extra) -> dict:
    return {
        "name": "exact", "seed": 3, "host_layout": "interleaved",
        "hosts": [
            {"name": "a", "count": 9, "cores": 32, "core_mhz": 2600.0, "ram_mb": 131072.0, "cpu_overcommit": 2.0,
             "ram_overcommit": 1.0, "power": {"kind": "linear", "idle_w": 150.0, "max_w": 400.0}},
            {"name": "b", "count": 5, "cores": 16, "core_mhz": 2100.0, "ram_mb": 65536.0, "cpu_overcommit": 4.0,
             "ram_overcommit": 1.5, "initially_on": False, "power": {"kind": "linear", "idle_w": 90.0, "max_w": 200.0}},
        ],
        "placement": {"preset": preset, "resource": resource,
                      **({"on_no_host": "queue", "queue_timeout_s": 1800.0} if queue else {})},
        "power_management": {"switch_off_idle": True},
        **extra,
    }


def _tables(result) -> dict[str, pd.DataFrame]:
    return {k: v.reset_index(drop=True) for k, v in result.tables.items()}


def _same(a, b) -> None:
    ta, tb = _tables(a), _tables(b)
    assert ta.keys() == tb.keys()
    for k in ta:
        pd.testing.assert_frame_equal(ta[k], tb[k], check_exact=True, obj=k)


@pytest.mark.parametrize("preset", ["first-fit", "best-fit", "worst-fit"])
@pytest.mark.parametrize("resource,queue", [("binding", True), ("cpu", False), ("ram", True)])
def test_placement_cache_gives_the_plain_choices(monkeypatch, preset, resource, queue):
    trace = _trace(7)
    sc = parse(_scenario(preset, resource, queue))
    cached = run(sc, trace)
    monkeypatch.setattr(ChoiceCache, "usable", staticmethod(lambda placer: False))
    _same(cached, run(sc, trace))
    assert len(cached.vms) == trace.n_vms


def test_placement_cache_matches_placer_choose_step_by_step():
    """Against Placer.choose after every booking, with demand-based filters and weighers too."""
    from kumo.engine.loop import Engine

    trace = _trace(11, n_vms=120)
    for filters, weighers in ((["powered", "cpu-demand", "ram-booking"], [{"name": "free-demand", "multiplier": -1.0}]),
                              (["powered", "vcpus", "cpu-booking"], [{"name": "load-after", "multiplier": -2.0}]),
                              (["powered", "ram-booking"], [{"name": "power-increase", "multiplier": -1.0}]),
                              (["powered", "cpu-booking"], [{"name": "first", "multiplier": 1.0}])):
        sc = parse(_scenario("worst-fit", "binding", False,
                             placement={"preset": None, "filters": filters, "weighers": weighers}))
        eng = Engine(sc, trace)
        eng.begin_step(0)
        eng.state.vm_cpu_demand[:] = trace.cpu[0]  # demand of VMs not placed yet is read by the demand policies
        lc = eng.lifecycle
        assert ChoiceCache.usable(lc.placer)
        cache = lc.batch()
        assert cache is not None
        for vm in np.flatnonzero(trace.arrive_step == 0).tolist():
            ok, _ = lc.placer.feasible(lc.view, vm)
            want = lc.placer.choose(lc.view, vm, ok)
            assert cache.choose(vm) == want
            if want >= 0:
                lc.core.book(vm, want, +1)
                eng.state.vm_host[vm] = want
                cache.touch(want)


def test_placer_local_needs_local_parts():
    assert Placer.preset("worst-fit").local
    assert not Placer.build(weighers=[("free-booked", 1.0, {}), ("first", 1.0, {})]).local
    assert not Placer.build(weighers=[("anti-correlation", 1.0, {})]).local
    assert not ChoiceCache.usable(Placer.preset("worst-fit", tie_break="random"))


# ------------------------------------------------------------------------------------ consolidation
def _plain_find_host(self, view, plan, mem, vm, src, excluded, wake, index):
    """The host choice before the target index: every host through the filters, then rank."""
    within = ~excluded
    within[src] = False
    if not wake:
        within &= plan.on
    ok, _ = mem.placer.feasible(plan, vm, within=within)
    if not ok.any():
        return -1
    return self._first_accepted(view, plan, mem, vm, mem.placer.rank(plan, vm, ok))


def _plain_underload(view, plan, index, running, on_host, over, find_host, move, parts=None):
    """The underload round tried host by host, every try run and rolled back when it fails (CloudSim's loop)."""
    from kumo.policies.underload import underload_order

    moved = {vm for vm, _ in plan.moves}
    sources = plan.n_vms == 0
    util = plan.used_c / view.hosts.cpu_mhz
    demand = view.vm_cpu_demand
    for h in underload_order(util, plan.on & ~over & ~plan.touched & (plan.n_vms > 0)).tolist():
        if plan.touched[h]:
            continue
        vms = [int(v) for v in running[on_host == h] if int(v) not in moved]
        if len(vms) != plan.n_vms[h]:
            continue
        sources[h] = True
        excluded = over | sources
        with plan.trial() as trial:
            for vm in sorted(vms, key=lambda v: -demand[v]):
                t = find_host(vm, h, excluded, index)
                if t < 0:
                    trial.rollback()
                    break
                move(vm, h, t)
            else:
                moved.update(vms)


def _packed(seed: int, n_vms: int = 260, n_steps: int = 30):
    """A day-like trace on a small park: a standing population plus arrivals, low CPU, RAM-bound sizes."""
    rng = np.random.default_rng(seed)
    t = _trace(seed, n_vms, n_steps)
    keep = rng.random(n_vms) < 0.6
    t.arrive_step[keep] = 0
    t.depart_step[keep] = n_steps
    t.cpu[:] *= rng.random(n_vms).astype(np.float32) * 0.3
    return t


class _CountingKernel:
    """A ``_pick.Kernel`` that counts its host choices."""

    def __init__(self, kernel, calls):
        self.k, self.calls = kernel, calls

    def best(self, *a):
        self.calls.append(1)
        return self.k.best(*a)

    def choose(self, *a):
        self.calls.append(1)
        return self.k.choose(*a)

    def move(self, *a):
        return self.k.move(*a)

    def save(self, h):
        return self.k.save(h)

    def restore(self, h, saved):
        return self.k.restore(h, saved)


@pytest.mark.parametrize("detection,selection,placement", [("lr", "mmt", "pabfd"), ("thr", "mmt", "pabfd"),
                                                           ("mad", "mc", "pabfd"), ("iqr", "mu", "best-fit"),
                                                           ("thr", "rs", "worst-fit"), ("lrr", "mmt", "first-fit")])
@pytest.mark.parametrize("one_power_model", [False, "table", "linear", "linear-python"])
def test_underload_round_gives_the_plain_round(monkeypatch, detection, selection, placement, one_power_model):
    from kumo.policies import consolidation, fused

    trace = _packed(5)
    sc = _scenario("worst-fit", "binding", False)
    sc["hosts"][1]["initially_on"] = True
    if one_power_model == "table":  # the fused PABFD host choice (kumo.policies.fused) is taken
        for h in sc["hosts"]:
            h["power"] = {"kind": "table", "watts": [90.0, 120.0, 150.0, 170.0, 200.0]}
    elif one_power_model:  # the fused choice, and its compiled loop (unless turned off)
        for h in sc["hosts"]:
            h["power"] = {"kind": "linear", "idle_w": 90.0, "max_w": 200.0}
        if one_power_model == "linear-python":
            monkeypatch.setenv("KUMO_PURE_PYTHON", "1")
        elif fused.compiled():  # count the compiled loop's calls
            from types import SimpleNamespace

            calls = []
            real = fused._pick.pabfd_best
            monkeypatch.setattr(fused, "_pick", SimpleNamespace(
                pabfd_best=lambda *a: calls.append(1) or real(*a), power_now=fused._pick.power_now))
            real_kernel = consolidation.Consolidation._kernel  # the decision's kernel: its host choices count too

            def counting_kernel(self, *a):
                k = real_kernel(self, *a)
                return None if k is None else _CountingKernel(k, calls)

            monkeypatch.setattr(consolidation.Consolidation, "_kernel", counting_kernel)
    sc["controller"] = {"name": "consolidation", "params": {"detection": detection, "selection": selection,
                                                            "placement": placement}}
    fast = run(parse(sc), trace)
    assert len(fast.migrations) > 20  # the rounds move VMs (and roll tries back)
    if one_power_model == "linear" and fused.compiled() and placement == "pabfd":
        assert len(calls) > 100
    monkeypatch.setattr(consolidation.Consolidation, "_find_host", _plain_find_host)
    monkeypatch.setattr(consolidation, "empty_underloaded", _plain_underload)
    _same(fast, run(parse(sc), trace))


@pytest.mark.parametrize("name", ["thr", "iqr", "mad", "lr", "lrr"])
def test_detector_one_host_matches_the_rows(name):
    """The controller tries a single best host with the scalar form of its detector: same verdicts."""
    from kumo.policies import registry
    from kumo.policies.consolidation import CLOUDSIM_DETECTION_PARAMS
    from kumo.policies.detection import trim_zero_tail

    det = registry.make("detection", name, CLOUDSIM_DETECTION_PARAMS[name])
    rng = np.random.default_rng(2)
    hist = rng.random((400, 30)) * rng.random((400, 1))
    hist[rng.random((400, 30)) < 0.05] = 0.0
    cut = rng.integers(1, 31, 400)  # zero tails of every length
    hist[np.arange(30)[None, :] >= cut[:, None]] = 0.0
    hist[:50] = np.round(hist[:50] * 8) / 8  # ties, for the percentiles
    util = rng.random(400) * 1.2
    n = trim_zero_tail(hist)
    rows = np.asarray(det.overloaded(util, hist, n), dtype=bool)
    one = np.array([det.overloaded_one(util[i], hist[i, :n[i]]) for i in range(400)])
    assert (rows == one).all()


@pytest.mark.parametrize("watts", [(150.0, 400.0), (90.0, 120.0, 150.0, 170.0, 200.0)])
def test_fused_pabfd_matches_the_placer(watts):
    """FusedPabfd.feasible_total against Placer.feasible_at + total_at, on random planned states."""
    from kumo.engine.loop import Engine
    from kumo.policies.consolidation import PLACEMENTS
    from kumo.policies.fused import FusedPabfd
    from kumo.policies.planning import PlannedCluster

    trace = _trace(13, n_vms=200)
    sc = _scenario("worst-fit", "binding", False)
    for h in sc["hosts"]:
        h["power"] = {"kind": "table", "watts": list(watts)}
        h["initially_on"] = True
    eng = Engine(parse(sc), trace)
    eng.begin_step(0)
    rng = np.random.default_rng(4)
    for filters in (["cpu-demand", "ram-booking", "cpu-booking"], ["cpu-demand"], ["ram-booking", "cpu-booking"]):
        placer = Placer.preset(PLACEMENTS["pabfd"], resource="cpu", filters=filters)
        plan = PlannedCluster(eng.lifecycle.view)
        fused = FusedPabfd.build(placer, plan)
        assert fused is not None
        for _ in range(200):
            plan.used_c[:] = rng.random(plan.used_c.size) * 90000.0
            plan.book_c[:] = rng.random(plan.book_c.size) * 180000.0
            plan.book_r[:] = rng.random(plan.book_r.size) * 140000.0
            plan.on[:] = rng.random(plan.on.size) < 0.8
            vm = int(rng.integers(trace.n_vms))
            cand = rng.permutation(plan.used_c.size)[: int(rng.integers(0, plan.used_c.size + 1))]
            hosts, total = fused.feasible_total(plan, vm, cand)
            want = cand[placer.feasible_at(plan, vm, cand)]
            assert np.array_equal(hosts, want)
            assert np.array_equal(total, placer.total_at(plan, vm, want))
    assert FusedPabfd.build(Placer.preset(PLACEMENTS["best-fit"], resource="cpu"), plan) is None
    sc["hosts"][1]["power"] = {"kind": "linear", "idle_w": 10.0, "max_w": 20.0}
    other = PlannedCluster(Engine(parse(sc), trace).lifecycle.view)
    assert FusedPabfd.build(Placer.preset(PLACEMENTS["pabfd"], resource="cpu"), other) is None


def _ro(a: np.ndarray) -> np.ndarray:
    v = a.view()
    v.flags.writeable = False
    return v


def test_compiled_pick_matches_the_fused_choice():
    """FusedPabfd.best (the compiled loop, _pick.c) against feasible_total and the best of its totals, on random
    planned states, candidates, exclusions and sources; two host types (per-host limits) and one."""
    from kumo.engine.loop import Engine
    from kumo.policies import fused as F
    from kumo.policies.consolidation import PLACEMENTS
    from kumo.policies.planning import PlannedCluster

    if not F.compiled():
        pytest.skip("the compiled host choice is not built (no C compiler at install, or KUMO_PURE_PYTHON)")
    from kumo.policies.detection import InterQuartileRange, trim_zero_tail_1d

    iqr = InterQuartileRange(safety=1.5, fallback_threshold=0.7, min_history=4)
    trace = _trace(13, n_vms=200)
    rng = np.random.default_rng(8)
    for one_type in (False, True):
        sc = _scenario("worst-fit", "binding", False)
        for h in sc["hosts"]:
            h["power"] = {"kind": "linear", "idle_w": 150.0, "max_w": 400.0}
            h["initially_on"] = True
        if one_type:
            sc["hosts"][1] = {**sc["hosts"][0], "name": "b"}
        eng = Engine(parse(sc), trace)
        eng.begin_step(0)
        for filters in (["cpu-demand", "ram-booking", "cpu-booking"], ["cpu-demand"], ["ram-booking"], []):
            placer = Placer.preset(PLACEMENTS["pabfd"], resource="cpu", filters=filters)
            plan = PlannedCluster(eng.lifecycle.view)
            fused = F.FusedPabfd.build(placer, plan)
            assert fused is not None and fused.kernel is not None
            n = plan.used_c.size
            for _ in range(400):
                plan.used_c[:] = rng.random(n) * 90000.0
                plan.used_c[rng.random(n) < 0.1] = 0.0
                plan.used_c[rng.random(n) < 0.05] = 200000.0  # above capacity: power capped at 1
                plan.book_c[:] = rng.random(n) * 180000.0
                plan.book_r[:] = rng.random(n) * 140000.0
                plan.on[:] = rng.random(n) < 0.8
                if rng.random() < 0.3:  # ties: hosts in the same state
                    plan.used_c[: n // 2] = plan.used_c[0]
                vm = int(rng.integers(trace.n_vms))
                cand = rng.permutation(n)[: int(rng.integers(0, n + 1))].astype(np.int64)
                excluded = rng.random(n) < 0.3
                src = int(rng.integers(n))
                wake = bool(rng.random() < 0.5)
                keep = ~excluded[cand]
                if not wake:
                    keep &= plan.on[cand]
                if not excluded[src]:
                    keep &= cand != src
                hosts, total = fused.feasible_total(plan, vm, cand[keep])
                want = (int(hosts[total == total.max()].min()) if hosts.size else -1, hosts.size)
                assert fused.best(plan, vm, cand, excluded, src, wake) == want
                got_h, got_t = fused.last(want[1])
                assert np.array_equal(got_h, hosts) and got_t.tobytes() == total.tobytes()
                fused.track_power(plan)  # each host's power now kept: the same choice
                assert fused.best(plan, vm, cand, excluded, src, wake) == want
                assert fused.last(want[1])[1].tobytes() == total.tobytes()
                # with the IQR detector's check in the same call: the first host it accepts, best first
                hist = rng.random((n, 12)) * 0.5
                hist[:, 10:] = 0.0
                vrow = rng.random(12) * 2000.0
                vrow[10:] = 0.0
                n_vms = rng.integers(0, 3, n).astype(np.int64)
                ranked = hosts[np.lexsort((hosts, -total))]
                accept = []
                for h in ranked.tolist():
                    row = hist[h] + vrow / plan.hosts.cpu_mhz[h]
                    util = (plan.used_c[h] + float(plan.vm_cpu_demand[vm])) / plan.hosts.cpu_mhz[h]
                    accept.append(n_vms[h] == 0 or not iqr.overloaded_one(util, row[:trim_zero_tail_1d(row)]))
                first = int(ranked[accept.index(True)]) if True in accept else -1
                assert fused.choose(plan, vm, cand, excluded, src, wake, (n_vms, hist, vrow, 10, 1, 1.5, 0.7, 4)) \
                    == first
                fused.pnow = None
    with pytest.raises(TypeError, match="cand"):
        F._pick.pabfd_best(np.zeros(3), excluded, 0, True, plan.on, plan.used_c, plan.book_r, plan.book_c,
                           *fused.kernel, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0,
                           fused.out_hosts, fused.out_total)
    with pytest.raises(IndexError, match="out of range"):
        F._pick.pabfd_best(np.array([n], np.int64), np.zeros(n, bool), 0, True, plan.on, plan.used_c, plan.book_r,
                           plan.book_c, *fused.kernel, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0,
                           fused.out_hosts, fused.out_total)
    nan = plan.used_c.copy()
    nan[:] = np.nan  # a NaN total: handed back to the Python path
    assert F._pick.pabfd_best(np.arange(n, dtype=np.int64), np.zeros(n, bool), -1, True, plan.on, nan, plan.book_r,
                              plan.book_c, *fused.kernel[:1], np.zeros((0, n)), np.zeros((0, n)), np.zeros((0, n)),
                              1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0, fused.out_hosts, fused.out_total) is None
    with pytest.raises(TypeError, match="writable"):
        F._pick.pabfd_best(np.array([0], np.int64), np.zeros(n, bool), 0, True, plan.on, plan.used_c, plan.book_r,
                           plan.book_c, *fused.kernel, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0, _ro(fused.out_hosts),
                           fused.out_total)


# ------------------------------------------------------------------------------------------- the sla controller
def test_sla_fits_elsewhere_matches_the_matrix():
    """_Witnesses.fit / all_fit against the VM x host matrix, on random rooms, blocks and changes between tries."""
    from types import SimpleNamespace

    from kumo.policies.sla.extensions import _Witnesses

    rng = np.random.default_rng(8)
    for _ in range(30):
        nh, nv = int(rng.integers(1, 60)), 80
        plan = SimpleNamespace(room=rng.random((4, nh)) * 10 - 1, need=rng.random((nv, 4)) * 6,
                               on=rng.random(nh) < 0.9, blocked=rng.random(nh) < 0.2, cap_c=np.ones(nh))
        wit = _Witnesses(SimpleNamespace(plan=plan))
        for _ in range(6):
            vms = rng.choice(nv, int(rng.integers(0, 12)), replace=False)
            own = rng.integers(0, nh, vms.size)
            fits = (plan.room[None, :, :] >= plan.need[vms][:, :, None]).all(axis=1) & (plan.on & ~plan.blocked)[None]
            plain = fits.copy()
            plain[np.arange(vms.size), own] = False
            assert np.array_equal(wit.fit(vms, own), plain.any(axis=1))
            src = int(rng.integers(nh))
            fits[:, src] = False
            assert wit.all_fit(vms, src) == bool(fits.any(axis=1).all())
            # a try: rooms shrink on some hosts, some become blocked
            hit = rng.random(nh) < 0.3
            plan.room[:, hit] -= rng.random((4, int(hit.sum())))
            plan.blocked |= rng.random(nh) < 0.1
            wit.changed()


def test_compiled_detector_checks_and_history_moves_match_python():
    """_pick.adaptive_first / adaptive_ranked (IQR, MAD) against the detectors' scalar form, and _pick.move_rows
    against Consolidation._move's numpy update, on random host histories (zero tails, ties, short histories)."""
    from kumo.policies import fused as F
    from kumo.policies import registry
    from kumo.policies.consolidation import CLOUDSIM_DETECTION_PARAMS
    from kumo.policies.detection import trim_zero_tail, trim_zero_tail_1d

    if not F.compiled():
        pytest.skip("the compiled checks are not built (no C compiler at install, or KUMO_PURE_PYTHON)")
    pick = F._pick
    rng = np.random.default_rng(21)
    n, H = 60, 30
    for mode, name in ((1, "iqr"), (2, "mad")):
        det = registry.make("detection", name, CLOUDSIM_DETECTION_PARAMS[name])
        for _ in range(60):
            filled = int(rng.integers(0, H + 1))
            hist = rng.random((n, H)) * rng.random((n, 1)) * 0.8
            hist[:, filled:] = 0.0
            hist[rng.random((n, H)) < 0.05] = 0.0
            hist[:10] = np.round(hist[:10] * 8) / 8  # ties, for the percentiles
            n_vms = rng.integers(0, 3, n).astype(np.int64)
            cap = rng.choice([2600.0 * 32, 2100.0 * 16], n)
            used = rng.random(n) * cap * 0.9
            vrow = rng.random(H) * 3000.0
            vrow[filled:] = 0.0
            d = float(rng.random() * 5000.0)
            args = (n_vms, used, cap, hist, vrow, d, filled, mode, float(det.safety), float(det.fallback_threshold),
                    int(det.min_history))

            def want_row(h: int, vr: np.ndarray, hist=hist, n_vms=n_vms, cap=cap, used=used, d=d, det=det) -> bool:
                row = hist[h] + vr / cap[h]
                return bool(n_vms[h] == 0) or not det.overloaded_one((used[h] + d) / cap[h],
                                                                     row[:trim_zero_tail_1d(row)])

            want = []
            for h in range(n):
                row = hist[h] + vrow / cap[h]
                want.append(bool(n_vms[h] == 0) or not det.overloaded_one((used[h] + d) / cap[h],
                                                                          row[:trim_zero_tail_1d(row)]))
            for h in range(n):
                assert (pick.adaptive_first(np.array([h], np.int64), *args) == h) == want[h]
            order = rng.permutation(n).astype(np.int64)
            first = next((int(h) for h in order if want[h]), -1)
            assert pick.adaptive_first(order, *args) == first
            # ranked: the hosts by total (ties to the lower host), one left out
            total = np.round(rng.random(n) * 4) / 4
            skip = int(rng.integers(n))
            ranked = order[np.lexsort((order, -total[order]))]
            ranked = ranked[ranked != skip]
            first = next((int(h) for h in ranked if want[h]), -1)
            assert pick.adaptive_ranked(order, total[order].copy(), n, skip, *args) == first
            # a NaN in a row is handed back
            bad = hist.copy()
            bad[order[0], 0] = np.nan
            assert pick.adaptive_first(order[:1], n_vms + 1, used, cap, bad, *args[4:]) is None
            # a move's update of two rows
            src, dst = (int(x) for x in rng.choice(n, 2, replace=False))
            h1, l1 = hist.copy(), trim_zero_tail(hist)
            h2, l2 = hist.copy(), l1.copy()
            pnow, used2 = np.zeros(n), used.copy()
            pick.move_rows(h1, l1, cap, vrow, src, dst, filled, pnow, used2, 250.0, 150.0, 400.0)
            want_p = np.zeros(n)
            pick.power_now(want_p, used2, cap, 250.0, 150.0, 400.0)
            assert pnow[src] == want_p[src] and pnow[dst] == want_p[dst]
            # the VM's row given as its history and booked MHz: multiplied in C as numpy does
            u_row, mhz = vrow / 2600.0, 2600.0 * float(rng.integers(1, 9))
            h3, l3 = hist.copy(), trim_zero_tail(hist)
            h4, l4 = hist.copy(), trim_zero_tail(hist)
            pick.move_rows(h3, l3, cap, u_row, src, dst, filled, None, None, 0.0, 0.0, 0.0, mhz)
            pick.move_rows(h4, l4, cap, u_row * mhz, src, dst, filled)
            assert h3.tobytes() == h4.tobytes() and np.array_equal(l3, l4)
            assert pick.adaptive_first(order, n_vms, used, cap, hist, u_row * mhz, *args[5:]) == \
                next((int(h) for h in order if want_row(h, u_row * mhz)), -1)
            np.maximum(h2[src] - vrow / cap[src], 0.0, out=h2[src])
            l2[src] = trim_zero_tail_1d(h2[src], filled)
            h2[dst] += vrow / cap[dst]
            l2[dst] = trim_zero_tail_1d(h2[dst], filled)
            assert h1.tobytes() == h2.tobytes() and np.array_equal(l1, l2)
    with pytest.raises(ValueError, match="mode"):
        pick.adaptive_first(order, *args[:7], 3, *args[8:])
    with pytest.raises(IndexError):
        pick.move_rows(h1, l1, cap, vrow, n, 0, 3)


def test_bound_parts_pick_and_learn():
    """The underload round's choice of filters for its checks: all of them every few decisions, else the ones
    that caught hosts alone (or the one that caught most); none when none caught any."""
    from kumo.policies.underload import BoundParts

    bp = BoundParts(every=3)
    assert bp.pick(3) == ((0, 1, 2), True)
    bp.learn(np.array([0, 4, 0]), np.array([2, 9, 2]))
    assert bp.pick(3) == ((1,), False) and bp.pick(3) == ((1,), False)
    assert bp.pick(3) == ((0, 1, 2), True)
    bp.learn(np.array([0, 0, 0]), np.array([5, 7, 7]))  # caught only together: the first that caught most
    assert bp.pick(3) == ((1,), False)
    bp.learn(np.array([0, 0, 0]), np.array([0, 0, 0]))
    assert bp.use == ()


@pytest.mark.parametrize("every", [1, 2, 1000])
def test_underload_round_same_whichever_filters_check(monkeypatch, every):
    """The checks' filters change the speed only: any choice gives the plain round's run."""
    from kumo.policies import consolidation, underload

    trace = _packed(6)
    sc = _scenario("worst-fit", "binding", False)
    sc["hosts"][1]["initially_on"] = True
    for h in sc["hosts"]:
        h["power"] = {"kind": "linear", "idle_w": 90.0, "max_w": 200.0}
    sc["controller"] = {"name": "consolidation", "params": {"detection": "iqr", "selection": "mmt"}}
    pick = underload.BoundParts.pick

    def pick_every(self, n_parts):
        self.every = every
        return pick(self, n_parts)

    monkeypatch.setattr(underload.BoundParts, "pick", pick_every)
    fast = run(parse(sc), trace)
    monkeypatch.setattr(consolidation.Consolidation, "_find_host", _plain_find_host)
    monkeypatch.setattr(consolidation, "empty_underloaded", _plain_underload)
    _same(fast, run(parse(sc), trace))


def test_kernel_matches_the_separate_calls():
    """_pick.Kernel (one decision's arrays held) against pabfd_best (plain and with the IQR/MAD check), the
    plan's move plus move_rows, and save/restore: the same bits, on random hosts, VMs and histories."""
    from kumo.policies import fused as F

    if not F.compiled():
        pytest.skip("the compiled kernel is not built (no C compiler at install, or KUMO_PURE_PYTHON)")
    pick = F._pick
    rng = np.random.default_rng(5)
    n, nv, H = 50, 200, 12
    for mode in (0, 1, 2):
        cap = rng.choice([2600.0 * 32, 2000.0 * 16], n)
        lim_d = cap[None, :].copy()
        lim_r = (rng.choice([131072.0, 65536.0], n) * (1 + 1e-12))[None, :]
        lim_c = (2.0 * cap * (1 + 1e-12))[None, :]
        vm_c, vm_r = rng.random(nv) * 4000.0, rng.random(nv) * 8000.0
        vm_bc, vm_br = vm_c + rng.random(nv) * 3000.0, vm_r + rng.random(nv) * 4000.0
        vm_hist = rng.random((nv, H))
        vm_hist[:, 9:] = 0.0

        def state(cap=cap):
            used_c, used_r = rng.random(n) * cap, rng.random(n) * 120000.0
            book_c, book_r = rng.random(n) * 150000.0, rng.random(n) * 130000.0
            nvm = rng.integers(0, 4, n).astype(np.int64)
            on, touched = rng.random(n) < 0.8, np.zeros(n, bool)
            hist = rng.random((n, H)) * 0.5
            hist[:, 9:] = 0.0
            hlen = np.array([max(1, int(np.flatnonzero(r)[-1]) + 1) if r.any() else 1 for r in hist], np.int64)
            pnow = np.empty(n)
            pick.power_now(pnow, used_c, cap, 250.0, 150.0, 400.0)
            return [used_c, used_r, book_c, book_r, nvm, on, touched, hist, hlen, pnow]

        mine = state()
        ref = [a.copy() for a in mine]
        out_h, out_t = np.empty(n, np.int64), np.empty(n)
        ref_h, ref_t = np.empty(n, np.int64), np.empty(n)
        used_c, used_r, book_c, book_r, nvm, on, touched, hist, hlen, pnow = mine
        k = pick.kernel(used_c, used_r, book_c, book_r, nvm, on, touched, vm_c, vm_r, vm_bc, vm_br, cap, lim_d,
                        lim_r, lim_c, 250.0, 150.0, 400.0, 1.0, out_h, out_t, pnow, hist, hlen, vm_hist, 10, mode,
                        1.5 if mode == 1 else 2.5, 0.8, 4)
        order = rng.permutation(n).astype(np.int64)
        excluded = rng.random(n) < 0.2
        saved: dict[int, bytes] = {}
        for step in range(120):
            vm, src, wake = int(rng.integers(nv)), int(rng.integers(n)), bool(rng.random() < 0.5)
            start = int(rng.integers(0, n))
            r_used_c, r_used_r, r_book_c, r_book_r, r_nvm, r_on, r_touched, r_hist, r_hlen, r_pnow = ref
            args = (order[start:], excluded, src, wake, r_on, r_used_c, r_book_r, r_book_c, cap, lim_d, lim_r, lim_c,
                    float(vm_c[vm]), float(vm_br[vm]), float(vm_bc[vm]), 250.0, 150.0, 400.0, 1.0, ref_h, ref_t, r_pnow)
            want = pick.pabfd_best(*args)
            assert k.best(order, start, excluded, vm, src, wake) == want
            if want is not None and want[1]:
                assert out_h[:want[1]].tobytes() == ref_h[:want[1]].tobytes()
                assert out_t[:want[1]].tobytes() == ref_t[:want[1]].tobytes()
            if mode:
                want_c = pick.pabfd_best(*args, r_nvm, r_hist, vm_hist[vm], 10, mode, 1.5 if mode == 1 else 2.5, 0.8,
                                         4, float(vm_bc[vm]))
                assert k.choose(order, start, excluded, vm, src, wake) == want_c
            # a move, with the host's values saved first (every third step rolls the saved hosts back)
            dst = int(rng.integers(n))
            if dst == src:
                continue
            if not saved:  # a trial starts: rolling it back must give this state again
                trial_start = [a.copy() for a in mine]
            for h in (src, dst):
                if h not in saved:
                    saved[h] = k.save(h)
            k.move(vm, src, dst)
            r_used_c[src] -= vm_c[vm]
            r_used_r[src] -= vm_r[vm]
            r_used_c[dst] += vm_c[vm]
            r_used_r[dst] += vm_r[vm]
            r_book_c[dst] += vm_bc[vm]
            r_book_r[dst] += vm_br[vm]
            r_nvm[src] -= 1
            r_nvm[dst] += 1
            r_on[dst] = True
            r_touched[src] = r_touched[dst] = True
            pick.move_rows(r_hist, r_hlen, cap, vm_hist[vm], src, dst, 10, r_pnow, r_used_c, 250.0, 150.0, 400.0,
                           float(vm_bc[vm]))
            for a, r in zip(mine, ref, strict=True):
                assert a.tobytes() == r.tobytes()
            if step % 3 == 2:  # roll the trial back: every array as it was when the trial started
                for h, b in saved.items():
                    k.restore(h, b)
                saved = {}
                assert all(a.tobytes() == t.tobytes() for a, t in zip(mine, trial_start, strict=True))
                for a, r in zip(mine, ref, strict=True):
                    r[...] = a
    # restore brings back the values saved, bit for bit
    before = [a.copy() for a in mine]
    b0, b1 = k.save(0), k.save(1)
    k.move(3, 0, 1)
    assert any(a.tobytes() != s.tobytes() for a, s in zip(mine, before, strict=True))
    k.restore(0, b0)
    k.restore(1, b1)
    assert all(a.tobytes() == s.tobytes() for a, s in zip(mine, before, strict=True))
    # bad arguments are refused with a clear error
    with pytest.raises(IndexError):
        k.best(order, 0, excluded, nv, 0, True)
    with pytest.raises(IndexError):
        k.move(0, 0, n)
    with pytest.raises(TypeError, match="cand"):
        k.best(order.astype(np.float64), 0, excluded, 0, 0, True)
    with pytest.raises(ValueError, match="saved"):
        k.restore(0, b"x")
    with pytest.raises(ValueError, match="mode"):
        pick.kernel(used_c, used_r, book_c, book_r, nvm, on, touched, vm_c, vm_r, vm_bc, vm_br, cap, lim_d, lim_r,
                    lim_c, 250.0, 150.0, 400.0, 1.0, out_h, out_t, pnow, hist, hlen, vm_hist, 10, 3, 1.5, 0.8, 4)
    with pytest.raises(ValueError, match="one entry per host"):
        pick.kernel(used_c[:-1], used_r, book_c, book_r, nvm, on, touched, vm_c, vm_r, vm_bc, vm_br, cap, lim_d,
                    lim_r, lim_c, 250.0, 150.0, 400.0, 1.0, out_h, out_t, pnow, hist, hlen, vm_hist, 10, 0, 1.5, 0.8, 4)
