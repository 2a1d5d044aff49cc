"""Cluster state as a structure of arrays (engine-private) and the read-only view policies receive.

Only :mod:`kumo.engine` mutates :class:`ClusterState`. Policies get a :class:`ClusterView`: every array it
hands out, the static host and VM facts included, is a read-only numpy view, so a policy that tries to
write raises ``ValueError: assignment destination is read-only``.

Units: CPU in MHz, RAM in MB, time in s. Indices: hosts ``0..n_hosts-1``, VMs ``0..n_vms-1``; -1 = none.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from kumo.models.power import PowerModel

# VM life cycle; a VM is in exactly one of these at any time.
VM_PENDING = 0  #: not arrived yet
VM_RUNNING = 1  #: on vm_host
VM_MIGRATING = 2  #: on vm_host (source) and in flight to vm_target
VM_DEPARTED = 3  #: left at the end of its trace lifetime
VM_REJECTED = 4  #: no host could take it
VM_QUEUED = 5  #: arrived, waiting for a host (placement.on_no_host = "queue")
VM_DOWN = 6  #: its host failed; waiting to restart (or fail over) elsewhere

# Host power states
HOST_OFF = 0  #: switched off: draws 0 W, takes no VMs
HOST_ON = 1  #: on
HOST_BOOTING = 2  #: switched on, ready at ``host_ready_s``
HOST_FAILED = 3  #: broken until repaired; draws no power, takes no VMs

#: names of the VM states, indexed by state number
VM_STATE_NAMES = ("pending", "running", "migrating", "departed", "rejected", "queued", "down")
#: names of the host states, indexed by state number
HOST_STATE_NAMES = ("off", "on", "booting", "failed")


@dataclass(frozen=True)
class HostArrays:
    """Static host facts, one entry per host, shape (n_hosts,)."""

    type_index: np.ndarray  #: int32, index into the scenario's host types
    cores: np.ndarray  #: int32
    core_mhz: np.ndarray  #: float64, MHz per core
    cpu_mhz: np.ndarray  #: float64, cores x core_mhz
    ram_mb: np.ndarray  #: float64, MB
    nic_mbps: np.ndarray  #: float64, Mbit/s
    cpu_overcommit: np.ndarray  #: float64, max booked CPU / physical CPU
    ram_overcommit: np.ndarray  #: float64, max booked RAM / physical RAM
    power_tables: tuple[PowerModel, ...]  #: one per host type (a table or a curve)

    @property
    def n(self) -> int:
        return int(self.cpu_mhz.shape[0])


@dataclass(frozen=True)
class VmArrays:
    """Static VM facts, shape (n_vms,)."""

    ids: np.ndarray  #: str, the trace's VM ids
    cores: np.ndarray  #: int32, vCPUs
    cpu_booked_mhz: np.ndarray  #: float64, booked CPU of the whole VM, MHz
    ram_booked_mb: np.ndarray  #: float64, booked RAM, MB
    arrive_step: np.ndarray  #: int32, first step of the VM's lifetime
    depart_step: np.ndarray  #: int32, the step at whose start it leaves

    @property
    def n(self) -> int:
        return int(self.cpu_booked_mhz.shape[0])


def _read_only(facts: HostArrays | VmArrays) -> HostArrays | VmArrays:
    """A copy of ``facts`` whose arrays are read-only views of the originals."""
    return dataclasses.replace(facts, **{f.name: _ro(getattr(facts, f.name)) for f in dataclasses.fields(facts)  # type: ignore[arg-type]
                                         if isinstance(getattr(facts, f.name), np.ndarray)})


@dataclass
class ClusterState:
    """Mutable state; only the engine writes it, and only in place (arrays are never replaced).

    Invariants (checked by :meth:`check`): a VM that is RUNNING or MIGRATING has ``vm_host >= 0``;
    MIGRATING ones also ``vm_target >= 0`` and ``vm_target != vm_host``; every other VM has both -1;
    the booked totals per host equal the sums over its VMs (a migrating VM is booked on both hosts).
    """

    hosts: HostArrays
    vms: VmArrays
    vm_state: np.ndarray  # int8 (n_vms,)
    vm_host: np.ndarray  # int32 (n_vms,), -1 if none
    vm_target: np.ndarray  # int32 (n_vms,), -1 unless migrating
    host_state: np.ndarray  # int8 (n_hosts,)
    host_ready_s: np.ndarray  # float64 (n_hosts,), time a booting host becomes ON
    host_cpu_booked: np.ndarray  # float64 (n_hosts,) MHz booked (incl. migrating-in)
    host_ram_booked: np.ndarray  # float64 (n_hosts,) MB booked (incl. migrating-in)
    host_n_vms: np.ndarray  # int32 (n_hosts,) VMs placed (incl. migrating-in)
    # last observed demand, for policies (updated every step by the engine)
    vm_cpu_demand: np.ndarray  # float64 (n_vms,) MHz
    vm_ram_demand: np.ndarray  # float64 (n_vms,) MB
    host_cpu_demand: np.ndarray  # float64 (n_hosts,) MHz (VMs on the host, incl. migrating-in at full demand)
    host_ram_demand: np.ndarray  # float64 (n_hosts,) MB
    vm_image: np.ndarray  # int32 (n_vms,) guest OS image index for page sharing, -1 = none
    vm_migratable: np.ndarray  # bool (n_vms,) False for passthrough / SR-IOV / containers without C/R
    t_s: float = 0.0
    step: int = 0
    carbon_g_per_kwh: np.ndarray | None = None  # (n_steps,) grid carbon intensity of every step, or None
    carbon_forecast: Any = None  # what policies are told of the intensity ahead (kumo.models.carbon.CarbonForecast)

    @classmethod
    def empty(cls, hosts: HostArrays, vms: VmArrays, initially_on: np.ndarray) -> ClusterState:
        nh, nv = hosts.n, vms.n
        return cls(
            hosts=hosts,
            vms=vms,
            vm_state=np.zeros(nv, np.int8),
            vm_host=np.full(nv, -1, np.int32),
            vm_target=np.full(nv, -1, np.int32),
            host_state=np.where(initially_on, HOST_ON, HOST_OFF).astype(np.int8),
            host_ready_s=np.zeros(nh),
            host_cpu_booked=np.zeros(nh),
            host_ram_booked=np.zeros(nh),
            host_n_vms=np.zeros(nh, np.int32),
            vm_cpu_demand=np.zeros(nv),
            vm_ram_demand=np.zeros(nv),
            host_cpu_demand=np.zeros(nh),
            host_ram_demand=np.zeros(nh),
            vm_image=np.full(nv, -1, np.int32),
            vm_migratable=np.ones(nv, bool),
        )

    def check(self) -> list[str]:
        """Invariant violations as messages (empty when consistent). Used by tests and debug runs."""
        bad: list[str] = []
        placed = (self.vm_state == VM_RUNNING) | (self.vm_state == VM_MIGRATING)
        if np.any(self.vm_host[placed] < 0):
            bad.append("a running VM has no host")
        if np.any(self.vm_host[~placed] >= 0):
            bad.append("a VM that is not running holds a host")
        mig = self.vm_state == VM_MIGRATING
        if np.any(self.vm_target[mig] < 0) or np.any(self.vm_target[mig] == self.vm_host[mig]):
            bad.append("a migrating VM has no distinct target")
        if np.any(self.vm_target[~mig] >= 0):
            bad.append("a VM that is not migrating has a target")
        nh = self.hosts.n
        idx = np.concatenate([self.vm_host[placed], self.vm_target[mig]])
        w_cpu = np.concatenate([self.vms.cpu_booked_mhz[placed], self.vms.cpu_booked_mhz[mig]])
        w_ram = np.concatenate([self.vms.ram_booked_mb[placed], self.vms.ram_booked_mb[mig]])
        if not np.allclose(np.bincount(idx, w_cpu, nh), self.host_cpu_booked, rtol=1e-9, atol=1e-6):
            bad.append("host CPU booking does not equal the sum over its VMs")
        if not np.allclose(np.bincount(idx, w_ram, nh), self.host_ram_booked, rtol=1e-9, atol=1e-6):
            bad.append("host RAM booking does not equal the sum over its VMs")
        if not np.array_equal(np.bincount(idx, minlength=nh), self.host_n_vms):
            bad.append("host VM count does not equal the VMs placed on it")
        if np.any(self.host_n_vms[(self.host_state == HOST_OFF) | (self.host_state == HOST_FAILED)] > 0):
            bad.append("a switched-off or failed host holds VMs")
        return bad


def _ro(a: np.ndarray) -> np.ndarray:
    v = a.view()
    v.flags.writeable = False
    return v


#: the dynamic arrays a view hands out, read-only
VIEW_ARRAYS = ("vm_state", "vm_host", "vm_target", "host_state", "host_ready_s", "host_cpu_booked",
               "host_ram_booked", "host_n_vms", "vm_cpu_demand", "vm_ram_demand", "host_cpu_demand",
               "host_ram_demand", "vm_image", "vm_migratable")


class ClusterView:
    """Read-only window on the cluster for policies.

    Static facts: ``hosts`` (:class:`HostArrays`) and ``vms`` (:class:`VmArrays`). Clock: ``step``, ``t_s``
    (s). Dynamic arrays, all read-only, refreshed in place by the engine every step:

    ========================  ===========  ======================================================
    ``vm_state``              (n_vms,)     int8, ``VM_*`` constants
    ``vm_host``               (n_vms,)     int32 host index (source while migrating), -1 if none
    ``vm_target``             (n_vms,)     int32 migration target, -1 unless migrating
    ``vm_cpu_demand``         (n_vms,)     float64 MHz, this step's demand (0 when not placed)
    ``vm_ram_demand``         (n_vms,)     float64 MB
    ``vm_image``              (n_vms,)     int32 guest image for page sharing, -1 = none
    ``vm_migratable``         (n_vms,)     bool, False for VMs pinned by passthrough / SR-IOV
    ``host_state``            (n_hosts,)   int8, ``HOST_*`` constants
    ``host_on``               (n_hosts,)   bool, not switched off (on, booting or failed)
    ``host_ready_s``          (n_hosts,)   float64 s, when a booting host is ready
    ``host_cpu_booked``       (n_hosts,)   float64 MHz booked (VMs migrating in included)
    ``host_ram_booked``       (n_hosts,)   float64 MB booked
    ``host_n_vms``            (n_hosts,)   int32 VMs placed (migrating in included)
    ``host_cpu_demand``       (n_hosts,)   float64 MHz (VMs migrating in counted at full demand)
    ``host_ram_demand``       (n_hosts,)   float64 MB
    ========================  ===========  ======================================================

    ``cpu_history`` is None here; a controller's :class:`kumo.policies.planning.PlannedCluster` may offer one.
    ``carbon_g_per_kwh`` is the grid's carbon intensity now and :meth:`carbon_forecast` the next steps'.
    """

    __slots__ = ("_s", "_hosts", "_vms", "_arrays")

    def __init__(self, state: ClusterState):
        self._s = state
        self._hosts = _read_only(state.hosts)
        self._vms = _read_only(state.vms)
        # the engine only ever writes these arrays in place, so one read-only view of each serves every read
        self._arrays = {name: _ro(getattr(state, name)) for name in VIEW_ARRAYS}

    # static facts
    @property
    def hosts(self) -> HostArrays:
        return self._hosts  # type: ignore[return-value]

    @property
    def vms(self) -> VmArrays:
        return self._vms  # type: ignore[return-value]

    # clock
    @property
    def t_s(self) -> float:
        return self._s.t_s

    @property
    def step(self) -> int:
        return self._s.step

    # dynamic arrays, read-only
    @property
    def vm_state(self) -> np.ndarray:
        return self._arrays["vm_state"]

    @property
    def vm_host(self) -> np.ndarray:
        return self._arrays["vm_host"]

    @property
    def vm_target(self) -> np.ndarray:
        return self._arrays["vm_target"]

    @property
    def host_state(self) -> np.ndarray:
        return self._arrays["host_state"]

    @property
    def host_on(self) -> np.ndarray:
        return _ro(self._s.host_state != HOST_OFF)

    @property
    def host_ready_s(self) -> np.ndarray:
        return self._arrays["host_ready_s"]

    @property
    def host_cpu_booked(self) -> np.ndarray:
        return self._arrays["host_cpu_booked"]

    @property
    def host_ram_booked(self) -> np.ndarray:
        return self._arrays["host_ram_booked"]

    @property
    def host_n_vms(self) -> np.ndarray:
        return self._arrays["host_n_vms"]

    @property
    def vm_cpu_demand(self) -> np.ndarray:
        return self._arrays["vm_cpu_demand"]

    @property
    def vm_ram_demand(self) -> np.ndarray:
        return self._arrays["vm_ram_demand"]

    @property
    def host_cpu_demand(self) -> np.ndarray:
        return self._arrays["host_cpu_demand"]

    @property
    def host_ram_demand(self) -> np.ndarray:
        return self._arrays["host_ram_demand"]

    @property
    def vm_image(self) -> np.ndarray:
        return self._arrays["vm_image"]

    @property
    def vm_migratable(self) -> np.ndarray:
        return self._arrays["vm_migratable"]

    @property
    def cpu_history(self) -> None:
        return None

    @property
    def carbon_g_per_kwh(self) -> float:
        """The grid's carbon intensity now, gCO2/kWh (0.0 when the scenario has no ``[carbon]``)."""
        c = self._s.carbon_g_per_kwh
        return 0.0 if c is None else float(c[min(self._s.step, len(c) - 1)])

    def carbon_forecast(self, steps: int) -> np.ndarray:
        """The intensity of this step and the next ``steps - 1`` as the policy is told it (gCO2/kWh, read-only;
        shorter at the end of the run; zeros without ``[carbon]``): by ``[carbon] forecast``, the series the
        run replays (``perfect``, the default), the intensity now held (``persistence``) or each step as it
        was a day earlier (``yesterday``)."""
        c = self._s.carbon_g_per_kwh
        k = self._s.step
        if c is None:
            return _ro(np.zeros(max(0, steps)))
        f = self._s.carbon_forecast
        if f is None:
            return _ro(c[k:k + max(0, steps)])
        return _ro(np.asarray(f.at(k, steps)))

    def host_vms(self, host: int) -> np.ndarray:
        """VM indices on ``host`` as source or running (not the ones migrating in), ascending."""
        s = self._s
        return np.flatnonzero((s.vm_host == host) & ((s.vm_state == VM_RUNNING) | (s.vm_state == VM_MIGRATING)))

    def cpu_util(self) -> np.ndarray:
        """(n_hosts,) CPU demand / capacity (may exceed 1)."""
        return self._s.host_cpu_demand / self._s.hosts.cpu_mhz

    def ram_util(self) -> np.ndarray:
        """(n_hosts,) RAM demand / capacity (may exceed 1)."""
        return self._s.host_ram_demand / self._s.hosts.ram_mb
