"""The Gymnasium environments (kumo.gym): the API checker, reproducibility, vectorized use, the running
ledger against kumo.accounting, and every shipped heuristic acting inside an environment giving exactly
the run ``kumo run`` gives. Skipped without gymnasium (the ``rl`` extra)."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")

import kumo  # noqa: E402
import kumo.gym  # noqa: E402
from kumo.gym.episodes import Episodes  # noqa: E402
from kumo.gym.policies import (  # noqa: E402
    ControllerPolicy,
    Keep,
    PlacerPolicy,
    RandomMasked,
    run_episode,
)
from kumo.policies import registry  # noqa: E402

WINDOW = 48  # four hours of 300 s steps: enough for windows, breaks and migrations, fast


def _kohne_setup():
    from kumo import hooks

    return hooks.sweep_bases()["kohne"].load()


def _same_summary(a, b):
    diff = {k: (a[k], b[k]) for k in a if a[k] != b[k]}
    assert not diff, diff


# ------------------------------------------------------------------------------------------ the API
@pytest.mark.parametrize("env_id,kw", [
    ("kumo/Placement-v0", {"window_steps": WINDOW}),
    ("kumo/Placement-v0", {"window_steps": WINDOW, "setup": "kohne", "sla_class_obs": True}),
    ("kumo/Consolidation-v0", {"window_steps": WINDOW, "setup": "kohne"}),
    ("kumo/Consolidation-v0", {"window_steps": WINDOW, "setup": "kohne", "action_mode": "sequential"}),
])
def test_check_env(env_id, kw):
    from gymnasium.utils.env_checker import check_env

    env = gym.make(env_id, **kw)
    check_env(env.unwrapped, skip_render_check=True)


@pytest.mark.parametrize("env_id,kw", [
    ("kumo/Placement-v0", {"window_steps": WINDOW}),
    ("kumo/Consolidation-v0", {"window_steps": WINDOW, "setup": "kohne", "action_mode": "sequential"}),
])
def test_reset_seed_reproduces_the_episode_to_the_bit(env_id, kw):
    def episode(seed):
        env = gym.make(env_id, **kw)
        obs, info = env.reset(seed=seed)
        rng = np.random.default_rng(7)
        out = [obs, info["action_mask"]]
        done = False
        while not done:
            ok = np.flatnonzero(info["action_mask"])
            a = int(rng.choice(ok))
            obs, r, term, trunc, info = env.step(a)
            out += [obs, r, info["action_mask"]]
            done = term or trunc
        return out

    a, b = episode(11), episode(11)
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        if isinstance(x, dict):
            for k in x:
                assert np.array_equal(x[k], y[k])
        else:
            assert np.array_equal(x, y)


def test_truncation_at_the_window_end_and_masks():
    env = gym.make("kumo/Placement-v0", window_steps=12)
    obs, info = env.reset(seed=0)
    assert info["action_mask"].dtype == bool and info["action_mask"].any()
    assert np.array_equal(env.unwrapped.action_masks(), info["action_mask"])
    n, done = 0, False
    while not done:
        obs, r, term, trunc, info = env.step(int(np.flatnonzero(info["action_mask"])[0]))
        assert not term  # a data center has no terminal state: the window ends it
        done = trunc
        n += 1
    assert n == env.unwrapped.window.steps or n > 0
    assert obs["request"][4] == 0.0  # no decision pending in the final observation


def test_refused_placement_is_visible():
    env = gym.make("kumo/Placement-v0", window_steps=12, max_hosts=48, reward={"refusal_penalty": 1000.0})
    obs, info = env.reset(seed=0)
    u = env.unwrapped
    assert not info["action_mask"][40:].any()  # padding
    _, r, _, _, info = env.step(47)
    assert "padding" in info["refused"]
    assert u.engine.log.rejections["reason"][-1].startswith("agent's choice refused")
    assert r < -900  # the penalty, and a VM less to bill


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_make_vec(mode):
    envs = gym.make_vec("kumo/Placement-v0", num_envs=2, vectorization_mode=mode, window_steps=12)
    try:
        obs, info = envs.reset(seed=[1, 2])
        assert obs["hosts"].shape[0] == 2 and info["action_mask"].shape == (2, envs.single_action_space.n)
        for _ in range(30):
            acts = np.array([int(np.flatnonzero(m)[0]) for m in info["action_mask"]])
            obs, r, term, trunc, info = envs.step(acts)
            assert r.shape == (2,)
    finally:
        envs.close()


# ------------------------------------------------------------------------------------------ episodes
def test_train_and_test_windows_do_not_overlap():
    tr = Episodes(window_steps=288, split="train").windows()
    te = Episodes(window_steps=288, split="test").windows()
    assert tr and te
    assert max(w.start + w.steps for w in tr) <= min(w.start for w in te)


# ------------------------------------------------------------------------------------------ the running ledger
def _stressed_kohne(ledger_overrides):
    scenario, ledger = _kohne_setup()
    # a small, deeply overcommitted park: overloads, breaks of every kind, migrations
    scenario["hosts"] = [{"name": "small", "count": 8, "cores": 16, "core_mhz": 2600.0, "ram_mb": 32768.0,
                          "cpu_overcommit": 20.0, "ram_overcommit": 20.0, "initially_on": False,
                          "power": {"kind": "linear", "idle_w": 100, "max_w": 250}}]
    ledger["sla"]["uptime_window_h"] = 1.0
    for k, v in ledger_overrides.items():
        ledger.setdefault(k, {}).update(v) if isinstance(v, dict) else ledger.__setitem__(k, v)
    return scenario, ledger


@pytest.mark.parametrize("mode", ["multi", "sequential"])
@pytest.mark.parametrize("overrides", [
    {},
    {"sla": {"counting": "interval", "downtime": "cold", "downtime_moves": "overload", "uptime_window_h": 1.0}},
    {"sla": {"counting": "episode", "downtime": "engine", "uptime_window_h": 0.5},
     "prices": {"billing": "lifetime"}, "costs": {"hardware_basis": "on"},
     "penalties": {"uptime": {"kind": "excess-downtime", "value": 0.5}}},
    {"classes": [{"name": "gold", "min_vcpus": 4, "cpu_tolerance": 0.01, "uptime_target": 0.99,
                  "penalties": {"cpu": {"kind": "revenue-fraction", "value": 0.05}}}]},
])
def test_dense_rewards_add_up_to_the_episode_ledger(mode, overrides):
    """Sum of dense rewards == the finished run's ledger profit (kumo.accounting.account); the running
    totals equal the ledger's line by line. Tolerance 1e-9 relative: the same products, summed in another
    order."""
    from kumo.accounting import account

    scenario, ledger = _stressed_kohne(overrides)
    env = gym.make("kumo/Consolidation-v0", scenario=scenario, ledger=ledger, window_steps=96, action_mode=mode)
    st = run_episode(env, RandomMasked(3), seed=4)
    u = env.unwrapped
    acc = account(u.result(), ledger).summary
    t = u.ledger.totals
    assert acc["sla_breaks_cpu"] + acc["sla_breaks_ram"] + acc["sla_breaks_uptime"] > 0
    assert acc["migrations"] > 0
    for k in ("revenue", "penalties_cpu", "penalties_ram", "penalties_uptime", "energy_cost", "hardware_cost",
              "sla_breaks_cpu", "sla_breaks_ram", "sla_breaks_uptime", "migrations"):
        assert getattr(t, k) == pytest.approx(acc[k], rel=1e-9, abs=1e-9), k
    assert st.reward == pytest.approx(acc["profit"], rel=1e-9)


@pytest.mark.parametrize("overrides", [{}, {"sla": {"counting": "interval"}}, {"sla": {"counting": "episode"}}])
def test_placement_dense_rewards_add_up_to_the_episode_ledger(overrides):
    """Placement-v0 books the steps between decisions in batches that may span several SLA windows (a
    regression: a window closed inside a batch lost the next window's sums). Tolerance as above."""
    from kumo.accounting import account

    scenario, ledger = _stressed_kohne(overrides)
    env = gym.make("kumo/Placement-v0", scenario=scenario, ledger=ledger, window_steps=96)
    st = run_episode(env, RandomMasked(3), seed=4)
    acc = account(env.unwrapped.result(), ledger).summary
    assert acc["sla_breaks_cpu"] > 0
    t = env.unwrapped.ledger.totals
    for k in ("penalties_cpu", "penalties_ram", "penalties_uptime", "sla_breaks_cpu", "sla_breaks_ram"):
        assert getattr(t, k) == pytest.approx(acc[k], rel=1e-9, abs=1e-9), k
    assert st.reward == pytest.approx(acc["profit"], rel=1e-9)


@pytest.mark.parametrize("env_id", ["kumo/Consolidation-v0", "kumo/Placement-v0"])
def test_carbon_is_in_the_running_ledger(env_id):
    """With [carbon] and a carbon price, the running ledger's CO2 and carbon cost are the ledger's, and the
    dense rewards still add up to its profit (tolerance as above)."""
    from kumo.accounting import account

    scenario, ledger = _stressed_kohne({})
    scenario["carbon"] = {"source": "NL", "start": "2023-06-01", "price_per_t": 90.0}
    env = gym.make(env_id, scenario=scenario, ledger=ledger, window_steps=96)
    st = run_episode(env, RandomMasked(3), seed=4)
    u = env.unwrapped
    acc = account(u.result(), ledger).summary
    t = u.ledger.totals
    assert acc["co2_kg"] > 0 and acc["carbon_cost"] > 0
    assert t.carbon_kg == pytest.approx(acc["co2_kg"], rel=1e-9)
    assert t.carbon_cost == pytest.approx(acc["carbon_cost"], rel=1e-9)
    assert st.reward == pytest.approx(acc["profit"], rel=1e-9)
    env = gym.make(env_id, scenario=scenario, ledger=ledger, window_steps=96,
                   reward={"kind": "weighted", "weights": {"carbon_kg": -1.0}})
    st = run_episode(env, RandomMasked(3), seed=4)
    assert st.reward == pytest.approx(-acc["co2_kg"], rel=1e-9)
    import pandas as pd

    from kumo.gym.baselines import summarize

    table = summarize(pd.DataFrame([st.row(), st.row()]))  # kumo gym baselines' table gains co2_kg
    assert table["co2_kg"].iloc[0] == pytest.approx(acc["co2_kg"], rel=1e-9)
    assert "co2_kg" not in summarize(pd.DataFrame([{**st.row(), "co2_kg": 0.0}])).columns


def test_sparse_reward_pays_the_total_at_the_end():
    dense = run_episode(gym.make("kumo/Placement-v0", window_steps=WINDOW), PlacerPolicy("best-fit"), seed=2)
    env = gym.make("kumo/Placement-v0", window_steps=WINDOW, reward={"mode": "sparse"})
    obs, info = env.reset(seed=2)
    pol = PlacerPolicy("best-fit")
    pol.reset(env.unwrapped)
    rewards, done = [], False
    while not done:
        obs, r, term, trunc, info = env.step(pol.act(env.unwrapped, obs, info))
        rewards.append(r)
        done = trunc
    assert all(r == 0.0 for r in rewards[:-1])
    assert rewards[-1] == pytest.approx(dense.reward, rel=1e-12)


def test_weighted_reward_and_custom_terms():
    env = gym.make("kumo/Consolidation-v0", setup="kohne", window_steps=WINDOW,
                   reward={"kind": "weighted", "weights": {"energy_kwh": -1.0, "sla_breaks": -10.0, "migrations": -0.5}})
    st = run_episode(env, RandomMasked(1), seed=0)
    t = st.totals
    assert st.reward == pytest.approx(-t.energy_kwh - 10 * t.sla_breaks - 0.5 * t.migrations, rel=1e-9)
    env = gym.make("kumo/Placement-v0", window_steps=WINDOW, reward=lambda d: d.energy_kwh)
    st = run_episode(env, PlacerPolicy("first-fit"), seed=0)
    assert st.reward == pytest.approx(st.totals.energy_kwh, rel=1e-9)


# ------------------------------------------------------------------------------------------ equivalence
def _window_run(env, scenario_dict):
    """kumo.run of ``scenario_dict`` on the env's last episode window."""
    u = env.unwrapped
    sc = kumo.config.parse(scenario_dict)
    return kumo.run(sc, u.episodes.cut(u.window))


@pytest.mark.parametrize("preset", ["first-fit", "best-fit", "worst-fit"])
@pytest.mark.parametrize("resource", ["binding", "ram"])
def test_placement_heuristics_give_the_engines_run(preset, resource):
    base = kumo.default_scenario().model_dump()
    env = gym.make("kumo/Placement-v0", scenario=base, window_steps=WINDOW)
    run_episode(env, PlacerPolicy(preset, resource), seed=3)
    ref = copy.deepcopy(base)
    ref["placement"].update(preset=preset, resource=resource)
    _same_summary(env.unwrapped.result().summary, _window_run(env, ref).summary)


@pytest.mark.parametrize("variant", ["queue", "queue-timeout", "kohne"])
def test_placement_with_queues_power_on_and_a_controller(variant):
    if variant.startswith("queue"):  # a tight park: VMs queue and are retried, random tie breaks use the engine's RNG
        base = kumo.default_scenario().model_dump()
        base["hosts"][0]["count"] = 6
        base["placement"].update(on_no_host="queue", tie_break="random", preset="best-fit")
        if variant == "queue-timeout":  # queued VMs give up after two retries, as in the engine's loop
            base["placement"]["queue_timeout_s"] = 600
        base["seed"] = 5
    else:  # hosts start off (powered on by placement), the sla controller runs inside the engine
        base = _kohne_setup()[0]
    env = gym.make("kumo/Placement-v0", scenario=base, window_steps=WINDOW)
    run_episode(env, PlacerPolicy("scenario"), seed=1)
    res = env.unwrapped.result()
    if variant == "queue":
        assert (res.vms["final_state"] == "queued").any() or res.summary["rejections"] == 0
    if variant == "queue-timeout":
        assert res.rejections["reason"].str.startswith("queue timeout").any()
    _same_summary(res.summary, _window_run(env, base).summary)


def test_placement_equals_kumo_run_on_the_command_line():
    """The CLI's ``kumo run --max-steps N --placement P --format json`` and the env's first window."""
    from typer.testing import CliRunner

    from kumo.cli import build_app

    out = CliRunner().invoke(build_app(), ["run", "--max-steps", str(WINDOW), "--placement", "best-fit",
                                           "--format", "json"])
    assert out.exit_code == 0, out.output
    cli = json.loads(out.output)
    env = gym.make("kumo/Placement-v0", window_steps=WINDOW)
    run_episode(env, PlacerPolicy("best-fit"), seed=0, options={"window": 0})
    summary = env.unwrapped.result().summary
    for k, v in cli.items():
        assert summary[k] == pytest.approx(v, rel=1e-15) if isinstance(v, float) else summary[k] == v, k


def _consolidation_cases():
    cases = [(f"consolidation-{d}-{s}", "consolidation", {"detection": d, "selection": s})
             for d in registry.names("detection") for s in registry.names("selection")]
    for n in registry.names("controller"):
        pre = registry.preset("controller", n)
        if pre is not None:  # the Kohne schedulers (presets of "sla"), and any preset a plugin registered
            cases.append((n, n, None if pre.base == "sla" else {}))
    return cases


@pytest.mark.parametrize("label,controller,params", _consolidation_cases(), ids=[c[0] for c in _consolidation_cases()])
def test_consolidation_heuristics_give_the_engines_run(label, controller, params):
    if params is not None:  # the consolidation controller (or a preset of another controller)
        base = kumo.default_scenario().model_dump()
        base["hosts"][0]["count"] = 12  # tight enough to overload hosts
        base["power_management"] = {"switch_off_idle": False}
        ctl = {"name": controller, "params": params}
    else:  # the Kohne schedulers on their calibrated set-up (a smaller park: they move VMs)
        base = _stressed_kohne({})[0]
        ctl = {**base["controller"], "name": controller}
    ref = copy.deepcopy(base)
    ref["controller"] = {**ref.get("controller", {}), **ctl}
    env = gym.make("kumo/Consolidation-v0", scenario=ref, window_steps=WINDOW)
    policy = ControllerPolicy(controller, ref["controller"].get("params") or {})
    run_episode(env, policy, seed=2)
    res = env.unwrapped.result()
    _same_summary(res.summary, _window_run(env, ref).summary)


def test_keep_is_the_engine_without_controller():
    base = _kohne_setup()[0]
    env = gym.make("kumo/Consolidation-v0", scenario=base, window_steps=WINDOW)
    run_episode(env, Keep(), seed=0)
    ref = copy.deepcopy(base)
    ref["controller"] = {"name": "none"}
    _same_summary(env.unwrapped.result().summary, _window_run(env, ref).summary)


def test_refused_moves_are_visible():
    scenario, ledger = _stressed_kohne({})
    env = gym.make("kumo/Consolidation-v0", scenario=scenario, ledger=ledger, window_steps=WINDOW)
    u = env.unwrapped
    env.reset(seed=0)
    vm = int(np.flatnonzero(u.engine.state.vm_state == kumo.api.VM_RUNNING)[0])
    src = int(u.engine.state.vm_host[vm])
    dst = (src + 1) % u.n_hosts
    d = kumo.api.Decision(migrations=[(vm, dst), (vm, dst)], power_on=[dst])  # the same VM twice
    _, r, _, _, info = u.step_decision(d)
    # the second move at least is refused (the VM is already moving, or the first left no room)
    assert info["refused"] and info["refused"][-1][-1] in ("vm-not-running", "target-cpu-full", "target-ram-full")
    assert all(x[3] == vm for x in info["refused"])
    assert u.ledger.totals.migrations_refused >= 1


# ------------------------------------------------------------------------------------------ smoke training
def test_maskable_ppo_smoke_training():
    """200 steps of MaskablePPO on Placement-v0 with a fixed seed (skipped without sb3-contrib and torch)."""
    pytest.importorskip("torch")
    sb3c = pytest.importorskip("sb3_contrib")
    env = gym.make("kumo/Placement-v0", window_steps=12, reward={"scale": 1e-3})
    from stable_baselines3.common.logger import Logger

    model = sb3c.MaskablePPO("MultiInputPolicy", env, n_steps=64, batch_size=32, n_epochs=1, seed=0, verbose=0,
                             device="cpu")
    model.set_logger(Logger(folder=None, output_formats=[]))  # else SB3 leaves an empty SB3-<date> folder in /tmp
    model.learn(total_timesteps=200)
    obs, info = env.reset(seed=0)
    action, _ = model.predict(obs, action_masks=info["action_mask"], deterministic=True)
    assert info["action_mask"][int(action)]


# ------------------------------------------------------------------------------------------ the command
def test_kumo_gym_baselines_command(tmp_path):
    from typer.testing import CliRunner

    from kumo.cli import build_app

    out = tmp_path / "episodes.csv"
    r = CliRunner().invoke(build_app(), ["gym", "baselines", "placement", "--episodes", "2", "--window-steps", "12",
                                         "--format", "csv", "-q", "-o", str(out)])
    assert r.exit_code == 0, r.output
    lines = r.output.strip().splitlines()
    lines = lines[[i for i, ln in enumerate(lines) if ln.startswith("policy,")][0]:]  # stderr's note first
    assert lines[0].startswith("policy,episodes,reward,reward_ci")
    assert {ln.split(",")[0] for ln in lines[1:]} == {"random", "first-fit", "best-fit", "worst-fit"}
    assert out.exists()
    r = CliRunner().invoke(build_app(), ["gym", "baselines", "consolidation", "--episodes", "1", "--window-steps", "12",
                                         "--setup", "kohne", "-b", "keep", "-b", "kohne-mmwf", "-q"])
    assert r.exit_code == 0, r.output
    assert "kohne-mmwf" in r.output
    r = CliRunner().invoke(build_app(), ["gym", "baselines", "placement", "-b", "nope", "-q"])
    assert r.exit_code != 0 and "unknown baseline" in r.output


# ------------------------------------------------------------------------------------------ fast paths
def _random_cluster(seed, n_hosts=9, n_vms=40):
    """An engine mid-run on a random trace: hosts on, off and booting, VMs placed, demand observed."""
    from conftest import make_trace

    from kumo.engine import Engine

    rng = np.random.default_rng(seed)
    tr = make_trace(rng.uniform(0, 3000, (4, n_vms)), ram=rng.uniform(0, 6000, (4, n_vms)),
                    booked_cpu=rng.uniform(100, 4000, n_vms), booked_ram=rng.uniform(100, 8000, n_vms),
                    cores=rng.integers(1, 9, n_vms))
    sc = kumo.parse_scenario({
        "seed": seed, "power_management": {"boot_s": 60.0},
        "hosts": [{"name": "a", "count": n_hosts - 3, "cores": 8, "core_mhz": 2000, "ram_mb": 16384,
                   "cpu_overcommit": 1.5, "ram_overcommit": 1.2},
                  {"name": "b", "count": 3, "cores": 4, "core_mhz": 2600, "ram_mb": 8192, "initially_on": False}],
        "placement": {"preset": "best-fit"}})
    e = Engine(sc, tr)
    e.begin_step(0)
    e.place_arrivals(np.arange(n_vms // 2))
    e.finish_step(0)
    e.begin_step(1)
    return e


FILTER_SETS = [
    None,  # kumo's default filters
    ["powered", "ram-booking"],
    ["powered", {"name": "cpu-booking", "params": {"ratio": 1.0}}, "vcpus", {"name": "cpu-demand", "params": {"headroom": 0.9}}],
    [{"name": "ram-booking", "params": {"ratio": 0.8}}],
    [],
]


@pytest.mark.parametrize("filters", FILTER_SETS)
def test_fused_filters_are_the_placers(filters):
    """Placement-v0's fused filters give Placer.feasible's mask for every VM, on clusters of every kind."""
    from kumo.config import PlacementSpec
    from kumo.gym._fast import FusedFilters
    from kumo.policies.placement import Placer

    spec = PlacementSpec.model_validate({"filters": filters} if filters is not None else {})
    for seed in range(4):
        e = _random_cluster(seed)
        placer = Placer.from_spec(spec)
        fused = FusedFilters.of(placer, e.state)
        assert fused is not None
        for vm in range(e.state.vms.n):
            assert np.array_equal(fused.mask(vm), placer.feasible(e.view, vm)[0]), (seed, vm)


def test_fused_filters_step_aside_for_a_plugin_filter():
    from kumo.gym._fast import FusedFilters
    from kumo.policies.placement import Placer, PoweredFilter

    class Mine(PoweredFilter):
        pass

    placer = Placer(filters=(("mine", Mine()),))
    assert FusedFilters.of(placer, _random_cluster(0).state) is None


@pytest.mark.parametrize("rule", ["wf", "bf", "ff", "least-loaded", "pabfd", "op", "first-fit", "best-fit", "worst-fit"])
@pytest.mark.parametrize("resource", ["binding", "cpu", "ram"])
def test_targets_ranked_at_once_are_the_placers_ranking(rule, resource):
    """Consolidation-v0 ranks the targets of all candidates at once: Placer.rank's order for each."""
    from kumo.gym._fast import rank_many
    from kumo.policies.placement import Placer

    placer = Placer.preset(rule, resource=resource)
    for seed in range(4):
        e = _random_cluster(seed)
        rng = np.random.default_rng(seed)
        vms = rng.integers(0, e.state.vms.n, 6)
        ok = rng.random((6, e.state.hosts.n)) < 0.6
        got = rank_many(placer, e.view, vms, ok)
        if rule in ("pabfd", "op"):
            assert got is None  # not a broadcasting weigher: ranked one by one
            continue
        want = [placer.rank(e.view, int(v), m) for v, m in zip(vms, ok, strict=True)]
        assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True)), seed


def test_mmt_picks_at_once_are_the_selections():
    """Consolidation-v0 picks the mmt selection's VM on every candidate host at once: the registered pick."""
    from kumo.gym._fast import pick_many
    from kumo.policies.base import SelectionContext

    mmt = registry.make("selection", "mmt", {})
    rng = np.random.default_rng(0)
    for _ in range(50):
        m = int(rng.integers(1, 30))
        ram = rng.integers(1, 5, m).astype(np.float64) * 1024.0  # many ties
        ram[rng.random(m) < 0.1] = np.inf  # never chosen
        mine = rng.random((6, m)) < 0.3
        got = pick_many(mmt, mine, ram)
        for i in range(6):
            vms = np.flatnonzero(mine[i])
            z = np.zeros(vms.size)
            ctx = SelectionContext(vm_index=vms, ram_mb=ram[vms], cpu_demand_mhz=z, cpu_booked_mhz=z, ram_demand_mb=z,
                                   ram_booked_mb=ram[vms], history=np.zeros((vms.size, 3)),
                                   hist_len=np.zeros(vms.size, int), host_cpu_mhz=1.0, host_ram_mb=1.0,
                                   host_cpu_used_mhz=0.0, host_ram_used_mb=0.0)
            p = mmt.pick(ctx, rng)
            assert got[i] == (vms[p] if p >= 0 else -1)
    assert pick_many(registry.make("selection", "mc", {}), mine, ram) is None


def _trajectory(env_id, kw, seed):
    """Every observation, mask and reward of an episode with a random masked policy, as bytes."""
    env = gym.make(env_id, **kw)
    u = env.unwrapped
    obs, info = env.reset(seed=seed)
    policy = RandomMasked(seed)
    policy.reset(u)
    out, done = [], False
    while True:
        out += [obs[k].tobytes() for k in sorted(obs)] + [info["action_mask"].tobytes()]
        if done:
            return out + [repr(u.episode_totals)]
        obs, r, term, trunc, info = env.step(policy.act(u, obs, info))
        out.append(np.float64(r).tobytes())
        done = term or trunc


def _general_path(monkeypatch, which):
    """Turn one fast path off: the general path it replaces serves instead."""
    import kumo.gym.consolidation as cons
    from kumo.books import Books
    from kumo.engine import Engine
    from kumo.gym._fast import FusedFilters

    if which == "quiet":  # no fast-forward: every step goes through begin_step / finish_step
        monkeypatch.setattr(Engine, "run_quiet", lambda self, k, stop, history=0, external=False:
                            (k, np.empty((0, self.state.hosts.n))))
    elif which == "ahead":  # the ledger flushes the books at every update
        monkeypatch.setattr(Books, "kept", lambda self: 0)
    elif which == "fused":
        monkeypatch.setattr(FusedFilters, "of", classmethod(lambda cls, placer, state: None))
    elif which == "rank":
        monkeypatch.setattr(cons, "rank_many", lambda *a: None)
    elif which == "pick":
        monkeypatch.setattr(cons, "pick_many", lambda *a: None)


@pytest.mark.parametrize("env_id,kw,paths", [
    ("kumo/Placement-v0", {"window_steps": 96}, ["quiet", "fused"]),
    ("kumo/Placement-v0", {"window_steps": 48, "setup": "kohne"}, ["quiet", "fused", "ahead"]),
    ("kumo/Consolidation-v0", {"window_steps": 48, "setup": "kohne", "interval_steps": 2}, ["quiet", "ahead", "rank", "pick"]),
    ("kumo/Consolidation-v0", {"window_steps": 48, "setup": "kohne", "action_mode": "sequential"}, ["ahead", "rank", "pick"]),
])
def test_fast_paths_change_no_bit_of_an_episode(env_id, kw, paths, monkeypatch):
    """The environments' fast paths (fast-forward over quiet steps, the ledger reading the books ahead,
    fused filters, targets ranked and VMs picked at once) give the observations, masks and rewards of the
    general paths, to the bit."""
    fast = _trajectory(env_id, kw, 3)
    for which in paths:
        with monkeypatch.context() as m:
            _general_path(m, which)
            assert _trajectory(env_id, kw, 3) == fast, which
