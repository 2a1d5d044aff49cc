"""CloudSim compatibility mode: CloudSim 3.0.3/4.0's PlanetLab power experiments, event for event.

:func:`run_cloudsim` replays one of CloudSim's example policies (``npa``, ``dvfs``, ``thr-mmt``, ``lr-mc``, ...)
on a PlanetLab day with CloudSim's timeline and accounting, quirks included, so that the printed metrics
match CloudSim's number for number (``shared/reference/cloudsim-planetlab.md``); ``mode="realistic"`` runs the
same set-up on kumo's general engine instead. What is copied, the differences and the results:
``docs/studies/cloudsim.md``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from kumo.errors import ConfigError
from kumo.studies.cloudsim import _model as M
from kumo.studies.cloudsim._timeline import CloudSimRun

#: detection name -> (registered policy, parameters at CloudSim's example values)
DETECTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "thr": ("thr", {"threshold": 0.8}),
    "iqr": ("iqr", {"safety": 1.5, "fallback_threshold": 0.7, "min_history": 12}),
    "mad": ("mad", {"safety": 2.5, "fallback_threshold": 0.7, "min_history": 12}),
    "lr": ("lr", {"safety": 1.2, "fallback_threshold": 0.7, "min_history": 10}),
    "lrr": ("lrr", {"safety": 1.2, "fallback_threshold": 0.7, "min_history": 10}),
}
SELECTIONS = ("mmt", "mc", "mu", "rs", "hpg", "mm")
#: CloudSim's example set, in the order of its results table
EXAMPLES = ("npa", "dvfs", "thr-mmt", "iqr-mmt", "mad-mmt", "lr-mmt", "lrr-mmt", "lr-mc", "lr-rs", "lr-mu")
#: CloudSim's example class names
CLASS_NAMES = {"npa": "NonPowerAware", "dvfs": "Dvfs"}



def policy_names() -> list[str]:
    """Every policy name :func:`run_cloudsim` accepts."""
    return ["npa", "dvfs"] + [f"{d}-{s}" for d in DETECTIONS for s in SELECTIONS]


def class_name(policy: str) -> str:
    """CloudSim's example name for a policy: ``lr-mmt`` -> ``LrMmt``."""
    if policy in CLASS_NAMES:
        return CLASS_NAMES[policy]
    return "".join(p.capitalize() for p in policy.split("-"))


def _parse(policy: str) -> tuple[str, str | None, str | None]:
    p = policy.strip().lower()
    if p in ("npa", "nonpoweraware", "non-power-aware"):
        return "npa", None, None
    if p == "dvfs":
        return "dvfs", None, None
    det, _, sel = p.partition("-")
    if det not in DETECTIONS or sel not in SELECTIONS:
        raise ConfigError([f"policy: unknown CloudSim policy {policy!r}; valid: npa, dvfs, or <detection>-<selection> "
                           f"with detection in {sorted(DETECTIONS)} and selection in {list(SELECTIONS)}"])
    return "migration", det, sel


# --------------------------------------------------------------------------------------------- data


def planetlab_dir(date: str) -> Path:
    """The folder of a PlanetLab day: ``$KUMO_PLANETLAB_DIR/<date>`` or ``../shared/data/planetlab/<date>``
    next to the working directory or the source tree."""
    roots = []
    if os.environ.get("KUMO_PLANETLAB_DIR"):
        roots.append(Path(os.environ["KUMO_PLANETLAB_DIR"]))
    roots += [Path.cwd().parent / "shared/data/planetlab", Path.cwd() / "../shared/data/planetlab",
              Path(__file__).resolve().parents[5] / "shared/data/planetlab"]
    for root in roots:
        if (root / date).is_dir():
            return root / date
    raise ConfigError([f"date: no PlanetLab folder for {date!r}; looked in {', '.join(str(r) for r in roots)} "
                       "(set KUMO_PLANETLAB_DIR)"])


def load_day(date: str = "20110303") -> Any:
    """The PlanetLab day as a fraction-unit Trace: the folder under ``$KUMO_PLANETLAB_DIR`` when set, else
    the embedded copy (all ten days of CloudSim's examples ship with kumo), else a ``../shared`` folder."""
    from kumo.traces import EMBEDDED, load

    env = os.environ.get("KUMO_PLANETLAB_DIR")
    if env and (Path(env) / date).is_dir():
        return load(str(Path(env) / date), format="planetlab")
    if f"planetlab-{date}" in EMBEDDED:
        return load(f"planetlab-{date}")
    return load(str(planetlab_dir(date)), format="planetlab")


def _percent(trace: Any) -> np.ndarray:
    if getattr(trace, "cpu_unit", "fraction") != "fraction":
        raise ConfigError(["trace: CloudSim mode needs a PlanetLab trace in fraction units (cpu_unit='fraction')"])
    cpu = np.asarray(trace.cpu, dtype=np.float64)
    pct = np.rint(cpu * 100.0)
    if np.any(np.abs(cpu * 100.0 - pct) > 1e-3) or np.any(pct < 0) or np.any(pct > 100):
        raise ConfigError(["trace: CloudSim mode needs whole-percent utilizations (PlanetLab files)"])
    return pct.astype(np.int64)


def run_cloudsim(policy: str, date: str = "20110303", trace: Any | None = None, seed: int = 0,
                 mode: str = "cloudsim") -> dict[str, float]:
    """Run one of CloudSim's PlanetLab examples and return CloudSim's printed metrics.

    Parameters
    ----------
    policy : ``npa``, ``dvfs`` or ``<detection>-<selection>`` (``thr``/``iqr``/``mad``/``lr``/``lrr`` x
        ``mmt``/``mc``/``mu``/``rs``/``hpg``/``mm``), e.g. ``lr-mmt``; see :func:`policy_names`.
    date : PlanetLab day folder name; 20110303 is embedded, others are read from
        ``../shared/data/planetlab`` (or ``$KUMO_PLANETLAB_DIR``).
    trace : a fraction-unit PlanetLab Trace to use instead of the day.
    seed : seeds the random selection (``*-rs``); nothing else is random.
    mode : ``cloudsim`` (this module) or ``realistic`` (the general engine with the ``consolidation``
        controller, see :mod:`kumo.studies.cloudsim.realistic`).

    Returns
    -------
    dict with energy_kwh, migrations, slatah, pdm, slav, esv, sla_overall, sla_average, host_shutdowns,
    time_before_host_shutdown_{mean,std}_s, time_before_vm_migration_{mean,std}_s (fractions, not percent).
    """
    if mode == "realistic":
        from kumo.studies.cloudsim.realistic import run_realistic

        return run_realistic(policy, date=date, trace=trace, seed=seed)
    if mode != "cloudsim":
        raise ConfigError([f"mode: must be 'cloudsim' or 'realistic', got {mode!r}"])
    if trace is None:
        trace = load_day(date)
    return make_run(_percent(trace), policy, seed).run()


def make_run(percent: np.ndarray, policy: str, seed: int = 0, n_hosts: int = M.N_HOSTS,
             record: bool = False) -> CloudSimRun:
    """A :class:`~kumo.studies.cloudsim._timeline.CloudSimRun` for ``policy`` on integer utilizations ``percent``."""
    kind, det, sel = _parse(policy)
    return CloudSimRun(percent, kind, None if det is None else DETECTIONS[det], sel, seed=seed, n_hosts=n_hosts,
                       record=record)
