"""Shared fixtures: tiny traces and scenarios built in one line each."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import settings

from kumo.config import parse
from kumo.traces.base import Trace

# CI runs the property tests on a fixed example sequence, so a result is reproducible from the log;
# locally hypothesis explores new examples each run (and keeps failing ones in .hypothesis/).
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def make_trace(cpu, ram=None, booked_cpu=None, booked_ram=None, cores=None, arrive=None, depart=None, step_s=300.0):
    """A Trace from (n_steps, n_vms) lists; bookings default to the max demand (at least 1)."""
    cpu = np.asarray(cpu, np.float32)
    if cpu.ndim == 1:
        cpu = cpu[:, None]
    n, v = cpu.shape
    ram_a = None if ram is None else np.asarray(ram, np.float32).reshape(n, v)
    bc = np.maximum(cpu.max(0), 1) if booked_cpu is None else np.asarray(booked_cpu, np.float32)
    br = (np.full(v, 1024.0) if ram_a is None else np.maximum(ram_a.max(0), 1)) if booked_ram is None \
        else np.asarray(booked_ram, np.float32)
    return Trace(
        name="fixture", step_s=step_s, start_epoch_s=0.0, vm_ids=np.array([f"vm{i}" for i in range(v)]),
        cpu=cpu, ram_mb=ram_a, cores=np.ones(v, np.int32) if cores is None else np.asarray(cores, np.int32),
        cpu_booked_mhz=np.asarray(bc, np.float32), ram_booked_mb=np.asarray(br, np.float32),
        arrive_step=np.zeros(v, np.int32) if arrive is None else np.asarray(arrive, np.int32),
        depart_step=np.full(v, n, np.int32) if depart is None else np.asarray(depart, np.int32),
    )


def make_scenario(hosts=((1, 1, 1000.0, 4096.0),), power=(100.0, 200.0), cpu_overcommit=1.0, **kw):
    """hosts: tuples (count, cores, core_mhz, ram_mb); extra keys go into the scenario dict."""
    data = {
        "name": "t",
        "hosts": [
            {"count": c, "cores": k, "core_mhz": m, "ram_mb": r, "cpu_overcommit": cpu_overcommit,
             "power": {"kind": "linear", "idle_w": power[0], "max_w": power[1]}}
            for c, k, m, r in hosts
        ],
    }
    data.update(kw)
    return parse(data)


@pytest.fixture
def trace_factory():
    return make_trace


@pytest.fixture
def scenario_factory():
    return make_scenario
