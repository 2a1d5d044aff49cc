"""All eight Kohne schedulers on the full Bitbrains Rnd month (``kumo compare``'s work), timed.

Goal (issue #4): under 10 s in total on a 2-core machine, each run single-threaded. Prints the trace load
time, each run's engine and accounting time, the wall time of all eight on ``--jobs`` processes and
the ratio of the mean run to a plain replay without controller (same scenario, ``controller = none``),
measured in this same invocation.

    python benchmarks/compare.py [--jobs 2]
"""

from __future__ import annotations

import argparse
import os

os.environ["OMP_NUM_THREADS"] = "1"  # one thread per run: parallelism is across runs
os.environ["OPENBLAS_NUM_THREADS"] = "1"

import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402

from kumo.studies.kohne2018 import SCHEDULERS, load_setup  # noqa: E402


def timed_run(label: str) -> dict[str, float | str]:
    from kumo import config, engine
    from kumo.accounting import account
    from kumo.studies.kohne2018 import TABLE_10_10 as PRESETS
    from kumo.sweep import _cached_trace

    setup = load_setup()
    data = dict(setup.scenario)
    if label == "replay":
        data["controller"] = {"name": "none"}
    else:
        ctl = data["controller"]
        data["controller"] = {**ctl, "params": {**ctl["params"], **PRESETS[label]}}
    sc = config.parse(data)
    t = time.perf_counter()
    trace = _cached_trace(sc.trace.source, sc.trace.format)
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    result = engine.run(sc, trace)
    run_s = time.perf_counter() - t
    t = time.perf_counter()
    acc = account(result, setup.ledger)
    acc_s = time.perf_counter() - t
    return {"label": label, "load_s": load_s, "run_s": run_s, "account_s": acc_s,
            "migrations": acc.summary["migrations"], "margin": acc.summary["margin_percent"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", "-j", type=int, default=2)
    args = ap.parse_args()
    base = timed_run("replay")
    t = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as ex:
        rows = list(ex.map(timed_run, SCHEDULERS))
    wall = time.perf_counter() - t
    print(f"{'scheduler':10s} {'load s':>7s} {'run s':>7s} {'acct s':>7s} {'migr':>7s} {'margin':>7s}")
    for r in rows:
        print(f"{r['label']:10s} {r['load_s']:7.2f} {r['run_s']:7.2f} {r['account_s']:7.2f} {r['migrations']:7d} "
              f"{r['margin']:7.1f}")
    runs = sum(float(r["run_s"]) + float(r["account_s"]) for r in rows)
    print(f"replay without controller: {base['run_s']:.2f} s (trace load {base['load_s']:.2f} s)")
    print(f"eight runs: {runs:.1f} s of run + accounting time, mean {runs / 8:.2f} s "
          f"= {runs / 8 / float(base['run_s']):.2f} x the replay")
    print(f"wall time on {args.jobs} worker process(es), including per-process trace loads: {wall:.1f} s "
          f"(goal < 10 s)")


if __name__ == "__main__":
    main()
