"""How the command line names a study: a folder, or a built-in study by name."""

from __future__ import annotations

from collections.abc import Callable
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
