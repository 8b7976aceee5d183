"""The full analysis: validate, fit, check, compare, figures and manuscript numbers.

:func:`run_analysis` is what ``bayes-ketamine run`` (and ``make run``) does on the
embedded default study. Each step reads what the previous one stored. Fits whose spec,
data and settings are unchanged are reused, and the comparisons, figures and numbers
are redrawn only when an artifact they come from changed (``analysis_outputs.json``
records the artifacts they were made from), so a re-run with nothing changed
finishes in seconds.
"""

from __future__ import annotations

import json
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bayes_ketamine.data.study import Study
from bayes_ketamine.figures import make_figures
from bayes_ketamine.inference import FitResult, FitSettings, compare, fit, precompile
from bayes_ketamine.inference.artifact import atomic_write
from bayes_ketamine.inference.fitting import caught_warnings
from bayes_ketamine.inference.precompile import Precompiler
from bayes_ketamine.inference.reuse import stored_fit
from bayes_ketamine.models import resolve_spec
from bayes_ketamine.reporting import Posteriors, write_numbers

POOLINGS = ("none", "partial", "complete")
MANIFEST = "analysis_outputs.json"
"""File in the posteriors folder recording which artifacts the derived outputs came from."""


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
    specs = [resolve_spec(name) for name in analysis_variants(study)]
    to_fit = [
        spec
        for spec in specs
        if force or stored_fit(spec, study, settings=settings, out_dir=posteriors_dir) is None
    ]
    # A helper process compiles the later models (last first) while the first ones fit.
    helper = (
        Precompiler(to_fit[:0:-1], study)
        if len(to_fit) > 1 and precompile.enabled()
        else nullcontext()
    )
    fits: dict[str, FitResult] = {}
    with helper:
        for k, spec in enumerate(specs, start=1):
            console.rule(f"[bold]fit {k}/{len(specs)}: {spec.name}")
            fits[spec.name] = fit(
                spec,
                study,
                settings=settings,
                out_dir=posteriors_dir,
                force=force,
                progress=progress,
            )
    console.rule("[bold]compare, figures, numbers")
    inputs = {name: artifact_identity(r) for name, r in fits.items()}
    manifest = posteriors_dir / MANIFEST
    outputs = _reusable_outputs(manifest, inputs)
    if outputs is None:
        with caught_warnings() as caught:
            outputs = _derive_outputs(fits, posteriors_dir)
        if caught:
            console.print(
                f"{len(caught)} library warning(s) while comparing and drawing (first ones): "
                + "; ".join(text.split("\n")[0][:80] for text in caught[:3]),
                markup=False,
                highlight=False,
            )
        payload = {"inputs": inputs, "outputs": {k: list(map(str, v)) for k, v in outputs.items()}}
        atomic_write(manifest, lambda tmp: tmp.write_text(json.dumps(payload, indent=1)))
    else:
        console.print("[green]reusing[/] comparisons, figures and numbers (artifacts unchanged)")
    return AnalysisResult(
        fits,
        {path.stem.removesuffix("_poolings"): path for path in outputs["comparisons"]},
        outputs["figures"],
        outputs["numbers"],
        time.perf_counter() - start,
    )


def artifact_identity(result: FitResult) -> str:
    """Return what identifies one written artifact: its provenance key and write time.

    A forced refit keeps the provenance key but writes new draws, so the time is part
    of the identity.
    """
    return f"{result.tree.attrs['provenance_key']}@{result.tree.attrs['created']}"


def _derive_outputs(fits: dict[str, FitResult], posteriors_dir: Path) -> dict[str, list[Path]]:
    """Write the LOO comparisons, figures and numbers from the artifacts.

    Comparisons, figures and numbers are drawn from the trees the fits already hold
    in memory, so no artifact is read from disk again for them.
    """
    comparisons = []
    for family in ("glutamate", "symptoms"):
        results = [fits[f"{family}_{p}"] for p in POOLINGS if f"{family}_{p}" in fits]
        if len(results) > 1:
            out = posteriors_dir / "comparisons" / f"{family}_poolings.nc"
            compare([r.path for r in results], out=out, trees=[r.tree for r in results])
            comparisons.append(out)
    posteriors = Posteriors(posteriors_dir, trees={r.path.stem: r.tree for r in fits.values()})
    return {
        "comparisons": comparisons,
        "figures": make_figures(posteriors, posteriors_dir / "figures"),
        "numbers": write_numbers(posteriors, posteriors_dir / "numbers"),
    }


def _reusable_outputs(manifest: Path, inputs: dict[str, str]) -> dict[str, list[Path]] | None:
    """Return the outputs recorded for the same input artifacts, if all still exist."""
    try:
        recorded = json.loads(manifest.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if recorded.get("inputs") != inputs:
        return None
    outputs = {k: [Path(p) for p in v] for k, v in recorded.get("outputs", {}).items()}
    files = [p for paths in outputs.values() for p in paths]
    if set(outputs) != {"comparisons", "figures", "numbers"} or not all(p.is_file() for p in files):
        return None
    return outputs


def summary_table(result: AnalysisResult) -> Table:
    """Return a rich table of each fit: verdict, reuse and key effect."""
    table = Table(title="Fits")
    for column in ("model", "verdict", "reused", "artifact"):
        table.add_column(column)
    for name, fit_result in result.fits.items():
        status = fit_result.verdict.status
        colour = {"pass": "green", "warn": "yellow"}.get(status, "red")
        table.add_row(
            name,
            f"[{colour}]{status}[/]",
            "yes" if fit_result.reused else "no",
            str(fit_result.path),
        )
    return table
