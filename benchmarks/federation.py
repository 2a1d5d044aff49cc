"""A three-provider federation over the full embedded Bitbrains month, timed against the single-data-center
run in the same invocation. Goal (issue #6): under 4x.

The federation is :func:`kumo.federation.presets.three_providers` (three data centers of 12, 18 and 6
hosts, 500 VMs split over three customers, outsourcing through the ``cheapest`` broker, ledger and all
tables); the baseline is ``kumo.run(kumo.default_scenario())`` (40 hosts, worst fit). Both get the trace
already loaded; the best of ``--repeat`` runs of each is compared.

    python benchmarks/federation.py [--repeat 3] [--broker cheapest]
"""

from __future__ import annotations

import argparse
import time

import kumo
from kumo.federation import parse_federation, run_federation
from kumo.federation.presets import three_providers
from kumo.traces import load


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="timed repetitions (the best is reported)")
    ap.add_argument("--broker", default="cheapest", choices=["cheapest", "reliance", "auction"])
    args = ap.parse_args()
    trace = load("bitbrains-rnd")
    sc = kumo.default_scenario()
    spec = parse_federation(three_providers(args.broker))
    single, fed = [], []
    result = None
    for _ in range(args.repeat):  # interleaved, so that machine noise hits both alike
        t = time.perf_counter()
        kumo.run(sc, trace)
        single.append(time.perf_counter() - t)
        t = time.perf_counter()
        result = run_federation(spec, trace)
        fed.append(time.perf_counter() - t)
    assert result is not None
    s, f = min(single), min(fed)
    summ = result.summary
    print(f"trace: {trace.n_vms} VMs x {trace.n_steps} steps")
    print(f"single data center (best of {args.repeat}): {s:.3f} s")
    print(f"three-provider federation, {summ['datacenters']} data centers, broker {args.broker} "
          f"(best of {args.repeat}): {f:.3f} s")
    print(f"ratio federation / single: {f / s:.2f}x   [goal < 4x]")
    print(f"federation: {summ['vms_outsourced']} VMs outsourced, profit {summ['profit']:.2f}, "
          f"{summ['sla_breaks_cpu'] + summ['sla_breaks_ram']} CPU+RAM breaks")


if __name__ == "__main__":
    main()
