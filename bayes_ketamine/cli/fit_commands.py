"""Command-line verbs for fitting: ``fit``, ``check`` and ``compare``.

Exit codes: 0 success; 1 the diagnostics verdict is ``fail`` (``fit`` still writes the
artifact; ``check`` reports it); 2 the command cannot run (missing or invalid spec,
study or artifact, bad option).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from bayes_ketamine.cli.studies import STUDY_HELP, open_study
from bayes_ketamine.inference.settings import SAMPLERS, FitSettings

if TYPE_CHECKING:
    import xarray as xr

    from bayes_ketamine.inference import FitResult

EXIT_FAIL_VERDICT = 1
EXIT_UNUSABLE = 2
_STYLE = {"pass": "green", "warn": "yellow", "fail": "red"}


def fit(*args: Any, **kwargs: Any) -> FitResult:
    """Call :func:`bayes_ketamine.inference.fit`, importing the inference layer on first use."""
    from bayes_ketamine.inference import fit as fit_

    return fit_(*args, **kwargs)


def _error(console: Console, err: Exception) -> typer.Exit:
    console.print(f"[red]error:[/red] {err}", soft_wrap=True, highlight=False)
    return typer.Exit(EXIT_UNUSABLE)


def fit_command(
    spec: Annotated[
        Path, typer.Argument(help="Model spec TOML file, e.g. models/joint_partial.toml.")
    ],
    study: Annotated[str, typer.Option(help=STUDY_HELP)] = "default",
    sampler: Annotated[str, typer.Option(help=f"NUTS sampler: {', '.join(SAMPLERS)}.")] = "nutpie",
    draws: Annotated[int, typer.Option(help="Posterior draws per chain.")] = 1000,
    tune: Annotated[int, typer.Option(help="Tuning steps per chain.")] = 1000,
    chains: Annotated[int, typer.Option(help="Number of chains.")] = 4,
    cores: Annotated[int, typer.Option(help="Chains run in parallel.")] = 2,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 2025,
    force: Annotated[bool, typer.Option(help="Refit even if a matching artifact exists.")] = False,
    out: Annotated[Path, typer.Option(help="Folder of the artifacts.")] = Path("posteriors"),
    quiet: Annotated[bool, typer.Option(help="No progress output.")] = False,
) -> None:
    """Fit a model spec to a study and write OUT/<model>.nc (reused if unchanged)."""
    from bayes_ketamine.data import StudyValidationError
    from bayes_ketamine.inference import ArtifactError
    from bayes_ketamine.models.spec import SpecError

    console = Console(stderr=True)
    try:
        settings = FitSettings(
            sampler=sampler, draws=draws, tune=tune, chains=chains, cores=cores, seed=seed
        )
        result = fit(
            spec, open_study(study), settings=settings, out_dir=out, force=force, progress=not quiet
        )
    except (ValueError, FileNotFoundError, SpecError, StudyValidationError, ArtifactError) as err:
        raise _error(console, err) from err
    verdict = result.verdict
    Console().print(
        f"{result.path} [{_STYLE[verdict.status]}]{verdict.status}[/]"
        f"{' (reused)' if result.reused else ''}",
        highlight=False,
    )
    if verdict.status == "fail":
        raise typer.Exit(EXIT_FAIL_VERDICT)


def _diagnostics_table(diagnostics: xr.Dataset) -> Table:
    table = Table(title="Convergence (rank-normalised R-hat, ESS, MCSE)")
    table.add_column("parameter", overflow="fold")
    for col in ("r_hat", "ess_bulk", "ess_tail", "mcse_mean", "mcse_sd"):
        table.add_column(col, justify="right")
    for i, label in enumerate(diagnostics["parameter"].values):
        row = diagnostics.isel(parameter=i)
        table.add_row(
            str(label),
            f"{float(row['r_hat']):.3f}",
            f"{float(row['ess_bulk']):.0f}",
            f"{float(row['ess_tail']):.0f}",
            f"{float(row['mcse_mean']):.3g}",
            f"{float(row['mcse_sd']):.3g}",
        )
    return table


def _sampler_table(checks: xr.Dataset) -> Table:
    table = Table(title=f"Sampler (max tree depth {checks.attrs.get('max_treedepth', '?')})")
    for col in ("chain", "draws", "divergences", "treedepth_saturated", "ebfmi"):
        table.add_column(col, justify="right")
    for i, chain in enumerate(checks["chain"].values):
        row = checks.isel(chain=i)
        table.add_row(
            str(chain),
            str(int(row["draws"])),
            str(int(row["divergences"])),
            str(int(row["treedepth_saturated"])),
            f"{float(row['ebfmi']):.2f}",
        )
    return table


def check(
    artifact: Annotated[
        Path, typer.Argument(help="Fitted artifact, e.g. posteriors/joint_partial.nc.")
    ],
) -> None:
    """Print the stored diagnostics of an artifact; exit 1 if the verdict is fail."""
    from bayes_ketamine.inference import ArtifactError, load_posterior
    from bayes_ketamine.inference.diagnostics import stored_verdict

    console = Console()
    try:
        tree = load_posterior(artifact)
    except ArtifactError as err:
        raise _error(console, err) from err
    attrs = tree.attrs
    settings = json.loads(attrs["settings_json"])
    console.print(
        f"[bold]{attrs['model_name']}[/] on {attrs.get('study_name', '?')}"
        f"{' (SIMULATED DATA)' if attrs.get('study_simulated') else ''}, "
        f"{settings.get('sampler')} {settings.get('chains')}x{settings.get('draws')} draws, "
        f"seed {attrs.get('seed')}, created {attrs.get('created')}",
        highlight=False,
    )
    diagnostics = tree["diagnostics"].to_dataset()
    console.print(_diagnostics_table(diagnostics))
    console.print(_sampler_table(tree["sampler_checks"].to_dataset()))
    verdict = stored_verdict(diagnostics)
    console.print(f"verdict: [{_STYLE[verdict.status]}]{verdict.status}[/]", highlight=False)
    for reason in verdict.reasons:
        console.print(f"  {reason}", soft_wrap=True, markup=False, highlight=False)
    if verdict.status == "fail":
        raise typer.Exit(EXIT_FAIL_VERDICT)


def compare(
    artifacts: Annotated[
        list[Path],
        typer.Argument(help="Two or more fitted artifacts, or two or more CV results (cv.nc)."),
    ],
    out: Annotated[Path | None, typer.Option(help="Also write the table as netCDF.")] = None,
) -> None:
    """Compare artifacts by repaired PSIS-LOO, or CV results by their CV, per observed variable."""
    from bayes_ketamine.inference import ArtifactError
    from bayes_ketamine.inference import compare as compare_artifacts

    console = Console()
    try:
        table = compare_artifacts(artifacts, out=out)
    except (ArtifactError, ValueError) as err:
        raise _error(console, err) from err
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
