"""How the command line names a study: a folder, or a built-in study by name."""

from __future__ import annotations

from collections.abc import Callable

from bayes_ketamine.data import Study, default_study, import_nimh, load_study

BUILT_IN: dict[str, Callable[[], Study]] = {"default": default_study, "nimh": import_nimh}
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
    return BUILT_IN[name]() if name in BUILT_IN else load_study(name)
