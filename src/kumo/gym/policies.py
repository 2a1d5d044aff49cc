"""kumo's heuristics as policies acting inside the environments, and the loop that runs an episode.

A policy has ``name``, ``reset(env)`` (the environment has just been reset: build per-episode state) and
``act(env, obs, info)``, which returns an action of the environment's action space, or, for
``kumo/Consolidation-v0``, a :class:`kumo.api.Decision` applied through the pass-through
(:meth:`~kumo.gym.consolidation.ConsolidationEnv.step_decision`). ``env`` is the unwrapped environment.

Every heuristic gives exactly the run ``kumo run`` gives with the same scenario (the tests check the
summary to the bit), which is what makes a learned policy's number comparable:

* :class:`PlacerPolicy` (``first-fit``, ``best-fit``, ``worst-fit``, ``scenario``): the scenario's filters
  (the mask) and a preset's weighers, through :meth:`kumo.policies.placement.Placer.choose` with the
  engine's generator, as the engine places VMs;
* :class:`ControllerPolicy` (``consolidation`` with any detection x selection, the Kohne schedulers
  ``kohne-ff`` ... ``kohne-mmwf-lb``, ``sla``, any registered controller): its decisions, with the memory
  the engine would keep and the engine's generator;
* :class:`RandomMasked` (either environment) and :class:`Keep` (Consolidation: move nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kumo.config import PlacementSpec
from kumo.gym.ledger import LedgerTotals
from kumo.policies import registry
from kumo.policies.base import Decision
from kumo.policies.placement import PRESETS, Placer

__all__ = ["ControllerPolicy", "EpisodeStats", "Keep", "PlacerPolicy", "RandomMasked", "consolidation_baselines",
           "placement_baselines", "run_episode"]


@dataclass
class PlacerPolicy:
    """Place every VM as the scenario's placement would with ``preset`` (``first-fit``, ``best-fit``,
    ``worst-fit``; ``"scenario"``: the scenario's own weighers), weighing ``resource`` (None: the
    scenario's)."""

    preset: str = "scenario"
    resource: str | None = None
    name: str = ""
    _placer: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.preset != "scenario" and self.preset not in PRESETS:
            raise ValueError(f"preset: must be 'scenario' or one of {list(PRESETS)}, got {self.preset!r}")
        self.name = self.name or (self.preset if self.resource is None else f"{self.preset}-{self.resource}")

    def reset(self, env: Any) -> None:
        spec = env.engine.scenario.placement
        if self.preset != "scenario":
            data = spec.model_dump()
            data.update(preset=self.preset, weighers=None)
            if self.resource is not None:
                data["resource"] = self.resource
            spec = PlacementSpec.model_validate(data)
        self._placer = Placer.from_spec(spec)

    def act(self, env: Any, obs: Any, info: dict[str, Any]) -> int:
        eng = env.engine
        return self._placer.choose(eng.view, info["vm"], info["action_mask"][:env.n_hosts], eng.rng)


@dataclass
class ControllerPolicy:
    """A registered controller (``consolidation``, ``sla``, ``kohne-mmwf``...) with ``params``, deciding at
    every decision point of ``kumo/Consolidation-v0`` through its pass-through."""

    controller: str
    params: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    _ctl: Any = field(default=None, repr=False)
    _memory: Any = field(default=None, repr=False)
    _ready: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        self.name = self.name or self.controller
        self._ctl = registry.make("controller", self.controller, self.params)

    def reset(self, env: Any) -> None:
        self._memory, self._ready = None, False

    def act(self, env: Any, obs: Any, info: dict[str, Any]) -> Any:
        eng = env.engine
        if not self._ready:  # as the engine: memory built once, before the first decision
            self._memory, self._ready = self._ctl.init_memory(eng.view), True
        return self._ctl.decide(eng.view, self._memory, eng.rng)


@dataclass
class RandomMasked:
    """A uniformly random valid action (from the mask), from its own seeded generator."""

    seed: int = 0
    name: str = "random"
    _rng: Any = field(default=None, repr=False)

    def reset(self, env: Any) -> None:
        if self._rng is None:
            self._rng = np.random.default_rng(self.seed)

    def act(self, env: Any, obs: Any, info: dict[str, Any]) -> Any:
        mask = np.asarray(info["action_mask"], bool)
        space = env.action_space
        if hasattr(space, "nvec"):  # MultiDiscrete: one choice per block of the concatenated mask
            flags = mask.tolist()
            nvec = space.nvec.tolist()
            draws = self._rng.random(len(nvec)).tolist()
            out = []
            pos = 0
            for n, u in zip(nvec, draws, strict=True):
                valid = [j for j in range(n) if flags[pos + j]]
                out.append(valid[int(u * len(valid))] if valid else 0)
                pos += n
            return np.asarray(out, np.int64)
        ok = mask.reshape(-1).nonzero()[0]
        return int(ok[self._rng.integers(ok.size)]) if ok.size else 0


@dataclass
class Keep:
    """Consolidation: never move a VM."""

    name: str = "keep"

    def reset(self, env: Any) -> None:
        pass

    def act(self, env: Any, obs: Any, info: dict[str, Any]) -> Any:
        return None


@dataclass
class EpisodeStats:
    """One episode of one policy: its reward, the ledger's totals, env steps and wall time."""

    policy: str
    seed: int
    window: Any
    reward: float
    totals: LedgerTotals
    steps: int
    wall_s: float

    def row(self) -> dict[str, Any]:
        t = self.totals
        return {"policy": self.policy, "seed": self.seed, "trace": self.window.name, "start": self.window.start,
                "reward": self.reward, "profit": t.profit, "energy_kwh": t.energy_kwh, "sla_breaks": t.sla_breaks,
                "migrations": t.migrations, "migrations_refused": t.migrations_refused, "rejections": t.rejections,
                "co2_kg": t.carbon_kg, "env_steps": self.steps, "wall_s": self.wall_s}


def run_episode(env: Any, policy: Any, seed: int | None = None, options: dict[str, Any] | None = None) -> EpisodeStats:
    """Reset ``env`` (a gymnasium environment, wrapped or not) with ``seed`` and run ``policy`` to the end."""
    import time

    t0 = time.perf_counter()
    u = env.unwrapped
    obs, info = env.reset(seed=seed, options=options)
    policy.reset(u)
    total, steps, done = 0.0, 0, False
    while not done:
        a = policy.act(u, obs, info)
        if a is None or _is_decision(a):
            obs, r, term, trunc, info = u.step_decision(a)
        else:
            obs, r, term, trunc, info = env.step(a)
        total += float(r)
        steps += 1
        done = term or trunc
    return EpisodeStats(policy.name, -1 if seed is None else seed, u.window, total, u.episode_totals.copy(), steps,
                        time.perf_counter() - t0)


def _is_decision(a: Any) -> bool:
    return isinstance(a, Decision)


def placement_baselines(seed: int = 0) -> list[Any]:
    """The placement heuristics kumo ships, and a random masked policy."""
    return [RandomMasked(seed), PlacerPolicy("first-fit"), PlacerPolicy("best-fit"), PlacerPolicy("worst-fit")]


def consolidation_baselines(seed: int = 0, detections: tuple[str, ...] | None = None,
                            selections: tuple[str, ...] | None = None) -> list[Any]:
    """Keep, random, the ``consolidation`` controller for every detection x selection, and every registered
    preset of a controller (the Kohne schedulers once their study is loaded)."""
    out: list[Any] = [Keep(), RandomMasked(seed)]
    for det in detections or tuple(registry.names("detection")):
        for sel in selections or tuple(registry.names("selection")):
            out.append(ControllerPolicy("consolidation", {"detection": det, "selection": sel},
                                        name=f"consolidation-{det}-{sel}"))
    for name in registry.names("controller"):
        if registry.preset("controller", name) is not None:
            out.append(ControllerPolicy(name))
    return out
