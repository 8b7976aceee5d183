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


NIMH_OPTIONS = ("group", "timepoints", "scale")
"""Options of the NIMH study name, ``nimh:group=all:timepoints=day2,day10:scale=HAMD``."""


def _nimh_study(options: dict[str, str]) -> Study:
    """Return the NIMH ketamine study (observed data), importing the data layer.

    ``options`` (from the study name) may set ``group`` (``MDD``, ``BP``, ``HC``, a
    comma-separated list or ``all``; default ``MDD``), ``timepoints`` (``day2``,
    ``day10`` or both, comma-separated; default ``day2``) and ``scale`` (``MADRS``,
    ``HAMD`` for HAM-D 17, ``HAMD6``; default ``MADRS``).
    """
    from bayes_ketamine.data import import_nimh

    group = options.get("group", "MDD")
    return import_nimh(
        group if group == "all" else group.split(","),
        timepoints=options.get("timepoints", "day2").split(","),
        scale=options.get("scale", "MADRS"),
    )


BUILT_IN: dict[str, Callable[[dict[str, str]], Study]] = {
    "default": lambda options: _default_study(),
    "nimh": _nimh_study,
}
"""Names accepted instead of a folder (``./default`` means the folder)."""

STUDY_HELP = (
    "Study folder, or 'default' (simulated) / 'nimh' (NIMH MDD, MADRS, day 2; real) for a "
    "built-in study; 'nimh:group=all:timepoints=day2,day10:scale=HAMD' chooses the NIMH "
    "groups, timepoints and scale (MADRS, HAMD, HAMD6)."
)


def _built_in(name: str) -> tuple[str, dict[str, str]] | None:
    """Return the built-in study and its options named by ``name``, or ``None``.

    Raises
    ------
    ValueError
        For an option the built-in study does not take or one without ``=``.
    """
    base, *parts = name.split(":")
    if base not in BUILT_IN or (parts and base != "nimh"):
        return None
    options = {}
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep or key not in NIMH_OPTIONS:
            raise ValueError(
                f"study {name!r}: option {part!r} is not one of "
                f"{', '.join(f'{k}=...' for k in NIMH_OPTIONS)}"
            )
        options[key] = value
    return base, options


def open_study(name: str) -> Study:
    """Return the built-in study ``name`` or the validated study in folder ``name``.

    Raises
    ------
    FileNotFoundError
        If the folder does not exist.
    StudyValidationError
        If the folder breaks the data contract.
    ValueError
        For an unknown option of a built-in study (or an unknown group or scale).
    """
    built_in = _built_in(name)
    if built_in is not None:
        base, options = built_in
        return BUILT_IN[base](options)
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
    except StudyValidationError as err:
        count = len(err.problems)
        noun = "problem" if count == 1 else "problems"
        raise fail(
            f"study {name} has {count} {noun} (first: {err.problems[0]}); "
            f"`bayes-ketamine validate {name}` lists every one"
        ) from err
    except (FileNotFoundError, ValueError) as err:  # no folder; unknown study option
        raise fail(err) from err


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
    # a built-in study with options (nimh:group=all) gets a folder name without ':'
    return root / (Path(study).name or Path(study).resolve().name).replace(":", "_")
