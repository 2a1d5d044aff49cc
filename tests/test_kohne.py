"""Kohne's SLA schedulers: hand-built cluster states with the decision each rule must take, written out."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_trace

import kumo
from kumo.models.power import linear_table
from kumo.policies import registry
from kumo.policies.sla import SlaScheduler
from kumo.state import (
    HOST_OFF,
    HOST_ON,
    VM_MIGRATING,
    VM_RUNNING,
    ClusterState,
    ClusterView,
    HostArrays,
    VmArrays,
)
from kumo.studies.kohne2018.presets import TABLE_10_10 as PRESETS
from kumo.studies.kohne2018.presets import preset_params


def cluster(hosts, vms, cpu_oc=4.0, ram_oc=4.0, off=(), step=10):
    """hosts: [(cpu_mhz, ram_mb)]; vms: [(host, cpu_demand, ram_demand, cpu_booked, ram_booked)]."""
    nh, nv = len(hosts), len(vms)
    h = HostArrays(
        type_index=np.zeros(nh, np.int32), cores=np.ones(nh, np.int32),
        core_mhz=np.array([c for c, _ in hosts], float), cpu_mhz=np.array([c for c, _ in hosts], float),
        ram_mb=np.array([r for _, r in hosts], float), nic_mbps=np.full(nh, 1000.0),
        cpu_overcommit=np.full(nh, cpu_oc), ram_overcommit=np.full(nh, ram_oc), power_tables=[linear_table(100, 200)])
    v = VmArrays(ids=np.array([f"v{i}" for i in range(nv)]), cores=np.ones(nv, np.int32),
                 cpu_booked_mhz=np.array([x[3] for x in vms], float), ram_booked_mb=np.array([x[4] for x in vms], float),
                 arrive_step=np.zeros(nv, np.int32), depart_step=np.full(nv, 100, np.int32))
    on = np.ones(nh, bool)
    on[list(off)] = False
    s = ClusterState.empty(h, v, on)
    s.step = step
    for i, (host, c, r, bc, br) in enumerate(vms):
        s.vm_host[i] = host
        s.vm_state[i] = VM_RUNNING
        s.vm_cpu_demand[i] = c
        s.vm_ram_demand[i] = r
        s.host_cpu_booked[host] += bc
        s.host_ram_booked[host] += br
        s.host_n_vms[host] += 1
        s.host_cpu_demand[host] += c
        s.host_ram_demand[host] += r
    assert s.check() == []
    return s


def decide(state, **params):
    ctl = SlaScheduler(**params)
    assert ctl.validate() == []
    view = ClusterView(state)
    return ctl.decide(view, ctl.init_memory(view), np.random.default_rng(0))


# host 0 is CPU-overloaded: 500 + 300 + 150 = 950 of 1000 MHz > 0.9; hosts 1 and 2 have room
LAYOUT = dict(
    hosts=[(1000, 10000), (1000, 10000), (1000, 10000)],
    vms=[(0, 500, 100, 1000, 1000), (0, 300, 100, 1000, 1000), (0, 150, 100, 200, 1000),
         (1, 600, 100, 1000, 1000), (2, 200, 100, 1000, 1000)],
)


def test_mm_moves_the_smallest_vm_that_clears_the_overload_and_wf_picks_the_emptiest_host():
    # excess = 950 - 900 = 50 MHz: VMs using >= 50 clear it; the smallest of them uses 150 (v2)
    # WF after the move: host1 1 - (600+150)/1000 = 0.25, host2 1 - (200+150)/1000 = 0.65 -> host 2
    d = decide(cluster(**LAYOUT), selection="mm", host_selection="wf", ee=False)
    assert d.migrations == tuple([(2, 2)])


def test_bf_picks_the_tightest_host_that_still_fits():
    # BF: host1 free 0.25 < host2 free 0.65 -> host 1
    d = decide(cluster(**LAYOUT), selection="mm", host_selection="bf", ee=False)
    assert d.migrations == tuple([(2, 1)])


def test_hpg_moves_the_vm_using_least_of_its_booking():
    # used / booked on host 0: v0 500/1000 = 0.5, v1 300/1000 = 0.3, v2 150/200 = 0.75 -> v1 (clears: 650 <= 900)
    d = decide(cluster(**LAYOUT), selection="hpg", host_selection="wf", ee=False)
    assert d.migrations == tuple([(1, 2)])


def test_ff_evicts_in_placement_order_onto_the_first_host_that_fits_capacity():
    # FF takes v0 first (earliest, lowest index): 950 - 500 = 450 <= 900, done; first fit is host 1
    # (600 + 500 = 1100 > 1000 fails the capacity ceiling 1.0) -> host 2 (200 + 500 = 700)
    d = decide(cluster(**LAYOUT), **preset_params("FF", ee=False))
    assert d.migrations == tuple([(0, 2)])
    d = decide(cluster(**LAYOUT), **preset_params("FF", ee=False, ff_evict="all"))
    # every VM of host 0 leaves, each to the first host that fits: v0 -> 2, v1 -> 1 (600+300=900), v2 -> 2
    assert d.migrations == tuple([(0, 2), (1, 1), (2, 2)])


def test_targets_must_stay_under_the_upper_threshold_and_within_bookings():
    # upper 0.7: excess 950 - 700 = 250, MM takes v1 (300, the smallest clearing VM); host 1 would reach
    # (600 + 300) / 1000 = 0.9 > 0.7, host 2 (200 + 300) / 1000 = 0.5 -> host 2 although BF prefers tight hosts
    d = decide(cluster(**LAYOUT), selection="mm", host_selection="bf", ee=False, upper_cpu=0.7)
    assert d.migrations == tuple([(1, 2)])
    # CPU overcommit 1: hosts 1 and 2 are fully booked (1000 of 1000 MHz): no target, no off host to switch on
    assert decide(cluster(**LAYOUT, cpu_oc=1.0), selection="mm", host_selection="wf", ee=True) is None


def test_an_off_host_is_switched_on_when_no_running_host_fits():
    s = cluster(hosts=[(1000, 10000), (1000, 10000), (1000, 10000)],
                vms=[(0, 500, 100, 500, 100), (0, 450, 100, 450, 100), (1, 850, 100, 850, 100)], off=(2,))
    # host 0 at 0.95: MM takes v1 (450 >= 50, smaller than 500); host 1 would reach 1.3 -> switch on host 2
    d = decide(s, selection="mm", host_selection="wf", ee=True)
    assert d.migrations == tuple([(1, 2)])
    assert d.switch_off == tuple([])


def test_ee_drains_an_underloaded_host_all_or_nothing_and_switches_empty_hosts_off():
    # host 0 at 0.1 (< lower 0.2) goes onto host 1 (0.5 -> 0.6 <= 0.9); host 2 is empty -> off
    s = cluster(hosts=[(1000, 10000)] * 3, vms=[(0, 100, 100, 100, 100), (1, 500, 3000, 500, 3000)])
    d = decide(s, selection="mm", host_selection="wf", ee=True, lower=0.2)
    assert d.migrations == tuple([(0, 1)])
    assert d.switch_off == tuple([2])
    # with a consolidation ceiling of 0.55 the move would exceed it: nothing moves, host 2 still goes off
    d = decide(s, selection="mm", host_selection="wf", ee=True, lower=0.2, ee_upper=0.55)
    assert d.migrations == tuple([]) and d.switch_off == tuple([2])


def test_ee_does_not_drain_onto_other_underloaded_hosts_by_default():
    # both hosts are under 0.2: neither may receive (non-candidates) ...
    s = cluster(hosts=[(1000, 10000)] * 2, vms=[(0, 100, 100, 100, 100), (1, 150, 100, 100, 100)])
    assert decide(s, selection="mm", host_selection="wf", lower=0.2) is None
    # ... unless ee_targets = "any": the least loaded (host 0) drains to host 1
    d = decide(s, selection="mm", host_selection="wf", lower=0.2, ee_targets="any")
    assert d.migrations == tuple([(0, 1)])


def test_lb_moves_one_vm_from_the_most_to_the_least_loaded_host():
    # loads 0.85 / 0.10 / 0.45, spread 0.75 > 0.3, most loaded above the trigger 0.6
    s = cluster(hosts=[(1000, 10000)] * 3,
                vms=[(0, 500, 10, 1000, 10), (0, 350, 10, 1000, 10), (1, 100, 10, 1000, 10), (2, 450, 10, 1000, 10)])
    d = decide(s, selection="mm", host_selection="wf", ee=False, lb=True, lb_trigger=0.6)
    # MM against the mid level (0.85 + 0.10) / 2 = 0.475: excess 375; v0 (500) clears it, v1 (350) does not
    # -> v0 to host 1: loads become 0.35 / 0.60 / 0.45, spread lowered
    assert d.migrations == tuple([(0, 1)])
    assert decide(s, selection="mm", host_selection="wf", ee=False, lb=True, lb_trigger=0.9) is None


def test_op_prefers_the_host_whose_history_is_anti_correlated():
    # v0 alone overloads host 0; hosts 1 and 2 are equally free (WF would tie -> host 1), but host 1's
    # load has risen with v0's and host 2's has fallen: OP (anti-correlation) picks host 2
    s = cluster(hosts=[(1000, 10000), (3000, 10000), (3000, 10000)],
                vms=[(0, 950, 10, 1000, 10), (1, 300, 10, 1000, 10), (2, 300, 10, 1000, 10)])
    view = ClusterView(s)
    ctls = {op: SlaScheduler(selection="mm", host_selection=op, ee=False, op_min_history=4) for op in ("op", "wf")}
    mem = {op: c.init_memory(view) for op, c in ctls.items()}
    for x in (100, 200, 300, 400, 500):
        s.vm_cpu_demand[0] = x
        s.host_cpu_demand[:] = [x, 100 + x, 800 - x]
        ctls["op"]._record_history(view, mem["op"])
    s.vm_cpu_demand[0] = 950
    s.host_cpu_demand[:] = [950, 300, 300]
    rng = np.random.default_rng(0)
    assert ctls["op"].decide(view, mem["op"], rng).migrations == ((0, 2),)
    assert ctls["wf"].decide(view, mem["wf"], rng).migrations == ((0, 1),)
    # too little history: OP falls back to WF
    short = SlaScheduler(selection="mm", host_selection="op", ee=False, op_min_history=50)
    assert short.decide(view, short.init_memory(view), rng).migrations == ((0, 1),)


def test_vms_in_flight_are_not_candidates_and_have_left_their_source_for_planning():
    s = cluster(**LAYOUT)
    s.vm_state[2] = VM_MIGRATING
    s.vm_target[2] = 2
    s.host_cpu_booked[2] += 200
    s.host_ram_booked[2] += 1000
    s.host_n_vms[2] += 1
    s.host_cpu_demand[2] += 150
    s.host_ram_demand[2] += 100
    # host 0 plans at 950 - 150 = 800 <= 900: not overloaded, nothing to do
    assert decide(s, selection="mm", host_selection="wf", ee=False) is None


GUARD = dict(uptime_guard=True, uptime_window_h=1.0, uptime_allowance_s=18.0, uptime_downtime_s=10.0)


class Guarded:
    """A controller with the uptime guard whose VMs have already spent ``spent`` s of downtime this hour,
    with its memory (``decide(view, rng)``)."""

    def __init__(self, state, spent, **params):
        self.ctl = SlaScheduler(**GUARD, **params)
        assert self.ctl.validate() == []
        self.mem = self.ctl.init_memory(ClusterView(state))
        self.mem.ut_window = int(state.t_s // 3600)
        self.mem.ut_spent = np.asarray(spent, float)

    def decide(self, view, rng):
        return self.ctl.decide(view, self.mem, rng)


guarded = Guarded


def test_uptime_guard_skips_a_vm_whose_next_migration_would_break_its_uptime_slo():
    s = cluster(**LAYOUT)
    # v2 (MM's choice, see above) migrated this hour already: 10 s spent + 10 s > 18 s allowed -> protected;
    # of v0 (500) and v1 (300), both clear the 50 MHz excess, MM takes the smaller v1; WF: host 2
    ctl = guarded(s, [0, 0, 10, 0, 0], selection="mm", host_selection="wf", ee=False)
    assert ctl.decide(ClusterView(s), np.random.default_rng(0)).migrations == tuple([(1, 2)])
    assert ctl.mem.ut_spent[1] == 10.0  # the decided migration is booked
    # every VM of the overloaded host protected: by default relieving the overload outranks one uptime break
    ctl = guarded(s, [10, 10, 10, 0, 0], selection="mm", host_selection="wf", ee=False)
    assert ctl.decide(ClusterView(s), np.random.default_rng(0)).migrations == tuple([(2, 2)])
    # ... but not when staying breaks nothing (950 of 1000 MHz is over the threshold, within capacity) ...
    ctl = guarded(s, [10, 10, 10, 0, 0], selection="mm", host_selection="wf", ee=False,
                  uptime_guard_relief="over-capacity")
    assert ctl.decide(ClusterView(s), np.random.default_rng(0)) is None
    # ... and never with "never", even over capacity (1050 of 1000 MHz)
    s.vm_cpu_demand[2] += 100
    s.host_cpu_demand[0] += 100
    for relief, expected in (("over-capacity", ((2, 2),)), ("never", None)):
        ctl = guarded(s, [10, 10, 10, 0, 0], selection="mm", host_selection="wf", ee=False,
                      uptime_guard_relief=relief)
        d = ctl.decide(ClusterView(s), np.random.default_rng(0))
        assert (d.migrations if d else None) == expected
    s.vm_cpu_demand[2] -= 100
    s.host_cpu_demand[0] -= 100
    # a new window starts afresh
    s.t_s = 3600.0
    ctl = guarded(s, [0, 0, 10, 0, 0], selection="mm", host_selection="wf", ee=False)
    ctl.mem.ut_window = 0
    assert ctl.decide(ClusterView(s), np.random.default_rng(0)).migrations == tuple([(2, 2)])


def test_uptime_guard_keeps_ee_from_draining_a_host_with_a_protected_vm():
    s = cluster(hosts=[(1000, 10000)] * 3, vms=[(0, 100, 100, 100, 100), (1, 500, 3000, 500, 3000)])
    ctl = guarded(s, [10, 0], selection="mm", host_selection="wf", ee=True, lower=0.2)
    d = ctl.decide(ClusterView(s), np.random.default_rng(0))
    assert d.migrations == tuple([]) and d.switch_off == tuple([2])  # without the guard: [(0, 1)] (test above)
    # the FF baseline does not know the SLAs: its preset switches the guard off
    assert preset_params("FF", **GUARD)["uptime_guard"] is True  # overrides win in preset_params ...
    assert {**GUARD, **PRESETS["FF"]}["uptime_guard"] is False  # ... the preset wins in compare and sweeps


def test_presets_are_registered_and_validated():
    names = registry.names("controller")
    for label in PRESETS:
        assert f"kohne-{label.lower().replace('+', '-')}" in names
    ctl = registry.make("controller", "kohne-mmwf-lb")
    assert (ctl.selection, ctl.host_selection, ctl.lb) == ("mm", "wf", True)
    bad = SlaScheduler(selection="xx", host_selection="zz", upper_cpu=1.5, lower=0.95, lb_moves=0,
                       selection_params={"driver": "nope"}, uptime_guard_relief="sometimes", uptime_window_h=0)
    msgs = "\n".join(bad.validate())
    for part in ("selection: must be one of", "host_selection: must be one of", "upper_cpu: must be in (0, 1]",
                 "lower: must be in", "lb_moves: must be an integer >= 1", "uptime_guard_relief: must be one of",
                 "uptime_window_h: must be a number"):
        assert part in msgs
    with pytest.raises(KeyError, match="valid: FF, HPGBF"):
        preset_params("XYZ")
    issues = kumo.validate_scenario({"hosts": [{"count": 1, "cores": 1, "core_mhz": 1, "ram_mb": 1}],
                                     "controller": {"name": "sla", "params": {"host_selection": "rr"}}})
    assert any(i.startswith("controller.params.host_selection: must be one of") for i in issues)


@pytest.mark.parametrize("label", list(PRESETS))
def test_every_preset_runs_keeps_the_invariants_and_is_deterministic(label):
    rng = np.random.default_rng(5)
    cpu = rng.uniform(0, 1, (30, 12)) * np.repeat([[2000, 1000, 500]], 4, axis=0).ravel()
    ram = rng.uniform(100, 1500, (30, 12))
    tr = make_trace(cpu, ram=ram, booked_cpu=[2000, 1000, 500] * 4, booked_ram=[2048] * 12)
    sc = kumo.parse_scenario({
        "name": label, "seed": 1, "record_vm_steps": True,
        "hosts": [{"count": 4, "cores": 2, "core_mhz": 1500, "ram_mb": 4096, "cpu_overcommit": 4,
                   "ram_overcommit": 4, "initially_on": False}],
        "placement": {"preset": "worst-fit", "resource": "ram", "order": "ram-desc"},
        "migration": {"params": {"ram": "used", "source_cpu_loss": 0.0}},
        "controller": {"name": "sla", "params": preset_params(label, op_min_history=3)},
    })
    e = kumo.Engine(sc, tr)
    for k in range(tr.n_steps):
        e.step(k)
        assert e.state.check() == []
        on = e.state.host_state == HOST_ON
        assert np.all(e.state.host_n_vms[e.state.host_state == HOST_OFF] == 0)
        assert on.any()
    a = kumo.run(sc, tr)
    b = kumo.run(sc, tr)
    assert a.migrations.equals(b.migrations)
    assert a.summary == b.summary
