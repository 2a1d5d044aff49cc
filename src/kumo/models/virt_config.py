"""The ``[virtualization]`` table of a scenario as a frozen dataclass tree, validated with paths.

:func:`from_dict` turns plain data (TOML/JSON) into a :class:`VirtualizationConfig` and returns every
problem as ``"virtualization.<path>: message"``; :func:`to_dict` is its inverse. A model section that is
absent is off (``None``); an empty table turns it on with defaults. Example::

    [virtualization.dirty_rate]
    source = "cpu+io"                   # param | cpu | cpu+io
    dirty_mbps_at_full_cpu = 200.0      # Mbit/s at 100 % vCPU

    [virtualization.memory]             # kumo.models.memory.MemoryModel fields
    swap_device = "ssd"

    [[virtualization.images]]
    name = "ubuntu-22.04"
    preset = "homogeneous"              # identical | homogeneous | realistic | salted

    [[virtualization.classes]]
    name = "web"
    share = 0.7
    image = "ubuntu-22.04"
    io_mode = "virtio"

Sections and their dataclasses: ``memory`` MemoryModel, ``cpu`` CpuVirtModel, ``io`` IoModel,
``containers`` ContainerModel, ``replication`` ReplicationModel, ``failures`` FailureModel,
``migration`` MigrationNetSpec, ``dirty_rate`` DirtyRateSpec, ``images`` [ImageSpec], ``classes``
[VmClassSpec].
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass
from typing import Any

from kumo.models.containers import KINDS, ContainerModel
from kumo.models.cpu import EMULATOR_LOOP_S, MODES, PAGE_SIZES, PAGING, WORKLOADS, CpuVirtModel
from kumo.models.io import IO_MODES, IoModel
from kumo.models.memory import MemoryModel
from kumo.models.replication import FailureModel, ReplicationModel

#: sharing fractions per guest-image preset: (zero pages, intra-VM duplicates, shared with same image)
IMAGE_PRESETS: dict[str, tuple[float, float, float]] = {
    # MEM-05: 52 x 1 GB Windows XP guests on 16 GB under KSM -> >= 69 % saved; (n-1)/n x 0.71 = 0.697
    "identical": (0.0, 0.0, 0.71),
    # MEM-02: identical Linux VMs, shared -> 67 %, reclaimed ~60 % at n = 10
    "homogeneous": (0.0, 0.0, 0.67),
    # MEM-06 / MEM-04: real machines: sharing < 15 % without zero pages, ~90 % of it intra-VM; diverse < 5 %
    "realistic": (0.0, 0.035, 0.004),
    # ESXi since 2014/15 (salting): intra-VM sharing only
    "salted": (0.0, 0.035, 0.0),
}


@dataclass(frozen=True)
class ImageSpec:
    """A guest OS / container image: page-sharing fractions and, for containers, its layers."""

    name: str = "image"
    preset: str = ""
    zero_fraction: float = 0.0
    self_share: float = 0.035
    cross_share: float = 0.004
    size_mb: float = 500.0
    layers: tuple[tuple[str, float], ...] = ()

    def validate(self) -> list[str]:
        out = []
        if self.preset and self.preset not in IMAGE_PRESETS:
            out.append(f"preset: unknown preset {self.preset!r}; valid: {', '.join(IMAGE_PRESETS)}")
        for name in ("zero_fraction", "self_share", "cross_share"):
            if not 0 <= getattr(self, name) <= 1:
                out.append(f"{name}: must be in [0, 1], got {getattr(self, name)}")
        if self.zero_fraction + self.self_share + self.cross_share > 1:
            out.append("zero_fraction + self_share + cross_share: must be <= 1 (a page is shared once)")
        if not self.size_mb >= 0:
            out.append(f"size_mb: must be >= 0, got {self.size_mb}")
        for i, (_, mb) in enumerate(self.layers):
            if not mb >= 0:
                out.append(f"layers[{i}]: size must be >= 0 MB, got {mb}")
        return out


@dataclass(frozen=True)
class VmClassSpec:
    """Which mechanisms a group of VMs uses. ``match`` (regex on the VM id) or ``share`` picks members."""

    name: str = "default"
    share: float = 1.0
    match: str = ""
    kind: str = "vm"
    cpu_mode: str = "hardware"
    emulator: str = "qemu-0.9.0"
    paging: str = "nested"
    page_size: str = "4k"
    workload: str = "compute"
    io_mode: str = "virtio"
    image: str = ""
    protected: bool = False
    dirty_mbps_at_full_cpu: float = -1.0

    def validate(self) -> list[str]:
        out = []
        for attr, valid in (("kind", KINDS), ("cpu_mode", MODES), ("paging", PAGING), ("page_size", PAGE_SIZES),
                            ("workload", tuple(WORKLOADS)), ("io_mode", IO_MODES),
                            ("emulator", tuple(EMULATOR_LOOP_S))):
            if getattr(self, attr) not in valid:
                out.append(f"{attr}: unknown value {getattr(self, attr)!r}; valid: {', '.join(valid)}")
        if not self.share >= 0:
            out.append(f"share: must be >= 0, got {self.share}")
        if self.match:
            try:
                re.compile(self.match)
            except re.error as e:
                out.append(f"match: not a regular expression ({e})")
        if not (self.dirty_mbps_at_full_cpu >= 0 or self.dirty_mbps_at_full_cpu == -1):
            out.append(f"dirty_mbps_at_full_cpu: must be >= 0 or -1 (global), got {self.dirty_mbps_at_full_cpu}")
        return out


@dataclass(frozen=True)
class DirtyRateSpec:
    """Page-dirtying rate: ``param`` (constant), ``cpu`` (x CPU use) or ``cpu+io`` (+ disk writes, net rx)."""

    source: str = "cpu+io"
    dirty_mbps_at_full_cpu: float = 200.0
    io_factor: float = 1.0

    def validate(self) -> list[str]:
        out = []
        if self.source not in ("param", "cpu", "cpu+io"):
            out.append(f"source: must be param, cpu or cpu+io, got {self.source!r}")
        for name in ("dirty_mbps_at_full_cpu", "io_factor"):
            if not getattr(self, name) >= 0:
                out.append(f"{name}: must be >= 0, got {getattr(self, name)}")
        return out


@dataclass(frozen=True)
class MigrationNetSpec:
    """How migrations share NICs: with each other and with VM traffic (fair share at migration start)."""

    share_with_vm_traffic: bool = True
    min_bandwidth_fraction: float = 0.05

    def validate(self) -> list[str]:
        if not 0 < self.min_bandwidth_fraction <= 1:
            return [f"min_bandwidth_fraction: must be in (0, 1], got {self.min_bandwidth_fraction}"]
        return []


@dataclass(frozen=True)
class VirtualizationConfig:
    """The whole ``[virtualization]`` table; ``None`` sections are off."""

    migration: MigrationNetSpec = MigrationNetSpec()
    dirty_rate: DirtyRateSpec = DirtyRateSpec()
    memory: MemoryModel | None = None
    cpu: CpuVirtModel | None = None
    io: IoModel | None = None
    containers: ContainerModel = ContainerModel()
    replication: ReplicationModel | None = None
    failures: FailureModel = FailureModel()
    images: tuple[ImageSpec, ...] = ()
    classes: tuple[VmClassSpec, ...] = (VmClassSpec(),)
    class_assignment: str = "blocks"

    def validate(self) -> list[str]:
        out = []
        if self.class_assignment not in ("blocks", "round-robin", "random"):
            out.append(f"class_assignment: must be blocks, round-robin or random, got {self.class_assignment!r}")
        if not self.classes:
            out.append("classes: give at least one VM class")
        elif sum(c.share for c in self.classes if not c.match) <= 0 and not all(c.match for c in self.classes):
            out.append("classes: the shares of classes without 'match' must add up to > 0")
        names = [i.name for i in self.images]
        if len(set(names)) != len(names):
            out.append(f"images: names must be unique, got {names}")
        for i, c in enumerate(self.classes):
            if c.image and c.image not in names:
                out.append(f"classes[{i}].image: unknown image {c.image!r}; valid: {', '.join(names) or '(none)'}")
        return out


_BAD = object()


def _coerce(tp: Any, v: Any, path: str, problems: list[str]) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)][0]
        return None if v is None else _coerce(inner, v, path, problems)
    if dataclasses.is_dataclass(tp):
        return _build(tp, v, path, problems)
    if origin is tuple:
        if not isinstance(v, list | tuple):
            problems.append(f"{path}: must be a list, got {v!r}")
            return _BAD
        items = [_coerce(args[0] if args[-1] is Ellipsis else args[i], x, f"{path}[{i}]", problems)
                 for i, x in enumerate(v)] if (args[-1] is Ellipsis or len(args) == len(v)) else None
        if items is None:
            problems.append(f"{path}: must have {len(args)} items, got {len(v)}")
            return _BAD
        return _BAD if any(x is _BAD for x in items) else tuple(items)
    if origin is dict or tp is dict:
        if not isinstance(v, dict):
            problems.append(f"{path}: must be a table, got {v!r}")
            return _BAD
        return dict(v)
    if tp is float:
        if isinstance(v, bool) or not isinstance(v, int | float) or v != v:
            problems.append(f"{path}: must be a number, got {v!r}")
            return _BAD
        return float(v)
    if tp is int:
        if isinstance(v, bool) or not (isinstance(v, int) or (isinstance(v, float) and v.is_integer())):
            problems.append(f"{path}: must be an integer, got {v!r}")
            return _BAD
        return int(v)
    if tp is bool or tp is str:
        if not isinstance(v, tp):
            problems.append(f"{path}: must be a {'boolean' if tp is bool else 'string'}, got {v!r}")
            return _BAD
        return v
    return v


def _build(cls: Any, data: Any, path: str, problems: list[str]) -> Any:
    if not isinstance(data, dict):
        problems.append(f"{path}: must be a table, got {data!r}")
        return _BAD
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    if cls is ImageSpec and data.get("preset") in IMAGE_PRESETS:
        z, s, x = IMAGE_PRESETS[data["preset"]]
        data = {"zero_fraction": z, "self_share": s, "cross_share": x, **data}
    kwargs = {}
    for k, v in data.items():
        if k not in names:
            problems.append(f"{path}.{k}: unknown key; valid: {', '.join(names)}")
            continue
        val = _coerce(hints[k], v, f"{path}.{k}", problems)
        if val is not _BAD:
            kwargs[k] = val
    obj = cls(**kwargs)
    problems.extend(f"{path}.{m}" for m in getattr(obj, "validate", list)())
    return obj


def from_dict(data: dict[str, Any] | None, path: str = "virtualization") -> tuple[VirtualizationConfig, list[str]]:
    """(config, problems): the config built from plain data and every problem as ``path: message``.

    When there are problems the returned config is still usable for inspection (bad fields keep their
    defaults), but callers should refuse to run.
    """
    problems: list[str] = []
    cfg = _build(VirtualizationConfig, data or {}, path, problems)
    if cfg is _BAD:
        return VirtualizationConfig(), problems
    return cfg, problems


def to_dict(cfg: VirtualizationConfig) -> dict[str, Any]:
    """Plain, JSON-able data that :func:`from_dict` turns back into ``cfg`` (``None`` sections omitted)."""

    def plain(x: Any) -> Any:
        if dataclasses.is_dataclass(x):
            return {f.name: plain(getattr(x, f.name)) for f in dataclasses.fields(x)
                    if getattr(x, f.name) is not None}
        if isinstance(x, tuple):
            return [plain(i) for i in x]
        return x

    return plain(cfg)
