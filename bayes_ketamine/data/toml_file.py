"""Read a TOML file whose every error names the file (spec files, simulation parameters)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


def read_toml(
    path: str | Path, *, what: str, error: type[ValueError] = ValueError
) -> dict[str, Any]:
    """Return the document of a TOML file.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    what : str
        What the file is, for the error of a missing file (e.g. ``"model spec file"``).
    error : type of ValueError
        The error raised (e.g. :class:`~bayes_ketamine.models.spec.SpecError`).

    Returns
    -------
    dict

    Raises
    ------
    ValueError
        Of type ``error``, naming the file: it is missing, not UTF-8 or not TOML.

    Examples
    --------
    >>> read_toml("missing.toml", what="model spec file")
    Traceback (most recent call last):
    ...
    ValueError: missing.toml: model spec file not found
    """
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise error(f"{path}: {what} not found") from err
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise error(f"{path}: not a valid TOML file ({err})") from err
