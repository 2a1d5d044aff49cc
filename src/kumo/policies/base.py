"""The policy contract: what each kind of policy receives and returns. Imports nothing of the engine.

A policy is a **frozen dataclass** whose fields are its parameters (no logic in construction), registered
under a kind and a name (:func:`kumo.policies.registry.register`). It reads a read-only cluster and returns
arrays or a :class:`Decision`; it never mutates anything it is given. The kinds:

============  =====================  ===============================================================
kind          Protocol               what it answers
============  =====================  ===============================================================
filter        :class:`HostFilter`    which hosts *can* take a VM: ``mask(view, vm) -> (n_hosts,) bool``
weigher       :class:`HostWeigher`   how good each feasible host is: ``score(view, vm, hosts) -> (k,)``
detection     :class:`OverloadDetector`  which hosts are overloaded: ``overloaded(u, hist, len) -> bool``
selection     :class:`VmSelector`    which VM leaves an overloaded host next: ``pick(ctx, rng) -> int``
controller    :class:`Controller`    what the cloud OS does this interval: ``decide(view, mem, rng)``
============  =====================  ===============================================================

Every kind may add ``validate(self) -> list[str]`` returning its parameter problems (``"name: message"``);
they are reported with the scenario's other problems before a run starts.

Units everywhere: CPU in MHz, RAM in MB, time in s, utilization as a fraction of capacity (may exceed 1).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np

from kumo.policies import _stats
from kumo.state import (
    HOST_BOOTING,
    HOST_FAILED,
    HOST_OFF,
    HOST_ON,
    VM_DEPARTED,
    VM_DOWN,
    VM_MIGRATING,
    VM_PENDING,
    VM_QUEUED,
    VM_REJECTED,
    VM_RUNNING,
    ClusterView,
    HostArrays,
    VmArrays,
)

__all__ = [
    "HOST_BOOTING", "HOST_FAILED", "HOST_OFF", "HOST_ON", "VM_DEPARTED", "VM_DOWN", "VM_MIGRATING", "VM_PENDING",
    "VM_QUEUED", "VM_REJECTED", "VM_RUNNING",
    "Cluster", "ClusterView", "Controller", "Decision", "HostArrays", "HostFilter", "HostWeigher",
    "OverloadDetector", "SelectionContext", "VmArrays", "VmSelector",
]

M = TypeVar("M")


# ------------------------------------------------------------------------------------------------ Decision
def _int_tuple(name: str, values: Any) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in values)
    except (TypeError, ValueError):
        raise ValueError(f"Decision.{name}: expected a sequence of host indices, got {values!r}") from None


@dataclass(frozen=True)
class Decision:
    """What a controller asks for at one decision; the engine checks every part before applying it.

    Attributes
    ----------
    migrations : ((vm, target host), ...) live migrations to start now, in this order.
    switch_off : hosts to switch off now (each must hold no VM, else the request is refused).
    power_on : hosts to switch on now. A migration to a host that is off is refused unless its target is
        listed here (the engine switches it on when the first migration to it starts).
    causes : one label per migration (``"overload"``, ``"underload"``, ``"lb"``...), recorded in the
        migrations table; None = ``reason`` for all.
    reason : a label for the whole decision.

    Lists are accepted and stored as tuples of ints. A malformed decision (a pair that is not two
    integers, causes of the wrong length) raises ValueError where it is built.
    """

    migrations: Sequence[tuple[int, int]] = ()
    switch_off: Sequence[int] = ()
    power_on: Sequence[int] = ()
    causes: Sequence[str] | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        try:
            moves = tuple((int(vm), int(host)) for vm, host in self.migrations)
        except (TypeError, ValueError):
            raise ValueError(f"Decision.migrations: expected (vm, target host) pairs of integers, got "
                             f"{self.migrations!r}") from None
        object.__setattr__(self, "migrations", moves)
        object.__setattr__(self, "switch_off", _int_tuple("switch_off", self.switch_off))
        object.__setattr__(self, "power_on", _int_tuple("power_on", self.power_on))
        if self.causes is not None:
            causes = tuple(str(c) for c in self.causes)
            if len(causes) != len(moves):
                raise ValueError(f"Decision.causes: {len(causes)} cause(s) for {len(moves)} migration(s)")
            object.__setattr__(self, "causes", causes)
        if not isinstance(self.reason, str):
            raise ValueError(f"Decision.reason: expected a string, got {self.reason!r}")

    @property
    def empty(self) -> bool:
        """True when the decision asks for nothing."""
        return not (self.migrations or self.switch_off or self.power_on)

    def cause_of(self, i: int) -> str:
        """The cause recorded for migration ``i``."""
        return self.causes[i] if self.causes is not None else self.reason


# ------------------------------------------------------------------------------------------------ cluster
@runtime_checkable
class Cluster(Protocol):
    """What filters and weighers read: a :class:`~kumo.state.ClusterView` (the cluster now) or a
    :class:`~kumo.policies.planning.PlannedCluster` (a controller's what-if copy with its moves applied).

    Both offer the attributes of :class:`~kumo.state.ClusterView` (``hosts``, ``vms``, ``host_state``,
    ``host_on``, ``host_cpu_booked``, ``host_ram_booked``, ``host_n_vms``, ``host_cpu_demand``,
    ``host_ram_demand``, ``vm_state``, ``vm_host``, ``vm_target``, ``vm_cpu_demand``, ``vm_ram_demand``,
    ``vm_image``, ``vm_migratable``, ``step``, ``t_s``) and ``cpu_history`` (None or a
    :class:`~kumo.policies.planning.CpuHistory`).
    """

    @property
    def hosts(self) -> HostArrays: ...

    @property
    def vms(self) -> VmArrays: ...

    @property
    def host_cpu_demand(self) -> np.ndarray: ...

    @property
    def host_ram_demand(self) -> np.ndarray: ...

    @property
    def host_cpu_booked(self) -> np.ndarray: ...

    @property
    def host_ram_booked(self) -> np.ndarray: ...

    @property
    def vm_cpu_demand(self) -> np.ndarray: ...

    @property
    def vm_ram_demand(self) -> np.ndarray: ...


# ------------------------------------------------------------------------------------------------ kinds
class HostFilter(Protocol):
    """Kind ``filter``: which hosts can take VM ``vm`` (Nova's filter scheduler)."""

    def mask(self, view: Cluster, vm: int) -> np.ndarray:
        """(n_hosts,) bool: True where the host passes."""
        ...


class HostWeigher(Protocol):
    """Kind ``weigher``: how good each host that passed the filters is for VM ``vm``.

    Higher is better; the placement's multiplier (negative packs, positive spreads) decides the direction.
    Scores must be finite.
    """

    def score(self, view: Cluster, vm: int, hosts: np.ndarray) -> np.ndarray:
        """(len(hosts),) float64 scores of the hosts ``hosts`` (int64 indices, ascending)."""
        ...


class OverloadDetector(Protocol):
    """Kind ``detection``: which hosts are over-utilized (Beloglazov & Buyya, CCPE 2012).

    ``util_now``: (n,) CPU demand / capacity. ``history``: (n, H) utilization history, newest first.
    ``hist_len``: (n,) valid entries per row. Returns (n,) bool. A detector may also offer
    ``overloaded_one(util: float, history_1d) -> bool`` (one host, its valid history); the consolidation
    controller falls back to :meth:`overloaded` on one row without it.
    """

    def overloaded(self, util_now: np.ndarray, history: np.ndarray, hist_len: np.ndarray) -> np.ndarray:
        ...


class VmSelector(Protocol):
    """Kind ``selection``: which VM leaves an overloaded host next.

    ``pick`` returns a position into the context's candidate arrays, or -1 for none. Selectors used by the
    ``sla`` controller also offer ``pick_set(ctx, rng, upper_cpu, upper_ram) -> (m,) positions``
    (the ``_Selector`` base of :mod:`kumo.policies.selection` derives it from ``pick``).
    """

    def pick(self, ctx: SelectionContext, rng: np.random.Generator) -> int:
        ...


class Controller(Protocol[M]):
    """Kind ``controller``: the periodic cloud-OS loop (consolidation, load balancing, power management).

    Stateless itself: what it must remember across decisions it declares in a memory object of its own
    type ``M``, built once by :meth:`init_memory` (called before the first decision, with the view at that
    moment); the engine owns it and passes it to every :meth:`decide`, which may update it in place.
    """

    def init_memory(self, view: ClusterView) -> M:
        ...

    def decide(self, view: ClusterView, memory: M, rng: np.random.Generator) -> Decision | None:
        """What to do now; None (or an empty Decision) for nothing."""
        ...


# ------------------------------------------------------------------------------------------------ selection input
_CTX_ARRAYS = ("vm_index", "ram_mb", "cpu_demand_mhz", "cpu_booked_mhz", "ram_demand_mb", "ram_booked_mb",
               "history", "hist_len")


@dataclass(frozen=True, eq=False)
class SelectionContext:
    """The candidate VMs of one host (those not migrating, in host-list order) and the host's facts.

    Attributes
    ----------
    vm_index : (k,) int — global VM ids.
    ram_mb : (k,) float — configured VM RAM, MB (what a migration copies; MMT's key).
    cpu_demand_mhz : (k,) float — current CPU demand, MHz (CloudSim: u(t) × VM MIPS).
    cpu_booked_mhz : (k,) float — requested/booked CPU, MHz (CloudSim: VM MIPS).
    ram_demand_mb : (k,) float — current RAM use, MB.
    ram_booked_mb : (k,) float — booked RAM, MB.
    history : (k, H) float — each VM's CPU utilisation history as a fraction of its own CPU booking,
        newest first (CloudSim ``PowerVm`` history, not zero-trimmed).
    hist_len : (k,) int — recorded entries per VM (CloudSim: the history list's size, <= 30).
    host_cpu_mhz, host_ram_mb : float — host capacities.
    host_cpu_used_mhz, host_ram_used_mb : float — current host usage, every VM on it included (also
        the non-candidates, e.g. VMs migrating in).
    upper_cpu, upper_ram : float or None — the host's upper utilisation thresholds (fractions of
        capacity) for the threshold-driven rules (HPG, MM, ``pick_set``); None = not checked.
    """

    vm_index: np.ndarray
    ram_mb: np.ndarray
    cpu_demand_mhz: np.ndarray
    cpu_booked_mhz: np.ndarray
    ram_demand_mb: np.ndarray
    ram_booked_mb: np.ndarray
    history: np.ndarray
    hist_len: np.ndarray
    host_cpu_mhz: float
    host_ram_mb: float
    host_cpu_used_mhz: float
    host_ram_used_mb: float
    upper_cpu: float | None = None
    upper_ram: float | None = None

    @property
    def k(self) -> int:
        """Number of candidates."""
        return int(np.shape(self.vm_index)[0])

    def take(self, positions: np.ndarray | Sequence[int]) -> SelectionContext:
        """The context restricted to ``positions`` (in that order); the dropped candidates' demand is
        removed from the host usage, as if they had left the host."""
        positions = np.asarray(positions, dtype=np.int64)
        dropped = np.ones(self.k, dtype=bool)
        dropped[positions] = False
        cpu = float(self.host_cpu_used_mhz) - float(_stats.java_sum(np.asarray(self.cpu_demand_mhz)[dropped]))
        ram = float(self.host_ram_used_mb) - float(_stats.java_sum(np.asarray(self.ram_demand_mb)[dropped]))
        sub: dict[str, Any] = {name: np.asarray(getattr(self, name))[positions] for name in _CTX_ARRAYS}
        return dataclasses.replace(self, host_cpu_used_mhz=cpu, host_ram_used_mb=ram, **sub)

    def without(self, positions: np.ndarray | Sequence[int]) -> SelectionContext:
        """The context with the candidates at ``positions`` removed (remaining order kept)."""
        keep = np.ones(self.k, dtype=bool)
        keep[np.asarray(positions, dtype=np.int64)] = False
        return self.take(np.flatnonzero(keep))

    def with_thresholds(self, upper_cpu: float | None, upper_ram: float | None) -> SelectionContext:
        """A copy with other upper thresholds."""
        return dataclasses.replace(self, upper_cpu=upper_cpu, upper_ram=upper_ram)

    def is_overloaded(self, resources: str = "both") -> bool:
        """Host usage / capacity ``>`` its upper threshold for any checked resource (strict, as THR)."""
        return bool(overloaded_resources(self, resources))


def overloaded_resources(ctx: SelectionContext, resources: str) -> list[str]:
    """The resources (``"cpu"``, ``"ram"``) whose use / capacity exceeds the context's upper threshold."""
    out = []
    if resources in ("cpu", "both") and ctx.upper_cpu is not None and \
            ctx.host_cpu_used_mhz / ctx.host_cpu_mhz > ctx.upper_cpu:
        out.append("cpu")
    if resources in ("ram", "both") and ctx.upper_ram is not None and \
            ctx.host_ram_used_mb / ctx.host_ram_mb > ctx.upper_ram:
        out.append("ram")
    return out


# ------------------------------------------------------------------------------------------------ parameters
def parameter_problems(policy: Any) -> list[str]:
    """Type problems of a policy's parameters, from its dataclass annotations (``name: message``).

    Checks ``bool``, ``int``, ``float`` (ints accepted; NaN and infinities refused unless the default is
    one), ``str``, ``Literal[...]``, ``dict``, ``list``/``tuple`` and ``X | None``; other annotations pass.
    The registry runs this before the policy's own ``validate()``, so every policy, a plugin's included,
    reports a wrongly typed parameter with its name.
    """
    import math
    import typing

    try:
        hints = typing.get_type_hints(type(policy))
    except Exception:  # noqa: BLE001  (an annotation that cannot be resolved is not checked)
        return []
    out = []
    for f in dataclasses.fields(policy):
        if not f.init or f.name not in hints:
            continue
        value = getattr(policy, f.name)
        ok = _matches(hints[f.name], value)
        if ok and isinstance(value, float) and not math.isfinite(value):
            default = f.default if f.default is not dataclasses.MISSING else None
            ok = isinstance(default, float) and not math.isfinite(default)
        if not ok:
            out.append(f"{f.name}: expected {_describe(hints[f.name])}, got {value!r}")
    return out


def _matches(tp: Any, value: Any) -> bool:
    import types
    import typing

    origin = typing.get_origin(tp)
    if tp is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_matches(a, value) for a in typing.get_args(tp))
    if origin is typing.Literal:
        return value in typing.get_args(tp)
    if tp is type(None):
        return value is None
    if tp is bool:
        return isinstance(value, bool | np.bool_)
    if tp is int:
        return isinstance(value, int | np.integer) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    if tp is str:
        return isinstance(value, str)
    base = origin or tp
    if base in (dict, list, tuple, set, frozenset):
        return isinstance(value, base)
    return True


def _describe(tp: Any) -> str:
    import types
    import typing

    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp))
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if tp is type(None):
        return "None"
    return getattr(origin or tp, "__name__", str(tp))
