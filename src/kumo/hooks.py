"""Extension hooks beside the policy registry: what a plugin (or one of kumo's own studies) adds to sweeps
and to the command line.

* :func:`register_sweep_base` — a name usable as ``base = "<name>"`` in a sweep file, giving the base
  scenario and ledger (as dicts);
* :func:`register_sweep_axis` — a special axis, usable in ``[axes]`` or as a top-level key of a sweep file,
  that edits a point's scenario (and ledger) for a value;
* :func:`register_command` — a ``kumo <name>`` command (a typer command function or a ``typer.Typer``).

The core names no plugin: ``kumo.sweep`` and ``kumo.cli`` only ask this module. Lookups load the
installed plugins first (:func:`kumo.plugins.load_entry_points`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kumo.errors import PluginError

__all__ = ["Command", "SweepAxis", "SweepBase", "commands", "register_command", "register_sweep_axis",
           "register_sweep_base", "sweep_axes", "sweep_bases"]


@dataclass(frozen=True)
class SweepBase:
    """``load() -> (scenario dict, ledger dict)``; each call returns fresh dicts."""

    name: str
    load: Callable[[], tuple[dict[str, Any], dict[str, Any]]]
    doc: str = ""


@dataclass(frozen=True)
class SweepAxis:
    """``apply(scenario, ledger, value)`` edits a point's dicts in place; it raises ValueError (with a message
    naming the valid values) for a value it does not know. ``choices()`` lists the valid values."""

    name: str
    apply: Callable[[dict[str, Any], dict[str, Any], Any], None]
    choices: Callable[[], list[Any]] | None = None
    doc: str = ""


@dataclass(frozen=True)
class Command:
    """A ``kumo <name>`` command: a typer command function, or a ``typer.Typer`` app (a command group)."""

    name: str
    target: Any
    help: str | None = None


_BASES: dict[str, SweepBase] = {}
_AXES: dict[str, SweepAxis] = {}
_COMMANDS: dict[str, Command] = {}


def _free(table: dict[str, Any], what: str, name: str) -> None:
    if not isinstance(name, str) or not name:
        raise PluginError(f"{what}: a name must be a non-empty string, got {name!r}")
    if name in table:
        raise PluginError(f"{what} '{name}' is registered twice; pick another name")


def register_sweep_base(name: str, load: Callable[[], tuple[dict[str, Any], dict[str, Any]]], doc: str = "") -> None:
    """Make ``base = "<name>"`` usable in sweep files."""
    _free(_BASES, "sweep base", name)
    _BASES[name] = SweepBase(name, load, doc)


def register_sweep_axis(name: str, apply: Callable[[dict[str, Any], dict[str, Any], Any], None],
                        choices: Callable[[], list[Any]] | None = None, doc: str = "") -> None:
    """Make ``<name>`` a special sweep axis (a name without dots or brackets, so it cannot be mistaken for a
    scenario path)."""
    if not name.isidentifier():
        raise PluginError(f"sweep axis '{name}': must be a plain identifier (paths like a.b[0] are scenario paths)")
    _free(_AXES, "sweep axis", name)
    _AXES[name] = SweepAxis(name, apply, choices, doc)


def register_command(name: str, target: Any, help: str | None = None) -> None:
    """Add ``kumo <name>``: ``target`` is a typer command function or a ``typer.Typer`` command group."""
    _free(_COMMANDS, "command", name)
    _COMMANDS[name] = Command(name, target, help)


def _loaded() -> None:
    from kumo.plugins import load_entry_points

    load_entry_points()


def sweep_bases() -> dict[str, SweepBase]:
    _loaded()
    return dict(_BASES)


def sweep_axes() -> dict[str, SweepAxis]:
    _loaded()
    return dict(_AXES)


def commands() -> dict[str, Command]:
    _loaded()
    return dict(_COMMANDS)
