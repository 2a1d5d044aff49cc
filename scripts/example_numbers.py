"""Run the example sweeps and write what they measure back into the example files: no number in an example
is typed by hand.

    python scripts/example_numbers.py [--only sweep-virt-io] [--jobs 2]

For every ``examples/sweep-*.toml`` this runs the sweep (full length, as the file says), copies its
``results.csv`` to ``examples/figures/<name>.csv``, draws its ``[plot]`` figure to
``examples/figures/<name>.png``, and rewrites the block between ``# BEGIN measured`` and ``# END measured`` in
the example file from that CSV. ``tests/test_examples.py`` checks that every block matches its CSV and that
every CSV matches its sweep's current points (the same keys), so a stale number fails the tests.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import pandas as pd  # noqa: E402

#: the columns every block shows, with their headers
COLUMNS = {"migrations": "migr", "sla_breaks_cpu": "cpu br", "sla_breaks_ram": "ram br", "sla_breaks_uptime": "ut br",
           "energy_kwh": "kWh", "co2_kg": "kg CO2", "margin_percent": "margin %"}
BEGIN, END = "# BEGIN measured", "# END measured"


def block(results: pd.DataFrame, axes: list[str], command: str) -> list[str]:
    """The comment lines of a measured block for ``results``."""
    from kumo.cli.sweep import _short

    # emissions only for runs with a [carbon] section (the column is 0 otherwise)
    cols = [c for c in COLUMNS if c in results.columns and (c != "co2_kg" or (results[c] > 0).any())]
    head = [_short(a) for a in axes] + [COLUMNS[c] for c in cols]
    rows = []
    for _, r in results.iterrows():
        cells = [str(r[a]) for a in axes]
        for c in cols:
            v = r[c]
            cells.append(f"{v:.1f}" if c == "margin_percent" else f"{float(v):,.0f}")
        rows.append(cells)
    width = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    fmt = lambda cells: "# " + " | ".join(c.ljust(w) if i < len(axes) else c.rjust(w)  # noqa: E731
                                         for i, (c, w) in enumerate(zip(cells, width, strict=True)))
    return [f"{BEGIN} (written by `{command}`; do not edit by hand)", fmt(head), *map(fmt, rows), END]


def replace_block(text: str, lines: list[str]) -> str:
    """``text`` with its measured block replaced by ``lines`` (the block must exist)."""
    pattern = re.compile(rf"^{re.escape(BEGIN)}.*?^{re.escape(END)}$", re.S | re.M)
    if not pattern.search(text):
        raise ValueError("no '# BEGIN measured' ... '# END measured' block")
    return pattern.sub("\n".join(lines), text, count=1)


def axes_of(spec: Path) -> list[str]:
    from kumo.sweep import load_experiment

    exp, _ = load_experiment(spec)
    return list(exp.axes) + [a for a in exp.replicate_axes if a not in exp.axes]


def main(argv: list[str] | None = None) -> int:
    from concurrent.futures import ProcessPoolExecutor

    from kumo.report import sweep_figure
    from kumo.sweep import load_experiment, run_many

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="one example (file stem)")
    ap.add_argument("--jobs", "-j", type=int, default=2)
    args = ap.parse_args(argv)
    figures = REPO / "examples" / "figures"
    for spec in sorted((REPO / "examples").glob("sweep-*.toml")):
        if args.only and spec.stem != args.only:
            continue
        t = time.perf_counter()
        exp, root = load_experiment(spec)
        with tempfile.TemporaryDirectory() as d, ProcessPoolExecutor(args.jobs) as ex:
            run_many(exp.expand(root), executor=ex, out_dir=d)
            shutil.copy(Path(d) / "results.csv", figures / f"{spec.stem}.csv")
        table = pd.read_csv(figures / f"{spec.stem}.csv")  # the block is rendered from the file the test reads
        if exp.plot:
            sweep_figure(figures / f"{spec.stem}.csv", figures / f"{spec.stem}.png", **exp.plot)
        command = f"python scripts/example_numbers.py --only {spec.stem}"
        spec.write_text(replace_block(spec.read_text(), block(table, axes_of(spec), command)))
        print(f"{spec.name}: {len(table)} point(s) in {time.perf_counter() - t:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
