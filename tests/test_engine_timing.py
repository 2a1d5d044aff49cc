"""ControllerSpec.timing: the controller acts at the start of its step (default) or at its end."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_scenario, make_trace

from kumo.api import Decision
from kumo.engine import Engine


class MoveFirstOverloaded:
    """Records what it saw; moves VM 0 to host 1 the first time host 0 is over its capacity."""

    def __init__(self):
        self.seen: list[tuple[int, float, float]] = []
        self.moved = False

    def init_memory(self, view):
        return None

    def decide(self, view, memory, rng):
        self.seen.append((view.step, view.t_s, float(view.host_cpu_demand[0])))
        if not self.moved and view.host_cpu_demand[0] > view.hosts.cpu_mhz[0] and view.vm_host[0] == 0:
            self.moved = True
            return Decision(migrations=[(0, 1)])
        return None


def _run(timing: str):
    # two VMs on host 0 (1,000 MHz); step 1 overloads it (1,500 MHz)
    tr = make_trace([[300, 300], [800, 700], [800, 700], [800, 700]], ram=[[100, 100]] * 4,
                    booked_cpu=[1000, 1000], booked_ram=[512, 512])
    sc = make_scenario(hosts=((2, 1, 1000.0, 4096.0),), record_vm_steps=True,
                       placement={"preset": "first-fit", "filters": ["powered"]},
                       controller={"name": "none", "timing": timing},
                       migration={"model": "cloudsim"})
    e = Engine(sc, tr)
    ctl = MoveFirstOverloaded()
    e.controller = ctl
    return e.run(), ctl


def test_start_timing_moves_before_the_step_is_accounted():
    res, ctl = _run("start")
    assert [s for s, _, _ in ctl.seen] == [0, 1, 2, 3]
    assert [t for _, t, _ in ctl.seen] == [0.0, 300.0, 600.0, 900.0]
    mig = res.tables["migrations"]
    assert len(mig) == 1 and mig["start_s"].iloc[0] == 300.0


def test_end_timing_moves_after_the_step_it_saw():
    res, ctl = _run("end")
    # the controller sees each step's demand once the step is over, at the step's end time; not after the
    # run's last step, when nothing it decided could take effect
    assert [s for s, _, _ in ctl.seen] == [0, 1, 2]
    assert [t for _, t, _ in ctl.seen] == [300.0, 600.0, 900.0]
    assert ctl.seen[1][2] == pytest.approx(1500.0)
    mig = res.tables["migrations"]
    assert len(mig) == 1 and mig["start_s"].iloc[0] == 600.0
    # step 1 was suffered in full on the overloaded host: both VMs got 1000/1500 of their demand
    short = res.arrays["vm_cpu_delivered_mhz"][1] / res.arrays["vm_cpu_demand_mhz"][1]
    assert np.allclose(short, 1000.0 / 1500.0)


def test_end_timing_leaves_a_run_without_controller_unchanged():
    tr = make_trace([[300, 300], [800, 700]], booked_cpu=[1000, 1000])
    out = []
    for timing in ("start", "end"):
        sc = make_scenario(hosts=((2, 1, 1000.0, 4096.0),), controller={"name": "none", "timing": timing})
        out.append(Engine(sc, tr).run().tables["hosts"])
    assert out[0].equals(out[1])
