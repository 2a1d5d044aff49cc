"""Pre-copy live migration as iterative rounds, vectorized over the migrating VMs.

Model (virtualization-models.md sec. 1.1; Clark et al., NSDI 2005; Akoush et al., MASCOTS 2010)::

    V_0     = (1 - z) M                      bulk copy; zero/duplicate pages cost nothing
    t_i     = V_i / R                        round i runs at the effective rate R
    V_{i+1} = min(D' t_i, W)                 bytes dirtied meanwhile, capped by the writable working set W
    D'      = D (1 - theta)                  auto-converge throttle theta slows the guest and its dirtying
    stop-and-copy sends V_{k+1} with the VM paused:
    T_mig   = T_setup + sum_i t_i + V_{k+1} / R + T_act,   T_down = V_{k+1} / R + T_act

Units: M, V, W in MB (10^6 B); rates ``*_mbps`` in Mbit/s, R = min(link x share, rate cap) / 8 in MB/s.

Stop rules (sec. 1.2, read in each project's code):

* ``qemu``: stop when the remaining dirty bytes <= R x ``downtime_limit_s`` (default 300 ms,
  ``DEFAULT_MIGRATE_SET_DOWNTIME``); rate cap ``max-bandwidth`` 128 MiB/s; no round cap. A migration that
  cannot converge is forced into stop-and-copy at ``timeout_s`` (libvirt ``virsh migrate --timeout``,
  suspend action; default 600 s, an engineering choice - QEMU itself would run forever).
* ``xen``: after a round, the last iteration starts if the round sent < 50 pages, or 29 rounds are done
  (at most 30 iterations), or > 3 M bytes were sent, or (adaptive rate only) the rate is at its maximum
  and this round sent more than the previous one (``xc_linux_save.c``). Adaptive rate: start at 100 Mbit/s,
  then the observed dirty rate + 50 Mbit/s, at most 500 Mbit/s.
* ``simgrid``: the QEMU-like threshold with ``max_downtime`` 30 ms, W = 0.9 M, timeout 10^7 s
  (``VmLiveMigration.cpp``). SimGrid re-measures the bandwidth each round; here R is constant.
* ``hyperv``: at most 5 memory copy passes, then switch over (a D figure); we add the QEMU threshold so an
  idle VM stops early.

Auto-converge (QEMU ``migration/ram.c``): after each round, if the bytes dirtied exceed
``throttle_trigger`` (50 %) of the bytes sent, a counter is incremented; on the second such round the
throttle starts at 20 %, then grows by 10 % per trigger, capped at 99 %. The throttle also takes that
share of the VM's CPU (reported as ``cpu_loss``). Because throttling makes a heavily dirtying VM converge
faster, a higher dirty rate can shorten a migration when auto-converge is on; it never does when it is off.

Dirty rate rule (:func:`dirty_rate_mbps`): SimGrid's convention - dirtying is proportional to the VM's CPU
progress - plus the I/O it writes into guest memory (disk writes through the page cache, received network
data).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from kumo.models.timing import MIB, PAGE_MB, MigrationTiming, trace_kbps_to_mbps

RULES = ("qemu", "xen", "simgrid", "hyperv")

#: (downtime limit s, rate cap Mbit/s or 0 for none, timeout s or 0 for none) per rule
RULE_DEFAULTS: dict[str, tuple[float, float, float]] = {
    "qemu": (0.3, 128 * MIB * 8 / 1e6, 600.0),
    "simgrid": (0.03, 0.0, 1e7),
    "xen": (0.0, 0.0, 0.0),
    "hyperv": (0.3, 0.0, 600.0),
}


def dirty_rate_mbps(
    cpu_fraction: np.ndarray,
    dirty_mbps_at_full_cpu: np.ndarray | float,
    disk_write_kbps: np.ndarray | None = None,
    net_rx_kbps: np.ndarray | None = None,
    io_factor: float = 1.0,
) -> np.ndarray:
    """Page-dirtying rate per VM in Mbit/s.

    ``D = dirty_mbps_at_full_cpu x clip(cpu_fraction, 0, 1) + io_factor x (disk_write + net_rx)`` where the
    I/O terms are the trace's KB/s (KB = 1024 B) converted to Mbit/s: written file data passes through the
    guest page cache and received packets land in guest buffers, so both dirty memory at their byte rate.
    The CPU term is SimGrid's rule (dirtying proportional to CPU progress, ``dirty_page_tracking.cpp``).
    """
    d = np.asarray(dirty_mbps_at_full_cpu, dtype=np.float64) * np.minimum(np.maximum(cpu_fraction, 0.0), 1.0)
    io = None
    for col in (disk_write_kbps, net_rx_kbps):
        if col is not None:
            io = col if io is None else io + col
    if io is not None:
        d = d + np.maximum(io, 0.0) * (io_factor * float(trace_kbps_to_mbps(1.0)))
    return d


def xen_should_stop(
    iteration: np.ndarray,
    round_pages: np.ndarray,
    total_sent_pages: np.ndarray,
    guest_pages: np.ndarray,
    prev_round_pages: np.ndarray | float = np.inf,
    rate_at_max: np.ndarray | bool = False,
    max_iters: int = 29,
    max_factor: float = 3.0,
    min_pages: int = 50,
) -> np.ndarray:
    """Xen's "Start last iteration" test after round ``iteration`` (1-based), as in ``xc_linux_save.c``.

    True if the round sent (+ skipped) < ``min_pages`` pages, or ``iteration >= max_iters``, or more than
    ``max_factor`` x the guest's pages were sent in total, or the rate is at its maximum and this round
    sent more than the previous one.
    """
    return ((np.asarray(round_pages) < min_pages) | (np.asarray(iteration) >= max_iters)
            | (np.asarray(total_sent_pages) > max_factor * np.asarray(guest_pages))
            | (np.asarray(rate_at_max) & (np.asarray(round_pages) > np.asarray(prev_round_pages))))


def closed_form(ram_mb: float, bandwidth_mbps: float, dirty_mbps: float, threshold_mb: float) -> dict[str, Any]:
    """Sec. 1.1 closed form (z = 0, no W cap, rho < 1): rounds n, V_total (MB), T (s), T_down (s), V_i (MB)."""
    r = bandwidth_mbps / 8.0
    rho = dirty_mbps / bandwidth_mbps
    n = max(0, int(np.ceil(np.log(threshold_mb / ram_mb) / np.log(rho))))
    v = [ram_mb * rho**i for i in range(n + 1)]
    total = ram_mb * (1 - rho ** (n + 1)) / (1 - rho)
    return {"n": n, "bytes_mb": total, "total_s": total / r, "downtime_s": v[-1] / r, "rounds_mb": v}


@dataclass(frozen=True)
class PrecopyMigration:
    """Iterative pre-copy live migration with QEMU, Xen, SimGrid or Hyper-V stop rules (module docstring).

    Zero values of ``downtime_limit_s``, ``rate_cap_mbps`` and ``timeout_s`` take the rule's default;
    ``rate_cap_mbps = -1`` / ``timeout_s = -1`` mean none.
    """

    rule: str = "qemu"
    downtime_limit_s: float = 0.0
    rate_cap_mbps: float = 0.0
    timeout_s: float = 0.0
    bandwidth_share: float = 1.0
    wws_fraction: float = 0.9
    zero_fraction: float = 0.0
    setup_s: float = 0.0
    activation_s: float = 0.0
    dirty_mbps: float = 0.0
    auto_converge: bool = False
    throttle_initial: float = 0.2
    throttle_increment: float = 0.1
    throttle_max: float = 0.99
    throttle_trigger: float = 0.5
    throttle_trigger_count: int = 2
    xen_max_iters: int = 29
    xen_max_factor: float = 3.0
    xen_min_pages: int = 50
    xen_adaptive: bool = False
    hyperv_max_passes: int = 5
    source_cpu_loss: float = 0.0
    target_cpu_reserve: float = 0.0
    max_rounds: int = 10_000

    def validate(self) -> list[str]:
        out = []
        if self.rule not in RULES:
            out.append(f"rule: unknown rule {self.rule!r}; valid: {', '.join(RULES)}")
        for name in ("bandwidth_share",):
            v = getattr(self, name)
            if not 0 < v <= 1:
                out.append(f"{name}: must be in (0, 1], got {v}")
        for name in ("wws_fraction", "throttle_initial", "throttle_increment", "throttle_trigger",
                     "source_cpu_loss", "target_cpu_reserve"):
            v = getattr(self, name)
            if not 0 <= v <= 1:
                out.append(f"{name}: must be in [0, 1], got {v}")
        if not 0 <= self.zero_fraction < 1:
            out.append(f"zero_fraction: must be in [0, 1), got {self.zero_fraction}")
        if not 0 <= self.throttle_max < 1:
            out.append(f"throttle_max: must be in [0, 1), got {self.throttle_max}")
        for name in ("downtime_limit_s", "setup_s", "activation_s", "dirty_mbps"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v >= 0):
                out.append(f"{name}: must be finite and >= 0, got {v}")
        for name in ("rate_cap_mbps", "timeout_s"):
            v = getattr(self, name)
            if not (np.isfinite(v) and (v >= 0 or v == -1)):
                out.append(f"{name}: must be >= 0 (0 = rule default) or -1 (none), got {v}")
        for name in ("throttle_trigger_count", "xen_max_iters", "xen_min_pages", "hyperv_max_passes", "max_rounds"):
            if getattr(self, name) < 1:
                out.append(f"{name}: must be >= 1, got {getattr(self, name)}")
        if self.xen_max_factor <= 0:
            out.append(f"xen_max_factor: must be > 0, got {self.xen_max_factor}")
        return out

    # ---------------------------------------------------------------------------------------- parameters
    def _param(self, idx: int, value: float) -> float:
        if value == -1:
            return 0.0
        return value if value > 0 else RULE_DEFAULTS.get(self.rule, RULE_DEFAULTS["qemu"])[idx]

    @property
    def effective_downtime_limit_s(self) -> float:
        return self.downtime_limit_s if self.downtime_limit_s > 0 else RULE_DEFAULTS[self.rule][0]

    @property
    def effective_rate_cap_mbps(self) -> float:
        """0 means no cap."""
        return self._param(1, self.rate_cap_mbps)

    @property
    def effective_timeout_s(self) -> float:
        """inf means none."""
        t = self._param(2, self.timeout_s)
        return t if t > 0 else np.inf

    def rate_mb_per_s(self, nic_mbps: np.ndarray) -> np.ndarray:
        """Effective migration rate R in MB/s: the link share, capped by the rule's rate cap."""
        link = np.asarray(nic_mbps, dtype=np.float64) * self.bandwidth_share
        cap = self.effective_rate_cap_mbps
        return (np.minimum(link, cap) if cap > 0 else link) / 8.0

    # ---------------------------------------------------------------------------------------- protocol
    def duration_s(self, ram_mb: np.ndarray, nic_mbps: np.ndarray, dirty_mbps: np.ndarray | None = None) -> np.ndarray:
        return self.timing(ram_mb, nic_mbps, dirty_mbps).total_s

    def downtime_s(self, ram_mb: np.ndarray, nic_mbps: np.ndarray, dirty_mbps: np.ndarray | None = None) -> np.ndarray:
        return self.timing(ram_mb, nic_mbps, dirty_mbps).downtime_s

    def timing(self, ram_mb: np.ndarray, nic_mbps: np.ndarray, dirty_mbps: np.ndarray | None = None) -> MigrationTiming:
        """Simulate the rounds for k VMs at once.

        Parameters
        ----------
        ram_mb : (k,) VM memory, MB (10^6 B).
        nic_mbps : (k,) link bandwidth available to each migration, Mbit/s (before ``bandwidth_share``).
        dirty_mbps : (k,) page-dirtying rate at the VM's current load, Mbit/s; default ``self.dirty_mbps``.
        """
        d_in = self.dirty_mbps if dirty_mbps is None else dirty_mbps
        m, d_mbps, link = (np.atleast_1d(np.asarray(a, dtype=np.float64)).copy()
                           for a in np.broadcast_arrays(ram_mb, d_in, nic_mbps))
        if (~(link > 0)).any():
            raise ValueError(f"nic_mbps: every migration needs a positive bandwidth, got {link[~(link > 0)][:3]}")
        return _rounds(self, m, d_mbps / 8.0, self.rate_mb_per_s(link), link)


def _rounds(p: PrecopyMigration, m: np.ndarray, d: np.ndarray, r: np.ndarray, link: np.ndarray) -> MigrationTiming:
    k = m.shape[0]
    w = p.wws_fraction * m
    v = (1.0 - p.zero_fraction) * m  # MB to send in the next round
    t = np.full(k, p.setup_s)
    sent = np.zeros(k)
    rounds = np.zeros(k, np.int64)
    theta = np.zeros(k)
    high = np.zeros(k, np.int64)
    thr_int = np.zeros(k)  # integral of the throttle over time, s
    done = np.zeros(k, bool)
    conv = np.ones(k, bool)
    total = np.zeros(k)
    down = np.zeros(k)
    xen = p.rule == "xen"
    thd = np.zeros(k) if xen else r * p.effective_downtime_limit_s
    timeout = p.effective_timeout_s
    xen_last = np.zeros(k, bool)
    xen_capped = np.zeros(k, bool)  # the last iteration was forced by the round or byte cap
    v_prev = np.full(k, np.inf)
    rate = np.minimum(link, 100.0) / 8.0 if (xen and p.xen_adaptive) else r.copy()

    def finish(mask: np.ndarray, forced: np.ndarray) -> None:
        dt = v[mask] / rate[mask]
        down[mask] = dt + p.activation_s
        total[mask] = t[mask] + dt + p.activation_s
        sent[mask] += v[mask]
        conv[mask] = ~forced[mask]
        done[mask] = True

    for _ in range(p.max_rounds + 1):
        act = ~done
        if not act.any():
            break
        stop = act & xen_last if xen else act & (v <= thd)
        capped = act & xen_capped if xen else np.zeros(k, bool)
        if p.rule == "hyperv":
            capped = act & ~stop & (rounds >= p.hyperv_max_passes)
            stop |= capped
        forced = act & ~stop & (t >= timeout)
        finish(stop | forced, forced | capped)
        act &= ~(stop | forced)
        if not act.any():
            break
        dt = np.where(act, v / rate, 0.0)
        # a round that would run past the timeout is cut there: the VM is paused with what is left
        cut = act & (t + dt > timeout)
        if cut.any():
            part = timeout - t[cut]
            dirty_so_far = d[cut] * (1 - theta[cut]) * part
            sent[cut] += rate[cut] * part
            thr_int[cut] += theta[cut] * part
            t[cut] = timeout
            rounds[cut] += 1
            v[cut] = np.minimum(v[cut] - rate[cut] * part + np.minimum(dirty_so_far, w[cut]), m[cut])
            finish(cut, cut)
            act &= ~cut
            dt = np.where(act, dt, 0.0)
        dirtied = np.minimum(d * (1 - theta) * dt, w)
        thr_int += np.where(act, theta * dt, 0.0)
        t += dt
        sent += np.where(act, v, 0.0)
        rounds += act
        if p.auto_converge:
            over = act & (dirtied > p.throttle_trigger * v)
            high += over
            fire = over & (high >= p.throttle_trigger_count)
            high[fire] = 0
            theta[fire] = np.where(theta[fire] == 0, p.throttle_initial,
                                   np.minimum(theta[fire] + p.throttle_increment, p.throttle_max))
        if xen:
            at_max = (rate * 8.0 >= 500.0 - 1e-9) if p.xen_adaptive else np.zeros(k, bool)
            xen_last = act & xen_should_stop(rounds, v / PAGE_MB, sent / PAGE_MB, m / PAGE_MB, v_prev / PAGE_MB,
                                             at_max, p.xen_max_iters, p.xen_max_factor, p.xen_min_pages)
            xen_capped = xen_last & (v / PAGE_MB >= p.xen_min_pages)
            if p.xen_adaptive:
                obs = np.divide(dirtied * 8.0, dt, out=np.zeros(k), where=dt > 0)
                rate = np.where(act, np.minimum(np.minimum(obs + 50.0, 500.0), link) / 8.0, rate)
        v_prev = np.where(act, v, v_prev)
        v = np.where(act, dirtied, v)
        if p.rule in ("qemu", "simgrid") and np.isfinite(timeout):
            # the dirty set stopped shrinking and cannot be throttled further: only the timeout ends it
            stuck = act & (v >= v_prev) & (v > thd) & ((not p.auto_converge) | (theta >= p.throttle_max))
            if stuck.any():
                rest = np.maximum(timeout - t[stuck], 0.0)
                grows = d[stuck] * (1 - theta[stuck]) > rate[stuck]
                sent[stuck] += rate[stuck] * rest
                thr_int[stuck] += theta[stuck] * rest
                rounds[stuck] += np.ceil(rest / np.maximum(v[stuck] / rate[stuck], 1e-12)).astype(np.int64)
                t[stuck] = timeout
                v[stuck] = np.where(grows, w[stuck], v[stuck])
    left = ~done
    if left.any():
        finish(left, left)
    cpu_loss = np.divide(thr_int, total, out=np.zeros(k), where=total > 0)
    cpu_loss = 1.0 - (1.0 - cpu_loss) * (1.0 - p.source_cpu_loss)
    return MigrationTiming(total_s=total, downtime_s=down, bytes_mb=sent, rounds=rounds, converged=conv,
                           cpu_loss=cpu_loss, switchover_s=total.copy(), fragile_s=np.zeros(k))
