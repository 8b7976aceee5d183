"""Command-line verb ``cv``: cross-validation by participant, on Dask.

Leave-one-participant-out by default, or ``--folds K`` folds grouped by participant
and stratified by sex (:func:`bayes_ketamine.calibration.cross_validate`). Folds run on
a local cluster of ``--workers`` processes or an existing ``--scheduler``; each
finished fold is stored, and a rerun computes only the missing ones. Exit codes: 0
success; 2 the command cannot run (bad spec, study, option or output folder).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bayes_ketamine.cli.errors import fail
from bayes_ketamine.cli.options import NoProgress, RunFolder, Scheduler, Seed, Workers
from bayes_ketamine.cli.studies import STUDY_HELP, study_or_exit
from bayes_ketamine.inference.settings import CORES, CV_SETTINGS


def cv_command(
    spec: Annotated[
        str, typer.Argument(help="Model spec file or variant name, e.g. symptoms_partial.")
    ],
    study: Annotated[str, typer.Option(help=STUDY_HELP)] = "default",
    folds: Annotated[
        int | None,
        typer.Option(help="K folds grouped by participant (default: one per participant)."),
    ] = None,
    workers: Workers = CORES,
    scheduler: Scheduler = None,
    out: RunFolder = Path("posteriors/cv"),
    draws: Annotated[
        int, typer.Option(help="Posterior draws per chain and fold.")
    ] = CV_SETTINGS.draws,
    tune: Annotated[int, typer.Option(help="Tuning steps per chain and fold.")] = CV_SETTINGS.tune,
    chains: Annotated[int, typer.Option(help="Chains per fold.")] = CV_SETTINGS.chains,
    seed: Seed = CV_SETTINGS.seed,
    replicates: Annotated[
        int, typer.Option(help="Draws of a held-out participant's levels per posterior draw.")
    ] = 20,
    quiet: NoProgress = False,
) -> None:
    """Cross-validate SPEC by participant; write OUT/<model>/cv.nc."""
    from bayes_ketamine.calibration import cross_validate
    from bayes_ketamine.calibration.store import RunMismatchError
    from bayes_ketamine.data import StudyValidationError
    from bayes_ketamine.models.spec import SpecError

    try:
        settings = replace(CV_SETTINGS, draws=draws, tune=tune, chains=chains, seed=seed)
    except ValueError as err:
        raise fail(f"cv: {err}") from err
    data = study_or_exit(study)
    try:
        result = cross_validate(
            spec,
            study=data,
            folds=folds,
            workers=workers,
            scheduler=scheduler,
            out_dir=out,
            settings=settings,
            replicates=replicates,
            progress=not quiet,
        )
    except (
        SpecError,
        StudyValidationError,
        RunMismatchError,
        FileNotFoundError,
        ValueError,
        OSError,
    ) as err:
        raise fail(err) from err
    ds = result.dataset
    simulated = " (SIMULATED DATA)" if ds.attrs["simulated"] else ""
    table = Table(title=f"{ds.attrs['criterion']}: {ds.attrs['model_name']}{simulated}")
    for col in ("observed", "elpd", "se", "participants", "folds"):
        table.add_column(col, justify="left" if col == "observed" else "right")
    for var in ds["observed"].values:
        table.add_row(
            str(var),
            f"{float(ds['elpd_cv'].sel(observed=var)):.1f}",
            f"{float(ds['se'].sel(observed=var)):.1f}",
            str(ds.sizes["participant"]),
            str(ds.sizes["fold"]),
        )
    out_console = Console()
    out_console.print(table)
    stored = ds.sizes["fold"] - result.computed
    out_console.print(
        f"{result.computed} fold(s) computed, {stored} reused from the store; "
        f"divergences: {int(ds['fold_divergences'].sum())}",
        highlight=False,
    )
    out_console.print(f"wrote {result.path}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``cv`` to the command line ``app``."""
    app.command("cv")(cv_command)
