"""Speed of the Gymnasium environments against the plain engine, measured in the same invocation.

For each environment: env steps per second with a random masked policy (through ``gymnasium.make``, its
default wrappers included), and the environment's wall time over the same episodes run by the engine alone
(``kumo.run`` on each window, the scenario's heuristic deciding: what ``kumo run`` does), as a ratio. The
same heuristic acting inside the environment is timed too (its run is identical to the engine's).
Goals: Placement-v0 >= 20,000 steps/s on the embedded Bitbrains trace on one core; the environment under
3x the plain engine.

    python benchmarks/gym.py [--episodes 20] [--window-steps 288]
"""

from __future__ import annotations

import argparse
import copy
import time

import gymnasium as gym
import numpy as np

import kumo
import kumo.gym  # noqa: F401
from kumo.gym.policies import ControllerPolicy, PlacerPolicy, RandomMasked, run_episode


def _episodes(env, policy, n):
    steps = 0
    t0 = time.perf_counter()
    windows = []
    for i in range(n):
        st = run_episode(env, policy, seed=i)
        steps += st.steps
        windows.append(env.unwrapped.window)
    return steps, time.perf_counter() - t0, windows


def _engine(episodes, scenario, windows, tables=True):
    """kumo.run on every window (``tables``: with its result tables, as ``kumo run``; else the loop alone)."""
    from kumo.engine import Engine

    t0 = time.perf_counter()
    for w in windows:
        if tables:
            kumo.run(scenario, episodes.cut(w))
        else:
            e = Engine(scenario, episodes.cut(w))
            for k in range(e.trace.n_steps):
                e.step(k)
            e.close()
    return time.perf_counter() - t0


def bench(label, env_id, kw, scenario_dict, heuristic, n):
    env = gym.make(env_id, **kw)
    run_episode(env, RandomMasked(0), seed=0)  # warm-up: traces loaded, caches filled
    steps, t_env, windows = _episodes(env, RandomMasked(0), n)
    sc = kumo.config.parse(scenario_dict)
    ep = env.unwrapped.episodes
    _engine(ep, sc, windows[:1])
    t_eng = _engine(ep, sc, windows)
    t_loop = _engine(ep, sc, windows, tables=False)
    h_steps, t_h, _ = _episodes(env, heuristic, n)
    print(f"{label}: {n} episodes of {kw['window_steps']} steps")
    print(f"  random masked policy in the env: {steps} env steps in {t_env:.2f} s = {steps / t_env:,.0f} steps/s")
    print(f"  plain engine, {heuristic.name}: kumo.run {t_eng:.2f} s, the loop alone (no result tables) {t_loop:.2f} s")
    print(f"  env / engine, random policy:     {t_env / t_eng:.2f}x kumo.run, {t_env / t_loop:.2f}x the loop")
    print(f"  env / engine, same heuristic inside the env (identical run): {t_h / t_eng:.2f}x kumo.run, "
          f"{t_h / t_loop:.2f}x the loop ({h_steps / t_h:,.0f} steps/s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=20)
    ap.add_argument("--window-steps", type=int, default=288)
    a = ap.parse_args()
    np.random.seed(0)
    base = kumo.default_scenario().model_dump()
    bench("kumo/Placement-v0 (bitbrains-rnd, default park, worst-fit)", "kumo/Placement-v0",
          {"window_steps": a.window_steps, "scenario": base}, base, PlacerPolicy("scenario"), a.episodes)
    from kumo import hooks

    ksc, _ = hooks.sweep_bases()["kohne"].load()
    ref = copy.deepcopy(ksc)
    ref["controller"]["name"] = "kohne-mmwf"
    bench("kumo/Consolidation-v0 (bitbrains-rnd, Kohne set-up, kohne-mmwf)", "kumo/Consolidation-v0",
          {"window_steps": a.window_steps, "setup": "kohne"}, ref,
          ControllerPolicy("kohne-mmwf", ref["controller"]["params"]), max(1, a.episodes // 4))


if __name__ == "__main__":
    main()
