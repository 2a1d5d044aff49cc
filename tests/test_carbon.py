"""Grid carbon intensity: the series readers, the per-step means, emissions in the results and the ledger,
carbon-aware controllers and power-off, the ``greenest`` broker and site policy, and failure bursts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_scenario, make_trace
from federation_fixtures import dc, federation, provider

import kumo
from kumo.accounting import account
from kumo.errors import ConfigError, TraceFormatError
from kumo.federation import run_federation
from kumo.federation.brokers import GreenestBroker, GreenestSite, Quotes, Sites
from kumo.models.carbon import CarbonSeries, load_series, step_intensity
from kumo.models.replication import FailureModel
from kumo.traces.series import read_carbon, read_failures

# ------------------------------------------------------------------------------------------- series


def hourly(values, start="2023-01-01"):
    return CarbonSeries("t", float(np.datetime64(start, "s").astype("int64")), 3600.0, np.asarray(values, float))


def test_a_step_inside_an_hour_takes_its_value_and_a_step_across_two_the_time_weighted_mean():
    s = hourly([100, 200, 400])
    assert step_intensity(s, 0, 12, 300).tolist() == [100.0] * 12
    # a 1800 s step from 2700 s: 900 s of 100 and 900 s of 200
    assert step_intensity(s, 2700, 1, 1800)[0] == pytest.approx(150.0)
    # a 2 h step from 1800 s: 1800 s at 100, 3600 s at 200, 1800 s at 400
    assert step_intensity(s, 1800, 1, 7200)[0] == pytest.approx((100 * 0.5 + 200 + 400 * 0.5) / 2)


def test_the_integral_over_the_run_is_exact_and_a_run_longer_than_the_series_wraps():
    rng = np.random.default_rng(0)
    s = hourly(rng.uniform(50, 500, 48))
    got = step_intensity(s, 1234.0, 1000, 300.0)
    # 1000 steps of 300 s from 1234 s = 83.3 h: wraps around the 48 h series once
    t = 1234.0 + np.arange(1000 * 300) + 0.5  # one-second midpoints
    want = s.g_per_kwh[((t % (48 * 3600)) // 3600).astype(int)]
    assert got.sum() * 300 == pytest.approx(want.sum(), rel=1e-9)


def test_start_is_an_iso_date_or_hours_inside_the_series():
    s = hourly(np.ones(48))
    assert s.offset_s("2023-01-02") == 86400.0
    assert s.offset_s(5) == 5 * 3600.0
    assert s.offset_s(None) == 0.0
    for bad in ("2022-12-31", "2023-01-03", "June"):
        with pytest.raises(ValueError, match="start"):
            s.offset_s(bad)
    with pytest.raises(ValueError, match=">= 0"):
        s.offset_s(-1)


def test_the_shipped_series_are_hourly_2021_to_2024():
    for region in ("AT", "AU", "BE", "NL"):
        s = load_series(region)
        assert s.step_s == 3600.0 and s.n == 35064
        assert str(np.datetime64(int(s.epoch_s), "s")) == "2021-01-01T00:00:00"
        assert 0 < s.g_per_kwh.min() and s.g_per_kwh.max() < 1000
    assert load_series("carbon-NL").name == "NL"
    # Australia's coal-heavy grid emits more than Austria's hydro-heavy one, on average
    assert load_series("AU").mean > 2 * load_series("AT").mean


def test_a_carbon_file_and_every_bad_input_is_named(tmp_path):
    ok = tmp_path / "grid.csv"
    ok.write_text("timestamp,carbon_intensity\n2024-01-01T00:00Z,100\n2024-01-01T01:00Z,200\n")
    name, epoch, step, g = read_carbon(ok)
    assert (name, step, g.tolist()) == ("grid", 3600.0, [100.0, 200.0])
    assert epoch == float(np.datetime64("2024-01-01T00:00", "s").astype("int64"))
    cases = {
        "timestamp,intensity\n2024-01-01,1\n": "missing column 'carbon_intensity'",
        "timestamp,carbon_intensity\n2024-01-01T00:00Z,100\n2024-01-01T01:00Z,nan\n": "line 3",
        "timestamp,carbon_intensity\n2024-01-01T00:00Z,-5\n": "carbon_intensity must be",
        "timestamp,carbon_intensity\n": "no rows",
        ("timestamp,carbon_intensity\n2024-01-01T00:00Z,1\n2024-01-01T01:00Z,1\n2024-01-01T03:00Z,1\n"
         "2024-01-01T04:00Z,1\n"): "constant step",
        "timestamp,carbon_intensity\nyesterday,1\n": "timestamp",
    }
    for i, (text, msg) in enumerate(cases.items()):
        f = tmp_path / f"bad{i}.csv"
        f.write_text(text)
        with pytest.raises(TraceFormatError, match=msg) as e:
            read_carbon(f)
        assert f.name in str(e.value)
    with pytest.raises(TraceFormatError, match="no such carbon series"):
        read_carbon(tmp_path / "nope.csv")


# ------------------------------------------------------------------------------------------- runs


def one_host(carbon=None, **kw):
    return make_scenario(hosts=((1, 1, 1000.0, 4096.0),), energy={"pue": 1.5, "price_per_kwh": 0.2},
                         **({"carbon": carbon} if carbon else {}), **kw)


def test_emissions_are_facility_energy_times_intensity_per_step_host_and_run():
    tr = make_trace([[500]] * 24)
    res = kumo.run(one_host({"g_per_kwh": 400.0, "price_per_t": 100.0}, record_vm_steps=True), tr)
    s = res.summary
    assert s["co2_kg"] == pytest.approx(s["facility_energy_kwh"] * 0.4)
    assert s["carbon_g_per_kwh_mean"] == pytest.approx(400.0)
    steps, hosts = res.tables["steps"], res.tables["hosts"]
    assert steps["co2_kg"].sum() == pytest.approx(s["co2_kg"])
    assert hosts["co2_kg"].sum() == pytest.approx(s["co2_kg"])
    assert (steps["carbon_g_per_kwh"] == 400.0).all()
    # the ledger prices the tonnes at the carbon price, a cost line per host
    acc = account(res)
    assert acc.summary["co2_kg"] == pytest.approx(s["co2_kg"])
    assert acc.summary["carbon_cost"] == pytest.approx(s["co2_kg"] / 1000 * 100.0, abs=0.01)
    assert acc.summary["costs"] == pytest.approx(acc.summary["energy_cost"] + acc.summary["hardware_cost"]
                                                 + acc.summary["carbon_cost"])
    # without [carbon]: no emissions, no carbon line
    plain = kumo.run(one_host(record_vm_steps=True), tr)
    assert plain.summary["co2_kg"] == 0.0
    assert "carbon" not in set(account(plain).ledger["category"])


def test_a_series_makes_emissions_follow_the_hour(tmp_path):
    f = tmp_path / "grid.csv"
    f.write_text("timestamp,carbon_intensity\n" + "".join(f"2024-01-01T{h:02d}:00Z,{100 * (h + 1)}\n"
                                                          for h in range(24)))
    tr = make_trace([[500]] * 24)  # two hours of 300 s steps
    res = kumo.run(one_host({"source": str(f), "start": "2024-01-01T05:00"}), tr)
    assert res.tables["steps"]["carbon_g_per_kwh"].tolist() == [600.0] * 12 + [700.0] * 12
    kwh = res.tables["steps"]["energy_kwh"].to_numpy() * 1.5
    assert res.summary["co2_kg"] == pytest.approx(float((kwh * res.tables["steps"]["carbon_g_per_kwh"]).sum()) / 1000)


def test_carbon_config_errors_name_the_field():
    with pytest.raises(ConfigError, match="either source"):
        one_host({"price_per_t": 5.0})
    with pytest.raises(ConfigError, match="either source"):
        one_host({"source": "NL", "g_per_kwh": 3.0})
    with pytest.raises(ConfigError, match="carbon.start"):
        kumo.run(one_host({"source": "NL", "start": "1999-01-01"}), make_trace([[1.0]]))
    with pytest.raises(ConfigError, match="switch_off_carbon_above: needs a \\[carbon\\]"):
        one_host(power_management={"switch_off_idle": True, "switch_off_carbon_above": 100})
    with pytest.raises(ConfigError, match="carbon_above: carbon-aware timing needs"):
        one_host(controller={"name": "consolidation", "params": {"carbon_above": 100}})


def test_power_off_waits_for_a_dirty_grid():
    # VM 1 leaves after 2 steps: its host empties; with switch_off_carbon_above above the grid's intensity it
    # stays on (ready for the next arrival), below it goes off
    tr = make_trace([[500, 500]] * 6, depart=[6, 2])
    two = dict(hosts=((2, 1, 1000.0, 4096.0),), placement={"preset": "first-fit", "resource": "cpu"})

    def offs(threshold):
        sc = make_scenario(carbon={"g_per_kwh": 300.0}, **two,
                           power_management={"switch_off_idle": True, "switch_off_carbon_above": threshold})
        return int(kumo.run(sc, tr).tables["hosts"]["switch_offs"].sum())

    assert offs(200.0) == 1
    assert offs(400.0) == 0


def test_consolidation_underload_round_waits_for_a_dirty_grid():
    # host 0 holds a small VM, host 1 another: the underload round would empty host 0 (see
    # test_consolidation); with carbon_above above the grid's intensity it does not run
    tr = make_trace([[100, 300]] * 3, booked_cpu=[800, 800])

    def migrations(threshold):
        sc = make_scenario(hosts=((3, 1, 1000.0, 4096.0),), cpu_overcommit=4.0, carbon={"g_per_kwh": 300.0},
                           placement={"preset": "first-fit", "resource": "cpu",
                                      "filters": ["powered", "vcpus", {"name": "cpu-booking", "params": {"ratio": 1.0}},
                                                  "ram-booking"]},
                           controller={"name": "consolidation", "params": {"detection": "thr", "carbon_above": threshold}},
                           power_management={"switch_off_idle": True})
        return kumo.run(sc, tr).summary["migrations"]

    assert migrations(200.0) == 1
    assert migrations(400.0) == 0


def test_the_view_offers_the_intensity_now_and_a_forecast():
    from kumo.engine import Engine

    seen = []

    class Spy:
        def init_memory(self, view):
            return None

        def decide(self, view, memory, rng):
            seen.append((view.carbon_g_per_kwh, view.carbon_forecast(3).tolist()))
            return None

    f_steps = make_trace([[1.0]] * 24)
    sc = one_host({"source": "NL", "start": "2023-06-05"})
    eng = Engine(sc, f_steps)
    eng.controller = Spy()
    eng.run()
    want = step_intensity(load_series("NL"), load_series("NL").offset_s("2023-06-05"), 24, 300.0)
    assert seen[0] == (want[0], want[:3].tolist())
    assert seen[-1][1] == want[-1:].tolist()  # shorter at the end of the run


@pytest.mark.parametrize("kind", ["perfect", "persistence", "yesterday"])
@pytest.mark.parametrize("window", [1, 5, 12, 30])
def test_forecasts_tell_what_they_promise(kind, window):
    """``at`` against its definition, step by step; ``day_mean`` against the mean of ``at`` (tolerance
    1e-9 relative: a difference of cumulative sums against a direct sum)."""
    from kumo.models.carbon import CarbonForecast

    lag, n = 12, 40
    ext = np.random.default_rng(3).uniform(50, 500, lag + n)
    f = CarbonForecast(kind, ext, lag)
    now = ext[lag:]
    for k in range(n):
        got = f.at(k, window)
        assert len(got) == min(window, n - k) and got[0] == now[k]
        for j in range(1, len(got)):
            want = {"perfect": now[k + j], "persistence": now[k],
                    "yesterday": ext[lag + k + j - lag * int(np.ceil(j / lag))]}[kind]
            assert got[j] == want
    means = f.day_mean(window)
    assert means == pytest.approx([f.at(k, window).mean() for k in range(n)], rel=1e-9)
    with pytest.raises(ValueError, match="valid are"):
        CarbonForecast("oracle", ext, lag)


@pytest.mark.parametrize("kind", ["persistence", "yesterday"])
def test_the_view_tells_the_scenario_s_forecast(kind):
    from kumo.engine import Engine

    seen = []

    class Spy:
        def init_memory(self, view):
            return None

        def decide(self, view, memory, rng):
            seen.append(view.carbon_forecast(300).copy())
            return None

    sc = one_host({"source": "NL", "start": "2023-06-05", "forecast": kind})
    eng = Engine(sc, make_trace([[1.0]] * 400))
    eng.controller = Spy()
    result = eng.run()
    series = load_series("NL")
    day_before = step_intensity(series, series.offset_s("2023-06-05") - 86400, 288, 300.0)
    actual = result.tables["steps"]["carbon_g_per_kwh"].to_numpy()
    f0 = seen[0]
    assert f0[0] == actual[0] and len(f0) == 300
    if kind == "persistence":
        assert (f0 == actual[0]).all()
    else:
        assert f0[1:288].tolist() == day_before[1:288].tolist()  # the same hour yesterday
        assert f0[288] == actual[0]  # a day ahead: now
        assert f0[289:].tolist() == day_before[1:12].tolist()  # beyond a day: two days back
    # a run is the same whatever its policies are told: the forecast only informs
    same = one_host({"source": "NL", "start": "2023-06-05"})
    assert kumo.run(same, make_trace([[1.0]] * 400)).summary["co2_kg"] == result.summary["co2_kg"]


def test_a_federation_s_day_ahead_horizon_follows_the_forecast():
    from kumo.federation.runner import _carbon_arrays

    class Eng:
        pass

    from kumo.models.carbon import CarbonForecast

    ext = np.arange(1.0, 1.0 + 288 + 100)
    for kind in ("perfect", "persistence", "yesterday"):
        eng = Eng()
        eng.trace = make_trace([[1.0]] * 100)
        eng.dt = 300.0
        eng.carbon = ext[288:]
        eng.state = Eng()
        eng.state.carbon_forecast = CarbonForecast(kind, ext, 288)
        arr = _carbon_arrays(eng, 1.5)
        assert arr["carbon_now"] == pytest.approx(ext[288:] * 1.5)
        f = eng.state.carbon_forecast
        assert arr["carbon_day"] == pytest.approx([1.5 * f.at(k, 288).mean() for k in range(100)], rel=1e-12)


# ------------------------------------------------------------------------------------------- federation


def quotes(carbon, price=(1.0, 1.0, 1.0), ok=(10, 10, 10)):
    n = len(carbon)
    return Quotes(provider=np.arange(n), list_price=np.asarray(price, float), utilization=np.zeros(n),
                  bid_surge=np.zeros(n), ok_steps=np.array([ok, ok]), steps=np.full((2, n), 10),
                  customer_price=2.0, carbon_now=np.asarray(carbon, float), carbon_day=np.asarray(carbon, float)[::-1])


def test_greenest_broker_picks_the_lowest_intensity_then_the_cheaper():
    rng = np.random.default_rng(0)
    q = quotes([300.0, 100.0, 200.0])
    assert GreenestBroker(horizon="now").choose(q, rng) == (1, 1.0)
    assert GreenestBroker(horizon="day").choose(q, rng) == (1, 1.0)  # day = [200, 100, 300]
    tie = quotes([100.0, 100.0, 200.0], price=(1.5, 1.2, 1.0))
    assert GreenestBroker(horizon="now").choose(tie, rng) == (1, 1.2)
    # the SLA floor: the greenest partner broke the SLA on 9 of 10 VM-steps (reliance (1 + 288) / 298 < 0.99)
    bad = quotes([300.0, 100.0, 200.0], ok=(10, 1, 10))
    assert GreenestBroker(horizon="now", min_reliance=0.99).choose(bad, rng) == (2, 1.0)
    assert GreenestBroker(horizon="now", max_price_ratio=0.4).choose(q, rng)[0] == -1
    assert GreenestBroker(horizon="later").validate() == ["horizon: must be 'now' or 'day', got 'later'"]
    # without carbon data every offer is 0 g: the cheapest wins
    plain = Quotes(provider=np.arange(2), list_price=np.array([2.0, 1.0]), utilization=np.zeros(2),
                   bid_surge=np.zeros(2), ok_steps=np.zeros((2, 2)), steps=np.zeros((2, 2)), customer_price=2.0)
    assert GreenestBroker().choose(plain, rng) == (1, 1.0)


def test_greenest_site_ranks_by_intensity():
    s = Sites(dc=np.arange(3), energy_cost=np.zeros(3), booked_util=np.zeros(3), demand_util=np.zeros(3),
              carbon_now=np.array([300.0, 100.0, 200.0]), carbon_day=np.array([100.0, 300.0, 200.0]))
    assert GreenestSite(horizon="now").rank(s).tolist() == [1, 2, 0]
    assert GreenestSite(horizon="day").rank(s).tolist() == [0, 2, 1]


def test_a_federation_sends_overflow_to_the_greenest_partner_and_books_its_carbon():
    def site(name, g):
        return provider(name, dc(name, carbon={"g_per_kwh": g, "price_per_t": 50.0}), offer=1.0,
                        partner_scale=0.5 if name == "dirty" else 0.9)

    tr = make_trace([[600, 600, 600]] * 4, booked_cpu=[1000, 1000, 1000])
    for broker, second in (("cheapest", "dirty"), ("greenest", "clean")):
        spec = federation(provider("home", dc("home", carbon={"g_per_kwh": 250.0, "price_per_t": 50.0})),
                          site("dirty", 700.0), site("clean", 50.0), broker={"name": broker})
        r = run_federation(spec, tr)
        assert r.vms.host_provider.tolist()[:2] == ["home", second]
        d = r.datacenters.set_index("provider")
        for name, g in (("home", 250.0), ("dirty", 700.0), ("clean", 50.0)):
            assert d.loc[name, "co2_kg"] == pytest.approx(d.loc[name, "facility_energy_kwh"] * g / 1000)
        assert r.summary["co2_kg"] == pytest.approx(d["co2_kg"].sum())
        led = r.ledger
        carbon = led[led.category == "carbon"]
        assert -carbon.amount.sum() == pytest.approx(r.summary["carbon_cost"], abs=0.02)
        assert r.summary["costs"] == pytest.approx(r.summary["energy_cost"] + r.summary["hardware_cost"]
                                                   + r.summary["carbon_cost"])


# ------------------------------------------------------------------------------------------- failures


def test_failure_bursts_replay_the_trace_without_overlaps():
    _, interval, duration, frac = read_failures("netflix")
    m = FailureModel(kind="bursts", source="netflix", intensity_scale=0.5)
    assert m.validate() == []
    horizon = 7 * 86400.0
    ev = m.timeline(np.random.default_rng(1), horizon, 40)
    again = m.timeline(np.random.default_rng(1), horizon, 40)
    assert ev.host.tolist() == again.host.tolist()  # seeded
    starts = np.cumsum(interval)
    n_bursts = int(np.count_nonzero(starts < horizon))
    assert len(np.unique(ev.fail_s)) <= n_bursts
    assert len(ev.host) > 0 and (ev.repair_s > ev.fail_s).all() and (ev.fail_s < horizon).all()
    for h in np.unique(ev.host):  # one host is never hit while it is down
        f, r = ev.fail_s[ev.host == h], ev.repair_s[ev.host == h]
        assert (f[1:] >= r[:-1]).all()
    # the first burst hits round(fraction x scale x hosts) hosts, at least one
    first = ev.fail_s == ev.fail_s.min()
    assert first.sum() == max(1, round(frac[0] * 0.5 * 40))
    # an offset starts the run later in the trace (looped)
    base = FailureModel(kind="bursts", source="netflix").timeline(np.random.default_rng(1), 3 * 86400.0, 40)
    later = FailureModel(kind="bursts", source="netflix", offset_h=24.0).timeline(np.random.default_rng(1),
                                                                                2 * 86400.0, 40)
    shifted = base.fail_s[base.fail_s >= 86400.0] - 86400.0
    assert set(later.fail_s[later.fail_s > 0].tolist()) == set(shifted[shifted > 0].tolist())


def test_failure_bursts_from_a_file_and_bad_files(tmp_path):
    f = tmp_path / "f.parquet"
    pd.DataFrame({"failure_interval": [3_600_000, 7_200_000], "failure_duration": [600_000, 1_200_000],
                  "failure_intensity": [0.5, 1.0]}).to_parquet(f)
    ev = FailureModel(kind="bursts", source=str(f)).timeline(np.random.default_rng(0), 4 * 3600.0, 4)
    assert sorted(set(ev.fail_s.tolist())) == [3600.0, 3 * 3600.0]
    assert np.count_nonzero(ev.fail_s == 3600.0) == 2 and np.count_nonzero(ev.fail_s == 3 * 3600.0) == 4
    bad = tmp_path / "bad.csv"
    bad.write_text("failure_interval,failure_duration,failure_intensity\n1000,0,0.5\n")
    assert any("failure_duration must be" in m and "line 2" in m
               for m in FailureModel(kind="bursts", source=str(bad)).validate())
    assert any("no such failure trace" in m for m in FailureModel(kind="bursts", source="nope").validate())


def test_bursts_break_uptime_slas_in_a_run():
    sc = make_scenario(hosts=((4, 1, 1000.0, 4096.0),), placement={"preset": "first-fit", "resource": "cpu"},
                       virtualization={"failures": {"kind": "bursts", "source": "netflix"}})
    res = kumo.run(sc, make_trace([[100, 100, 100, 100]] * 288))
    assert res.summary["host_failures"] > 0
    assert res.summary["vm_downtime_h"] > 0
