"""Scenario specification: what to simulate, validated all at once with paths to every problem.

A scenario is plain data (TOML or a dict). :func:`load` reads TOML, :func:`validate` returns every problem
as ``path: message`` and :func:`parse` raises one :class:`~kumo.errors.ConfigError` listing them all.
:func:`read_toml`, :func:`file_kind` and :func:`take_plugins` are shared by the scenario, sweep and federation
loaders (:mod:`kumo.loader`).

One module past the usual size on purpose: the models, the checks that cross them and the loading of files
are read together when a field is added.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kumo.errors import ConfigError
from kumo.models.power import SPECPOWER_TABLES
from kumo.traces.base import MAX_CORES, MAX_TIME_S, MAX_VALUE

# Upper bounds of the physical quantities (and prices) of a scenario, far above any real machine: a larger
# value is a typo, and every product the engine and the ledger form of them stays finite (no inf or NaN in a
# summary). Infinity and NaN are refused everywhere (allow_inf_nan=False).
#: hosts of one type (the engine keeps a few arrays per host)
MAX_HOSTS = 10**6
#: MHz of one core: 1 THz
MAX_CORE_MHZ = 1e6
#: MB of RAM of one host: 1 PB (today's largest hosts have 32 TB)
MAX_HOST_RAM_MB = 1e9
#: Mbit/s of one NIC: 1 Pbit/s
MAX_NIC_MBPS = 1e9
#: CPU or RAM overcommit ratio
MAX_OVERCOMMIT = 1000.0
#: W drawn by one host: 1 MW
MAX_HOST_W = 1e6
#: power usage effectiveness (1 is perfect, real data centers are below 3)
MAX_PUE = 10.0
#: price per kWh, per tonne of CO2, in any currency
MAX_PRICE = 1e9
#: gCO2 per kWh (the dirtiest grids emit about 1,000; as the carbon series reader)
MAX_G_PER_KWH = 1e5
#: seconds a host takes to boot: 11.6 days
MAX_BOOT_S = 1e6
#: absolute value of a weigher's multiplier (the weights it scales are normalized to [0, 1])
MAX_MULTIPLIER = 1e6


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class PowerSpec(_Strict):
    """Power model of a host type: ``linear`` (idle_w, max_w), ``table`` (watts at 0..100 %), ``spec``
    (a named SPECpower table, see :data:`kumo.models.power.SPECPOWER_TABLES`), or the curves OpenDC names,
    ``sqrt``, ``square``, ``cubic`` (idle_w + (max_w - idle_w) x f(u), see :class:`kumo.models.power.PowerCurve`)."""

    kind: Literal["linear", "table", "spec", "sqrt", "square", "cubic"] = "linear"
    idle_w: float = Field(100.0, ge=0, le=MAX_HOST_W)
    max_w: float = Field(250.0, ge=0, le=MAX_HOST_W)
    watts: list[float] | None = None
    model: str | None = None

    @model_validator(mode="after")
    def _check(self) -> PowerSpec:
        if self.kind in ("linear", "sqrt", "square", "cubic") and self.max_w < self.idle_w:
            raise ValueError(f"max_w ({self.max_w}) must be >= idle_w ({self.idle_w})")
        if self.kind == "table":
            if not self.watts or len(self.watts) < 2:
                raise ValueError("kind 'table' needs watts: at least 2 values (0 % .. 100 %)")
            if any((not math.isfinite(w)) or w < 0 or w > MAX_HOST_W for w in self.watts):
                raise ValueError(f"watts: must be finite, >= 0 and <= {MAX_HOST_W:g}, got {self.watts}")
            if any(b < a for a, b in zip(self.watts, self.watts[1:], strict=False)):
                raise ValueError(f"watts: must not decrease with load, got {self.watts}")
        if self.kind == "spec" and self.model not in SPECPOWER_TABLES:
            raise ValueError(f"model: unknown SPECpower model {self.model!r}; valid: {sorted(SPECPOWER_TABLES)}")
        return self


class HostType(_Strict):
    """A group of identical hosts."""

    name: str = "host"
    count: int = Field(..., ge=1, le=MAX_HOSTS)
    cores: int = Field(..., ge=1, le=MAX_CORES)
    core_mhz: float = Field(..., gt=0, le=MAX_CORE_MHZ)
    ram_mb: float = Field(..., gt=0, le=MAX_HOST_RAM_MB)
    nic_mbps: float = Field(1000.0, gt=0, le=MAX_NIC_MBPS)
    power: PowerSpec = PowerSpec()
    cpu_overcommit: float = Field(1.0, ge=1.0, le=MAX_OVERCOMMIT, description="max booked CPU / physical CPU")
    ram_overcommit: float = Field(1.0, ge=1.0, le=MAX_OVERCOMMIT, description="max booked RAM / physical RAM")
    initially_on: bool = True


class VmType(_Strict):
    """A VM size, for traces that carry none (PlanetLab)."""

    name: str = "vm"
    cores: int = Field(1, ge=1, le=MAX_CORES)
    cpu_mhz: float = Field(..., gt=0, le=MAX_VALUE, description="booked CPU of the whole VM")
    ram_mb: float = Field(..., gt=0, le=MAX_VALUE)


class TraceSpec(_Strict):
    """Which trace, and which part of it: ``start_step`` and ``max_steps`` cut a window of the trace (VMs that
    departed before it are left out); ``demand_noise`` perturbs the demand (mean-preserving log-normal noise
    of that relative size, drawn from the scenario's seed: see :meth:`kumo.traces.base.Trace.with_noise`);
    ``reader`` passes options to the file's reader (``{window = "0:7d", max_vms = 5000}``: the options of
    ``kumo trace info``/``convert``, named as in each ``read_*`` function, e.g. ``step_s``, ``window``,
    ``max_vms``, ``sample_subscriptions``, ``seed``, ``cpu``)."""

    source: str = "bitbrains-rnd"
    format: str | None = None
    reader: dict[str, str | int | float | bool] = {}
    max_vms: int | None = Field(None, ge=1)
    start_step: int = Field(0, ge=0)
    max_steps: int | None = Field(None, ge=1)
    demand_noise: float = Field(0.0, ge=0.0, le=1.0)
    vm_types: list[VmType] = []
    vm_type_assignment: Literal["blocks", "round-robin", "trace"] = "trace"
    cap_demand_at_booking: bool = True


    def load(self) -> Any:
        """The trace this names, read with the ``reader`` options (an error naming a bad option)."""
        from kumo.traces import load

        return load(self.source, format=self.format, **self.reader)


class FilterSpec(_Strict):
    """A filter with parameters (``{name = "cpu-booking", params = {ratio = 1.0}}``); a plain name also works."""

    name: str
    params: dict[str, Any] = {}


class WeigherSpec(_Strict):
    """A weigher, its multiplier (positive spreads, negative packs) and its parameters."""

    name: str
    multiplier: float = Field(1.0, ge=-MAX_MULTIPLIER, le=MAX_MULTIPLIER)
    params: dict[str, Any] = {}


class PlacementSpec(_Strict):
    """Initial placement: a preset (first-fit, best-fit, worst-fit; ``"none"`` for none) and/or explicit
    filters and weighers (names, or tables with ``params``)."""

    preset: str | None = "worst-fit"
    resource: Literal["cpu", "ram", "binding"] = "binding"
    filters: list[str | FilterSpec] | None = None
    weighers: list[WeigherSpec] | None = None
    order: Literal["trace", "ram-desc", "cpu-desc"] = "trace"
    tie_break: Literal["first", "random"] = "first"
    on_no_host: Literal["reject", "queue"] = "reject"
    #: with ``on_no_host = "queue"``: the longest a VM waits for a host, s (None: until its life ends)
    queue_timeout_s: float | None = Field(None, ge=0, le=MAX_TIME_S)

    @field_validator("preset", mode="before")
    @classmethod
    def _no_preset(cls, v: Any) -> Any:
        return None if v == "none" else v  # TOML has no null: preset = "none" means weighers only


class MigrationSpec(_Strict):
    model: str = "cloudsim"
    params: dict[str, Any] = {}


class PowerManagementSpec(_Strict):
    """Switching hosts off and on.

    ``switch_off_idle``: a host left empty goes off. ``switch_off_carbon_above`` (gCO2/kWh, needs
    ``[carbon]``): carbon-aware power-off timing: empty hosts go off only while the grid's intensity is at or
    above this; on a clean grid they stay on, ready for the next arrivals without a boot delay, and go off
    once the grid gets dirtier.
    """

    switch_off_idle: bool = False
    switch_off_carbon_above: float | None = Field(None, ge=0, le=MAX_G_PER_KWH)
    boot_s: float = Field(0.0, ge=0, le=MAX_BOOT_S)
    boot_power: Literal["max", "idle"] = "max"


class EnergySpec(_Strict):
    """How energy is accounted. ``pue`` multiplies IT energy into facility energy."""

    pue: float = Field(1.0, ge=1.0, le=MAX_PUE)
    price_per_kwh: float = Field(0.10, ge=0, le=MAX_PRICE)


class CarbonSpec(_Strict):
    """The grid carbon intensity of the data center (:mod:`kumo.models.carbon`): emissions are facility
    energy x intensity.

    ``source``: a series shipped with kumo (``AT``, ``AU``, ``BE``, ``NL``: hourly gCO2/kWh, 2021-2024) or a
    CSV/Parquet file (``timestamp``, ``carbon_intensity``); or ``g_per_kwh``: a constant. ``start``: where the
    run starts in the series (an ISO date such as ``"2023-06-01"``, or hours from its start; default its
    first hour). ``price_per_t``: the carbon price per tonne of CO2, a cost line of the ledger.
    ``forecast``: what policies are told of the intensity ahead (:class:`kumo.models.carbon.CarbonForecast`):
    ``perfect`` (the series the run replays), ``persistence`` (the intensity now holds) or ``yesterday``
    (each step ahead as it was 24 h earlier).
    """

    source: str | None = None
    g_per_kwh: float | None = Field(None, ge=0, le=MAX_G_PER_KWH)
    start: str | float | None = None
    price_per_t: float = Field(0.0, ge=0, le=MAX_PRICE)
    forecast: Literal["perfect", "persistence", "yesterday"] = "perfect"

    @model_validator(mode="after")
    def _one_intensity(self) -> CarbonSpec:
        if (self.source is None) == (self.g_per_kwh is None):
            raise ValueError("give either source (a series) or g_per_kwh (a constant)")
        return self


class ControllerSpec(_Strict):
    """The periodic cloud-OS controller (consolidation, load balancing); ``none`` keeps placement static."""

    name: str = "none"
    params: dict[str, Any] = {}
    interval_steps: int = Field(1, ge=1)
    #: when the controller acts within its step: "start" — on the step's own demand, before the step is
    #: accounted (an overload it sees and resolves at once costs nothing); "end" — after the step is accounted,
    #: on the demand just suffered, its moves starting with the next step (CloudSim's and FederatedCloudSim's
    #: order: the host state is recorded, then the allocation optimized)
    timing: Literal["start", "end"] = "start"


class Scenario(_Strict):
    """Everything one run needs besides the trace data."""

    name: str = "scenario"
    seed: int = Field(0, ge=0)
    trace: TraceSpec = TraceSpec()
    hosts: list[HostType] = Field(..., min_length=1)
    placement: PlacementSpec = PlacementSpec()
    migration: MigrationSpec = MigrationSpec()
    power_management: PowerManagementSpec = PowerManagementSpec()
    energy: EnergySpec = EnergySpec()
    carbon: CarbonSpec | None = None
    controller: ControllerSpec = ControllerSpec()
    host_layout: Literal["grouped", "interleaved"] = "grouped"
    record_host_steps: bool = False
    record_vm_steps: bool = False
    virtualization: dict[str, Any] = Field(
        default_factory=dict,
        description="virtualization models (see kumo.models.virt_config); empty = none")

    @property
    def n_hosts(self) -> int:
        return sum(h.count for h in self.hosts)


# ---------------------------------------------------------------------------------------------- validation
#: sections checked against the registries even when another part of the scenario is invalid
_SECTIONS: dict[str, type[BaseModel]] = {
    "placement": PlacementSpec, "migration": MigrationSpec, "controller": ControllerSpec, "trace": TraceSpec}


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _sections_of(data: dict[str, Any]) -> dict[str, Any]:
    """Each section of raw scenario data that validates on its own (defaults for absent ones)."""
    out: dict[str, Any] = {}
    if isinstance(data, dict) and isinstance(data.get("virtualization"), dict):
        out["virtualization"] = data["virtualization"]
    for name, model in _SECTIONS.items():
        raw = data.get(name, {}) if isinstance(data, dict) else {}
        try:
            out[name] = model.model_validate(raw)
        except ValidationError:
            continue
    return out


def _semantic_issues(s: Scenario | dict[str, Any]) -> list[str]:
    """Checks that need the registries or more than one field; runs on every section that parsed."""
    from kumo.models.migration import MIGRATION_MODELS
    from kumo.policies import registry

    sec = {n: getattr(s, n) for n in _SECTIONS} if isinstance(s, Scenario) else s
    issues: list[str] = []
    if "placement" in sec:
        issues += _placement_issues(sec["placement"], registry)
    if "migration" in sec:
        mig = sec["migration"]
        if mig.model not in MIGRATION_MODELS:
            issues.append(f"migration.model: unknown model {mig.model!r}; valid: {', '.join(sorted(MIGRATION_MODELS))}")
        else:
            try:
                m = MIGRATION_MODELS[mig.model](**mig.params)
                issues += [f"migration.params.{x}" for x in m.validate()]
            except TypeError as e:
                issues.append(f"migration.params: {e}")
    ctl_spec = sec.get("controller")
    if ctl_spec is not None and ctl_spec.name != "none":
        try:
            ctl = registry.make("controller", ctl_spec.name, ctl_spec.params)
            issues += [f"controller.params.{x}" for x in registry.validate(ctl)]
            if isinstance(s, Scenario) and s.carbon is None:
                issues += [f"controller.params.{a}: carbon-aware timing needs a [carbon] section (the grid's "
                           "intensity)" for a in ("carbon_above", "ee_carbon_above")
                           if getattr(ctl, a, None) is not None]
        except (KeyError, ValueError, TypeError) as e:
            issues.append(f"controller: {e}")
    if isinstance(s, Scenario) and s.carbon is None and s.power_management.switch_off_carbon_above is not None:
        issues.append("power_management.switch_off_carbon_above: needs a [carbon] section (the grid's intensity)")
    if isinstance(s, Scenario) and s.power_management.switch_off_carbon_above is not None \
            and not s.power_management.switch_off_idle:
        issues.append("power_management.switch_off_carbon_above: only applies with switch_off_idle = true")
    virt = s.virtualization if isinstance(s, Scenario) else sec.get("virtualization")
    if virt:
        from kumo.models.virt_config import from_dict

        _, problems = from_dict(dict(virt))
        issues += [p if p.startswith("virtualization") else f"virtualization.{p}" for p in problems]
    t = sec.get("trace")
    if t is not None and t.vm_type_assignment != "trace" and not t.vm_types:
        issues.append(f"trace.vm_types: vm_type_assignment {t.vm_type_assignment!r} needs at least one VM type")
    return issues


def _placement_issues(p: PlacementSpec, registry: Any) -> list[str]:
    issues: list[str] = []
    if p.queue_timeout_s is not None and p.on_no_host != "queue":
        issues.append("placement.queue_timeout_s: only applies with on_no_host = 'queue'")
    if p.preset is None and not p.weighers:
        issues.append("placement: give a preset or at least one weigher")
    if p.preset is not None:
        from kumo.policies.placement import PRESETS

        if p.preset not in PRESETS:
            issues.append(f"placement.preset: unknown preset {p.preset!r}; valid: {', '.join(sorted(PRESETS))}")
    for i, f in enumerate(p.filters or []):
        name, params = (f, {}) if isinstance(f, str) else (f.name, f.params)
        issues += _policy_issues(registry, "filter", name, params, f"placement.filters[{i}]")
    for i, w in enumerate(p.weighers or []):
        issues += _policy_issues(registry, "weigher", w.name, w.params, f"placement.weighers[{i}]")
    return issues


def _policy_issues(registry: Any, kind: str, name: str, params: dict[str, Any], where: str) -> list[str]:
    """Problems of policy ``name`` of ``kind`` with ``params``: unknown name (listing the valid ones), unknown
    parameters, and what its ``validate()`` reports."""
    if name not in registry.names(kind):
        return [f"{where}.name: unknown {kind} {name!r}; valid: {', '.join(registry.names(kind))}"]
    try:
        pol = registry.make(kind, name, params)
    except (ValueError, TypeError) as e:
        return [f"{where}.params: {e}"]
    return [f"{where}.params.{m}" for m in registry.validate(pol)]


def validate(data: dict[str, Any] | Scenario) -> list[str]:
    """Every problem in ``data`` as ``path: message``; an empty list means valid."""
    if isinstance(data, Scenario):
        return _nonfinite_issues(data.model_dump()) + _semantic_issues(data)
    try:
        s = Scenario.model_validate(data)
    except ValidationError as e:
        # the sections that did parse still get their registry checks, so every problem shows at once
        return pydantic_issues(e) + _nonfinite_issues(data) + _semantic_issues(_sections_of(data))
    return _nonfinite_issues(data) + _semantic_issues(s)


def _nonfinite_issues(data: Any) -> list[str]:
    """Infinity or NaN in the free-form tables the specs do not type (``virtualization``, policy
    ``params``): refused like every typed field (TOML spells them ``inf`` and ``nan``)."""
    if not isinstance(data, dict):
        return []
    tables: list[tuple[str, Any]] = [("virtualization", data.get("virtualization"))]
    for section in ("migration", "controller"):
        if isinstance(data.get(section), dict):
            tables.append((f"{section}.params", data[section].get("params")))
    placement = data.get("placement")
    for kind in ("filters", "weighers"):
        items = placement.get(kind) if isinstance(placement, dict) else None
        for i, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, dict):
                tables.append((f"placement.{kind}[{i}].params", item.get("params")))
    out: list[str] = []

    def walk(v: Any, path: str) -> None:
        if isinstance(v, float) and not math.isfinite(v):
            out.append(f"{path}: must be finite, got {v!r}")
        elif isinstance(v, dict):
            for k, x in v.items():
                walk(x, f"{path}.{k}")
        elif isinstance(v, list | tuple):
            for i, x in enumerate(v):
                walk(x, f"{path}[{i}]")

    for path, table in tables:
        walk(table, path)
    return out


def pydantic_issues(e: ValidationError) -> list[str]:
    """A pydantic ValidationError as ``path: message, got value`` lines (shared by every spec)."""
    out = []
    for err in e.errors():
        msg = "must be finite" if err["type"] == "finite_number" else err["msg"].removeprefix("Value error, ")
        got = err.get("input")
        if err["type"] not in ("missing", "extra_forbidden") and not isinstance(got, dict | list):
            msg += f", got {got!r}"
        out.append(f"{_loc(err['loc'])}: {msg}")
    return out


def parse(data: dict[str, Any], source: str | None = None, base_dir: str | Path | None = None) -> Scenario:
    """A validated :class:`Scenario`, or a ConfigError listing every problem.

    A ``plugins`` list in ``data`` is loaded first (paths relative to ``base_dir``) and left out of the
    scenario, so the plugins' policies validate like the built-in ones.
    """
    if isinstance(data, dict) and "plugins" in data:
        data = dict(data)
        take_plugins(data, base_dir, source)
    issues = validate(data)
    if issues:
        raise ConfigError(issues, source)
    return Scenario.model_validate(data)


# ---------------------------------------------------------------------------------------------- files
#: what each kind of TOML file is loaded with, for messages
FILE_COMMANDS = {"scenario": "kumo run", "sweep": "kumo sweep", "federation": "kumo run"}
#: top-level keys that make a file a sweep (an experiment: base scenario x axes x seeds)
SWEEP_KEYS = frozenset({"axes", "base", "seeds", "scenario", "ledger", "plot"})


def read_toml(path: str | Path) -> dict[str, Any]:
    """The data of a TOML file; a ConfigError naming the file when it is missing or not valid TOML."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except (FileNotFoundError, IsADirectoryError):
        raise ConfigError([f"file not found: {p}"], str(p)) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([f"not valid TOML: {e}"], str(p)) from None


def file_kind(data: dict[str, Any]) -> str:
    """``"federation"`` (a ``providers`` table), ``"sweep"`` (any of :data:`SWEEP_KEYS`) or ``"scenario"``."""
    if "providers" in data:
        return "federation"
    if SWEEP_KEYS & set(data):
        return "sweep"
    return "scenario"


def expect_kind(data: dict[str, Any], kind: str, source: str) -> None:
    """A ConfigError saying which command takes the file when ``data`` is not a ``kind`` file."""
    got = file_kind(data)
    if got != kind and not (kind == "scenario" and got == "federation"):
        raise ConfigError([f"this is a {got} file: use {FILE_COMMANDS[got]} {source}"], source)


def take_plugins(data: dict[str, Any], base_dir: str | Path | None, source: str | None = None) -> list[str]:
    """Remove ``plugins`` from ``data``, load them (paths relative to ``base_dir``) and return their specs
    resolved for other processes (absolute paths)."""
    from kumo import plugins

    raw = data.pop("plugins", [])
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise ConfigError([f"plugins: must be a list of module names or .py paths, got {raw!r}"], source)
    specs = [plugins.resolve(x, base_dir) for x in raw]
    plugins.load_all(specs)
    return specs


def load(path: str | Path) -> Scenario:
    """Read and validate a scenario TOML file (its ``plugins`` loaded first)."""
    p = Path(path)
    data = read_toml(p)
    expect_kind(data, "scenario", str(p))
    if file_kind(data) == "federation":
        raise ConfigError([f"this is a federation file: use kumo run {p} (or kumo.load_federation)"], str(p))
    return parse(data, str(p), p.parent)


def default_scenario(trace: str = "bitbrains-rnd") -> Scenario:
    """The scenario ``kumo run`` uses without a file: a park sized for the trace.

    Bitbrains: 40 hosts of 2 x 8 cores at 2.6 GHz, 32 GB, 1 Gbit/s, linear 100..250 W, CPU overcommit 4
    and RAM overcommit 3.5 (kohne-sla-scheduling.md sec. 6.3's starting proposal), worst-fit placement.
    PlanetLab: CloudSim's 800 hosts (G4/G5 alternating) and four VM types.
    """
    if trace.startswith("planetlab"):
        return parse(planetlab_cloudsim_dict(trace))
    return parse(
        {
            "name": "default",
            "trace": {"source": trace},
            "hosts": [
                {
                    "name": "std-16c-32g",
                    "count": 40,
                    "cores": 16,
                    "core_mhz": 2600,
                    "ram_mb": 32768,
                    "nic_mbps": 1000,
                    "power": {"kind": "linear", "idle_w": 100, "max_w": 250},
                    "cpu_overcommit": 4.0,
                    "ram_overcommit": 3.5,
                }
            ],
            "placement": {"preset": "worst-fit", "resource": "binding"},
        }
    )


def planetlab_cloudsim_dict(trace: str = "planetlab-20110303") -> dict[str, Any]:
    """CloudSim's PlanetLab set-up (cloudsim-planetlab.md sec. 3) as scenario data."""
    return {
        "name": "planetlab-cloudsim",
        "trace": {
            "source": trace,
            "vm_types": [
                {"name": "high-cpu-medium", "cores": 1, "cpu_mhz": 2500, "ram_mb": 870},
                {"name": "extra-large", "cores": 1, "cpu_mhz": 2000, "ram_mb": 1740},
                {"name": "small", "cores": 1, "cpu_mhz": 1000, "ram_mb": 1740},
                {"name": "micro", "cores": 1, "cpu_mhz": 500, "ram_mb": 613},
            ],
            "vm_type_assignment": "blocks",
        },
        "hosts": [
            {"name": "hp-ml110-g4", "count": 400, "cores": 2, "core_mhz": 1860, "ram_mb": 4096,
             "nic_mbps": 1000, "power": {"kind": "spec", "model": "hp-ml110-g4"}},
            {"name": "hp-ml110-g5", "count": 400, "cores": 2, "core_mhz": 2660, "ram_mb": 4096,
             "nic_mbps": 1000, "power": {"kind": "spec", "model": "hp-ml110-g5"}},
        ],
        "host_layout": "interleaved",
        "placement": {"preset": "first-fit", "resource": "cpu"},
    }
