"""Sweeps on a Dask cluster: a Dask client as a :class:`concurrent.futures.Executor` that sends a shared object
(the trace) to every worker once.

:func:`kumo.sweep.run_many` takes any Executor; this one adds ``share(obj)``, which ``run_many`` calls once
for a given trace: the trace is scattered to every worker (``Client.scatter(..., broadcast=True)``) and the
tasks receive the worker's copy, so a 100k-VM trace crosses the network once per worker, not once per
point. Without ``trace=``, each worker loads the scenario's trace by name (once per worker process): the files
must then be readable there.

    from distributed import Client
    from kumo.cluster import DaskExecutor
    with Client("tcp://scheduler:8786") as client:
        table = run_many(points, executor=DaskExecutor(client), trace=trace)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from typing import Any

__all__ = ["DaskExecutor"]


class DaskExecutor(Executor):
    """``client.get_executor()`` plus :meth:`share`.

    Parameters
    ----------
    client : a ``distributed.Client`` (a ``LocalCluster``'s or a scheduler address's).
    """

    def __init__(self, client: Any):
        self.client = client
        self._executor = client.get_executor()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return self._executor.submit(fn, *args, **kwargs)  # type: ignore[no-any-return]

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any], timeout: float | None = None,
            chunksize: int = 1) -> Iterator[Any]:
        return self._executor.map(fn, *iterables, timeout=timeout)  # type: ignore[no-any-return]

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._executor.shutdown(wait=wait)

    def share(self, obj: Any) -> Any:
        """Put ``obj`` on every worker once; returns the future a task takes in its place (Dask hands the
        task the worker's copy)."""
        return self.client.scatter(obj, broadcast=True, hash=False)
