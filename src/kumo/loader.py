"""One loader for kumo's TOML files: it recognizes a scenario, a sweep or a federation and validates it.

=============  ===========================================  ============================================
kind           recognized by                                loaded as
=============  ===========================================  ============================================
federation     a ``providers`` table                        :class:`kumo.federation.spec.FederationSpec`
sweep          any of ``axes``, ``base``, ``seeds``,         :class:`kumo.sweep.Experiment` (and its
               ``scenario``, ``ledger``, ``plot``           points, expanded and validated)
scenario       anything else                                :class:`kumo.config.Scenario`
=============  ===========================================  ============================================

Every kind may start with ``plugins = [...]``, loaded before validation (:mod:`kumo.plugins`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kumo import config

__all__ = ["load", "kind_of"]


def kind_of(path: str | Path) -> str:
    """``"scenario"``, ``"sweep"`` or ``"federation"``."""
    return config.file_kind(config.read_toml(path))


def load(path: str | Path, expect: str | None = None) -> tuple[str, Any]:
    """``(kind, object)`` of a TOML file, validated (a sweep's points expanded, so every point is checked).

    With ``expect``, a file of another kind is a :class:`~kumo.errors.ConfigError` naming the command that
    takes it (``this is a sweep file: use kumo sweep ...``).
    """
    p = Path(path)
    data = config.read_toml(p)
    kind = config.file_kind(data)
    if expect is not None and kind != expect:
        raise config.ConfigError([f"this is a {kind} file: use {config.FILE_COMMANDS[kind]} {p}"], str(p))
    if kind == "federation":
        from kumo.federation import load_federation

        return kind, load_federation(p)
    if kind == "sweep":
        from kumo.sweep import load_experiment

        exp, root = load_experiment(p)
        exp.expand(root)
        return kind, exp
    return kind, config.load(p)
