"""The command line's error contract: one plain line and an exit code, never a traceback.

Every verb reports a problem as one line ``error: <what is wrong and what to do>`` on
stderr, without markup, and exits with :data:`EXIT_UNUSABLE` (2) when its input or
arguments cannot be used, or :data:`EXIT_FAIL_VERDICT` (1) when it ran and the
diagnostics verdict is ``fail``. :class:`OneLineErrors` is the command group of the
``bayes-ketamine`` application: it renders click's usage errors (a bad option value,
an unknown option) and any exception a verb did not handle in that form too. Set the
environment variable ``BAYES_KETAMINE_DEBUG=1`` to get the traceback of an unexpected
error instead.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

EXIT_FAIL_VERDICT = 1
"""Exit code of a verb that ran and whose diagnostics verdict is ``fail``."""

EXIT_UNUSABLE = 2
"""Exit code of a verb that cannot run: missing or invalid input, bad argument."""

DEBUG_VARIABLE = "BAYES_KETAMINE_DEBUG"
"""Environment variable that lets an unexpected error raise with its traceback."""

OPTIONAL_EXTRAS: dict[str, tuple[tuple[str, ...], str]] = {
    "numpyro": (("jax", "numpyro"), "pip install 'bayes_ketamine[numpyro]'"),
}
"""Per optional feature: the modules it needs and the command that installs them."""


def one_line(message: object) -> str:
    r"""Return ``message`` as one line: its lines joined with ``; ``, blanks dropped.

    Examples
    --------
    >>> one_line("first\n  second\n")
    'first; second'
    """
    return "; ".join(part.strip() for part in str(message).splitlines() if part.strip())


def fail(message: object, code: int = EXIT_UNUSABLE) -> typer.Exit:
    """Print ``error: <message>`` as one plain line on stderr and return the exit.

    Use as ``raise fail(...) from err``.

    Parameters
    ----------
    message : object
        What is wrong (and what to do); exceptions print their message.
    code : int, default EXIT_UNUSABLE
        Exit code.

    Returns
    -------
    typer.Exit
        The exit to raise.
    """
    typer.echo(f"error: {one_line(message)}", err=True)
    return typer.Exit(code)


def require_extra(feature: str) -> None:
    """Exit with a one-line message when the optional ``feature`` is not installed.

    Called before any work, so a missing extra never surfaces mid-run.

    Parameters
    ----------
    feature : str
        A key of :data:`OPTIONAL_EXTRAS` (e.g. ``"numpyro"``); other names need nothing.

    Raises
    ------
    typer.Exit
        Code :data:`EXIT_UNUSABLE`, naming the missing modules and the install command.
    """
    if feature not in OPTIONAL_EXTRAS:
        return
    modules, install = OPTIONAL_EXTRAS[feature]
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise fail(
            f"{feature} needs the optional package(s) {', '.join(missing)}, which are not "
            f"installed; install them with: {install}"
        )


class OneLineErrors(TyperGroup):
    """Command group that keeps the error contract for whatever a verb raises.

    Usage errors become ``error: <verb>: <message>`` with exit code 2; an exception no
    verb handled becomes ``error: <type>: <message>`` with exit code 2 (its traceback
    only with ``BAYES_KETAMINE_DEBUG=1``); ``typer.Exit`` keeps its code.
    """

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command line; exit with the verb's code or the contract's."""
        if args is None:
            args = sys.argv[1:]
        try:
            code = super().main(
                args=list(args) or ["--help"],
                prog_name=prog_name,
                complete_var=complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
        except typer.TyperException as err:  # usage errors: bad value, unknown option
            ctx = getattr(err, "ctx", None)
            message = err.format_message().rstrip(".")
            if ctx is not None and ctx.parent is not None:
                message = f"{ctx.info_name}: {message}; see `{ctx.command_path} --help`"
            elif ctx is not None:
                message = f"{message}; see `{ctx.command_path} --help`"
            raise SystemExit(_exit_with(message)) from None
        except typer.Abort:
            raise SystemExit(_exit_with("aborted", 1)) from None
        except Exception as err:
            if os.environ.get(DEBUG_VARIABLE):
                raise
            what = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
            raise SystemExit(
                _exit_with(f"{what} (set {DEBUG_VARIABLE}=1 to see where it happened)")
            ) from None
        if not standalone_mode:
            return code
        raise SystemExit(code if isinstance(code, int) else 0)


def _exit_with(message: str, code: int = EXIT_UNUSABLE) -> int:
    """Print ``error: <message>`` on stderr; return ``code`` for ``SystemExit``."""
    return fail(message, code).exit_code
