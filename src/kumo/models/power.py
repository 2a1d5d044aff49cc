"""Server power models: watts as a function of CPU utilization, vectorized over hosts.

Sources: linear model, Fan, Weber & Barroso (ISCA 2007); SPECpower tables as used by CloudSim's
``PowerModelSpecPower`` (Beloglazov & Buyya, CCPE 2012). The tables of CloudSim's example servers are
given in :data:`SPECPOWER_TABLES` (watts at 0 %, 10 %, ..., 100 % load, from SPECpower_ssj2008 results).
The curve shapes ``sqrt``, ``square`` and ``cubic`` (:class:`PowerCurve`) are those OpenDC's topologies
name (``cpuPowerModel.modelType``): idle + (max - idle) x f(u) with f(u) = sqrt(u), u², u³.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

SPECPOWER_TABLES: dict[str, tuple[float, ...]] = {
    "hp-ml110-g3": (105, 112, 118, 125, 131, 137, 147, 153, 157, 164, 169),
    "hp-ml110-g4": (86, 89.4, 92.6, 96, 99.5, 102, 106, 108, 112, 114, 117),
    "hp-ml110-g5": (93.7, 97, 101, 105, 110, 116, 121, 125, 129, 133, 135),
    "ibm-x3250-x3470": (41.6, 46.7, 52.3, 57.9, 65.4, 73, 80.7, 89.5, 99.6, 105, 113),
    "ibm-x3250-x3480": (42.3, 46.7, 49.7, 55.4, 61.8, 69.3, 76.1, 87, 96.1, 106, 113),
    "ibm-x3550-x5670": (66, 107, 120, 131, 143, 156, 173, 191, 211, 229, 247),
    "ibm-x3550-x5675": (58.4, 98, 109, 118, 128, 140, 153, 170, 189, 205, 222),
}


@dataclass(frozen=True)
class PowerTable:
    """Watts at evenly spaced loads 0..100 %, linearly interpolated (SPECpower style).

    ``power_w(u)`` with u in [0, 1] (values outside are clipped) returns
    ``P[a] + (P[a+1] - P[a]) * (u*(n-1) - a)`` with ``a = floor(u*(n-1))``.
    """

    watts: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.watts) < 2:
            raise ValueError("PowerTable.watts: needs at least 2 points (0 % and 100 %)")
        w = np.asarray(self.watts, dtype=float)
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError(f"PowerTable.watts: must be finite and >= 0, got {self.watts}")
        if np.any(np.diff(w) < 0):
            raise ValueError(f"PowerTable.watts: must not decrease with load, got {self.watts}")
        # the interpolation arrays, built once (power_w runs in hot loops); not fields: equality and the
        # repr stay those of ``watts``
        object.__setattr__(self, "_w", w)
        object.__setattr__(self, "_x", np.arange(len(w), dtype=np.float64))

    @property
    def idle_w(self) -> float:
        return float(self.watts[0])

    @property
    def max_w(self) -> float:
        return float(self.watts[-1])

    def power_w(self, util: np.ndarray | float) -> np.ndarray:
        w: np.ndarray = self._w  # type: ignore[attr-defined]
        # np.clip to [0, 1], without its dispatch cost on the small arrays controllers score
        x = np.minimum(np.maximum(np.asarray(util, dtype=np.float64), 0.0), 1.0) * (len(w) - 1)
        return np.interp(x, self._x, w)  # type: ignore[attr-defined]


#: curve shape -> f(u) on [0, 1], f(0) = 0, f(1) = 1, non-decreasing
CURVES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda u: u,
    "sqrt": np.sqrt,
    "square": np.square,
    "cubic": lambda u: u * u * u,
}


@dataclass(frozen=True)
class PowerCurve:
    """Watts as ``idle_w + (max_w - idle_w) * f(u)``, with f one of :data:`CURVES` (OpenDC's power models).

    ``power_w(u)`` clips u to [0, 1]. The engine evaluates it on piecewise-constant loads, so energy stays
    the exact integral for any shape.
    """

    kind: str
    idle_w: float
    max_w: float

    def __post_init__(self) -> None:
        if self.kind not in CURVES:
            raise ValueError(f"PowerCurve.kind: unknown shape {self.kind!r}; valid: {', '.join(CURVES)}")
        if not (np.isfinite(self.idle_w) and np.isfinite(self.max_w)) or not 0 <= self.idle_w <= self.max_w:
            raise ValueError(f"PowerCurve: need 0 <= idle_w <= max_w, got {self.idle_w}, {self.max_w}")

    def power_w(self, util: np.ndarray | float) -> np.ndarray:
        u = np.clip(np.asarray(util, dtype=np.float64), 0.0, 1.0)
        return np.asarray(self.idle_w + (self.max_w - self.idle_w) * CURVES[self.kind](u))


#: what a host type's power model can be: a table (linear, SPECpower, explicit) or a curve
PowerModel = PowerTable | PowerCurve


def linear_table(idle_w: float, max_w: float) -> PowerTable:
    """The linear model P(u) = idle + (max - idle) u, as a 2-point table."""
    return PowerTable((float(idle_w), float(max_w)))


def host_power_w(util: np.ndarray, table_index: np.ndarray, tables: Sequence[PowerModel]) -> np.ndarray:
    """Power of many hosts of possibly different types.

    Parameters
    ----------
    util : (n,) utilization in [0, 1] (clipped).
    table_index : (n,) int index into ``tables`` per host.
    tables : one :class:`PowerTable` or :class:`PowerCurve` per host type.

    Returns
    -------
    (n,) float64 watts. Whether a host is on is the caller's business (off hosts draw 0 W).
    """
    if len(tables) == 1:
        return tables[0].power_w(util)
    out = np.empty(np.shape(util), dtype=np.float64)
    for i, t in enumerate(tables):
        m = table_index == i
        if m.any():
            out[m] = t.power_w(util[m])
    return out
