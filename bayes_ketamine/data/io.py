"""Load a study folder into a validated :class:`Study`, and write one back.

The on-disk format is documented in ``docs/data_format.md``: ``study.toml`` plus
``participants``, ``symptoms`` and optionally ``fmrs`` tables as ``.csv`` or ``.tsv``.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import tomli_w

from bayes_ketamine.data.errors import Problem
from bayes_ketamine.data.metadata import METADATA_FILE, read_metadata
from bayes_ketamine.data.reading import RawTable, find_table, read_raw_table
from bayes_ketamine.data.study import Study
from bayes_ketamine.data.validation import validate_tables

README_FILE = "README.txt"


def load_study(folder: str | Path) -> Study:
    """Read and validate a study folder.

    Every cell is read as text first; validation then checks and converts each table,
    collecting all problems before raising.

    Parameters
    ----------
    folder : str or pathlib.Path
        Folder with ``study.toml``, ``participants.csv``, ``symptoms.csv`` and
        optionally ``fmrs.csv`` (``.tsv`` accepted for each table).

    Returns
    -------
    Study
        The validated study, with ``source`` set to the folder.

    Raises
    ------
    FileNotFoundError
        If ``folder`` is not a directory.
    StudyValidationError
        Listing every problem when the folder breaks the data contract.

    Examples
    --------
    >>> from bayes_ketamine.data import load_study, write_study, simulate_study
    >>> import tempfile, pathlib
    >>> study, _ = simulate_study(seed=1, n_participants=4)
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "simulated"
    >>> write_study(study, folder)
    >>> load_study(folder).content_hash() == study.content_hash()
    True
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"study folder not found: {folder}")
    problems: list[Problem] = []
    metadata = read_metadata(folder / METADATA_FILE, problems)
    tables: dict[str, RawTable | None] = {}
    for stem in ("participants", "fmrs", "symptoms"):
        path = find_table(folder, stem, problems)
        if path is None:
            if stem != "fmrs" and not any(p.file.startswith(f"{stem}.") for p in problems):
                problems.append(Problem(f"{stem}.csv", None, None, "required file is missing"))
            tables[stem] = None
            continue
        tables[stem] = read_raw_table(path, problems)
    return validate_tables(
        metadata,
        tables["participants"],
        tables["fmrs"],
        tables["symptoms"],
        problems=problems,
        where=str(folder),
        source=folder,
    )


def write_study(study: Study, folder: str | Path, *, overwrite: bool = False) -> None:
    """Write a study in the on-disk format.

    The files are written into a temporary folder next to ``folder`` which is then
    renamed into place, so an interrupted write leaves no half-written study. Tables
    are written as CSV with missing values as empty cells; a ``README.txt`` describes
    the folder and, for simulated studies, says plainly that the data are SIMULATED.

    Parameters
    ----------
    study : Study
        The study to write.
    folder : str or pathlib.Path
        Destination folder; it must not exist or be empty unless ``overwrite``.
    overwrite : bool, optional
        Replace an existing non-empty folder.

    Raises
    ------
    FileExistsError
        If ``folder`` exists, is not empty and ``overwrite`` is false.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise FileExistsError(f"{folder} exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not overwrite:
        raise FileExistsError(f"{folder} is not empty; pass overwrite=True to replace it")
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    staging.chmod(0o755)
    try:
        (staging / METADATA_FILE).write_text(tomli_w.dumps(_metadata(study)), encoding="utf-8")
        tables = {"participants": study.participants, "fmrs": study.fmrs}
        tables["symptoms"] = study.symptoms
        for stem, table in tables.items():
            if table is not None:
                table.to_csv(staging / f"{stem}.csv", index=False, lineterminator="\n")
        (staging / README_FILE).write_text(_readme(study), encoding="utf-8")
        _replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _metadata(study: Study) -> dict[str, Any]:
    rest = {
        key: value
        for key, value in study.metadata.items()
        if key not in {"name", "simulated", "conditions"}
    }
    head = {
        "name": study.name,
        "simulated": study.simulated,
        "conditions": list(study.conditions),
    }
    return head | rest


def _readme(study: Study) -> str:
    lines = [study.name, "=" * len(study.name), ""]
    if study.simulated:
        lines += [
            "SIMULATED DATA. Every value in this folder was generated by",
            "bayes_ketamine.data.simulate_study; none of it was measured on people.",
            "The generating parameters and true effects are in study.toml [simulation].",
            "",
        ]
    description = study.metadata.get("description")
    if description:
        lines += [str(description), ""]
    credit = study.metadata.get("credit")
    if credit:
        lines += [f"Credit: {credit}", ""]
    lines += [
        "A bayes_ketamine study folder: study.toml (metadata), participants.csv,",
        "symptoms.csv" + (" and fmrs.csv" if study.fmrs is not None else "") + ".",
        "The format is described in docs/data_format.md of bayes_ketamine.",
    ]
    return "\n".join(lines) + "\n"


def _replace(staging: Path, folder: Path) -> None:
    if not folder.exists():
        staging.rename(folder)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old.", dir=folder.parent))
    retired.rmdir()
    folder.rename(retired)
    staging.rename(folder)
    shutil.rmtree(retired)
