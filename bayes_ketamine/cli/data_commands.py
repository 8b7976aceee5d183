"""Command-line verbs for trial data: ``simulate`` and ``validate``.

Exit codes (:mod:`bayes_ketamine.cli.errors`): 0 success; 2 when the command cannot
run (missing folder, bad option, refusing to overwrite) or the study breaks the data
contract (``validate`` then prints every problem, one per line).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from bayes_ketamine.cli.errors import EXIT_UNUSABLE, fail
from bayes_ketamine.cli.options import Seed
from bayes_ketamine.cli.studies import STUDY_HELP, open_study

if TYPE_CHECKING:
    import pandas as pd

    from bayes_ketamine.data import StudySummary


def simulate(
    out_dir: Annotated[
        Path | None,
        typer.Argument(help="Folder to write; default simulated_study_seed<SEED>."),
    ] = None,
    seed: Seed = 0,
    participants: Annotated[int, typer.Option(min=1, help="Number of participants.")] = 26,
    dropout: Annotated[
        float | None,
        typer.Option(
            min=0.0, max=1.0, help="Fraction of participants who miss the periods after the first."
        ),
    ] = None,
    params: Annotated[
        Path | None,
        typer.Option(
            help="TOML file of simulation parameters that differ from the defaults "
            "(docs/data_format.md): sequences (periods), extra conditions, sites, "
            "carry-over, covariates, effects; or a simulated study.toml.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace OUT_DIR if it is not empty.")] = False,
) -> None:
    """Simulate a GO-MARK-like crossover study (SIMULATED DATA) and write it."""
    from bayes_ketamine.data import read_simulation_parameters, simulate_study, write_study

    console = Console()
    out = out_dir if out_dir is not None else Path(f"simulated_study_seed{seed}")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise fail(f"{out} is not empty; pass --force to replace it")
    try:
        design = read_simulation_parameters(params) if params is not None else None
        try:
            study, _ = simulate_study(
                seed, n_participants=participants, dropout_fraction=dropout, params=design
            )
        except ValueError as err:  # the design's consistency: name the file it came from
            where = f" (simulation parameters from {params})" if params is not None else ""
            raise ValueError(f"{err}{where}") from err
        write_study(study, out, overwrite=force)
    except ValueError as err:
        raise fail(err) from err
    except OSError as err:
        why = f"cannot write {out}: {err.strerror} ({err.filename})" if err.strerror else err
        raise fail(why) from err
    _render(console, study.summary())
    console.print(f"SIMULATED DATA written to {out}", soft_wrap=True, highlight=False)


def validate(
    study_dir: Annotated[
        str,
        typer.Argument(help=STUDY_HELP),
    ],
) -> None:
    """Validate a study folder and print its summary, or list every problem."""
    from bayes_ketamine.data import StudyValidationError

    console = Console()
    try:
        study = open_study(study_dir)
    except StudyValidationError as err:
        count = len(err.problems)
        typer.echo(f"{study_dir}: {count} problem(s)", err=True)
        for problem in err.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(EXIT_UNUSABLE) from err
    except (FileNotFoundError, ValueError) as err:  # no folder; unknown study option
        raise fail(err) from err
    _render(console, study.summary())
    console.print(f"[green]valid[/green]: {study_dir}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``simulate`` and ``validate`` to the command line ``app``."""
    app.command("simulate")(simulate)
    app.command("validate")(validate)


def _render(console: Console, summary: StudySummary) -> None:
    label = "[bold red]SIMULATED DATA[/bold red]" if summary.simulated else "observed data"
    console.print(f"[bold]{summary.name}[/bold] ({label})", soft_wrap=True)
    console.print(
        f"conditions: {summary.conditions[0]} (reference), {', '.join(summary.conditions[1:])}",
        highlight=False,
    )
    by_sex = summary.by_sex_and_sequence.reset_index()
    console.print(_table("Participants by sequence and sex", by_sex))
    console.print(_table("Completed periods per participant", summary.periods))
    console.print(_table("Measurements", summary.measurements))
    console.print(_table("Missing scores", summary.missing_scores))


def _table(title: str, frame: pd.DataFrame) -> Table:
    import pandas as pd

    table = Table(title=title, title_justify="left")
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        table.add_column(str(column), justify="right" if numeric else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*(str(value) for value in row))
    return table
