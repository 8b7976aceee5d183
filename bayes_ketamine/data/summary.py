"""What a study holds, as small tables: who, which order, how complete.

:meth:`bayes_ketamine.data.study.Study.summary` returns a :class:`StudySummary`;
``str()`` of it is a plain-text report and the command line renders the same tables
with rich.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from bayes_ketamine.data.study import Study

NO_SEQUENCE = "(not given)"
"""Row label for participants without a ``sequence``."""


@dataclass(frozen=True)
class StudySummary:
    """Counts describing a study.

    Parameters
    ----------
    name : str
        Study name.
    simulated : bool
        Whether the data are simulated.
    conditions : tuple of str
        Reference and active condition.
    by_sex_and_sequence : pandas.DataFrame
        Participants counted by sequence (rows, ``"(not given)"`` when blank) and sex
        (columns ``F``, ``M``), with a ``total`` row and column.
    periods : pandas.DataFrame
        Columns ``periods`` (the study's number of periods down to 0) and
        ``participants``: how many participants have data in that many sessions.
    measurements : pandas.DataFrame
        One row per table (``participants``, ``fmrs``, ``symptoms``) with ``rows``,
        ``participants`` and ``missing`` (missing required values: missing scores in
        ``symptoms``; 0 elsewhere since validation forbids them).
    missing_scores : pandas.DataFrame
        Missing scores by ``session`` and ``timepoint`` with columns ``ratings`` and
        ``missing``.
    """

    name: str
    simulated: bool
    conditions: tuple[str, ...]
    by_sex_and_sequence: pd.DataFrame
    periods: pd.DataFrame
    measurements: pd.DataFrame
    missing_scores: pd.DataFrame

    def __str__(self) -> str:
        label = "SIMULATED DATA" if self.simulated else "observed data"
        blocks = [
            f"{self.name} ({label}); conditions: {self.conditions[0]} (reference), "
            f"{', '.join(self.conditions[1:])}",
            "Participants by sequence and sex:\n" + self.by_sex_and_sequence.to_string(),
            "Completed periods per participant:\n" + self.periods.to_string(index=False),
            "Measurements:\n" + self.measurements.to_string(index=False),
            "Missing scores:\n" + self.missing_scores.to_string(index=False),
        ]
        return "\n\n".join(blocks)


def summarise_study(study: Study) -> StudySummary:
    """Count participants, periods, measurements and missing cells of a study.

    Parameters
    ----------
    study : Study
        A validated study.

    Returns
    -------
    StudySummary
        The summary tables.
    """
    people = study.participants
    sequence = people["sequence"].fillna(NO_SEQUENCE).rename("sequence")
    by_sex = pd.crosstab(sequence, people["sex"], margins=True, margins_name="total")
    by_sex = by_sex.reindex(columns=["F", "M", "total"], fill_value=0)
    by_sex.columns.name = "sex"

    per_person = study.sessions().groupby("participant_id")["session"].nunique()
    per_person = per_person.reindex(study.participant_ids, fill_value=0)
    counts = list(range(study.periods, -1, -1))
    periods = pd.DataFrame(
        {
            "periods": counts,
            "participants": [int((per_person == k).sum()) for k in counts],
        }
    )

    rows = [("participants", len(people), people["participant_id"].nunique(), 0)]
    if study.fmrs is not None:
        rows.append(("fmrs", len(study.fmrs), study.fmrs["participant_id"].nunique(), 0))
    symptoms = study.symptoms
    n_missing = int(symptoms["score"].isna().sum())
    rows.append(("symptoms", len(symptoms), symptoms["participant_id"].nunique(), n_missing))
    measurements = pd.DataFrame(rows, columns=["table", "rows", "participants", "missing"])

    missing = (
        symptoms.assign(missing=symptoms["score"].isna())
        .groupby(["session", "timepoint"], sort=False)
        .agg(ratings=("missing", "size"), missing=("missing", "sum"))
        .reset_index()
        .sort_values("session", kind="stable")
        .reset_index(drop=True)
    )
    return StudySummary(
        name=study.name,
        simulated=study.simulated,
        conditions=study.conditions,
        by_sex_and_sequence=by_sex,
        periods=periods,
        measurements=measurements,
        missing_scores=missing,
    )
