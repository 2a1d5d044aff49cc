"""Figures from result tables or files: the only package that imports plotting (matplotlib, lazily).

:mod:`kumo.report.federation` draws the federation comparisons.

* :func:`profit_decomposition` — per scheduler, revenue against penalties (CPU, RAM, uptime) and costs
  (energy, hardware), with kumo's profit and the reference profit marked; input is the JSON written by
  ``kumo compare --format json`` or a breakdown table.
* :func:`line_plot` — curves of a model evaluated over one input (``kumo model ... --plot``);
* :func:`sweep_figure` — one metric of a sweep's ``results.csv`` against one axis, a line per value of
  another axis (mean over seeds);
* :func:`learning_curve` — a learned policy's evaluation reward against training steps, with the
  baselines' rewards on the same episodes as horizontal lines (``examples/rl/train_ppo.py`` writes both).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["learning_curve", "line_plot", "profit_decomposition", "sweep_figure"]

_PARTS = (("penalties_cpu", "penalties CPU", "#d62728"), ("penalties_ram", "penalties RAM", "#ff7f0e"),
          ("penalties_uptime", "penalties uptime", "#bcbd22"), ("energy_cost", "energy", "#1f77b4"),
          ("hardware_cost", "hardware", "#7f7f7f"))


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _breakdown(source: pd.DataFrame | str | Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    if isinstance(source, pd.DataFrame):
        return source, None
    data = json.loads(Path(source).read_text())
    kumo = pd.DataFrame(data["breakdown"])
    table = pd.DataFrame(data["table"])
    ref = table[table["source"] == "reference"].set_index("scheduler")
    return kumo, ref


def profit_decomposition(source: pd.DataFrame | str | Path, path: str | Path, title: str | None = None) -> Path:
    """Bar chart of the profit decomposition per scheduler, written to ``path`` (format from the suffix).

    Parameters
    ----------
    source : the JSON file of ``kumo compare --format json``, or a table with ``scheduler``, ``revenue``,
        ``profit`` and the columns ``penalties_cpu``, ``penalties_ram``, ``penalties_uptime``,
        ``energy_cost``, ``hardware_cost`` (currency, positive).
    path : output file.
    """
    plt = _plt()
    kumo, ref = _breakdown(source)
    kumo = kumo.set_index("scheduler") if "scheduler" in kumo.columns else kumo
    names = list(kumo.index)
    x = range(len(names))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(names) + 2), 4.8))
    ax.bar(x, kumo["revenue"], width=0.6, color="#2ca02c", label="revenue")
    bottom = [0.0] * len(names)
    for col, label, color in _PARTS:
        vals = [-float(v) for v in kumo[col]]
        ax.bar(x, vals, width=0.6, bottom=bottom, color=color, label=label)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax.scatter(x, kumo["profit"], marker="D", color="black", zorder=3, label="profit (kumo)")
    if ref is not None and "profit" in ref:
        ax.scatter(x, [float(ref.at[n, "profit"]) if n in ref.index else float("nan") for n in names], marker="x",
                   s=60, color="#9467bd", zorder=3, label="profit (reference)")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(list(x), names, rotation=30, ha="right")
    ax.set_ylabel("currency per month")
    ax.set_title(title or "Profit decomposition per scheduler (kumo, calibrated set-up)", fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def sweep_figure(source: pd.DataFrame | str | Path, path: str | Path, x: str, y: str = "profit",
                 hue: str | None = None, title: str | None = None, xscale: str = "linear") -> Path:
    """Line chart of ``y`` against axis ``x`` (one line per value of ``hue``), mean over seeds;
    ``xscale`` as matplotlib's (``linear``, ``log``, ``symlog``)."""
    plt = _plt()
    df = source if isinstance(source, pd.DataFrame) else pd.read_csv(source)
    for col in (x, y) + ((hue,) if hue else ()):
        if col not in df.columns:
            raise KeyError(f"column {col!r} not in the results; have: {', '.join(map(str, df.columns))}")
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    groups = df.groupby(hue, sort=False) if hue else [(None, df)]
    for key, g in groups:
        m = g.groupby(x, sort=True)[y].mean()
        ax.plot([str(v) for v in m.index] if m.index.dtype == object else m.index, m.values, marker="o",
                label=None if key is None else f"{hue} = {key}")
    if xscale == "symlog":
        positive = df[x][df[x] > 0] if df[x].dtype != object else pd.Series(dtype=float)
        ax.set_xscale("symlog", linthresh=float(positive.min()) if len(positive) else 1.0)
    else:
        ax.set_xscale(xscale)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title or f"{y} vs {x}", fontsize=10)
    ax.grid(alpha=0.3)
    if hue:
        ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def line_plot(path: str | Path, x: Any, ys: dict[str, Any], xlabel: str, ylabel: str, title: str) -> Path:
    """One line per entry of ``ys`` against ``x``, labelled, written to ``path`` (PNG, PDF, SVG)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, y in ys.items():
        ax.plot(x, y, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out)
    plt.close(fig)
    return out


def learning_curve(curve: pd.DataFrame | str | Path, path: str | Path, baselines: pd.DataFrame | str | Path | None = None,
                   title: str = "learning curve", ylabel: str = "reward per episode") -> Path:
    """``curve`` (columns ``timesteps``, ``reward``, optional ``reward_ci``: the mean and 95 % half-width
    over the evaluation episodes) as a line with a band; ``baselines`` (columns ``policy``, ``reward``) as
    horizontal lines."""
    plt = _plt()
    c = curve if isinstance(curve, pd.DataFrame) else pd.read_csv(curve)
    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    ax.plot(c["timesteps"], c["reward"], marker="o", color="#1f77b4", label="learned (evaluation)")
    if "reward_ci" in c:
        ax.fill_between(c["timesteps"], c["reward"] - c["reward_ci"], c["reward"] + c["reward_ci"], color="#1f77b4",
                        alpha=0.15)
    if baselines is not None:
        b = baselines if isinstance(baselines, pd.DataFrame) else pd.read_csv(baselines)
        styles = ["--", ":", "-.", (0, (5, 1)), (0, (3, 1, 1, 1))]
        for i, (_, r) in enumerate(b.iterrows()):
            ax.axhline(r["reward"], linestyle=styles[i % len(styles)], color=f"C{(i + 1) % 10}", label=str(r["policy"]))
    ax.set_xlabel("training steps")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
