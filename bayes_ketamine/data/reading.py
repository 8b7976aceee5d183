"""Reading study tables as text, so that nothing is converted before validation.

Every cell is kept as the exact string in the file and every data row keeps its line
number (the header is line 1), which later validation reports. Structural faults
(bytes that are not UTF-8, a UTF-16 file, a header that is one column holding another
separator, rows with the wrong number of fields, duplicated column names) are recorded
as :class:`~bayes_ketamine.data.errors.Problem` and the table is then not returned, so
later checks never run on half-read data.

What spreadsheet exports add and is unambiguous is accepted: a UTF-8 byte-order mark,
whitespace around column names, and rows of only delimiters (and whitespace), which
are blank lines.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bayes_ketamine.data.errors import Problem

MISSING_TOKENS: frozenset[str] = frozenset({"", "n/a", "NA"})
"""Cell values that mean "missing" (only where a column allows missing values)."""

DELIMITERS: dict[str, str] = {".csv": ",", ".tsv": "\t"}
"""Accepted table file suffixes and their field delimiters."""

_SEPARATOR_WORDS: dict[str, str] = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_UTF16_BOMS: tuple[bytes, ...] = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class RawTable:
    """A table read as text.

    Parameters
    ----------
    file : str
        File name used in problem messages (e.g. ``"fmrs.csv"``).
    frame : pandas.DataFrame
        All cells as ``str``; the index is the 1-based line number of each row.
    """

    file: str
    frame: pd.DataFrame


def find_table(folder: Path, stem: str, problems: list[Problem]) -> Path | None:
    """Locate ``<stem>.csv`` or ``<stem>.tsv`` in a study folder.

    Parameters
    ----------
    folder : pathlib.Path
        Study folder.
    stem : str
        Table name without suffix (``"participants"``, ``"fmrs"``, ``"symptoms"``).
    problems : list of Problem
        Receives a problem when both a ``.csv`` and a ``.tsv`` exist.

    Returns
    -------
    pathlib.Path or None
        The table file, or ``None`` when there is none or the choice is ambiguous.
    """
    found = [folder / f"{stem}{suffix}" for suffix in DELIMITERS]
    found = [path for path in found if path.is_file()]
    if len(found) > 1:
        problems.append(
            Problem(
                found[0].name,
                None,
                None,
                f"both {found[0].name} and {found[1].name} exist; keep only one",
            )
        )
        return None
    return found[0] if found else None


def read_raw_table(path: Path, problems: list[Problem]) -> RawTable | None:
    """Read a ``.csv`` or ``.tsv`` file as text with line numbers.

    Parameters
    ----------
    path : pathlib.Path
        Table file; the suffix selects the delimiter.
    problems : list of Problem
        Receives every structural problem found.

    Returns
    -------
    RawTable or None
        The table, or ``None`` when the file could not be read cleanly.
    """
    name = path.name
    data = path.read_bytes()
    if data.startswith(_UTF16_BOMS):
        problems.append(
            Problem(
                name,
                None,
                None,
                "the file is UTF-16 (it starts with a UTF-16 byte-order mark); save it as "
                "UTF-8 (in a spreadsheet program: 'CSV UTF-8')",
            )
        )
        return None
    before = len(problems)
    for number, line in enumerate(data.split(b"\n"), start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as err:
            problems.append(
                Problem(
                    name,
                    number,
                    None,
                    f"byte 0x{line[err.start]:02x} at character {err.start + 1} is not "
                    "valid UTF-8; save the file with UTF-8 encoding",
                )
            )
    if len(problems) > before:
        return None
    return parse_text(name, data.decode("utf-8-sig"), DELIMITERS[path.suffix], problems)


def parse_text(name: str, text: str, delimiter: str, problems: list[Problem]) -> RawTable | None:
    """Parse delimited text into a :class:`RawTable`.

    Parameters
    ----------
    name : str
        File name for problem messages.
    text : str
        The file content.
    delimiter : str
        Field delimiter.
    problems : list of Problem
        Receives every structural problem found.

    Returns
    -------
    RawTable or None
        The table, or ``None`` when it is structurally broken.
    """
    before = len(problems)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        header = next(reader, None)
        if not header:
            problems.append(Problem(name, None, None, "file is empty (no header line)"))
            return None
        header = [column.strip() for column in header]
        if len(header) == 1 and (other := _other_separator(header[0], delimiter)):
            problems.append(Problem(name, 1, None, _separator_message(name, header[0], other)))
            return None
        seen: set[str] = set()
        for column in header:
            if column == "":
                problems.append(Problem(name, 1, None, "header has an empty column name"))
            elif column in seen:
                problems.append(Problem(name, 1, column, "column name appears twice"))
            seen.add(column)
        for row in reader:
            if not any(field.strip() for field in row):
                continue
            if len(row) != len(header):
                problems.append(
                    Problem(
                        name,
                        reader.line_num,
                        None,
                        f"row has {len(row)} fields but the header has {len(header)}",
                    )
                )
                continue
            rows.append(row)
            lines.append(reader.line_num)
    except csv.Error as err:
        problems.append(Problem(name, reader.line_num, None, f"malformed row: {err}"))
    if len(problems) > before:
        return None
    frame = pd.DataFrame(rows, columns=header, dtype=str)
    frame.index = pd.Index(lines, dtype="int64", name="line")
    return RawTable(name, frame)


def _other_separator(column: str, delimiter: str) -> str | None:
    """Return the separator a one-column header seems to use instead, if any."""
    found = [sep for sep in _SEPARATOR_WORDS if sep != delimiter and sep in column]
    return max(found, key=column.count) if found else None


def _separator_message(name: str, column: str, separator: str) -> str:
    """Describe a header that is one column holding ``separator``."""
    shown = column if len(column) <= 40 else column[:40] + "…"
    renamed = {",": ".csv", "\t": ".tsv"}
    if separator in renamed:
        fix = f"rename it to {Path(name).stem}{renamed[separator]}"
    else:
        fix = "save it comma-separated as .csv (or tab-separated as .tsv)"
    return f"header has one column {shown!r}: {_SEPARATOR_WORDS[separator]}-separated? {fix}"


def text_table(name: str, frame: pd.DataFrame) -> RawTable:
    """Turn a typed table into the text its file would hold, for validation.

    Generated studies (simulated, imported) pass through this so that they are
    validated exactly as if they had been written to disk and read back.

    Parameters
    ----------
    name : str
        File name for problem messages.
    frame : pandas.DataFrame
        The table; missing values become empty cells.

    Returns
    -------
    RawTable
        The table as text with line numbers ``2 .. n + 1``.
    """
    text = frame.to_csv(index=False, lineterminator="\n")
    raw = parse_text(name, text, ",", [])
    if raw is None:
        raise ValueError(f"{name}: table could not be rendered as CSV")
    return raw
