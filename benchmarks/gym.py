"""Speed of the Gymnasium environments against the plain engine, measured in the same invocation.

The goals (issue 14), for each environment on the embedded Bitbrains trace, on one-day (288-step) episodes
and on short (48-step) ones:

* env steps per second with a random masked policy (through ``gymnasium.make``, its default wrappers
  included): Placement-v0 >= 20,000 on one core;
* the overhead of the env boundary: the environment's time over those episodes with the random masked
  policy, divided by the time ``kumo run`` takes for the same episodes with a heuristic (``kumo.run`` on
  each episode's window, result tables included, the scenario's own heuristic deciding): under 3x.

Each measurement is repeated (``--repeats``), the environment and the engine alternating in the same
process, and the medians are reported. Times are CPU times of this process (``time.process_time``): on a
shared machine they measure one core's work, not the other processes' load; the wall-clock figures are
printed next to them. Also printed, for reference: the engine's loop alone (no result tables) and the same
heuristic acting inside the environment (an identical run, so the pure cost of the env boundary).

    python benchmarks/gym.py                       # both envs, 288- and 48-step episodes
    python benchmarks/gym.py --quick               # fewer episodes and repeats
    python benchmarks/gym.py --window-steps 288 --episodes 20 --repeats 5
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from dataclasses import dataclass

import gymnasium as gym

import kumo
import kumo.gym  # noqa: F401
from kumo.gym.policies import ControllerPolicy, PlacerPolicy, RandomMasked, run_episode

#: the goals: Placement-v0 env steps per second (random masked policy), and env time / ``kumo run`` time
STEPS_PER_S_GOAL = 20_000
RATIO_GOAL = 3.0


@dataclass
class Timing:
    cpu_s: float
    wall_s: float


def _timed(fn):
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return Timing(time.process_time() - c0, time.perf_counter() - w0), out


def _episodes(env, make_policy, seeds):
    """Run an episode per seed; returns (env steps, windows)."""
    steps, windows = 0, []
    for s in seeds:
        steps += run_episode(env, make_policy(), seed=s).steps
        windows.append(env.unwrapped.window)
    return steps, windows


def _engine(episodes, scenario, windows, tables=True):
    """kumo.run on every window (``tables``: with its result tables, as ``kumo run``; else the loop alone)."""
    from kumo.engine import Engine

    for w in windows:
        if tables:
            kumo.run(scenario, episodes.cut(w))
        else:
            e = Engine(scenario, episodes.cut(w))
            for k in range(e.trace.n_steps):
                e.step(k)
            e.close()


def _recorded(env, make_policy, seeds):
    """The decisions the environment applied in each episode: [(window, [(step, decision, t), ...]), ...]."""
    from kumo.engine import Engine

    log: list = []
    apply = Engine.apply_decision

    def recording(self, decision, t=None):
        log.append((self.state.step, decision, t))
        return apply(self, decision, t)

    out = []
    Engine.apply_decision = recording
    try:
        for s in seeds:
            log = []
            run_episode(env, make_policy(), seed=s)
            out.append((env.unwrapped.window, log))
    finally:
        Engine.apply_decision = apply
    return out


def _replay(env, recorded):
    """The engine alone applying the recorded decisions at the same decision points: the same episodes as
    the environment ran, without the environment."""
    from kumo.engine import Engine

    u = env.unwrapped
    for w, log in recorded:
        scenario = u.episodes._cache[f"engine-scenario{w.trace}"]
        e = Engine(scenario, u.episodes.cut(w))
        by_step: dict = {}
        for k, d, t in log:
            by_step.setdefault(k, []).append((d, t))
        for k in range(e.trace.n_steps):
            e.begin_step(k)
            e.place_arrivals(e.arrivals_at(k))
            for _ in e.finish_step_decisions(k, external=True):
                for d, t in by_step.get(k, ()):
                    e.apply_decision(d, t)
        e.close()


def _median(xs):
    return Timing(statistics.median(x.cpu_s for x in xs), statistics.median(x.wall_s for x in xs))


def bench(label, env_id, kw, scenario_dict, heuristic, n, repeats, replay=False):
    """Measure one environment on ``n`` episodes; returns (steps/s, env / kumo run) from CPU times. With
    ``replay`` (Consolidation-v0), also the engine alone applying the decisions the environment applied."""
    env = gym.make(env_id, **kw)
    seeds = list(range(n))
    _, windows = _episodes(env, lambda: RandomMasked(0), seeds)  # warm-up: traces cut, caches filled
    sc = kumo.config.parse(scenario_dict)
    ep = env.unwrapped.episodes
    _engine(ep, sc, windows[:1])
    recorded = _recorded(env, lambda: RandomMasked(0), seeds) if replay else []
    t_env, t_run, t_loop, t_heur, t_replay = [], [], [], [], []
    steps = 0
    for _ in range(repeats):
        t, (steps, _) = _timed(lambda: _episodes(env, lambda: RandomMasked(0), seeds))
        t_env.append(t)
        t_run.append(_timed(lambda: _engine(ep, sc, windows))[0])
        t_loop.append(_timed(lambda: _engine(ep, sc, windows, tables=False))[0])
        t_heur.append(_timed(lambda: _episodes(env, lambda: heuristic, seeds))[0])
        if replay:
            t_replay.append(_timed(lambda: _replay(env, recorded))[0])
    e, r, lo, he = _median(t_env), _median(t_run), _median(t_loop), _median(t_heur)
    rate, ratio = steps / e.cpu_s, e.cpu_s / r.cpu_s
    print(f"{label}: {n} episodes of {kw['window_steps']} steps ({steps} env steps), medians of {repeats}")
    print(f"  random masked policy in the env: {rate:,.0f} env steps/s (CPU {e.cpu_s:.3f} s; "
          f"wall {e.wall_s:.3f} s = {steps / e.wall_s:,.0f} steps/s)")
    print(f"  kumo run, {heuristic.name}: CPU {r.cpu_s:.3f} s (wall {r.wall_s:.3f} s); "
          f"the loop alone, no result tables: CPU {lo.cpu_s:.3f} s")
    print(f"  env overhead, random masked policy in the env / kumo run with {heuristic.name}: {ratio:.2f}x "
          f"(wall {e.wall_s / r.wall_s:.2f}x; {e.cpu_s / lo.cpu_s:.2f}x the loop alone)")
    print(f"  the same heuristic inside the env (an identical run): {he.cpu_s / r.cpu_s:.2f}x kumo run, "
          f"{he.cpu_s / lo.cpu_s:.2f}x the loop alone ({steps / he.cpu_s:,.0f} steps/s)")
    if replay:
        rp = _median(t_replay)
        print(f"  the engine alone applying the random policy's decisions (the same episodes, no env): CPU "
              f"{rp.cpu_s:.3f} s = {rp.cpu_s / r.cpu_s:.2f}x kumo run; the env boundary: {e.cpu_s / rp.cpu_s:.2f}x")
    env.close()
    return rate, ratio


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--window-steps", type=int, action="append",
                    help="episode length(s) in steps (default: 288 and 48)")
    ap.add_argument("--episodes", type=int, default=None,
                    help="Placement-v0 episodes per measurement (default: 20 of 288 steps, 40 of 48; "
                         "Consolidation-v0 runs a quarter as many)")
    ap.add_argument("--repeats", type=int, default=None, help="measurements per figure (default 5, quick 2)")
    ap.add_argument("--quick", action="store_true", help="fewer episodes and repeats")
    ap.add_argument("--env", choices=("placement", "consolidation", "both"), default="both")
    a = ap.parse_args()
    lengths = a.window_steps or [288, 48]
    repeats = a.repeats or (2 if a.quick else 5)
    base = kumo.default_scenario().model_dump()
    from kumo import hooks

    ksc, _ = hooks.sweep_bases()["kohne"].load()
    ref = copy.deepcopy(ksc)
    ref["controller"]["name"] = "kohne-mmwf"
    goals = []
    for ws in lengths:
        n = a.episodes or (20 if ws >= 288 else 40) // (2 if a.quick else 1)
        if a.env in ("placement", "both"):
            _placement(ws, n, repeats, base, goals)
        if a.env in ("consolidation", "both"):
            _consolidation(ws, n, repeats, ref, goals)
    print("goals (CPU times of one process):")
    for name, ok, value in goals:
        print(f"  {'met    ' if ok else 'NOT MET'}  {name}: {value}")


def _placement(ws, n, repeats, base, goals):
    rate, ratio = bench("kumo/Placement-v0 (bitbrains-rnd, default park, worst-fit)", "kumo/Placement-v0",
                        {"window_steps": ws, "scenario": base}, base, PlacerPolicy("scenario"), n, repeats)
    goals += [(f"Placement-v0, {ws}-step episodes: >= {STEPS_PER_S_GOAL:,} env steps/s", rate >= STEPS_PER_S_GOAL,
               f"{rate:,.0f}"),
              (f"Placement-v0, {ws}-step episodes: env / kumo run < {RATIO_GOAL:g}x", ratio < RATIO_GOAL,
               f"{ratio:.2f}x")]


def _consolidation(ws, n, repeats, ref, goals):
    _, ratio = bench("kumo/Consolidation-v0 (bitbrains-rnd, Kohne set-up, kohne-mmwf)", "kumo/Consolidation-v0",
                     {"window_steps": ws, "setup": "kohne"}, ref,
                     ControllerPolicy("kohne-mmwf", ref["controller"]["params"]), max(1, n // 4), repeats,
                     replay=True)
    goals.append((f"Consolidation-v0, {ws}-step episodes: env / kumo run < {RATIO_GOAL:g}x", ratio < RATIO_GOAL,
                  f"{ratio:.2f}x"))


if __name__ == "__main__":
    main()
