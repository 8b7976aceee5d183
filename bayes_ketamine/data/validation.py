"""Validate study tables read as text and convert them into a :class:`Study`.

All problems are collected before anything is raised, so one run of the validator
lists everything to fix. Each problem names the file, the line (header = line 1) and
the column. Nothing is dropped or coerced silently: a value either satisfies the data
contract (``docs/data_format.md``) or is reported.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayes_ketamine.data.errors import Problem, StudyValidationError
from bayes_ketamine.data.metadata import DEFAULT_PERIODS, DEFAULT_SYMPTOMS, check_metadata
from bayes_ketamine.data.reading import MISSING_TOKENS, RawTable
from bayes_ketamine.data.study import SEXES, Study

PARTICIPANT_COLUMNS = ("participant_id", "sex")
FMRS_COLUMNS = ("participant_id", "session", "condition", "block", "time_min", "glx")
SYMPTOM_COLUMNS = ("participant_id", "session", "condition", "timepoint", "hours", "score")
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "participants": ("sequence", "age"),
    "fmrs": ("crlb_pct",),
    "symptoms": ("scale",),
}
"""Optional columns the data contract names, per table."""


def validate_tables(
    metadata: dict[str, Any] | None,
    participants: RawTable | None,
    fmrs: RawTable | None,
    symptoms: RawTable | None,
    *,
    problems: Iterable[Problem] = (),
    where: str = "study",
    source: Path | None = None,
) -> Study:
    """Check study tables against the data contract and build the :class:`Study`.

    Parameters
    ----------
    metadata : dict or None
        Parsed ``study.toml``; ``None`` when it could not be read (already reported).
    participants, symptoms : RawTable or None
        Required tables; ``None`` when missing or unreadable (already reported).
    fmrs : RawTable or None
        Optional fMRS table; ``None`` for a symptom-only study.
    problems : iterable of Problem, optional
        Problems already found while reading; they are reported together with the
        ones found here.
    where : str, optional
        Study folder or origin for the error message.
    source : pathlib.Path, optional
        Folder the study was read from.

    Returns
    -------
    Study
        The validated study with typed tables (see :mod:`bayes_ketamine.data.study`).

    Raises
    ------
    StudyValidationError
        Listing every problem found, when there is at least one.
    """
    found = list(problems)
    meta = None
    if metadata is not None:
        meta = check_metadata(metadata, found, has_fmrs=fmrs is not None)
    conditions = tuple(meta["conditions"]) if meta and "conditions" in meta else None
    periods = int(meta.get("periods", DEFAULT_PERIODS)) if meta else DEFAULT_PERIODS
    repeats = bool(meta.get("repeated_conditions", False)) if meta else False
    people = fmrs_table = symptom_table = None
    if participants is not None:
        people = _participants(
            _Cells(participants, found, PARTICIPANT_COLUMNS), conditions, periods, repeats
        )
    known = set(people["participant_id"].dropna()) if people is not None else None
    design = _Design(conditions, periods, known, participants)
    if fmrs is not None:
        fmrs_table = _fmrs(_Cells(fmrs, found, FMRS_COLUMNS), design)
    if symptoms is not None:
        spec = meta["symptoms"] if meta is not None else DEFAULT_SYMPTOMS
        symptom_table = _symptoms(_Cells(symptoms, found, SYMPTOM_COLUMNS), design, spec)
    measured = [
        (table, raw.file)
        for table, raw in ((fmrs_table, fmrs), (symptom_table, symptoms))
        if table is not None and raw is not None
    ]
    if people is not None and participants is not None:
        _check_sessions(people, participants.file, measured, found, periods, repeats)
    if found or meta is None or people is None or symptom_table is None:
        found = found or [Problem("study", None, None, "required tables could not be read")]
        raise StudyValidationError(_ordered(found), where)
    return Study(
        name=meta["name"],
        simulated=meta["simulated"],
        conditions=tuple(meta["conditions"]),
        participants=people.reset_index(drop=True),
        fmrs=None if fmrs_table is None else _final(fmrs_table, ("session", "block")),
        symptoms=_final(symptom_table, ("session",)),
        metadata=meta,
        source=source,
    )


class _Cells:
    """Column parsers for one text table; every bad cell becomes a problem.

    Column names that differ from a name of the data contract only in case (e.g.
    ``Participant_ID``) are read as that name.
    """

    def __init__(self, raw: RawTable, problems: list[Problem], required: tuple[str, ...]) -> None:
        self.file = raw.file
        self.required = required
        stem = raw.file.rsplit(".", 1)[0]
        self.frame = _contract_case(raw.frame, (*required, *OPTIONAL_COLUMNS.get(stem, ())))
        self.problems = problems

    def add(self, line: int | None, column: str | None, message: str) -> None:
        self.problems.append(Problem(self.file, line, column, message))

    def usable(self) -> bool:
        """Report missing required columns and an empty table; return whether usable."""
        missing = [col for col in self.required if col not in self.frame.columns]
        header = ", ".join(repr(col) for col in self.frame.columns)
        for col in missing:
            self.add(1, col, f"required column is missing; the header has {header}")
        if len(self.frame) == 0:
            self.add(None, None, "table has no data rows (only a header)")
        return not missing and len(self.frame) > 0

    def text(self, column: str, *, required: bool = True) -> pd.Series:
        values = self.frame[column]
        missing = values.isin(MISSING_TOKENS)
        if required:
            for line, value in values[missing].items():
                self.add(line, column, f"a value is required (got {value!r})")
        return values.where(~missing).astype("str")

    def number(self, column: str, *, required: bool = True, positive: bool = False) -> pd.Series:
        out: list[float] = []
        for line, value in self.frame[column].items():
            parsed = self._parse(line, column, value, required)
            if parsed is not None and positive and parsed <= 0:
                self.add(line, column, f"must be greater than 0 (got {value!r})")
                parsed = None
            out.append(np.nan if parsed is None else parsed)
        return pd.Series(out, index=self.frame.index, dtype="float64")

    def integer(
        self,
        column: str,
        *,
        required: bool = True,
        bounds: tuple[float, float] | None = None,
        what: str = "the range",
    ) -> pd.Series:
        out: list[int | None] = []
        for line, value in self.frame[column].items():
            parsed = self._parse(line, column, value, required)
            if parsed is not None and not parsed.is_integer():
                self.add(line, column, f"{value!r} is not an integer")
                parsed = None
            elif parsed is not None and bounds is not None:
                low, high = bounds
                if not low <= parsed <= high:
                    self.add(line, column, f"{value!r} is outside {what} [{low:g}, {high:g}]")
                    parsed = None
            out.append(None if parsed is None else int(parsed))
        return pd.Series(out, index=self.frame.index, dtype="Int64")

    def _parse(self, line: int, column: str, value: str, required: bool) -> float | None:
        if value in MISSING_TOKENS:
            if required:
                self.add(line, column, f"a value is required (got {value!r})")
            return None
        try:
            parsed = float(value)
        except ValueError:
            self.add(line, column, f"{value!r} is not a number")
            return None
        if not math.isfinite(parsed):
            self.add(line, column, f"{value!r} is not a finite number")
            return None
        return parsed

    def choice(
        self, values: pd.Series, column: str, allowed: tuple[str, ...] | None, what: str
    ) -> pd.Series:
        """Report values outside ``allowed``; return the values with those masked."""
        if allowed is None:
            return values
        listed = ", ".join(repr(a) for a in allowed)
        unknown = values.notna() & ~values.isin(allowed)
        for line, value in values[unknown].items():
            self.add(line, column, f"unknown {what} {value!r}; must be one of {listed}")
        return values.mask(unknown)

    def duplicates(self, table: pd.DataFrame, keys: tuple[str, ...], what: str) -> None:
        first: dict[tuple[Any, ...], int] = {}
        complete = table[list(keys)].dropna()
        for line, row in zip(complete.index, complete.itertuples(index=False), strict=True):
            key = tuple(row)
            if key in first:
                described = ", ".join(f"{k} {_plain(v)!r}" for k, v in zip(keys, key, strict=True))
                message = f"duplicate {what} ({described}); first on line {first[key]}"
                self.add(line, keys[-1], message)
            else:
                first[key] = line

    def known_participants(self, ids: pd.Series, known: set[str] | None, other: str) -> None:
        if known is None:
            return
        reported: set[str] = set()
        for line, pid in ids.dropna().items():
            if pid not in known and pid not in reported:
                reported.add(pid)
                self.add(line, "participant_id", f"participant {pid!r} is not in {other}")


def _plain(value: Any) -> Any:
    """Return a numpy scalar as the Python value it holds (so messages show ``1``)."""
    return value.item() if isinstance(value, np.generic) else value


def _contract_case(frame: pd.DataFrame, names: tuple[str, ...]) -> pd.DataFrame:
    """Rename columns that match one of ``names`` up to case to that name.

    A column is renamed only when exactly one column matches the name and the exact
    name is absent, so nothing ambiguous is changed.
    """
    matches: dict[str, list[str]] = {}
    for column in frame.columns:
        for name in names:
            if column.lower() == name.lower() and column != name:
                matches.setdefault(name, []).append(column)
    rename = {
        columns[0]: name
        for name, columns in matches.items()
        if len(columns) == 1 and name not in frame.columns
    }
    return frame.rename(columns=rename) if rename else frame


def _check_baseline(cells: _Cells, table: pd.DataFrame) -> None:
    """Report a symptom table without ratings both before and after the infusion.

    The models contrast ratings before the infusion (a timepoint whose median
    ``hours`` is negative, as :meth:`Study.timepoints` classifies them) with those
    after it; the problem is placed on the first row of the timepoint nearest to
    being the missing kind.
    """
    rated = table.dropna(subset=["timepoint", "hours"])
    if rated.empty:
        return
    hours = rated.groupby("timepoint", sort=False)["hours"].median().sort_values()
    labels = ", ".join(f"{tp!r} at {h:g} h" for tp, h in hours.items())
    if (hours < 0).any() and (hours >= 0).any():
        return
    if not (hours < 0).any():
        nearest = hours.index[0]
        message = (
            f"no timepoint is before the infusion (hours < 0); the models compare ratings "
            f"before and after it. Timepoints: {labels}; give the baseline rating "
            f"{nearest!r} negative hours if it was made before the infusion"
        )
    else:
        nearest = hours.index[-1]
        message = (
            f"no timepoint is after the infusion (hours >= 0); the models compare ratings "
            f"before and after it. Timepoints: {labels}"
        )
    line = rated.index[rated["timepoint"] == nearest][0]
    cells.add(int(line), "hours", message)


def _extras(cells: _Cells, typed: pd.DataFrame, known: tuple[str, ...]) -> pd.DataFrame:
    extra = [col for col in cells.frame.columns if col not in known]
    return pd.concat([typed, cells.frame[extra]], axis=1)


def _participants(
    cells: _Cells, conditions: tuple[str, ...] | None, periods: int, repeats: bool = False
) -> pd.DataFrame | None:
    if not cells.usable():
        return None
    typed = pd.DataFrame(index=cells.frame.index)
    typed["participant_id"] = cells.text("participant_id")
    typed["sex"] = cells.choice(cells.text("sex"), "sex", SEXES, "sex")
    if "sequence" in cells.frame.columns:
        typed["sequence"] = cells.text("sequence", required=False)
        _check_sequences(cells, typed["sequence"], conditions, periods, repeats)
    else:
        typed["sequence"] = pd.Series(np.nan, index=typed.index, dtype="str")
    if "age" in cells.frame.columns:
        typed["age"] = cells.number("age", required=False)
    cells.duplicates(typed, ("participant_id",), "participant")
    return _extras(cells, typed, (*PARTICIPANT_COLUMNS, "sequence", "age"))


def _check_sequences(
    cells: _Cells,
    sequences: pd.Series,
    conditions: tuple[str, ...] | None,
    periods: int,
    repeats: bool = False,
) -> None:
    """Check declared sequences: known conditions, at most ``periods`` of them.

    In the two-period design each condition appears at most once; with more periods
    a condition may repeat (e.g. ``A-B-B``) but a full sequence must contain at
    least two conditions, or it has no within-participant contrast. With
    ``repeats`` (``study.toml`` ``repeated_conditions = true``) a sequence may give
    every period the same condition (Balaam's ``A-A``/``B-B``).
    """
    if conditions is None:
        return
    example = "-".join((conditions * periods)[:periods])
    for line, sequence in sequences.dropna().items():
        parts = sequence.split("-")
        unknown = [part for part in parts if part not in conditions]
        if unknown:
            cells.add(
                line,
                "sequence",
                f"sequence {sequence!r} names unknown condition(s) "
                f"{', '.join(repr(u) for u in unknown)}; conditions are "
                f"{', '.join(repr(c) for c in conditions)} joined by '-'",
            )
        elif len(parts) > periods:
            cells.add(
                line,
                "sequence",
                f"sequence {sequence!r} lists {len(parts)} periods but the study has "
                f"{periods} (study.toml 'periods')",
            )
        elif repeats:
            continue
        elif periods == 2 and len(set(parts)) != len(parts):
            cells.add(
                line,
                "sequence",
                f"sequence {sequence!r} must list each condition at most once, "
                f"in period order (e.g. '{example}'); a Balaam design with sequences "
                "such as 'A-A' says repeated_conditions = true in study.toml",
            )
        elif len(parts) == periods and len(set(parts)) < 2:
            cells.add(
                line,
                "sequence",
                f"sequence {sequence!r} gives every period the same condition; a crossover "
                f"sequence needs at least two (e.g. '{example}'), unless study.toml says "
                "repeated_conditions = true (a Balaam design)",
            )


@dataclass(frozen=True)
class _Design:
    """What the design columns of a measurement table are checked against.

    The conditions and periods of ``study.toml`` and the participant ids of
    ``participants`` (``None`` where those could not be read).
    """

    conditions: tuple[str, ...] | None
    periods: int
    known: set[str] | None
    participants: RawTable | None


def _design_columns(cells: _Cells, typed: pd.DataFrame, design: _Design) -> None:
    typed["participant_id"] = cells.text("participant_id")
    other = design.participants.file if design.participants is not None else "participants"
    cells.known_participants(typed["participant_id"], design.known, other)
    session = cells.integer("session")
    periods = design.periods
    allowed = "1 or 2" if periods == 2 else f"1 to {periods}"
    for line, value in session.dropna().items():
        if not 1 <= value <= periods:
            cells.add(line, "session", f"session must be {allowed} (got {value})")
    typed["session"] = session
    typed["condition"] = cells.choice(
        cells.text("condition"), "condition", design.conditions, "condition"
    )


def _fmrs(cells: _Cells, design: _Design) -> pd.DataFrame | None:
    if not cells.usable():
        return None
    typed = pd.DataFrame(index=cells.frame.index)
    _design_columns(cells, typed, design)
    typed["block"] = cells.integer("block")
    typed["time_min"] = cells.number("time_min")
    typed["glx"] = cells.number("glx", positive=True)
    if "crlb_pct" in cells.frame.columns:
        typed["crlb_pct"] = cells.number("crlb_pct", required=False, positive=True)
    else:
        typed["crlb_pct"] = np.nan
    cells.duplicates(typed, ("participant_id", "session", "block"), "fMRS block")
    return _extras(cells, typed, (*FMRS_COLUMNS, "crlb_pct"))


def _symptoms(cells: _Cells, design: _Design, spec: dict[str, Any]) -> pd.DataFrame | None:
    if not cells.usable():
        return None
    scale = spec["scale"]
    typed = pd.DataFrame(index=cells.frame.index)
    _design_columns(cells, typed, design)
    typed["timepoint"] = cells.text("timepoint")
    typed["hours"] = cells.number("hours")
    if "scale" in cells.frame.columns:
        given = cells.text("scale", required=False)
        for line, value in given.dropna().items():
            if value != scale:
                message = f"scale {value!r} differs from the study's scale {scale!r}"
                cells.add(line, "scale", message)
    typed["scale"] = pd.Series(scale, index=typed.index, dtype="str")
    typed["score"] = cells.integer(
        "score",
        required=False,
        bounds=(spec["min"], spec["max"]),
        what=f"the {scale} range",
    )
    cells.duplicates(typed, ("participant_id", "session", "timepoint"), "rating")
    _check_baseline(cells, typed)
    return _extras(cells, typed, (*SYMPTOM_COLUMNS, "scale"))


def _final(table: pd.DataFrame, integer_columns: tuple[str, ...]) -> pd.DataFrame:
    """Give a checked measurement table its final dtypes and a fresh index."""
    return table.astype(dict.fromkeys(integer_columns, "int64")).reset_index(drop=True)


def _check_sessions(
    people: pd.DataFrame,
    participants_file: str,
    measured: list[tuple[pd.DataFrame, str]],
    problems: list[Problem],
    periods: int,
    repeats: bool = False,
) -> None:
    """Check condition consistency within sessions, across sessions and with sequences.

    In the two-period design a participant's two sessions must differ in condition
    unless ``repeats`` (Balaam's design); with more periods conditions may repeat, as
    the declared sequence says.
    """
    first: dict[tuple[str, int], tuple[str, str, int]] = {}
    for table, file in measured:
        rows = table[["participant_id", "session", "condition"]].dropna()
        for line, (pid, session, condition) in zip(
            rows.index, rows.itertuples(index=False), strict=True
        ):
            key = (pid, int(session))
            if key not in first:
                first[key] = (condition, file, line)
            elif first[key][0] != condition:
                seen, seen_file, seen_line = first[key]
                problems.append(
                    Problem(
                        file,
                        line,
                        "condition",
                        f"session {session} of participant {pid!r} is {seen!r} on "
                        f"{seen_file} line {seen_line} but {condition!r} here",
                    )
                )
    for (pid, session), (condition, file, line) in first.items():
        other = first.get((pid, 1))
        if (
            periods == 2
            and not repeats
            and session == 2
            and other is not None
            and other[0] == condition
        ):
            problems.append(
                Problem(
                    file,
                    line,
                    "condition",
                    f"participant {pid!r} has condition {condition!r} in both sessions; "
                    "each period of the crossover must have a different condition (a "
                    "Balaam design with A-A and B-B sequences says repeated_conditions = "
                    "true in study.toml)",
                )
            )
    sequences = people[["participant_id", "sequence"]].dropna()
    for line, (pid, sequence) in zip(
        sequences.index, sequences.itertuples(index=False), strict=True
    ):
        listed = sequence.split("-")
        for session in range(1, periods + 1):
            if (pid, session) not in first:
                continue
            condition = first[(pid, session)][0]
            if session > len(listed):
                message = (
                    f"sequence {sequence!r} lists {len(listed)} period(s) but participant "
                    f"{pid!r} has data in session {session}"
                )
            elif listed[session - 1] != condition:
                message = (
                    f"sequence {sequence!r} puts {listed[session - 1]!r} in session "
                    f"{session} but that session's rows say {condition!r}"
                )
            else:
                continue
            problems.append(Problem(participants_file, line, "sequence", message))


def _ordered(problems: list[Problem]) -> list[Problem]:
    rank: dict[str, int] = {}
    for problem in problems:
        rank.setdefault(problem.file, len(rank))
    return sorted(problems, key=lambda p: (rank[p.file], p.row or 0))
