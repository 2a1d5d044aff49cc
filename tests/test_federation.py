"""Federation spec validation, hand-computed oracles of routing and money, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_trace
from federation_fixtures import dc, federation, provider

from kumo.errors import ConfigError
from kumo.federation import is_federation, run_federation, validate_federation
from kumo.federation.runner import assign_customers
from kumo.federation.spec import parse

# ------------------------------------------------------------------------------------------------ spec


def test_is_federation_needs_a_providers_table():
    assert is_federation({"providers": [], "customers": []})
    assert not is_federation({"hosts": [{"count": 1}]})
    assert not is_federation([])  # type: ignore[arg-type]


def test_all_problems_reported_at_once_with_paths():
    bad = federation(
        provider("a", dc(ram_mb=-4)),
        provider("b", dc("x", host={"cpu_overcommit": 0.5}), dc("x")),
        customers=[{"name": "c", "provider": "nope"}, {"name": "d", "provider": "a", "sla_class": "platinum",
                                                        "allowed_jurisdictions": ["XX"]}],
    )
    issues = validate_federation(bad)
    assert any(i.startswith("providers[0].datacenters[0].hosts[0].ram_mb: Input should be greater than 0") for i in issues)
    assert any(i.startswith("providers[1].datacenters[0].hosts[0].cpu_overcommit") for i in issues)
    # structural problems first; once the types are right, the cross-references are checked
    bad["providers"][0]["datacenters"][0]["hosts"][0]["ram_mb"] = 4096
    del bad["providers"][1]["datacenters"][0]["hosts"][0]["cpu_overcommit"]
    issues = validate_federation(bad)
    text = "\n".join(issues)
    assert "providers[1].datacenters[1].name: duplicate name 'x'" in text
    assert "customers[0].provider: unknown provider 'nope'; valid: a, b" in text
    assert "customers[1].sla_class: provider 'a' has no SLA template 'platinum'; valid: standard" in text
    assert "customers[1].allowed_jurisdictions[0]: unknown jurisdiction or region 'XX'; valid: DE" in text


def test_unknown_policies_list_valid_names_and_bad_params_name_the_field():
    spec = federation(provider("a", site={"name": "closest"}), broker={"name": "random"})
    issues = validate_federation(spec)
    assert any(i.startswith("broker: unknown broker policy 'random'; valid: auction, cheapest, greenest, reliance") for i in issues)
    assert any(i.startswith("providers[0].site: unknown site policy 'closest'; valid:") for i in issues)
    issues = validate_federation(federation(provider("a"), broker={"name": "reliance", "params": {"prior": 2}}))
    assert issues == ["broker.params.prior: must be in [0, 1], got 2"]
    issues = validate_federation(federation(provider("a"), broker={"name": "auction", "params": {"bogus": 1}}))
    assert len(issues) == 1 and issues[0].startswith("broker: broker policy 'auction': unknown parameter(s) ['bogus']")


def test_counts_mode_refuses_tolerances_it_cannot_honour():
    spec = federation(provider("a", sla_templates={"standard": {"sla": {"cpu_tolerance": 0.1}}}))
    assert validate_federation(spec) == [
        "providers[0].sla_templates.standard.sla.cpu_tolerance: needs federation.sla_detail = 'steps' "
        "(counts mode has zero tolerance)"]
    spec["federation"] = {"sla_detail": "steps"}
    assert validate_federation(spec) == []


def test_a_customer_no_data_center_may_host_is_an_error():
    spec = federation(provider("a", dc(jurisdiction="DE")), provider("b", dc(jurisdiction="US"), offer=1.0),
                      customers=[{"name": "c", "provider": "a", "allowed_jurisdictions": ["US"], "denied_providers": ["b"]}])
    issues = validate_federation(spec)
    assert len(issues) == 1 and issues[0].startswith("customers[0]: no data center satisfies its constraints")


def test_errors_raise_one_config_error_listing_them_all():
    with pytest.raises(ConfigError, match="2 problem"):
        parse(federation(provider("a", dc(ram_mb=0), dc(hosts=0))))


def test_customer_assignment_by_share():
    spec = parse(federation(provider("a"), customers=[{"name": "x", "provider": "a", "share": 1},
                                                      {"name": "y", "provider": "a", "share": 3}]))
    assert assign_customers(spec, 8).tolist() == [0, 0, 1, 1, 1, 1, 1, 1]
    rr = parse({**spec.model_dump(), "federation": {"customer_assignment": "round-robin"}})
    # ideal positions: x at 1/4, 3/4; y at 1/12, 3/12, 5/12, 7/12, 9/12, 11/12 (ties: lower customer first)
    assert assign_customers(rr, 8).tolist() == [1, 0, 1, 1, 1, 0, 1, 1]
    rnd = parse({**spec.model_dump(), "federation": {"customer_assignment": "random"}})
    a = assign_customers(rnd, 100)
    assert np.bincount(a).tolist() == [25, 75] and a.tolist() == assign_customers(rnd, 100).tolist()


# ------------------------------------------------------------------------------------------------ oracles
def three_vms(steps: int = 4):
    """Three 1-core VMs booking 1000 MHz each, using 600 MHz, for ``steps`` steps of 300 s."""
    return make_trace([[600, 600, 600]] * steps, booked_cpu=[1000, 1000, 1000])


def test_cheapest_outsources_to_the_cheapest_partner_with_room_and_money_adds_up():
    # home fits one VM; 'cheap' (0.5 x list) fits one; 'dear' (0.8 x list) takes the third
    spec = federation(provider("home"), provider("dear", offer=1.0, partner_scale=0.8),
                      provider("cheap", offer=1.0, partner_scale=0.5))
    r = run_federation(spec, three_vms())
    vms = r.vms
    assert vms.host_provider.tolist() == ["home", "cheap", "dear"]
    assert vms.outsourced.tolist() == [False, True, True]
    assert vms.partner_price_per_hour.tolist()[1:] == [0.5, 0.8]
    hours = 4 * 300 / 3600
    p = r.providers.set_index("provider")
    # one revenue line per VM, each rounded to the cent
    assert p.loc["home", "revenue"] == pytest.approx(3 * round(1.0 * hours, 2))
    assert p.loc["home", "outsourcing"] == pytest.approx(-(round(0.5 * hours, 2) + round(0.8 * hours, 2)))
    assert p.loc["cheap", "insourcing"] == pytest.approx(round(0.5 * hours, 2))
    assert p.loc["dear", "insourcing"] == pytest.approx(round(0.8 * hours, 2))
    # every provider's ledger sums to its profit and the profits to the federation's, to the cent
    led = r.ledger
    assert int(p["profit_cents"].sum()) == int(led.amount_cents.sum()) == round(r.summary["profit"] * 100)
    for name in p.index:
        assert int(r.ledger_of(name).amount_cents.sum()) == int(p.loc[name, "profit_cents"])
    flows = r.flows.set_index("payee")
    assert flows.loc["cheap", "amount"] == pytest.approx(round(0.5 * hours, 2))
    assert r.summary["outsourcing_volume"] == pytest.approx(round(0.5 * hours, 2) + round(0.8 * hours, 2))


def test_residency_beats_price():
    # the customer may only use DE; the cheap partner is in FR, the dear one in DE
    spec = federation(provider("home", dc(jurisdiction="DE")), provider("cheap", dc(jurisdiction="FR"), offer=1.0,
                                                                        partner_scale=0.1),
                      provider("dear", dc(jurisdiction="DE"), offer=1.0, partner_scale=0.9),
                      customers=[{"name": "bank", "provider": "home", "allowed_jurisdictions": ["DE"]}])
    r = run_federation(spec, three_vms())
    assert r.vms.host_provider.tolist() == ["home", "dear", ""]
    assert r.vms.status.tolist() == ["running", "running", "rejected"]
    assert set(r.placements.jurisdiction) == {"DE"}
    # the FR data center's engine does not even hold the bank's VMs
    assert r.datacenter_results[1].tables["vms"].vm_id.tolist() == ["<none>"]
    assert r.summary["residency_violations"] == 0


def test_provider_lists_and_sharing_limits():
    spec = federation(provider("home"), provider("p1", offer=1.0, partner_scale=0.1),
                      provider("p2", offer=1.0, partner_scale=0.9, sharing={"accept_from": ["p1"]}),
                      provider("p3", dc(hosts=2), offer=0.5, partner_scale=0.5),
                      customers=[{"name": "c", "provider": "home", "denied_providers": ["p1"]}])
    r = run_federation(spec, three_vms())
    # p1 denied by the customer, p2 hosts only for p1, p3 offers half of 2 hosts = one VM
    assert r.vms.host_provider.tolist() == ["home", "p3", ""]


def test_auction_second_price_and_utilization_surge():
    # two partners with the same list price; 'busy' already hosts a partner VM, so its bid is higher
    spec = federation(provider("home"), provider("busy", dc(hosts=2), offer=1.0, sharing={"bid_surge": 1.0}),
                      provider("idle", dc(hosts=2), offer=1.0, sharing={"bid_surge": 1.0}),
                      broker={"name": "auction", "params": {"pricing": "second", "max_price_ratio": 10}})
    r = run_federation(spec, make_trace([[600] * 4] * 2, booked_cpu=[1000] * 4))
    # VM1: both bid 1.0 (empty), tie -> lower index 'busy', paid the second bid 1.0
    # VM2: busy at 1/2 bids 1.5, idle bids 1.0 -> idle wins, paid 1.5
    # VM3: busy 1.5, idle at 1/2 1.5 -> tie -> busy, paid 1.5
    assert r.vms.host_provider.tolist() == ["home", "busy", "idle", "busy"]
    assert r.vms.partner_price_per_hour.tolist()[1:] == [1.0, 1.5, 1.5]


def test_auction_reserve_price_declines_and_first_price_pays_the_bid():
    spec = federation(provider("home"), provider("p", offer=1.0, partner_scale=1.2),
                      broker={"name": "auction", "params": {"pricing": "first", "max_price_ratio": 1.0}})
    r = run_federation(spec, make_trace([[600] * 2], booked_cpu=[1000] * 2))
    assert r.vms.status.tolist() == ["running", "rejected"]
    assert "declined 1 offer" in r.rejections.reason.iloc[0]
    spec["broker"]["params"]["max_price_ratio"] = 2.0
    r = run_federation(spec, make_trace([[600] * 2], booked_cpu=[1000] * 2))
    assert r.vms.partner_price_per_hour.tolist()[1] == pytest.approx(1.2)


def reliance_world(broker: str):
    """'cheap' breaks the SLA of its own customer's VMs from step 0 (two VMs using 1500 MHz each on one
    2 x 1000 MHz host with CPU overcommit 2); 'good' does not. At step 2 a VM of 'home' finds home full."""
    cheap = provider("cheap", dc(cores=2, host={"cpu_overcommit": 2.0}), offer=1.0, partner_scale=0.5)
    good = provider("good", dc(hosts=1), offer=1.0, partner_scale=0.9)
    spec = federation(provider("home"), cheap, good, broker={"name": broker},
                      customers=[{"name": "h", "provider": "home", "share": 2},
                                 {"name": "c", "provider": "cheap", "share": 2}])
    # VMs 0, 1 home's (VM 0 at t=0, VM 1 arrives at step 2); VMs 2, 3 cheap's, 3000 MHz on 2000 MHz
    tr = make_trace([[600, 0, 1500, 1500]] * 2 + [[600, 600, 1500, 1500]] * 2, booked_cpu=[1000, 1000, 1500, 1500],
                    arrive=[0, 2, 0, 0])
    return spec, tr


def test_reliance_avoids_the_partner_that_broke_slas_where_cheapest_does_not():
    spec, tr = reliance_world("cheapest")
    assert run_federation(spec, tr).vms.host_provider.tolist()[1] == "cheap"
    spec, tr = reliance_world("reliance")
    r = run_federation(spec, tr)
    assert r.vms.host_provider.tolist()[1] == "good"
    assert r.vms.sla_breaks_cpu.tolist()[2:] == [4, 4]


def test_reliance_factor_arithmetic():
    from kumo.federation.brokers import Quotes, RelianceBroker

    q = Quotes(provider=np.array([1, 2]), list_price=np.array([1.0, 2.0]), utilization=np.zeros(2),
               bid_surge=np.zeros(2), ok_steps=np.array([[90, 100], [0, 0]]), steps=np.array([[100, 100], [0, 0]]),
               customer_price=4.0)
    b = RelianceBroker(prior=1.0, prior_steps=10)
    assert b.reliance(q).tolist() == pytest.approx([(90 + 10) / 110, 1.0])
    assert b.choose(q, np.random.default_rng(0)) == (1, 2.0)
    # a weight on price of 1 per customer price: 100/110 - 1/4 = 0.659 vs 1 - 2/4 = 0.5 -> the cheap one
    assert RelianceBroker(prior_steps=10, price_weight=1.0).choose(q, np.random.default_rng(0)) == (0, 1.0)
    assert RelianceBroker(prior_steps=10, min_reliance=0.95, max_price_ratio=0.4).choose(q, None) == (-1, pytest.approx(np.nan, nan_ok=True))


def test_risk_threshold_outsources_before_the_data_center_is_full():
    # home's single host (2 cores x 1000 MHz, overcommit 2) holds VM0 demanding 1800 MHz: 90 % busy
    spec = federation(provider("home", dc(cores=2, host={"cpu_overcommit": 2.0}), risk_util=0.8), provider("p", offer=1.0))
    tr = make_trace([[1800, 0]] * 2 + [[1800, 100]] * 2, booked_cpu=[2000, 200], arrive=[0, 2])
    assert run_federation(spec, tr).vms.host_provider.tolist() == ["home", "p"]
    spec["providers"][0]["risk_util"] = 0.95
    assert run_federation(spec, tr).vms.host_provider.tolist() == ["home", "home"]


def test_queue_places_a_vm_when_capacity_frees_and_expires_it_otherwise():
    spec = federation(provider("home"), federation={"on_no_capacity": "queue"})
    tr = make_trace([[600, 600, 600]] * 4, booked_cpu=[1000] * 3, depart=[2, 4, 3])
    r = run_federation(spec, tr)
    # VM1 waits until VM0 leaves at step 2; VM2 waits until its own end at step 3
    assert r.vms.status.tolist() == ["departed", "running", "expired"]
    assert r.vms.first_placed_step.tolist() == [0, 2, -1]
    assert r.summary["vms_expired"] == 1 and r.summary["served_fraction"] == pytest.approx(2 / 3)


@pytest.mark.parametrize(("policy", "expect"), [("first", ["a", "a"]), ("cheapest-energy", ["b", "b"]),
                                                ("least-loaded", ["a", "b"])])
def test_site_policies(policy, expect):
    # 'a' is listed first and costs 0.3 x 1.0 per kWh; 'b' costs 0.2 x 1.2; VM1 arrives after VM0
    p = provider("home", dc("a", hosts=2, energy_price_per_kwh=0.3), dc("b", hosts=2, energy_price_per_kwh=0.2, pue=1.2),
                 site={"name": policy})
    tr = make_trace([[600, 0]] + [[600, 600]] * 2, booked_cpu=[1000] * 2, arrive=[0, 1])
    r = run_federation(federation(p), tr)
    assert r.vms.datacenter.tolist() == [f"home/{x}" for x in expect]


def test_wan_move_takes_size_over_bandwidth_plus_latency_and_switches_at_a_step_boundary():
    # two sites; 'a' is hot (two VMs using 900 MHz each on 2 x 1000 MHz) and rebalances to the empty 'b'
    site = {"name": "first", "params": {"rebalance_above": 0.8, "rebalance_below": 0.6, "max_moves": 1}}
    p = provider("home", dc("a", cores=2, host={"cpu_overcommit": 2.0}), dc("b", cores=2), site=site,
                 wan={"mbps": 80, "latency_ms": 500, "switchover_s": 3.0})
    tr = make_trace([[900, 900]] * 6, booked_cpu=[1000, 1000], booked_ram=[1000, 2000])
    r = run_federation(federation(p, federation={"rebalance_interval_steps": 1}), tr)
    t = r.transfers
    assert len(t) == 1 and t.status.iloc[0] == "done"
    # decided after step 0, starts at 300 s; smaller RAM first: VM0, 1000 MB x 8 / 80 Mbit/s + 0.5 s = 100.5 s
    assert t.vm.iloc[0] == 0 and t.start_s.iloc[0] == 300.0
    assert t.end_s.iloc[0] == pytest.approx(300 + 1000 * 8 / 80 + 0.5)
    assert t.switch_s.iloc[0] == 600.0  # the first step boundary after the copy
    pl = r.placements.set_index(["vm", "dc"])
    assert pl.loc[(0, 0), "steps"] == 2 and pl.loc[(0, 1), "steps"] == 4
    assert r.vms.final_dc.tolist() == [1, 0] and r.vms.transfers.tolist() == [1, 0]
    # both VMs shared 2000 MHz for 900 + 900 in steps 0-1: no CPU break; VM0 is down 3 s, within 86.4 s/day
    assert r.summary["sla_breaks_uptime"] == 0
    assert r.datacenters.transfers_out.tolist() == [1, 0] and r.datacenters.transfers_in.tolist() == [0, 1]


def test_penalties_of_an_outsourced_vm_are_reimbursed_by_the_host():
    # the partner packs two VMs on one 1000 MHz host (overcommit 2): both break every step
    tpl = {"standard": {"penalties": {"cpu": {"kind": "fixed", "value": 2.0}}}}
    spec = federation(provider("home", sla_templates=tpl),
                      provider("p", dc(host={"cpu_overcommit": 2.0}), offer=1.0, sla_templates=tpl),
                      federation={"penalty_share": 0.75},
                      customers=[{"name": "h", "provider": "home", "share": 2}, {"name": "q", "provider": "p", "share": 1}])
    tr = make_trace([[600, 900, 900]] * 3, booked_cpu=[1000] * 3)
    # VM0 home; VM1 home's, outsourced to p (home full); VM2 p's own, shares p's host with VM1
    r = run_federation(spec, tr)
    assert r.vms.host_provider.tolist() == ["home", "p", "p"]
    assert r.vms.sla_breaks_cpu.tolist() == [0, 3, 3]
    led = r.ledger
    pen = led[(led.category == "penalty") & (led.vm == 1)]
    assert pen.party.tolist() == ["home"] and pen.amount.tolist() == [-6.0]
    re = led[led.category == "penalty-reimbursement"].set_index("party")
    assert re.loc["p", "amount"] == -4.5 and re.loc["home", "amount"] == 4.5
    assert r.summary["penalties"] == 12.0 and r.summary["penalty_reimbursements"] == 4.5


def test_same_seed_same_tables_and_write(tmp_path):
    spec = federation(provider("home"), provider("p", dc(hosts=2), offer=1.0),
                      customers=[{"name": "x", "provider": "home"}, {"name": "y", "provider": "p"}],
                      federation={"customer_assignment": "random"}, seed=7)
    tr = make_trace(np.random.default_rng(1).uniform(0, 900, (5, 6)), booked_cpu=[1000] * 6)
    a, b = run_federation(spec, tr), run_federation(spec, tr)
    for name in a.tables:
        assert a.tables[name].equals(b.tables[name]), name
    out = a.write(tmp_path / "out", "csv", datacenters=True)
    assert {p.name for p in out.iterdir()} >= {"summary.csv", "ledger.csv", "flows.csv", "schema.json", "manifest.json",
                                               "datacenters"}
    assert (out / "datacenters" / "home-dc" / "hosts.csv").exists()


def test_steps_mode_counts_the_same_breaks_as_counts_mode():
    spec = federation(provider("home", dc(hosts=1, host={"cpu_overcommit": 3.0, "ram_overcommit": 2.0})))
    tr = make_trace(np.random.default_rng(3).uniform(0, 1000, (6, 3)), ram=np.random.default_rng(4).uniform(0, 3000, (6, 3)),
                    booked_cpu=[1000] * 3, booked_ram=[2500] * 3)
    a = run_federation(spec, tr)
    spec["federation"] = {"sla_detail": "steps"}
    b = run_federation(spec, tr)
    assert a.vms.sla_breaks_cpu.sum() > 0 and a.vms.sla_breaks_ram.sum() > 0
    assert a.vms.sla_breaks_cpu.tolist() == b.vms.sla_breaks_cpu.tolist()
    assert a.vms.sla_breaks_ram.tolist() == b.vms.sla_breaks_ram.tolist()


def outage_world(failover: str, second_site: bool = False, partner: bool = False):
    sites = [dc("a", outages=[{"start_h": 0.5, "duration_h": 0.4}])] + ([dc("b")] if second_site else [])
    provs = [provider("home", *sites, failover=failover, restart_s=60.0)]
    if partner:
        provs.append(provider("p", offer=1.0, partner_scale=0.5))
    # one VM for 12 steps (1 h); the outage covers steps 6..10 (0.5 h .. 0.9 h rounded out to whole steps)
    return federation(*provs), make_trace([[600]] * 12, booked_cpu=[1000])


def test_an_outage_without_failover_is_downtime_for_its_whole_length():
    spec, tr = outage_world("none")
    r = run_federation(spec, tr)
    # steps 6, 7, 8, 9, 10 (floor(1800/300) .. ceil(3240/300) = 11, exclusive): 5 x 300 s down
    assert r.vms.downtime_s.tolist() == [5 * 300.0]
    assert r.summary["availability"] == pytest.approx(1 - 1500 / 3600)
    assert r.summary["sla_breaks_uptime"] == 1 and r.summary["failovers"] == 0
    assert r.vms.datacenter.tolist() == ["home/a"]


def test_failover_to_another_site_costs_a_restart_and_the_vm_stays_there():
    spec, tr = outage_world("sites", second_site=True)
    r = run_federation(spec, tr)
    assert r.summary["failovers"] == 1 and r.vms.downtime_s.tolist() == [60.0]
    assert r.vms.final_dc.tolist() == [1]
    pl = r.placements.set_index("dc")
    assert pl.loc[0, "steps"] == 6 and pl.loc[1, "steps"] == 6
    assert r.summary["sla_breaks_uptime"] == 0  # 60 s < 86.4 s a day


def test_failover_to_a_partner_pays_only_for_the_hours_there():
    spec, tr = outage_world("federation", partner=True)
    r = run_federation(spec, tr)
    assert r.vms.host_provider.tolist() == ["home"] and r.vms.outsourced.tolist() == [True]
    out = r.ledger[r.ledger.category == "outsourcing"]
    # 6 steps at the partner (steps 6..11) at 0.5 per hour
    assert out.measure.tolist() == [0.5] and out.amount.tolist() == [-0.25]
    assert r.flows.amount.tolist() == [0.25]
    # arrivals avoid a site that is down: a second-site-less 'sites' failover keeps the VM down
    spec, tr = outage_world("sites", partner=True)
    assert run_federation(spec, tr).vms.downtime_s.tolist() == [1500.0]


def test_failback_moves_the_vm_home_over_the_wan_when_the_site_is_back():
    spec, _ = outage_world("federation", partner=True)
    r = run_federation(spec, make_trace([[600]] * 14, booked_cpu=[1000]))
    # back at step 11 (3300 s): a WAN move of 1024 MB at 1000 Mbit/s + 20 ms, switching at step 12
    t = r.transfers
    assert t.status.tolist() == ["done"] and t.src.tolist() == [1] and t.dst.tolist() == [0]
    assert t.end_s.iloc[0] == pytest.approx(3300 + 1024 * 8 / 1000 + 0.02) and t.switch_s.tolist() == [3600.0]
    assert r.vms.final_dc.tolist() == [0]
    # restart 60 s + switch-over 2 x 20 ms
    assert r.vms.downtime_s.iloc[0] == pytest.approx(60.04)
    out = r.ledger[r.ledger.category == "outsourcing"]
    assert out.measure.tolist() == [0.5]  # steps 6..11 at the partner
