"""How the command line names a study: a folder, or a built-in study by name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bayes_ketamine.data import Study


def _default_study() -> Study:
    """Return the embedded default study (SIMULATED DATA), importing the data layer."""
    from bayes_ketamine.data import default_study

    return default_study()


def _nimh_study() -> Study:
    """Return the NIMH ketamine study (observed data), importing the data layer."""
    from bayes_ketamine.data import import_nimh

    return import_nimh()


BUILT_IN: dict[str, Callable[[], Study]] = {"default": _default_study, "nimh": _nimh_study}
"""Names accepted instead of a folder (``./default`` means the folder)."""

STUDY_HELP = (
    "Study folder, or 'default' (simulated) / 'nimh' (NIMH MDD, real) for a built-in study."
)


def open_study(name: str) -> Study:
    """Return the built-in study ``name`` or the validated study in folder ``name``.

    Raises
    ------
    FileNotFoundError
        If the folder does not exist.
    StudyValidationError
        If the folder breaks the data contract.
    """
    if name in BUILT_IN:
        return BUILT_IN[name]()
    from bayes_ketamine.data import load_study

    return load_study(name)


def study_or_exit(name: str) -> Study:
    """Return :func:`open_study` of ``name``, or exit with the one-line error contract.

    A folder that breaks the data contract is summarised in one line: the number of
    problems, the first one, and the ``validate`` command that lists them all.

    Raises
    ------
    typer.Exit
        Code 2 if the folder is missing or invalid.
    """
    from bayes_ketamine.cli.errors import fail
    from bayes_ketamine.data import StudyValidationError

    try:
        return open_study(name)
    except FileNotFoundError as err:
        raise fail(err) from err
    except StudyValidationError as err:
        count = len(err.problems)
        noun = "problem" if count == 1 else "problems"
        raise fail(
            f"study {name} has {count} {noun} (first: {err.problems[0]}); "
            f"`bayes-ketamine validate {name}` lists every one"
        ) from err


def default_posteriors(study: str) -> Path:
    """Return the artifact folder of a study: ``posteriors/`` for the default study.

    Every other study gets its own folder, ``posteriors/<folder name>`` (e.g.
    ``posteriors/nimh``), so that artifacts of different studies never share a folder.

    Examples
    --------
    >>> default_posteriors("default"), default_posteriors("data/my_study/")
    (PosixPath('posteriors'), PosixPath('posteriors/my_study'))
    """
    root = Path("posteriors")
    if study == "default":
        return root
    return root / (Path(study).name or Path(study).resolve().name)
