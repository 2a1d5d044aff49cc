"""What both environments share: episodes on the engine, the running ledger and its rewards, the hosts'
observation, the clock."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from kumo.config import Scenario, parse
from kumo.engine import Engine
from kumo.gym.episodes import Episodes, Window
from kumo.gym.ledger import LedgerTotals, RunningLedger
from kumo.gym.rewards import RewardSpec
from kumo.state import HOST_BOOTING, HOST_FAILED, HOST_ON

__all__ = ["HOST_FEATURES", "KumoEnv", "OBS_HIGH", "clip_obs"]

#: the per-host features of every observation's ``hosts`` array, in column order (then ``history`` columns
#: of CPU utilization at the last steps, newest first)
HOST_FEATURES = ("valid", "cpu_booked", "ram_booked", "cpu_used", "ram_used", "on", "booting", "failed",
                 "cpu_capacity", "ram_capacity")
#: observations are clipped to [0, OBS_HIGH] (utilizations above 4x capacity say nothing more)
OBS_HIGH = 4.0


def clip_obs(x: np.ndarray) -> np.ndarray:
    """``np.clip(x, 0, OBS_HIGH, out=x)`` (the same bits, NaN and -0.0 included) without its Python wrapper."""
    np.maximum(0.0, x, out=x)
    return np.minimum(x, OBS_HIGH, out=x)


# the on, booting and failed columns of the hosts' observation, by host state
_STATE_FLAGS = np.zeros((8, 3), np.float32)
_STATE_FLAGS[HOST_ON, 0] = _STATE_FLAGS[HOST_BOOTING, 1] = _STATE_FLAGS[HOST_FAILED, 2] = 1.0


class KumoEnv(gym.Env):  # type: ignore[type-arg]
    """Base of :class:`~kumo.gym.placement.PlacementEnv` and :class:`~kumo.gym.consolidation.ConsolidationEnv`.

    Parameters
    ----------
    episodes : where episodes come from (:class:`~kumo.gym.episodes.Episodes`); or give its fields as
        keyword arguments (``traces``, ``window_steps``, ``split``, ``setup``, ...).
    reward : a :class:`~kumo.gym.rewards.RewardSpec`, its dict, a kind name or a callable.
    max_hosts : hosts in the observation and action spaces (default: the largest park of the pool); smaller
        parks are padded with invalid hosts.
    history_steps : CPU utilization samples per host in the observation.
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, episodes: Episodes | None = None, reward: Any = None, max_hosts: int | None = None,
                 history_steps: int = 6, **episode_fields: Any):
        if episodes is None:
            episodes = Episodes(**episode_fields)
        elif episode_fields:
            raise TypeError(f"give episodes or its fields, not both: {sorted(episode_fields)}")
        self.episodes = episodes
        self.reward_spec = RewardSpec.of(reward)
        self.ledger_spec = episodes.ledger_spec()
        parks = [episodes.scenario_of(i).n_hosts for i in range(len(episodes.traces))]
        self.max_hosts = int(max_hosts or max(parks))
        if self.max_hosts < max(parks):
            raise ValueError(f"max_hosts: {self.max_hosts} is smaller than the largest park ({max(parks)} hosts)")
        self.history_steps = int(history_steps)
        self._cpu_scale = max(max(h.cores * h.core_mhz for h in episodes.scenario_of(i).hosts) for i in range(len(parks)))
        self._ram_scale = max(max(h.ram_mb for h in episodes.scenario_of(i).hosts) for i in range(len(parks)))
        self._cores_scale = max(max(h.cores for h in episodes.scenario_of(i).hosts) for i in range(len(parks)))
        self._host_space = spaces.Box(0.0, OBS_HIGH, (self.max_hosts, len(HOST_FEATURES) + self.history_steps),
                                      np.float32)
        self._time_space = spaces.Box(-1.0, 1.0, (3,), np.float32)
        self.engine: Engine | None = None
        self.ledger: RunningLedger | None = None
        self.window: Window | None = None
        self.episode_totals = LedgerTotals()

    # ------------------------------------------------------------------------------------------ episodes
    def engine_scenario(self, base: Scenario) -> Scenario:
        """The scenario the engine runs for an episode on ``base``: its per-step VM matrices recorded (the
        running ledger reads them). Subclasses change more."""
        data = base.model_dump()
        data["record_vm_steps"] = True
        return parse(data, base.name)

    def _start_episode(self, seed: int | None, options: dict[str, Any] | None) -> None:
        super().reset(seed=seed)
        ep = self.episodes
        opts = options or {}
        if "window" in opts:
            w = opts["window"]
            windows = ep.windows()
            self.window = windows[int(w) % len(windows)] if isinstance(w, int | np.integer) else w
        else:
            self.window = ep.draw(self.np_random)
        w = self.window
        key = f"engine-scenario{w.trace}"
        cache = ep._cache
        if key not in cache:
            cache[key] = self.engine_scenario(ep.scenario_of(w.trace))
        self.engine = Engine(cache[key], ep.cut(w))
        rules = ep.cached(f"ledger-vms{w.trace}:{w.start}:{w.steps}",
                          lambda: RunningLedger.vm_rules(self.engine, self.ledger_spec))
        self.ledger = RunningLedger(self.engine, self.ledger_spec, vm_rules=rules)
        eng = self.engine
        s = eng.state
        self.n_hosts = nh = s.hosts.n
        self.n_steps = eng.trace.n_steps
        self.accounted = 0  # engine steps accounted (and booked by the ledger)
        self._sparse = 0.0
        self._refused_total = 0
        self.episode_totals = LedgerTotals()
        h = s.hosts
        self._cpu_cap = h.cpu_mhz
        self._ram_cap = h.ram_mb
        self._cpu_bookable = h.cpu_overcommit * h.cpu_mhz
        self._ram_bookable = h.ram_overcommit * h.ram_mb
        self._host_div = np.stack([self._cpu_bookable, self._ram_bookable, h.cpu_mhz, h.ram_mb])
        self._hist = np.zeros((self.history_steps, nh), np.float32)
        self._obs_hosts = np.zeros(self._host_space.shape, np.float32)
        self._obs_hosts[:nh, 0] = 1.0
        self._obs_hosts[:nh, 8] = h.cpu_mhz / self._cpu_scale
        self._obs_hosts[:nh, 9] = h.ram_mb / self._ram_scale
        self._t0_epoch = float(eng.trace.start_epoch_s)
        self._obs_step = -1
        self._time_at: tuple[float, np.ndarray] = (-1.0, np.zeros(3, np.float32))

    def _stepped(self, k: int) -> None:
        """Engine step ``k`` is accounted: keep its host utilization for the observation."""
        self._obs_step = -1  # every host's row is recomputed at the next observation
        if self.history_steps:
            self._hist[1:] = self._hist[:-1]
            self._hist[0] = self.engine.state.host_cpu_demand / self._cpu_cap  # type: ignore[union-attr]
        self.accounted = k + 1

    def _stepped_many(self, end: int, host_cpu: np.ndarray) -> None:
        """Engine steps up to ``end`` (excluded) are accounted at once (:meth:`kumo.engine.Engine.run_quiet`),
        ``host_cpu`` the hosts' CPU demand in the last of them, oldest first."""
        self._obs_step = -1
        for row in host_cpu:
            self._hist[1:] = self._hist[:-1]
            self._hist[0] = row / self._cpu_cap
        self.accounted = end

    def _reward(self, refused: int, last: bool) -> tuple[float, LedgerTotals]:
        """The reward of the engine steps accounted since the last call (and of ``refused`` refusals); at the
        episode's ``last`` action the ledger is settled."""
        led = self.ledger
        assert led is not None
        delta = led.update(self.accounted)
        if last:
            d2 = led.settle()
            delta = delta + d2
        self._refused_total += refused
        r = self.reward_spec.value(delta, refused)
        self.episode_totals = led.totals
        if self.reward_spec.mode == "sparse":
            self._sparse += r
            r = self._sparse if last else 0.0
        return r * self.reward_spec.scale, delta

    # ------------------------------------------------------------------------------------------ observation
    def _hosts_obs(self, changed: int = -1) -> np.ndarray:
        """(max_hosts, features) float32: :data:`HOST_FEATURES`, then the CPU utilization history.
        ``changed``: the only host whose bookings or power state changed since the last call in the same
        engine step (-1: unknown, all are recomputed)."""
        s = self.engine.state  # type: ignore[union-attr]
        nh = self.n_hosts
        o = self._obs_hosts
        if changed >= 0 and self._obs_step == s.step:
            h = changed
            o[h, 1] = min(s.host_cpu_booked[h] / self._cpu_bookable[h], OBS_HIGH)
            o[h, 2] = min(s.host_ram_booked[h] / self._ram_bookable[h], OBS_HIGH)
            o[h, 5:8] = _STATE_FLAGS[s.host_state[h]]
            return o.copy()
        self._obs_step = s.step
        o[:nh, 1:5] = (np.stack([s.host_cpu_booked, s.host_ram_booked, s.host_cpu_demand, s.host_ram_demand])
                       / self._host_div).T
        o[:nh, 5:8] = _STATE_FLAGS[s.host_state]
        if self.history_steps:
            o[:nh, len(HOST_FEATURES):] = self._hist.T
        clip_obs(o)
        return o.copy()

    def _time_obs(self) -> np.ndarray:
        s = self.engine.state  # type: ignore[union-attr]
        if self._time_at[0] != s.t_s:
            day = 2 * np.pi * ((self._t0_epoch + s.t_s) % 86400.0) / 86400.0
            self._time_at = (s.t_s, np.array([min(s.step / max(self.n_steps, 1), 1.0), np.sin(day), np.cos(day)],
                                             np.float32))
        return self._time_at[1].copy()

    # ------------------------------------------------------------------------------------------ results
    def result(self) -> Any:
        """The episode's :class:`~kumo.results.RunResult` (tables as ``kumo run`` writes them), once it is over."""
        from kumo.results import build_result

        eng = self.engine
        if eng is None:
            raise RuntimeError("no episode yet: call reset() first")
        eng.close()
        return build_result(eng)
