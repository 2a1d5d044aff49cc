"""Experiments: a base scenario x axes x seeds, expanded as a cartesian product and run on any Executor.

An :class:`Experiment` is plain data (TOML or a dict)::

    name = "overcommit"
    plugins = ["my_policies.py"]    # optional: modules that register policies, bases or axes (kumo.plugins)
    base = "kohne"                  # a registered base (kumo.hooks.register_sweep_base; "kohne" is the Kohne
                                    # study's calibrated set-up), a scenario or federation TOML path, or
                                    # omitted (then [scenario] must be a whole scenario)
    scheduler = "MMWF+LB"           # a registered axis set for every point (here the Kohne study's)
    seeds = [0]
    [scenario]                      # overrides, merged into the base scenario
    trace = { max_steps = 2016 }
    [ledger]                        # overrides, merged into the base ledger (kumo.accounting.LedgerSpec)
    penalties = { cpu = { value = 160 } }
    [axes]                          # path -> values; the points are their cartesian product
    "hosts[0].ram_overcommit" = [2.0, 4.0, 8.0]
    "controller.params.ee" = [true, false]
    "ledger.penalties.ram.value" = [60, 120, 240]
    "scheduler" = ["MMWF", "HPGWF"]
    [replicates]                    # repeat every point over windows of the trace and perturbations
    windows = 4                     # the trace cut into 4 consecutive windows (axis trace.start_step)
    noise = 0.01                    # demand perturbed by 1 % log-normal noise (drawn from each seed)
    jitter = 0.01                   # thresholds moved by -0.01, 0, +0.01 (axis jitter)

Paths address the scenario (``hosts[0].cpu_overcommit``) or the ledger (``ledger.``...); a plain name is a
registered axis (:func:`kumo.hooks.register_sweep_axis`), applied before the paths. Points that differ
only in ledger values share one simulation: the ledger is re-evaluated on the same run. :func:`run_many` is resumable: each finished point is a JSON file in
``out_dir/points/`` named by a hash of its scenario, ledger and seed, and is never rerun; the combined
table is written to ``out_dir/results.csv``. The same seeds give identical tables. This module knows
:func:`kumo.engine.run` and :class:`concurrent.futures.Executor`, nothing about Dask.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kumo import hooks
from kumo.errors import ConfigError

__all__ = ["Experiment", "Point", "SharedTrace", "common_trace", "expand", "shared_trace", "load_experiment", "run_many",
           "run_point_group"]

Progress = Callable[[int, int], None]
_PATH_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


class ReplicateSpec(BaseModel):
    """How every point is repeated (see :mod:`kumo.stats` for what is printed about the repeats).

    ``windows``: cut the trace into that many consecutive windows of equal length (the scenario's
    ``max_steps`` if set, else the trace's steps divided by ``windows``), one run per window (the axis
    ``trace.start_step``). ``noise``: relative size of the log-normal demand noise of every run
    (``trace.demand_noise``), drawn from the run's seed. ``jitter``: move the controller's thresholds by
    ``-jitter``, 0 and ``+jitter`` (the axis ``jitter``). Seeds are the experiment's ``seeds``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    windows: int | None = Field(None, ge=2)
    noise: float = Field(0.0, ge=0.0, le=1.0)
    jitter: float = Field(0.0, ge=0.0, lt=1.0)


class Experiment(BaseModel):
    """A base scenario x axes x seeds (see the module docstring).

    Other top-level keys must be registered axes (:func:`kumo.hooks.register_sweep_axis`): their value is
    set for every point (:attr:`fixed`). ``plugins`` are module names or resolved ``.py`` paths, loaded
    before the points are expanded and in every worker.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str = "experiment"
    description: str = ""
    plugins: list[str] = Field(default_factory=list)
    base: str | None = None
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    scenario: dict[str, Any] = Field(default_factory=dict)
    ledger: dict[str, Any] = Field(default_factory=dict)
    axes: dict[str, list[Any]] = Field(default_factory=dict)
    plot: dict[str, Any] = Field(default_factory=dict)
    replicates: ReplicateSpec = Field(default_factory=ReplicateSpec)

    @model_validator(mode="after")
    def _known_extras(self) -> Experiment:
        from kumo.plugins import load_all

        load_all(self.plugins)  # their axes may be among the extras
        axes = hooks.sweep_axes()
        unknown = sorted(set(self.model_extra or {}) - set(axes))
        if unknown:
            valid = ", ".join(sorted(axes)) or "none registered"
            raise ValueError(f"unknown key(s) {unknown}: not a field of a sweep nor a registered axis ({valid})")
        return self

    @property
    def fixed(self) -> dict[str, Any]:
        """The registered axes set at the top level, for every point."""
        return dict(self.model_extra or {})

    @property
    def replicate_axes(self) -> list[str]:
        """The columns of the results that tell replicates apart (summaries average over them)."""
        out = ["seed"] if len(self.seeds) > 1 else []
        if self.replicates.windows:
            out.append("trace.start_step")
        if self.replicates.jitter:
            out.append("jitter")
        return out

    @property
    def treatment_axes(self) -> list[str]:
        """The swept axes that are not replicates: what a comparison compares."""
        return [a for a in self.axes if a not in self.replicate_axes]

    def expand(self, root: Path | None = None) -> list[Point]:
        """Every point, axes varying slowest-first in file order, seeds fastest; validated all at once."""
        return expand(self, root)


@dataclass(frozen=True)
class Point:
    """One run of an experiment: its axis values, seed, scenario dict, ledger dict and identity."""

    index: int
    values: dict[str, Any]
    seed: int
    scenario: dict[str, Any]
    ledger: dict[str, Any]
    key: str = field(default="")
    sim_key: str = field(default="")
    plugins: tuple[str, ...] = ()


def load_experiment(path: str | Path) -> tuple[Experiment, Path]:
    """Read an experiment TOML; returns it and its folder (relative ``base`` paths resolve there). Its
    ``plugins`` are resolved against that folder and loaded."""
    from kumo import config, plugins

    p = Path(path)
    data = config.read_toml(p)
    config.expect_kind(data, "sweep", str(p))
    raw = data.get("plugins", [])
    if isinstance(raw, list) and all(isinstance(x, str) for x in raw):
        data["plugins"] = [plugins.resolve(x, p.parent) for x in raw]
    try:
        return Experiment.model_validate(data), p.parent
    except ValidationError as e:
        raise ConfigError([f"{'.'.join(map(str, err['loc']))}: {err['msg'].removeprefix('Value error, ')}"
                           for err in e.errors()], str(p)) from None


# ------------------------------------------------------------------------------------------------ paths
def _parse_path(path: str) -> list[str | int]:
    parts: list[str | int] = []
    pos = 0
    for m in _PATH_RE.finditer(path):
        gap = path[pos:m.start()]
        if gap not in ("", "."):
            raise ValueError(f"bad path {path!r}")
        parts.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    if pos != len(path) or not parts:
        raise ValueError(f"bad path {path!r}")
    return parts


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at a dotted path with list indexes (``hosts[0].ram_mb``), creating tables as needed."""
    parts = _parse_path(path)
    cur: Any = data
    for i, part in enumerate(parts[:-1]):
        nxt = parts[i + 1]
        if isinstance(part, int):
            if not isinstance(cur, list) or part >= len(cur):
                raise ValueError(f"index [{part}] out of range")
            cur = cur[part]
        else:
            if part not in cur or cur[part] is None:
                cur[part] = [] if isinstance(nxt, int) else {}
            cur = cur[part]
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(cur, list) or last >= len(cur):
            raise ValueError(f"index [{last}] out of range")
        cur[last] = value
    else:
        cur[last] = value


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``over`` merged in: tables merge recursively, everything else is replaced."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


# ------------------------------------------------------------------------------------------------ expand
def _base(exp: Experiment, root: Path | None) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """The base scenario and ledger dicts, and the plugins the base file names."""
    if exp.base is None:
        return {}, {}, []
    bases = hooks.sweep_bases()
    if exp.base in bases:
        sc, led = bases[exp.base].load()
        return sc, led, []
    from kumo import config

    p = Path(exp.base)
    if not p.is_absolute() and root is not None:
        p = root / p
    if not p.exists() and "." not in exp.base and "/" not in exp.base:
        valid = ", ".join(sorted(bases)) or "none registered"
        raise ConfigError([f"base: {exp.base!r} is neither a registered base ({valid}) nor a file"], exp.name)
    raw = config.read_toml(p)
    plugins = config.take_plugins(raw, p.parent, str(p))
    if "providers" in raw:
        from kumo.federation import load_federation

        return load_federation(p).model_dump(mode="json"), {}, plugins
    return config.load(p).model_dump(mode="json"), {}, plugins


#: controller parameters the ``jitter`` axis moves, wherever the controller has them
JITTERED = ("upper_cpu", "upper_ram", "lower", "ee_upper", "lb_trigger", "threshold")


def jitter_thresholds(scenario: dict[str, Any], ledger: dict[str, Any], value: Any) -> None:
    """The ``jitter`` axis: add ``value`` to the controller's thresholds (:data:`JITTERED`, its own or its
    defaults; ``detection_params.threshold`` of a static-threshold detector too)."""
    import dataclasses

    from kumo.policies import registry

    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValueError(f"jitter must be a number, got {value!r}")
    ctl = scenario.get("controller") or {}
    name = ctl.get("name", "none")
    if name == "none" or not value:
        return
    cls, preset = registry._resolve("controller", name)
    defaults = {f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}
    params = dict(ctl.get("params") or {})
    for key in JITTERED:
        current = params.get(key, preset.get(key, defaults.get(key)))
        if isinstance(current, int | float) and not isinstance(current, bool):
            params[key] = current + value
    det = params.get("detection_params")
    if isinstance(det, dict) and isinstance(det.get("threshold"), int | float):
        params["detection_params"] = {**det, "threshold": det["threshold"] + value}
    scenario["controller"] = {**ctl, "params": params}


hooks.register_sweep_axis("jitter", jitter_thresholds, doc="move the controller's thresholds by this amount")


def carbon_start(scenario: dict[str, Any], ledger: dict[str, Any], value: Any) -> None:
    """The ``carbon_start`` axis: where the run starts in the carbon series (``[carbon] start``: an ISO date
    or hours), for the scenario's ``[carbon]`` or every data center's in a federation: the same workload
    under the grids of another season."""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValueError(f"carbon_start must be an ISO date or a number of hours, got {value!r}")
    for c in _carbon_tables(scenario, "carbon_start"):
        c["start"] = value


def carbon_forecast(scenario: dict[str, Any], ledger: dict[str, Any], value: Any) -> None:
    """The ``carbon_forecast`` axis: what the policies are told of the intensity ahead (``[carbon]
    forecast``: perfect, persistence, yesterday), for the scenario's ``[carbon]`` or every data center's in
    a federation: how much of a carbon-aware policy's gain survives a forecast one could have."""
    from kumo.models.carbon import FORECASTS

    if value not in FORECASTS:
        raise ValueError(f"carbon_forecast must be one of {', '.join(FORECASTS)}, got {value!r}")
    for c in _carbon_tables(scenario, "carbon_forecast"):
        c["forecast"] = value


def _carbon_tables(scenario: dict[str, Any], axis: str) -> list[dict[str, Any]]:
    """The ``[carbon]`` tables with a source series: the scenario's, or every data center's."""
    specs = [scenario["carbon"]] if isinstance(scenario.get("carbon"), dict) else []
    for p in scenario.get("providers") or []:
        specs += [d["carbon"] for d in p.get("datacenters") or [] if isinstance(d.get("carbon"), dict)]
    specs = [c for c in specs if c.get("source") is not None]
    if not specs:
        raise ValueError(f"{axis}: the scenario has no [carbon] section with a source series")
    return specs


hooks.register_sweep_axis("carbon_start", carbon_start,
                          doc="where the run starts in the carbon series (ISO date or hours), every site")
hooks.register_sweep_axis("carbon_forecast", carbon_forecast,
                          doc="what policies are told of the intensity ahead (perfect, persistence, yesterday), "
                              "every site")


def _replicate_axes(exp: Experiment, scenario: dict[str, Any]) -> dict[str, list[Any]]:
    """The axes ``[replicates]`` adds (and the noise it sets in ``scenario``)."""
    rep = exp.replicates
    out: dict[str, list[Any]] = {}
    if rep.noise:
        scenario.setdefault("trace", {})["demand_noise"] = rep.noise
    if rep.windows:
        tr = scenario.get("trace") or {}
        n = trace_of(tr).n_steps - int(tr.get("start_step", 0))
        length = int(tr.get("max_steps") or n // rep.windows)
        if length < 1 or length * rep.windows > n:
            raise ConfigError([f"replicates.windows: {rep.windows} windows of {length} steps do not fit the trace's "
                               f"{n} steps"], exp.name)
        scenario.setdefault("trace", {})["max_steps"] = length
        first = int(tr.get("start_step", 0))
        out["trace.start_step"] = [first + i * length for i in range(rep.windows)]
    if rep.jitter:
        out["jitter"] = [-rep.jitter, 0.0, rep.jitter]
    clash = sorted(set(out) & set(exp.axes))
    if clash:
        raise ConfigError([f"replicates: {clash} are also in [axes]"], exp.name)
    return out


def expand(exp: Experiment, root: Path | None = None) -> list[Point]:
    """The experiment's points (cartesian product of the axes, then seeds); a ConfigError lists every
    problem of every point at once."""
    from kumo import config
    from kumo.accounting import parse_ledger_spec

    base_sc, base_led, base_plugins = _base(exp, root)
    plugins = tuple(dict.fromkeys([*base_plugins, *exp.plugins]))
    sc0 = deep_merge(base_sc, exp.scenario)
    led0 = deep_merge(base_led, exp.ledger)
    axes = {**exp.axes, **_replicate_axes(exp, sc0)}
    names = list(axes)
    special = hooks.sweep_axes()
    issues: list[str] = []
    for n in names:
        if not axes[n]:
            issues.append(f"axes.{n}: needs at least one value")
    points: list[Point] = []
    seen: dict[str, int] = {}
    combos = itertools.product(*(axes[n] for n in names)) if names else [()]
    for combo in combos:
        for seed in exp.seeds:
            values = dict(zip(names, combo, strict=True))
            sc, led = copy.deepcopy(sc0), copy.deepcopy(led0)
            where = f"point {values}"
            bad: list[str] = []
            # registered axes first (a top-level one overridden by the same axis in [axes]), then the paths
            for n, v in {**exp.fixed, **{n: v for n, v in values.items() if n in special}}.items():
                try:
                    special[n].apply(sc, led, v)
                except ValueError as e:
                    bad.append(f"axes.{n}: {e}")
            for n, v in values.items():
                if n in special:
                    continue
                try:
                    if n.startswith("ledger."):
                        set_path(led, n[len("ledger."):], v)
                    else:
                        set_path(sc, n, v)
                except ValueError as e:
                    bad.append(f"axes.{n}: {e}")
            sc["seed"] = seed
            if "providers" in sc:
                # a federation prices through its providers' ledgers, not a [ledger] table
                from kumo.federation import validate_federation

                bad += validate_federation(sc)
                if led:
                    bad.append("ledger: a federation point takes no [ledger] overrides (providers price it)")
            else:
                sc["record_vm_steps"] = True
                bad += config.validate(sc)
                try:
                    parse_ledger_spec(led)
                except ConfigError as e:
                    bad += e.issues
            if bad:
                issues += [f"{where}: {b}" for b in bad]
                continue
            sim_key = _digest(sc)
            key = _digest({"scenario": sc, "ledger": led})
            if key in seen:
                issues.append(f"axes: {where} repeats point {seen[key]}")
            seen[key] = len(points)
            points.append(Point(index=len(points), values=values, seed=seed, scenario=sc, ledger=led, key=key,
                                sim_key=sim_key, plugins=plugins))
    if issues:
        raise ConfigError(sorted(set(issues), key=issues.index), exp.name)
    return points


# ------------------------------------------------------------------------------------------------ run
@lru_cache(maxsize=2)
def _cached_trace(source: str, fmt: str | None, reader: tuple[tuple[str, Any], ...] = ()) -> Any:
    from kumo.traces import load

    return load(source, format=fmt, **dict(reader))


def trace_of(table: dict[str, Any]) -> Any:
    """The trace a scenario's ``[trace]`` table (a dict) names, read with its ``reader`` options; kept per
    process (the last two), so a sweep's points and a worker's tasks read it once."""
    reader = tuple(sorted((table.get("reader") or {}).items()))
    return _cached_trace(table.get("source", "bitbrains-rnd"), table.get("format"), reader)


def _trace_key(scenario: dict[str, Any]) -> str:
    """What identifies the trace a point reads: its ``[trace]`` source, format and reader options."""
    table = scenario.get("trace") or {}
    return json.dumps([table.get("source", "bitbrains-rnd"), table.get("format"), table.get("reader") or {}],
                      sort_keys=True, default=str)


def common_trace(points: Sequence[Point]) -> dict[str, Any] | None:
    """The ``[trace]`` table of the trace every point reads (source, format, reader options), or None when
    they read different traces."""
    if not points or len({_trace_key(p.scenario) for p in points}) != 1:
        return None
    return dict(points[0].scenario.get("trace") or {})


def shared_trace(points: Sequence[Point]) -> Any:
    """The trace every point reads (:func:`trace_of`, cached), to send to the workers; None when the points
    read different traces (then each worker reads its points' traces itself)."""
    table = common_trace(points)
    return None if table is None else trace_of(table)


@dataclass(frozen=True)
class SharedTrace:
    """Stands for the trace a process pool's initializer installed in each worker (:func:`_install_shared`):
    a task carries this token, not the trace."""

    key: str


#: traces installed in this worker process, by :class:`SharedTrace` key
_SHARED: dict[str, Any] = {}


def _install_shared(key: str, trace: Any) -> None:
    """A process pool's initializer: keep ``trace`` for every task this worker runs."""
    _SHARED[key] = trace


def _resolve(trace: Any) -> Any:
    if isinstance(trace, SharedTrace):
        try:
            return _SHARED[trace.key]
        except KeyError:
            raise RuntimeError(f"shared trace {trace.key!r} is not installed in this worker (a SharedTrace needs "
                               "the pool that run_many creates)") from None
    return trace


def run_point_group(scenario: dict[str, Any], ledgers: Sequence[dict[str, Any]], trace: Any = None,
                    ledger_files: Sequence[str] | None = None, plugins: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Simulate one scenario and account it under each ledger; one summary row per ledger.

    Runs in a worker process: the ``plugins`` are loaded there first, the trace is loaded by name (cached
    per process) unless given (a Trace, or a :class:`SharedTrace` installed in the worker). With ``ledger_files``, each ledger table is also written there (CSV, one
    path per ledger).
    """
    from kumo import config, engine
    from kumo import plugins as plugin_loader
    from kumo.accounting import account

    plugin_loader.load_all(tuple(plugins))
    trace = _resolve(trace)
    if "providers" in scenario:
        from kumo.federation import sweep_point

        if trace is None:
            trace = trace_of(scenario.get("trace", {}) or {})
        return [sweep_point(scenario, trace)] * max(1, len(ledgers))
    sc = config.parse(scenario)
    if trace is None:
        trace = trace_of(sc.trace.model_dump())
    result = engine.run(sc, trace)
    run_summary = {k: (v.item() if hasattr(v, "item") else v) for k, v in result.summary.items()}
    rows = []
    for i, led in enumerate(ledgers):
        acc = account(result, led)
        if ledger_files is not None:
            acc.ledger.to_csv(ledger_files[i], index=False, float_format="%.10g")
        rows.append({**run_summary, **acc.summary})
    return rows


def _row(point: Point, summary: dict[str, Any]) -> dict[str, Any]:
    from kumo.report.labels import value_label

    # an axis keeps its column when the summary has one of the same name (a federation's ``broker``)
    row = {"point": point.index, "key": point.key, **{k: value_label(v) for k, v in point.values.items()},
           "seed": point.seed}
    return {**row, **{k: v for k, v in summary.items() if k not in row}}


def _executor(executor: Executor | None, trace: Any, own: bool) -> tuple[Executor | None, Any]:
    """The executor to submit to and what the tasks receive for the trace: sent once per worker when the
    pool is ours (its initializer installs it) or the executor can ``share`` it, else with every task."""
    if own:
        if trace is None:
            return ProcessPoolExecutor(), None
        key = f"run_many-{id(trace)}"
        return ProcessPoolExecutor(initializer=_install_shared, initargs=(key, trace)), SharedTrace(key)
    share = getattr(executor, "share", None)
    if trace is not None and callable(share):
        return executor, share(trace)
    return executor, trace


def run_many(points: Iterable[Point], executor: Executor | None = None, out_dir: str | Path | None = None,
             trace: Any = None, progress: Progress | None = None, ledgers: bool = False) -> pd.DataFrame:
    """Run points on ``executor`` (default: a local ProcessPoolExecutor) and return one table.

    Parameters
    ----------
    points : from :func:`expand`.
    executor : any :class:`concurrent.futures.Executor` (a Dask client's ``get_executor()`` works; wrap the
        client in :class:`kumo.cluster.DaskExecutor` to send the trace once per worker).
    out_dir : folder for resumability and results: ``points/<key>.json`` per finished point (skipped
        when present), ``results.csv`` (all points, in point order).
    trace : a Trace to run every point on; default: each worker loads the scenario's trace by name (once
        per process). It is sent once per worker, not once per task, when ``executor`` is None (the pool's
        initializer installs it) or has a ``share(obj)`` method that returns what its tasks receive instead
        (:class:`kumo.cluster.DaskExecutor`: scattered to every worker); other executors get it with
        every task.
    progress : ``progress(done, total)`` after each finished point.
    ledgers : also write every point's ledger (every revenue, penalty and cost line) to
        ``out_dir/ledgers/<key>.csv`` (needs ``out_dir``; the workers must see that folder).

    Returns
    -------
    DataFrame, one row per point in point order: ``point``, ``key``, the axis values, ``seed``, the run
    summary (:data:`kumo.results.SCHEMA` ``summary``) and the accounts (:data:`kumo.accounting.ACCOUNTS_SCHEMA`).
    """
    points = list(points)
    done: dict[int, dict[str, Any]] = {}
    pdir = ldir = None
    if ledgers and out_dir is None:
        raise ValueError("ledgers=True needs out_dir")
    if out_dir is not None:
        pdir = Path(out_dir) / "points"
        pdir.mkdir(parents=True, exist_ok=True)
        if ledgers:
            ldir = Path(out_dir) / "ledgers"
            ldir.mkdir(exist_ok=True)
        for p in points:
            f = pdir / f"{p.key}.json"
            if f.exists() and (ldir is None or (ldir / f"{p.key}.csv").exists()):
                done[p.index] = json.loads(f.read_text())
    todo: dict[str, list[Point]] = {}
    for p in points:
        if p.index not in done:
            todo.setdefault(p.sim_key, []).append(p)
    total = len(points)
    if progress is not None:
        progress(len(done), total)
    own = executor is None and bool(todo)
    ex, handle = _executor(executor, trace, own)
    try:
        futures: dict[Future[Any], list[Point]] = {}
        for group in todo.values():
            files = None if ldir is None else [str(ldir / f"{p.key}.csv") for p in group]
            fut = ex.submit(run_point_group, group[0].scenario, [p.ledger for p in group], handle,  # type: ignore[union-attr]
                            files, group[0].plugins)
            futures[fut] = group
        for fut in as_completed(futures):
            group = futures[fut]
            for p, summary in zip(group, fut.result(), strict=True):
                row = _row(p, summary)
                done[p.index] = row
                if pdir is not None:
                    tmp = pdir / f"{p.key}.json.tmp"
                    tmp.write_text(json.dumps(row, default=float))
                    tmp.replace(pdir / f"{p.key}.json")
            if progress is not None:
                progress(len(done), total)
    finally:
        if own:
            ex.shutdown()  # type: ignore[union-attr]
    table = pd.DataFrame([done[p.index] for p in points])
    if out_dir is not None:
        table.to_csv(Path(out_dir) / "results.csv", index=False, float_format="%.10g")
    return table
