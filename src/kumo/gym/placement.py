"""``kumo/Placement-v0``: one decision per VM that needs a host — choose the host.

Each action places one VM: an arriving VM, or (with ``placement.on_no_host = "queue"``) a queued VM that the
engine retries at a step's start. The decisions of a step come in the engine's own order (queued VMs lowest
index first, then arrivals in ``placement.order``); between them the engine runs the steps without one.
The feasible hosts are exactly those the scenario's own placement would consider (its filters on the
running hosts or, when none passes, on the switched-off hosts, the chosen one is powered on):
``info["action_mask"]`` and :meth:`PlacementEnv.action_masks`. A VM that no host can take is never asked
about; the engine queues or rejects it as it would. An action outside the mask is refused by the engine's
checks: the VM is rejected (or stays queued), ``info["refused"]`` says why and the reward subtracts
``reward.refusal_penalty``.

Observation (a ``Dict``): ``hosts`` (max_hosts, features): :data:`~kumo.gym._base.HOST_FEATURES` then the
CPU utilization of the last ``history_steps`` steps; ``request``: the VM's booked CPU, RAM and cores (as
fractions of the park's largest host), whether it is a queued retry, whether a decision is pending (0 in the
episode's final observation), and with ``sla_class_obs`` a one-hot of its SLA class; ``time``: the
episode's elapsed fraction and the time of day (sin, cos).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from kumo.gym._base import KumoEnv
from kumo.gym._fast import FusedFilters
from kumo.state import VM_QUEUED

__all__ = ["PlacementEnv"]

_REQUEST = ("cpu_booked", "ram_booked", "cores", "queued", "pending")


class PlacementEnv(KumoEnv):
    """Choose the host of every VM that needs one (see the module docstring).

    Parameters
    ----------
    sla_class_obs : add a one-hot of the VM's SLA class (the ledger's ``classes``, then ``default``) to the
        request.
    **kwargs : :class:`~kumo.gym._base.KumoEnv`'s (``episodes`` or its fields, ``reward``, ``max_hosts``,
        ``history_steps``).
    """

    def __init__(self, sla_class_obs: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.sla_class_obs = bool(sla_class_obs)
        n_req = len(_REQUEST) + (len(self.ledger_spec.classes) + 1 if self.sla_class_obs else 0)
        self._n_req = n_req
        self.observation_space = spaces.Dict({
            "hosts": self._host_space,
            "request": spaces.Box(0.0, 1.0, (n_req,), np.float32),
            "time": self._time_space,
        })
        self.action_space = spaces.Discrete(self.max_hosts)
        self._mask = np.zeros(self.max_hosts, bool)
        self._vm = -1

    # ------------------------------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        self._start_episode(seed, options)
        eng = self.engine
        assert eng is not None
        s = eng.state
        # every VM's request row, as _obs fills it (the queued flag aside)
        scale = np.array([1 / self._cpu_scale, 1 / self._ram_scale, 1 / self._cores_scale])
        req = np.zeros((s.vms.n, self._n_req), np.float32)
        req[:, :3] = np.column_stack([s.vms.cpu_booked_mhz, s.vms.ram_booked_mb, s.vms.cores]).astype(np.float64) * scale
        req[:, 4] = 1.0
        if self.sla_class_obs:
            klass = self.ledger.klass  # type: ignore[union-attr]
            req[np.arange(s.vms.n), len(_REQUEST) + 1 + klass] = 1.0  # -1 (default) lands on the first slot
        self._req_rows = np.clip(req, 0.0, 1.0)
        self._fused = FusedFilters.of(eng.placer, s)
        self._k = -1
        self._changed = -1
        self._todo: list[int] = []
        self._pos = 0
        self._done = not self._advance()
        if self._done:
            raise RuntimeError(f"episode window {self.window} has no VM to place")
        return self._obs(), self._info(None, None)

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        if self._done or self.engine is None:
            raise RuntimeError("the episode is over: call reset()")
        eng = self.engine
        host = int(action)
        vm = self._vm
        refused = None
        if not 0 <= host < self.n_hosts:
            refused = f"host {host} is padding (the park has {self.n_hosts} hosts)"
        else:
            refused = eng.place_on(vm, host, self._cand)
        if refused is not None:
            eng.refuse_placement(vm, f"agent's choice refused: {refused}")
        self._changed = -1 if refused is not None else host
        self._done = not self._advance()
        reward, delta = self._reward(int(refused is not None), self._done)
        return self._obs(), reward, False, self._done, self._info(refused, delta)

    def action_masks(self) -> np.ndarray:
        """(max_hosts,) bool: the hosts the engine would accept for the pending VM (sb3-contrib's hook)."""
        if self._done:
            return np.ones(self.max_hosts, bool)  # no decision pending: any action is ignored
        return self._mask.copy()

    # ------------------------------------------------------------------------------------------ the loop
    def _advance(self) -> bool:
        """Move to the next VM that needs a host, running the engine through steps without one; False when
        the window is over."""
        eng = self.engine
        assert eng is not None
        s = eng.state
        while True:
            while self._pos < len(self._todo):
                vm = self._todo[self._pos]
                self._pos += 1
                cand, some = self._candidates_of(vm)
                if some:
                    self._vm, self._cand = vm, cand
                    self._mask[:self.n_hosts] = cand[0]
                    return True
                # no host can take it: an arrival is rejected or queued, a queued VM waits or times out, as in
                # the engine's own loop
                eng.refuse_placement(vm, f"no host passes filter '{cand[2]}'")
            if self._k >= 0:
                eng.finish_step(self._k)
                self._stepped(self._k)
            self._k += 1
            # the steps without a decision, at once (vectorized over the steps between departures)
            end, host_cpu = eng.run_quiet(self._k, self.n_steps, self.history_steps)
            if end > self._k:
                self._stepped_many(end, host_cpu)
                self._k = end
            if self._k >= self.n_steps:
                self._vm = -1
                self._mask[:] = False
                eng.close()
                return False
            eng.begin_step(self._k, retry_queued=False)
            queued = np.flatnonzero(s.vm_state == VM_QUEUED)
            arrivals = eng.arrivals_at(self._k)
            self._todo = queued.tolist() + arrivals.tolist() if len(queued) else arrivals.tolist()
            self._pos = 0

    def _candidates_of(self, vm: int) -> tuple[tuple[np.ndarray, bool, str | None], bool]:
        """:meth:`kumo.engine.Engine.placement_candidates` (by the fused filters when a running host passes),
        and whether its mask holds a host."""
        if self._fused is not None:
            m = self._fused.mask(vm)
            if m.any():
                return (m, False, None), True
        cand = self.engine.placement_candidates(vm)  # type: ignore[union-attr]
        return cand, bool(cand[0].any())

    # ------------------------------------------------------------------------------------------ observation
    def _obs(self) -> dict[str, np.ndarray]:
        vm = self._vm
        if vm >= 0:
            req = self._req_rows[vm].copy()
            req[3] = self.engine.state.vm_state[vm] == VM_QUEUED  # type: ignore[union-attr]
        else:
            req = np.zeros(self._n_req, np.float32)
        changed, self._changed = self._changed, -1
        return {"hosts": self._hosts_obs(changed), "request": req, "time": self._time_obs()}

    def _info(self, refused: str | None, delta: Any) -> dict[str, Any]:
        s = self.engine.state  # type: ignore[union-attr]
        return {"action_mask": self._mask.copy(), "vm": self._vm, "step": s.step, "refused": refused,
                "ledger": delta}
