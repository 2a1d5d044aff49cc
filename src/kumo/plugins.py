"""Plugins: Python modules that register policies, presets, sweep hooks or CLI commands when imported.

Three ways to load one, all through :func:`load`:

* a scenario, sweep or federation file: ``plugins = ["my_policies", "lib/extra.py"]`` at its top (a module
  on ``sys.path``, or a ``.py`` file, relative to the TOML file's folder);
* the command line: ``kumo run --plugin my_policies.py scenario.toml`` (any command that takes a scenario);
* an installed package that declares an entry point in the group ``kumo.plugins``::

      [project.entry-points."kumo.plugins"]
      my_policies = "my_package.policies"

  Entry points load on the first registry lookup (:func:`load_entry_points`). kumo's own studies
  (``kumo.studies.*``) are plugins declared the same way in kumo's own ``pyproject.toml``.

A plugin that fails to import raises :class:`~kumo.errors.PluginError` with its own traceback under the
message. Loading the same plugin twice is a no-op, so sweep workers can load every plugin of a point.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from kumo.errors import PluginError

__all__ = ["ENTRY_POINT_GROUP", "LoadedPlugin", "load", "load_all", "load_entry_points", "loaded", "resolve"]

#: the entry-point group installed packages declare their kumo plugins under
ENTRY_POINT_GROUP = "kumo.plugins"


@dataclass(frozen=True)
class LoadedPlugin:
    """A plugin that was imported: how it was named, its module, its file and the file's SHA-256."""

    spec: str
    module: str
    file: str
    sha256: str
    origin: str  # "module", "file" or "entry-point"


_LOADED: dict[str, LoadedPlugin] = {}
_ENTRY_POINTS_DONE = False


def _is_path(spec: str) -> bool:
    return spec.endswith(".py") or "/" in spec or "\\" in spec


def resolve(spec: str, base_dir: str | Path | None = None) -> str:
    """``spec`` as other processes can load it: a ``.py`` path made absolute (relative paths are taken from
    ``base_dir``, default the current folder); a module name unchanged."""
    if not isinstance(spec, str) or not spec.strip():
        raise PluginError(f"plugin: expected a module name or a path to a .py file, got {spec!r}")
    spec = spec.strip()
    if not _is_path(spec):
        return spec
    p = Path(spec).expanduser()
    if not p.is_absolute():
        p = Path(base_dir or ".") / p
    return str(p.resolve())


def _digest(path: str) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return ""


def _own_traceback(exc: BaseException) -> str:
    """The exception's traceback without importlib's own frames (what the plugin author needs)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if "importlib" not in f.filename and not f.filename.endswith("kumo/plugins.py")]
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames),
             *traceback.format_exception_only(type(exc), exc)]
    return "".join(lines)


def _import_file(path: Path) -> ModuleType:
    name = path.stem if path.stem.isidentifier() else "kumo_plugin"
    old = sys.modules.get(name)
    if old is not None and getattr(old, "__file__", None) != str(path):
        name = f"{name}_{hashlib.sha256(str(path).encode()).hexdigest()[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"plugin '{path}': not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # classes defined there pickle by reference (sweep workers load it too)
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def load(spec: str, base_dir: str | Path | None = None) -> LoadedPlugin:
    """Import plugin ``spec`` (a module name on ``sys.path`` or a path to a ``.py`` file) once.

    Raises
    ------
    PluginError
        The module or file does not exist, fails to import (its traceback is attached), or registers
        something that breaks the policy contract.
    """
    key = resolve(spec, base_dir)
    if key in _LOADED:
        return _LOADED[key]
    try:
        if _is_path(key):
            p = Path(key)
            if not p.is_file():
                raise PluginError(f"plugin '{spec}': no such file {p}")
            module = _import_file(p)
            origin = "file"
        else:
            if importlib.util.find_spec(key.split(".")[0]) is None:
                raise PluginError(f"plugin '{spec}': no module named '{key}' on sys.path (give a path to a .py "
                                  "file, or install the package)")
            module = importlib.import_module(key)
            origin = "module"
    except PluginError as e:
        if e.message.startswith("plugin '"):
            raise
        raise PluginError(f"plugin '{spec}': {e.message}", e.details) from None
    except Exception as e:  # noqa: BLE001  (any error in a user's module is reported, with its traceback)
        raise PluginError(f"plugin '{spec}' failed to import: {type(e).__name__}: {e}", _own_traceback(e)) from None
    file = str(getattr(module, "__file__", "") or "")
    info = LoadedPlugin(spec=key, module=module.__name__, file=file, sha256=_digest(file), origin=origin)
    _LOADED[key] = info
    return info


def load_all(specs: list[str] | tuple[str, ...], base_dir: str | Path | None = None) -> list[LoadedPlugin]:
    """:func:`load` each of ``specs`` in order."""
    return [load(s, base_dir) for s in specs]


def load_entry_points() -> None:
    """Import every plugin installed under the entry-point group ``kumo.plugins`` (once per process)."""
    global _ENTRY_POINTS_DONE
    if _ENTRY_POINTS_DONE:
        return
    _ENTRY_POINTS_DONE = True
    eps = sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.value, e.name))
    for ep in eps:
        if ep.value in _LOADED:
            continue
        dist = getattr(getattr(ep, "dist", None), "name", "?")
        try:
            module = ep.load()
        except PluginError as e:
            raise PluginError(f"plugin entry point '{ep.name}' of {dist} ({ep.value}): {e.message}", e.details) from None
        except Exception as e:  # noqa: BLE001
            raise PluginError(f"plugin entry point '{ep.name}' of {dist} ({ep.value}) failed to import: "
                              f"{type(e).__name__}: {e}", _own_traceback(e)) from None
        file = str(getattr(module, "__file__", "") or "")
        _LOADED[ep.value] = LoadedPlugin(spec=ep.value, module=getattr(module, "__name__", ep.value), file=file,
                                         sha256=_digest(file), origin="entry-point")


def loaded() -> list[LoadedPlugin]:
    """Every plugin imported so far, in load order (for run manifests)."""
    return list(_LOADED.values())
