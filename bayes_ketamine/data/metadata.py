"""Check ``study.toml`` and fill in its documented defaults."""

from __future__ import annotations

import copy
import difflib
import tomllib
from pathlib import Path
from typing import Any

from bayes_ketamine.data.errors import Problem

METADATA_FILE = "study.toml"
DEFAULT_METABOLITE = "Glx/tNAA"
DEFAULT_SYMPTOMS: dict[str, Any] = {"scale": "MADRS", "min": 0, "max": 60}
TOP_LEVEL_KEYS: tuple[str, ...] = (
    "name",
    "conditions",
    "simulated",
    "periods",
    "repeated_conditions",
    "fmrs",
    "symptoms",
    "description",
    "credit",
)
"""Top-level keys with a meaning; a key close to one of them is reported as a typo."""
SECTION_KEYS: dict[str, tuple[str, ...]] = {
    "fmrs": ("metabolite",),
    "symptoms": tuple(DEFAULT_SYMPTOMS),
}
"""The keys of the ``[fmrs]`` and ``[symptoms]`` tables; no other key is allowed there."""

DEFAULT_PERIODS = 2
"""Periods of the crossover when ``study.toml`` does not say (the two-period design)."""


def read_metadata(path: Path, problems: list[Problem]) -> dict[str, Any] | None:
    """Parse ``study.toml``.

    Parameters
    ----------
    path : pathlib.Path
        The ``study.toml`` file.
    problems : list of Problem
        Receives a problem when the file is missing, not UTF-8 or not valid TOML.

    Returns
    -------
    dict or None
        The parsed document, or ``None`` when it could not be read.
    """
    if not path.is_file():
        problems.append(Problem(METADATA_FILE, None, None, "required file is missing"))
        return None
    try:
        return tomllib.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as err:
        problems.append(Problem(METADATA_FILE, None, None, f"not valid UTF-8 ({err.reason})"))
    except tomllib.TOMLDecodeError as err:
        problems.append(Problem(METADATA_FILE, None, None, f"not valid TOML: {err}"))
    return None


def check_metadata(
    raw: dict[str, Any], problems: list[Problem], *, has_fmrs: bool
) -> dict[str, Any]:
    """Check the ``study.toml`` keys and return them with defaults filled in.

    Required: ``name`` (text) and ``conditions`` (two or more distinct labels, the
    reference first, without ``-`` since sequences join labels with it). Optional:
    ``simulated`` (default ``false``), ``periods`` (number of crossover periods, an
    integer of at least 2, default :data:`DEFAULT_PERIODS`), ``repeated_conditions``
    (``true`` allows sequences that give every period the same condition, e.g.
    Balaam's ``A-A`` and ``B-B`` next to ``A-B`` and ``B-A``; default ``false``),
    ``[fmrs] metabolite`` (default :data:`DEFAULT_METABOLITE`, filled only for studies
    with fMRS) and ``[symptoms] scale`` / ``min`` / ``max`` (default
    :data:`DEFAULT_SYMPTOMS`). Other keys are kept unchanged.

    Parameters
    ----------
    raw : dict
        The parsed ``study.toml``.
    problems : list of Problem
        Receives every problem found.
    has_fmrs : bool
        Whether the study has an fMRS table.

    Returns
    -------
    dict
        The metadata with defaults; ``conditions`` is a list of labels only when
        valid (otherwise the key is removed so later checks skip condition labels).
    """
    meta = copy.deepcopy(raw)

    def problem(key: str, message: str) -> None:
        problems.append(Problem(METADATA_FILE, None, key, message))

    _unknown_keys(meta, problem)
    name = meta.get("name")
    if name is None:
        problem("name", "required key is missing")
    elif not isinstance(name, str) or not name.strip():
        problem("name", "must be a non-empty string")

    conditions = meta.get("conditions")
    if conditions is None:
        problem("conditions", "required key is missing")
    elif not _conditions_ok(conditions, problem):
        del meta["conditions"]

    periods = meta.get("periods", DEFAULT_PERIODS)
    if isinstance(periods, bool) or not isinstance(periods, int) or periods < 2:
        problem("periods", f"must be an integer of at least 2, got {periods!r}")
        meta.pop("periods")

    repeated = meta.get("repeated_conditions", False)
    if not isinstance(repeated, bool):
        problem("repeated_conditions", f"must be true or false, got {repeated!r}")
        meta.pop("repeated_conditions")

    simulated = meta.setdefault("simulated", False)
    if not isinstance(simulated, bool):
        problem("simulated", f"must be true or false, got {simulated!r}")

    if has_fmrs:
        fmrs = _section(meta, "fmrs", problem)
        fmrs.setdefault("metabolite", DEFAULT_METABOLITE)
        if not isinstance(fmrs["metabolite"], str):
            problem("fmrs.metabolite", "must be a string")

    symptoms = _section(meta, "symptoms", problem)
    for key, default in DEFAULT_SYMPTOMS.items():
        symptoms.setdefault(key, default)
    if not isinstance(symptoms["scale"], str):
        problem("symptoms.scale", "must be a string")
    bounds = [symptoms["min"], symptoms["max"]]
    if not all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds):
        problem("symptoms.min", "symptoms.min and symptoms.max must be numbers")
        symptoms.update(min=DEFAULT_SYMPTOMS["min"], max=DEFAULT_SYMPTOMS["max"])
    elif bounds[0] >= bounds[1]:
        problem("symptoms.min", f"min ({bounds[0]}) must be below max ({bounds[1]})")
    return meta


def _close(key: str, known: tuple[str, ...]) -> str | None:
    """Return the known key ``key`` is probably a typo of, if any."""
    lowered = {k.lower(): k for k in known}
    match = difflib.get_close_matches(key.lower(), list(lowered), n=1, cutoff=0.8)
    return lowered[match[0]] if match else None


def _unknown_keys(meta: dict[str, Any], problem: Any) -> None:
    """Report top-level typos of known keys and any unknown key of a known table."""
    for key in meta:
        if key in TOP_LEVEL_KEYS:
            continue
        guess = _close(key, TOP_LEVEL_KEYS)
        if guess is not None:
            problem(key, f"unknown key {key!r}; did you mean {guess!r}?")
    for section, keys in SECTION_KEYS.items():
        table = meta.get(section)
        if not isinstance(table, dict):
            continue
        for key in table:
            if key in keys:
                continue
            guess = _close(key, keys)
            hint = f"did you mean {guess!r}?" if guess else f"[{section}] has {', '.join(keys)}"
            problem(f"{section}.{key}", f"unknown key {key!r} in [{section}]; {hint}")


def _conditions_ok(conditions: Any, problem: Any) -> bool:
    labels_ok = isinstance(conditions, list) and all(
        isinstance(label, str) and label.strip() for label in conditions
    )
    if not labels_ok or len(conditions) < 2:
        problem("conditions", f"must list at least two condition labels, got {conditions!r}")
        return False
    if len(set(conditions)) != len(conditions):
        problem("conditions", f"the labels must differ, got {conditions!r}")
        return False
    if any("-" in label for label in conditions):
        problem("conditions", "labels must not contain '-' (sequences join labels with it)")
        return False
    return True


def _section(meta: dict[str, Any], key: str, problem: Any) -> dict[str, Any]:
    section = meta.setdefault(key, {})
    if not isinstance(section, dict):
        problem(key, "must be a table")
        section = meta[key] = {}
    return section
