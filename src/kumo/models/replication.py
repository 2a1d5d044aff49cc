"""Host failures and VM replication: Remus-style checkpointing, lockstep (FT) and COLO, failover vs restart.

Failures (virtualization-models.md sec. 6): each host alternates up and down periods drawn from MTBF and
MTTR distributions (exponential, or Weibull with the same mean), follows a failure trace of
``(host, fail_s, repair_s)`` rows, or replays a trace of correlated failure *bursts* in OpenDC's format
(``kind = "bursts"``: every ``interval`` a ``fraction`` of the hosts, drawn from the seed, fail together for
``duration``; the user-reported outage traces of Facebook, Instagram and Netflix ship with kumo, see
:mod:`kumo.traces.series`). A burst trace is looped over the run, starting ``offset_h`` into it.

Remus (Cully et al., NSDI 2008), per protected VM with epoch T_e (25 ms = 40 checkpoints/s, REP-01)::

    V_e        = min(D T_e, W)                          MB dirtied per epoch (W: writable working set)
    t_p        = t_fixed + V_e / copy_rate              pause to copy dirty pages into a local buffer
    T_e'       = max(T_e, V_e / R)                      backpressure: the link must drain each epoch
    overhead   = t_p / (T_e' + t_p)                     fraction of time the VM is paused
    NIC        = 8 V_e / (T_e' + t_p)                   replication traffic, Mbit/s
    latency    = T_e'/2 + t_p + V_e/R + RTT             mean added output-commit latency (buffered packets)
    failover   = missed heartbeats x interval + activation  ("seconds of downtime", REP-02)

Unprotected VMs on a failed host restart elsewhere after detection + their kind's boot delay
(:class:`kumo.models.containers.ContainerModel`). Lockstep record/replay
(VMware FT, Bressoud & Schneider) costs ``log rate x cycles per logged event`` instead of a dirty-page
copy; COLO checkpoints on output divergence plus every ``colo_delay_ms`` (20 000 ms, QEMU default, REP-07).
Constants without a figure (t_fixed, copy rate, heartbeat) are engineering defaults.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: failure bursts one run may replay (the shipped traces give about 4,000 a year)
MAX_BURSTS = 10**6


@dataclass(frozen=True)
class FailureEvents:
    """Sorted by ``fail_s``; all (e,)."""

    host: np.ndarray
    fail_s: np.ndarray
    repair_s: np.ndarray

    def __len__(self) -> int:
        return int(self.host.shape[0])


@dataclass(frozen=True)
class FailureModel:
    """Host failures: ``none``, ``exponential``/``weibull`` alternating renewal, ``trace`` rows, or ``bursts``
    (a trace of correlated failures: ``source`` a shipped name or a file, ``offset_h`` where the run starts
    in it, ``intensity_scale`` multiplying each burst's fraction of hosts)."""

    kind: str = "none"
    mtbf_h: float = 8760.0
    mttr_h: float = 4.0
    weibull_shape: float = 0.7
    events: tuple[tuple[float, float, float], ...] = ()
    source: str = "netflix"
    offset_h: float = 0.0
    intensity_scale: float = 1.0
    heartbeat_ms: float = 500.0
    missed_heartbeats: int = 3

    def validate(self) -> list[str]:
        out = []
        if self.kind not in ("none", "exponential", "weibull", "trace", "bursts"):
            out.append(f"kind: must be none, exponential, weibull, trace or bursts, got {self.kind!r}")
        if not (math.isfinite(self.offset_h) and self.offset_h >= 0):
            out.append(f"offset_h: must be finite and >= 0, got {self.offset_h}")
        if not (math.isfinite(self.intensity_scale) and 0 < self.intensity_scale <= 1):
            out.append(f"intensity_scale: must be in (0, 1], got {self.intensity_scale}")
        if self.kind == "bursts":
            from kumo.errors import TraceFormatError
            from kumo.traces.series import read_failures

            try:
                read_failures(self.source)
            except TraceFormatError as e:
                out.append(f"source: {e}")
        if self.missed_heartbeats < 1:
            out.append(f"missed_heartbeats: must be >= 1, got {self.missed_heartbeats}")
        for name in ("mtbf_h", "mttr_h", "weibull_shape", "heartbeat_ms"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                out.append(f"{name}: must be finite and > 0, got {getattr(self, name)}")
        for i, row in enumerate(self.events):
            if len(row) != 3 or row[0] < 0 or row[0] != int(row[0]) or not 0 <= row[1] <= row[2]:
                out.append(f"events[{i}]: must be [host >= 0 (int), fail_s >= 0, repair_s >= fail_s], got {list(row)}")
        if self.kind == "trace" and not self.events:
            out.append("events: kind 'trace' needs at least one [host, fail_s, repair_s] row")
        return out

    @property
    def detection_s(self) -> float:
        """Seconds until a failure is noticed: missed heartbeats x interval."""
        return self.missed_heartbeats * self.heartbeat_ms / 1000.0

    def _draw(self, rng: np.random.Generator, mean_s: float, n: int) -> np.ndarray:
        if self.kind == "weibull":
            scale = mean_s / math.gamma(1.0 + 1.0 / self.weibull_shape)
            return scale * rng.weibull(self.weibull_shape, n)
        return rng.exponential(mean_s, n)

    def timeline(self, rng: np.random.Generator, horizon_s: float, n_hosts: int) -> FailureEvents:
        """Every failure in [0, horizon_s) for ``n_hosts`` hosts (hosts start up and new)."""
        if self.kind == "none":
            e = np.zeros(0)
            return FailureEvents(e.astype(np.int64), e, e)
        if self.kind == "bursts":
            return self._bursts(rng, horizon_s, n_hosts)
        if self.kind == "trace":
            a = np.asarray(self.events, np.float64).reshape(-1, 3)
            a = a[(a[:, 0] < n_hosts) & (a[:, 1] < horizon_s)]
            o = np.argsort(a[:, 1], kind="stable")
            return FailureEvents(a[o, 0].astype(np.int64), a[o, 1], a[o, 2])
        t = np.zeros(n_hosts)
        hosts, fails, repairs = [], [], []
        while True:
            live = np.flatnonzero(t < horizon_s)
            if live.size == 0:
                break
            f = t[live] + self._draw(rng, self.mtbf_h * 3600.0, live.size)
            r = f + self._draw(rng, self.mttr_h * 3600.0, live.size)
            ok = f < horizon_s
            hosts.append(live[ok])
            fails.append(f[ok])
            repairs.append(r[ok])
            t[live] = np.where(ok, r, np.inf)
        h, f, r = (np.concatenate(x) if x else np.zeros(0) for x in (hosts, fails, repairs))
        o = np.argsort(f, kind="stable")
        return FailureEvents(h[o].astype(np.int64), f[o], r[o])


    def _bursts(self, rng: np.random.Generator, horizon_s: float, n_hosts: int) -> FailureEvents:
        """The burst trace looped over [0, horizon_s): each burst fails ``round(fraction x n_hosts)`` hosts (at
        least one), drawn without replacement from ``rng`` among the hosts that are up (a host already down
        is not hit again: down periods never overlap), for its duration."""
        from kumo.traces.series import read_failures

        _, interval, duration, fraction = read_failures(self.source)
        starts = np.cumsum(interval)  # start to start; the first row's interval is its own start
        period = float(starts[-1] + duration[-1])  # the loop starts again once the last burst is over
        n_bursts = np.ceil((horizon_s + self.offset_h * 3600.0) / period) * len(starts)
        if n_bursts > MAX_BURSTS:  # a trace of a few ms, looped over months, would run for hours
            from kumo.errors import ConfigError

            raise ConfigError([f"virtualization.failures.source: {self.source} repeats every {period:g} s: "
                               f"{n_bursts:.3g} bursts over the run, above {MAX_BURSTS:,}"])
        hosts: list[np.ndarray] = []
        fails: list[np.ndarray] = []
        repairs: list[np.ndarray] = []
        down_until = np.full(n_hosts, -np.inf)
        t0 = -((self.offset_h * 3600.0) % period)
        while t0 < horizon_s:
            for s, d, f in zip(starts, duration, fraction, strict=True):
                t = t0 + float(s)
                if t >= horizon_s:
                    break
                if t + d <= 0:
                    continue
                up = np.flatnonzero(down_until <= t)
                k = min(len(up), max(1, int(round(f * self.intensity_scale * n_hosts))))
                if k == 0:
                    continue
                hit = np.sort(rng.choice(up, size=k, replace=False))
                down_until[hit] = t + float(d)
                hosts.append(hit)
                fails.append(np.full(k, max(t, 0.0)))
                repairs.append(np.full(k, t + float(d)))
            t0 += period
        if not hosts:
            e = np.zeros(0)
            return FailureEvents(e.astype(np.int64), e, e)
        h, f_, r = (np.concatenate(x) for x in (hosts, fails, repairs))
        o = np.argsort(f_, kind="stable")
        return FailureEvents(h[o].astype(np.int64), f_[o], r[o])


def availability(mtbf_h: float, mttr_h: float) -> float:
    """Steady-state host availability MTBF / (MTBF + MTTR)."""
    return mtbf_h / (mtbf_h + mttr_h)


@dataclass(frozen=True)
class ReplicationResult:
    """Per protected VM (k,)."""

    epoch_s: np.ndarray  # effective epoch after backpressure
    pause_s: np.ndarray
    cpu_overhead: np.ndarray  # fraction of the VM's time lost (paused or logging)
    net_mbps: np.ndarray  # replication traffic on the NIC
    latency_s: np.ndarray  # mean added output latency
    failover_s: np.ndarray


@dataclass(frozen=True)
class ReplicationModel:
    """Remus (default), ``lockstep`` (VMware FT) or ``colo`` protection of selected VMs (module docstring)."""

    scheme: str = "remus"
    epoch_ms: float = 25.0
    pause_fixed_ms: float = 1.0
    copy_mb_per_s: float = 2000.0
    wws_fraction: float = 0.9
    rtt_ms: float = 0.2
    network_buffering: bool = True
    activation_s: float = 0.5
    log_mbps: float = 8.0
    log_cycles_per_byte: float = 40.0
    colo_delay_ms: float = 20_000.0
    colo_divergence_per_s: float = 0.1

    def validate(self) -> list[str]:
        out = []
        if self.scheme not in ("remus", "lockstep", "colo"):
            out.append(f"scheme: must be remus, lockstep or colo, got {self.scheme!r}")
        for name in ("epoch_ms", "copy_mb_per_s", "colo_delay_ms"):
            if not getattr(self, name) > 0:
                out.append(f"{name}: must be > 0, got {getattr(self, name)}")
        for name in ("pause_fixed_ms", "rtt_ms", "activation_s", "log_mbps", "log_cycles_per_byte",
                     "colo_divergence_per_s"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
                out.append(f"{name}: must be finite and >= 0, got {getattr(self, name)}")
        if not 0 < self.wws_fraction <= 1:
            out.append(f"wws_fraction: must be in (0, 1], got {self.wws_fraction}")
        return out

    def failover_s(self, detection_s: float) -> float:
        """Downtime of a protected VM: failure detection + activation of the last committed checkpoint."""
        return detection_s + self.activation_s

    def step(self, ram_mb: np.ndarray, dirty_mbps: np.ndarray, bandwidth_mbps: np.ndarray,
             core_mhz: np.ndarray | float = 2600.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(VM time lost, NIC Mbit/s, added latency s) of :meth:`evaluate`, for the step loop: (k,) arrays in."""
        if self.scheme == "lockstep":
            r = self.evaluate(ram_mb, dirty_mbps, bandwidth_mbps, core_mhz)
            return r.cpu_overhead, r.net_mbps, r.latency_s
        interval = self._interval_s
        v = np.minimum(dirty_mbps * (interval / 8.0), self.wws_fraction * ram_mb)
        pause = self.pause_fixed_ms / 1000.0 + v * (1.0 / self.copy_mb_per_s)
        send = v * 8.0 / bandwidth_mbps
        epoch = np.maximum(interval, send)
        cycle = epoch + pause
        if self.network_buffering and self.scheme == "remus":
            lat = epoch * 0.5 + pause + send + self.rtt_ms / 1000.0
        else:
            lat = np.full(v.shape, self.rtt_ms / 1000.0)
        return pause / cycle, v * 8.0 / cycle, lat

    @property
    def _interval_s(self) -> float:
        if self.scheme == "colo":
            return 1.0 / (self.colo_divergence_per_s + 1000.0 / self.colo_delay_ms)
        return self.epoch_ms / 1000.0

    def evaluate(self, ram_mb: np.ndarray, dirty_mbps: np.ndarray, bandwidth_mbps: np.ndarray,
                 core_mhz: np.ndarray | float = 2600.0, detection_s: float = 1.5) -> ReplicationResult:
        """Costs for k protected VMs: RAM (MB), dirty rate and replication link (Mbit/s)."""
        arrs = [np.asarray(a, np.float64) for a in (ram_mb, dirty_mbps, bandwidth_mbps)]
        if not all(a.ndim == 1 and a.shape == arrs[0].shape for a in arrs):
            arrs = [np.atleast_1d(a) for a in np.broadcast_arrays(*arrs)]
        m, d, bw = arrs
        k = m.shape[0]
        fo = np.full(k, self.failover_s(detection_s))
        if self.scheme == "lockstep":
            log = np.full(k, self.log_mbps)
            over = log * 1e6 / 8.0 * self.log_cycles_per_byte / (np.asarray(core_mhz, np.float64) * 1e6)
            lat = np.full(k, self.rtt_ms / 1000.0)
            return ReplicationResult(np.zeros(k), np.zeros(k), over / (1 + over), log, lat, fo)
        interval = self._interval_s
        r = bw / 8.0
        v = np.minimum(d / 8.0 * interval, self.wws_fraction * m)
        pause = self.pause_fixed_ms / 1000.0 + v / self.copy_mb_per_s
        epoch = np.maximum(interval, v / r)
        cycle = epoch + pause
        lat = (epoch / 2 + pause + v / r + self.rtt_ms / 1000.0) if (self.network_buffering and self.scheme == "remus") \
            else np.full(k, self.rtt_ms / 1000.0)
        return ReplicationResult(epoch, pause, pause / cycle, v * 8.0 / cycle, lat, fo)
