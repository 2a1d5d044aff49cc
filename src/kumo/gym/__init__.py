"""Gymnasium environments over kumo's engine, rewarded by its ledger (the optional extra ``kumo[rl]``).

* ``kumo/Placement-v0`` (:class:`~kumo.gym.placement.PlacementEnv`): choose the host of every VM that
  needs one;
* ``kumo/Consolidation-v0`` (:class:`~kumo.gym.consolidation.ConsolidationEnv`): at every controller
  interval, keep or move a VM of each overloaded or underloaded host to one of k candidate hosts.

::

    import gymnasium as gym
    import kumo.gym  # registers the environments

    env = gym.make("kumo/Placement-v0", window_steps=288, split="train")
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(int(info["action_mask"].argmax()))

Episodes (:mod:`~kumo.gym.episodes`), rewards (:mod:`~kumo.gym.rewards`, from the running ledger of
:mod:`~kumo.gym.ledger`), kumo's heuristics as policies acting inside the environments
(:mod:`~kumo.gym.policies`) and the baseline table (:mod:`~kumo.gym.baselines`, ``kumo gym baselines``).
See ``docs/guide/gym.md``.

Importing this package needs no gymnasium (the ``kumo gym`` command is registered by
:mod:`kumo.gym.plugin`); the environments do.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ConsolidationEnv", "ENV_IDS", "Episodes", "PlacementEnv", "RewardSpec", "register_envs"]

#: the registered environment ids and their classes
ENV_IDS = {"kumo/Placement-v0": "kumo.gym.placement:PlacementEnv",
           "kumo/Consolidation-v0": "kumo.gym.consolidation:ConsolidationEnv"}


def register_envs() -> None:
    """Register the environments with gymnasium (done on import when gymnasium is installed)."""
    import gymnasium

    for env_id, entry in ENV_IDS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point=entry, disable_env_checker=False)


def __getattr__(name: str) -> Any:
    if name == "PlacementEnv":
        from kumo.gym.placement import PlacementEnv

        return PlacementEnv
    if name == "ConsolidationEnv":
        from kumo.gym.consolidation import ConsolidationEnv

        return ConsolidationEnv
    if name == "Episodes":
        from kumo.gym.episodes import Episodes

        return Episodes
    if name == "RewardSpec":
        from kumo.gym.rewards import RewardSpec

        return RewardSpec
    raise AttributeError(f"module 'kumo.gym' has no attribute {name!r}")


try:  # registration needs gymnasium; without it kumo.gym.plugin still gives the command a clear message
    register_envs()
except ImportError:
    pass
