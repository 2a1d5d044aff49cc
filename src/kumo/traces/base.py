"""The one in-memory trace form every reader produces and the engine consumes.

Arrays are time-major, shape ``(n_steps, n_vms)``, so that one step of all VMs is one contiguous row:
the engine reads a row per step. Units are in the names (s, MHz, MB, KB/s). MB here is the trace's
megabyte: Bitbrains reports KB and kumo divides by 1024 (so "MB" of RAM are MiB, as memory sizes
are conventionally counted); state the unit when you export.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, ParamSpec

import numpy as np

from kumo.errors import TraceFormatError

CpuUnit = Literal["mhz", "fraction"]
P = ParamSpec("P")

#: the largest demand, booking or percentage a trace may hold (in its unit: MHz, MB, KB/s, %): a larger number
#: is a corrupt cell, not a measurement (1e12 MHz is a million 1-THz cores, 1e12 MB an exabyte), and sums of
#: such values stay far inside float32's range (3.4e38)
MAX_VALUE = 1e12
#: the most cores one VM may book (today's largest VMs have a few hundred)
MAX_CORES = 2**16
#: the largest time in s (Unix time or from the trace's start): 1e11 s is the year 5138, as far as dates go
MAX_TIME_S = 1e11

#: optional per-step columns a format may carry, each (n_steps, n_vms) float32
EXTRA_COLUMNS = (
    "disk_read_kbps",
    "disk_write_kbps",
    "net_rx_kbps",
    "net_tx_kbps",
)


class TraceInvariantError(ValueError):
    """A :class:`Trace` whose arrays break an invariant; a reader turns it into a
    :class:`~kumo.errors.TraceFormatError` naming its file (see :func:`reader`)."""

    def __init__(self, field: str, reason: str):
        self.field, self.reason = field, reason
        super().__init__(f"Trace.{field}: {reason}")


@dataclass(frozen=True, eq=False)
class Trace:
    """VM demand on a fixed step grid.

    Attributes
    ----------
    name : short label (``bitbrains-rnd-2013-7``, a folder name, ...).
    step_s : grid step in seconds (300 for Bitbrains, PlanetLab).
    start_epoch_s : Unix time of step 0, or 0.0 when the format has no absolute time.
    vm_ids : (n_vms,) str, the VM identifiers in the order used everywhere else (row order of the VM table).
    cpu : (n_steps, n_vms) float32 CPU demand, in MHz if ``cpu_unit == "mhz"``, as a fraction of the VM's
        booked CPU if ``cpu_unit == "fraction"`` (PlanetLab; sizes come from the scenario, see
        :meth:`with_vm_sizes`). 0 outside the VM's lifetime.
    ram_mb : (n_steps, n_vms) float32 RAM demand in MB, or None when the format has no RAM series.
    cores : (n_vms,) int32 booked cores (0 when unknown).
    cpu_booked_mhz : (n_vms,) float32 booked CPU (all cores) in MHz; NaN when unknown.
    ram_booked_mb : (n_vms,) float32 booked RAM in MB; NaN when unknown.
    arrive_step : (n_vms,) int32 first step the VM exists.
    depart_step : (n_vms,) int32 one past the last step the VM exists (exclusive).
    extra : optional per-step columns named as in :data:`EXTRA_COLUMNS`.
    quirks : counts of every irregularity the reader repaired, by rule name (see the reader's docstring).
    provenance : free-form facts on where the data came from (source path, format, licence...).

    Invariants: shapes, a finite step > 0, a grid inside +-:data:`MAX_TIME_S` and 0 <= arrive <= depart <=
    n_steps are checked on construction (:class:`TraceInvariantError`); the values, by :meth:`check`, which
    every reader runs (see :func:`reader`).
    """

    name: str
    step_s: float
    start_epoch_s: float
    vm_ids: np.ndarray
    cpu: np.ndarray
    ram_mb: np.ndarray | None
    cores: np.ndarray
    cpu_booked_mhz: np.ndarray
    ram_booked_mb: np.ndarray
    arrive_step: np.ndarray
    depart_step: np.ndarray
    cpu_unit: CpuUnit = "mhz"
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    quirks: dict[str, int] = field(default_factory=dict)
    provenance: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # the cheap invariants, on every Trace (per VM and grid); :meth:`check` adds the per-cell ones
        if self.cpu.ndim != 2:
            raise TraceInvariantError("cpu", f"must be 2-D (n_steps, n_vms), got shape {self.cpu.shape}")
        n_steps, n_vms = self.cpu.shape
        for name in ("vm_ids", "cores", "cpu_booked_mhz", "ram_booked_mb", "arrive_step", "depart_step"):
            arr = getattr(self, name)
            if arr.shape != (n_vms,):
                raise TraceInvariantError(name, f"shape {arr.shape}, expected ({n_vms},)")
        if self.ram_mb is not None and self.ram_mb.shape != (n_steps, n_vms):
            raise TraceInvariantError("ram_mb", f"shape {self.ram_mb.shape}, expected {(n_steps, n_vms)}")
        for k, v in self.extra.items():
            if v.shape != (n_steps, n_vms):
                raise TraceInvariantError(f"extra[{k!r}]", f"shape {v.shape}, expected {(n_steps, n_vms)}")
        if not self.step_s > 0 or not math.isfinite(self.step_s):
            raise TraceInvariantError("step_s", f"must be > 0 and finite, got {self.step_s}")
        if not abs(self.start_epoch_s) <= MAX_TIME_S or not self.start_epoch_s + self.duration_s <= MAX_TIME_S:
            raise TraceInvariantError("start_epoch_s", f"the grid {self.start_epoch_s:g} s + {n_steps} x "
                                                       f"{self.step_s:g} s is not inside +-{MAX_TIME_S:g} s")
        if n_vms and not (0 <= self.arrive_step.min() and (self.arrive_step <= self.depart_step).all()
                          and self.depart_step.max() <= n_steps):
            raise TraceInvariantError("arrive_step", f"need 0 <= arrive_step <= depart_step <= {n_steps} for "
                                                     "every VM")

    def check(self) -> None:
        """Raise :class:`TraceInvariantError` unless every value is in range (what every reader guarantees).

        Demand (``cpu``, ``ram_mb``, ``extra``): finite, >= 0 and <= :data:`MAX_VALUE`; ``cores`` 0 (unknown)
        to :data:`MAX_CORES`; bookings NaN (unknown) or in (0, :data:`MAX_VALUE`]. Two passes over each
        array (min and max, which NaN propagates to), no temporary the size of the grid.
        """
        demand = {"cpu": self.cpu, "ram_mb": self.ram_mb, **{f"extra[{k!r}]": v for k, v in self.extra.items()}}
        for name, arr in demand.items():
            if arr is None or arr.size == 0:
                continue
            if arr.dtype.kind != "f":
                raise TraceInvariantError(name, f"must hold floats, got {arr.dtype}")
            lo, hi = float(arr.min()), float(arr.max())
            if not (lo >= 0 and hi <= MAX_VALUE):
                raise TraceInvariantError(name, f"values must be finite, >= 0 and <= {MAX_VALUE:g}, found "
                                                f"{lo:g} .. {hi:g}")
        if self.cores.size and not (0 <= self.cores.min() and self.cores.max() <= MAX_CORES):
            raise TraceInvariantError("cores", f"must be 0 (unknown) .. {MAX_CORES}, found {self.cores.min()} .. "
                                               f"{self.cores.max()}")
        for name in ("cpu_booked_mhz", "ram_booked_mb"):
            arr = np.asarray(getattr(self, name), dtype=np.float64)
            known = arr[~np.isnan(arr)]
            if known.size and not (known.min() > 0 and known.max() <= MAX_VALUE):
                raise TraceInvariantError(name, f"must be NaN (unknown) or > 0 and <= {MAX_VALUE:g}, found "
                                                f"{known.min():g} .. {known.max():g}")

    # ------------------------------------------------------------------ shape
    @property
    def n_steps(self) -> int:
        return int(self.cpu.shape[0])

    @property
    def n_vms(self) -> int:
        return int(self.cpu.shape[1])

    @property
    def duration_s(self) -> float:
        return self.n_steps * self.step_s

    def alive(self) -> np.ndarray:
        """(n_steps, n_vms) bool: True where the VM exists."""
        steps = np.arange(self.n_steps)[:, None]
        return (steps >= self.arrive_step[None, :]) & (steps < self.depart_step[None, :])

    # ------------------------------------------------------------------ transforms
    def with_vm_sizes(self, cores: np.ndarray, cpu_mhz: np.ndarray, ram_mb: np.ndarray) -> Trace:
        """Give every VM a booked size and express CPU demand in MHz.

        For a ``fraction`` trace, demand = fraction x booked MHz. For an ``mhz`` trace only the bookings
        change. RAM demand, when the trace has none, stays None (the engine then uses the booking).
        """
        cores = np.asarray(cores, dtype=np.int32)
        cpu_mhz = np.asarray(cpu_mhz, dtype=np.float32)
        ram_mb = np.asarray(ram_mb, dtype=np.float32)
        cpu = self.cpu * cpu_mhz[None, :] if self.cpu_unit == "fraction" else self.cpu
        return replace(
            self,
            cpu=cpu.astype(np.float32, copy=False),
            cpu_unit="mhz",
            cores=cores,
            cpu_booked_mhz=cpu_mhz,
            ram_booked_mb=ram_mb,
        )

    def select(self, vms: slice | np.ndarray | None = None, steps: slice | None = None) -> Trace:
        """A sub-trace: some VMs (index array, boolean mask or slice) and/or a contiguous step range.

        A step range that starts after step 0 (a *window*) leaves out the VMs that departed before it; a VM
        alive at the window's start arrives at its step 0."""
        vsel = slice(None) if vms is None else vms
        ssel = slice(None) if steps is None else steps
        start, stop, _ = ssel.indices(self.n_steps)
        if start > 0:
            keep = np.zeros(self.n_vms, bool)
            keep[vsel] = True
            keep &= self.depart_step > start
            vsel = np.flatnonzero(keep)
        arrive = np.clip(self.arrive_step[vsel] - start, 0, stop - start).astype(np.int32)
        depart = np.clip(self.depart_step[vsel] - start, 0, stop - start).astype(np.int32)
        return replace(
            self,
            vm_ids=self.vm_ids[vsel],
            cpu=np.ascontiguousarray(self.cpu[ssel][:, vsel]),
            ram_mb=None if self.ram_mb is None else np.ascontiguousarray(self.ram_mb[ssel][:, vsel]),
            cores=self.cores[vsel],
            cpu_booked_mhz=self.cpu_booked_mhz[vsel],
            ram_booked_mb=self.ram_booked_mb[vsel],
            arrive_step=arrive,
            depart_step=depart,
            start_epoch_s=self.start_epoch_s + start * self.step_s,
            extra={k: np.ascontiguousarray(v[ssel][:, vsel]) for k, v in self.extra.items()},
        )

    def with_noise(self, sigma: float, seed: int) -> Trace:
        """The trace with multiplicative, mean-preserving log-normal noise on CPU and RAM demand.

        Every VM-step's demand is multiplied by ``exp(sigma * z - sigma**2 / 2)``, ``z`` standard normal from
        a generator seeded with ``seed`` (one draw per VM-step and resource), so the expected demand is
        unchanged and ``sigma`` is roughly the relative standard deviation (0.01 = 1 %). Used to test how
        a result holds under small perturbations of the data.
        """
        if sigma <= 0:
            return self
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x6E6F697365]))

        def noisy(a: np.ndarray) -> np.ndarray:
            f = np.exp(sigma * rng.standard_normal(a.shape, dtype=np.float32) - np.float32(sigma * sigma / 2))
            return (a * f).astype(np.float32)

        return replace(self, cpu=noisy(self.cpu), ram_mb=None if self.ram_mb is None else noisy(self.ram_mb),
                       provenance={**self.provenance, "demand_noise": f"lognormal sigma {sigma}, seed {seed}"})

    def content_hash(self) -> str:
        """sha256 over every array and the grid: the identity recorded in result manifests (cached)."""
        cached = self.__dict__.get("_content_hash")
        if cached is not None:
            return str(cached)
        h = hashlib.sha256()
        h.update(f"{self.step_s}|{self.start_epoch_s}|{self.cpu_unit}".encode())
        h.update("\x00".join(map(str, self.vm_ids.tolist())).encode())
        arrays = [self.cpu, self.cores, self.cpu_booked_mhz, self.ram_booked_mb, self.arrive_step, self.depart_step]
        if self.ram_mb is not None:
            arrays.append(self.ram_mb)
        arrays += [self.extra[k] for k in sorted(self.extra)]
        for a in arrays:
            h.update(np.ascontiguousarray(a).tobytes())
        # a frozen dataclass: store the cache without __setattr__; transforms build new objects
        self.__dict__["_content_hash"] = h.hexdigest()
        return self.__dict__["_content_hash"]


def reader(read: Callable[P, Trace]) -> Callable[P, Trace]:
    """Decorate a trace reader (its first argument the file or folder): the Trace it returns is checked
    (:meth:`Trace.check`), and a broken invariant becomes a :class:`~kumo.errors.TraceFormatError` naming
    the file and the array, so that no reader can hand out NaN, infinity or a negative demand."""

    @functools.wraps(read)
    def checked(*args: P.args, **kwargs: P.kwargs) -> Trace:
        path = args[0] if args else kwargs.get("path", "?")
        try:
            trace = read(*args, **kwargs)
            trace.check()
        except TraceInvariantError as exc:
            raise TraceFormatError(Path(str(path)), f"{exc.reason} (after reading)", field=exc.field) from None
        return trace

    return checked
