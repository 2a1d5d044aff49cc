"""``isHostOverUtilizedAfterAllocation`` per detector family: the verdicts PABFD needs (:mod:`._pabfd`).

An after-test judges VM ``v`` on many candidate hosts at once: over-utilized or not, and unsure where the
screen is too close to call; :func:`~kumo.studies.cloudsim._pabfd.pabfd` sends only the unsure hosts that
could win to ``resolve``, which ends in the detector's bit-exact scalar code (:mod:`kumo.policies.detection`).

* THR is exact as vectorized.
* LR/LRR predictions are linear in the history, so each host keeps ``A = Σ α_j h_j`` and ``B = Σ β_j h_j`` (OLS
  intercept and slope weights) and the VM adds its share; predictions within 1e-9 of the threshold are
  unsure, and so is every LRR rejection (CloudSim's robust fit may turn it around where >= 6 of the 10
  residuals are exactly zero: ``resolve`` screens for that before it runs the exact code).
* IQR/MAD use fixed-column percentiles (:func:`kumo.studies.cloudsim._screens.spread_overloaded`, equal to the
  detector's row functions bit for bit), lazily: best-scored hosts first.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from kumo.studies.cloudsim._model import INTERVAL_S, MIGRATION_MB_PER_S
from kumo.studies.cloudsim._screens import spread_overloaded

if TYPE_CHECKING:
    from kumo.studies.cloudsim._table import HostTable

_KNIFE = 1e-9  # screened predictions closer than this to a threshold are decided by the exact code


def horizon(max_ram: np.ndarray | float) -> np.ndarray:
    """LR's extrapolation point ``10 + ceil(T_mig / 300)``, ``T_mig`` = largest VM RAM / 62.5 MB/s."""
    return 10 + np.ceil(np.asarray(max_ram, dtype=np.float64) / MIGRATION_MB_PER_S / INTERVAL_S)


def _horizon_one(max_ram: float) -> float:
    return 10.0 + math.ceil(max_ram / MIGRATION_MB_PER_S / INTERVAL_S)


class AfterTest:
    """Any detector: the exact scalar code on each host, best-scored hosts first. Subclasses screen; the
    hooks ``grow``/``added``/``rebuilt``/``save``/``load`` follow the table's edits."""

    lazy = True

    def __init__(self, table: HostTable):
        self.t = table

    def grow(self, i: int) -> None:
        pass

    def added(self, i: int, v: int) -> None:
        pass

    def rebuilt(self, i: int) -> None:
        pass

    def save(self, i: int) -> Any:
        return None

    def load(self, i: int, state: Any) -> None:
        pass

    def now(self, i: int) -> bool:
        """The detector on the host at position ``i`` as its list stands (exact)."""
        return self.t.overloaded_now_exact(i)

    def verdicts(self, v: int, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``(over, unsure)`` for VM ``v`` on the (non-empty, suitable) hosts at ``pos``: see
        :class:`~kumo.studies.cloudsim._pabfd.AfterVerdicts`."""
        return self.resolve(v, pos), None

    def resolve(self, v: int, pos: np.ndarray) -> np.ndarray:
        """(k,) bool: the exact verdict (over-utilized with ``v``) for the hosts at ``pos``."""
        return np.array([self.t.overloaded_after(int(i), v) for i in pos.tolist()], dtype=bool)


class ThresholdAfter(AfterTest):
    """THR: ``(Σ requested + r) / capacity > threshold`` (the detector's own comparison, exact)."""

    lazy = False

    def verdicts(self, v: int, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        t = self.t
        sim = t.sim
        return ((t.sum_r + sim.r[v]) / t.cap > sim.detector.threshold)[pos], None


class RegressionAfter(AfterTest):
    """LR/LRR: ``safety · (a + b · horizon) >= 1`` on the 10 newest values (see the module docstring)."""

    lazy = False

    def __init__(self, table: HostTable):
        super().__init__(table)
        sim = table.sim
        det = sim.detector
        self.robust = sim.detector_name == "lrr"
        w = int(det.window)
        self.w = w
        self.alpha, self.beta = sim.lr_weights
        self.hat = sim.lr_hat  # (w, w): newest-first window -> its OLS fitted values
        self.safety = float(det.safety)
        self.fallback = float(det.fallback_threshold)
        self.min_len = max(int(det.min_history), w)
        hw = table._hist[:, :w]
        self._A = hw @ self.alpha
        self._B = hw @ self.beta
        self._hz = horizon(table._max_ram)
        self._views()

    def _views(self) -> None:
        n = self.t.n
        self.A, self.B, self.hz = self._A[:n], self._B[:n], self._hz[:n]

    def grow(self, i: int) -> None:
        # the joining (empty) host now sits at position i of the table's arrays: recompute ours there
        hw = self.t._hist[i, : self.w]
        self._A[i] = hw @ self.alpha
        self._B[i] = hw @ self.beta
        self._hz[i] = horizon(self.t._max_ram[i])
        self._views()

    def _set(self, i: int) -> None:
        hw = self.t.hist[i, : self.w]
        self._A[i] = hw @ self.alpha
        self._B[i] = hw @ self.beta
        self._hz[i] = _horizon_one(self.t.max_ram[i])

    def added(self, i: int, v: int) -> None:
        sim = self.t.sim
        f = sim.vm_mips[v] / self.t.cap[i]
        lr = sim.vm_lr[v]
        self._A[i] += lr[0] * f
        self._B[i] += lr[1] * f
        self._hz[i] = _horizon_one(self.t.max_ram[i])

    def rebuilt(self, i: int) -> None:
        self._set(i)

    def save(self, i: int) -> Any:
        return (self._A[i], self._B[i], self._hz[i])

    def load(self, i: int, state: Any) -> None:
        self._A[i], self._B[i], self._hz[i] = state

    def now(self, i: int) -> bool:
        """The detector on the host as its list stands: the linear screen, the exact code near the threshold
        (and, for LRR, where the robust fit could turn "over" around)."""
        t = self.t
        if int(t.hlen[i]) < self.min_len:
            return bool(t.sum_r[i] / t.cap[i] > self.fallback)  # the detector's short-history rule, exact
        pred = (self._A[i] + self._B[i] * self._hz[i]) * self.safety
        if abs(pred - 1) <= _KNIFE:
            return t.overloaded_now_exact(i)
        if pred >= 1 and self.robust:
            hw = t.hist[i, : self.w]
            res = np.sort(np.abs(hw - hw @ self.hat))
            if res[(self.w - 1) // 2 + 1] <= 1e-9 * max(float(hw.max()), 1e-300):
                return t.overloaded_now_exact(i)
        return bool(pred >= 1)

    def _predict(self, v: int, pos: np.ndarray) -> np.ndarray:
        # the screened prediction for each host at pos with v added (two formulas, ulps apart; the knife
        # around 1 is far wider); computed over the whole table, which is cheaper than gathering per term
        t = self.t
        sim = t.sim
        mv = sim.vm_mips[v]
        a_v, b_v = sim.vm_lr[v]
        hz_max = float(self.hz.max())
        if float(self.hz.min()) == hz_max and sim.vm_hz[v] <= hz_max:
            hz = hz_max  # every host extrapolates to the same point (PlanetLab: 11)
            base = (self.A + self.B * hz) * self.safety  # each host's own screened prediction
            return (base + ((a_v + b_v * hz) * mv * self.safety) * t.invcap)[pos]
        hz_p = np.maximum(self.hz, sim.vm_hz[v])
        return (((self.A + a_v * mv / t.cap) + (self.B + b_v * mv / t.cap) * hz_p) * self.safety)[pos]

    def verdicts(self, v: int, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        t = self.t
        pred = self._predict(v, pos)
        over = pred >= 1
        unsure = np.abs(pred - 1) <= _KNIFE
        if self.robust:
            unsure |= over  # CloudSim's robust fit can only turn "over" into "not over"
        if t.sim.vm_hlen[v] < self.min_len:
            # where the host's history is short too, the detector's fallback threshold decides, exactly
            short = t.hlen[pos] < self.min_len
            if short.any():
                over = np.where(short, (t.sum_r[pos] + t.sim.r[v]) / t.cap[pos] > self.fallback, over)
                unsure &= ~short
        return over | unsure, unsure

    def resolve(self, v: int, pos: np.ndarray) -> np.ndarray:
        pred = self._predict(v, pos)
        over = pred >= 1
        exact = np.abs(pred - 1) <= _KNIFE
        if self.robust:
            rest = np.flatnonzero(~exact & over)
            if rest.size:
                exact[rest[self._maybe_robust(v, pos[rest])]] = True
        for k in np.flatnonzero(exact).tolist():
            over[k] = self.t.overloaded_after(int(pos[k]), v)
        return over

    def _maybe_robust(self, v: int, pos: np.ndarray) -> np.ndarray:
        # CloudSim's robust fit departs from OLS only if >= 6 of the 10 residuals are exactly 0. OLS residuals
        # are linear in the data too: those of host + VM are the host's plus the VM's (scaled)
        sim = self.t.sim
        w = self.w
        f = sim.vm_mips[v] / self.t.cap[pos]
        hw = self.t.hist[pos, :w]
        res = np.abs(hw - (hw @ self.hat) + (sim.vm_res[v] * f[:, None]))
        scale = np.maximum((hw + sim.vmh[v, :w][None, :] * f[:, None]).max(axis=1), 1e-300)
        return np.sort(res, axis=1)[:, (w - 1) // 2 + 1] <= 1e-9 * scale


class SpreadAfter(AfterTest):
    """IQR/MAD: the spread test on the VM-added histories of a chunk of hosts
    (:func:`kumo.studies.cloudsim._screens.spread_overloaded`, equal to the detector's row functions bit for bit)."""

    def verdicts(self, v: int, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        t = self.t
        sim = t.sim
        hist = t.hist[pos] + sim.vmh[v][None, :] * sim.vm_mips[v] / t.cap[pos][:, None]
        n = np.maximum(t.hlen[pos], sim.vm_hlen[v])
        util = (t.sum_r[pos] + sim.r[v]) / t.cap[pos]
        return spread_overloaded(sim.detector, sim.detector_name, util, hist, n), None


AFTER_TESTS: dict[str, type[AfterTest]] = {
    "thr": ThresholdAfter, "lr": RegressionAfter, "lrr": RegressionAfter, "iqr": SpreadAfter, "mad": SpreadAfter,
}
