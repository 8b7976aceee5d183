"""Run independent simulations on Dask: a local cluster or an existing scheduler.

* :func:`dask_client` opens a ``LocalCluster`` of worker *processes* (one thread each,
  so one simulation per core) or connects to ``--scheduler ADDRESS``;
  :func:`client_for` uses an open client instead when a caller has one.
* :func:`warm_workers` compiles a model design once in every worker (in parallel) and
  returns the compile times, so compile time is measured and reported apart.
* :func:`run_jobs` submits one task per simulation with ``retries=2`` and a
  deterministic key (``<run>-<index>``); a key already known to the scheduler is not
  computed twice. Results are handed to a callback as they complete (the client
  stores them atomically), under a progress bar.

If a worker process dies mid-task, the scheduler reschedules its task on another (or
the restarted) worker; an exception inside a task is retried up to twice. Results are
stored by the client only, keyed by simulation index, so neither path duplicates or
loses a result.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from distributed import Client, LocalCluster, as_completed

from bayes_ketamine.inference.settings import CORES


@contextlib.contextmanager
def dask_client(
    workers: int = CORES, scheduler: str | None = None, *, host: str = "127.0.0.1"
) -> Iterator[Client]:
    """Yield a Dask client: a new local cluster, or one connected to ``scheduler``.

    Parameters
    ----------
    workers : int
        Worker processes of the local cluster (one thread each); ignored with
        ``scheduler``.
    scheduler : str, optional
        Address of a running scheduler, e.g. ``tcp://10.0.0.5:8786``. Its workers
        must be able to import ``bayes_ketamine``.
    host : str
        Interface of the local cluster (loopback by default).
    """
    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host=host,
            dashboard_address=None,
            # The nanny's shutdown warnings ("worker process still alive ... killing")
            # are routine here; errors still reach the terminal.
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@contextlib.contextmanager
def client_for(
    client: Client | None, *, workers: int = CORES, scheduler: str | None = None
) -> Iterator[Client]:
    """Yield ``client`` if one is given (left open), else a new one of :func:`dask_client`.

    The rule every calibration run follows for its ``client``, ``workers`` and
    ``scheduler`` options: an open client wins, then a scheduler's address, then a
    local cluster of ``workers`` processes.
    """
    if client is not None:
        yield client
        return
    with dask_client(workers, scheduler) as own:
        yield own


def warm_workers(client: Client, fn: Callable[..., dict], *args: Any) -> list[dict]:
    """Run ``fn(*args)`` once on every worker, in parallel, and return the results.

    Used to compile a model in each worker before timing simulations.
    """
    addresses = list(client.scheduler_info()["workers"])
    futures = [
        client.submit(fn, *args, workers=[a], allow_other_workers=False, pure=False)
        for a in addresses
    ]
    return client.gather(futures)


def run_jobs(
    client: Client,
    fn: Callable[[Any], dict],
    jobs: Iterable[Any],
    *,
    key_prefix: str,
    on_result: Callable[[dict[str, Any]], object],
    description: str = "simulations",
    total: int | None = None,
    progress: bool = True,
    retries: int = 2,
) -> int:
    """Submit ``fn(job)`` for every job and pass each result to ``on_result``.

    Parameters
    ----------
    client : distributed.Client
    fn : callable
        Task function; its result dict must hold ``index``.
    jobs : iterable
        Jobs with an ``index`` attribute (unique within the run).
    key_prefix : str
        Prefix of the task keys; key = ``f"{key_prefix}-{index}"``.
    on_result : callable
        Called in the client with each result, as it arrives.
    description, total, progress
        Progress bar text, length and switch.
    retries : int
        Retries of a task that raised.

    Returns
    -------
    int
        Number of results handled.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    futures = [
        client.submit(fn, job, key=f"{key_prefix}-{job.index}", retries=retries) for job in jobs
    ]
    total = len(futures) if total is None else total
    n = 0
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not progress,
        transient=False,
    ) as bar:
        task = bar.add_task(description, total=total)
        for future in as_completed(futures):
            result = future.result()
            on_result(result)
            future.release()
            n += 1
            bar.advance(task)
    return n
