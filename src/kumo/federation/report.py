"""The experiments of issue #6 as tables and figures: provisioning models compared on the lecture's axes,
and brokers compared by per-provider profit and SLA breaks. The figures are drawn by :mod:`kumo.report.federation`.

Both run the presets of :mod:`kumo.federation.presets` (identical to ``examples/federation-*.toml``) on
the same trace. ``scripts/federation_report.py`` runs them on the embedded Bitbrains month and writes CSV,
Markdown and PNG files.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from kumo.federation import presets as P
from kumo.traces.base import Trace

__all__ = ["BROKERS", "MODEL_RUNS", "broker_table", "constraint_costs", "markdown", "model_table"]

#: (label, model, constraint variant, preset dict factory); the unconstrained variant of a model is its base
MODEL_RUNS: list[tuple[str, str, str, Callable[[], dict[str, Any]]]] = [
    ("private (30 hosts)", "private", "residency", lambda: P.private_cloud(30)),
    ("private (44 hosts, peak)", "private", "residency", lambda: P.private_cloud(44)),
    ("community (3 x 15)", "community", "residency", P.community_cloud),
    ("community, no residency", "community", "none", lambda: P.community_cloud(residency=False)),
    ("public (3 x 20)", "public", "residency", P.public_cloud),
    ("public, no residency", "public", "none", lambda: P.public_cloud(residency=False)),
    ("hybrid (30 + public)", "hybrid", "residency", P.hybrid_cloud),
    ("hybrid, no residency", "hybrid", "none", lambda: P.hybrid_cloud(residency=False)),
    ("hybrid, finance stays private", "hybrid", "residency+security", lambda: P.hybrid_cloud(sensitive_private_only=True)),
]
BROKERS = ("cheapest", "reliance", "auction")


def _run(spec: dict[str, Any], trace: Trace | None, max_steps: int | None) -> Any:
    from kumo.federation import parse_federation, run_federation

    if max_steps is not None:
        spec["trace"]["max_steps"] = max_steps
    return run_federation(parse_federation(spec), trace)


def model_table(trace: Trace | None = None, max_steps: int | None = None,
                progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """One row per provisioning model and constraint variant (:data:`MODEL_RUNS`), columns by the lecture's
    axes: scalability (``served_pct``, ``rejected``), performance (``cpu_unmet_pct``,
    ``breaks_per_1000_vm_h``), reliability (``availability_pct``, ``uptime_breaks``, ``failovers``),
    cost (``customer_cost``, ``cost_per_vm_h``: what the customers' organization spends), plus
    ``outsourced`` VMs and ``hosts``."""
    rows = []
    for label, model, constraint, make in MODEL_RUNS:
        if progress is not None:
            progress(label)
        s = _run(make(), trace, max_steps).summary
        vm_h = max(s["vm_hours"], 1e-300)
        rows.append({
            "label": label, "model": model, "constraints": constraint, "hosts": s["hosts"],
            "served_pct": 100 * s["served_fraction"], "rejected": s["vms_rejected"] + s["vms_expired"],
            "cpu_unmet_pct": 100 * s["cpu_unmet_fraction"],
            "breaks_per_1000_vm_h": 1000 * (s["sla_breaks_cpu"] + s["sla_breaks_ram"]) / vm_h,
            "availability_pct": 100 * s["availability"], "uptime_breaks": s["sla_breaks_uptime"],
            "failovers": s["failovers"], "outsourced": s["vms_outsourced"], "vm_hours": s["vm_hours"],
            "customer_cost": s["customer_cost"], "cost_per_vm_h": s["customer_cost_per_vm_hour"],
        })
    return pd.DataFrame(rows)


def constraint_costs(models: pd.DataFrame) -> pd.DataFrame:
    """What residency (and security) constraints cost: each constrained variant minus the same model
    without constraints, on served VMs, availability, breaks and cost per VM-hour."""
    out = []
    for model, g in models.groupby("model", sort=False):
        free = g[g["constraints"] == "none"]
        if free.empty:
            continue
        base = free.iloc[0]
        for _, row in g[g["constraints"] != "none"].iterrows():
            out.append({"label": row["label"], "model": model, "constraints": row["constraints"],
                        "served_pct_delta": row["served_pct"] - base["served_pct"],
                        "availability_pct_delta": row["availability_pct"] - base["availability_pct"],
                        "breaks_per_1000_vm_h_delta": row["breaks_per_1000_vm_h"] - base["breaks_per_1000_vm_h"],
                        "cost_per_vm_h_delta": row["cost_per_vm_h"] - base["cost_per_vm_h"],
                        "customer_cost_delta": row["customer_cost"] - base["customer_cost"]})
    return pd.DataFrame(out)


def broker_table(trace: Trace | None = None, max_steps: int | None = None,
                 progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """One row per broker and provider of :func:`kumo.federation.presets.three_providers`, plus a
    ``federation`` row per broker: VMs outsourced / insourced, SLA breaks on its hosts and of its
    customers, penalties, inter-provider money and profit."""
    rows = []
    for broker in BROKERS:
        if progress is not None:
            progress(broker)
        r = _run(P.three_providers(broker), trace, max_steps)
        for _, p in r.tables["providers"].iterrows():
            rows.append({"broker": broker, "provider": p["provider"], "vms_home": p["vms_home"],
                         "rejected": p["vms_rejected"], "outsourced": p["vms_outsourced"],
                         "insourced": p["vms_insourced"], "breaks_hosted": p["sla_breaks_hosted"],
                         "breaks_customers": p["sla_breaks_customers"], "penalties": 0.0 - p["penalty"],
                         "outsourcing": 0.0 - p["outsourcing"], "insourcing": p["insourcing"],
                         "reimbursements": p["penalty_reimbursement"], "profit": p["profit"]})
        s = r.summary
        rows.append({"broker": broker, "provider": "federation", "vms_home": s["vms"],
                     "rejected": s["vms_rejected"] + s["vms_expired"], "outsourced": s["vms_outsourced"],
                     "insourced": s["vms_outsourced"], "breaks_hosted": s["sla_breaks_cpu"] + s["sla_breaks_ram"],
                     "breaks_customers": s["sla_breaks_cpu"] + s["sla_breaks_ram"] + s["sla_breaks_uptime"],
                     "penalties": s["penalties"], "outsourcing": s["outsourcing_volume"],
                     "insourcing": s["outsourcing_volume"], "reimbursements": 0.0, "profit": s["profit"]})
    return pd.DataFrame(rows)


def markdown(df: pd.DataFrame, digits: int = 4) -> str:
    """A GitHub Markdown table (numbers to ``digits`` significant digits, integers in full)."""

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:,.2f}" if abs(v) >= 10 ** digits else f"{v:.{digits}g}"
        return str(v)

    head = "| " + " | ".join(map(str, df.columns)) + " |"
    sep = "|" + "|".join("---:" if pd.api.types.is_numeric_dtype(df[c]) else "---" for c in df.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body])
