"""Compute the convergence table of a posterior in a helper process.

The per-parameter diagnostics (:func:`~bayes_ketamine.inference.diagnostics.parameter_diagnostics`:
rank-normalised R-hat, bulk and tail ESS, MCSE over every scalar of the posterior) are
the largest of a fit's checks, about a second for the joint model, and are pure
Python loops over parameters, so a thread would only compete for the GIL.
:class:`DiagnosticsWorker` starts a helper Python process when a fit begins (its
imports then run on the core the fit's set-up leaves idle); once the draws are in,
the posterior is sent to it, and the fit computes its other checks while the helper
computes the table.

The helper is a plain ``python -m bayes_ketamine.inference.diagnostics_worker``
subprocess talking length-prefixed pickles over its standard input and output (not
:mod:`multiprocessing`, which would re-import the caller's ``__main__`` script and
cannot start children from daemon processes). It computes exactly what
:func:`parameter_diagnostics` computes in-process; the warnings it raises are
raised again in the fit. If the helper cannot be started or fails, the fit warns and
computes the table itself.
"""

from __future__ import annotations

import builtins
import os
import pickle
import signal
import struct
import subprocess
import sys
import warnings
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
    """A helper process that computes :func:`parameter_diagnostics` of one posterior.

    Use :meth:`start` early, :meth:`submit` once the posterior is there, then
    :meth:`result`; :meth:`close` always (it is also a context manager).
    """

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.failure: str | None = None

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

    def submit(self, posterior: xr.Dataset) -> None:
        """Send the posterior draws to the helper."""
        if self.process is None:
            return
        try:
            write_message(self.process.stdin, posterior)
            self.process.stdin.close()
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
                        warnings.warn(message, _warning_class(category), stacklevel=2)
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
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.process = None

    def _fail(self, reason: str) -> None:
        self.failure = reason
        self.close()


def _warning_class(name: str) -> type[Warning]:
    """Return the built-in warning class called ``name`` (``UserWarning`` otherwise)."""
    cls = getattr(builtins, name, None)
    return cls if isinstance(cls, type) and issubclass(cls, Warning) else UserWarning


def main() -> None:
    """Run the helper side: read one posterior, write ``(status, table or error, warnings)``."""
    # Ctrl-C reaches the whole process group: the fit stops this helper itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Keep the message stream clean: anything printed by a library goes to stderr.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    from bayes_ketamine.inference.diagnostics import parameter_diagnostics

    try:
        posterior = read_message(sys.stdin.buffer)
    except EOFError:
        return  # the fit ended without submitting
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            table = parameter_diagnostics(xr.DataTree.from_dict({"posterior": posterior}))
            reply = ("ok", table)
        except Exception as err:  # noqa: BLE001 - reported to the fit, which recomputes
            reply = ("error", f"{type(err).__name__}: {err}")
    write_message(out, (*reply, [(type(w.message).__name__, str(w.message)) for w in caught]))
    out.close()


if __name__ == "__main__":
    main()
