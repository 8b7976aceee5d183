"""Command-line verbs for fitting: ``fit``, ``check`` and ``compare``.

Exit codes (:mod:`bayes_ketamine.cli.errors`): 0 success; 1 the diagnostics verdict
is ``fail`` (``fit`` still writes the artifact; ``check`` reports it); 2 the command
cannot run (missing or invalid spec, study or artifact, bad option, missing extra).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from bayes_ketamine.cli.errors import EXIT_FAIL_VERDICT, fail, require_extra
from bayes_ketamine.cli.options import Chains, Draws, Seed, Tune
from bayes_ketamine.cli.studies import STUDY_HELP, default_posteriors, study_or_exit
from bayes_ketamine.inference.settings import SAMPLERS, FitSettings

if TYPE_CHECKING:
    from bayes_ketamine.inference import FitResult
    from bayes_ketamine.reporting.fit_report import FitReport

_STYLE = {"pass": "green", "warn": "yellow", "fail": "red", "note": "yellow"}
"""Start of arviz-stats' LOO warning, which the report replaces by plain words."""
REPORT_WIDTH = 120
"""Minimum width of the report, so that the effects table is never cut."""


def fit(*args: Any, **kwargs: Any) -> FitResult:
    """Call :func:`bayes_ketamine.inference.fit`, importing the inference layer on first use."""
    from bayes_ketamine.inference import fit as fit_

    return fit_(*args, **kwargs)


def fit_command(
    spec: Annotated[
        str,
        typer.Argument(
            help="Model spec TOML file or named variant, e.g. my_model.toml or joint_partial."
        ),
    ],
    study: Annotated[str, typer.Option(help=STUDY_HELP)] = "default",
    sampler: Annotated[
        str, typer.Option(help=f"NUTS sampler: {', '.join(SAMPLERS)}.")
    ] = FitSettings.sampler,
    draws: Draws = FitSettings.draws,
    tune: Tune = FitSettings.tune,
    chains: Chains = FitSettings.chains,
    cores: Annotated[int, typer.Option(help="Chains run in parallel.")] = FitSettings.cores,
    seed: Seed = FitSettings.seed,
    force: Annotated[bool, typer.Option(help="Refit even if a matching artifact exists.")] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Folder of the artifacts; posteriors/ for the default study, "
            "posteriors/<study folder name> for any other."
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option(help="Nothing on a passing fit; otherwise only the final line.")
    ] = False,
) -> None:
    """Fit a model spec to a study, write OUT/<model>.nc (reused if unchanged), report it."""
    from bayes_ketamine.inference import ArtifactError
    from bayes_ketamine.inference.reuse import stored_fit
    from bayes_ketamine.models.spec import SpecError, resolve_spec

    try:
        settings = FitSettings(
            sampler=sampler, draws=draws, tune=tune, chains=chains, cores=cores, seed=seed
        )
    except ValueError as err:
        raise fail(f"fit: {err}") from err
    require_extra(sampler)
    data = study_or_exit(study)
    out_dir = out if out is not None else default_posteriors(study)
    start = time.perf_counter()
    try:
        resolved = resolve_spec(spec)
        # A matching artifact is found without importing the modelling stack.
        stored = None if force else stored_fit(resolved, data, settings=settings, out_dir=out_dir)
        if stored is None:
            # fit() keeps library warnings out of the terminal (stored in the artifact);
            # the report below states LOO's Pareto-k problems in plain words.
            result = fit(
                resolved,
                study=data,
                settings=settings,
                out_dir=out_dir,
                force=force,
                progress=not quiet,
            )
    except (ValueError, FileNotFoundError, SpecError, ArtifactError) as err:
        raise fail(err) from err
    seconds = time.perf_counter() - start
    from bayes_ketamine.inference.stored import open_stored, stored_tree
    from bayes_ketamine.reporting.fit_report import fit_report

    if stored is not None:
        with open_stored(stored) as root:
            report = fit_report(root, stored)
    else:
        report = fit_report(stored_tree(result.tree), result.path)
    how = (
        "reused, nothing refitted" if stored is not None else f"fitted in {seconds:.1f} s wall time"
    )
    if not (quiet and report.status == "pass"):  # a quiet fit that passes prints nothing
        print_report(report, quiet=quiet, note=how)
    if report.status == "fail":
        raise typer.Exit(EXIT_FAIL_VERDICT)


def check(
    artifact: Annotated[
        Path, typer.Argument(help="Fitted artifact, e.g. posteriors/joint_partial.nc.")
    ],
    quiet: Annotated[bool, typer.Option(help="Only the final line.")] = False,
) -> None:
    """Report an artifact: key effects, verdict with reasons and remedies, LOO, priors.

    Reads the stored posterior and checks only (netCDF4 and numpy, no modelling
    stack). Exit code 1 if the convergence verdict is fail.
    """
    from bayes_ketamine.inference.artifact import ArtifactError
    from bayes_ketamine.inference.stored import open_stored
    from bayes_ketamine.reporting.fit_report import fit_report

    try:
        with open_stored(artifact) as root:
            report = fit_report(root, artifact)
    except ArtifactError as err:
        raise fail(err) from err
    except KeyError as err:
        raise fail(f"{artifact}: artifact lacks {err}; refit it with this version") from err
    print_report(report, quiet=quiet)
    if report.status == "fail":
        raise typer.Exit(EXIT_FAIL_VERDICT)


def print_report(report: FitReport, *, quiet: bool, note: str | None = None) -> None:
    """Print a :class:`~bayes_ketamine.reporting.fit_report.FitReport` (quiet: last line)."""
    console = Console(quiet=quiet, highlight=False)
    console.width = max(console.width, REPORT_WIDTH)
    console.print(report.header, style="bold", soft_wrap=True, markup=False)
    if note:
        console.print(note)
    console.print(_effects_table(report))
    console.print(report.convergence, soft_wrap=True, markup=False)
    console.print(report.sampler, soft_wrap=True, markup=False)
    console.print(f"verdict: [{_STYLE[report.status]}]{report.status}[/] (convergence)")
    for finding in (*report.reasons, *report.loo, *report.sensitivity):
        console.print(f"  {finding.level}: {finding.what}", soft_wrap=True, markup=False)
        console.print(f"    what to do: {finding.remedy}", soft_wrap=True, markup=False)
    style = _STYLE[report.status]
    Console(highlight=False).print(report.summary, style=style, soft_wrap=True, markup=False)


def _number(value: float) -> str:
    """Format an effect with two decimals (three significant digits when tiny)."""
    return f"{value:.3g}" if 0 < abs(value) < 0.01 else f"{value:.2f}"


def _effects_table(report: FitReport) -> Table:
    table = Table(title="Key effects (posterior mean, equal-tailed intervals)")
    for column in ("effect", "mean", "89 %", "95 %", "P(direction)", "R-hat", "bulk ESS"):
        left = column == "effect"
        table.add_column(column, justify="left" if left else "right", no_wrap=True)
    for effect in report.effects:
        table.add_row(
            effect.label,
            _number(effect.mean),
            f"{_number(effect.eti89[0])} to {_number(effect.eti89[1])}",
            f"{_number(effect.eti95[0])} to {_number(effect.eti95[1])}",
            f"P({effect.direction}0) {effect.prob:.2f}",
            f"{effect.r_hat:.3f}",
            f"{effect.ess_bulk:.0f}",
        )
    return table


def compare(
    artifacts: Annotated[
        list[Path],
        typer.Argument(help="Two or more fitted artifacts, or two or more CV results (cv.nc)."),
    ],
    out: Annotated[Path | None, typer.Option(help="Also write the table as netCDF.")] = None,
) -> None:
    """Compare artifacts by repaired PSIS-LOO, or CV results by their CV, per observed variable.

    Inputs fitted to different study data are refused: the criteria compare models on
    the same observations.
    """
    from bayes_ketamine.inference import ArtifactError
    from bayes_ketamine.inference import compare as compare_artifacts

    console = Console()
    try:
        table = compare_artifacts(artifacts, out_path=out)
    except (ArtifactError, ValueError) as err:
        raise fail(err) from err
    criterion = table.attrs["criterion"]
    console.print(f"criterion: {criterion}", highlight=False)
    for var, models in json.loads(table.attrs["unranked_json"]).items():
        for model, reason in models.items():
            console.print(f"not ranked on {var}: {model}: {reason}", highlight=False)
    for var in table["observed"].values:
        sub = table.sel(observed=var).sortby("rank")
        short = "LOO" if criterion.startswith("PSIS-LOO") else "CV"
        rich_table = Table(title=f"{short} comparison on {var}")
        for col in ("model", "rank", "elpd", "se", "elpd_diff", "dse", "p", "weight", "diag_elpd"):
            rich_table.add_column(col, justify="left" if col in ("model", "diag_elpd") else "right")
        for i, model in enumerate(sub["model"].values):
            row = sub.isel(model=i)
            if float(row["elpd"]) != float(row["elpd"]):
                continue
            rich_table.add_row(
                str(model),
                str(int(row["rank"])),
                *(f"{float(row[c]):.1f}" for c in ("elpd", "se", "elpd_diff", "dse", "p")),
                f"{float(row['weight']):.2f}",
                str(row["diag_elpd"].values),
            )
        console.print(rich_table)
    if out is not None:
        console.print(f"wrote {out}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``fit``, ``check`` and ``compare`` to the command line ``app``."""
    app.command("fit")(fit_command)
    app.command("check")(check)
    app.command("compare")(compare)
