"""Design arrays a model reads from a study, apart from PyMC.

The levels of a pooling factor, the standardised participant covariates, the
previous-session indicators of carry-over and the check that a design identifies them.
Problems with the study's columns are :class:`~bayes_ketamine.models.spec.SpecError`
naming the file, line and column.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bayes_ketamine.data.reading import MISSING_TOKENS
from bayes_ketamine.data.study import Study
from bayes_ketamine.models.spec import ModelSpec, SpecError


def after_active(active: np.ndarray) -> np.ndarray:
    """Return the previous session's active indicator(s) (0 in the first session).

    ``active`` has shape (participant, session) or, with more than two conditions,
    (participant, session, active condition); the result has the same shape, each
    column shifted by one session.
    """
    previous = np.zeros_like(active)
    previous[:, 1:] = active[:, :-1]
    return previous


CARRYOVER_ALIASED = (
    "in the two-period two-sequence design (AB/BA) first-order carry-over is aliased "
    "with the condition-by-period interaction and the sequence effect (Senn 2002, "
    "Cross-over Trials in Clinical Research, ch. 3; Jones & Kenward 2014, Design and "
    "Analysis of Cross-Over Trials, ch. 2); it is identifiable within participants "
    "with three or more periods and sequences such as ABB/BAA or ABAB/BABA "
    "(study.toml 'periods' and the participants' 'sequence'), or in two periods with "
    "Balaam's design, AA and BB next to AB and BA (study.toml repeated_conditions = true)"
)

CARRYOVER_ALIASED_ARMS = (
    "with more than two conditions each active condition has its own carry-over, "
    "identified only by sessions that follow it and whose shift the period, condition "
    "and other carry-over effects do not explain: a condition given only in the last "
    "period carries over into nothing, and the two-period sequences AB, BA, AC, CA "
    "leave both carry-overs aliased (all six orders of three conditions identify "
    "them); a Williams design, in which every condition follows every other equally "
    "often (three conditions: six sequences of three periods), identifies them all "
    "(Jones & Kenward 2014, Design and Analysis of Cross-Over Trials, ch. 4)"
)


def sequence_counts(study: Study) -> str:
    """Return the study's sequences with their participant counts, e.g. ``A-B (13), B-A (13)``.

    A participant without a declared sequence is counted by the conditions of the
    sessions observed (``?`` for a period not observed).
    """
    observed = study.sessions().pivot_table(
        index="participant_id", columns="session", values="condition", aggfunc="first"
    )
    declared = study.participants.set_index("participant_id")["sequence"]
    counts: dict[str, int] = {}
    for pid in study.participant_ids:
        sequence = declared.get(pid)
        if not isinstance(sequence, str) or not sequence:
            row = observed.loc[pid] if pid in observed.index else pd.Series(dtype=object)
            sequence = "-".join(
                str(row.get(s)) if isinstance(row.get(s), str) else "?"
                for s in range(1, study.periods + 1)
            )
        counts[sequence] = counts.get(sequence, 0) + 1
    return ", ".join(f"{seq} ({n})" for seq, n in sorted(counts.items()))


def unidentified_carryover(study: Study, active: np.ndarray) -> tuple[str, ...] | None:
    r"""Return the active conditions whose first-order carry-over the design leaves unidentified.

    For every observed session the design row is (period indicators of periods
    2..P, active indicators :math:`x_{isk}` of the :math:`K - 1` active conditions
    :math:`k`, previous-session indicators :math:`x_{i,s-1,k}`). Participant levels
    absorb everything constant within a participant, so the rows are centred within
    participants; carry-over is identifiable when the centred matrix has full column
    rank. The carry-over :math:`\lambda_k` of condition :math:`k` is then not
    identified when its column is a linear combination of the others (the rank does
    not drop without it). In the AB/BA design the one carry-over column is
    (period - condition) / 2 within participants. With three conditions, the
    two-period sequences AB, BA, AC, CA leave both carry-over columns combinations of
    the others and a condition given only in the last period has a column of zeros,
    while all six two-period orders, or a Williams design, identify them all.

    Parameters
    ----------
    study : Study
        The validated study; its observed sessions are the rows.
    active : numpy.ndarray
        Active indicator per (participant, session), with a last axis of active
        conditions (in ``study.active_conditions`` order) when there are more than two.

    Returns
    -------
    tuple of str or None
        ``None`` when the design identifies every condition's carry-over; else the
        active conditions whose carry-over column is a combination of the others
        (empty when none is, but the period and condition columns are themselves
        collinear within participants, e.g. every participant follows one sequence).

    Examples
    --------
    >>> from bayes_ketamine.data import simulate_study
    >>> study, _ = simulate_study(seed=0, n_participants=8)  # AB/BA
    >>> active = np.array([[c == "naltrexone" for c in s.split("-")]
    ...                    for s in study.participants["sequence"]], dtype=float)
    >>> unidentified_carryover(study, active)
    ('naltrexone',)
    """
    sessions = study.sessions()
    index = {pid: i for i, pid in enumerate(study.participant_ids)}
    rows = sessions["participant_id"].map(index).to_numpy(dtype=int)
    cols = sessions["session"].to_numpy(dtype=int) - 1
    periods = np.column_stack([cols == p for p in range(1, study.periods)])
    current = active[rows, cols].reshape(len(rows), -1)
    carried = after_active(active)[rows, cols].reshape(len(rows), -1)
    design = np.column_stack([periods, current, carried]).astype(float)
    centred = design - pd.DataFrame(design).groupby(rows).transform("mean").to_numpy()
    rank = np.linalg.matrix_rank(centred)
    if rank == design.shape[1]:
        return None
    first = design.shape[1] - carried.shape[1]
    return tuple(
        condition
        for k, condition in enumerate(study.active_conditions)
        if np.linalg.matrix_rank(np.delete(centred, first + k, axis=1)) == rank
    )


def participants_file(study: Study) -> str:
    """Return the name of the study's participants table for error messages."""
    if study.source is not None:
        for suffix in (".csv", ".tsv"):
            if (Path(study.source) / f"participants{suffix}").is_file():
                return str(Path(study.source) / f"participants{suffix}")
    return "participants.csv"


def _line(row: int) -> int:
    """Return the file line of table row ``row`` (the header is line 1)."""
    return int(row) + 2


def factor_levels(study: Study, column: str, *, spec: ModelSpec | None = None) -> tuple[str, ...]:
    """Return the sorted levels of a categorical participant column used for pooling.

    Called by every model that pools by ``column``, and by ``bayes-ketamine run
    --pool-by`` before its first fit.

    Parameters
    ----------
    study : Study
        The validated study.
    column : str
        Column of ``participants.csv``.
    spec : ModelSpec, optional
        The spec asking for it (named in the errors).

    Returns
    -------
    tuple of str
        At least two levels.

    Raises
    ------
    SpecError
        Naming the file, line and column: the column is absent, numeric or the
        participant identifier, a value is missing, or it has fewer than two levels.
    """
    file = participants_file(study)
    people = study.participants
    asked = f"spec {spec.name!r} pools by {column!r}" if spec else f"pooling by {column!r}"
    if column not in people.columns:
        raise SpecError(
            f"{file}, column {column!r}: no such column ({asked}); columns are "
            f"{', '.join(people.columns)}"
        )
    if column == "participant_id":
        raise SpecError(
            f"{file}, column {column!r}: identifies the participants (every model has a "
            f"level per participant already), not a factor to pool by ({asked})"
        )
    values = people[column]
    if pd.api.types.is_numeric_dtype(values):
        raise SpecError(f"{file}, column {column!r}: is numeric; {asked} needs categories")
    missing = values.isna() | values.astype(str).isin(MISSING_TOKENS)
    if missing.any():
        lines = ", ".join(str(_line(i)) for i in values.index[missing])
        raise SpecError(f"{file}, line(s) {lines}, column {column!r}: missing level ({asked})")
    levels = tuple(sorted(values.astype(str).unique()))
    if len(levels) < 2:
        raise SpecError(
            f"{file}, column {column!r}: has the single level {levels[0]!r}; {asked}, "
            "which needs at least 2 levels"
        )
    return levels


def covariate_matrix(study: Study, names: tuple[str, ...], *, missing: str = "error") -> np.ndarray:
    r"""Return the standardised participant covariates, one column per name.

    Each column is parsed as numbers and standardised over the study's participants,
    :math:`z_{ik} = (x_{ik} - \bar x_k) / s_k` with the sample SD :math:`s_k`, so a
    coefficient is the effect of one SD of the covariate and the model's other terms
    keep their meaning at the sample's mean covariate. With ``missing="mean"`` a
    missing value becomes 0 (the sample mean of the observed values); this keeps every
    participant but pulls the coefficient towards 0 when many values are missing.

    Parameters
    ----------
    study : Study
        The validated study.
    names : tuple of str
        Columns of ``participants.csv``.
    missing : {"error", "mean"}
        What a missing value is.

    Returns
    -------
    numpy.ndarray
        Shape (participant, covariate).

    Raises
    ------
    SpecError
        Listing every problem, each naming the file, line and column: an absent
        column, a non-numeric value, a missing value (``missing="error"``) or a
        column with no variation.
    """
    file = participants_file(study)
    people = study.participants
    problems: list[str] = []
    columns = []
    for name in names:
        if name not in people.columns:
            problems.append(
                f"{file}, column {name!r}: covariate is not a column; columns are "
                f"{', '.join(people.columns)}"
            )
            continue
        raw = people[name]
        parsed = pd.to_numeric(raw, errors="coerce").astype(float)
        absent = raw.isna() | raw.astype(str).isin(MISSING_TOKENS)
        for row in raw.index[parsed.isna() & ~absent]:
            problems.append(
                f"{file}, line {_line(row)}, column {name!r}: covariate value "
                f"{raw[row]!r} is not a number"
            )
        for row in raw.index[absent & (missing == "error")]:
            problems.append(
                f"{file}, line {_line(row)}, column {name!r}: covariate value is missing "
                '(set covariates.missing = "mean" in the spec to use the sample mean)'
            )
        observed = parsed[~absent]
        if observed.notna().all() and observed.std() > 0:
            columns.append(((parsed - observed.mean()) / observed.std()).fillna(0.0))
        elif observed.notna().all():
            problems.append(f"{file}, column {name!r}: covariate has no variation")
    if problems:
        raise SpecError("; ".join(problems))
    return np.column_stack([c.to_numpy(dtype=float) for c in columns])
