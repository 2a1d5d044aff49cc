"""Replay the embedded Bitbrains Rnd month (500 VMs, ~8,640 steps) with worst-fit placement.

Prints the engine's wall time and peak memory, and the ratio to one plain numpy pass over the same
demand arrays (host loads for every step through one matrix product with the engine's final placement,
then power and energy), measured in this same invocation. Goal (issue #2): under 3 s and under 1 GB.

It then replays the same month with every virtualization model on (memory sharing/ballooning/swap,
CPU modes and paging, I/O paths, replication of a third of the VMs, host failures, dirty rates) and
prints the ratio to the plain replay. Goal (issue #5): at most 3x.

    python benchmarks/replay.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import numpy as np

import kumo
from kumo.traces import load


def plain_numpy_pass(trace, vm_host: np.ndarray, n_hosts: int, cpu_cap: np.ndarray) -> float:
    """The floor: loads = demand @ placement, utilization, linear power, energy. Returns kWh."""
    placed = vm_host >= 0
    onehot = np.zeros((trace.n_vms, n_hosts), np.float32)
    onehot[np.flatnonzero(placed), vm_host[placed]] = 1.0
    cpu = np.minimum(trace.cpu, trace.cpu_booked_mhz[None, :])
    loads = cpu @ onehot
    util = np.minimum(loads / cpu_cap[None, :], 1.0)
    watts = 100.0 + 150.0 * util
    return float(watts.sum() * trace.step_s / 3.6e6)


ALL_MODELS = {
    "dirty_rate": {"source": "cpu+io"},
    "memory": {"idle_resident_fraction": 0.6},
    "cpu": {},
    "io": {},
    "replication": {},
    "failures": {"kind": "exponential", "mtbf_h": 2000.0, "mttr_h": 8.0},
    "images": [{"name": "linux", "preset": "homogeneous"}, {"name": "windows", "preset": "realistic"}],
    "classes": [
        {"name": "web", "share": 0.5, "image": "linux", "io_mode": "virtio"},
        {"name": "db", "share": 0.3, "image": "windows", "io_mode": "sriov", "protected": True},
        {"name": "batch", "share": 0.2, "image": "linux", "cpu_mode": "paravirtual", "paging": "shadow"},
    ],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="timed repetitions (the best is reported)")
    args = ap.parse_args()
    t = time.perf_counter()
    trace = load("bitbrains-rnd")
    t_load = time.perf_counter() - t
    sc = kumo.default_scenario()
    engine_s, base_s = [], []
    result = None
    for _ in range(args.repeat):
        t = time.perf_counter()
        result = kumo.run(sc, trace)
        engine_s.append(time.perf_counter() - t)
    assert result is not None
    vm_host = result.vms.final_host.to_numpy()
    cap = result.hosts.cpu_mhz.to_numpy()
    for _ in range(args.repeat):
        t = time.perf_counter()
        plain_numpy_pass(trace, vm_host, len(cap), cap)
        base_s.append(time.perf_counter() - t)
    tracemalloc.start()
    kumo.run(sc, trace)
    _, peak_py = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    e, b = min(engine_s), min(base_s)
    print(f"trace: {trace.n_vms} VMs x {trace.n_steps} steps (load {t_load:.2f} s)")
    print(f"engine run (best of {args.repeat}): {e:.3f} s   [goal < 3 s]")
    print(f"plain numpy pass (best of {args.repeat}): {b:.3f} s")
    print(f"ratio engine / plain numpy: {e / b:.1f}x")
    print(f"peak traced allocations during a run: {peak_py / 2**20:.0f} MiB; process peak RSS {rss_mb:.0f} MiB"
          "   [goal < 1 GB]")
    print(f"energy {result.summary['energy_kwh']:.1f} kWh, rejections {result.summary['rejections']}")
    sc_all = kumo.parse_scenario({**sc.model_dump(), "virtualization": ALL_MODELS})
    virt_s = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        rv = kumo.run(sc_all, trace)
        virt_s.append(time.perf_counter() - t)
    v = min(virt_s)
    print(f"all virtualization models on (best of {args.repeat}): {v:.3f} s; ratio to plain replay {v / e:.2f}x"
          "   [goal <= 3x]")
    print(f"  energy {rv.summary['energy_kwh']:.1f} kWh, host failures {rv.summary['host_failures']}, "
          f"VM downtime {rv.summary['vm_downtime_h']:.1f} h, RAM shortfall {rv.summary['ram_shortfall_gb_h']:.1f} GB*h")


if __name__ == "__main__":
    main()
