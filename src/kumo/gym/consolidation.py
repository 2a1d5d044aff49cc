"""``kumo/Consolidation-v0``: at every controller interval, keep or move a VM of each overloaded or
underloaded host.

The factorization. A consolidation decision is a set of (VM, target host) moves: with n VMs and m hosts
there are (m+1)^n of them, far too many for an action space. Heuristic controllers cut it the same way
three times (Beloglazov & Buyya's detection x selection x placement), and so does this environment:

1. **which hosts** — the *candidates*: powered hosts with VMs whose CPU or RAM use exceeds ``upper``
   (overloaded, most loaded first), then those whose use of both stays below ``lower`` (underloaded, least
   loaded first); at most ``max_candidates`` (M) of them;
2. **which VM** — on each candidate, one VM picked by a named selection policy (``selection``: ``mmt``,
   ``mc``, ``mu``, ``rs``, ``hpg``, ``mm``, or a plugin's) among its running, migratable VMs;
3. **where** — the ``k_targets`` (k) best hosts for that VM by a named host-choice rule (``target_rule``:
   ``wf``, ``bf``, ``ff``, ``pabfd``, ``least-loaded``, ...) among the powered hosts that are not the source
   and have room to book it and stay under ``upper`` with it; switched-off hosts complete the list for an
   overloaded source when fewer fit (moving there powers them on).

The agent chooses, per candidate, keep (0) or target j (1..k). ``action_mode = "multi"``: one
``MultiDiscrete([k + 1] * M)`` action per interval, all moves applied as one decision. ``"sequential"``:
one move per env step, ``Discrete(1 + M * k)`` (0 ends the interval; 1 + i * k + j moves candidate i's VM
to its target j), with candidates recomputed after every move (at most ``max_moves`` per interval), which
lets the agent see its own moves. Either way ``info["action_mask"]`` (and :meth:`action_masks`) marks the
valid choices (for ``multi``, the M blocks of k + 1 concatenated, as sb3-contrib expects).

Every decision goes through the engine's checks: a move the engine refuses (target full, VM already moving)
is listed in ``info["refused"]`` and costs ``reward.refusal_penalty``; a choice outside the mask is ignored,
counted in ``info["invalid"]`` and costs the same. With ``switch_off_empty`` (the default), hosts left
powered without VMs and not receiving one are switched off with the decision, as the heuristics do.

Heuristic controllers do not fit this action space (they move several VMs per host, drain hosts all or
nothing): they act through :meth:`ConsolidationEnv.step_decision`, a documented pass-through that applies
a :class:`kumo.api.Decision` with the same checks and advances like :meth:`step`.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from gymnasium import spaces

from kumo.config import Scenario, parse
from kumo.gym._base import OBS_HIGH, KumoEnv, clip_obs
from kumo.gym._fast import POWERED as _POWERED
from kumo.gym._fast import pick_many, rank_many
from kumo.policies.base import Decision, SelectionContext
from kumo.policies.placement import Placer
from kumo.policies.registry import make
from kumo.state import HOST_OFF, HOST_ON, VM_RUNNING

__all__ = ["CANDIDATE_FEATURES", "TARGET_FEATURES", "ConsolidationEnv"]

#: the rows of the selection facts (booked RAM, CPU demand, booked CPU, RAM demand) in the order of the
#: hosts' use and bookings (CPU demand, RAM demand, booked CPU, booked RAM)
_USE_ORDER = np.array([1, 3, 2, 0])
_HISTORY = 30  # CPU utilization samples per VM the selection policies see (CloudSim keeps 30)

#: per candidate host: valid, +1 overloaded / -1 underloaded (shifted to 1 / 0 by ``kind``), its CPU and RAM
#: use, the picked VM's CPU and RAM demand as fractions of the host, its booked RAM (what a move copies) as a
#: fraction of the largest host's RAM, the host's VMs / 32, the host's index / max_hosts
CANDIDATE_FEATURES = ("valid", "overloaded", "cpu_used", "ram_used", "vm_cpu", "vm_ram", "vm_ram_booked", "n_vms",
                      "host")
#: per candidate target: valid, CPU and RAM use with the VM, CPU and RAM booked with the VM (fractions of
#: what the host may book), powered (0: the move powers it on), the host's index / max_hosts
TARGET_FEATURES = ("valid", "cpu_after", "ram_after", "cpu_booked_after", "ram_booked_after", "powered", "host")


class ConsolidationEnv(KumoEnv):
    """Keep or move a VM of each overloaded or underloaded host, every controller interval (see the module
    docstring).

    Parameters
    ----------
    action_mode : ``"multi"`` or ``"sequential"``.
    max_candidates, k_targets : M and k.
    max_moves : moves per interval in sequential mode (default M).
    selection, selection_params : the selection policy that picks each candidate's VM.
    target_rule, fit : the host-choice rule ranking targets (:data:`kumo.policies.placement.HOST_CHOICE`) and
        the resource it weighs.
    upper, lower : the overload and underload thresholds (fractions of capacity, CPU and RAM).
    switch_off_empty : switch off powered hosts left without VMs.
    interval_steps, timing : the decision points; None: the scenario's ``controller`` section's.
    **kwargs : :class:`~kumo.gym._base.KumoEnv`'s (``episodes`` or its fields, ``reward``, ``max_hosts``,
        ``history_steps``).
    """

    def __init__(self, action_mode: Literal["multi", "sequential"] = "multi", max_candidates: int = 8,
                 k_targets: int = 4, max_moves: int | None = None, selection: str = "mmt",
                 selection_params: dict[str, Any] | None = None, target_rule: str = "wf", fit: str = "binding",
                 upper: float = 0.9, lower: float = 0.2, switch_off_empty: bool = True,
                 interval_steps: int | None = None, timing: Literal["start", "end"] | None = None,
                 history_steps: int = 6, **kwargs: Any):
        if action_mode not in ("multi", "sequential"):
            raise ValueError(f"action_mode: must be 'multi' or 'sequential', got {action_mode!r}")
        self.action_mode = action_mode
        self.M, self.k = int(max_candidates), int(k_targets)
        self.max_moves = int(max_moves) if max_moves is not None else self.M
        self.selector = make("selection", selection, selection_params or {})
        self.selection = selection
        self.target_placer = Placer.preset(target_rule, resource=fit)
        self.upper, self.lower = float(upper), float(lower)
        self.switch_off_empty = bool(switch_off_empty)
        self.interval_steps, self.timing = interval_steps, timing
        super().__init__(history_steps=history_steps, **kwargs)
        self.observation_space = spaces.Dict({
            "hosts": self._host_space,
            "candidates": spaces.Box(0.0, OBS_HIGH, (self.M, len(CANDIDATE_FEATURES)), np.float32),
            "targets": spaces.Box(0.0, OBS_HIGH, (self.M, self.k, len(TARGET_FEATURES)), np.float32),
            "time": self._time_space,
        })
        if action_mode == "multi":
            self.action_space = spaces.MultiDiscrete([self.k + 1] * self.M)
        else:
            self.action_space = spaces.Discrete(1 + self.M * self.k)
        self._gen: Any = None

    def engine_scenario(self, base: Scenario) -> Scenario:
        """``base`` without its controller (the agent takes its place), at its interval and timing unless
        given, with the per-step VM matrices recorded."""
        data = base.model_dump()
        data["record_vm_steps"] = True
        ctl = data["controller"]
        data["controller"] = {"name": "none", "params": {},
                              "interval_steps": self.interval_steps or ctl["interval_steps"],
                              "timing": self.timing or ctl["timing"]}
        return parse(data, base.name)

    # ------------------------------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        self._start_episode(seed, options)
        eng = self.engine
        assert eng is not None
        nv = eng.state.vms.n
        # the selection policies read each VM's CPU utilization history (newest first), kept per decision
        self._vm_hist = np.zeros((_HISTORY, nv))  # a ring: row _head is the newest
        self._booked_pos = eng.state.vms.cpu_booked_mhz > 0
        self._head = -1
        self._hist_cols = np.arange(_HISTORY)
        self._vm_filled = 0
        self._hist_len = [np.full(nv, i) for i in range(_HISTORY + 1)]  # read-only slices for the contexts
        for x in self._hist_len:
            x.flags.writeable = False
        self._sel_rng = np.random.default_rng(np.random.SeedSequence(int(self.np_random.integers(2**63))))
        M, k = self.M, self.k
        self._cand = np.full(M, -1, np.int64)
        self._cand_vm = np.full(M, -1, np.int64)
        self._cand_over = np.zeros(M, bool)
        self._targets = np.full((M, k), -1, np.int64)
        self._n_targets = np.zeros(M, np.int64)
        self._cand_n = 0
        self._ar_k, self._ar_m = np.arange(k), np.arange(M)
        h = eng.state.hosts
        v = eng.state.vms
        self._used = np.zeros((4, h.n))
        self._facts = np.stack([v.ram_booked_mb, np.zeros(v.n), v.cpu_booked_mhz, np.zeros(v.n)])
        self._host_caps = (h.cpu_mhz.tolist(), h.ram_mb.tolist())
        self._caps = np.stack([h.cpu_mhz, h.ram_mb, h.cpu_overcommit * h.cpu_mhz, h.ram_overcommit * h.ram_mb])
        # what a host may book, as the booking filters compare it
        self._bookable = np.stack([h.cpu_overcommit * h.cpu_mhz * (1 + 1e-12), h.ram_overcommit * h.ram_mb * (1 + 1e-12)])
        self._k_step = -1
        self._gen = None
        self._moves_done = 0
        self._done = not self._advance()
        if self._done:
            raise RuntimeError(f"episode window {self.window} has no decision point")
        return self._obs(), self._info([], 0, None)

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        self._check_running()
        moves, invalid = self._moves_of(action)
        eng = self.engine
        assert eng is not None
        if self.action_mode == "multi":
            refused = self._apply(moves, final=True)
            return self._after(refused, invalid)
        if moves:  # sequential: one move now, the interval goes on
            refused = self._apply(moves, final=False)
            self._moves_done += 1
            self._candidates()
            if self._moves_done < self.max_moves and self._seq_mask()[1:].any():
                reward, delta = self._reward(len(refused) + invalid, False)
                return self._obs(), reward, False, False, self._info(refused, invalid, delta)
            refused += self._apply([], final=True)
            return self._after(refused, invalid)
        refused = self._apply([], final=True)
        return self._after(refused, invalid)

    def step_decision(self, decision: Decision | None) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """The pass-through for heuristic controllers: apply ``decision`` (a :class:`kumo.api.Decision`, or
        None for no change) at this decision point with the engine's checks, end the interval and advance
        to the next one, as :meth:`step` does. Nothing is added to it (no switch-off of empty hosts)."""
        self._check_running()
        eng = self.engine
        assert eng is not None
        refused = eng.apply_decision(decision, self._t)
        return self._after(refused, 0)

    def action_masks(self) -> np.ndarray:
        """The valid actions (sb3-contrib's hook): ``multi``, (M x (k + 1),) bool, the candidates' blocks
        concatenated; ``sequential``, (1 + M x k,) bool."""
        if self._done:
            n = self.M * (self.k + 1) if self.action_mode == "multi" else 1 + self.M * self.k
            return np.ones(n, bool)
        return self._multi_mask() if self.action_mode == "multi" else self._seq_mask()

    # ------------------------------------------------------------------------------------------ the loop
    def _check_running(self) -> None:
        if self._done or self.engine is None:
            raise RuntimeError("the episode is over: call reset()")

    def _after(self, refused: list[tuple[Any, ...]], invalid: int) -> tuple[dict[str, np.ndarray], float, bool,
                                                                                bool, dict[str, Any]]:
        self._moves_done = 0
        self._done = not self._advance()
        reward, delta = self._reward(len(refused) + invalid, self._done)
        return self._obs(), reward, False, self._done, self._info(refused, invalid, delta)

    def _advance(self) -> bool:
        """Run the engine to the next decision point; False when the window is over."""
        eng = self.engine
        assert eng is not None
        while True:
            if self._gen is not None:
                t = next(self._gen, None)
                if t is not None:
                    self._t = t
                    self.accounted = self._k_step if t == self._k_step * eng.dt else self._k_step + 1
                    self._record()
                    self._candidates()
                    return True
                self._gen = None
                self._stepped(self._k_step)
            self._k_step += 1
            k = self._k_step
            # the steps before the next decision point without an arrival or event, at once
            end, host_cpu = eng.run_quiet(k, self.n_steps, self.history_steps, external=True)
            if end > k:
                self._stepped_many(end, host_cpu)
                self._k_step = k = end
            if k >= self.n_steps:
                eng.close()
                self._cand_n = 0
                return False
            eng.begin_step(k)
            arrivals = eng.arrivals_at(k)
            if arrivals.size:
                eng.place_arrivals(arrivals)
            self._gen = eng.finish_step_decisions(k, external=True)

    def _record(self) -> None:
        """A decision point: each VM's CPU utilization joins its history (the selection policies read it)."""
        v = self.engine.view  # type: ignore[union-attr]
        booked = v.vms.cpu_booked_mhz
        self._head = (self._head + 1) % _HISTORY
        self._hist_cols = (self._head - np.arange(_HISTORY)) % _HISTORY  # newest first
        # (VMs without a CPU booking keep 0: their entries are never written)
        np.divide(v.vm_cpu_demand, booked, out=self._vm_hist[self._head], where=self._booked_pos)
        self._vm_filled = min(self._vm_filled + 1, _HISTORY)

    def _apply(self, moves: list[tuple[int, int]], final: bool) -> list[tuple[Any, ...]]:
        eng = self.engine
        assert eng is not None
        s = eng.state
        state = s.host_state
        wake = sorted({t for _, t in moves if state[t] == HOST_OFF})
        off: list[int] = []
        if final and self.switch_off_empty:
            targets = {t for _, t in moves}
            off = [h for h in ((state == HOST_ON) & (s.host_n_vms == 0)).nonzero()[0].tolist() if h not in targets]
        if not moves and not off:
            return []
        return eng.apply_decision(Decision(migrations=moves, switch_off=off, power_on=wake, reason="agent"), self._t)

    def _moves_of(self, action: Any) -> tuple[list[tuple[int, int]], int]:
        """The moves an action asks for, and how many of its choices were invalid (outside the mask)."""
        moves, invalid = [], 0
        if self.action_mode == "multi":
            n_targets = self._n_targets.tolist()
            for i, a in enumerate(np.asarray(action, dtype=np.int64).reshape(-1).tolist()):
                if not a:
                    continue
                j = a - 1
                if i < self._cand_n and 0 <= j < n_targets[i]:
                    moves.append((int(self._cand_vm[i]), int(self._targets[i, j])))
                else:
                    invalid += 1
            return moves, invalid
        act = int(action)
        if act == 0:
            return [], 0
        i, j = divmod(act - 1, self.k)
        if i < self._cand_n and j < self._n_targets[i]:
            return [(int(self._cand_vm[i]), int(self._targets[i, j]))], 0
        return [], 1

    # ------------------------------------------------------------------------------------------ candidates
    def _candidates(self) -> None:
        """The candidate hosts, their picked VMs and their targets at this decision point (and what the
        observation shows of them, computed on the way)."""
        eng = self.engine
        assert eng is not None
        s = eng.state
        caps = self._caps  # (4, n_hosts): CPU, RAM, bookable CPU, bookable RAM
        used = self._used  # the hosts' CPU and RAM demand and bookings, rows refilled at every decision
        used[0], used[1], used[2], used[3] = s.host_cpu_demand, s.host_ram_demand, s.host_cpu_booked, s.host_ram_booked
        use = used[:2] / caps[:2]  # CPU and RAM use per host
        load = np.maximum(use[0], use[1])
        powered = _POWERED[s.host_state]
        mv = ((s.vm_state == VM_RUNNING) & s.vm_migratable).nonzero()[0]  # the movable VMs
        on_host = s.vm_host[mv]
        busy = powered & (np.bincount(on_host, minlength=s.hosts.n) > 0)
        hot = (use > self.upper).any(axis=0)
        oi = (busy & hot).nonzero()[0]
        ui = (busy & ~hot & (load < self.lower)).nonzero()[0]
        cands = np.concatenate([oi[np.lexsort((oi, -load[oi]))], ui[np.lexsort((ui, load[ui]))]])[:self.M]
        self._n_targets.fill(0)  # the other arrays are read up to _cand_n only
        self._seen = (used, use)
        n = 0
        if cands.size:
            # the candidates' VMs and what selection reads of them, (4, VMs): booked RAM, CPU demand,
            # booked CPU, RAM demand
            facts = self._facts  # booked RAM and CPU are the VMs' own; demand is refilled
            facts[1], facts[3] = s.vm_cpu_demand, s.vm_ram_demand
            mine = on_host == cands[:, None]
            n_over = oi.size
            now = used[:2].tolist()
            picks = pick_many(self.selector, mine, facts[0][mv])
            for i, host in enumerate(cands.tolist()):
                if picks is None:
                    vm = self._pick(host, mv[mine[i]], facts, now[0][host], now[1][host])
                else:
                    vm = int(mv[picks[i]]) if picks[i] >= 0 else -1
                if vm < 0:
                    continue
                self._cand[n], self._cand_vm[n], self._cand_over[n] = host, vm, i < n_over
                n += 1
            if n:
                self._targets_of(n, used, facts, powered)
        self._cand_n = n

    def _pick(self, host: int, vms: np.ndarray, facts: np.ndarray, cpu_used: float, ram_used: float) -> int:
        """The VM the selection policy picks among ``vms`` on ``host`` (using ``cpu_used`` MHz and ``ram_used``
        MB), -1 if none."""
        ram, cpu_d, cpu_b, ram_d = facts[:, vms]
        filled = self._vm_filled
        ctx = SelectionContext(
            vm_index=vms, ram_mb=ram, cpu_demand_mhz=cpu_d, cpu_booked_mhz=cpu_b, ram_demand_mb=ram_d,
            ram_booked_mb=ram, history=self._vm_hist[self._hist_cols[None, :], vms[:, None]],
            hist_len=self._hist_len[filled][:vms.size], host_cpu_mhz=self._host_caps[0][host],
            host_ram_mb=self._host_caps[1][host], host_cpu_used_mhz=cpu_used, host_ram_used_mb=ram_used,
            upper_cpu=self.upper, upper_ram=self.upper)
        p = int(self.selector.pick(ctx, self._sel_rng))
        return int(vms[p]) if 0 <= p < vms.size else -1

    def _targets_of(self, n: int, used: np.ndarray, facts: np.ndarray, powered: np.ndarray) -> None:
        """The targets of the first ``n`` candidates' VMs: the ``k`` best powered hosts other than the source
        that can book the VM and stay under ``upper`` with it, by the target rule; for an overloaded source,
        switched-off hosts complete the list. All candidates at once (:func:`~kumo.gym._fast.rank_many`)."""
        eng = self.engine
        assert eng is not None
        s = eng.state
        k = self.k
        vm, src = self._cand_vm[:n], self._cand[:n]
        # (4, n, n_hosts): each host's CPU and RAM use and bookings with the VM, then as fractions
        vm_use = facts[_USE_ORDER[:, None], vm]
        after = used[:, None, :] + vm_use[:, :, None]
        frac = after / self._caps[:, None, :]
        room = (after[2:] <= self._bookable[:, None, :]).all(axis=0) & (frac[:2] <= self.upper).all(axis=0)
        room[self._ar_m[:n], src] = False
        ranked = self._rank(eng.view, vm, room & powered)
        over = self._cand_over[:n].tolist()
        wake = [i for i in range(n) if over[i] and ranked[i].size < k]
        if wake:
            more = self._rank(eng.view, vm[wake], room[wake] & (s.host_state == HOST_OFF))
            for i, r in zip(wake, more, strict=True):
                ranked[i] = np.concatenate([ranked[i], r[:k - ranked[i].size]])
        for i, r in enumerate(ranked):
            r = r[:k]
            self._targets[i, :r.size] = r
            self._n_targets[i] = r.size
        self._seen_targets = (vm_use, frac)

    def _rank(self, v: Any, vms: np.ndarray, ok: np.ndarray) -> list[np.ndarray]:
        out = rank_many(self.target_placer, v, vms, ok)
        if out is None:
            out = [self.target_placer.rank(v, int(x), m) for x, m in zip(vms.tolist(), ok, strict=True)]
        return out

    # ------------------------------------------------------------------------------------------ masks
    def _multi_mask(self) -> np.ndarray:
        m = np.empty((self.M, self.k + 1), bool)
        m[:, 0] = True
        m[:, 1:] = self._ar_k < self._n_targets[:, None]
        return m.reshape(-1)

    def _seq_mask(self) -> np.ndarray:
        m = np.zeros(1 + self.M * self.k, bool)
        m[0] = True
        m[1:] = (np.arange(self.k)[None, :] < self._n_targets[:, None]).reshape(-1)
        return m

    # ------------------------------------------------------------------------------------------ observation
    def _obs(self) -> dict[str, np.ndarray]:
        M, k = self.M, self.k
        cand = np.zeros((M, len(CANDIDATE_FEATURES)), np.float32)
        targ = np.zeros((M, k, len(TARGET_FEATURES)), np.float32)
        n = getattr(self, "_cand_n", 0)
        if n and not self._done:
            s = self.engine.state  # type: ignore[union-attr]
            c = self._cand[:n]
            caps = self._caps
            used, use = self._seen
            vm_use, frac = self._seen_targets
            cand[:n, 0] = 1.0
            cand[:n, 1] = self._cand_over[:n]
            cand[:n, 2:4] = use[:, c].T
            cand[:n, 4:6] = (vm_use[:2] / caps[:2, c]).T
            cand[:n, 6] = vm_use[3] / self._ram_scale
            cand[:n, 7] = s.host_n_vms[c] / 32.0
            cand[:n, 8] = c / self.max_hosts
            valid = self._ar_k < self._n_targets[:n, None]
            t = self._targets[:n] * valid  # host 0 where there is no target (zeroed below)
            rows = self._ar_m[:n, None]
            targ[:n, :, 0] = valid
            targ[:n, :, 1:5] = frac[:, rows, t].transpose(1, 2, 0)
            targ[:n, :, 5] = s.host_state[t] != HOST_OFF
            targ[:n, :, 6] = t / self.max_hosts
            targ[:n] *= valid[:, :, None]
        clip_obs(cand)
        clip_obs(targ)
        return {"hosts": self._hosts_obs(), "candidates": cand, "targets": targ, "time": self._time_obs()}

    def _info(self, refused: list[tuple[Any, ...]], invalid: int, delta: Any = None) -> dict[str, Any]:
        s = self.engine.state  # type: ignore[union-attr]
        return {"action_mask": self.action_masks(), "step": s.step, "refused": refused, "invalid": invalid,
                "ledger": delta}
