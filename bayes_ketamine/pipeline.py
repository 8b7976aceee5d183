"""The full analysis: validate, fit, check, compare, figures and manuscript numbers.

:func:`run_analysis` is what ``bayes-ketamine run`` (and ``make run``) does on the
embedded default study. Each step reads what the previous one stored; fits whose spec,
data and settings are unchanged are reused, so a re-run with nothing changed only
reloads artifacts and redraws.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bayes_ketamine.data.study import Study
from bayes_ketamine.figures import make_figures
from bayes_ketamine.inference import FitResult, FitSettings, compare, fit
from bayes_ketamine.models import resolve_spec
from bayes_ketamine.reporting import write_numbers

POOLINGS = ("none", "partial", "complete")


def analysis_variants(study: Study) -> list[str]:
    """Return the model variants the analysis fits for a study.

    Every pooling of the glutamate and symptom families (the shrinkage figure and the
    LOO comparison need all three) and the partially pooled joint model; studies
    without fMRS (e.g. the NIMH data) get the symptom family only.
    """
    families = ["glutamate", "symptoms"] if study.has_fmrs else ["symptoms"]
    variants = [f"{family}_{pooling}" for family in families for pooling in POOLINGS]
    if study.has_fmrs:
        variants.append("joint_partial")
    return variants


@dataclass(frozen=True)
class AnalysisResult:
    """What a run of the analysis produced.

    Parameters
    ----------
    fits : dict of str to FitResult
        One per model variant.
    comparisons : dict of str to pathlib.Path
        LOO comparison tables (netCDF), one per family.
    figures : list of pathlib.Path
        Figure files (PNG and PDF).
    numbers : list of pathlib.Path
        Manuscript numbers (JSON and LaTeX).
    seconds : float
        Wall time of the run.
    """

    fits: dict[str, FitResult]
    comparisons: dict[str, Path]
    figures: list[Path]
    numbers: list[Path]
    seconds: float

    @property
    def all_passed(self) -> bool:
        """Whether every fit's diagnostics verdict is ``pass``."""
        return all(r.verdict.status == "pass" for r in self.fits.values())


def run_analysis(
    study: Study,
    posteriors_dir: str | Path = "posteriors",
    settings: FitSettings | None = None,
    force: bool = False,
    progress: bool = True,
) -> AnalysisResult:
    """Run the full analysis of a study.

    Parameters
    ----------
    study : Study
        The validated study.
    posteriors_dir : str or pathlib.Path, default "posteriors"
        Where artifacts go; figures and numbers go to its ``figures/`` and
        ``numbers/`` subfolders.
    settings : FitSettings, optional
        Sampler settings for every fit.
    force : bool, default False
        Refit every model even when its artifact is up to date.
    progress : bool, default True
        Show steps and progress on the terminal.

    Returns
    -------
    AnalysisResult
    """
    start = time.perf_counter()
    console = Console(stderr=True, quiet=not progress)
    posteriors_dir = Path(posteriors_dir)
    settings = settings or FitSettings()
    variants = analysis_variants(study)
    fits: dict[str, FitResult] = {}
    for k, name in enumerate(variants, start=1):
        console.rule(f"[bold]fit {k}/{len(variants)}: {name}")
        fits[name] = fit(
            resolve_spec(name),
            study,
            settings=settings,
            out_dir=posteriors_dir,
            force=force,
            progress=progress,
        )
    console.rule("[bold]compare, figures, numbers")
    comparisons = {}
    for family in ("glutamate", "symptoms"):
        paths = [fits[f"{family}_{p}"].path for p in POOLINGS if f"{family}_{p}" in fits]
        if len(paths) > 1:
            out = posteriors_dir / f"compare_{family}.nc"
            compare(paths, out=out)
            comparisons[family] = out
    figures = make_figures(posteriors_dir, posteriors_dir / "figures")
    numbers = write_numbers(posteriors_dir, posteriors_dir / "numbers")
    return AnalysisResult(fits, comparisons, figures, numbers, time.perf_counter() - start)


def summary_table(result: AnalysisResult) -> Table:
    """Return a rich table of each fit: verdict, reuse and key effect."""
    table = Table(title="Fits")
    for column in ("model", "verdict", "reused", "artifact"):
        table.add_column(column)
    for name, fit_result in result.fits.items():
        status = fit_result.verdict.status
        colour = {"pass": "green", "warn": "yellow"}.get(status, "red")
        table.add_row(
            name, f"[{colour}]{status}[/]", "yes" if fit_result.reused else "no",
            str(fit_result.path),
        )
    return table
