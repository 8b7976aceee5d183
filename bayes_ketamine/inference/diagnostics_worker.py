"""Compute the convergence table of a posterior in a helper process.

The per-parameter diagnostics (:func:`~bayes_ketamine.inference.diagnostics.parameter_diagnostics`:
rank-normalised R-hat, bulk and tail ESS, MCSE over every scalar of the posterior) are
the largest of a fit's checks, about a second for the joint model, and are pure
Python loops over parameters, so a thread would only compete for the GIL. A
:class:`DiagnosticsWorker` is a single-process :class:`loky.ProcessPoolExecutor`
that computes them: once the draws are in, the posterior is submitted to it, and the
fit computes its other checks while the helper computes the table.

One helper serves all the fits of a Python process (:func:`borrowed_worker`): it is
started by the first fit (its imports then run on the core the fit's set-up leaves
idle), kept for the next fits, and stopped when the process exits.

loky rather than :mod:`multiprocessing` or :class:`concurrent.futures.ProcessPoolExecutor`:
its default start method launches a fresh interpreter without re-importing the
caller's ``__main__`` script (``spawn`` and ``forkserver`` run it again, which
re-runs a user's unguarded script), and it reports a helper that was killed as
:class:`loky.process_executor.TerminatedWorkerError` instead of hanging. A daemonic
process (e.g. a ``multiprocessing`` pool worker) cannot start children with any of
them, so there the fit computes the table itself. The helper computes exactly what
:func:`parameter_diagnostics` computes in-process; the warnings it raises are raised
again in the fit. If the helper cannot be started or fails, the fit warns and
computes the table itself.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import multiprocessing
import os
import signal
import threading
import warnings
from collections.abc import Iterator
from concurrent.futures import Future
from typing import TYPE_CHECKING

import xarray as xr

if TYPE_CHECKING:
    from loky import ProcessPoolExecutor

_WARM_UP_MODULES = ("bayes_ketamine.inference.diagnostics",)
"""Imported by the helper as soon as it starts, while the fit sets up."""


def _start_helper() -> None:
    """Initialise the helper: Ctrl-C reaches the whole process group, the fit stops it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _warm_up() -> None:
    """Import the diagnostics' dependencies in the helper."""
    for name in _WARM_UP_MODULES:
        __import__(name)


def table_and_warnings(posterior: xr.Dataset) -> tuple[xr.Dataset, list[tuple[str, str]]]:
    """Return :func:`parameter_diagnostics` of ``posterior`` and the warnings it raised.

    The function the helper runs; the warnings are ``(class name, message)`` pairs.
    """
    from bayes_ketamine.inference.diagnostics import parameter_diagnostics

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = parameter_diagnostics(xr.DataTree.from_dict({"posterior": posterior}))
    return table, [(type(w.message).__name__, str(w.message)) for w in caught]


class DiagnosticsWorker:
    """A helper process that computes :func:`parameter_diagnostics` of posteriors.

    Use :meth:`start` early, then for each posterior :meth:`submit` and
    :meth:`result`; :meth:`close` at the end (it is also a context manager).
    """

    def __init__(self) -> None:
        self.executor: ProcessPoolExecutor | None = None
        self.pending: Future | None = None
        self.failure: str | None = None
        self.owner = os.getpid()

    def __enter__(self) -> DiagnosticsWorker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> DiagnosticsWorker:
        """Start the helper process (it imports its dependencies and waits)."""
        import loky

        try:
            executor = loky.ProcessPoolExecutor(max_workers=1, initializer=_start_helper)
            executor.submit(_warm_up)
            self.executor = executor
        except Exception as err:  # noqa: BLE001 - no helper: the fit computes the table
            self._fail(f"could not start: {err}")
        return self

    @property
    def usable(self) -> bool:
        """Whether the helper runs, has not failed and belongs to this process (not a fork)."""
        return self.executor is not None and self.failure is None and self.owner == os.getpid()

    def submit(self, posterior: xr.Dataset) -> None:
        """Send the posterior draws to the helper."""
        if not self.usable or self.executor is None:
            return
        try:
            self.pending = self.executor.submit(table_and_warnings, posterior)
        except Exception as err:  # noqa: BLE001 - a broken or shut-down pool: compute in the fit
            self._fail(f"could not send the posterior: {err}")

    def result(self, posterior: xr.Dataset) -> xr.Dataset:
        """Return the table of :meth:`submit`'s posterior (computed here if the helper failed).

        Parameters
        ----------
        posterior : xarray.Dataset
            The posterior sent with :meth:`submit` (used if the helper failed).

        Returns
        -------
        xarray.Dataset
            :func:`~bayes_ketamine.inference.diagnostics.parameter_diagnostics` of it.
        """
        from bayes_ketamine.inference.diagnostics import parameter_diagnostics

        pending, self.pending = self.pending, None
        if pending is not None and self.failure is None:
            try:
                table, caught = pending.result()
            except Exception as err:  # noqa: BLE001 - killed helper or error: recompute here
                self._fail(f"{type(err).__name__}: {err}")
            else:
                for category, message in caught:
                    text = f"convergence table (diagnostics helper): {message}"
                    warnings.warn(text, _warning_class(category), stacklevel=2)
                return table
        if self.failure is not None:
            warnings.warn(
                f"diagnostics helper process failed ({self.failure}); computing in the fit",
                RuntimeWarning,
                stacklevel=2,
            )
        return parameter_diagnostics(xr.DataTree.from_dict({"posterior": posterior}))

    def close(self) -> None:
        """Stop the helper process if it is still running."""
        if self.executor is not None and self.owner == os.getpid():
            self.executor.shutdown(wait=True, kill_workers=self.failure is not None)
        self.executor = None

    def _fail(self, reason: str) -> None:
        self.failure = reason
        self.close()


_shared: DiagnosticsWorker | None = None
_shared_lock = threading.Lock()


@contextlib.contextmanager
def borrowed_worker() -> Iterator[DiagnosticsWorker | None]:
    """Lend the process-wide helper to one fit; ``None`` while another fit holds it.

    The helper is started on first use (or again after a failure) and stopped when
    the Python process exits.

    Yields
    ------
    DiagnosticsWorker or None
        ``None`` too in a daemonic process, which cannot start one.
    """
    global _shared
    if multiprocessing.current_process().daemon or not _shared_lock.acquire(blocking=False):
        yield None
        return
    try:
        if _shared is None or not _shared.usable:
            if _shared is None:
                atexit.register(_close_shared)
            _shared = DiagnosticsWorker().start()
        yield _shared
    finally:
        _shared_lock.release()


def _close_shared() -> None:
    if _shared is not None:
        _shared.close()


def _warning_class(name: str) -> type[Warning]:
    """Return the built-in warning class called ``name`` (``UserWarning`` otherwise)."""
    cls = getattr(builtins, name, None)
    return cls if isinstance(cls, type) and issubclass(cls, Warning) else UserWarning
