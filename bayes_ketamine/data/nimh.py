"""Import the public NIMH Ketamine Mechanism of Action Study as a :class:`Study`.

The tabular part of OpenNeuro ds005917 (doi:10.18112/openneuro.ds005917.v1.0.1,
licence CC0; Evans, Nugent, Zarate; NCT00088699) ships with the package in
``bayes_ketamine/resources/nimh_ketamine_moa/``. It is a double-blind crossover of one
ketamine versus one saline-placebo infusion with MADRS ratings, mapped as follows:

* conditions ``("placebo", "ketamine")``, placebo the reference; ``infusion_1`` /
  ``infusion_2`` (``d`` = ketamine, ``p`` = placebo) give the condition of session 1 /
  2 and the ``sequence`` (e.g. ``"ketamine-placebo"``, or ``"placebo"`` when only one
  period was completed);
* ``ses-b0`` is the ``baseline`` rating, placed in session 1 under the period-1
  condition at ``hours = -24`` (the dataset gives no time; the rating precedes the
  first infusion and -24 h marks it as pre-infusion);
* ``ses-d2`` / ``ses-p2`` are ``day2`` (48 h) and ``ses-d10`` / ``ses-p10`` ``day10``
  (240 h) in the session with that condition; ``day10`` only when requested;
* the score is ``MADRS_Total`` by default, or ``HAM17_Total`` (HAM-D 17, 0-52) or
  ``HAMD_Bech`` (the HAM-D 6 Bech melancholia subscale, 0-22) when asked for
  (:data:`SCALES`); ``n/a`` ratings are kept as missing scores, and the other two
  scales' columns are kept as extra columns;
* age, BMI and group are kept as participant covariates;
* participants who received no infusion (``infusion_1`` is ``n/a``) have no period to
  place their baseline in; they are left out and listed in
  ``metadata["import"]["excluded_participants"]``.

The built tables go through the same validation as a user's study folder.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from bayes_ketamine.api import deprecated_call_forms
from bayes_ketamine.data.errors import Problem, StudyValidationError
from bayes_ketamine.data.reading import RawTable, read_raw_table, text_table
from bayes_ketamine.data.study import Study
from bayes_ketamine.data.validation import validate_tables

NIMH_CONDITIONS: tuple[str, str] = ("placebo", "ketamine")
"""Condition labels, reference first."""

GROUPS: tuple[str, ...] = ("MDD", "BP", "HC")
"""Participant groups in the dataset."""

INFUSIONS: dict[str, str] = {"d": "ketamine", "p": "placebo"}
"""Infusion codes of ``participants.tsv`` and their condition labels."""

TIMEPOINT_HOURS: dict[str, float] = {"baseline": -24.0, "day2": 48.0, "day10": 240.0}
"""Hours from the session's infusion assigned to each timepoint label."""

SESSION_IDS: dict[str, tuple[str, str | None]] = {
    "ses-b0": ("baseline", None),
    "ses-d2": ("day2", "d"),
    "ses-p2": ("day2", "p"),
    "ses-d10": ("day10", "d"),
    "ses-p10": ("day10", "p"),
}
"""Phenotype ``session_id`` to (timepoint, infusion code); baseline has no code."""

DOI = "doi:10.18112/openneuro.ds005917.v1.0.1"
CREDIT = (
    "NIMH Ketamine Mechanism of Action Study: Jennifer W. Evans, Allison C. Nugent, "
    f"Carlos A. Zarate; OpenNeuro ds005917, {DOI}; licence CC0; NIH protocol 04-M-0222, "
    "NCT00088699."
)
SCALES: dict[str, tuple[str, str, int]] = {
    "MADRS": ("MADRS_Total", "MADRS", 60),
    "HAMD6": ("HAMD_Bech", "HAM-D6", 22),
    "HAMD": ("HAM17_Total", "HAM-D17", 52),
}
"""Scale name to (phenotype column, scale label in ``study.toml``, scale maximum)."""

PARTICIPANTS_FILE = "participants.tsv"
PHENOTYPE_FILE = "phenotype/phenotype.tsv"


@deprecated_call_forms(positional=("timepoints", "source"))
def import_nimh(
    group: str | Iterable[str] = "MDD",
    *,
    timepoints: Iterable[str] = ("day2",),
    source: str | Path | None = None,
    scale: str = "MADRS",
) -> Study:
    """Build a validated study from the NIMH ketamine crossover tables.

    Parameters
    ----------
    group : str or iterable of str, optional
        ``"MDD"``, ``"BP"``, ``"HC"``, several of them, or ``"all"``.
    timepoints : iterable of str, optional
        Post-infusion timepoints to include besides the baseline: ``"day2"``,
        ``"day10"``.
    source : str or pathlib.Path, optional
        Folder laid out like the dataset root (``participants.tsv``,
        ``phenotype/phenotype.tsv``); the copy shipped with the package by default.
    scale : {"MADRS", "HAMD", "HAMD6"}, optional
        The rating scale that becomes the score (see :data:`SCALES`).

    Returns
    -------
    Study
        Conditions ``("placebo", "ketamine")``, symptoms only (no fMRS).

    Raises
    ------
    ValueError
        For an unknown group, timepoint or scale.
    StudyValidationError
        If the tables cannot be mapped or break the data contract.

    Examples
    --------
    >>> study = import_nimh("MDD")
    >>> study.conditions
    ('placebo', 'ketamine')
    """
    groups = _groups(group)
    wanted = _timepoints(timepoints)
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose from {', '.join(SCALES)}")
    if source is None:
        shipped = resources.files("bayes_ketamine") / "resources" / "nimh_ketamine_moa"
        with resources.as_file(shipped) as folder:
            return _build(Path(folder), groups, wanted, scale)
    return _build(Path(source), groups, wanted, scale)


def _groups(group: str | Iterable[str]) -> tuple[str, ...]:
    chosen = GROUPS if group == "all" else (group,) if isinstance(group, str) else tuple(group)
    unknown = [g for g in chosen if g not in GROUPS]
    if unknown or not chosen:
        raise ValueError(f"unknown group(s) {unknown}; choose from {GROUPS} or 'all'")
    return tuple(g for g in GROUPS if g in chosen)


def _timepoints(timepoints: Iterable[str]) -> tuple[str, ...]:
    chosen = (timepoints,) if isinstance(timepoints, str) else tuple(timepoints)
    unknown = [t for t in chosen if t not in TIMEPOINT_HOURS]
    if unknown:
        raise ValueError(f"unknown timepoint(s) {unknown}; choose from 'day2', 'day10'")
    return tuple(t for t in TIMEPOINT_HOURS if t == "baseline" or t in chosen)


def _read(folder: Path, name: str, problems: list[Problem]) -> RawTable | None:
    path = folder / name
    if not path.is_file():
        problems.append(Problem(name, None, None, "required file is missing"))
        return None
    raw = read_raw_table(path, problems)
    return None if raw is None else RawTable(name, raw.frame)


def _build(folder: Path, groups: tuple[str, ...], wanted: tuple[str, ...], scale: str) -> Study:
    problems: list[Problem] = []
    people = _read(folder, PARTICIPANTS_FILE, problems)
    phenotype = _read(folder, PHENOTYPE_FILE, problems)
    if people is None or phenotype is None:
        raise StudyValidationError(problems, str(folder))
    frame = people.frame[people.frame["group"].isin(groups)]
    excluded = frame.loc[frame["infusion_1"] == "n/a", "participant_id"].tolist()
    frame = frame[frame["infusion_1"] != "n/a"]
    orders: dict[str, list[str]] = {}
    for line, row in frame.iterrows():
        codes = [row["infusion_1"]] + ([row["infusion_2"]] if row["infusion_2"] != "n/a" else [])
        bad = [code for code in codes if code not in INFUSIONS]
        for code in bad:
            problems.append(Problem(PARTICIPANTS_FILE, line, None, f"unknown infusion {code!r}"))
        orders[row["participant_id"]] = [] if bad else codes
    participants = pd.DataFrame(
        {
            "participant_id": frame["participant_id"],
            "sex": frame["sex"],
            "sequence": [
                "-".join(INFUSIONS[c] for c in orders[p]) for p in frame["participant_id"]
            ],
            "age": frame["age"],
            "BMI": frame["BMI"],
            "group": frame["group"],
        }
    )
    symptoms = _ratings(phenotype.frame, orders, wanted, problems, SCALES[scale][0])
    metadata = _metadata(groups, wanted, excluded, scale)
    return validate_tables(
        metadata,
        text_table("participants.csv", participants),
        None,
        text_table("symptoms.csv", symptoms),
        problems=problems,
        where=metadata["name"],
    )


def _ratings(
    phenotype: pd.DataFrame,
    orders: dict[str, list[str]],
    wanted: tuple[str, ...],
    problems: list[Problem],
    score_column: str,
) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    rank = {pid: i for i, pid in enumerate(orders)}
    for line, row in phenotype[phenotype["participant_id"].isin(orders)].iterrows():
        pid, session_id = row["participant_id"], row["session_id"]
        codes = orders[pid]
        if session_id not in SESSION_IDS:
            problems.append(
                Problem(PHENOTYPE_FILE, line, "session_id", f"unknown session {session_id!r}")
            )
            continue
        timepoint, code = SESSION_IDS[session_id]
        if timepoint not in wanted or not codes:
            continue
        code = code or codes[0]
        if code not in codes:
            message = f"{session_id} but {pid} never received {INFUSIONS[code]}"
            problems.append(Problem(PHENOTYPE_FILE, line, "session_id", message))
            continue
        rows.append(
            {
                "participant_id": pid,
                "session": codes.index(code) + 1,
                "condition": INFUSIONS[code],
                "timepoint": timepoint,
                "hours": TIMEPOINT_HOURS[timepoint],
                "score": row[score_column],
                **{
                    column: row[column]
                    for column, _, _ in SCALES.values()
                    if column != score_column
                },
                "_order": rank[pid],
            }
        )
    table = pd.DataFrame(rows)
    table = table.sort_values(["_order", "session", "hours"], kind="stable")
    return table.drop(columns="_order")


def _metadata(
    groups: tuple[str, ...], wanted: tuple[str, ...], excluded: list[str], scale: str
) -> dict[str, Any]:
    _, label, maximum = SCALES[scale]
    suffix = "" if scale == "MADRS" else f", {label}"
    return {
        "name": f"NIMH Ketamine Mechanism of Action Study ({', '.join(groups)}{suffix})",
        "simulated": False,
        "conditions": list(NIMH_CONDITIONS),
        "description": (
            "Real trial data: double-blind crossover of one ketamine (0.5 mg/kg) versus one "
            f"saline-placebo infusion; {label} ratings at baseline and after each infusion."
        ),
        "credit": CREDIT,
        "source_doi": DOI,
        "license": "CC0",
        "symptoms": {"scale": label, "min": 0, "max": maximum},
        "import": {
            "importer": "bayes_ketamine.data.import_nimh",
            "groups": list(groups),
            "timepoints": list(wanted),
            "timepoint_hours": {t: TIMEPOINT_HOURS[t] for t in wanted},
            "excluded_participants": excluded,
            "excluded_reason": "no infusion received (infusion_1 is n/a)",
        },
    }
