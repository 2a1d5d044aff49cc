"""Episodes: trace windows drawn from a pool of traces, split in time into training and held-out windows.

An episode replays one window of one trace: ``window_steps`` steps from a start step, on the scenario of
that trace (its host park, placement filters, controller interval). Every VM alive at the window's start
arrives at its first step (:meth:`kumo.traces.base.Trace.select`). The windows of a trace are its tiles of
``window_steps`` every ``stride`` steps; the last ``test_fraction`` of each trace's steps is held out:
``split = "test"`` draws windows starting there, ``"train"`` windows that end before it, ``"all"`` any.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from kumo.accounting import LedgerSpec, parse_ledger_spec
from kumo.config import Scenario, default_scenario, load, parse
from kumo.traces.base import Trace

__all__ = ["Episodes", "Window", "load_trace_cached"]

_TRACES: dict[str, Trace] = {}
_PER_WINDOW = ("cut", "ledger-vms")  # the cache keys of per-window data


def load_trace_cached(name: str) -> Trace:
    """:func:`kumo.traces.load`, kept per process: episodes reset often, traces do not change."""
    if name not in _TRACES:
        from kumo.traces import load as load_trace

        _TRACES[name] = load_trace(name)
    return _TRACES[name]


@dataclass(frozen=True)
class Window:
    """One episode's data: trace ``trace`` (index in the pool, and its name), steps [start, start + steps)."""

    trace: int
    name: str
    start: int
    steps: int


@dataclass(frozen=True)
class Episodes:
    """Where episodes come from.

    Attributes
    ----------
    traces : embedded trace names, paths, or :class:`~kumo.traces.base.Trace` objects (synthetic ones too).
    window_steps : steps per episode (288 = one day of 300 s steps); a trace shorter than that is one window.
    stride : steps between window starts (default: ``window_steps``, non-overlapping tiles).
    split : ``"train"``, ``"test"`` or ``"all"`` (see the module docstring).
    test_fraction : the share of each trace's steps held out for ``"test"``, at its end.
    scenario : a :class:`~kumo.config.Scenario`, its dict or a TOML path, used for every trace (its
        ``trace`` section only for ``max_vms`` and VM types; the window replaces ``max_steps``); None:
        :func:`kumo.config.default_scenario` of each trace.
    ledger : the ledger's rules and prices (:class:`~kumo.accounting.LedgerSpec` or its dict); None: its
        defaults.
    setup : the name of a registered sweep base (``"kohne"``: Kohne's calibrated Bitbrains set-up) giving
        the scenario and the ledger; overrides ``scenario`` and ``ledger``.
    """

    traces: tuple[str | Trace, ...] = ("bitbrains-rnd",)
    window_steps: int = 288
    stride: int | None = None
    split: Literal["train", "test", "all"] = "all"
    test_fraction: float = 0.2
    scenario: Any = None
    ledger: Any = None
    setup: str | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.traces, str | Trace):
            object.__setattr__(self, "traces", (self.traces,))
        problems = []
        if not self.traces:
            problems.append("traces: give at least one trace")
        if not (isinstance(self.window_steps, int) and self.window_steps >= 1):
            problems.append(f"window_steps: must be an integer >= 1, got {self.window_steps!r}")
        if self.stride is not None and not (isinstance(self.stride, int) and self.stride >= 1):
            problems.append(f"stride: must be an integer >= 1, got {self.stride!r}")
        if self.split not in ("train", "test", "all"):
            problems.append(f"split: must be 'train', 'test' or 'all', got {self.split!r}")
        if not 0.0 <= self.test_fraction < 1.0:
            problems.append(f"test_fraction: must be in [0, 1), got {self.test_fraction!r}")
        if problems:
            raise ValueError("; ".join(problems))

    # ------------------------------------------------------------------------------------------ the pool
    def trace(self, i: int) -> Trace:
        """Trace ``i`` of the pool (loaded once per process)."""
        t = self.traces[i]
        return t if isinstance(t, Trace) else load_trace_cached(str(t))

    def name(self, i: int) -> str:
        t = self.traces[i]
        return t.name if isinstance(t, Trace) else str(t)

    def scenario_of(self, i: int) -> Scenario:
        """The scenario of trace ``i``'s episodes, as given (controller included; no step limit)."""
        key = f"scenario{i}"
        if key not in self._cache:
            data = self._scenario_dict(i)
            data.setdefault("trace", {})["max_steps"] = None
            data["trace"]["source"] = self.name(i) if not isinstance(self.traces[i], Trace) else "in-memory"
            self._cache[key] = parse(data, f"episodes scenario of {self.name(i)}")
        return self._cache[key]

    def _scenario_dict(self, i: int) -> dict[str, Any]:
        if self.setup is not None:
            return copy.deepcopy(self._setup()[0])
        sc = self.scenario
        if sc is None:
            return default_scenario(self.name(i)).model_dump()
        if isinstance(sc, Scenario):
            return sc.model_dump()
        if isinstance(sc, str | Path):
            return load(sc).model_dump()
        return copy.deepcopy(dict(sc))

    def _setup(self) -> tuple[dict[str, Any], dict[str, Any]]:
        from kumo import hooks

        bases = hooks.sweep_bases()
        if self.setup not in bases:
            raise ValueError(f"setup: unknown set-up {self.setup!r}; valid: {', '.join(sorted(bases)) or 'none'}")
        return bases[self.setup].load()

    def ledger_spec(self) -> LedgerSpec:
        if "ledger" not in self._cache:
            raw = self._setup()[1] if self.setup is not None else self.ledger
            self._cache["ledger"] = parse_ledger_spec(raw)
        return self._cache["ledger"]

    # ------------------------------------------------------------------------------------------ windows
    def windows(self) -> list[Window]:
        """Every window of the split, trace by trace, in time order."""
        if "windows" in self._cache:
            return self._cache["windows"]
        out = []
        length = self.window_steps
        stride = self.stride or length
        for i in range(len(self.traces)):
            n = self.trace(i).n_steps
            if n <= length:
                starts, steps = [0], n
            else:
                starts, steps = list(range(0, n - length + 1, stride)), length
            cut = n - int(round(self.test_fraction * n))
            if self.split == "test":
                starts = [s for s in starts if s >= cut] or ([starts[-1]] if self.test_fraction > 0 else [])
            elif self.split == "train":
                starts = [s for s in starts if s + steps <= cut] or [starts[0]]
            out += [Window(i, self.name(i), s, steps) for s in starts]
        if not out:
            raise ValueError("episodes: the split leaves no window")
        self._cache["windows"] = out
        return out

    def draw(self, rng: np.random.Generator) -> Window:
        """A window of the split, uniformly."""
        w = self.windows()
        return w[int(rng.integers(len(w)))]

    def cut(self, w: Window) -> Trace:
        """The trace data of window ``w``."""
        return self.cached(f"cut{w.trace}:{w.start}:{w.steps}",
                           lambda: self.trace(w.trace).select(steps=slice(w.start, w.start + w.steps)))

    def cached(self, key: str, make: Any) -> Any:
        """``make()``, kept under ``key`` (per window data: ``key`` holds the window; at most about 512 are
        kept, which bounds the memory of long training runs over many windows)."""
        cache = self._cache
        if key not in cache:
            if len(cache) > 512:
                for k in [k for k in cache if k.startswith(_PER_WINDOW)]:
                    del cache[k]
            cache[key] = make()
        return cache[key]
