"""Rewards from the ledger: what an environment pays its agent for the steps since its last action.

A reward turns the change of the running ledger (:class:`~kumo.gym.ledger.LedgerTotals`) over the engine
steps between two actions into a number:

* ``kind = "profit"`` (the default): the profit delta, revenue - penalties - energy and hardware cost;
* ``kind = "weighted"``: ``sum(weights[name] * delta[name])`` over any field of the totals
  (``energy_kwh``, ``sla_breaks``, ``sla_breaks_cpu``, ``migrations``, ``penalties``, ``carbon_kg``...);
* ``fn``: any ``callable(delta) -> float`` (it overrides ``kind``).

``mode = "dense"`` pays every action its delta; ``"sparse"`` pays 0 until the episode's last action, then the
episode's total. Both sum to the same episode total. ``refusal_penalty`` is subtracted per placement or
migration the engine refused; ``scale`` multiplies everything (RL prefers rewards of order 1).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from kumo.gym.ledger import LedgerTotals

__all__ = ["RewardSpec"]

_NAMES = tuple(f.name for f in fields(LedgerTotals)) + ("penalties", "costs", "profit", "sla_breaks")


@dataclass(frozen=True)
class RewardSpec:
    """How ledger changes become rewards (see the module docstring)."""

    kind: Literal["profit", "weighted"] = "profit"
    weights: Mapping[str, float] = field(default_factory=dict)
    mode: Literal["dense", "sparse"] = "dense"
    scale: float = 1.0
    refusal_penalty: float = 0.0
    fn: Callable[[LedgerTotals], float] | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.kind not in ("profit", "weighted"):
            problems.append(f"kind: must be 'profit' or 'weighted', got {self.kind!r}")
        if self.mode not in ("dense", "sparse"):
            problems.append(f"mode: must be 'dense' or 'sparse', got {self.mode!r}")
        bad = sorted(set(self.weights) - set(_NAMES))
        if bad:
            problems.append(f"weights: unknown name(s) {bad}; valid: {', '.join(_NAMES)}")
        if self.kind == "weighted" and not self.weights and self.fn is None:
            problems.append("weights: kind 'weighted' needs at least one weight")
        if problems:
            raise ValueError("reward." + "; reward.".join(problems))

    @classmethod
    def of(cls, value: Any) -> RewardSpec:
        """A RewardSpec from itself, None (the default), a kind name, a dict of its fields, or a callable."""
        if isinstance(value, RewardSpec):
            return value
        if value is None:
            return cls()
        if isinstance(value, str):
            return cls(kind=value)  # type: ignore[arg-type]
        if callable(value):
            return cls(fn=value)
        return cls(**dict(value))

    def value(self, delta: LedgerTotals, refused: int = 0) -> float:
        """The unscaled reward of a ledger change and ``refused`` refusals."""
        if self.fn is not None:
            r = float(self.fn(delta))
        elif self.kind == "profit":
            r = delta.profit
        else:
            r = 0.0
            for name, w in self.weights.items():
                r += w * float(getattr(delta, name))
        return r - self.refusal_penalty * refused
