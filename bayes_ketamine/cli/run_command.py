"""Command-line verb ``run``: the full analysis of a study (the README's main job)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from bayes_ketamine.cli.errors import EXIT_FAIL_VERDICT, fail
from bayes_ketamine.cli.options import Chains, Draws, Seed, Tune
from bayes_ketamine.cli.studies import STUDY_HELP, default_posteriors, study_or_exit
from bayes_ketamine.inference.settings import FitSettings

if TYPE_CHECKING:
    from bayes_ketamine.pipeline import AnalysisResult


def run(
    study: Annotated[str, typer.Option(help=STUDY_HELP)] = "default",
    posteriors: Annotated[
        Path | None,
        typer.Option(help="Artifact folder; posteriors/ (posteriors/<study> for other studies)."),
    ] = None,
    draws: Draws = FitSettings.draws,
    tune: Tune = FitSettings.tune,
    chains: Chains = FitSettings.chains,
    seed: Seed = FitSettings.seed,
    force: Annotated[bool, typer.Option(help="Refit every model.")] = False,
    cv: Annotated[
        bool, typer.Option(help="Also compare the poolings by leave-one-participant-out CV.")
    ] = True,
    pool_by: Annotated[
        str,
        typer.Option(
            help="Participant factor the condition effects are pooled by: sex, or a "
            "categorical column of participants.csv (e.g. group for nimh:group=all, site)."
        ),
    ] = "sex",
    quiet: Annotated[bool, typer.Option(help="Only the final summary.")] = False,
) -> None:
    """Run the full analysis: validate, fit, check, compare, figures and numbers.

    On the embedded default study (SIMULATED DATA) this fits every pooling of the
    glutamate and symptom families and the joint model; on a symptom-only study (e.g.
    ``nimh``) the symptom family. ``--pool-by group`` pools by another participant
    factor (e.g. the NIMH diagnostic groups). Unchanged fits are reused.
    """
    from bayes_ketamine.inference import ArtifactError
    from bayes_ketamine.models.design import factor_levels
    from bayes_ketamine.models.spec import SpecError
    from bayes_ketamine.pipeline import run_analysis

    console = Console()
    try:
        settings = FitSettings(draws=draws, tune=tune, chains=chains, seed=seed)
    except ValueError as err:
        raise fail(f"run: {err}") from err
    data = study_or_exit(study)
    try:
        factor_levels(data, pool_by)  # before any fit: a bad --pool-by is bad input
    except SpecError as err:
        raise fail(f"run --pool-by: {err}") from err
    out = posteriors if posteriors is not None else default_posteriors(study)
    label = "[bold red]SIMULATED DATA[/]" if data.simulated else "observed data"
    console.print(f"[bold]{data.name}[/] ({label}): valid, {len(data.participants)} participants")
    try:
        result = run_analysis(
            data,
            out_dir=out,
            settings=settings,
            force=force,
            progress=not quiet,
            cross_validation=cv,
            pool_by=pool_by,
        )
    except (ValueError, SpecError, ArtifactError) as err:
        raise fail(err) from err
    _print_summary(console, result, out)
    if any(r.verdict.status == "fail" for r in result.fits.values()):
        raise typer.Exit(EXIT_FAIL_VERDICT)


def _print_summary(console: Console, result: AnalysisResult, out: Path) -> None:
    from bayes_ketamine.pipeline import agreement_table, summary_table

    console.print(summary_table(result))
    agreement = agreement_table(result)
    if agreement is not None:
        console.print(agreement)
    numbers_json = next(p for p in result.numbers if p.suffix == ".json")
    numbers = json.loads(numbers_json.read_text())
    table = Table(title="Headline numbers (posterior mean [95 % interval], P(hypothesis))")
    for column in ("quantity", "who", "estimate", "P"):
        table.add_column(column)
    for key, entry in numbers["quantities"].items():
        for who, stats in entry["estimates"].items():
            low, high = stats["eti95"]
            table.add_row(
                key,
                who,
                f"{stats['mean']:.2f} [{low:.2f}, {high:.2f}] {entry['unit']}",
                f"{stats['prob']:.2f}",
            )
    console.print(table)
    if numbers["simulated"]:
        console.print("[bold red]These numbers come from SIMULATED DATA.[/]")
    console.print(
        f"artifacts: {out}/  figures: {out / 'figures'}/ ({len(result.figures)} files)  "
        f"numbers: {out / 'numbers'}/  comparisons: "
        f"{', '.join(str(p) for p in result.comparisons.values()) or 'none'}",
        soft_wrap=True,
        highlight=False,
    )
    console.print(f"finished in {result.seconds:.0f} s")


def register(app: typer.Typer) -> None:
    """Add ``run`` to the command line ``app``."""
    app.command("run")(run)
