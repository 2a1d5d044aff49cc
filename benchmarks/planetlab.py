"""CloudSim's PlanetLab LrMmt experiment (2011-03-03, 800 hosts, 1052 VMs, 288 steps) in kumo's compatibility
mode, timed as a whole process next to CloudSim's own whole-process times from the reference
(``shared/reference/cloudsim-planetlab.md`` §2: quiet driver 15.75 s, shipped main 45.0 s; median of 3 runs
after a warm-up on this machine class).

Each measurement starts a fresh ``python`` process (interpreter start, imports, trace load, simulation and
results) and times it from outside with ``time.perf_counter``, like the reference's external timer. The
in-process breakdown shows where the time goes. Goals: LrMmt at least 20x faster than CloudSim's
LrMmt; all ten example policies together faster than CloudSim's single LrMmt run.

    python benchmarks/planetlab.py [--repeat 3] [--skip-ten]

``KUMO_PURE_PYTHON=1`` runs the same experiment without the compiled kernel (identical results) as a baseline
in the same invocation. CloudSim's quiet driver used about 1.3 cores (user+sys 20.5 s in 15.75 s of wall
time); the ten-policy figure is given both one after the other in one process and on two worker processes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

CLOUDSIM_QUIET_S = 15.75
CLOUDSIM_SHIPPED_S = 45.0

ONE = "from kumo.studies.cloudsim import run_cloudsim; run_cloudsim('lr-mmt')"
TEN = "from kumo.studies.cloudsim import EXAMPLES, run_cloudsim\nfor p in EXAMPLES: run_cloudsim(p)"
TEN_2 = ("from kumo.studies.cloudsim import validation_table\n"
         "if __name__ == '__main__': validation_table(jobs=2)")
BREAKDOWN = """
import time
t0 = time.perf_counter()
import numpy
t1 = time.perf_counter()
from kumo.studies.cloudsim.replay import load_day, run_cloudsim
t2 = time.perf_counter()
tr = load_day('20110303')
t3 = time.perf_counter()
out = run_cloudsim('lr-mmt', trace=tr)
t4 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2, t4 - t3, out['energy_kwh'], out['migrations'])
"""


def whole_process(code: str, repeat: int, env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """Median, min and max wall time of ``python -c code`` over ``repeat`` runs after one warm-up."""
    times = []
    for i in range(repeat + 1):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, stdout=subprocess.DEVNULL,
                       env=None if env is None else {**os.environ, **env})
        if i:
            times.append(time.perf_counter() - t)
    return statistics.median(times), min(times), max(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per measurement (median reported)")
    ap.add_argument("--skip-ten", action="store_true", help="time only LrMmt")
    args = ap.parse_args()
    t_main = time.perf_counter()

    out = subprocess.run([sys.executable, "-c", BREAKDOWN], check=True, capture_output=True, text=True).stdout.split()
    t_np, t_kumo, t_trace, t_sim = (float(x) for x in out[:4])
    print(f"LrMmt 2011-03-03 in kumo's CloudSim mode: {float(out[4]):.2f} kWh, {int(float(out[5]))} migrations")
    print(f"  in-process: import numpy {t_np:.2f} s, import kumo.studies.cloudsim {t_kumo:.2f} s, "
          f"load trace {t_trace:.2f} s, simulate {t_sim:.2f} s")

    med, lo, hi = whole_process(ONE, args.repeat)
    print(f"\nwhole process, LrMmt (median of {args.repeat}, min-max):  kumo {med:.2f} s ({lo:.2f}-{hi:.2f})")
    print(f"  CloudSim quiet driver {CLOUDSIM_QUIET_S:.2f} s -> kumo is {CLOUDSIM_QUIET_S / med:.1f}x faster "
          f"[goal >= 20x: {'met' if CLOUDSIM_QUIET_S / med >= 20 else 'NOT met'}]")
    print(f"  CloudSim shipped main {CLOUDSIM_SHIPPED_S:.2f} s -> kumo is {CLOUDSIM_SHIPPED_S / med:.1f}x faster")
    print(f"  simulation alone {t_sim:.2f} s -> {CLOUDSIM_QUIET_S / t_sim:.1f}x CloudSim's whole quiet run")
    from kumo.studies.cloudsim._compiled import K

    if K is not None:
        pmed, plo, phi = whole_process(ONE, max(1, args.repeat // 2), env={"KUMO_PURE_PYTHON": "1"})
        print(f"  the same without the C kernel (KUMO_PURE_PYTHON=1, same results): {pmed:.2f} s "
              f"({plo:.2f}-{phi:.2f}) -> the kernel makes the whole process {pmed / med:.1f}x faster")
    else:
        print("  (the C kernel is not built in this installation: the figures above are the Python path)")

    if not args.skip_ten:
        n10 = max(1, args.repeat // 3)
        med10, lo10, hi10 = whole_process(TEN, n10)
        print(f"\nwhole process, all ten example policies, one after the other: kumo {med10:.2f} s "
              f"({lo10:.2f}-{hi10:.2f})")
        print(f"  vs CloudSim's single LrMmt run {CLOUDSIM_QUIET_S:.2f} s: ratio {CLOUDSIM_QUIET_S / med10:.2f} "
              f"[goal > 1: {'met' if med10 < CLOUDSIM_QUIET_S else 'NOT met'}]")
        med2, lo2, hi2 = whole_process(TEN_2, n10)
        print(f"whole process, all ten on 2 worker processes (kumo validate -j 2): kumo {med2:.2f} s "
              f"({lo2:.2f}-{hi2:.2f}) -> ratio {CLOUDSIM_QUIET_S / med2:.2f} "
              f"[goal > 1: {'met' if med2 < CLOUDSIM_QUIET_S else 'NOT met'}]")
    print(f"\n(benchmark wall time {time.perf_counter() - t_main:.1f} s; "
          "other processes on the machine slow every figure down)")


if __name__ == "__main__":
    main()
