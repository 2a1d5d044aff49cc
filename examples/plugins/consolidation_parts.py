"""A detection and a selection plugin, used by the built-in ``consolidation`` controller.

    kumo run examples/plugins/consolidation.toml
"""

from dataclasses import dataclass

import numpy as np

from kumo.api import SelectionContext, register


@register("detection", "sustained")
@dataclass(frozen=True)
class Sustained:
    """Overloaded when the host is above ``threshold`` now *and* its mean over the last ``window`` decisions
    is above it too: ignores one-interval spikes (a smoothed static threshold, cf. Beloglazov & Buyya,
    CCPE 2012, THR)."""

    threshold: float = 0.8
    window: int = 3

    def validate(self) -> list[str]:
        out = [] if 0 < self.threshold <= 1 else [f"threshold: must be in (0, 1], got {self.threshold!r}"]
        if not (isinstance(self.window, int) and self.window >= 1):
            out.append(f"window: must be an integer >= 1, got {self.window!r}")
        return out

    def overloaded(self, util_now: np.ndarray, history: np.ndarray, hist_len: np.ndarray) -> np.ndarray:
        w = np.minimum(np.asarray(hist_len), self.window).clip(min=1)  # history is newest first
        cols = np.arange(history.shape[1])[None, :] < w[:, None]
        mean = np.where(cols, history, 0.0).sum(axis=1) / w
        return (np.asarray(util_now) > self.threshold) & (mean > self.threshold)


@register("selection", "busiest")
@dataclass(frozen=True)
class Busiest:
    """The VM with the largest CPU demand first: the fewest migrations relieve the host (the opposite of
    CloudSim's minimum-utilization rule)."""

    def pick(self, ctx: SelectionContext, rng: np.random.Generator) -> int:
        return int(np.argmax(ctx.cpu_demand_mhz)) if ctx.k else -1
