"""One registry for every pluggable policy, by kind (``filter``, ``weigher``, ``detection``, ...).

* ``@register(kind, name)`` adds a class. It must be a **frozen dataclass** (its fields are its
  parameters) with the kind's methods (:data:`KINDS`); a name already taken is an error naming the class
  that holds it.
* ``register_preset(kind, name, base, params)`` adds a preset: a name for a registered policy with some
  parameters set. Presets are data, not classes: ``make(kind, name, p)`` builds ``base`` with
  ``{**params, **p}``.
* ``make(kind, name, params)`` builds a policy; an unknown name lists the valid ones, an unknown parameter
  names the valid parameters.

Built-in policies load on the first lookup that needs them, and so do plugins installed under the
entry-point group ``kumo.plugins`` (:mod:`kumo.plugins`).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kumo.errors import PluginError, UnknownPolicyError

__all__ = ["KINDS", "KindSpec", "Preset", "all_policies", "all_presets", "get", "kinds", "make", "names",
           "preset", "register", "register_kind", "register_preset", "validate"]

T = TypeVar("T")


@dataclass(frozen=True)
class KindSpec:
    """A policy kind: its Protocol's name (for messages) and the methods a class must have, with the
    number of arguments each takes after ``self``."""

    protocol: str
    methods: Mapping[str, int]
    doc: str = ""


#: kind -> what a policy of that kind must offer (see :mod:`kumo.policies.base`)
KINDS: dict[str, KindSpec] = {
    "filter": KindSpec("HostFilter", {"mask": 2}, "which hosts can take a VM"),
    "weigher": KindSpec("HostWeigher", {"score": 3}, "how good each feasible host is for a VM"),
    "detection": KindSpec("OverloadDetector", {"overloaded": 3}, "which hosts are overloaded"),
    "selection": KindSpec("VmSelector", {"pick": 2}, "which VM leaves an overloaded host next"),
    "controller": KindSpec("Controller", {"init_memory": 1, "decide": 3}, "the periodic cloud-OS controller"),
}


@dataclass(frozen=True)
class Preset:
    """A registered name for policy ``base`` of ``kind`` with ``params`` set."""

    kind: str
    name: str
    base: str
    params: Mapping[str, Any] = field(default_factory=dict)
    doc: str = ""


_REGISTRY: dict[str, dict[str, type]] = {}
_PRESETS: dict[str, dict[str, Preset]] = {}


def register_kind(kind: str, protocol: str, methods: Mapping[str, int], doc: str = "") -> None:
    """Add a policy kind (e.g. the federation's ``broker``); registering the same kind again with the same
    methods is a no-op."""
    spec = KindSpec(protocol, dict(methods), doc)
    old = KINDS.get(kind)
    if old is not None and dict(old.methods) != dict(spec.methods):
        raise PluginError(f"policy kind '{kind}' is already defined with methods {dict(old.methods)}")
    KINDS[kind] = spec


def _where(obj: Any) -> str:
    mod = getattr(obj, "__module__", "?")
    return f"{mod}.{getattr(obj, '__qualname__', getattr(obj, '__name__', '?'))}"


def _n_args(fn: Callable[..., Any]) -> tuple[int, int | None]:
    """(required, maximum) positional arguments after ``self``; maximum None with ``*args``."""
    params = list(inspect.signature(fn).parameters.values())[1:]
    pos = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return sum(p.default is p.empty for p in pos), None
    return sum(p.default is p.empty for p in pos), len(pos)


def contract_problems(kind: str, cls: type) -> list[str]:
    """What keeps ``cls`` from being a policy of ``kind`` (empty when it is one)."""
    spec = KINDS[kind]
    out = []
    if not dataclasses.is_dataclass(cls):
        out.append("is not a dataclass (decorate it with @dataclass(frozen=True): its fields are its parameters)")
    elif not cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        out.append("is not frozen (use @dataclass(frozen=True): a policy is stateless; a controller keeps "
                   "its memory in init_memory)")
    for meth, n in spec.methods.items():
        fn = getattr(cls, meth, None)
        if not callable(fn):
            out.append(f"has no method {meth}() (kind '{kind}' follows kumo.api.{spec.protocol})")
            continue
        try:
            lo, hi = _n_args(fn)
        except (TypeError, ValueError):
            continue
        if lo > n or (hi is not None and hi < n):
            out.append(f"{meth}() must take {n} argument(s) after self (kumo.api.{spec.protocol}), "
                       f"its signature is {meth}{inspect.signature(fn)}")
    return out


def register(kind: str, name: str) -> Callable[[type[T]], type[T]]:
    """Class decorator: make ``cls`` available as ``make(kind, name, params)``.

    Raises :class:`~kumo.errors.PluginError` when the kind is unknown, the name is taken (by a class or a
    preset) or the class breaks the contract (not a frozen dataclass, a missing or mis-shaped method).
    """

    def deco(cls: type[T]) -> type[T]:
        if kind not in KINDS:
            raise PluginError(f"{_where(cls)}: unknown policy kind '{kind}'; valid: {', '.join(sorted(KINDS))}")
        _check_free(kind, name, _where(cls))
        problems = contract_problems(kind, cls)
        if problems:
            raise PluginError(f"{kind} policy '{name}' ({_where(cls)}) " + "; ".join(problems))
        _REGISTRY.setdefault(kind, {})[name] = cls
        cls.policy_kind = kind  # type: ignore[attr-defined]
        cls.policy_name = name  # type: ignore[attr-defined]
        return cls

    return deco


def _check_free(kind: str, name: str, who: str) -> None:
    if not isinstance(name, str) or not name:
        raise PluginError(f"{who}: a policy name must be a non-empty string, got {name!r}")
    taken = _REGISTRY.get(kind, {}).get(name)
    if taken is not None:
        raise PluginError(f"{kind} policy '{name}' is registered twice: by {_where(taken)} and by {who}; "
                          "pick another name")
    pre = _PRESETS.get(kind, {}).get(name)
    if pre is not None:
        raise PluginError(f"{kind} policy '{name}' is registered twice: as a preset of '{pre.base}' and by {who}; "
                          "pick another name")


def register_preset(kind: str, name: str, base: str, params: Mapping[str, Any], doc: str = "") -> Preset:
    """Register ``name`` as policy ``base`` of ``kind`` with ``params`` set (data, not a subclass).

    ``base`` must be registered (as a class or a preset) and every key of ``params`` must be one of its
    parameters.
    """
    if kind not in KINDS:
        raise PluginError(f"preset '{name}': unknown policy kind '{kind}'; valid: {', '.join(sorted(KINDS))}")
    _check_free(kind, name, f"a preset of '{base}'")
    root, merged = _resolve(kind, base)
    valid = _param_names(root)
    unknown = sorted(set(params) - valid)
    if unknown:
        raise PluginError(f"{kind} preset '{name}': unknown parameter(s) {unknown} of '{base}'; valid: {sorted(valid)}")
    p = Preset(kind, name, base, dict(params), doc)
    _PRESETS.setdefault(kind, {})[name] = p
    return p


def _param_names(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls) if f.init}


def _resolve(kind: str, name: str) -> tuple[type, dict[str, Any]]:
    """The class behind ``name`` (following presets) and the preset parameters collected on the way."""
    params: dict[str, Any] = {}
    seen = set()
    while True:
        table = _REGISTRY.get(kind, {})
        if name in table:
            return table[name], params
        pre = _PRESETS.get(kind, {}).get(name)
        if pre is None:
            _ensure_loaded()
            table = _REGISTRY.get(kind, {})
            pre = _PRESETS.get(kind, {}).get(name)
            if name in table:
                return table[name], params
        if pre is None or name in seen:
            raise UnknownPolicyError(kind, name, [*_REGISTRY.get(kind, {}), *_PRESETS.get(kind, {})])
        seen.add(name)
        params = {**pre.params, **params}
        name = pre.base


def names(kind: str) -> list[str]:
    """Sorted names registered under ``kind`` (classes and presets)."""
    _ensure_loaded()
    return sorted([*_REGISTRY.get(kind, {}), *_PRESETS.get(kind, {})])


def kinds() -> list[str]:
    _ensure_loaded()
    return sorted(set(_REGISTRY) | set(_PRESETS))


def get(kind: str, name: str) -> type:
    """The class registered as ``name`` (for a preset: the class it presets)."""
    return _resolve(kind, name)[0]


def preset(kind: str, name: str) -> Preset | None:
    """The preset registered as ``name``, or None when ``name`` is a class (or unknown)."""
    _ensure_loaded()
    return _PRESETS.get(kind, {}).get(name)


def make(kind: str, name: str, params: Mapping[str, Any] | None = None) -> Any:
    """Instantiate policy ``name`` of ``kind`` with ``params`` (over a preset's own).

    Unknown parameters are a ValueError naming them and the valid ones.
    """
    cls, pre = _resolve(kind, name)
    params = {**pre, **dict(params or {})}
    valid = _param_names(cls)
    unknown = sorted(set(params) - valid)
    if unknown:
        raise ValueError(f"{kind} policy '{name}': unknown parameter(s) {unknown}; valid: {sorted(valid)}")
    return cls(**params)


def validate(policy: Any) -> list[str]:
    """Every problem of a built policy's parameters: their types (from its annotations), then what its own
    ``validate()`` reports. A ``validate()`` that raises is reported too, not propagated."""
    from kumo.policies.base import parameter_problems

    out = parameter_problems(policy)
    if out:
        return out  # the policy's own checks may assume the types are right
    own = getattr(policy, "validate", None)
    if own is None:
        return []
    try:
        return list(own())
    except Exception as e:  # noqa: BLE001  (a check that fails on odd input is itself a finding)
        return [f"parameters: validate() failed ({type(e).__name__}: {e})"]


def all_policies() -> dict[str, dict[str, type]]:
    """Every registered class by kind, for the contract test suite."""
    _ensure_loaded()
    return {k: dict(v) for k, v in _REGISTRY.items()}


def all_presets() -> dict[str, dict[str, Preset]]:
    """Every registered preset by kind."""
    _ensure_loaded()
    return {k: dict(v) for k, v in _PRESETS.items()}


_LOADED = False


def _ensure_loaded() -> None:
    # importing the policy modules runs their @register decorators; they load on the first lookup that needs
    # them (a program that imports only the detectors it uses, like the CloudSim mode, skips the rest); then
    # the plugins installed under the entry-point group kumo.plugins
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    from kumo import plugins
    from kumo.policies import (  # noqa: F401
        consolidation,  # after detection and selection
        detection,
        placement,
        placement_dedup,
        selection,
        sla,
    )

    plugins.load_entry_points()
