"""PABFD's ``findHostForVm`` (power-aware best-fit decreasing), the one Python version.

Every Python path that places a VM calls :func:`pabfd`: the initial placement at t = 0 and each decision of
an optimization (:meth:`~kumo.studies.cloudsim._table.HostTable.find_host`, when the C kernel is absent or
hands the decision back). The kernel's ``pabfd`` (``_kernel_pabfd.c``) is the same algorithm on exact scores.

The result is CloudSim's: among the suitable hosts (room for the VM's MIPS, not excluded, a PE large enough),
the least power increase ``P(u with the VM) - P(now)``, ties to the lowest host id, skipping a non-empty host
that the detector finds over-utilized with the VM added (``isHostOverUtilizedAfterAllocation``). How it gets
there cheaply:

* scores are screened with ``np.interp`` on the SPECpower tables (a few ulps off CloudSim's formula); every
  host within :data:`NEAR_W` of the best is re-scored with the exact formula (:func:`pick`);
* the after-test says, per host, over-utilized or not, and whether it is unsure (a close call): cheap tests
  judge every candidate at once, expensive ones (``lazy``) the best-scored first, in growing chunks, only
  while they could beat the winner; an unsure host that could beat the winner goes to the exact code
  (``resolve``).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from kumo.studies.cloudsim._model import POWER_FLAT, spec_power_flat

__all__ = ["NEAR_W", "AfterVerdicts", "Candidates", "pabfd", "pick"]

#: watts: screened scores this close to the best are re-scored exactly
NEAR_W = 1e-9
_XP = np.concatenate([np.arange(11.0), 11 + np.arange(11.0)])  # interp abscissae of POWER_FLAT (10 u + offset)


class Candidates(Protocol):
    """The hosts PABFD may choose from, at positions ``0..n-1`` (each attribute is an (n,) array)."""

    host: np.ndarray  # int64, the host id at each position
    avail: np.ndarray  # the scheduler's available MIPS
    pe: np.ndarray  # MIPS of one PE
    sum_c: np.ndarray  # allocated MIPS (getUtilizationOfCpuMips)
    busy: np.ndarray  # bool, sum_c != 0: the VM is created tentatively and tested
    cap: np.ndarray  # total MIPS
    off: np.ndarray  # int64, the host's SPECpower table in POWER_FLAT
    pnow: np.ndarray  # watts now (host.getPower())
    nlist: np.ndarray  # int64, VMs listed
    peak: np.ndarray  # int64, most VMs the scheduler's map ever held (grown in place)


class AfterVerdicts(Protocol):
    """A detector's ``isHostOverUtilizedAfterAllocation`` on candidate positions."""

    #: judge the best-scored candidates first, in growing chunks (an expensive test), instead of all at once
    lazy: bool

    def verdicts(self, v: int, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``(over, unsure)`` for VM ``v`` on the (suitable, non-empty) hosts at ``pos``, (k,) bool each; an
        unsure host counts as over unless :meth:`resolve` clears it (``unsure`` is None: nothing unsure)."""
        ...

    def resolve(self, v: int, pos: np.ndarray) -> np.ndarray:
        """(k,) bool, over-utilized: the exact verdict on hosts :meth:`verdicts` was unsure about."""
        ...


def pick(c: Candidates, diff: np.ndarray, ua: np.ndarray) -> int:
    """Position of the least screened ``diff`` (inf = not allowed), decided exactly: every position within
    :data:`NEAR_W` of the screened minimum is re-scored with CloudSim's formula at utilization ``ua``, ties
    to the lowest host id; -1 if nothing is allowed."""
    i = int(diff.argmin())
    best = diff[i]
    if best == np.inf:
        return -1
    near = np.flatnonzero(diff <= best + NEAR_W)
    if near.size == 1:
        return i
    ex = spec_power_flat(ua[near], c.off[near]) - c.pnow[near]
    tied = near[ex == ex.min()]
    return int(tied[0]) if tied.size == 1 else int(tied[np.argmin(c.host[tied])])


def pabfd(c: Candidates, v: int, req: float, pe_min: float, excluded: np.ndarray, test: AfterVerdicts) -> int:
    """PABFD ``findHostForVm`` for VM ``v`` requesting ``req`` MIPS: the winning position, or -1.

    Parameters
    ----------
    c : the candidate hosts; ``c.peak`` grows where CloudSim's tentative ``vmCreate`` grows the scheduler's map.
    pe_min : the smallest PE of the park (a VM no larger fits every PE).
    excluded : (n_hosts,) bool by host id, the forbidden targets.
    test : the detector's after-allocation verdicts.
    """
    ok = (c.avail >= req) & ~excluded[c.host]
    if req > pe_min:
        ok &= c.pe >= req
    if not ok.any():
        return -1
    tested = ok & c.busy
    # CloudSim creates the VM tentatively on every suitable non-empty host to test it; that grows the
    # host scheduler's HashMap, whose iteration order later fixes the over-subscription sums
    grow = tested & (c.nlist >= c.peak)
    if grow.any():
        c.peak[grow] = c.nlist[grow] + 1
    # unsuitable hosts may exceed 1 (CloudSim never evaluates them; a suitable one cannot)
    ua = np.minimum((c.sum_c + req) / c.cap, 1.0)
    # diff holds the screened score where a host is allowed, inf elsewhere
    diff = np.where(ok, np.interp(ua * 10 + c.off, _XP, POWER_FLAT) - c.pnow, np.inf)
    todo = np.flatnonzero(tested)
    if todo.size == 0:
        return pick(c, diff, ua)
    if not test.lazy:
        over, unsure = test.verdicts(v, todo)
        if unsure is None or not unsure.any():
            diff[todo[over]] = np.inf
            return pick(c, diff, ua)
        pos = todo[unsure]
        held = diff[pos]
        diff[todo[over]] = np.inf
        return _settle(c, v, test, diff, ua, pick(c, diff, ua), pos, held)
    # an expensive test: the tested hosts, best-scored first (ties: lowest id), in growing chunks, as long
    # as they could beat the winner so far
    held = diff[todo]
    order = np.lexsort((c.host[todo], held))
    todo, held = todo[order], held[order]
    diff[todo] = np.inf
    best = pick(c, diff, ua)
    lo, step = 0, 4
    while lo < todo.size:
        bound = np.inf if best < 0 else diff[best] + NEAR_W
        part, hp = todo[lo:lo + step], held[lo:lo + step]
        near = hp <= bound
        part, hp = part[near], hp[near]
        if part.size:
            over, unsure = test.verdicts(v, part)
            diff[part] = np.where(over, np.inf, hp)
            best = pick(c, diff, ua)
            if unsure is not None and unsure.any():
                best = _settle(c, v, test, diff, ua, best, part[unsure], hp[unsure])
        if not near.all():
            break  # the rest scores worse than the winner
        lo += step
        step *= 4
    return best


def _settle(c: Candidates, v: int, test: AfterVerdicts, diff: np.ndarray, ua: np.ndarray, best: int,
            pos: np.ndarray, held: np.ndarray) -> int:
    # the unsure hosts at pos (screened scores held) that could beat the winner get the exact verdict
    bound = np.inf if best < 0 else diff[best] + NEAR_W
    could = held <= bound
    if not could.any():
        return best
    pos, held = pos[could], held[could]
    fine = ~test.resolve(v, pos)
    if not fine.any():
        return best
    diff[pos[fine]] = held[fine]
    return pick(c, diff, ua)
