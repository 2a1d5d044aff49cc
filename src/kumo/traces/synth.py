"""A workload generator: VMs that arrive, live and leave, with utilization resampled from a real trace.

``synthesize(SynthSpec(vms=100_000, days=1), seed=...)`` returns a :class:`~kumo.traces.base.Trace` (save it
with :func:`kumo.traces.save`; ``kumo trace synth OUT.kumo --vms 100000`` does both). The parts, each drawn
from its own seeded stream (so changing one option leaves the others' draws alone):

- **Arrivals**: an inhomogeneous Poisson process of rate lambda(t) = rate x diurnal[hour(t)] x
  weekly[weekday(t)] x bursts(t). With ``vms = N`` (the default) the number of arrivals is exactly N: given
  its count, a Poisson process's arrival times are N independent draws from lambda(t) / its integral, drawn
  here per step (a multinomial over the steps). With ``rate_per_h`` instead, the count is Poisson too.
  ``diurnal`` and ``weekly`` are fitted from the arrival source (:func:`~kumo.traces.synth_fit.diurnal_profile`:
  arrivals per hour of day divided by the steps of that hour, scaled to mean 1), or ``"flat"``, or given
  (24 or 7 factors). ``bursts`` multiply the rate by a factor for a while: ``(start_h, duration_h, factor)``.
- **Lifetimes**: ``lognormal`` (median and sigma; by default fitted by maximum likelihood to the arrival
  source's lifetimes as its grid shows them, whole steps from a uniform phase, VMs still running at its end
  counted as censored: :meth:`~kumo.traces.synth_fit.Lifetimes.lognormal`), ``pareto`` (alpha and minimum;
  by default the maximum-likelihood fit to the source's complete whole-step lifetimes, the smallest as the
  minimum), or ``empirical`` (the source's complete lifetimes, drawn as they are, in whole steps). A VM
  arriving at step a with lifetime L lives ``ceil((phase + L) / step_s)`` steps, phase uniform in the step
  (the way a reader grids a real VM), at least one, cut at the horizon; ``max_lifetime_s`` caps the draws.
  ``initial_vms`` start already running at step 0, with the residual lifetimes of a stationary system (a
  length-biased draw times a uniform fraction).
- **Sizes**: a catalogue of instance types drawn by weight: ``"general"`` (:data:`GENERAL`), ``"source"``
  (the arrival source's bookings and their shares) or your own list of :class:`InstanceType`.
- **Utilization**: each VM copies the CPU (and RAM, when the source has it) utilization, as a fraction of
  the booking, of a random source VM, from a random offset inside that VM's life, wrapping around its life;
  with ``align_time_of_day`` the offset keeps the hour of day, so the daily rhythm stays in phase. CPU gets
  multiplicative noise ``x (1 + noise x N(0, 1))``, then is clipped to [0, 1] of the booking.

Everything is vectorized over VMs and steps: 100,000 VMs x 288 steps take a few seconds.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from kumo.errors import ConfigError
from kumo.traces import synth_fit as fit
from kumo.traces.base import Trace

LIFETIMES = ("lognormal", "pareto", "empirical")
PROFILES = ("source", "flat")


@dataclass(frozen=True)
class InstanceType:
    """A VM size of the catalogue: vCPUs, RAM, and its share of the arrivals (weights need not sum to 1)."""

    name: str
    cores: int
    ram_mb: float
    weight: float = 1.0
    cpu_mhz: float | None = None  #: booked MHz of the whole VM; cores x ``SynthSpec.core_mhz`` when None


#: the default catalogue: general-purpose sizes (1..16 vCPUs at 2 GiB... 4 GiB per vCPU), small ones commonest
GENERAL = (
    InstanceType("small", 1, 2048, 0.30),
    InstanceType("medium", 2, 4096, 0.30),
    InstanceType("large", 4, 16384, 0.20),
    InstanceType("xlarge", 8, 32768, 0.15),
    InstanceType("2xlarge", 16, 65536, 0.05),
)


@dataclass(frozen=True)
class SynthSpec:
    """Every option of the generator (see the module docstring and ``docs/guide/workloads.md``)."""

    vms: int | None = 1000
    rate_per_h: float | None = None
    days: float = 1.0
    step_s: float = 300.0
    start_epoch_s: float | None = None
    initial_vms: int = 0
    diurnal: str | tuple[float, ...] = "source"
    weekly: str | tuple[float, ...] = "flat"
    bursts: tuple[tuple[float, float, float], ...] = ()
    lifetime: str = "lognormal"
    lifetime_median_s: float | None = None
    lifetime_sigma: float | None = None
    pareto_alpha: float | None = None
    pareto_min_s: float | None = None
    max_lifetime_s: float | None = None
    catalogue: str | tuple[InstanceType, ...] = "general"
    core_mhz: float = 2600.0
    arrival_source: str = "surf-week"
    utilization_source: str = "bitbrains-rnd"
    noise: float = 0.05
    align_time_of_day: bool = True
    seed: int = 0
    name: str = "synth"

    def issues(self) -> list[str]:
        """Every problem of the spec as ``field: message``."""
        out: list[str] = []

        def bad(name: str, msg: str) -> None:
            out.append(f"{name}: {msg}, got {getattr(self, name)!r}")

        if (self.vms is None) == (self.rate_per_h is None):
            out.append("vms, rate_per_h: give exactly one (an exact count, or a mean rate per hour)")
        if self.vms is not None and self.vms < 1:
            bad("vms", "must be >= 1")
        if self.rate_per_h is not None and not (math.isfinite(self.rate_per_h) and self.rate_per_h > 0):
            bad("rate_per_h", "must be > 0")
        for name in ("days", "step_s", "core_mhz"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                bad(name, "must be > 0")
        if self.initial_vms < 0:
            bad("initial_vms", "must be >= 0")
        if not (math.isfinite(self.noise) and self.noise >= 0):
            bad("noise", "must be >= 0")
        if self.lifetime not in LIFETIMES:
            bad("lifetime", f"must be one of {', '.join(LIFETIMES)}")
        for name in ("lifetime_median_s", "lifetime_sigma", "pareto_alpha", "pareto_min_s", "max_lifetime_s"):
            v = getattr(self, name)
            if v is not None and not (math.isfinite(v) and v > 0):
                bad(name, "must be > 0")
        for name, n in (("diurnal", 24), ("weekly", 7)):
            v = getattr(self, name)
            if isinstance(v, str):
                if v not in PROFILES:
                    bad(name, f"must be {' or '.join(PROFILES)}, or {n} factors")
            elif len(v) != n or any(not (math.isfinite(x) and x >= 0) for x in v) or not any(v):
                bad(name, f"needs {n} factors >= 0, not all 0")
        for i, b in enumerate(self.bursts):
            if len(b) != 3 or b[0] < 0 or b[1] <= 0 or b[2] < 0:
                out.append(f"bursts[{i}]: must be (start_h >= 0, duration_h > 0, factor >= 0), got {b!r}")
        if isinstance(self.catalogue, str):
            if self.catalogue not in ("general", "source"):
                bad("catalogue", "must be 'general', 'source' or a list of instance types")
        elif not self.catalogue or any(t.cores < 1 or t.ram_mb <= 0 or t.weight < 0 for t in self.catalogue) \
                or not sum(t.weight for t in self.catalogue) > 0:
            bad("catalogue", "needs types with cores >= 1, ram_mb > 0, weights >= 0 and not all 0")
        return out


@dataclass
class Fitted:
    """What was used, fitted or given: recorded in the trace's provenance (``synth`` key, JSON)."""

    diurnal: list[float]
    weekly: list[float]
    lifetime: dict[str, float | str]
    complete_lifetimes: int = 0
    start_epoch_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def _profiles(spec: SynthSpec, src: Trace | None) -> tuple[np.ndarray, np.ndarray]:
    def one(value: str | tuple[float, ...], n: int, fitter: Any) -> np.ndarray:
        if value == "flat":
            return np.ones(n)
        if isinstance(value, str):
            assert src is not None
            return np.asarray(fitter(src), dtype=np.float64)
        return np.asarray(value, dtype=np.float64)

    return one(spec.diurnal, 24, fit.diurnal_profile), one(spec.weekly, 7, fit.weekly_profile)


def _rate(spec: SynthSpec, t0: float, n_steps: int, diurnal: np.ndarray, weekly: np.ndarray) -> np.ndarray:
    """(n_steps,) relative arrival rate of each step (profiles x bursts)."""
    t = t0 + np.arange(n_steps) * spec.step_s
    rate = diurnal[fit.hour_of_day(t)] * weekly[fit.day_of_week(t)]
    rel_h = (t - t0) / fit.HOUR_S
    for start, dur, factor in spec.bursts:
        rate = np.where((rel_h >= start) & (rel_h < start + dur), rate * factor, rate)
    return rate


def _lifetime_sampler(spec: SynthSpec, src: Trace | None, fitted: Fitted) -> Any:
    """A function (rng, n, length_biased) -> lifetimes in s, with its parameters recorded in ``fitted``."""
    life = fit.lifetimes(src) if src is not None else None
    need_fit = (spec.lifetime == "empirical"
                or (spec.lifetime == "lognormal" and None in (spec.lifetime_median_s, spec.lifetime_sigma))
                or (spec.lifetime == "pareto" and None in (spec.pareto_alpha, spec.pareto_min_s)))
    if need_fit and (life is None or len(life.seconds) < fit.MIN_LIFETIMES):
        n = 0 if life is None else len(life.seconds)
        raise ConfigError([f"lifetime: the arrival source has {n} complete lifetimes (< {fit.MIN_LIFETIMES}) to fit "
                           f"or resample; give the {spec.lifetime} parameters"], "kumo trace synth")
    if life is not None:
        fitted.complete_lifetimes = len(life.seconds)
    if spec.lifetime == "lognormal":
        med, sig = life.lognormal() if need_fit and life is not None else (0.0, 0.0)
        med = spec.lifetime_median_s or med
        sig = spec.lifetime_sigma if spec.lifetime_sigma is not None else sig
        fitted.lifetime = {"kind": "lognormal", "median_s": med, "sigma": sig}
        # length-biased lognormal (the lifetimes of VMs found running): mu + sigma^2
        return lambda rng, n, biased: np.exp(rng.normal(math.log(med) + (sig * sig if biased else 0.0), sig, n))
    if spec.lifetime == "pareto":
        alpha, xmin = life.pareto() if need_fit and life is not None else (0.0, 0.0)
        alpha = spec.pareto_alpha or alpha
        xmin = spec.pareto_min_s or xmin
        fitted.lifetime = {"kind": "pareto", "alpha": alpha, "min_s": xmin}

        def pareto(rng: np.random.Generator, n: int, biased: bool) -> np.ndarray:
            a = alpha - 1.0 if biased and alpha > 1.0 else alpha  # length-biased Pareto(alpha) is Pareto(alpha-1)
            return np.asarray(xmin * (1.0 - rng.random(n)) ** (-1.0 / a))

        return pareto
    assert life is not None
    sample = life.seconds
    fitted.lifetime = {"kind": "empirical", "from": "arrival source", "median_s": float(np.median(sample))}
    weights = sample / sample.sum()
    return lambda rng, n, biased: rng.choice(sample, n, p=weights if biased else None)


def _catalogue(spec: SynthSpec, src: Trace | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(k, 3) cores, MHz, MB of each type, their probabilities, names."""
    if spec.catalogue == "source":
        if src is None:
            raise ConfigError(["catalogue: 'source' needs an arrival source"], "kumo trace synth")
        kinds, share = fit.sizes(src)
        return kinds, share, [f"{int(c)}c-{m:g}MHz-{r:g}MB" for c, m, r in kinds]
    types = GENERAL if spec.catalogue == "general" else spec.catalogue
    assert not isinstance(types, str)
    kinds = np.array([[t.cores, t.cpu_mhz if t.cpu_mhz is not None else t.cores * spec.core_mhz, t.ram_mb]
                      for t in types], dtype=np.float64)
    w = np.array([t.weight for t in types], dtype=np.float64)
    return kinds, w / w.sum(), [t.name for t in types]


def synthesize(spec: SynthSpec, arrival_source: Trace | None = None, utilization_source: Trace | None = None) -> Trace:
    """Generate a workload (this module's docstring); deterministic for ``spec.seed``.

    Parameters
    ----------
    spec : the options.
    arrival_source, utilization_source : traces to fit and resample from; loaded from
        ``spec.arrival_source`` / ``spec.utilization_source`` (embedded names or paths) when None. The arrival
        source is only read when something is fitted from it.

    Returns
    -------
    Trace
        ``cpu`` (n_steps, n_vms) MHz, ``ram_mb`` when the utilization source has RAM, bookings from the
        catalogue, arrivals and departures; ``provenance["synth"]`` holds the spec and what was fitted (JSON).
    """
    issues = spec.issues()
    if issues:
        raise ConfigError(issues, "kumo trace synth")
    from kumo.traces import load

    uses_source = ("source" in (spec.diurnal, spec.weekly, spec.catalogue) or spec.lifetime == "empirical"
                   or (spec.lifetime == "lognormal" and None in (spec.lifetime_median_s, spec.lifetime_sigma))
                   or (spec.lifetime == "pareto" and None in (spec.pareto_alpha, spec.pareto_min_s))
                   or spec.start_epoch_s is None)
    src = arrival_source if arrival_source is not None or not uses_source else load(spec.arrival_source)
    util_src = utilization_source if utilization_source is not None else load(spec.utilization_source)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(spec.seed).spawn(5)]
    r_arrive, r_life, r_size, r_util, r_noise = streams

    dt = float(spec.step_s)
    n_steps = max(1, int(math.ceil(spec.days * fit.DAY_S / dt)))
    t0 = spec.start_epoch_s if spec.start_epoch_s is not None else (
        math.floor(src.start_epoch_s / fit.DAY_S) * fit.DAY_S if src is not None and src.start_epoch_s > 0 else 0.0)
    diurnal, weekly = _profiles(spec, src)
    fitted = Fitted(diurnal=diurnal.round(6).tolist(), weekly=weekly.round(6).tolist(), lifetime={},
                    start_epoch_s=t0)
    rate = _rate(spec, t0, n_steps, diurnal, weekly)
    if not rate.sum() > 0:
        raise ConfigError(["diurnal, weekly, bursts: the arrival rate is 0 over the whole horizon"], "kumo trace synth")
    if spec.vms is not None:
        per_step = r_arrive.multinomial(spec.vms, rate / rate.sum())
    else:
        assert spec.rate_per_h is not None
        per_step = r_arrive.poisson(spec.rate_per_h * dt / fit.HOUR_S * rate)
    arrive = np.concatenate([np.zeros(spec.initial_vms, np.int64), np.repeat(np.arange(n_steps), per_step)])
    n = len(arrive)
    if n == 0:
        raise ConfigError(["rate_per_h: no VM arrived in the horizon; raise the rate or the days"], "kumo trace synth")

    draw = _lifetime_sampler(spec, src, fitted)
    life_s = np.empty(n)
    life_s[spec.initial_vms:] = draw(r_life, n - spec.initial_vms, False)
    if spec.initial_vms:
        life_s[:spec.initial_vms] = draw(r_life, spec.initial_vms, True) * r_life.random(spec.initial_vms)
    if spec.max_lifetime_s is not None:
        life_s = np.minimum(life_s, spec.max_lifetime_s)
    # a VM arrives at a uniform moment of its first step, as a reader grids a real one; empirical lifetimes
    # are already whole steps of the source
    phase = np.zeros(n) if spec.lifetime == "empirical" else r_life.random(n) * dt
    phase[:spec.initial_vms] = 0.0
    steps = np.maximum(1, np.ceil((phase + life_s) / dt - 1e-9)).astype(np.int64)
    depart = np.minimum(arrive + steps, n_steps)

    kinds, prob, type_names = _catalogue(spec, src)
    kind = r_size.choice(len(kinds), n, p=prob)
    cores, booked_mhz, booked_mb = kinds[kind, 0], kinds[kind, 1], kinds[kind, 2]
    cpu, ram = _utilization(util_src, arrive, depart, n_steps, dt, t0, spec, r_util, r_noise)
    cpu *= booked_mhz.astype(np.float32)[None, :]
    if ram is not None:
        ram *= booked_mb.astype(np.float32)[None, :]
    fitted.extra = {"types": type_names, "utilization_vms": int(util_src.n_vms)}
    meta = {k: v for k, v in asdict(spec).items() if k != "catalogue"}
    meta["catalogue"] = spec.catalogue if isinstance(spec.catalogue, str) else [asdict(t) for t in spec.catalogue]
    return Trace(
        name=spec.name,
        step_s=dt,
        start_epoch_s=float(t0),
        vm_ids=np.array([f"{spec.name}-{i:0{len(str(n))}d}" for i in range(n)], dtype=str),
        cpu=cpu,
        ram_mb=ram,
        cores=cores.astype(np.int32),
        cpu_booked_mhz=booked_mhz.astype(np.float32),
        ram_booked_mb=booked_mb.astype(np.float32),
        arrive_step=arrive.astype(np.int32),
        depart_step=depart.astype(np.int32),
        cpu_unit="mhz",
        quirks={"vms_initial": spec.initial_vms, "vms_arriving": n - spec.initial_vms,
                "vms_cut_at_horizon": int(np.count_nonzero(arrive + steps > n_steps))},
        provenance={"format": "synth", "arrival_source": spec.arrival_source if src is not None else "",
                    "utilization_source": spec.utilization_source,
                    "synth": json.dumps({"spec": meta, "fitted": asdict(fitted)}, sort_keys=True, default=str)},
    )


def _utilization(src: Trace, arrive: np.ndarray, depart: np.ndarray, n_steps: int, dt: float, t0: float,
                 spec: SynthSpec, rng: np.random.Generator,
                 noise_rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
    """(n_steps, n) CPU and RAM fractions of the booking, copied from random source VMs (module docstring)."""
    u_cpu, u_ram = fit.utilization(src)
    s_a, s_d = src.arrive_step.astype(np.int64), src.depart_step.astype(np.int64)
    s_len = s_d - s_a
    pool = np.flatnonzero(s_len >= max(1, int(math.ceil(fit.HOUR_S / src.step_s))))
    if not len(pool):
        pool = np.flatnonzero(s_len > 0)
    n = len(arrive)
    pick = pool[rng.integers(0, len(pool), n)]
    base = s_a[pick] + (rng.random(n) * s_len[pick]).astype(np.int64)
    if spec.align_time_of_day and src.start_epoch_s > 0:
        per_day = int(round(fit.DAY_S / src.step_s))
        want = np.floor(((t0 + arrive * dt) % fit.DAY_S) / src.step_s).astype(np.int64)
        have = (np.floor(src.start_epoch_s / src.step_s).astype(np.int64) + base) % per_day
        base = base - (have - want) % per_day
        base = np.where(base < s_a[pick], base + per_day, base)
    lens = depart - arrive
    vm = np.repeat(np.arange(n), lens)
    j = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens)
    pos = (base[vm] - s_a[pick[vm]]) + np.floor(j * dt / src.step_s).astype(np.int64)
    row = s_a[pick[vm]] + pos % s_len[pick[vm]]
    col = pick[vm]
    k = arrive[vm] + j
    cpu = np.zeros((n_steps, n), np.float32)
    x = u_cpu[row, col]
    if spec.noise > 0:
        x = x * (1.0 + spec.noise * noise_rng.standard_normal(len(x), dtype=np.float32))
    cpu[k, vm] = np.clip(x, 0.0, 1.0)
    ram = None
    if u_ram is not None:
        ram = np.zeros((n_steps, n), np.float32)
        ram[k, vm] = np.clip(u_ram[row, col], 0.0, 1.0)
    return cpu, ram


def instance_types(rows: Sequence[dict[str, Any]]) -> tuple[InstanceType, ...]:
    """Instance types from plain tables (``name``, ``cores``, ``ram_mb`` or ``ram_gb``, ``weight``,
    ``cpu_mhz``), e.g. a TOML file's ``[[types]]``; a ConfigError lists every problem."""
    out, issues = [], []
    for i, r in enumerate(rows):
        unknown = set(r) - {"name", "cores", "ram_mb", "ram_gb", "weight", "cpu_mhz"}
        if unknown:
            issues.append(f"types[{i}]: unknown key(s) {', '.join(sorted(unknown))}")
            continue
        try:
            ram = float(r["ram_mb"]) if "ram_mb" in r else float(r["ram_gb"]) * 1024.0
            out.append(InstanceType(str(r.get("name", f"type{i}")), int(r["cores"]), ram, float(r.get("weight", 1.0)),
                                    None if r.get("cpu_mhz") is None else float(r["cpu_mhz"])))
        except (KeyError, TypeError, ValueError) as exc:
            issues.append(f"types[{i}]: needs cores and ram_mb (or ram_gb) as numbers ({exc})")
    if issues:
        raise ConfigError(issues, "catalogue")
    return tuple(out)
