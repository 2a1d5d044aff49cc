"""CloudSim's PlanetLab set-up and the arithmetic of its models, in CloudSim's floating-point operation order.

Written from the documented semantics (``shared/reference/cloudsim-planetlab.md`` §3, §5), not from CloudSim
code: the SPECpower model with its ``u % 0.1 == 0`` shortcut, the trapezoid energy of one host over one
interval, the PlanetLab trace interpolation, and the host and VM types of the examples.
"""

from __future__ import annotations

import math

import numpy as np

from kumo.models.power import SPECPOWER_TABLES

#: (PE count, MIPS per PE, RAM MB, BW, SPECpower table) per host type; host i has type i % 2
HOST_TYPES = (
    (2, 1860.0, 4096, 1_000_000, SPECPOWER_TABLES["hp-ml110-g4"]),
    (2, 2660.0, 4096, 1_000_000, SPECPOWER_TABLES["hp-ml110-g5"]),
)
#: (MIPS, RAM MB, BW) per VM type; VM i has type i // ceil(n / 4)
VM_TYPES = ((2500.0, 870, 100_000), (2000.0, 1740, 100_000), (1000.0, 1740, 100_000), (500.0, 613, 100_000))
N_HOSTS = 800
INTERVAL_S = 300.0
#: CloudSim.minTimeBetweenEvents: cloudlets are submitted at 0.1 s, so updates fall at 0.1 + 300 k
START_S = 0.1
#: usable migration bandwidth in MB/s: BW / (2 * 8000) with BW = 1e6 (half of 1 Gbit/s)
MIGRATION_MB_PER_S = 1_000_000 / (2 * 8000)
#: PowerVm.HISTORY_LENGTH
HISTORY = 30

POWER = np.array([t for *_, t in HOST_TYPES], dtype=np.float64)  # (2, 11) watts at 0, 10, ..., 100 %
POWER_FLAT = POWER.ravel()


def hosts(n: int = N_HOSTS) -> dict[str, np.ndarray]:
    """Static host arrays: type, total MIPS (an int sum in CloudSim), PE MIPS, RAM, BW."""
    t = np.arange(n) % 2
    pes = np.array([HOST_TYPES[i][0] for i in t])
    pe = np.array([HOST_TYPES[i][1] for i in t])
    return {"type": t, "mips": pes * pe, "pe_mips": pe, "ram": np.array([HOST_TYPES[i][2] for i in t]),
            "bw": np.array([HOST_TYPES[i][3] for i in t])}


def vms(n: int) -> dict[str, np.ndarray]:
    """Static VM arrays for ``n`` files: type (blocks of ceil(n/4)), MIPS, RAM, BW."""
    t = np.arange(n) // math.ceil(n / 4)
    return {"type": t, "mips": np.array([VM_TYPES[i][0] for i in t]),
            "ram": np.array([VM_TYPES[i][1] for i in t]), "bw": np.array([VM_TYPES[i][2] for i in t])}


# --------------------------------------------------------------------------------------------- power


def spec_power(u: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``PowerModelSpecPower.getPower`` vectorized: watts at utilization ``u`` (in [0, 1]).

    If ``u % 0.1 == 0`` (Java ``%`` = C ``fmod``; true only for a few exact doubles such as 0, 0.1, 0.2,
    0.4, 0.8) the table entry ``P[(int)(10 u)]``; otherwise, with ``f = floor(10u)``, ``c = ceil(10u)``:
    ``P[f] + (P[c] - P[f]) / 10 * (u - f / 10) * 100``, left to right.

    Parameters
    ----------
    u : (n,) float64 utilization.
    table : (n, 11) or (11,) watts per element.
    """
    u = np.asarray(u, dtype=np.float64)
    tab = np.broadcast_to(table, u.shape + (11,))
    u10 = u * 10
    f = np.floor(u10).astype(np.int64)
    c = np.ceil(u10).astype(np.int64)
    pf = np.take_along_axis(tab, f[..., None], -1)[..., 0]
    pc = np.take_along_axis(tab, c[..., None], -1)[..., 0]
    out = pf + (pc - pf) / 10 * (u - f / 10) * 100
    exact = np.fmod(u, 0.1) == 0
    if exact.any():
        out = np.where(exact, np.take_along_axis(tab, u10.astype(np.int64)[..., None], -1)[..., 0], out)
    return out


def spec_power_flat(u: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """:func:`spec_power` for hosts whose table rows start at ``offset`` in :data:`POWER_FLAT` (same bits)."""
    u10 = u * 10
    f = np.floor(u10)
    fi = f.astype(np.int64) + offset
    p1 = POWER_FLAT[fi]
    out = p1 + (POWER_FLAT[np.ceil(u10).astype(np.int64) + offset] - p1) / 10 * (u - f / 10) * 100
    exact = np.fmod(u, 0.1) == 0
    if exact.any():
        out[exact] = POWER_FLAT[u10[exact].astype(np.int64) + offset[exact]]
    return out


def spec_power_one(u: float, table: tuple[float, ...]) -> float:
    """Scalar :func:`spec_power` (pure Python floats, identical bits)."""
    if math.fmod(u, 0.1) == 0:
        return table[int(u * 10)]
    u10 = u * 10
    f = math.floor(u10)
    p1 = table[f]
    p2 = table[math.ceil(u10)]
    return p1 + (p2 - p1) / 10 * (u - f / 10) * 100


def clamp_util(u: np.ndarray) -> np.ndarray:
    """``HostDynamicWorkload.getUtilizationOfCpu``: values in (1, 1.01) become 1."""
    return np.where((u > 1) & (u < 1.01), 1.0, u)


def interval_energy(u_prev: np.ndarray, u_now: np.ndarray, table: np.ndarray, dt: float) -> np.ndarray:
    """``PowerHost.getEnergyLinearInterpolation``: 0 if the previous utilization is 0 (the host counts as
    off), else ``(P0 + (P1 - P0) / 2) * dt`` — a trapezoid written in this operation order. Joules per host."""
    p0 = spec_power(u_prev, table)
    p1 = spec_power(u_now, table)
    return np.where(u_prev == 0, 0.0, (p0 + (p1 - p0) / 2) * dt)


def seq_sum(x: np.ndarray) -> float:
    """A Java ``s += x[i]`` loop from 0.0 (numpy's cumulative sum is sequential; its ``sum`` is not)."""
    x = np.asarray(x, dtype=np.float64)
    return float(np.cumsum(x)[-1]) if x.size else 0.0


# --------------------------------------------------------------------------------------------- trace


def utilization_at(data: np.ndarray, t: float) -> np.ndarray:
    """``UtilizationModelPlanetLabInMemory.getUtilization(t)`` for every VM.

    ``data`` is (n_steps + 1, n_vms) float64 = percent / 100 with the last row repeated (d[288] = d[287]).
    At a multiple of 300 s the sample itself; otherwise ``u1 + (u2 - u1) / ((i2 - i1) * 300) * (t - i1 * 300)``.
    """
    if math.fmod(t, INTERVAL_S) == 0:
        return data[int(t) // int(INTERVAL_S)]
    i1 = math.floor(t / INTERVAL_S)
    i2 = math.ceil(t / INTERVAL_S)
    u1 = data[i1]
    return u1 + (data[i2] - u1) / ((i2 - i1) * INTERVAL_S) * (t - i1 * INTERVAL_S)


def trace_matrix(percent: np.ndarray) -> np.ndarray:
    """(n_steps, n_vms) integer percent -> (n_steps + 1, n_vms) float64 ``value / 100.0`` plus the repeated row."""
    d = np.asarray(percent, dtype=np.float64) / 100.0
    return np.vstack([d, d[-1:]])


# --------------------------------------------------------------------------------------------- Java HashMap order


def java_string_hash(s: str) -> int:
    """``String.hashCode()`` as an unsigned 32-bit value."""
    h = 0
    for ch in s:
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    return h


def vm_uid_hashes(n: int, broker_id: int = 2) -> np.ndarray:
    """``HashMap.hash`` of each VM's uid ``"<broker>-<vm>"`` (``h ^ (h >>> 16)``); the broker is entity 2."""
    h = np.array([java_string_hash(f"{broker_id}-{i}") for i in range(n)], dtype=np.int64)
    return h ^ (h >> 16)


def hashmap_capacity(peak_size: np.ndarray) -> np.ndarray:
    """Table size of a ``java.util.HashMap`` that has held ``peak_size`` entries: 16, doubled while the size
    exceeds 0.75 x the table (it never shrinks)."""
    cap = np.full(np.shape(peak_size), 16, dtype=np.int64)
    while True:
        grow = peak_size > 0.75 * cap
        if not grow.any():
            return cap
        cap = np.where(grow, cap * 2, cap)
