"""Figures of the federation comparisons (:mod:`kumo.federation.report` builds the tables)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kumo.report import _plt

__all__ = ["plot_brokers", "plot_models"]


def plot_models(models: pd.DataFrame, path: str | Path) -> Path:
    """Four panels (scalability, performance, reliability, cost), one bar per model and variant."""
    plt = _plt()

    colors = {"private": "#4c72b0", "community": "#55a868", "public": "#c44e52", "hybrid": "#8172b2"}
    panels = [("served_pct", "scalability: VMs served (%)"), ("breaks_per_1000_vm_h", "performance: CPU+RAM breaks per 1000 VM-h"),
              ("availability_pct", "reliability: availability (%)"), ("cost_per_vm_h", "cost: per VM-hour (currency)")]
    fig, axes = plt.subplots(2, 2, figsize=(13, 8.5))
    y = range(len(models))
    for ax, (col, title) in zip(axes.flat, panels, strict=True):
        bars = ax.barh(list(y), models[col], color=[colors.get(m, "grey") for m in models["model"]])
        for b, c in zip(bars, models["constraints"], strict=True):
            if c == "none":
                b.set_hatch("//")
                b.set_alpha(0.6)
        ax.set_yticks(list(y), models["label"], fontsize=8)
        ax.invert_yaxis()
        ax.set_title(title, fontsize=10)
        lo, hi = models[col].min(), models[col].max()
        if col in ("served_pct", "availability_pct"):
            ax.set_xlim(max(0.0, lo - (hi - lo) * 0.5 - 0.5), hi + (hi - lo) * 0.1 + 0.1)
        for b, v in zip(bars, models[col], strict=True):
            ax.text(b.get_width(), b.get_y() + b.get_height() / 2, f" {v:.4g}", va="center", fontsize=7)
    fig.suptitle("Provisioning models on the Bitbrains month (hatched: without residency constraints)", fontsize=11)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def plot_brokers(brokers: pd.DataFrame, path: str | Path) -> Path:
    """Profit and SLA breaks per provider, one bar group per broker."""
    plt = _plt()

    provs = [p for p in dict.fromkeys(brokers["provider"]) if p != "federation"]
    BROKERS = list(dict.fromkeys(brokers["broker"]))  # noqa: N806  (in the table's order)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    width = 0.8 / len(BROKERS)
    for ax, (col, title) in zip(axes, [("profit", "profit (currency)"), ("breaks_hosted", "CPU+RAM breaks on its hosts"),
                                       ("breaks_customers", "breaks of its customers' VMs")], strict=True):
        for i, b in enumerate(BROKERS):
            sub = brokers[brokers["broker"] == b].set_index("provider")
            ax.bar([j + i * width for j in range(len(provs))], [sub.loc[p, col] for p in provs], width, label=b)
        ax.set_xticks([j + width * (len(BROKERS) - 1) / 2 for j in range(len(provs))], provs)
        ax.set_title(title, fontsize=10)
    axes[0].legend(title="broker", fontsize=8)
    fig.suptitle("Brokers in a three-provider federation (gamma overflows; alpha cheap but overcommitted)", fontsize=11)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
