"""The engine: the only code that mutates simulation state.

* :mod:`~kumo.engine.loop` — :class:`Engine`, the time-step loop, and :func:`run`;
* :mod:`~kumo.engine.setup` — the host park and the trace cut to a scenario;
* :mod:`~kumo.engine.lifecycle` — VM arrival, placement, departure, host failure and restart;
* :mod:`~kumo.engine.migrations` — the checks every controller decision goes through, live migrations;
* :mod:`~kumo.engine.events` — sparse events inside a step (migration ends, boots, failures);
* :mod:`~kumo.engine.core` — the shared state, books and public run log (:class:`RunLog`).
"""

from kumo.engine.core import RunLog
from kumo.engine.loop import Engine, Progress, run
from kumo.engine.setup import build_hosts, prepare_trace

__all__ = ["Engine", "Progress", "RunLog", "build_hosts", "prepare_trace", "run"]
