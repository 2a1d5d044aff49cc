"""``isHostOverUtilizedAfterAllocation`` for all PABFD candidates at once, per detector family (exact as a whole).

LR/LRR predictions are linear in the history, so each host keeps ``A = Σ α_j h_j`` and ``B = Σ β_j h_j`` (OLS
intercept and slope weights) and the VM adds its share; predictions within 1e-9 of the threshold (and, for
LRR, fits whose residuals may be exactly zero, where CloudSim's robust weights can apply) go to the
detector's bit-exact scalar code. THR is exact as vectorized. IQR/MAD use fixed-column percentiles
(:func:`kumo.studies.cloudsim._screens.spread_overloaded`, equal to the detector's row functions bit for bit) on the
best-scored hosts first, in growing chunks. Every ``choose`` ends in :meth:`HostTable.pick`, which scores the
hosts near the minimum with CloudSim's exact power formula.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from kumo.studies.cloudsim import _compiled
from kumo.studies.cloudsim._model import INTERVAL_S, MIGRATION_MB_PER_S
from kumo.studies.cloudsim._screens import spread_overloaded

if TYPE_CHECKING:
    from kumo.studies.cloudsim._optimize import HostTable

_KNIFE = 1e-9  # screened predictions closer than this to a threshold are decided by the exact code
_INT_MIN = float(-(2**31))
_XP = np.concatenate([np.arange(11.0), 11 + np.arange(11.0)])  # interp abscissae of POWER_FLAT (10 u + offset)
_NEAR_W = 1e-9  # watts: screened scores this close to the minimum are re-scored exactly


def horizon(max_ram: np.ndarray | float) -> np.ndarray:
    """LR's extrapolation point ``10 + ceil(T_mig / 300)``, ``T_mig`` = largest VM RAM / 62.5 MB/s."""
    return 10 + np.ceil(np.asarray(max_ram, dtype=np.float64) / MIGRATION_MB_PER_S / INTERVAL_S)


def _horizon_one(max_ram: float) -> float:
    return 10.0 + math.ceil(max_ram / MIGRATION_MB_PER_S / INTERVAL_S)


class AfterTest:
    """``isHostOverUtilizedAfterAllocation`` for all candidates of one PABFD call (exact as a whole)."""

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

    def over(self, v: int, pos: np.ndarray) -> np.ndarray:
        """(k,) bool for the hosts at ``pos`` (non-empty, suitable)."""
        return np.array([self.t.overloaded_after(int(i), v) for i in pos.tolist()], dtype=bool)

    def choose(self, v: int, diff: np.ndarray, tested: np.ndarray) -> int:
        """Best position by ``diff`` (inf = unsuitable) whose test passes; the tested hosts are checked
        best-scored first, in growing chunks, until one passes. Ties go to the lowest host id."""
        t = self.t
        finite = np.flatnonzero(diff != np.inf)
        if finite.size == 0:
            return -1
        order = finite[np.lexsort((t.host[finite], diff[finite]))]
        pos, chunk = 0, 4
        passed = np.zeros(diff.size, dtype=bool)
        while pos < order.size:
            part = order[pos:pos + chunk]
            b = tested[part]
            good = ~b
            if b.any():
                good[b] = ~self.over(v, part[b])
            if good.any():
                first = part[int(np.argmax(good))]
                passed[part[good]] = True
                # hosts whose screened score is within the margin of the first passing one may beat it exactly
                rest = order[pos + chunk:]
                rest = rest[diff[rest] <= diff[first] + _NEAR_W]
                if rest.size:
                    rb = tested[rest]
                    rg = ~rb
                    if rb.any():
                        rg[rb] = ~self.over(v, rest[rb])
                    passed[rest[rg]] = True
                return t.pick(np.where(passed, diff, np.inf))
            pos += chunk
            chunk *= 4
        return -1




def _argmin_by_id(diff: np.ndarray, host: np.ndarray) -> int:
    # CloudSim's scan in host-id order with a strict "<": the lowest id among the minima (positions are in
    # id order except for hosts that joined the universe, hence the check for ties)
    i = int(diff.argmin())
    best = diff[i]
    if best == np.inf:
        return -1
    same = diff == best
    if np.count_nonzero(same) == 1:
        return i
    hit = np.flatnonzero(same)
    return int(hit[np.argmin(host[hit])])


class ThresholdAfter(AfterTest):
    """THR: ``(Σ requested + r) / capacity > threshold`` (the detector's own comparison, exact)."""

    def choose(self, v: int, diff: np.ndarray, tested: np.ndarray) -> int:
        t = self.t
        sim = t.sim
        over = tested & ((t.sum_r + sim.r[v]) / t.cap > sim.detector.threshold)
        diff[over] = np.inf
        return t.pick(diff)


class RegressionAfter(AfterTest):
    """LR/LRR: ``safety · (a + b · horizon) >= 1`` on the 10 newest values (see the module docstring)."""

    def __init__(self, table: HostTable):
        super().__init__(table)
        sim = table.sim
        det = sim.detector
        self.robust = sim.detector_name == "lrr"
        w = int(det.window)
        self.w = w
        self.alpha, self.beta = sim.lr_weights
        self.x = np.arange(1, w + 1, dtype=np.float64)
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

    def choose(self, v: int, diff: np.ndarray, tested: np.ndarray) -> int:
        t = self.t
        sim = t.sim
        if tested.any():
            mv = sim.vm_mips[v]
            a_v, b_v = sim.vm_lr[v]
            hz_max = float(self.hz.max())
            if float(self.hz.min()) == hz_max and sim.vm_hz[v] <= hz_max:
                hz = hz_max  # every host extrapolates to the same point (PlanetLab: 11)
                base = (self.A + self.B * self.hz) * self.safety  # each host's own screened prediction
                pred = base + ((a_v + b_v * hz) * mv * self.safety) * t.invcap
            else:
                hz = np.maximum(self.hz, sim.vm_hz[v])
                pred = ((self.A + a_v * mv / t.cap) + (self.B + b_v * mv / t.cap) * hz) * self.safety
            over = pred >= 1
            unsure = tested & (np.abs(pred - 1) <= _KNIFE)
            if sim.vm_hlen[v] < self.min_len:
                short = t.hlen < self.min_len
                if short.any():
                    over = np.where(short, (t.sum_r + sim.r[v]) / t.cap > self.fallback, over)
                    unsure &= ~short
            if unsure.any():
                for i in np.flatnonzero(unsure).tolist():
                    over[i] = t.overloaded_after(i, v)
            rejected = tested & over
            if self.robust and rejected.any():
                # CloudSim's robust fit can only turn "over" into "not over" (its weighted fit gives NaN); it
                # matters for the rejected hosts that would beat the OLS winner
                best = _argmin_by_id(np.where(rejected, np.inf, diff), t.host)
                cut = np.inf if best < 0 else diff[best] + _NEAR_W
                could = np.flatnonzero(rejected & (diff <= cut))
                if could.size:
                    maybe = self._maybe_robust(v, could)
                    for i in could[maybe].tolist():
                        over[i] = t.overloaded_after(i, v)
                    rejected = tested & over
            diff[rejected] = np.inf
        return t.pick(diff)

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

    def now(self, i: int) -> bool:
        ctx = self.t._ctx
        if ctx is not None:
            r = _compiled.K.spread_now(ctx, i)
            if r != -2:
                return bool(r)
        return self.t.overloaded_now_exact(i)

    def over(self, v: int, pos: np.ndarray) -> np.ndarray:
        t = self.t
        sim = t.sim
        hist = t.hist[pos] + sim.vmh[v][None, :] * sim.vm_mips[v] / t.cap[pos][:, None]
        n = np.maximum(t.hlen[pos], sim.vm_hlen[v])
        util = (t.sum_r[pos] + sim.r[v]) / t.cap[pos]
        return spread_overloaded(sim.detector, sim.detector_name, util, hist, n)


AFTER_TESTS: dict[str, type[AfterTest]] = {
    "thr": ThresholdAfter, "lr": RegressionAfter, "lrr": RegressionAfter, "iqr": SpreadAfter, "mad": SpreadAfter,
}
