"""The compiled kernel (``kumo/studies/cloudsim/_kernel*.c``) decides exactly as the Python reference path, and
does decide: it must not quietly hand its work back to Python.

Each policy family runs twice on a slice of the embedded PlanetLab day (first 120 intervals, 400 VMs, 260
hosts: enough for over- and under-utilized hosts, short and full histories, and every after-test), once with
the kernel and once with ``KUMO_PURE_PYTHON=1``; the migration logs (time, VM, source, target) and every
metric must be identical, bit for bit. No tolerance: the kernel does the same IEEE operations in the same
order, so any difference is a bug. The kernel run's counters (``_compiled.stats``) must show the kernel
handling the bulk of the calls, with the expected number handed back.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from kumo.studies.cloudsim import _compiled
from kumo.studies.cloudsim._model import POWER_FLAT
from kumo.studies.cloudsim.replay import _percent, load_day, make_run

pytestmark = pytest.mark.skipif(_compiled.K is None, reason="the C kernel is not built in this installation")

#: policy -> (the entry point that does the policy's optimizations, calls it is expected to hand back on the
#: slice). MMT and MU run whole optimizations in the kernel; the other selections run the Python optimize with
#: one kernel PABFD per decision. The slice has no close call any detector must hand back.
POLICIES = {
    "thr-mmt": ("optimize", 0), "iqr-mmt": ("optimize", 0), "mad-mmt": ("optimize", 0), "lr-mmt": ("optimize", 0),
    "lrr-mmt": ("optimize", 0), "lr-mu": ("optimize", 0), "iqr-mu": ("optimize", 0),
    "lr-mc": ("pabfd", 0), "lr-rs": ("pabfd", 0), "lrr-mc": ("pabfd", 0), "iqr-rs": ("pabfd", 0),
    "mad-mc": ("pabfd", 0), "thr-hpg": ("pabfd", 0), "mad-mm": ("pabfd", 0),
}
#: the share of an entry point's calls the kernel must handle itself
BULK = 0.9


@pytest.fixture(scope="module")
def percent() -> np.ndarray:
    return _percent(load_day("20110303"))[:120, :400]


def _run(percent: np.ndarray, policy: str, pure: bool, monkeypatch: pytest.MonkeyPatch) -> tuple:
    if pure:
        monkeypatch.setenv("KUMO_PURE_PYTHON", "1")
    else:
        monkeypatch.delenv("KUMO_PURE_PYTHON", raising=False)
    _compiled.reset_stats()
    run = make_run(percent, policy, seed=3, n_hosts=260, record=True)
    out = run.run()
    return out, [e for e in run.log if e[0] == "migrate"], _compiled.stats()


def _share(counts: dict[str, int]) -> float:
    total = sum(counts.values())
    return counts["handled"] / total if total else 0.0


@pytest.mark.parametrize("policy", POLICIES)
def test_kernel_equals_python_and_does_the_work(percent: np.ndarray, policy: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    fast, fast_log, st = _run(percent, policy, False, monkeypatch)
    slow, slow_log, pure_st = _run(percent, policy, True, monkeypatch)
    assert fast_log == slow_log
    assert fast == slow
    assert fast["migrations"] > 0
    # the kernel did the work: the entry point of the policy's optimizations handled the bulk of its calls, and
    # handed back exactly as many as expected
    entry, handed_back = POLICIES[policy]
    assert _share(st[entry]) >= BULK, st
    assert st[entry]["handed_back"] == handed_back, st
    if entry == "pabfd":
        assert st["optimize"]["handled"] == 0 and st["optimize"]["not_covered"] > 0  # by design: Python optimize
        assert _share(st["over_now"]) >= BULK and st["over_now"]["handed_back"] == 0, st
    assert st["initial_placement"] == {"handled": 1, "handed_back": 0, "not_covered": 0}
    assert _share(st["host_update"]) == 1.0 and _share(st["power"]) == 1.0
    assert all(c == 0 for counts in pure_st.values() for c in counts.values())  # the kernel was off


def test_kernel_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUMO_PURE_PYTHON", raising=False)
    assert _compiled.available()
    monkeypatch.setenv("KUMO_PURE_PYTHON", "1")
    assert not _compiled.available()


# --------------------------------------------------------------------------------------------- close calls


def _lr_table(a0: float, pnow0: float) -> object:
    """A kernel Table over two tested G4 hosts for one LR VM whose share adds nothing to the prediction: host
    0 predicts ``a0``, host 1 predicts 0.5; both would draw the same power with the VM, host 0 now ``pnow0``."""
    f8, i8 = np.float64, np.int64
    S, W = 30, 10
    facts = (POWER_FLAT, np.array([100.0]), np.array([1000.0]), np.array([500.0]), np.zeros((1, S)),
             np.array([S], i8), np.zeros((1, 2)), np.array([11.0]), None, np.zeros(W), np.zeros(W), None,
             2, 0, 10, 0.0, 1.0, 0.7, 1860.0, 62.5, 300.0)
    hosts = (np.array([0, 1], i8), np.full(2, 3000.0), np.full(2, 1860.0), np.full(2, 100.0), np.full(2, 100.0),
             np.full(2, 3720.0), np.array([pnow0, 90.0]), np.zeros(2, i8), np.ones(2, i8), np.ones(2, i8),
             np.full(2, S, i8), np.zeros((2, S), f8), np.array([a0, 0.5]), np.zeros(2), np.full(2, 11.0))
    return _compiled.K.Table(facts, *hosts)


def test_a_close_call_is_handed_back_only_when_it_could_win() -> None:
    none = np.zeros(2, dtype=bool)
    # host 0's prediction is exactly 1 (a close call for the exact code); it draws less power now, so the VM
    # would raise it less: it could win, and the kernel hands the decision back
    assert _lr_table(1.0, 95.0).pabfd(0, none, 2) == -2
    # the same close call on a host that would lose anyway: the kernel decides (host 1)
    assert _lr_table(1.0, 85.0).pabfd(0, none, 2) == 1
    # no close call: host 0 (prediction 0.2) wins on power
    assert _lr_table(0.2, 95.0).pabfd(0, none, 2) == 0
    # both excluded: no host
    assert _lr_table(0.2, 95.0).pabfd(0, np.ones(2, dtype=bool), 2) == -1


def test_the_glue_counts_what_the_kernel_hands_back() -> None:
    _compiled.reset_stats()
    none = np.zeros(2, dtype=bool)
    assert _compiled.table_pabfd(SimpleNamespace(_kernel=_lr_table(1.0, 95.0), n=2), 0, none) is None
    assert _compiled.table_pabfd(SimpleNamespace(_kernel=_lr_table(1.0, 85.0), n=2), 0, none) == 1
    assert _compiled.table_pabfd(SimpleNamespace(_kernel=_compiled.UNCOVERED, n=2), 0, none) is None
    assert _compiled.table_pabfd(SimpleNamespace(_kernel=None, n=2), 0, none) is None  # no kernel: not counted
    assert _compiled.stats()["pabfd"] == {"handled": 1, "handed_back": 1, "not_covered": 1}
    _compiled.reset_stats()
    assert all(c == 0 for counts in _compiled.stats().values() for c in counts.values())


# --------------------------------------------------------------------------------------------- typed arguments


def test_wrong_arrays_raise_instead_of_crashing() -> None:
    K = _compiled.K
    u, off, out = np.array([0.5, 0.3]), np.array([0, 11]), np.empty(2)
    assert K.spec_power_vec(u, off, POWER_FLAT, out) and out.tolist() == [102.0, 105.0]
    with pytest.raises(TypeError, match="'u'.*float64"):
        K.spec_power_vec(u.astype(np.float32), off, POWER_FLAT, out)
    with pytest.raises(TypeError, match="'off'.*int64"):
        K.spec_power_vec(u, off.astype(np.int32), POWER_FLAT, out)
    with pytest.raises(TypeError, match="C-contiguous"):
        K.spec_power_vec(np.zeros(4)[::2], off, POWER_FLAT, out)
    with pytest.raises(TypeError, match="writable"):
        K.spec_power_vec(u, off, POWER_FLAT, np.frombuffer(bytes(16)))
    with pytest.raises(ValueError, match="'off' has 2 along axis 0"):
        K.spec_power_vec(np.zeros(3), off, POWER_FLAT, np.empty(3))
    with pytest.raises(TypeError, match="4 arguments"):
        K.spec_power_vec(u, off, POWER_FLAT)
    # readings outside the table are the Python path's (out untouched)
    assert not K.spec_power_vec(u, np.array([0, 12]), POWER_FLAT[:11], out)
    assert not K.spec_power_vec(np.array([0.5, np.nan]), off, POWER_FLAT, out)
    assert not K.spec_power_vec(np.array([0.5, -0.1]), off, POWER_FLAT, out)
    assert out.tolist() == [102.0, 105.0]


def test_wrong_tables_raise_instead_of_crashing() -> None:
    table = _lr_table(0.2, 95.0)
    with pytest.raises(IndexError):
        table.pabfd(1, np.zeros(2, dtype=bool), 2)  # there is one VM
    with pytest.raises(IndexError):
        table.pabfd(0, np.zeros(2, dtype=bool), 3)  # there are two positions
    with pytest.raises(TypeError, match="excluded"):
        table.pabfd(0, np.zeros(2), 2)
    with pytest.raises(ValueError, match="host id"):
        table.pabfd(0, np.zeros(1, dtype=bool), 2)  # host 1 is beyond the mask
    with pytest.raises(IndexError):
        table.over_now(2)
    with pytest.raises(TypeError, match="16 arguments"):
        _compiled.K.Table()
    # an LR table missing its regression terms, and one whose histories have different widths
    f8, i8 = np.float64, np.int64
    facts = (POWER_FLAT, np.array([100.0]), np.array([1000.0]), np.array([500.0]), np.zeros((1, 30)),
             np.array([30], i8), None, None, None, None, None, None, 2, 0, 10, 0.0, 1.0, 0.7, 1860.0, 62.5, 300.0)
    hosts = (np.array([0, 1], i8), *[np.full(2, 1.0)] * 6, np.zeros(2, i8), np.ones(2, i8), np.ones(2, i8),
             np.full(2, 30, i8), np.zeros((2, 30), f8), None, None, None)
    with pytest.raises(ValueError, match="LR needs"):
        _compiled.K.Table(facts, *hosts)  # LR without its regression terms
    with pytest.raises(ValueError, match="size S"):
        _compiled.K.Table(facts[:4] + (np.zeros((1, 29)),) + facts[5:], *hosts)  # histories of different widths
