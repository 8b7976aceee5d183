"""Validation problems and the error that carries all of them at once."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a study, located as precisely as possible.

    Parameters
    ----------
    file : str
        File name within the study folder (e.g. ``"fmrs.csv"``).
    row : int or None
        1-based line number in the file, counting the header as line 1 (data row
        ``k`` is line ``k + 1``); ``None`` when the problem concerns the whole file
        or a column.
    column : str or None
        Column (or ``study.toml`` key) concerned, if any.
    message : str
        What is wrong, in words a researcher can act on.
    """

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"line {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: {self.message}"


class StudyValidationError(ValueError):
    """A study folder or generated tables break the data contract.

    Parameters
    ----------
    problems : list of Problem
        Every problem found; the message lists all of them, one per line.
    where : str, optional
        Study folder or origin, shown in the first line of the message.

    Attributes
    ----------
    problems : list of Problem
        Every problem found.
    """

    def __init__(self, problems: list[Problem], where: str = "study") -> None:
        self.problems = list(problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        lines = [f"{where}: {count} {noun} found"]
        lines.extend(f"  - {problem}" for problem in self.problems)
        super().__init__("\n".join(lines))
