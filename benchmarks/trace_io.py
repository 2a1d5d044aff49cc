"""Converting large traces: ``kumo trace convert`` on a 100k-VM x 288-step workload in three formats.

Generates (seeded, into a temporary folder) a generic long-format Parquet file (one row per VM and step:
28.8 M rows at 100k VMs), an OpenDC workload (``tasks.parquet`` + ``fragments.parquet``, one 5-minute
fragment per VM and step) and an Azure V2 folder (``vmtable.csv.gz`` + one readings file) of the same
size, then runs ``kumo trace convert`` on each in a child process and prints its wall time and peak RSS
(``getrusage(RUSAGE_CHILDREN).ru_maxrss``, one fresh child per conversion) and its CPU time (user + system:
steadier than the wall time on a shared machine). For the generic file it also
converts through the former whole-file pandas reader (``kumo.traces.generic.STREAM_PARQUET = False``) in the same invocation and
prints the ratios. Goals (issue #13): each conversion under 10 s and under 4 GB; the issue measured the
pandas path at 17 s and 6.8 GB.

    python benchmarks/trace_io.py [--vms 100000] [--steps 288] [--formats generic,opendc,azure] [--no-baseline]
                                  [--baseline-src OLD_CHECKOUT/src] [--keep DIR] [--numpy-hugepage 0]
"""

from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

GOAL_S, GOAL_GB = 10.0, 4.0
#: NUMPY_MADVISE_HUGEPAGE for the conversions (None: unset)
HUGEPAGE: str | None = None
STEP_S = 300
T0 = 1_700_000_100  # a Unix time on the 300 s grid


def _ids(n: int, prefix: str) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(np.arange(n).astype(str), 6))


def write_generic(path: Path, n_vms: int, n_steps: int, seed: int, block_steps: int = 8) -> int:
    """A long-format Parquet file, time-major (every VM at step 0, then step 1, ...); returns its rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    ids = pa.array(_ids(n_vms, "vm-"))
    base = rng.uniform(200, 3000, n_vms)
    ram = rng.choice([1024.0, 2048.0, 4096.0, 8192.0], n_vms)
    cores = rng.choice([1, 2, 4, 8], n_vms).astype(np.int64)
    schema = pa.schema([("vm_id", pa.string()), ("t_s", pa.int64()), ("cpu_mhz", pa.float64()),
                        ("ram_mb", pa.float64()), ("cores", pa.int64())])
    with pq.ParquetWriter(path, schema) as w:
        for s0 in range(0, n_steps, block_steps):
            k = min(block_steps, n_steps - s0)
            steps = np.repeat(np.arange(s0, s0 + k), n_vms)
            cpu = np.round(np.tile(base, k) * rng.uniform(0.2, 1.0, k * n_vms), 2)
            used = np.round(np.tile(ram, k) * rng.uniform(0.3, 0.9, k * n_vms), 1)
            w.write_table(pa.table({"vm_id": pa.concat_arrays([ids] * k), "t_s": T0 + steps * STEP_S,
                                    "cpu_mhz": cpu, "ram_mb": used, "cores": np.tile(cores, k)}, schema=schema))
    return n_vms * n_steps


def write_opendc(folder: Path, n_vms: int, n_steps: int, seed: int) -> int:
    """tasks.parquet (VMs arriving over the first quarter) and fragments.parquet (one 300 s fragment per VM
    and step of its life, task-major); returns the fragments."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrive = rng.integers(0, max(1, n_steps // 4), n_vms)
    life = n_steps - arrive
    cores = rng.choice([1, 2, 4, 8], n_vms)
    pq.write_table(pa.table({
        "id": np.arange(n_vms, dtype=np.int64), "submission_time": (T0 + arrive * STEP_S) * 1000,
        "duration": life * STEP_S * 1000, "cpu_count": cores, "cpu_capacity": cores * 2600.0,
        "mem_capacity": rng.choice([2048.0, 4096.0, 8192.0], n_vms)}), folder / "tasks.parquet")
    n = int(life.sum())
    frag_id = np.repeat(np.arange(n_vms, dtype=np.int64), life)
    usage = np.round(rng.uniform(0.05, 0.9, n) * (cores * 2600.0)[frag_id], 2)
    pq.write_table(pa.table({"id": frag_id, "duration": np.full(n, STEP_S * 1000, np.int64), "cpu_usage": usage}),
                   folder / "fragments.parquet")
    return n


def write_azure(folder: Path, n_vms: int, n_steps: int, seed: int, block_steps: int = 8) -> int:
    """vmtable.csv.gz (V2 buckets) and one readings file, time-ordered as the dataset's; returns the readings."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    ids = pa.array(_ids(n_vms, "v"))
    n_subs = max(1, n_vms // 20)
    created = rng.integers(0, max(1, n_steps // 4), n_vms) * STEP_S
    vmtable = pa.table({
        "vmid": ids, "subscriptionid": pa.array(_ids(n_subs, "s")[rng.integers(0, n_subs, n_vms)]),
        "deploymentid": pa.array(_ids(n_vms, "d")), "vmcreated": created,
        "vmdeleted": np.full(n_vms, (n_steps - 1) * STEP_S), "maxcpu": np.full(n_vms, 90.0),
        "avgcpu": np.full(n_vms, 20.0), "p95maxcpu": np.full(n_vms, 70.0), "vmcategory": ["Unknown"] * n_vms,
        "vmcorecount": pa.array(rng.choice(["2", "4", "8", "24", ">24"], n_vms)),
        "vmmemory": pa.array(rng.choice(["4", "8", "32", ">64"], n_vms))})
    no_header = pcsv.WriteOptions(include_header=False, quoting_style="none")
    with gzip.open(folder / "vmtable.csv.gz", "wb", compresslevel=1) as f:
        pcsv.write_csv(vmtable, f, no_header)
    n = 0
    with gzip.open(folder / "vm_cpu_readings-file-1-of-1.csv.gz", "wb", compresslevel=1) as f:
        for s0 in range(0, n_steps, block_steps):
            steps = np.arange(s0, min(s0 + block_steps, n_steps))
            k, v = np.nonzero(created[None, :] <= steps[:, None] * STEP_S)
            avg = np.round(rng.uniform(1, 60, v.size), 3)
            pcsv.write_csv(pa.table({"timestamp": steps[k] * STEP_S, "vmid": ids.take(pa.array(v)),
                                     "mincpu": np.full(v.size, 0.5), "maxcpu": np.round(avg + rng.uniform(0, 30, v.size), 3),
                                     "avgcpu": avg}), f, no_header)
            n += v.size
    return n


def convert(src: Path, out: Path, pandas: bool = False,
            kumo_src: Path | None = None) -> tuple[float, float, str, float]:
    """Wall seconds, peak RSS (GB), stderr and CPU seconds of ``kumo trace convert src out`` in a fresh child process
    (``pandas``: with the generic reader's whole-file pandas path; ``kumo_src``: another kumo source tree)."""
    # a helper child per conversion: RUSAGE_CHILDREN of this process is the maximum over all its children,
    # so the figure of each conversion is read inside a child that runs only that one conversion
    code = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
            "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
            "dt = time.perf_counter() - t; "
            "r = resource.getrusage(resource.RUSAGE_CHILDREN); "
            "print(dt, r.ru_maxrss, p.returncode, r.ru_utime + r.ru_stime); sys.stderr.write(p.stderr + p.stdout)")
    cli = ("import kumo.traces.generic as g; g.STREAM_PARQUET = False; " if pandas else "") + \
        "from kumo.cli import main; main()"
    cmd = [sys.executable, "-c", code, sys.executable, "-c", cli, "trace", "convert", str(src), str(out)]
    env = dict(os.environ)
    if kumo_src is not None:
        env["PYTHONPATH"] = str(kumo_src)
    if HUGEPAGE is not None:
        env["NUMPY_MADVISE_HUGEPAGE"] = HUGEPAGE
    p = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    dt, rss_kb, rc, cpu = p.stdout.split()
    if int(rc) != 0:
        raise SystemExit(f"convert {src} failed:\n{p.stderr}")
    return float(dt), int(rss_kb) / 2**20, p.stderr.strip(), float(cpu)


def report(label: str, dt: float, gb: float, cpu: float, note: str = "") -> None:
    ok = "met" if dt < GOAL_S and gb < GOAL_GB else "NOT met"
    print(f"{label:<32} {dt:6.1f} s  {cpu:6.1f} s CPU  {gb:5.2f} GB peak RSS   "
          f"[goal < {GOAL_S:g} s, < {GOAL_GB:g} GB: {ok}]{note}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vms", type=int, default=100_000, help="VMs (the issue's size: 100,000)")
    ap.add_argument("--steps", type=int, default=288, help="5-minute steps (288 = one day)")
    ap.add_argument("--formats", default="generic,opendc,azure", help="comma-separated: generic, opendc, azure")
    ap.add_argument("--no-baseline", action="store_true", help="skip the former pandas path of the generic reader")
    ap.add_argument("--baseline-src", type=Path, default=None,
                    help="also convert with the kumo sources in this folder (e.g. a checkout of an older "
                         "release's src/) and print the ratios; replaces the pandas baseline")
    ap.add_argument("--numpy-hugepage", choices=["0", "1"], default=None,
                    help="NUMPY_MADVISE_HUGEPAGE of the conversions (default: unset; kumo trace convert then turns "
                         "numpy's huge pages off, an older kumo leaves numpy's default, on)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", type=Path, default=None, help="write the inputs here and keep them (reused when "
                                                             "present: same --vms, --steps and --seed)")
    args = ap.parse_args()
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    global HUGEPAGE
    HUGEPAGE = args.numpy_hugepage
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        print(f"{args.vms:,} VMs x {args.steps} steps of {STEP_S} s; inputs in {root}"
              + ("" if HUGEPAGE is None else f"; NUMPY_MADVISE_HUGEPAGE={HUGEPAGE}"))
        for fmt in formats:
            t = time.perf_counter()
            src = root / {"generic": "long.parquet"}.get(fmt, fmt)
            if args.keep is not None and src.exists():  # inputs kept from an earlier invocation of this size
                rows = -1
            elif fmt == "generic":
                rows = write_generic(src, args.vms, args.steps, args.seed)
            elif fmt == "opendc":
                rows = write_opendc(src, args.vms, args.steps, args.seed)
            elif fmt == "azure":
                rows = write_azure(src, args.vms, args.steps, args.seed)
            else:
                raise SystemExit(f"unknown format {fmt!r}; valid: generic, opendc, azure")
            size = sum(f.stat().st_size for f in ([src] if src.is_file() else src.iterdir())) / 1e6
            made = "kept from before" if rows < 0 else f"{rows:,} rows written in {time.perf_counter() - t:.1f} s"
            print(f"\n{fmt}: {size:,.0f} MB on disk ({made})")
            dt, gb, msg, cpu = convert(src, root / f"{fmt}.kumo")
            print(f"  {msg}")
            report(f"  kumo trace convert ({fmt})", dt, gb, cpu)
            if args.baseline_src is not None:
                bdt, bgb, _, bcpu = convert(src, root / f"{fmt}-baseline.kumo", kumo_src=args.baseline_src)
                report(f"  same, kumo of {args.baseline_src}", bdt, bgb, bcpu)
                print(f"  ratio to it: {dt / bdt:.2f}x time, {cpu / bcpu:.2f}x CPU time, {gb / bgb:.2f}x memory")
                same = (root / f"{fmt}.kumo").read_bytes() == (root / f"{fmt}-baseline.kumo").read_bytes()
                print(f"  same .kumo bytes from both: {same}")
            elif fmt == "generic" and not args.no_baseline:
                bdt, bgb, _, bcpu = convert(src, root / "generic-pandas.kumo", pandas=True)
                report("  whole-file pandas reader", bdt, bgb, bcpu)
                print(f"  ratio row groups / pandas: {dt / bdt:.2f}x time, {gb / bgb:.2f}x memory "
                      "(the issue measured the former reader at 17 s, 6.8 GB)")
                same = (root / "generic.kumo").read_bytes() == (root / "generic-pandas.kumo").read_bytes()
                print(f"  same .kumo bytes from both readers: {same}")

if __name__ == "__main__":
    main()
