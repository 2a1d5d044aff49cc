"""What the workload generator learns from a source trace: arrival profiles over the day and the week,
lifetimes (lognormal and Pareto fits, or the empirical sample), sizes, and utilization as a fraction of the
booking. Pure functions of a :class:`~kumo.traces.base.Trace`; see :mod:`kumo.traces.synth` for how they are
used and ``docs/guide/workloads.md`` for the method.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kumo.traces.base import Trace

DAY_S = 86400.0
HOUR_S = 3600.0
#: 1970-01-01 was a Thursday: weekday index (Monday = 0) of epoch day 0
EPOCH_WEEKDAY = 3
MIN_LIFETIMES = 10


@dataclass(frozen=True)
class Lifetimes:
    """Lifetimes of a trace as its grid sees them: ``seconds`` = whole steps x step_s of the VMs that arrive
    after step 0 and leave before the end (complete); ``running_steps`` the steps seen so far of those that
    arrive after step 0 and still run at the end (right-censored). VMs present at step 0 are left out (their
    start is not seen)."""

    seconds: np.ndarray
    censored: int
    step_s: float = 300.0
    running_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def lognormal(self) -> tuple[float, float]:
        """Maximum-likelihood lognormal fit that knows the grid: (median s, sigma of ln lifetime).

        A reader puts a VM living L seconds from a uniform phase in its first step on ceil((phase + L) /
        step) steps, so P(k steps) = [H(k dt) - 2 H((k-1) dt) + H((k-2) dt)] / dt with H(x) the integral of
        the lognormal CDF from 0 to x (closed form), and a VM still running after k steps has
        P(K >= k) = 1 - [H((k-1) dt) - H((k-2) dt)] / dt. The log-likelihood of the complete and the running
        VMs is maximized over (mu, sigma) by a grid search refined six times (21 x 21 points each).
        """
        dt = self.step_s
        k_full, n_full = np.unique(np.rint(self.seconds / dt).astype(np.int64), return_counts=True)
        k_run, n_run = np.unique(self.running_steps, return_counts=True)
        logs = np.log(np.maximum(self.seconds - dt / 2, dt / 4))
        mu_c, sig_c, span = float(logs.mean()), max(float(logs.std()), 0.1), 3.0
        best = (mu_c, sig_c)
        for _ in range(6):
            mu = np.linspace(best[0] - span, best[0] + span, 21)[:, None, None]
            sig = np.geomspace(max(best[1] / (1 + span), 1e-3), best[1] * (1 + span), 21)[None, :, None]
            ll = (n_full * np.log(np.maximum(_p_steps(k_full, mu, sig, dt), 1e-300))).sum(axis=2)
            if len(k_run):
                ll += (n_run * np.log(np.maximum(_p_at_least(k_run, mu, sig, dt), 1e-300))).sum(axis=2)
            i, j = np.unravel_index(int(np.argmax(ll)), ll.shape)
            best = (float(mu[i, 0, 0]), float(sig[0, j, 0]))
            span /= 3
        return float(np.exp(best[0])), best[1]

    def pareto(self) -> tuple[float, float]:
        """Maximum-likelihood Pareto fit with the smallest lifetime as the scale: (alpha, min s)."""
        xmin = float(self.seconds.min())
        logs = np.log(self.seconds / xmin)
        return float(len(logs) / logs.sum()) if logs.sum() > 0 else float("inf"), xmin


def lifetimes(trace: Trace) -> Lifetimes:
    """The lifetimes of ``trace`` as :class:`Lifetimes` (whole steps: the grid's view of them)."""
    a, d = trace.arrive_step.astype(np.int64), trace.depart_step.astype(np.int64)
    full = (a > 0) & (d < trace.n_steps) & (d > a)
    running = (a > 0) & (d >= trace.n_steps) & (d > a)
    return Lifetimes(((d - a)[full] * trace.step_s).astype(np.float64), int(np.count_nonzero(~full)),
                     float(trace.step_s), (d - a)[running])


def _norm_cdf(z: np.ndarray) -> np.ndarray:
    """Standard normal CDF (Abramowitz & Stegun 7.1.26 for erf: absolute error below 1.5e-7)."""
    x = np.abs(z) / np.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = 1.0 - poly * np.exp(-x * x)
    return 0.5 * (1.0 + np.sign(z) * erf)


def _h(x: np.ndarray, mu: np.ndarray, sig: np.ndarray) -> np.ndarray:
    """Integral from 0 to x of the lognormal(mu, sig) CDF; 0 for x <= 0."""
    xp = np.maximum(x, 1e-300)
    lx = np.log(xp)
    val = xp * _norm_cdf((lx - mu) / sig) - np.exp(mu + sig * sig / 2) * _norm_cdf((lx - mu - sig * sig) / sig)
    return np.where(x > 0, val, 0.0)


def _p_steps(k: np.ndarray, mu: np.ndarray, sig: np.ndarray, dt: float) -> np.ndarray:
    return (_h(k * dt, mu, sig) - 2 * _h((k - 1) * dt, mu, sig) + _h((k - 2) * dt, mu, sig)) / dt


def _p_at_least(k: np.ndarray, mu: np.ndarray, sig: np.ndarray, dt: float) -> np.ndarray:
    return 1.0 - (_h((k - 1) * dt, mu, sig) - _h((k - 2) * dt, mu, sig)) / dt


def step_times(trace: Trace) -> np.ndarray:
    """(n_steps,) start of each step in s since the epoch (since the trace's start without absolute time)."""
    return trace.start_epoch_s + np.arange(trace.n_steps) * trace.step_s


def hour_of_day(t_s: np.ndarray) -> np.ndarray:
    return (np.floor(t_s / HOUR_S) % 24).astype(np.int64)


def day_of_week(t_s: np.ndarray) -> np.ndarray:
    return ((np.floor(t_s / DAY_S) + EPOCH_WEEKDAY) % 7).astype(np.int64)


def _profile(bins_of_steps: np.ndarray, arrivals_per_step: np.ndarray, n_bins: int) -> np.ndarray:
    """Arrival rate per bin (arrivals / steps of that bin), scaled to mean 1 over the bins seen; 1 for unseen."""
    exposure = np.bincount(bins_of_steps, minlength=n_bins).astype(np.float64)
    count = np.bincount(bins_of_steps, arrivals_per_step, minlength=n_bins)
    seen = exposure > 0
    rate = np.divide(count, exposure, out=np.zeros(n_bins), where=seen)
    mean = rate[seen].mean() if seen.any() else 0.0
    return np.where(seen, rate / mean, 1.0) if mean > 0 else np.ones(n_bins)


def arrivals_per_step(trace: Trace) -> np.ndarray:
    """(n_steps,) VMs arriving at each step; step 0's are left out (the population the trace starts with)."""
    per = np.bincount(trace.arrive_step.astype(np.int64), minlength=trace.n_steps)[: trace.n_steps].astype(float)
    per[0] = 0.0
    return per


def diurnal_profile(trace: Trace) -> np.ndarray:
    """(24,) arrival rate per hour of day (UTC; hours from the trace's start without absolute time), mean 1.

    Each hour's rate is its arrivals divided by the steps of that hour in the trace (so a trace that starts at
    22:00 does not favour the late hours), then scaled to mean 1.
    """
    return _profile(hour_of_day(step_times(trace))[1:], arrivals_per_step(trace)[1:], 24)


def weekly_profile(trace: Trace) -> np.ndarray:
    """(7,) arrival rate per day of week (Monday first), mean 1 over the days the trace covers."""
    return _profile(day_of_week(step_times(trace))[1:], arrivals_per_step(trace)[1:], 7)


def sizes(trace: Trace) -> tuple[np.ndarray, np.ndarray]:
    """The trace's distinct bookings (k, 3: cores, MHz, MB) and their shares (k,)."""
    ok = np.isfinite(trace.cpu_booked_mhz) & np.isfinite(trace.ram_booked_mb) & (trace.cpu_booked_mhz > 0)
    book = np.stack([trace.cores[ok].astype(np.float64), trace.cpu_booked_mhz[ok].astype(np.float64),
                     trace.ram_booked_mb[ok].astype(np.float64)], axis=1)
    kinds, count = np.unique(book, axis=0, return_counts=True)
    return kinds, count / count.sum()


def utilization(trace: Trace) -> tuple[np.ndarray, np.ndarray | None]:
    """(n_steps, n_vms) CPU demand / booked CPU, and RAM demand / booked RAM (None without RAM), float32;
    0 where the booking is unknown. Values above the booking are kept."""
    def frac(x: np.ndarray, booked: np.ndarray) -> np.ndarray:
        b = np.where(np.isfinite(booked) & (booked > 0), booked, np.inf).astype(np.float32)
        return (x / b[None, :]).astype(np.float32)

    cpu = trace.cpu if trace.cpu_unit == "fraction" else frac(trace.cpu, trace.cpu_booked_mhz)
    ram = None if trace.ram_mb is None else frac(trace.ram_mb, trace.ram_booked_mb)
    return np.ascontiguousarray(cpu, dtype=np.float32), ram
