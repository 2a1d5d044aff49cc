"""kumo.books: plain steps accounted in batches give the same books, to the last bit, as step by step."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_trace
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kumo
from kumo import books
from kumo.api import Decision
from kumo.engine import Engine
from kumo.results import build_result
from kumo.state import VM_RUNNING


class SometimesMover:
    """Every ``every``-th step, migrates one running VM to another host (steps in between stay plain)."""

    def __init__(self, every: int):
        self.every = every
        self.k = 0

    def init_memory(self, view):
        return None

    def decide(self, view, memory, rng):
        self.k += 1
        moves = []
        running = np.flatnonzero(view.vm_state == VM_RUNNING)
        if self.k % self.every == 0 and len(running) and view.hosts.n > 1:
            vm = int(running[rng.integers(len(running))])
            target = int(rng.integers(view.hosts.n - 1))
            moves.append((vm, target + (target >= view.vm_host[vm])))
        return Decision(migrations=moves, power_on=[t for _, t in moves])


def _run(sc, tr, batch: bool, every: int, monkeypatch):
    monkeypatch.setattr(Engine, "batch_plain_steps", batch)
    e = Engine(sc, tr)
    e.controller = SometimesMover(every)
    return e.run()


def _assert_same(a, b):
    assert a.arrays.keys() == b.arrays.keys()
    for k in a.arrays:
        x, y = np.asarray(a.arrays[k]), np.asarray(b.arrays[k])
        assert x.dtype == y.dtype and x.shape == y.shape, k
        assert np.array_equal(x.view(np.uint8) if x.dtype.kind == "f" else x,
                              y.view(np.uint8) if y.dtype.kind == "f" else y), k
    for k in a.tables:
        if k == "summary":
            pd.testing.assert_frame_equal(a.tables[k].drop(columns=["wall_s"], errors="ignore"),
                                          b.tables[k].drop(columns=["wall_s"], errors="ignore"), check_exact=True)
        else:
            pd.testing.assert_frame_equal(a.tables[k], b.tables[k], check_exact=True)


worlds = st.fixed_dictionaries({
    "n_vms": st.integers(1, 12),
    "n_steps": st.integers(1, 30),
    "n_hosts": st.integers(1, 4),
    "seed": st.integers(0, 2**16),
    "every": st.integers(1, 7),
    "batch": st.integers(1, 5),
    "cells": st.sampled_from([1, 20, 10**6]),
    "switch_off": st.booleans(),
    "boot_s": st.sampled_from([0.0, 45.0]),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(w=worlds)
def test_batched_books_are_bit_identical(w, monkeypatch):
    rng = np.random.default_rng(w["seed"])
    cpu = rng.uniform(0, 2500, (w["n_steps"], w["n_vms"]))
    ram = rng.uniform(0, 3000, (w["n_steps"], w["n_vms"]))
    arrive = rng.integers(0, w["n_steps"], w["n_vms"])
    depart = np.minimum(arrive + rng.integers(1, w["n_steps"] + 1, w["n_vms"]), w["n_steps"])
    tr = make_trace(cpu, ram=ram, booked_cpu=np.full(w["n_vms"], 2000.0),
                    booked_ram=rng.uniform(500, 3000, w["n_vms"]), arrive=arrive, depart=depart)
    sc = kumo.parse_scenario({
        "seed": w["seed"], "record_vm_steps": True, "record_host_steps": True,
        "hosts": [{"name": "a", "count": w["n_hosts"], "cores": 2, "core_mhz": 1000, "ram_mb": 4096,
                   "cpu_overcommit": 3.0, "ram_overcommit": 2.0, "power": {"kind": "linear", "idle_w": 80, "max_w": 200}},
                  {"name": "b", "count": 1, "cores": 4, "core_mhz": 1000, "ram_mb": 2048,
                   "cpu_overcommit": 3.0, "ram_overcommit": 2.0, "power": {"kind": "spec", "model": "hp-ml110-g5"}}],
        "power_management": {"switch_off_idle": w["switch_off"], "boot_s": w["boot_s"]},
        "placement": {"on_no_host": "queue"},
    })
    monkeypatch.setattr(books, "BATCH", w["batch"])
    monkeypatch.setattr(books, "MAX_CELLS", w["cells"])
    _assert_same(_run(sc, tr, True, w["every"], monkeypatch), _run(sc, tr, False, w["every"], monkeypatch))


def _both_ways(monkeypatch, label: str, **over):
    """A Kohne scheduler on the embedded month (shortened by ``over``), batched and step by step."""
    from kumo.studies.kohne2018 import TABLE_10_10 as PRESETS
    from kumo.studies.kohne2018 import load_setup
    from kumo.sweep import deep_merge

    data = deep_merge(load_setup().scenario, over)
    data["controller"] = {**data["controller"], "params": {**data["controller"]["params"], **PRESETS[label]}}
    sc = kumo.parse_scenario(data)
    out = []
    for batch in (True, False):
        monkeypatch.setattr(Engine, "batch_plain_steps", batch)
        out.append(kumo.run(sc))
    _assert_same(*out)
    return out[0]


def test_batched_books_on_the_embedded_month(monkeypatch):
    """A Kohne scheduler on the first 1,000 steps of the embedded Bitbrains month, both ways."""
    r = _both_ways(monkeypatch, "MMWF+LB", trace={"max_steps": 1000}, record_host_steps=True)
    assert r.tables["summary"]["migrations"].iloc[0] > 0


VIRT = {
    "dirty_rate": {"source": "cpu+io"},
    "memory": {"idle_resident_fraction": 0.6},
    "cpu": {}, "io": {}, "replication": {},
    "failures": {"kind": "exponential", "mtbf_h": 200.0, "mttr_h": 8.0},
    "images": [{"name": "linux", "preset": "homogeneous"}],
    "classes": [{"name": "web", "share": 0.6, "image": "linux", "io_mode": "virtio"},
                {"name": "db", "share": 0.4, "image": "linux", "io_mode": "sriov", "protected": True}],
}


def test_batched_books_with_every_virtualization_model(monkeypatch):
    """Plain steps with the virtualization models (host load, useful CPU, memory model) batch identically."""
    _both_ways(monkeypatch, "MMWF", trace={"max_steps": 600, "max_vms": 150}, virtualization=VIRT)


@pytest.mark.parametrize("n", [7, 20, 500, 1052])
def test_row_sums_match_one_dimensional_sums(n):
    a = np.random.default_rng(n).random((50, n)) * 1e6
    assert all(books._row_sums(a)[i] == a[i].sum() for i in range(len(a)))


# ------------------------------------------------------------------------------------------ runs of quiet steps
def _driven(sc, tr, every, history=3):
    """The engine as an outside driver runs it: each run of quiet steps at once (Engine.run_quiet), the
    other steps one by one; also returns the hosts' CPU demand after every step, as run_quiet reports it
    for the last ``history`` steps of a run and the state shows it after a single step."""
    e = Engine(sc, tr)
    e.controller = SometimesMover(every) if every else None
    n, k, seen = e.trace.n_steps, 0, {}
    while k < n:
        end, host_cpu = e.run_quiet(k, n, history)
        assert end == k or len(host_cpu) == min(history, end - k)
        if end > k:
            for i, row in enumerate(host_cpu):
                seen[end - len(host_cpu) + i] = row
            k = end
            continue
        e.step(k)
        seen[k] = e.state.host_cpu_demand.copy()
        k += 1
    e.close()
    return build_result(e), seen


def _stepped(sc, tr, every):
    e = Engine(sc, tr)
    e.controller = SometimesMover(every) if every else None
    seen = {}
    for k in range(e.trace.n_steps):
        e.step(k)
        seen[k] = e.state.host_cpu_demand.copy()
    e.close()
    return build_result(e), seen


quiet_worlds = st.fixed_dictionaries({
    "n_vms": st.integers(1, 12),
    "n_steps": st.integers(1, 40),
    "n_hosts": st.integers(1, 4),
    "seed": st.integers(0, 2**16),
    "every": st.integers(1, 7),
    "interval": st.sampled_from([1, 3, 5]),
    "controller": st.booleans(),
    "switch_off": st.sampled_from(["no", "yes", "carbon"]),
    "boot_s": st.sampled_from([0.0, 45.0]),
    "queue": st.booleans(),
    "cap": st.booleans(),
    "ram": st.booleans(),
    "cells": st.sampled_from([3, 10**6]),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(w=quiet_worlds)
def test_quiet_runs_are_bit_identical_to_stepping(w, monkeypatch):
    """Engine.run_quiet (an outside driver's fast-forward, accounted by Books.plain_run) leaves the books,
    the tables and the hosts' demand as step-by-step running does, to the last bit."""
    rng = np.random.default_rng(w["seed"])
    n, v = w["n_steps"], w["n_vms"]
    arrive = rng.integers(0, n, v) * (rng.random(v) < 0.5)  # half arrive at the start
    depart = np.minimum(arrive + rng.integers(1, n + 1, v), n)
    tr = make_trace(rng.uniform(0, 2500, (n, v)), ram=rng.uniform(0, 3000, (n, v)) if w["ram"] else None,
                    booked_cpu=np.full(v, 2000.0), booked_ram=rng.uniform(500, 3000, v), arrive=arrive, depart=depart)
    data = {
        "seed": w["seed"], "record_vm_steps": True, "record_host_steps": True,
        "trace": {"cap_demand_at_booking": w["cap"]},
        "hosts": [{"name": "a", "count": w["n_hosts"], "cores": 2, "core_mhz": 1000, "ram_mb": 4096,
                   "cpu_overcommit": 3.0, "ram_overcommit": 2.0, "power": {"kind": "linear", "idle_w": 80, "max_w": 200}}],
        "power_management": {"switch_off_idle": w["switch_off"] != "no", "boot_s": w["boot_s"]},
        "placement": {"on_no_host": "queue" if w["queue"] else "reject"},
        "controller": {"name": "consolidation" if w["controller"] else "none", "interval_steps": w["interval"]},
    }
    if w["switch_off"] == "carbon":  # hosts left idle go off only in the cleaner hours
        data["carbon"] = {"source": "NL", "start": "2023-06-01"}
        data["power_management"]["switch_off_carbon_above"] = 300.0
    sc = kumo.parse_scenario(data)
    monkeypatch.setattr(books, "MAX_CELLS", w["cells"])
    every = w["every"] if w["controller"] else 0
    (a, seen_a), (b, seen_b) = _driven(sc, tr, every), _stepped(sc, tr, every)
    _assert_same(a, b)
    for k, row in seen_a.items():
        assert np.array_equal(row.view(np.uint64), seen_b[k].view(np.uint64)), k


def test_quiet_runs_skip_nothing_they_cannot():
    """Steps with an arrival, a queued VM, a decision or a migration in flight are left to the caller."""
    tr = make_trace(np.full((6, 2), 500.0), arrive=[0, 3])
    sc = kumo.parse_scenario({"hosts": [{"name": "a", "count": 1, "cores": 2, "core_mhz": 1000, "ram_mb": 4096}]})
    e = Engine(sc, tr)
    e.step(0)
    assert e.run_quiet(1, 6)[0] == 3  # steps 1 and 2; VM 1 arrives at step 3
    assert e.run_quiet(3, 6)[0] == 3
    e.step(3)
    end, host_cpu = e.run_quiet(4, 6, history=5)
    assert end == 6 and host_cpu.shape == (2, 1) and host_cpu[-1][0] == 1000.0


@pytest.mark.parametrize("shape", [(1, 5), (2, 1), (3, 1), (2, 2), (7, 3), (96, 40), (288, 500), (5, 1052)])
def test_rows_added_at_once_are_added_in_order(shape):
    """Books.plain_run adds a total's rows in one reduction: the same bits as adding them one by one."""
    rng = np.random.default_rng(shape[0] * 7 + shape[1])
    rows = rng.standard_normal(shape) * 10.0 ** rng.uniform(-8, 8, shape)
    a = rng.standard_normal(shape[1]) * 1e3
    b = a.copy()
    books._add_rows(a, rows)
    books._add_rows_at_once(b, rows)
    assert np.array_equal(a.view(np.uint64), b.view(np.uint64))
