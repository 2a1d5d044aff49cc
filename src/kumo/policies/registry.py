"""One registry for every pluggable policy, by kind ("placement", "detection", "selection", ...).

A policy is a frozen dataclass whose fields are its parameters. ``@register(kind, name)`` adds a class;
registering the same (kind, name) twice is an error; :func:`make` builds one from a name and parameters
and an unknown name lists the valid ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from kumo.errors import UnknownPolicyError

T = TypeVar("T")

_REGISTRY: dict[str, dict[str, type]] = {}


def register(kind: str, name: str) -> Callable[[type[T]], type[T]]:
    """Class decorator: make ``cls`` available as ``make(kind, name, **params)``."""

    def deco(cls: type[T]) -> type[T]:
        table = _REGISTRY.setdefault(kind, {})
        if name in table:
            raise ValueError(f"{kind} policy '{name}' is registered twice ({table[name].__name__}, {cls.__name__})")
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"{cls.__name__}: a policy must be a dataclass (its fields are its parameters)")
        table[name] = cls
        cls.policy_kind = kind  # type: ignore[attr-defined]
        cls.policy_name = name  # type: ignore[attr-defined]
        return cls

    return deco


def names(kind: str) -> list[str]:
    """Sorted names registered under ``kind``."""
    _ensure_loaded()
    return sorted(_REGISTRY.get(kind, {}))


def kinds() -> list[str]:
    _ensure_loaded()
    return sorted(_REGISTRY)


def get(kind: str, name: str) -> type:
    table = _REGISTRY.get(kind, {})
    if name not in table:
        _ensure_loaded()  # not among the modules imported so far: load every built-in policy, then decide
        table = _REGISTRY.get(kind, {})
    if name not in table:
        raise UnknownPolicyError(kind, name, list(table))
    return table[name]


def make(kind: str, name: str, params: Mapping[str, Any] | None = None) -> Any:
    """Instantiate policy ``name`` of ``kind`` with ``params``; unknown parameters are a ValueError naming them."""
    cls = get(kind, name)
    params = dict(params or {})
    valid = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(params) - valid)
    if unknown:
        raise ValueError(f"{kind} policy '{name}': unknown parameter(s) {unknown}; valid: {sorted(valid)}")
    return cls(**params)


def all_policies() -> dict[str, dict[str, type]]:
    """Every registered class by kind, for the contract test suite."""
    _ensure_loaded()
    return {k: dict(v) for k, v in _REGISTRY.items()}


_LOADED = False


def _ensure_loaded() -> None:
    # importing the policy modules runs their @register decorators; they load on the first lookup that needs
    # them (a program that imports only the detectors it uses, like the CloudSim mode, skips the rest)
    global _LOADED
    if _LOADED:
        return
    import kumo.federation.brokers  # noqa: F401  (federation broker and site policies)
    from kumo.policies import (  # noqa: F401
        consolidation,  # after detection and selection
        detection,
        kohne,  # after selection: it builds selection policies
        placement,
        placement_dedup,
        selection,
    )

    _LOADED = True
