"""MaskablePPO on kumo/Placement-v0: train on the Bitbrains month's training days, evaluate on held-out days
against kumo's placement heuristics.

    pip install torch==<a CPU build>      # first: a CPU wheel, else pip may pick a multi-GB CUDA build
    pip install -e ".[rl-examples]"       # kumo, gymnasium, sb3-contrib (stable-baselines3)
    python examples/rl/train_ppo.py       # about 4 minutes on one core; --timesteps to change the budget

Episodes are one day (288 steps of 300 s) of the embedded Bitbrains Rnd month on the default park (40
hosts); the first 24 days train, the last 6 are held out (``split``). Training reward: the part of the
ledger's profit a placement changes, -(SLA penalties + energy and hardware cost), scaled by 1e-3 (revenue
varies from day to day whatever the placement: it only adds variance), undiscounted (``gamma = 1``: most
of a day's consequences arrive after the day's first step, when hundreds of VMs are placed at once).
Every ``--eval-every`` steps the policy is evaluated (deterministic, masked) on the held-out days with the
ledger's profit; at the end it and every baseline (random, first, best and worst fit) run on every
held-out day. Writes to ``--out`` (default
``examples/rl/out``): ``curve.csv``, ``results.csv`` (mean and 95 % CI per policy, Student t over the
held-out days), ``episodes.csv`` and ``learning_curve.png`` (drawn by :func:`kumo.report.learning_curve`).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pandas as pd

import kumo.gym  # noqa: F401  (registers the environments)
from kumo.gym.baselines import mean_ci, summarize
from kumo.gym.episodes import Episodes
from kumo.gym.policies import placement_baselines, run_episode
from kumo.report import learning_curve

SCALE = 1e-3
#: what a placement changes of the profit: penalties and costs (revenue only varies with the day)
TRAIN_REWARD = {"kind": "weighted", "weights": {"penalties": -1.0, "costs": -1.0}, "scale": SCALE}


def make_env(split: str, window: int, reward: dict | None = None) -> gym.Env:
    return gym.make("kumo/Placement-v0", episodes=Episodes(window_steps=window, split=split),
                    reward=reward or {"scale": SCALE})


class MaskedModel:
    """A trained MaskablePPO as a kumo.gym policy (deterministic, masked)."""

    name = "maskable-ppo"

    def __init__(self, model):
        self.model = model

    def reset(self, env):
        pass

    def act(self, env, obs, info):
        a, _ = self.model.predict(obs, action_masks=info["action_mask"], deterministic=True)
        return int(a)


def evaluate(policy, window: int, n: int | None = None) -> pd.DataFrame:
    env = make_env("test", window)
    windows = env.unwrapped.episodes.windows()
    rows = [run_episode(env, policy, seed=i, options={"window": i}).row() for i in range(n or len(windows))]
    df = pd.DataFrame(rows)
    df["reward"] /= SCALE  # back to currency: the ledger's profit of the day
    return df


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timesteps", type=int, default=120_000)
    ap.add_argument("--eval-every", type=int, default=20_000)
    ap.add_argument("--window-steps", type=int, default=288)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    a = ap.parse_args()
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.logger import Logger

    a.out.mkdir(parents=True, exist_ok=True)
    venv = make_vec_env(lambda: make_env("train", a.window_steps, TRAIN_REWARD), n_envs=4, seed=a.seed)
    model = MaskablePPO("MultiInputPolicy", venv, n_steps=1024, batch_size=256, n_epochs=4, learning_rate=3e-4,
                        gamma=1.0, gae_lambda=0.95, ent_coef=0.0, seed=a.seed, device="cpu", verbose=0,
                        policy_kwargs={"net_arch": [256, 256]})
    model.set_logger(Logger(folder=None, output_formats=[]))  # no empty SB3-<date> folder left in the temp dir
    curve: list[dict[str, float]] = []

    def record(steps: int) -> None:
        df = evaluate(MaskedModel(model), a.window_steps)
        m, ci = mean_ci(df["reward"].to_numpy())
        curve.append({"timesteps": steps, "reward": m, "reward_ci": ci})
        print(f"{steps:>8} steps: held-out profit per day {m:,.0f} +- {ci:,.0f}", flush=True)

    class Every(BaseCallback):
        def _on_step(self) -> bool:
            if self.num_timesteps // a.eval_every > (self.num_timesteps - self.training_env.num_envs) // a.eval_every:
                record(self.num_timesteps)
            return True

    t0 = time.perf_counter()
    record(0)
    model.learn(total_timesteps=a.timesteps, callback=Every())
    train_s = time.perf_counter() - t0
    if not curve or curve[-1]["timesteps"] != model.num_timesteps:
        record(model.num_timesteps)
    runs = pd.concat([evaluate(p, a.window_steps) for p in [MaskedModel(model), *placement_baselines(a.seed)]])
    table = summarize(runs)
    pd.DataFrame(curve).to_csv(a.out / "curve.csv", index=False)
    runs.to_csv(a.out / "episodes.csv", index=False)
    table.to_csv(a.out / "results.csv", index=False, float_format="%.6g")
    learning_curve(a.out / "curve.csv", a.out / "learning_curve.png",
                   baselines=table[table["policy"] != "maskable-ppo"][["policy", "reward"]],
                   title="MaskablePPO on kumo/Placement-v0 (Bitbrains, held-out days)",
                   ylabel="ledger profit per held-out day")
    print(f"trained {model.num_timesteps} steps in {train_s:.0f} s (evaluations included)")
    cols = ["policy", "episodes", "reward", "reward_ci", "energy_kwh", "sla_breaks", "migrations", "rejections"]
    with pd.option_context("display.width", 160, "display.float_format", "{:,.4g}".format):
        print(table[cols].to_string(index=False))
    print(f"written to {a.out}")


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
