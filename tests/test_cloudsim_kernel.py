"""The compiled PABFD kernel (``kumo/studies/cloudsim/_kernel*.c``) decides exactly as the Python reference path.

Each policy family runs twice on a slice of the embedded PlanetLab day (first 120 intervals, 400 VMs, 260
hosts: enough for over- and under-utilized hosts, short and full histories, and every after-test), once with
the kernel and once with ``KUMO_PURE_PYTHON=1``; the migration logs (time, VM, source, target) and every
metric must be identical, bit for bit. No tolerance: the kernel does the same IEEE operations in the same
order, so any difference is a bug.
"""

from __future__ import annotations

import numpy as np
import pytest

from kumo.studies.cloudsim import _compiled
from kumo.studies.cloudsim.replay import _percent, load_day, make_run

pytestmark = pytest.mark.skipif(_compiled.K is None, reason="the C kernel is not built in this installation")

POLICIES = ["thr-mmt", "iqr-mmt", "mad-mmt", "lr-mmt", "lrr-mmt", "lr-mc", "lr-rs", "lr-mu", "iqr-mu", "thr-hpg", "mad-mm"]


@pytest.fixture(scope="module")
def percent() -> np.ndarray:
    return _percent(load_day("20110303"))[:120, :400]


def _run(percent: np.ndarray, policy: str, pure: bool, monkeypatch: pytest.MonkeyPatch) -> tuple:
    if pure:
        monkeypatch.setenv("KUMO_PURE_PYTHON", "1")
    else:
        monkeypatch.delenv("KUMO_PURE_PYTHON", raising=False)
    run = make_run(percent, policy, seed=3, n_hosts=260, record=True)
    out = run.run()
    return out, [e for e in run.log if e[0] == "migrate"]


@pytest.mark.parametrize("policy", POLICIES)
def test_kernel_equals_python(percent: np.ndarray, policy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, fast_log = _run(percent, policy, False, monkeypatch)
    slow, slow_log = _run(percent, policy, True, monkeypatch)
    assert fast_log == slow_log
    assert fast == slow
    assert fast["migrations"] > 0


def test_kernel_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUMO_PURE_PYTHON", raising=False)
    assert _compiled.available()
    monkeypatch.setenv("KUMO_PURE_PYTHON", "1")
    assert not _compiled.available()
