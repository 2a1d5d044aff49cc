"""``kumo report``: one self-contained HTML file for a run, a sweep or a comparison folder.

The page needs no network: the figures are PNG images inlined as data URIs, the style sheet is inline,
and a few lines of inline script only mark the page as loaded (``<body data-loaded>``, which the browser
test checks). Everything comes from the folder's files:

* a **run** folder (``kumo run -o``): ``summary``, ``steps``, ``vms``, ``migrations``, ``refusals`` tables,
  ``schema.json`` (units), ``manifest.json``, and when recorded ``arrays.npz`` (the host-utilization
  heatmap) and ``ledger.csv`` (the money lines and SLA breaks over time);
* a **sweep** folder (``kumo sweep -o``): ``results.csv``, and ``summary.csv`` when points have replicates;
* a **comparison** folder (``kumo compare -o``): a ``results.csv`` with a ``scheduler`` column.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["folder_kind", "write_report"]

#: replicate columns of a sweep's results (summaries average over them)
REPLICATE_COLUMNS = ("seed", "trace.start_step", "jitter")
_METRICS = ("migrations", "sla_breaks_cpu", "sla_breaks_ram", "sla_breaks_uptime", "energy_kwh", "penalties",
            "costs", "profit", "margin_percent")

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2330; margin: 0;
       background: #f6f7f9; }
header { background: #1f3b57; color: #fff; padding: 18px 32px; }
header h1 { margin: 0 0 4px; font-size: 22px; } header p { margin: 0; opacity: .85; }
main { max-width: 1100px; margin: 0 auto; padding: 8px 32px 40px; }
section { background: #fff; border-radius: 8px; padding: 14px 20px; margin: 18px 0;
          box-shadow: 0 1px 3px rgba(0,0,0,.08); }
h2 { font-size: 17px; margin: 4px 0 10px; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e4e7eb; text-align: right; }
th { background: #eef1f5; } td.l, th.l { text-align: left; }
img { max-width: 100%; height: auto; display: block; margin: 8px 0; }
.note { color: #5a6272; font-size: 12px; } .kv td:first-child { text-align: left; color: #3b4556; }
"""

_SCRIPT = """window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.every(function (i) { return i.complete && i.naturalWidth > 0; });
  document.body.setAttribute("data-loaded", ok ? String(imgs.length) : "broken");
});"""


def folder_kind(folder: str | Path) -> str:
    """``"run"``, ``"sweep"`` or ``"comparison"``; a ValueError for a folder that is none of them."""
    d = Path(folder)
    if (d / "manifest.json").exists() and any((d / f"summary.{x}").exists() for x in ("csv", "parquet")):
        return "run"
    if (d / "results.csv").exists():
        head = pd.read_csv(d / "results.csv", nrows=1)
        return "comparison" if "scheduler" in head.columns and (d / "ledgers").is_dir() else "sweep"
    raise ValueError(f"{d}: neither a run folder (manifest.json and summary), nor a sweep or comparison folder "
                     "(results.csv)")


def _img(fig: Any, alt: str) -> str:
    from kumo.report import _plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    _plt().close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _table(df: pd.DataFrame, left: tuple[str, ...] = (), digits: int = 4) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float | np.floating):
            x = float(v)
            if x != x:
                return ""
            return f"{x:,.{digits}g}" if x and abs(x) < 1e-3 else f"{x:,.{max(0, digits - 2)}f}"
        return html.escape(str(v))

    head = "".join(f'<th class="{"l" if c in left else ""}">{html.escape(str(c))}</th>' for c in df.columns)
    rows = "".join("<tr>" + "".join(f'<td class="{"l" if c in left else ""}">{cell(v)}</td>'
                                    for c, v in zip(df.columns, r, strict=True)) + "</tr>"
                   for r in df.itertuples(index=False, name=None))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _section(title: str, body: str) -> str:
    return f"<section><h2>{html.escape(title)}</h2>{body}</section>"


def _read(d: Path, name: str) -> pd.DataFrame | None:
    for ext in ("parquet", "csv"):
        p = d / f"{name}.{ext}"
        if p.exists():
            return pd.read_parquet(p) if ext == "parquet" else pd.read_csv(p)
    return None


def _page(title: str, subtitle: str, sections: list[str]) -> str:
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_CSS}</style>'
            f"<script>{_SCRIPT}</script></head><body><header><h1>{html.escape(title)}</h1>"
            f"<p>{html.escape(subtitle)}</p></header><main>{''.join(sections)}</main></body></html>")


# ------------------------------------------------------------------------------------------------ a run
def _run_page(d: Path) -> str:
    from kumo.report import figures as F

    manifest = json.loads((d / "manifest.json").read_text())
    schema = json.loads((d / "schema.json").read_text()) if (d / "schema.json").exists() else {}
    summary = _read(d, "summary")
    steps, vms = _read(d, "steps"), _read(d, "vms")
    migrations, refusals = _read(d, "migrations"), _read(d, "refusals")
    assert summary is not None
    s = summary.iloc[0].to_dict()
    units = schema.get("summary", {})
    rows = pd.DataFrame([{"metric": k, "value": v, "unit": "" if units.get(k, {}).get("unit") in (None, "-")
                          else units[k]["unit"], "meaning": units.get(k, {}).get("description", "")}
                         for k, v in s.items()])
    sec = [_section("Summary", _table(rows, left=("metric", "unit", "meaning")))]
    step_s = float(s.get("step_s", 300.0))
    if steps is not None:
        sec.append(_section("Power, energy and hosts on", _img(F.power_and_energy(steps, step_s), "power over time")))
    arrays = d / "arrays.npz"
    if arrays.exists():
        with np.load(arrays) as z:
            if "host_cpu_util" in z:
                sec.append(_section("Host utilization", _img(F.host_heatmap(z["host_cpu_util"], step_s), "heatmap")))
    else:
        sec.append(_section("Host utilization", '<p class="note">Not recorded: run with record_host_steps = true '
                                                "(kumo run --report does).</p>"))
    if steps is not None and vms is not None:
        sec.append(_section("Shortfalls (SLA) over time and by VM",
                            _img(F.shortfall_over_time(steps), "shortfalls over time")
                            + _img(F.shortfall_by_vm(vms), "shortfalls by VM")))
    ledger_path = d / "ledger.csv"
    if ledger_path.exists():
        ledger = pd.read_csv(ledger_path)
        lines = (ledger.groupby(["category", "item"], sort=False)
                 .agg(lines=("amount", "size"), amount=("amount", "sum")).reset_index())
        total = pd.DataFrame([{"category": "profit", "item": "", "lines": len(ledger), "amount": ledger["amount"].sum()}])
        sec.append(_section("The ledger (default prices and SLA of kumo.accounting.LedgerSpec)",
                            _img(F.breaks_over_time(ledger, step_s), "breaks over time")
                            + _table(pd.concat([lines, total]), left=("category", "item"), digits=6)
                            + '<p class="note">Every line is in ledger.csv: revenue (+), penalties and costs (-).</p>'))
    if migrations is not None:
        sec.append(_section("Migrations", _img(F.migrations_by_cause(migrations, refusals), "migrations by cause")))
    sc = manifest.get("scenario", {})
    tr = manifest.get("trace", {})
    plugins = ", ".join(p.get("module", "") for p in manifest.get("plugins", []) if p.get("origin") != "entry-point")
    facts = pd.DataFrame([("scenario", sc.get("name")), ("seed", manifest.get("seed")),
                          ("trace", f"{tr.get('name')} ({tr.get('vms')} VMs x {tr.get('steps')} steps of "
                                    f"{tr.get('step_s')} s)"), ("trace hash", tr.get("hash", "")[:16]),
                          ("plugins", plugins or "none"), ("kumo", manifest.get("kumo_version")),
                          ("wall time", f"{manifest.get('wall_s', 0):.2f} s")], columns=["", "value"])
    sec.append(_section("Provenance", _table(facts, left=("", "value"))))
    return _page(f"kumo run: {sc.get('name', d.name)}", f"{tr.get('name', '')} · {d}", sec)


# ------------------------------------------------------------------------------------------------ sweeps
def _axes_of(results: pd.DataFrame) -> list[str]:
    cols = list(results.columns)
    end = cols.index("seed") if "seed" in cols else len(cols)
    return [c for c in cols[:end] if c not in ("point", "key")]


def _sweep_page(d: Path, comparison: bool) -> str:
    from kumo.report import sweep_plot
    from kumo.stats import pairwise_wins, rank_stability, summarize

    res = pd.read_csv(d / "results.csv")
    axes = _axes_of(res)
    replicate = [c for c in axes if c in REPLICATE_COLUMNS] + (["seed"] if res["seed"].nunique() > 1 else [])
    treat = [c for c in axes if c not in REPLICATE_COLUMNS]
    metrics = [m for m in _METRICS if m in res.columns]
    sec = []
    n = len(res) // max(1, len(res.drop_duplicates(treat))) if treat else len(res)
    summ = summarize(res, treat, metrics)
    wide = summ.pivot_table(index=treat or None, columns="metric", values="mean", sort=False) if treat else None
    if n > 1:
        shown = summ.assign(interval=[f"{lo:,.2f} .. {hi:,.2f}" if lo == lo else "" for lo, hi in
                                      zip(summ["ci_low"], summ["ci_high"], strict=True)])
        sec.append(_section(f"Means over {n} replicates ({', '.join(replicate)}), with 95 % t-intervals",
                            _table(shown[[*treat, "metric", "mean", "std", "interval", "n"]], left=(*treat, "metric"))
                            + '<p class="note">Student-t interval of the mean over the replicates (kumo.stats).</p>'))
    elif wide is not None:
        sec.append(_section("Results", _table(wide[[m for m in metrics if m in wide.columns]].reset_index(),
                                              left=tuple(treat))))
    if comparison and "scheduler" in res.columns:
        from kumo.report import profit_plot

        mean = res.groupby("scheduler", sort=False).mean(numeric_only=True).reset_index()
        if {"penalties_cpu", "energy_cost", "hardware_cost"} <= set(mean.columns):
            sec.append(_section("Profit decomposition", _img(profit_plot(mean), "profit decomposition")))
        if n > 1:
            st = rank_stability(res, "scheduler", "margin_percent", replicate)
            wins = pairwise_wins(res, "scheduler", "margin_percent", replicate).reset_index()
            sec.append(_section("Rank stability (margin)", _table(st, left=("scheduler",))
                                + f"<p>Row beats column on margin, in how many of {n} replicates:</p>"
                                + _table(wins, left=("scheduler",))))
    if treat:
        x = treat[0]
        hue = treat[1] if len(treat) > 1 else None
        figs = "".join(_img(sweep_plot(res, x=x, y=m, hue=hue), f"{m} vs {x}")
                       for m in ("profit", "energy_kwh", "migrations") if m in res.columns)
        sec.append(_section("Figures", figs))
    sec.append(_section("Every point", _table(res[[*axes, *(["seed"] if "seed" in res.columns and "seed" not in axes
                                                           else []), *metrics]], left=tuple(axes))))
    kind = "comparison" if comparison else "sweep"
    return _page(f"kumo {kind}: {d.name}", f"{len(res)} runs · {d}", sec)


def write_report(folder: str | Path, out: str | Path) -> Path:
    """Write the HTML report of ``folder`` (a run, sweep or comparison folder) to ``out``."""
    d = Path(folder)
    kind = folder_kind(d)
    page = _run_page(d) if kind == "run" else _sweep_page(d, comparison=kind == "comparison")
    p = Path(out)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(page, encoding="utf-8")
    return p
