"""The figures of a run's report, each from result tables (never from the engine): power and energy over
time, hosts on, a host-utilization heatmap, SLA shortfalls over time and by VM, migrations by cause, the
ledger's breaks over time. Each function returns a matplotlib Figure."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kumo.report import _plt

__all__ = ["breaks_over_time", "host_heatmap", "migrations_by_cause", "power_and_energy", "shortfall_by_vm",
           "shortfall_over_time"]


def _hours(steps: pd.DataFrame) -> np.ndarray:
    return steps["t_s"].to_numpy(dtype=float) / 3600


def power_and_energy(steps: pd.DataFrame, step_s: float) -> Any:
    """IT power (kW, the step's energy over its length) and cumulative energy (kWh) against time; hosts on."""
    plt = _plt()
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(9, 5.2), sharex=True)
    h = _hours(steps)
    e = steps["energy_kwh"].to_numpy(dtype=float)
    a1.plot(h, e / (step_s / 3600), lw=0.8, color="#1f77b4", label="IT power (kW)")
    a1.set_ylabel("IT power (kW)")
    a1.set_ylim(bottom=0)
    ax = a1.twinx()
    ax.plot(h, np.cumsum(e), color="#d62728", lw=1.2, label="cumulative energy (kWh)")
    ax.set_ylabel("energy (kWh)")
    ax.set_ylim(bottom=0)
    a2.step(h, steps["active_hosts"], where="post", color="#2ca02c", lw=0.9)
    a2.set_ylabel("hosts on")
    a2.set_xlabel("time (h)")
    a2.set_ylim(bottom=0)
    for a in (a1, a2):
        a.grid(alpha=0.3)
    fig.suptitle("Power, energy and hosts on", fontsize=10)
    fig.tight_layout()
    return fig


def host_heatmap(util: np.ndarray, step_s: float) -> Any:
    """CPU utilization of every host (rows) over time (columns), demand / capacity, capped at 1.5."""
    plt = _plt()
    n_steps, n_hosts = util.shape
    # at most ~600 columns: a month at 300 s is averaged over 4.8 h bins, which a screen shows anyway
    k = max(1, int(np.ceil(n_steps / 600)))
    m = n_steps // k * k
    binned = np.nanmean(util[:m].reshape(-1, k, n_hosts), axis=1).T if m else util.T
    fig, ax = plt.subplots(figsize=(9, max(2.5, min(9.0, 0.06 * n_hosts + 1.8))))
    im = ax.imshow(np.clip(binned, 0, 1.5), aspect="auto", interpolation="nearest", cmap="viridis",
                   extent=(0, m * step_s / 3600 if m else n_steps * step_s / 3600, n_hosts - 0.5, -0.5), vmin=0,
                   vmax=1.5)
    fig.colorbar(im, ax=ax, label="CPU demand / capacity")
    ax.set_xlabel("time (h)")
    ax.set_ylabel("host")
    ax.set_title(f"Host CPU utilization (mean over {k} step{'s' if k > 1 else ''} per column)", fontsize=10)
    fig.tight_layout()
    return fig


def shortfall_over_time(steps: pd.DataFrame) -> Any:
    """CPU demand not delivered (MHz) and RAM shortfall (MB) per step."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 3.2))
    h = _hours(steps)
    ax.plot(h, (steps["cpu_demand_mhz"] - steps["cpu_delivered_mhz"]).clip(lower=0) / 1000, lw=0.8,
            label="CPU demand not delivered (GHz)")
    ax.plot(h, steps["ram_shortfall_mb"] / 1024, lw=0.8, label="RAM shortfall (GB)")
    ax.set_xlabel("time (h)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax.set_title("Shortfalls over time", fontsize=10)
    fig.tight_layout()
    return fig


def shortfall_by_vm(vms: pd.DataFrame, top: int = 25) -> Any:
    """The VMs with the most steps short of CPU or RAM."""
    plt = _plt()
    worst = vms.assign(short=vms["cpu_short_steps"] + vms["ram_short_steps"]).nlargest(top, "short")
    worst = worst[worst["short"] > 0]
    fig, ax = plt.subplots(figsize=(9, 3.4))
    labels = worst["vm_id"].astype(str).tolist()
    ax.bar(labels, worst["cpu_short_steps"], label="steps short of CPU", color="#d62728")
    ax.bar(labels, worst["ram_short_steps"], bottom=worst["cpu_short_steps"], label="steps short of RAM",
           color="#ff7f0e")
    ax.set_ylabel("steps (count)")
    ax.set_xlabel("VM")
    ax.tick_params(axis="x", labelrotation=60, labelsize=7)
    ax.legend(fontsize=8)
    ax.set_title(f"The {len(worst)} VMs most often short" if len(worst) else "No VM was ever short", fontsize=10)
    fig.tight_layout()
    return fig


def migrations_by_cause(migrations: pd.DataFrame, refusals: pd.DataFrame | None) -> Any:
    """Migrations started, by cause and status; the engine's refusals by reason."""
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.2))
    if len(migrations):
        ct = migrations.groupby(["cause", "status"]).size().unstack(fill_value=0)
        ct.plot.bar(ax=a1, stacked=True, rot=0)
        a1.legend(fontsize=7, title="status", title_fontsize=7)
    a1.set_title(f"{len(migrations)} migrations by cause", fontsize=10)
    a1.set_ylabel("migrations (count)")
    a1.set_xlabel("")
    if refusals is not None and len(refusals):
        refusals.groupby("reason").size().plot.bar(ax=a2, rot=20, color="#7f7f7f")
        a2.set_xlabel("")
    else:
        a2.axis("off")
        a2.text(0.5, 0.5, "no decision refused", ha="center", va="center", fontsize=10, color="#5a6272")
    a2.set_title(f"{0 if refusals is None else len(refusals)} refused by the engine", fontsize=10)
    fig.tight_layout()
    return fig


def breaks_over_time(ledger: pd.DataFrame, step_s: float) -> Any:
    """The ledger's SLA breaks (penalty lines) per day, by objective."""
    plt = _plt()
    pen = ledger[(ledger["category"] == "penalty") & (ledger["step"] >= 0)]
    fig, ax = plt.subplots(figsize=(9, 3.0))
    if len(pen):
        day = (pen["step"].to_numpy() * step_s // 86400).astype(int)
        ct = pen.assign(day=day).groupby(["day", "item"]).size().unstack(fill_value=0)
        ct.plot.bar(ax=ax, stacked=True, width=0.9, rot=0)
        ax.legend(fontsize=8, title="objective", title_fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    ax.set_xlabel("day")
    ax.set_ylabel("breaks (count)")
    ax.set_title(f"{len(pen)} SLA breaks by day", fontsize=10)
    fig.tight_layout()
    return fig
