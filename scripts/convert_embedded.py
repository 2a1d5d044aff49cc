"""Convert the raw traces in ../shared/data into the compact files embedded in src/kumo/data.

Usage (from the repository root)::

    python scripts/convert_embedded.py [--shared ../shared] [--level 19]

Reads ``<shared>/data/bitbrains-rnd/2013-7``, the ten days of ``<shared>/data/planetlab/`` and
``<shared>/data/opendc/workloads/surf_week`` with kumo's own readers and writes
``src/kumo/data/bitbrains-rnd-2013-7.kumo``, ``src/kumo/data/planetlab-<date>.kumo`` and
``src/kumo/data/surf-week.kumo`` (quantization as documented in :mod:`kumo.traces.compact`). Prints size,
sha256 and quirk counts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from kumo.traces import read_bitbrains, read_opendc, read_planetlab, save  # noqa: E402
from kumo.traces.compact import load_compact  # noqa: E402

#: the ten PlanetLab days of CloudSim's examples (Beloglazov & Buyya, CCPE 2012)
PLANETLAB_DAYS = ("20110303", "20110306", "20110309", "20110322", "20110325", "20110403", "20110409", "20110411",
                  "20110412", "20110420")

PROVENANCE = {
    "bitbrains-rnd-2013-7": {
        "source": "../shared/data/bitbrains-rnd/2013-7 (500 per-VM .csv.gz files)",
        "dataset": "GWA-T-12 Bitbrains, Rnd subset, month 2013-7",
        "origin": "Grid Workloads Archive, TU Delft, http://gwa.ewi.tudelft.nl/datasets/gwa-t-12-bitbrains",
        "cite": "Shen, van Beek, Iosup: Statistical Characterization of Business-Critical Workloads Hosted in "
        "Cloud Datacenters, CCGrid 2015; and the Grid Workloads Archive",
        "licence": "shared by the Grid Workloads Archive for research use, with citation; see PROVENANCE.md",
    },
    **{f"planetlab-{day}": {
        "source": f"../shared/data/planetlab/{day} (as in CloudSim's workload/planetlab/{day})",
        "dataset": f"PlanetLab VM CPU utilization, {day[:4]}-{day[4:6]}-{day[6:]}, a workload shipped with CloudSim's "
                   "examples",
        "origin": "CoMon monitoring of PlanetLab, selected by Beloglazov & Buyya",
        "cite": "Park & Pai: CoMon: a mostly-scalable monitoring system for PlanetLab (ACM SIGOPS OSR 2006); "
        "Beloglazov & Buyya, CCPE 2012",
        "licence": "measurement data distributed with CloudSim (whose code is GPLv3); no separate data licence "
        "is stated; see PROVENANCE.md",
    } for day in PLANETLAB_DAYS},
    "surf-week": {
        "source": "../shared/data/opendc/workloads/surf_week (tasks.parquet, fragments.parquet)",
        "dataset": "one week of the SURF data center's workload (2022-10-06 22:00 UTC + 7 days) in OpenDC's "
        "workload format: 6,295 tasks, 2,323,475 fragments of 30 s",
        "origin": "the OpenDC repository (atlarge-research/opendc, commit 691036deb), test/benchmark resources",
        "cite": "Mastenbroek et al., OpenDC 2.0: Convenient Modeling and Simulation of Emerging Technologies in "
        "Cloud Datacenters, CCGrid 2021; and SURF as the origin of the trace",
        "licence": "distributed in OpenDC's repository (MIT licence for its code); the data keep their original "
        "terms; see PROVENANCE.md",
    },
}


#: OpenDC's grid carbon intensity series (hourly gCO2/kWh) and failure traces, shipped as Parquet
CARBON_REGIONS = ("AT", "AU", "BE", "NL")
FAILURE_TRACES = ("Facebook", "Instagram", "Netflix")


def convert_series(data: Path, out: Path) -> None:
    """The carbon series and failure traces: checked, and rewritten as zstd Parquet with kumo's names."""
    import pandas as pd

    for region in CARBON_REGIONS:
        df = pd.read_parquet(data / "opendc" / "carbon" / f"{region}_2021-2024.parquet")
        df = pd.DataFrame({"timestamp": pd.to_datetime(df["timestamp"], utc=True).astype("datetime64[s, UTC]"),
                           "carbon_intensity": df["carbon_intensity"].astype("float64")})
        assert df["carbon_intensity"].notna().all() and (df["carbon_intensity"] >= 0).all()
        path = out / f"carbon-{region}.parquet"
        df.to_parquet(path, index=False, compression="zstd")
        print(f"{path.name}: {path.stat().st_size:,} bytes, {len(df)} hourly values, "
              f"mean {df['carbon_intensity'].mean():.1f} gCO2/kWh")
    for name in FAILURE_TRACES:
        df = pd.read_parquet(data / "opendc" / "failures" / f"{name}_user_reported.parquet")
        df = df[["failure_interval", "failure_duration", "failure_intensity"]].astype(
            {"failure_interval": "int64", "failure_duration": "int64", "failure_intensity": "float64"})
        path = out / f"failures-{name.lower()}.parquet"
        df.to_parquet(path, index=False, compression="zstd")
        print(f"{path.name}: {path.stat().st_size:,} bytes, {len(df)} failures")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared", help="the shared folder")
    parser.add_argument("--out", type=Path, default=REPO / "src" / "kumo" / "data", help="output folder")
    parser.add_argument("--level", type=int, default=19, help="zstd level (1..22)")
    parser.add_argument("--only", choices=sorted(PROVENANCE), help="convert one trace only")
    parser.add_argument("--planetlab", action="store_true", help="convert the PlanetLab days only")
    parser.add_argument("--series", action="store_true", help="convert the carbon series and failure traces only")
    args = parser.parse_args(argv)
    data = args.shared / "data"
    if args.series:
        convert_series(data, args.out)
        return 0
    jobs = [
        (
            "bitbrains-rnd-2013-7",
            lambda: read_bitbrains(data / "bitbrains-rnd" / "2013-7", name="bitbrains-rnd-2013-7"),
        ),
    ] + [(f"planetlab-{day}", (lambda d=day: read_planetlab(data / "planetlab" / d, name=f"planetlab-{d}")))
         for day in PLANETLAB_DAYS] + [
        ("surf-week", lambda: read_opendc(data / "opendc" / "workloads" / "surf_week", name="surf-week", step_s=300)),
    ]
    command = f"python scripts/convert_embedded.py --level {args.level}"
    for name, read in jobs:
        if (args.only and name != args.only) or (args.planetlab and not name.startswith("planetlab")):
            continue
        # the small PlanetLab day is stored with zlib: loading it then needs no pyarrow import (~35 ms, more
        # than its decompression), which matters for the CloudSim benchmark's whole-process time
        codec, level = ("zlib", 9) if name.startswith("planetlab") else ("zstd", args.level)
        t = time.perf_counter()
        trace = read()
        trace = replace(trace, provenance={**trace.provenance, **PROVENANCE[name], "converted_by": command})
        t_read = time.perf_counter() - t
        t = time.perf_counter()
        path = save(trace, args.out / f"{name}.kumo", level=level, codec=codec)
        t_save = time.perf_counter() - t
        t = time.perf_counter()
        load_compact(path)
        t_load = time.perf_counter() - t
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        print(
            f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}: {path.stat().st_size:,} bytes, "
            f"{trace.n_vms} VMs x {trace.n_steps} steps; read {t_read:.1f} s, save {t_save:.1f} s, "
            f"load {t_load:.2f} s; sha256 {digest}"
        )
        print("  quirks:", json.dumps(trace.quirks, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
