"""Compute the convergence table of a posterior in a helper process.

The per-parameter diagnostics (:func:`~bayes_ketamine.inference.diagnostics.parameter_diagnostics`:
rank-normalised R-hat, bulk and tail ESS, MCSE over every scalar of the posterior) are
the largest of a fit's checks, about a second for the joint model, and are pure
Python loops over parameters, so a thread would only compete for the GIL. A
:class:`DiagnosticsWorker` is a helper Python process that computes them: once the
draws are in, the posterior is sent to it, and the fit computes its other checks
while the helper computes the table.

One helper serves all the fits of a Python process (:func:`borrowed_worker`): it is
started by the first fit (its imports then run on the core the fit's set-up leaves
idle), kept for the next fits, and stopped when the process exits.

The helper is a plain ``python -m bayes_ketamine.inference.diagnostics_worker``
subprocess talking length-prefixed pickles over its standard input and output (not
:mod:`multiprocessing`, which would re-import the caller's ``__main__`` script and
cannot start children from daemon processes). It computes exactly what
:func:`parameter_diagnostics` computes in-process; the warnings it raises are raised
again in the fit. If the helper cannot be started or fails, the fit warns and
computes the table itself.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import IO, Any

import xarray as xr

_HEADER = struct.Struct("<Q")
"""Length prefix of each message (unsigned 64-bit, little-endian)."""


def write_message(stream: IO[bytes], value: Any) -> None:
    """Write ``value`` to ``stream`` as a length-prefixed pickle and flush."""
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def read_message(stream: IO[bytes]) -> Any:
    """Read one length-prefixed pickle from ``stream``.

    Raises
    ------
    EOFError
        If the stream ends before a whole message.
    """
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError("the diagnostics helper closed its output")
    (size,) = _HEADER.unpack(header)
    payload = stream.read(size)
    if len(payload) < size:
        raise EOFError("truncated message from the diagnostics helper")
    return pickle.loads(payload)


class DiagnosticsWorker:
    """A helper process that computes :func:`parameter_diagnostics` of posteriors.

    Use :meth:`start` early, then for each posterior :meth:`submit` and
    :meth:`result`; :meth:`close` at the end (it is also a context manager).
    """

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.failure: str | None = None
        self.owner = os.getpid()

    def __enter__(self) -> DiagnosticsWorker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> DiagnosticsWorker:
        """Start the helper process (it imports its dependencies and waits)."""
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", __name__],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        except OSError as err:
            self.failure = f"could not start: {err}"
        return self

    @property
    def usable(self) -> bool:
        """Whether the helper runs, has not failed and belongs to this process (not a fork)."""
        return (
            self.process is not None
            and self.failure is None
            and self.owner == os.getpid()
            and self.process.poll() is None
        )

    def submit(self, posterior: xr.Dataset) -> None:
        """Send the posterior draws to the helper."""
        if self.process is None or self.failure is not None:
            return
        try:
            write_message(self.process.stdin, posterior)
        except (OSError, pickle.PicklingError) as err:
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

        if self.process is not None and self.failure is None:
            try:
                status, value, caught = read_message(self.process.stdout)
            except (OSError, EOFError, pickle.UnpicklingError) as err:
                self._fail(str(err))
            else:
                if status == "ok":
                    for category, message in caught:
                        text = f"convergence table (diagnostics helper): {message}"
                        warnings.warn(text, _warning_class(category), stacklevel=2)
                    return value
                self._fail(value)
        warnings.warn(
            f"diagnostics helper process failed ({self.failure}); computing in the fit",
            RuntimeWarning,
            stacklevel=2,
        )
        return parameter_diagnostics(xr.DataTree.from_dict({"posterior": posterior}))

    def close(self) -> None:
        """Stop the helper process if it is still running."""
        if self.process is None:
            return
        if self.owner == os.getpid():
            for stream in (self.process.stdin, self.process.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def _fail(self, reason: str) -> None:
        self.failure = reason
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
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
    """
    global _shared
    if not _shared_lock.acquire(blocking=False):
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


def main() -> None:
    """Run the helper: for each posterior read, write ``(status, table or error, warnings)``."""
    # Ctrl-C reaches the whole process group: the fit stops this helper itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Keep the message stream clean: anything printed by a library goes to stderr.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    from bayes_ketamine.inference.diagnostics import parameter_diagnostics

    while True:
        try:
            posterior = read_message(sys.stdin.buffer)
        except EOFError:
            return  # the fitting process closed the pipe: no more work
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                table = parameter_diagnostics(xr.DataTree.from_dict({"posterior": posterior}))
                reply = ("ok", table)
            except Exception as err:  # noqa: BLE001 - reported to the fit, which recomputes
                reply = ("error", f"{type(err).__name__}: {err}")
        caught_messages = [(type(w.message).__name__, str(w.message)) for w in caught]
        write_message(out, (*reply, caught_messages))


if __name__ == "__main__":
    main()
