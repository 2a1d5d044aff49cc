"""Exact time integration of host load inside one step, when sub-step events (migrations, boots) occur.

Within a step, every host's CPU load, RAM load and availability are piecewise constant: a base value for
the whole step plus *pulses* (a host, an interval [a, b), and deltas). This module turns base values and
pulses into per-host integrals — energy, delivered-CPU share, RAM shortfall, overload time — without a
Python loop: events are sorted by (host, time) once and the segment values are cumulative sums.

Pure functions; the engine owns the state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class Pulses:
    """Sub-step deltas. All arrays (p,) ; times are absolute seconds inside [t0, t1]."""

    host: np.ndarray
    a: np.ndarray
    b: np.ndarray
    cpu: np.ndarray
    ram: np.ndarray
    down: np.ndarray  # +1 while the host is unavailable (booting)

    @classmethod
    def from_table(cls, arr: np.ndarray) -> Pulses:
        """From a (p, 6) float table: host, a, b, cpu, ram, down per row."""
        return cls(arr[:, 0].astype(np.int64), arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4], arr[:, 5])


@dataclass
class StepIntegrals:
    """Per-host integrals over one step [t0, t1] (all (n_hosts,))."""

    energy_j: np.ndarray  # joules
    share_s: np.ndarray  # integral of the CPU share min(1, cap/load) over available time, seconds
    load_mhz_s: np.ndarray  # integral of min(load, cap), MHz-seconds
    overload_s: np.ndarray  # seconds with load > cap
    ram_short_mb_s: np.ndarray  # integral of max(0, ram - ram_cap), MB-seconds
    ram_load_mb_s: np.ndarray  # integral of the RAM load, MB-seconds
    # piecewise share per host for point queries: keys sorted, cumulative share at each key
    _keys: np.ndarray | None = None
    _cum: np.ndarray | None = None
    _share: np.ndarray | None = None
    _t0: float = 0.0
    _w: float = 1.0

    def share_integral(self, host: np.ndarray, x: np.ndarray, y: np.ndarray, base_share: np.ndarray) -> np.ndarray:
        """Integral over [x, y] of the CPU share of ``host`` (vectorized over queries)."""
        host = np.asarray(host, dtype=np.int64)
        if self._keys is None:
            return base_share[host] * (y - x)
        return self._cum_at(host, y, base_share) - self._cum_at(host, x, base_share)

    def _cum_at(self, host: np.ndarray, t: np.ndarray, base_share: np.ndarray) -> np.ndarray:
        assert self._keys is not None and self._cum is not None and self._share is not None
        q = host * self._w + (np.asarray(t, dtype=np.float64) - self._t0)
        i = np.searchsorted(self._keys, q, side="right") - 1
        # hosts without pulses have no keys: fall back to their constant share
        valid = (i >= 0) & (np.floor_divide(self._keys[np.maximum(i, 0)], self._w) == host)
        seg_start = self._keys[np.maximum(i, 0)]
        out = self._cum[np.maximum(i, 0)] + self._share[np.maximum(i, 0)] * (q - seg_start)
        return np.where(valid, out, base_share[host] * (np.asarray(t) - self._t0))


def integrate_step(
    t0: float,
    t1: float,
    cpu_load: np.ndarray,
    ram_load: np.ndarray,
    cpu_cap: np.ndarray,
    ram_cap: np.ndarray,
    on: np.ndarray,
    power_w: Callable[[np.ndarray, np.ndarray | None], np.ndarray],
    down_power_w: np.ndarray,
    pulses: Pulses | None,
) -> StepIntegrals:
    """Integrate one step exactly under piecewise-constant loads.

    Parameters
    ----------
    t0, t1 : step bounds, seconds.
    cpu_load, ram_load : (n_hosts,) base loads for the whole step, MHz and MB.
    cpu_cap, ram_cap : (n_hosts,) physical capacities.
    on : (n_hosts,) bool, host draws power during this step (on or booting).
    power_w : ``power_w(util, host_index) -> watts`` for utilization in [0, 1]; ``host_index`` None means
        every host in order.
    down_power_w : (n_hosts,) watts drawn while a host is unavailable (booting).
    pulses : sub-step deltas, or None for the fast path.

    Returns
    -------
    StepIntegrals. Utilization is min(load, cap)/cap. The CPU share is min(1, cap/load): under
    contention every consumer on a host gets the same fraction of its demand (proportional sharing).
    """
    dt = t1 - t0
    nh = cpu_load.shape[0]
    if pulses is None or len(pulses.host) == 0:
        util = np.minimum(cpu_load, cpu_cap) / cpu_cap
        share = cpu_cap / np.maximum(cpu_load, cpu_cap)  # 1 unless overloaded (and no huge quotient to discard)
        p = np.where(on, power_w(util, None), 0.0)  # None: every host, in order
        short = np.maximum(ram_load - ram_cap, 0.0)
        return StepIntegrals(
            energy_j=p * dt,
            share_s=share * dt,
            load_mhz_s=util * cpu_cap * dt,
            overload_s=np.where(cpu_load > cpu_cap * (1 + 1e-12), dt, 0.0),
            ram_short_mb_s=short * dt,
            ram_load_mb_s=ram_load * dt,
        )

    base = integrate_step(t0, t1, cpu_load, ram_load, cpu_cap, ram_cap, on, power_w, down_power_w, None)
    touched = np.unique(pulses.host)
    # events: a segment opener at t0 for every touched host, +delta at a, -delta at b
    w = 2.0 * dt + 1.0
    h = np.concatenate([touched, pulses.host, pulses.host])
    t = np.concatenate([np.full(len(touched), t0), pulses.a, pulses.b])
    sign = np.concatenate([np.zeros(len(touched)), np.ones(len(pulses.host)), -np.ones(len(pulses.host))])
    dc = sign * np.concatenate([np.zeros(len(touched)), pulses.cpu, pulses.cpu])
    dr = sign * np.concatenate([np.zeros(len(touched)), pulses.ram, pulses.ram])
    dd = sign * np.concatenate([np.zeros(len(touched)), pulses.down, pulses.down])
    order = np.lexsort((t, h))
    h, t, dc, dr, dd = h[order], t[order], dc[order], dr[order], dd[order]
    # cumulative deltas within each host
    first = np.ones(len(h), dtype=bool)
    first[1:] = h[1:] != h[:-1]
    grp = np.cumsum(first) - 1
    starts = np.flatnonzero(first)

    def cum_in_group(x: np.ndarray) -> np.ndarray:
        c = np.cumsum(x)
        return c - (c[starts] - x[starts])[grp]

    c_cpu = cpu_load[h] + cum_in_group(dc)
    c_ram = ram_load[h] + cum_in_group(dr)
    c_down = cum_in_group(dd) > 0.5
    nxt = np.empty_like(t)
    nxt[:-1] = t[1:]
    last = np.ones(len(h), dtype=bool)
    last[:-1] = h[1:] != h[:-1]
    nxt[last] = t1
    seg = np.clip(nxt, t0, t1) - np.clip(t, t0, t1)
    seg = np.maximum(seg, 0.0)
    c_cpu = np.maximum(c_cpu, 0.0)
    c_ram = np.maximum(c_ram, 0.0)
    cap = cpu_cap[h]
    util = np.minimum(c_cpu, cap) / cap
    share = cap / np.maximum(c_cpu, cap)  # 1 unless overloaded (and no huge quotient to discard)
    share = np.where(c_down, 0.0, share)
    util = np.where(c_down, 0.0, util)
    pw = np.where(c_down, down_power_w[h], power_w(util, h))
    pw = np.where(on[h], pw, 0.0)
    short = np.maximum(c_ram - ram_cap[h], 0.0)

    def per_host(x: np.ndarray) -> np.ndarray:
        return np.bincount(h, x * seg, nh)[touched]

    out = StepIntegrals(
        energy_j=base.energy_j.copy(),
        share_s=base.share_s.copy(),
        load_mhz_s=base.load_mhz_s.copy(),
        overload_s=base.overload_s.copy(),
        ram_short_mb_s=base.ram_short_mb_s.copy(),
        ram_load_mb_s=base.ram_load_mb_s.copy(),
    )
    out.energy_j[touched] = per_host(pw)
    out.share_s[touched] = per_host(share)
    out.load_mhz_s[touched] = per_host(util * cap)
    out.overload_s[touched] = per_host(((c_cpu > cap * (1 + 1e-12)) & ~c_down).astype(np.float64))
    out.ram_short_mb_s[touched] = per_host(short)
    out.ram_load_mb_s[touched] = per_host(c_ram)
    keys = h * w + (np.clip(t, t0, t1) - t0)
    cum = np.cumsum(share * seg) - share * seg
    cum = cum - cum[starts][grp]
    out._keys, out._cum, out._share, out._t0, out._w = keys, cum, share, t0, w
    return out
