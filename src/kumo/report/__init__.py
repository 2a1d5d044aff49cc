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

__all__ = ["learning_curve", "line_plot", "profit_decomposition", "profit_plot", "sweep_figure", "sweep_plot"]

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


def _profit_interval(source: pd.DataFrame | str | Path, names: list[str]) -> list[float] | None:
    """Half-widths of the profit's interval per scheduler, from a replicated comparison's JSON."""
    if isinstance(source, pd.DataFrame):
        return None
    rep = json.loads(Path(source).read_text()).get("replicates")
    if not rep:
        return None
    summ = pd.DataFrame(rep["summary"])
    prof = summ[summ["metric"] == "profit"].set_index("scheduler")
    return [float((prof.at[n, "ci_high"] - prof.at[n, "ci_low"]) / 2) for n in names]


def profit_decomposition(source: pd.DataFrame | str | Path, path: str | Path, title: str | None = None) -> Path:
    """:func:`profit_plot` written to ``path`` (format from the suffix)."""
    plt = _plt()
    fig = profit_plot(source, title)
    out = Path(path)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def profit_plot(source: pd.DataFrame | str | Path, title: str | None = None) -> Any:
    """Bar chart (a matplotlib Figure) of the profit decomposition per scheduler.

    Parameters
    ----------
    source : the JSON file of ``kumo compare --format json``, or a table with ``scheduler``, ``revenue``,
        ``profit`` and the columns ``penalties_cpu``, ``penalties_ram``, ``penalties_uptime``,
        ``energy_cost``, ``hardware_cost`` (currency, positive).
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
    ci = _profit_interval(source, names)
    if ci is not None:
        ax.errorbar(list(x), kumo["profit"], yerr=ci, fmt="D", color="black", capsize=4, zorder=3,
                    label="profit (kumo), mean ± 95 % t-interval over replicates")
    else:
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
    return fig


def _is_numeric(index: pd.Index) -> bool:
    # pandas 3 gives text columns the dtype "str", not object: ask pandas, never compare dtypes by hand
    return pd.api.types.is_numeric_dtype(index) and not pd.api.types.is_bool_dtype(index)


def _mean_ci(values: pd.Series) -> tuple[float, float]:
    from kumo.stats import t_interval

    mean, _, lo, hi, _ = t_interval(values.to_numpy(dtype=float))
    return mean, (hi - lo) / 2 if hi == hi else 0.0


def sweep_figure(source: pd.DataFrame | str | Path, path: str | Path, x: str, y: str | list[str] = "profit",
                 hue: str | None = None, title: str | None = None, xscale: str = "linear",
                 facet: str | None = None) -> Path:
    """:func:`sweep_plot` written to ``path`` (format from the suffix)."""
    plt = _plt()
    fig = sweep_plot(source, x, y, hue, title, xscale, facet)
    out = Path(path)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def sweep_plot(source: pd.DataFrame | str | Path, x: str, y: str | list[str] = "profit", hue: str | None = None,
               title: str | None = None, xscale: str = "linear", facet: str | None = None) -> Any:
    """Chart (a matplotlib Figure) of ``y`` against axis ``x``, one line per value of ``hue``.

    ``y`` is a result column or a list of them (one row of panels per column, each with its own scale:
    cost, SLA breaks and emissions side by side). Points that repeat (seeds, windows, other replicates)
    are shown as their mean with a 95 % t-interval error bar. Another swept axis with several values is not
    averaged silently: the chart gets one panel per value (``facet``; by default the first such axis, if it
    has at most 4 values), and any axis still averaged over is named in the title. Text axes keep their
    labels (under pandas 2 and 3), and their points are not joined by lines unless ``hue`` draws one line
    per value. Axes are labelled with names and units (:mod:`kumo.report.labels`); counts and energies
    start at 0. ``xscale`` as matplotlib's (``linear``, ``log``, ``symlog``).
    """
    from kumo.report.labels import axis_label, metric_label

    plt = _plt()
    df = source if isinstance(source, pd.DataFrame) else pd.read_csv(source)
    ys = [y] if isinstance(y, str) else list(y)
    if not ys:
        raise ValueError("y: give at least one result column")
    for col in (x, *ys) + ((hue,) if hue else ()) + ((facet,) if facet else ()):
        if col not in df.columns:
            raise KeyError(f"column {col!r} not in the results; have: {', '.join(map(str, df.columns))}")
    first = list(df.columns).index("seed") if "seed" in df.columns else len(df.columns)
    swept = [c for c in df.columns[:first] if c not in ("point", "key")]
    others = [c for c in swept if c not in (x, hue) and df[c].nunique(dropna=False) > 1]
    if facet is None and others and df[others[0]].nunique() <= 4:
        facet = others[0]
    averaged = [c for c in others if c != facet]
    panels = list(df.groupby(facet, sort=False)) if facet else [(None, df)]
    if len(ys) > 1 and len(panels) == 1:
        ncol = 2 if len(ys) == 4 else min(len(ys), 3)  # one metric per panel, in a grid
        nrow = -(-len(ys) // ncol)
        fig, grid = plt.subplots(nrow, ncol, figsize=(4.8 * ncol, 4.0 * nrow), squeeze=False)
        for i in range(len(ys), nrow * ncol):
            grid[i // ncol][i % ncol].set_visible(False)
        cells = [(grid[i // ncol][i % ncol], m, None, df, 0) for i, m in enumerate(ys)]
    else:
        fig, grid = plt.subplots(len(ys), len(panels), figsize=(6.4 * len(panels), 4.6 * len(ys)), squeeze=False,
                                 sharey="row")
        cells = [(grid[r][c], m, fkey, part, c) for r, m in enumerate(ys) for c, (fkey, part) in enumerate(panels)]
    for ax, metric, fkey, part, column in cells:
        groups = part.groupby(hue, sort=False) if hue else [(None, part)]
        text_x = not _is_numeric(pd.Index(part[x]))
        style = {"linestyle": "none"} if text_x and not hue else {}
        for key, g in groups:
            stats = g.groupby(x, sort=not text_x)[metric].apply(_mean_ci)
            xs = [str(v) for v in stats.index] if text_x else list(stats.index)
            means = [m for m, _ in stats.values]
            errs = [e for _, e in stats.values]
            label = None if key is None else f"{axis_label(hue or '')} = {key}"
            if any(errs):
                ax.errorbar(xs, means, yerr=errs, marker="o", capsize=3, label=label, **style)
            else:
                ax.plot(xs, means, marker="o", label=label, **style)
        if xscale == "symlog" and not text_x:
            positive = part[x][part[x] > 0]
            ax.set_xscale("symlog", linthresh=float(positive.min()) if len(positive) else 1.0)
        elif not text_x:
            ax.set_xscale(xscale)
        if text_x:
            ax.tick_params(axis="x", labelrotation=30)
            for t in ax.get_xticklabels():
                t.set_horizontalalignment("right")
        ax.set_xlabel(axis_label(x))
        if fkey is not None:
            ax.set_title(f"{axis_label(facet or '')} = {fkey}", fontsize=9)
        elif len(ys) > 1:
            ax.set_title(metric_label(metric), fontsize=9)
        ax.grid(alpha=0.3)
        if hue and (len(ys) == 1 or metric == ys[0]):  # several metrics: one legend, in the first panels
            ax.legend(fontsize=8)
        if column == 0:
            ax.set_ylabel(metric_label(metric))
        col = df[metric]
        if pd.api.types.is_numeric_dtype(col) and (col >= 0).all():
            ax.set_ylim(bottom=0)
        elif pd.api.types.is_numeric_dtype(col) and col.min() < 0 < col.max():
            ax.axhline(0, color="black", linewidth=0.7)
    note = f" (mean over {', '.join(axis_label(a) for a in averaged)})" if averaged else ""
    what = metric_label(ys[0]) if len(ys) == 1 else ", ".join(metric_label(m).split(" (")[0] for m in ys)
    fig.suptitle((title or f"{what} vs {axis_label(x)}") + note, fontsize=10)
    fig.tight_layout()
    return fig


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
