"""Region scale: synthetic days of 10,000, 30,000 and 100,000 VMs (288 five-minute steps) under every
controller, each run in its own process; wall time, peak memory and the log-log exponent of time over size.

The days come from ``kumo.traces.synth`` (seeded): 60 % of the VMs already running at midnight, 40 % arriving
over the day (arrivals, lifetimes fitted from the SURF week, utilization resampled from the Bitbrains month,
the general catalogue), on one host per 10 VMs (32 cores at 2,600 MHz, 128 GB, CPU overcommit 2, linear power
150-400 W), worst-fit placement. The controllers (the set the goals are checked on):

- ``none``: worst-fit placement only;
- ``lr-mmt`` (the consolidation controller's default), ``thr-mmt``, ``mad-mc``: the consolidation controller;
- ``kohne-mmwf``, ``kohne-mmwf-lb``, ``kohne-ff``: the ``sla`` controller with Kohne's presets;
- on request, any other detection x selection pair of the consolidation controller (``iqr-mu``...), or
  ``consolidation`` for all twenty.

The Azure-shaped day: 100,000 VMs drawn by ``kumo trace synth`` with the sizes (``--catalogue source``) and the
utilization (``--utilization-source``) of the Azure sample (``../shared/data/azure-sample``, converted to
``.kumo``), arrivals and lifetimes as the days above (the sample's 10 VMs hold too few lifetimes to fit), hosts
enough for 80 % of the peak booked CPU (at overcommit 2) and RAM; run with ``none`` and ``lr-mmt``.

Goals (issue #13): 100,000 VMs x 288 steps with ``consolidation`` (lr-mmt) under 60 s and 4 GB; worst-fit
placement alone under 5 s; exponent <= 1.1 from 10k to 100k for every controller; the Azure-shaped day under
the same limits. ``--baseline-src`` runs the same cases with another source tree (e.g. the code before the
change) and compares every result table bit for bit.

    python benchmarks/scale.py                       # the full table (about 11 minutes of CPU, one run at a time)
    python benchmarks/scale.py --quick               # 1k and 3k VMs, three controllers: a smoke test
    python benchmarks/scale.py --sizes 10000 --controllers lr-mmt --baseline-src ../wt-base/src
    python benchmarks/scale.py --controllers consolidation --no-azure   # all twenty detection x selection pairs
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONTROLLERS = ("none", "lr-mmt", "thr-mmt", "mad-mc", "kohne-mmwf", "kohne-mmwf-lb", "kohne-ff")
#: every detection x selection of the consolidation controller (``--controllers consolidation`` runs them all)
CONSOLIDATION = tuple(f"{d}-{s}" for d in ("thr", "iqr", "mad", "lr", "lrr") for s in ("mmt", "mc", "mu", "rs"))
SIZES = (10_000, 30_000, 100_000)
VMS_PER_HOST = 10
AZURE_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "azure-sample"
GOAL_S, GOAL_MB, GOAL_WF_S, GOAL_EXP = 60.0, 4096.0, 5.0, 1.1


# ------------------------------------------------------------------------------------------- one case
def scenario(hosts: int, controller: str) -> dict:
    """The scenario of a case: ``hosts`` identical hosts, worst-fit placement, ``controller``."""
    from kumo import config

    d = config.default_scenario().model_dump()
    d["hosts"] = [{**d["hosts"][0], "name": "std-32c-128g", "count": hosts, "cores": 32, "core_mhz": 2600.0,
                   "ram_mb": 131072.0, "cpu_overcommit": 2.0, "ram_overcommit": 1.0,
                   "power": {"kind": "linear", "idle_w": 150.0, "max_w": 400.0}}]
    d["placement"]["preset"] = "worst-fit"
    if controller.startswith("kohne-"):
        d["controller"] = {"name": controller}
    elif controller != "none":
        det, sel = controller.split("-")
        d["controller"] = {"name": "consolidation", "params": {"detection": det, "selection": sel}}
    return d


def digest(result) -> str:
    """One hash of every result table (values and column names), to compare runs bit for bit."""
    import pandas as pd

    h = hashlib.sha256()
    for name, df in sorted(result.tables.items()):
        h.update(name.encode() + ",".join(map(str, df.columns)).encode())
        h.update(pd.util.hash_pandas_object(df.reset_index(drop=True), index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]


def _peak_mb() -> float:
    """This process's peak resident memory, MB: VmHWM on Linux (ru_maxrss would also count what the parent
    held when it forked this process), else ru_maxrss."""
    import resource

    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def one(trace_path: str, hosts: int, controller: str) -> None:
    """Run one case in this process and print its figures as JSON (the parent's subprocess)."""
    import kumo
    import kumo.studies.kohne2018  # noqa: F401  (the kohne-* controller presets)
    from kumo import config

    tr = kumo.load_trace(trace_path)
    sc = config.parse(scenario(hosts, controller))
    t, c = time.perf_counter(), time.process_time()
    res = kumo.run(sc, tr)
    run_s, cpu_s = time.perf_counter() - t, time.process_time() - c
    peak_mb = _peak_mb()
    s = res.summary
    print(json.dumps({"run_s": run_s, "cpu_s": cpu_s, "peak_mb": peak_mb, "digest": digest(res), "migrations": int(s["migrations"]),
                      "energy_kwh": float(s["energy_kwh"]), "rejections": int(s["rejections"])}))


def run_case(trace_path: Path, hosts: int, controller: str, src: str | None = None) -> dict:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, __file__, "--one", str(trace_path), str(hosts), controller],
                         capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise SystemExit(f"case {trace_path.name} {controller} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------- traces
def synthetic_day(n: int, folder: Path) -> Path:
    """The synthetic day of ``n`` VMs (seed 1), written once into ``folder``."""
    from kumo.traces import save
    from kumo.traces.synth import SynthSpec, synthesize

    path = folder / f"day-{n}.kumo"
    if not path.exists():
        arriving = (4 * n) // 10
        save(synthesize(SynthSpec(vms=arriving, initial_vms=n - arriving, days=1.0, seed=1, name=f"day{n}")), path)
    return path


def azure_day(n: int, folder: Path) -> tuple[Path, int]:
    """The Azure-shaped day of ``n`` VMs (through ``kumo trace synth``) and its host count."""
    import numpy as np

    import kumo

    sample = folder / "azure-sample.kumo"
    path = folder / f"azure-day-{n}.kumo"
    cli = [sys.executable, "-c", "import sys; from kumo.cli import main; sys.argv[0] = 'kumo'; main()"]
    if not sample.exists():
        subprocess.run([*cli, "trace", "convert", str(AZURE_SAMPLE), str(sample)], check=True, capture_output=True)
    if not path.exists():
        arriving = (4 * n) // 10
        subprocess.run([*cli, "trace", "synth", str(path), "--vms", str(arriving), "--initial", str(n - arriving),
                        "--catalogue", "source", "--arrival-source", str(sample), "--diurnal", "flat",
                        "--lifetime-median", "147s", "--lifetime-sigma", "3.6", "--utilization-source", str(sample),
                        "--seed", "1", "--name", "azure-day"], check=True, capture_output=True)
    tr = kumo.load_trace(path)
    live = np.zeros(tr.n_steps + 1)
    peak_cpu = peak_ram = 0.0
    for booked in (tr.cpu_booked_mhz, tr.ram_booked_mb):
        live = np.zeros(tr.n_steps + 1)
        np.add.at(live, tr.arrive_step, booked)
        np.add.at(live, np.minimum(tr.depart_step, tr.n_steps), -booked)
        peak = float(np.cumsum(live)[:-1].max())
        if booked is tr.cpu_booked_mhz:
            peak_cpu = peak
        else:
            peak_ram = peak
    hosts = math.ceil(max(peak_cpu / (32 * 2600.0 * 2.0), peak_ram / 131072.0) / 0.8)
    return path, hosts


# -------------------------------------------------------------------------------------------- report
def exponent(t_small: float, t_big: float, n_small: int, n_big: int) -> float:
    return math.log(t_big / t_small) / math.log(n_big / n_small)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)), help="VM counts, comma-separated")
    ap.add_argument("--controllers", default=",".join(CONTROLLERS), help="comma-separated, from: "
                    + ", ".join(CONTROLLERS) + ", any DETECTION-SELECTION of the consolidation controller ("
                    + ", ".join(CONSOLIDATION) + "), or 'consolidation' for all twenty")
    ap.add_argument("--quick", action="store_true", help="1k and 3k VMs, none/lr-mmt/kohne-mmwf, no Azure day")
    ap.add_argument("--no-azure", action="store_true", help="skip the Azure-shaped day")
    ap.add_argument("--repeat", type=int, default=1, help="timed runs per case (the best is reported)")
    ap.add_argument("--traces", type=Path, default=None, help="folder to keep the generated traces in "
                    "(default: a temporary folder)")
    ap.add_argument("--baseline-src", default=None, help="another source tree (e.g. the code before the change): "
                    "run the same cases with it and compare the result tables")
    ap.add_argument("--one", nargs=3, metavar=("TRACE", "HOSTS", "CONTROLLER"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        one(args.one[0], int(args.one[1]), args.one[2])
        return
    sizes = [1000, 3000] if args.quick else [int(s) for s in args.sizes.split(",") if s.strip()]
    ctls = ["none", "lr-mmt", "kohne-mmwf"] if args.quick else [c.strip() for c in args.controllers.split(",")]
    ctls = [x for c in ctls for x in (CONSOLIDATION if c == "consolidation" else (c,))]
    bad = [c for c in ctls if c not in CONTROLLERS + CONSOLIDATION]
    if bad or not sizes or min(sizes) < VMS_PER_HOST or args.repeat < 1:
        ap.error(f"unknown controller(s) {bad}" if bad else "sizes must be >= 10 VMs, --repeat >= 1")
    tmp = None
    if args.traces is None:
        tmp = tempfile.TemporaryDirectory(prefix="kumo-scale-")
        folder = Path(tmp.name)
    else:
        folder = args.traces
        folder.mkdir(parents=True, exist_ok=True)

    import kumo

    print(f"kumo {kumo.__version__} from {Path(kumo.__file__).parent}; python {sys.version.split()[0]}; "
          f"{os.cpu_count()} cores")
    print(f"controllers: {', '.join(ctls)}; sizes: {', '.join(f'{n:,}' for n in sizes)} VMs x 288 steps, "
          f"{VMS_PER_HOST} VMs per host; best of {args.repeat}")
    cases = [(f"day-{n}", n, n // VMS_PER_HOST) for n in sizes]
    if not args.quick and not args.no_azure:
        if AZURE_SAMPLE.is_dir():
            path, hosts = azure_day(100_000, folder)
            cases.append(("azure-day-100000", 100_000, hosts))
        else:
            print(f"(no Azure sample at {AZURE_SAMPLE}: the Azure-shaped day is skipped)")
    rows = []
    head = f"{'trace':<18} {'hosts':>6} {'controller':<14} {'time s':>8} {'cpu s':>8} {'peak MB':>8} {'migrations':>10} " \
           f"{'energy kWh':>11}" + ("  same as baseline" if args.baseline_src else "")
    print(head)
    for name, n, hosts in cases:
        path = folder / f"{name}.kumo" if name.startswith("azure") else synthetic_day(n, folder)
        for c in ctls:
            if name.startswith("azure") and c not in ("none", "lr-mmt"):
                continue
            best = None
            for _ in range(args.repeat):
                r = run_case(path, hosts, c)
                if best is None or r["run_s"] < best["run_s"]:
                    best = r
            assert best is not None
            line = f"{name:<18} {hosts:>6} {c:<14} {best['run_s']:>8.2f} {best['cpu_s']:>8.2f} {best['peak_mb']:>8.0f} " \
                   f"{best['migrations']:>10} {best['energy_kwh']:>11.1f}"
            if args.baseline_src:
                b = run_case(path, hosts, c, args.baseline_src)
                best["baseline_s"] = b["run_s"]
                best["same"] = b["digest"] == best["digest"]
                line += f"  {'yes' if best['same'] else 'NO'} (baseline {b['run_s']:.1f} s)"
            print(line, flush=True)
            rows.append((name, n, c, best))

    print()
    days = {(n, c): r for name, n, c, r in rows if name.startswith("day-")}
    ok_all = True
    if len(sizes) >= 2:
        lo, hi = min(sizes), max(sizes)
        print(f"log-log exponent of time over VMs, {lo:,} -> {hi:,} (goal <= {GOAL_EXP}):")
        for c in ctls:
            e = exponent(days[(lo, c)]["run_s"], days[(hi, c)]["run_s"], lo, hi)
            goal = hi >= 100_000 and lo <= 10_000
            ok_all &= (e <= GOAL_EXP) or not goal
            print(f"  {c:<14} {e:5.2f}" + (f"   [{verdict(e <= GOAL_EXP)}]" if goal else ""))
    big = [(name, c, r) for name, n, c, r in rows if n >= 100_000]
    if big:
        print(f"at 100,000 VMs (goals: lr-mmt and the Azure-shaped day under {GOAL_S:.0f} s and {GOAL_MB / 1024:.0f} "
              f"GB, every controller held to the same; worst-fit alone under {GOAL_WF_S:.0f} s):")
        for name, c, r in big:
            lim = GOAL_WF_S if c == "none" else GOAL_S
            ok = r["run_s"] < lim and r["peak_mb"] < GOAL_MB
            ok_all &= ok
            print(f"  {name:<18} {c:<14} {r['run_s']:6.1f} s (CPU {r['cpu_s']:.1f} s; goal < {lim:.0f} s), "
                  f"{r['peak_mb']:5.0f} MB (goal < {GOAL_MB:.0f} MB)   [{verdict(ok)}]")
    plain = {name: r for name, n, c, r in rows if c == "none"}
    if plain and any(r_c != "none" for _a, _b, r_c, _r in rows):
        print("each controller against the placement-only run of the same day in this invocation (CPU time ratio):")
        for name, _n, c, r in rows:
            if c != "none" and name in plain and plain[name]["cpu_s"] > 0:
                print(f"  {name:<18} {c:<14} {r['cpu_s'] / plain[name]['cpu_s']:6.1f}x")
    if args.baseline_src:
        same = all(r["same"] for *_, r in rows)
        ok_all &= same
        print(f"every result table identical to the baseline's: {verdict(same)}")
    full = bool(big) and len(sizes) >= 2 and min(sizes) <= 10_000
    print(f"all goals{'' if full else ' checked by this run'}: {verdict(ok_all)}")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
