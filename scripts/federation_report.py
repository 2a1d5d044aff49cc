"""Run the federation experiments of issue #6 on the embedded Bitbrains month and write their tables
and figures: provisioning models (scalability, performance, reliability, cost, and what residency and
security constraints cost) and brokers (per-provider profit and SLA breaks).

    python scripts/federation_report.py [--out out/federation] [--max-steps N]

Writes ``models.csv``, ``constraints.csv``, ``brokers.csv``, ``report.md``, ``models.png`` and
``brokers.png``. The scenarios are the presets of ``kumo.federation.presets``, identical to
``examples/federation-*.toml``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from kumo.federation.report import (
    broker_table,
    constraint_costs,
    markdown,
    model_table,
)
from kumo.report.federation import plot_brokers, plot_models
from kumo.traces import load


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/federation", help="output folder")
    ap.add_argument("--max-steps", type=int, default=None, help="simulate only the first N steps")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    trace = load("bitbrains-rnd")
    t0 = time.perf_counter()

    def say(what: str) -> None:
        print(f"[{time.perf_counter() - t0:6.1f} s] {what}", file=sys.stderr)

    models = model_table(trace, args.max_steps, progress=say)
    constraints = constraint_costs(models)
    brokers = broker_table(trace, args.max_steps, progress=say)
    models.to_csv(out / "models.csv", index=False, float_format="%.6g")
    constraints.to_csv(out / "constraints.csv", index=False, float_format="%.6g")
    brokers.to_csv(out / "brokers.csv", index=False, float_format="%.6g")
    plot_models(models, out / "models.png")
    plot_brokers(brokers, out / "brokers.png")
    md = ["# Federation experiments (embedded Bitbrains month)", "", "## Provisioning models", "",
          markdown(models.drop(columns=["model", "vm_hours"])), "",
          "## What residency and security constraints cost (constrained minus unconstrained)", "",
          markdown(constraints), "", "## Brokers (three providers)", "", markdown(brokers, 6), ""]
    (out / "report.md").write_text("\n".join(md))
    say(f"written to {out}")


if __name__ == "__main__":
    main()
