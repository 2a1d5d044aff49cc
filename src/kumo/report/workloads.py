"""A synthetic workload beside its sources: arrival rate over the day, lifetime CDF, utilization
distribution (``scripts/synth_figure.py`` draws ``docs/figures/synth-vs-source.png``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kumo.report import _plt
from kumo.traces.base import Trace
from kumo.traces.synth_fit import diurnal_profile, lifetimes, utilization

__all__ = ["plot_synth_vs_source"]

SOURCE = {"color": "#1f77b4"}
SYNTH = {"color": "#d62728", "linestyle": "--"}


def _load(trace: Trace | str | Path) -> Trace:
    if isinstance(trace, Trace):
        return trace
    from kumo.traces import load

    return load(trace)


def _alive_values(tr: Trace, max_values: int = 2_000_000) -> np.ndarray:
    """CPU demand / booking over the VM-steps where VMs are alive, demand above the booking counted at the
    booking (as the generator clips it; the engine caps it too); an even subsample above ``max_values``."""
    cpu, _ = utilization(tr)
    values = np.minimum(cpu[tr.alive()], 1.0)
    if len(values) > max_values:
        values = values[:: len(values) // max_values + 1]
    return np.asarray(values, dtype=np.float64)


def plot_synth_vs_source(synth: Trace | str | Path, arrival_source: Trace | str | Path,
                         utilization_source: Trace | str | Path, path: str | Path, title: str | None = None) -> Path:
    """Three panels: relative arrival rate by hour of day (fitted profiles, mean 1), the CDF of complete
    lifetimes, and the distribution of CPU utilization of alive VMs, synthetic beside source.

    Parameters
    ----------
    synth : the generated trace (or its file).
    arrival_source, utilization_source : the traces it was fitted and resampled from (names, files or traces).
    path : output file (PNG, PDF, SVG by suffix).
    """
    plt = _plt()
    syn, arr, uti = _load(synth), _load(arrival_source), _load(utilization_source)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    hours = np.arange(25)
    ax = axes[0]
    for tr, label, style in ((arr, f"source ({arr.name})", SOURCE), (syn, f"synthetic ({syn.name})", SYNTH)):
        prof = diurnal_profile(tr)
        ax.step(hours, np.r_[prof, prof[-1]], where="post", label=label, **style)
    ax.set_xlabel("hour of day (UTC)")
    ax.set_ylabel("arrival rate / mean rate")
    ax.set_title("arrivals over the day", fontsize=10)
    ax.set_xticks(range(0, 25, 3))
    ax = axes[1]
    for tr, label, style in ((arr, f"source ({arr.name})", SOURCE), (syn, f"synthetic ({syn.name})", SYNTH)):
        life = np.sort(lifetimes(tr).seconds) / 3600
        if len(life):
            ax.step(life, np.arange(1, len(life) + 1) / len(life), where="post", label=label, **style)
    ax.set_xscale("log")
    ax.set_xlabel("lifetime (h, whole steps)")
    ax.set_ylabel("share of complete lifetimes <= x")
    ax.set_title("lifetime CDF", fontsize=10)
    ax = axes[2]
    bins = np.linspace(0, 1, 41)
    ax.hist(_alive_values(uti), bins=bins, density=True, alpha=0.5, label=f"source ({uti.name})", color="#1f77b4")
    ax.hist(_alive_values(syn), bins=bins, density=True, histtype="step", linewidth=1.5,
            label=f"synthetic ({syn.name})", color="#d62728")
    ax.set_yscale("log")
    ax.set_xlabel("CPU demand / booked CPU (alive VM-steps; above 1 at 1)")
    ax.set_ylabel("density")
    ax.set_title("utilization", fontsize=10)
    for a in axes:
        a.grid(alpha=0.3)
        a.legend(fontsize=8)
    fig.suptitle(title or f"{syn.name}: {syn.n_vms:,} VMs x {syn.n_steps} steps beside its sources", fontsize=11)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
