"""The *realistic* mode of CloudSim's PlanetLab experiments: the same workload and park on kumo's general
engine with the ``consolidation`` controller (:mod:`kumo.policies.consolidation`), CloudSim's quirks fixed.

Differences from the ``cloudsim`` compatibility mode (:data:`DIFFERENCES`, one row per item):

=======================  =============================================  =============================================
aspect                   cloudsim mode (CloudSim 3.0.3/4.0)              realistic mode (kumo engine)
=======================  =============================================  =============================================
VM lifetime              a VM dies at the first update where its          VMs run the whole day; 0 % demand is idle,
                         demand is exactly 0 (532 of 1052 VMs)            not finished
demand model             linear interpolation at every event time        one trace sample per 300 s step (piecewise
                                                                          constant), as recorded
idle hosts               a host at 0 % utilization books no energy       a powered host draws its idle power; hosts
                         although it is never switched off                without VMs are switched off
energy                   trapezoid between update instants               exact integral of piecewise-constant power,
                                                                          migrations and boots accounted to the second
RAM                      booked only at t = 0; never constrains a        booked RAM must fit ``ram_mb x
                         migration                                        ram_overcommit`` on every target
initial placement        PABFD with every host at P(0): spreads VMs      first fit by booked CPU (packs)
                         over all 800 hosts
waking a host            an empty host's current power counts as P(0),   an off host's current power is 0, so PABFD
                         so waking it looks as cheap as filling one      charges its idle power when it wakes it
underload round          hosts that just received VMs can be emptied     a host that sent or received a VM is not
                         again; a VM can migrate twice at once            emptied in the same round; a VM moves once
SLATAH                   a host receiving a VM counts as violating       time with CPU demand above capacity / time on
                         (10 % allocated vs 100 % requested); floor()
                         and 0.9/0.9 rounding also count
PDM                      from per-event VM state histories               source CPU loss x demand x duration / demand
per-PE cap               a 1-PE VM is capped at one physical PE          CPU is shared per host (no per-core cap)
LRR                      equals LR (weights never applied)               the detector's default (CloudSim-compatible)
random selection         unseeded java.util.Random                       seeded numpy Generator (both modes)
NonPowerAware            all 800 hosts at P(1) for the whole day         all hosts on all day at P(u)
=======================  =============================================  =============================================
"""

from __future__ import annotations

from typing import Any

from kumo.errors import ConfigError

#: (aspect, cloudsim mode, realistic mode), as in the module docstring
DIFFERENCES: list[tuple[str, str, str]] = [
    ("VM lifetime", "a VM dies when its demand is exactly 0 (532 of 1052 VMs on 20110303)",
     "VMs run all day; 0 % demand is idle"),
    ("demand model", "linear interpolation of the trace at every event time", "one sample per 300 s step"),
    ("idle hosts", "a host at 0 % books no energy but is never switched off",
     "powered hosts draw idle power; empty hosts are switched off"),
    ("energy", "trapezoid between update instants", "exact integral of piecewise-constant power"),
    ("RAM", "booked only at t = 0, never constrains a migration", "booked RAM must fit on every target"),
    ("initial placement", "PABFD with all hosts at P(0): spreads over 800 hosts", "first fit by booked CPU"),
    ("waking a host", "empty host's power counted as P(0)", "off host's power is 0: waking costs idle power"),
    ("underload round", "hosts that just received VMs may be emptied; a VM can migrate twice",
     "senders/receivers are not emptied in the same round; one move per VM"),
    ("SLATAH", "migration targets always count as violating; rounding counts",
     "time with demand above capacity / time on"),
    ("PDM", "from per-event VM state histories", "source CPU loss x demand x duration / demand"),
    ("per-PE cap", "a 1-PE VM is capped at one physical PE", "CPU shared per host"),
    ("NonPowerAware", "all 800 hosts at P(1) all day", "all hosts on all day at P(u)"),
]


def scenario_dict(policy: str, source: str, seed: int = 0, fmt: str | None = None) -> dict[str, Any]:
    """The scenario data of one policy on CloudSim's PlanetLab park (``kumo.config.planetlab_cloudsim_dict``)."""
    from kumo.config import planetlab_cloudsim_dict
    from kumo.studies.cloudsim.replay import _parse

    kind, det, sel = _parse(policy)
    data = planetlab_cloudsim_dict(source)
    data["name"] = f"planetlab-{policy}-realistic"
    data["seed"] = seed
    if fmt is not None:
        data["trace"]["format"] = fmt
    data["record_host_steps"] = True
    data["record_vm_steps"] = True
    data["migration"] = {"model": "cloudsim"}
    if kind == "npa":
        data["power_management"] = {"switch_off_idle": False}
    elif kind == "dvfs":
        data["power_management"] = {"switch_off_idle": True}
    else:
        data["power_management"] = {"switch_off_idle": True}
        data["controller"] = {"name": "consolidation", "params": {"detection": det, "selection": sel}}
    return data


def run_realistic(policy: str, date: str = "20110303", trace: Any | None = None, seed: int = 0) -> dict[str, float]:
    """Run ``policy`` in the realistic mode and return the metrics of :func:`kumo.studies.cloudsim.run_cloudsim`."""
    from kumo.config import parse
    from kumo.engine import run
    from kumo.studies.cloudsim.metrics import consolidation_metrics
    from kumo.studies.cloudsim.replay import planetlab_dir

    if date == "20110303" or trace is not None:
        source, fmt = "planetlab-20110303", None
    else:
        source, fmt = str(planetlab_dir(date)), "planetlab"
    if trace is not None and getattr(trace, "cpu_unit", "fraction") != "fraction":
        raise ConfigError(["trace: the realistic PlanetLab mode needs a fraction-unit trace"])
    scenario = parse(scenario_dict(policy, source, seed, fmt), f"realistic {policy}")
    result = run(scenario, trace)
    return consolidation_metrics(result)
