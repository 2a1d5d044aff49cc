"""The ledger: revenue, SLA breaks, penalties, costs, profit; expected numbers written as arithmetic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_trace

import kumo
from kumo.accounting import (
    LedgerSpec,
    SlaSpec,
    account,
    end_of_step_loads,
    migration_downtime_s,
    parse_ledger_spec,
    sla_breaks,
    source_overloaded,
)
from kumo.api import Decision
from kumo.engine import Engine
from kumo.errors import ConfigError
from kumo.results import RunResult

STEP = 300.0


def fake_result(n_steps=576, vms=((2, 4096.0), (1, 2048.0)), migrations=(), host_energy=(10.0, 5.0),
                arrays=None, price=0.25, pue=1.2):
    """A RunResult built by hand: two VMs (cores, booked RAM MB) placed all the time on host 0."""
    nv = len(vms)
    tables = {
        "summary": pd.DataFrame({"step_s": [STEP], "steps": [n_steps], "duration_h": [n_steps * STEP / 3600],
                                 "migrations": [len(migrations)]}),
        "vms": pd.DataFrame({"vm": range(nv), "vm_id": [f"vm{i}" for i in range(nv)], "cores": [c for c, _ in vms],
                             "ram_booked_mb": [r for _, r in vms], "steps_run": [n_steps] * nv,
                             "arrive_step": [0] * nv, "depart_step": [n_steps] * nv}),
        "hosts": pd.DataFrame({"host": [0, 1], "energy_kwh": list(host_energy), "on_h": [48.0, 10.0],
                               "cpu_mhz": [1000.0, 1000.0], "ram_mb": [8192.0, 8192.0]}),
        "migrations": pd.DataFrame({"vm": [m[0] for m in migrations], "src": [0] * len(migrations),
                                    "dst": [1] * len(migrations), "start_s": [m[1] for m in migrations],
                                    "end_s": [m[1] + 1.0 for m in migrations], "ram_mb": [4096.0] * len(migrations),
                                    "status": ["done"] * len(migrations)}),
    }
    base = {
        "vm_cpu_demand_mhz": np.full((n_steps, nv), 100.0, np.float32),
        "vm_cpu_delivered_mhz": np.full((n_steps, nv), 100.0, np.float32),
        "vm_ram_demand_mb": np.full((n_steps, nv), 1000.0, np.float32),
        "vm_ram_shortfall_mb": np.zeros((n_steps, nv), np.float32),
        "vm_downtime_s": np.zeros((n_steps, nv), np.float32),
        "vm_host": np.zeros((n_steps, nv), np.int32),
    }
    base.update(arrays or {})
    manifest = {"scenario": {"energy": {"price_per_kwh": price, "pue": pue}}}
    return RunResult(tables=tables, manifest=manifest, arrays=base)


def test_revenue_is_price_per_size_hour_times_billed_hours():
    r = fake_result()
    a = account(r, {"prices": {"scale": 0.01, "per_vcpu_hour": 7.46, "per_gb_hour": 1.0}})
    hours = 576 * 300 / 3600  # 48 h
    vm0 = 0.01 * (7.46 * 2 + 1.0 * 4096 / 1024) * hours
    vm1 = 0.01 * (7.46 * 1 + 1.0 * 2048 / 1024) * hours
    assert a.summary["revenue"] == pytest.approx(vm0 + vm1, rel=1e-12)
    rev = a.ledger[a.ledger.category == "revenue"]
    assert rev.amount.tolist() == pytest.approx([vm0, vm1])
    assert rev.measure.tolist() == pytest.approx([hours, hours])


def test_price_list_bills_each_vm_at_the_cheapest_size_that_covers_it():
    r = fake_result()  # VM 0: 2 vCPU, 4 GiB; VM 1: 1 vCPU, 2 GiB; 48 h each
    sizes = [{"name": "large", "vcpus": 4, "ram_gb": 16, "per_hour": 0.30},
             {"name": "small", "vcpus": 1, "ram_gb": 2, "per_hour": 0.05},
             {"name": "medium", "vcpus": 2, "ram_gb": 4, "per_hour": 0.10},
             {"name": "mem", "vcpus": 1, "ram_gb": 8, "per_hour": 0.12}]
    a = account(r, {"prices": {"scale": 2.0, "sizes": sizes}})
    rev = a.ledger[a.ledger.category == "revenue"]
    assert rev.rate.tolist() == pytest.approx([2 * 0.10, 2 * 0.05])
    assert a.summary["revenue"] == pytest.approx(2 * (0.10 + 0.05) * 48)
    # a VM bigger than every size is an error that names it
    with pytest.raises(ConfigError, match=r"1 VM\(s\) fit no listed size, first VM vm0 \(2 vCPU, 4 GiB"):
        account(r, {"prices": {"sizes": sizes[1:2]}})
    with pytest.raises(ConfigError, match=r"ledger.prices.sizes\[0\].per_hour: Input should be greater than or equal to 0"):
        parse_ledger_spec({"prices": {"sizes": [{"vcpus": 1, "ram_gb": 1, "per_hour": -1}]}})


def test_costs_energy_times_pue_times_price_plus_hardware_per_host_hour():
    r = fake_result()
    a = account(r, {"costs": {"hardware_per_host_hour": 0.5}})
    energy = (10.0 + 5.0) * 1.2 * 0.25  # kWh x PUE x price from the scenario
    hardware = 2 * 48.0 * 0.5  # every host of the park for the whole run
    assert a.summary["energy_cost"] == pytest.approx(energy)
    assert a.summary["hardware_cost"] == pytest.approx(hardware)
    assert a.summary["costs"] == pytest.approx(energy + hardware)
    on = account(r, {"costs": {"hardware_per_host_hour": 0.5, "hardware_basis": "on", "energy_price_per_kwh": 0.1,
                               "pue": 1.0}})
    assert on.summary["hardware_cost"] == pytest.approx((48.0 + 10.0) * 0.5)
    assert on.summary["energy_cost"] == pytest.approx(15.0 * 0.1)


def test_cpu_and_ram_breaks_fixed_penalties_and_the_profit_identity():
    n = 576
    delivered = np.full((n, 2), 100.0, np.float32)
    delivered[[3, 4, 10], 0] = 60.0  # VM 0 short in steps 3, 4 and 10
    shortfall = np.zeros((n, 2), np.float32)
    shortfall[7, :] = 50.0  # both VMs short of RAM in step 7
    r = fake_result(arrays={"vm_cpu_delivered_mhz": delivered, "vm_ram_shortfall_mb": shortfall})
    a = account(r, {"prices": {"scale": 0.01}, "costs": {"hardware_per_host_hour": 0.1}})
    s = a.summary
    assert (s["sla_breaks_cpu"], s["sla_breaks_ram"], s["sla_breaks_uptime"]) == (3, 2, 0)
    assert s["penalties"] == pytest.approx(160 * 3 + 120 * 2)
    assert s["profit"] == pytest.approx(s["revenue"] - s["penalties"] - s["costs"], abs=1e-9)
    assert a.ledger.amount.sum() == pytest.approx(s["profit"], abs=1e-9)
    assert s["margin_percent"] == pytest.approx(100 * s["profit"] / s["revenue"])
    cpu = a.ledger[a.ledger.item == "cpu"]
    assert cpu.step.tolist() == [3, 4, 10] and cpu.vm_id.tolist() == ["vm0"] * 3
    assert cpu.measure.tolist() == pytest.approx([40.0] * 3)
    # one per contiguous episode: steps 3-4 are one, 10 another
    ep = account(r, {"sla": {"counting": "episode"}}).summary
    assert (ep["sla_breaks_cpu"], ep["sla_breaks_ram"]) == (2, 2)
    # a 50 % tolerance forgives the 40 % shortfalls
    assert account(r, {"sla": {"cpu_tolerance": 0.5}}).summary["sla_breaks_cpu"] == 0


def test_uptime_breaks_per_daily_window_from_cold_migration_downtime():
    # RAM in use 1000 MB at 1000 Mbit/s x 0.5 -> 62.5 MB/s -> 16 s per migration, cold: 16 s down.
    # Allowance (1 - 0.999) x 86,400 s = 86.4 s: 6 migrations in day 0 (96 s) break, 5 in day 1 (80 s) do not.
    day = 86400.0
    migs = [(0, 600.0 * i) for i in range(6)] + [(0, day + 600.0 * i) for i in range(5)]
    r = fake_result(migrations=migs)
    assert migration_downtime_s(r, SlaSpec()).tolist() == pytest.approx([1000 / (1000 * 0.5 / 8)] * 11)
    b = sla_breaks(r)
    ut = b[b.resource == "uptime"]
    assert ut.vm.tolist() == [0] and ut.window.tolist() == [0] and ut.measure.tolist() == pytest.approx([96.0])
    # booked RAM (4096 MB) copies take 65.536 s: two in a day already break -> days 0 and 1
    assert sla_breaks(r, SlaSpec(migrated_ram="booked")).query("resource == 'uptime'").window.tolist() == [0, 1]
    # live: 5 % of 16 s per migration never breaks; a 1 h window with 99 % (36 s) breaks in hour 0 (6 x 16 = 96 s
    # starting within the first hour) and in hour 24 (5 x 16 = 80 s)
    assert len(sla_breaks(r, SlaSpec(downtime="live")).query("resource == 'uptime'")) == 0
    hourly = sla_breaks(r, SlaSpec(uptime_window_h=1.0, uptime_target=0.99)).query("resource == 'uptime'")
    assert hourly.window.tolist() == [0, 24]


def test_uptime_downtime_only_for_migrations_off_overloaded_sources():
    # six 16-s cold migrations of VM 0 in day 0 (96 s > 86.4 s) break under "all". Host 0 (1000 MHz) is
    # overloaded only at steps 0, 2, 4 (2 x 600 MHz), where the first three start: under "overload" they
    # cost 16 s each and the three off a calm host (200 MHz) migrate live, 5 % of 16 s:
    # 3 x 16 + 3 x 0.8 = 50.4 s <= 86.4 s, no break
    migs = [(0, 600.0 * i) for i in range(6)]
    cpu = np.full((576, 2), 100.0, np.float32)
    cpu[[0, 2, 4], :] = 600.0
    r = fake_result(migrations=migs, arrays={"vm_cpu_demand_mhz": cpu})
    assert source_overloaded(r).tolist() == [True] * 3 + [False] * 3  # no controller: physical, 1.0
    assert migration_downtime_s(r, SlaSpec(downtime_moves="overload")).tolist() == pytest.approx([16.0] * 3 + [0.8] * 3)
    assert len(sla_breaks(r).query("resource == 'uptime'")) == 1
    assert len(sla_breaks(r, SlaSpec(downtime_moves="overload")).query("resource == 'uptime'")) == 0
    # a threshold of 0.1 (load 0.2 > 0.1) makes every source overloaded: the break is back
    low = SlaSpec(downtime_moves="overload", overload_threshold=0.1)
    assert sla_breaks(r, low).query("resource == 'uptime'").measure.tolist() == pytest.approx([96.0])
    # without a threshold the controller's upper thresholds apply (from the run's manifest)
    r.manifest["scenario"]["controller"] = {"name": "sla", "params": {"upper_cpu": 0.15, "upper_ram": 0.9}}
    assert source_overloaded(r).all()


def test_uptime_penalty_rules():
    day = 86400.0
    r = fake_result(migrations=[(1, 600.0 * i) for i in range(6)] + [(0, day + 600.0 * i) for i in range(6)])
    spec = {"prices": {"scale": 0.01}}
    a = account(r, spec)
    rev = a.ledger[a.ledger.category == "revenue"].amount.to_numpy()
    ut = a.ledger[a.ledger.item == "uptime"]
    # H-UT1: 10 % of the breaking VM's period revenue, per break
    assert ut.vm.tolist() == [1, 0]
    assert ut.amount.tolist() == pytest.approx([-0.1 * rev[1], -0.1 * rev[0]])
    # H-UT2: 2 per second above the allowance: (96 - 86.4) x 2 per break
    a2 = account(r, {**spec, "penalties": {"uptime": {"kind": "excess-downtime", "value": 2.0}}})
    assert a2.summary["penalties_uptime"] == pytest.approx(2 * (96 - 86.4) * 2)
    # fixed per break; CPU as a revenue fraction
    a3 = account(r, {**spec, "penalties": {"uptime": {"kind": "fixed", "value": 7.0}}})
    assert a3.summary["penalties_uptime"] == pytest.approx(14.0)


def test_windowed_breaks_compare_the_shortfall_over_a_window_with_the_demand_over_it():
    n = 576  # two days of 5-minute steps: 48 one-hour windows, two daily ones
    delivered = np.full((n, 2), 100.0, np.float32)
    delivered[3, 0] = 0.0  # VM 0 gets nothing for one step in hour 0: 1/12 of the hour's demand
    delivered[300:306, 1] = 50.0  # VM 1 short by half for 6 steps in hour 25: 1/4 of that hour
    shortfall = np.zeros((n, 2), np.float32)
    shortfall[400, 0] = 1000.0  # VM 0 gets none of its RAM for one step in hour 33
    r = fake_result(arrays={"vm_cpu_delivered_mhz": delivered, "vm_ram_shortfall_mb": shortfall})

    def counts(**sla):
        s = account(r, {"sla": {"counting": "window", **sla}}).summary
        return s["sla_breaks_cpu"], s["sla_breaks_ram"]

    assert counts(window_h=1.0) == (2, 1)  # any shortfall breaks its window
    assert counts(window_h=1.0, cpu_tolerance=0.1, ram_tolerance=0.1) == (1, 0)  # 1/12 forgiven, 1/4 not
    assert counts(window_h=1.0, cpu_tolerance=0.3, ram_tolerance=0.05) == (0, 1)
    # over a day, VM 1's six half steps are 3/288 of its demand, VM 0's lost step 1/288
    assert counts(window_h=24.0, cpu_tolerance=0.01) == (1, 1)
    assert counts(window_h=24.0, cpu_tolerance=0.011, ram_tolerance=0.01) == (0, 0)
    led = account(r, {"sla": {"counting": "window", "window_h": 1.0}}).ledger
    cpu = led[led.item == "cpu"].sort_values("vm")
    assert cpu.window.tolist() == [0, 25] and cpu.step.tolist() == [0, 300]
    assert cpu.unit.tolist() == ["share of demand"] * 2
    assert cpu.measure.tolist() == pytest.approx([1 / 12, 0.25])
    assert cpu.t_s.tolist() == [0.0, 25 * 3600.0]
    # a VM not placed in a window cannot break it, whatever the arrays say
    host = np.zeros((n, 2), np.int32)
    host[0:12, 0] = -1
    r2 = fake_result(arrays={"vm_cpu_delivered_mhz": delivered, "vm_host": host})
    s2 = account(r2, {"sla": {"counting": "window", "window_h": 1.0}}).summary
    assert s2["sla_breaks_cpu"] == 1


@pytest.mark.parametrize("window_h", [1.0, 0.3, 5 / 3, 100.0])
def test_window_sums_match_a_loop_over_calendar_windows(window_h):
    from kumo.accounting import window_sums

    x = np.random.default_rng(3).random((97, 4)).astype(np.float32)
    win = (np.arange(97) * 300.0 // (window_h * 3600.0)).astype(int)
    n_w = int(np.ceil(97 * 300.0 / (window_h * 3600.0)))
    want = np.array([x[win == w].astype(np.float64).sum(axis=0) for w in range(n_w)])
    assert np.allclose(window_sums(x, 300.0, window_h), want, rtol=1e-12, atol=0)
    assert (window_sums(x > 0.9, 300.0, window_h, "any") == np.array([(x[win == w] > 0.9).any(axis=0)
                                                                      for w in range(n_w)])).all()


def test_sla_classes_give_groups_of_vms_their_own_tolerances_targets_and_penalties():
    n = 576
    delivered = np.full((n, 2), 100.0, np.float32)
    delivered[[3, 4], 0] = 90.0  # VM 0 (2 vCPU, 4 GiB) misses 10 % in two steps
    delivered[[5], 1] = 90.0  # VM 1 (1 vCPU, 2 GiB) misses 10 % in one step
    r = fake_result(arrays={"vm_cpu_delivered_mhz": delivered}, migrations=[(0, 0.0), (1, 600.0)])
    base = {"sla": {"uptime_target": 0.999, "downtime": "fixed", "fixed_downtime_s": 100.0}}
    plain = account(r, base)
    assert (plain.summary["sla_breaks_cpu"], plain.summary["sla_breaks_uptime"]) == (3, 2)
    gold = {"name": "gold", "min_vcpus": 2, "cpu_tolerance": 0.0, "uptime_target": 0.99,
            "penalties": {"cpu": {"kind": "fixed", "value": 1000.0}}}
    bronze = {"name": "bronze", "vms": ["vm1"], "cpu_tolerance": 0.2}
    a = account(r, {**base, "classes": [gold, bronze]})
    pen = a.ledger[a.ledger.category == "penalty"]
    # gold (VM 0): both CPU breaks at 1000; 100 s of downtime is within 1 % of a day: no uptime break
    # bronze (VM 1): its 10 % shortfall is within 20 %; its uptime break keeps the ledger's target and price
    assert pen[["item", "vm", "sla_class", "rate"]].values.tolist() == [
        ["cpu", 0, "gold", 1000.0], ["cpu", 0, "gold", 1000.0], ["uptime", 1, "bronze", 0.10]]
    assert a.summary["penalties"] == pytest.approx(2000.0 + 0.10 * a.ledger.amount[a.ledger.vm.eq(1)
                                                                                    & a.ledger.category.eq("revenue")].sum())
    assert set(a.ledger[a.ledger.category != "penalty"].sla_class) == {""}
    # the first class that matches wins; VMs no class matches keep the ledger's SLA ("default")
    b = account(r, {**base, "classes": [bronze, {"name": "all", "max_vcpus": 64, "cpu_tolerance": 0.5}]})
    assert b.ledger[b.ledger.category == "penalty"][["item", "vm", "sla_class"]].values.tolist() == [
        ["uptime", 0, "all"], ["uptime", 1, "bronze"]]
    c = account(r, {**base, "classes": [bronze]})
    assert c.ledger[c.ledger.item == "cpu"].sla_class.tolist() == ["default", "default"]


def test_sla_class_problems_are_reported():
    with pytest.raises(ConfigError) as e:
        parse_ledger_spec({"classes": [{"name": "gold"}, {"name": "default", "vms": ["x"]},
                                       {"name": "a", "vms": ["x"]}, {"name": "a", "vms": ["y"]}]})
    text = "\n".join(e.value.issues)
    assert "class 'gold' selects no VM" in text and "'default' is the name" in text
    with pytest.raises(ConfigError, match="SLA class names must be unique; repeated: a"):
        parse_ledger_spec({"classes": [{"name": "a", "vms": ["x"]}, {"name": "a", "vms": ["y"]}]})
    with pytest.raises(ConfigError, match=r"ledger.classes\[0\].vms: 1 VM id\(s\) not in the run, first 'nope'"):
        account(fake_result(), {"classes": [{"name": "a", "vms": ["vm0", "nope"]}]})


def test_ledger_spec_validation_reports_every_problem_with_its_path():
    with pytest.raises(ConfigError) as e:
        parse_ledger_spec({"penalties": {"cpu": {"value": -1}}, "sla": {"counting": "weekly", "uptime_window_h": 0},
                           "prices": {"colour": "red"}})
    text = "\n".join(e.value.issues)
    assert "ledger.penalties.cpu.value: Input should be greater than or equal to 0, got -1" in text
    assert "ledger.sla.counting: Input should be 'interval', 'episode' or 'window'" in text
    assert "ledger.sla.uptime_window_h" in text
    assert "ledger.prices.colour: Extra inputs are not permitted" in text
    assert LedgerSpec().penalties.cpu.value == 160 and LedgerSpec().penalties.ram.value == 120


def test_accounting_needs_the_per_step_matrices():
    tr = make_trace([[100]])
    r = kumo.run(kumo.parse_scenario({"hosts": [{"count": 1, "cores": 1, "core_mhz": 1000, "ram_mb": 4096}]}), tr)
    with pytest.raises(ValueError, match="record_vm_steps = true"):
        account(r)


class Scripted:
    def __init__(self, plan):
        self.plan = plan

    def init_memory(self, view):
        return None

    def decide(self, view, memory, rng):
        return self.plan.get(view.step)


def _two_host_run():
    # host 0 (1000 MHz) carries VMs demanding 700 + 500 = 1200 MHz: overloaded. At step 1 VM 1 (RAM in use
    # 625 MB -> 625 / 62.5 = 10 s copy) moves to host 1; it is done 10 s into the step.
    tr = make_trace([[700, 500], [700, 500], [700, 500]], ram=[[1000, 625]] * 3, booked_cpu=[1000, 1000],
                    booked_ram=[2048, 2048])
    sc = kumo.parse_scenario({"record_vm_steps": True, "energy": {"price_per_kwh": 0.0},
                              "hosts": [{"count": 2, "cores": 1, "core_mhz": 1000, "ram_mb": 4096, "cpu_overcommit": 2}],
                              "placement": {"preset": "first-fit"},
                              "migration": {"params": {"ram": "used", "source_cpu_loss": 0.0}}})
    e = Engine(sc, tr)
    e.controller = Scripted({1: Decision(migrations=[(1, 1)])})
    return e.run()


def test_end_of_step_check_sees_the_cluster_after_the_migrations_of_the_step():
    r = _two_host_run()
    host_end, cpu_end, _ = end_of_step_loads(r)
    assert host_end[:, 1].tolist() == [0, 1, 1]
    assert cpu_end[:, 0].tolist() == [1200, 700, 700]
    # over the step (mean): step 0 both VMs short, step 1 both short for the 10 s the copy takes
    mean = sla_breaks(r, SlaSpec(check="mean")).query("resource == 'cpu'")
    assert list(zip(mean.step, mean.vm, strict=True)) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    # at the end of each step: only step 0, before the scheduler acted
    end = sla_breaks(r, SlaSpec(check="end")).query("resource == 'cpu'")
    assert list(zip(end.step, end.vm, strict=True)) == [(0, 0), (0, 1)]
    # share at the end of step 0: 1000 / 1200 -> shortfalls 700 / 6 and 500 / 6 MHz
    assert end.measure.tolist() == pytest.approx([700 / 6, 500 / 6])
    # mean over step 1: 10 s at 1000 / 1200 then 290 s in full -> 700 x (1 - (10 x 5/6 + 290) / 300)
    assert mean.measure.tolist()[2] == pytest.approx(700 * (1 - (10 * 5 / 6 + 290) / 300), rel=1e-5)
