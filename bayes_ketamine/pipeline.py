"""The full analysis: validate, fit, check, compare, figures and manuscript numbers.

:func:`run_analysis` is what ``bayes-ketamine run`` (and ``make run``) does on the
embedded default study. Each step reads what the previous one stored. The pooling
variants of each family are compared by two criteria: repaired PSIS-LOO (from the
artifacts) and leave-one-participant-out CV (:func:`bayes_ketamine.calibration.cross_validate`,
folds stored and resumed), and :func:`criteria_agreement` states whether the two
prefer the same pooling and, where not, why. Fits whose spec,
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
from typing import Any

import numpy as np
import xarray as xr
from rich.console import Console
from rich.table import Table

from bayes_ketamine.api import deprecated_call_forms
from bayes_ketamine.calibration.cross_validation import CVResult, cross_validate
from bayes_ketamine.data.study import Study
from bayes_ketamine.figures import make_figures
from bayes_ketamine.inference import FitResult, FitSettings, compare, fit, precompile
from bayes_ketamine.inference.artifact import atomic_write
from bayes_ketamine.inference.fitting import caught_warnings
from bayes_ketamine.inference.precompile import Precompiler
from bayes_ketamine.inference.reuse import stored_fit
from bayes_ketamine.inference.settings import CORES
from bayes_ketamine.models import resolve_spec
from bayes_ketamine.models.spec import POOLINGS
from bayes_ketamine.reporting import Posteriors, write_numbers

FAMILIES = ("glutamate", "symptoms")
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
        Comparison tables (netCDF): ``<family>`` (repaired PSIS-LOO, file
        ``<family>_poolings.nc``), ``<family>_cv`` (CV by participant, file
        ``<family>_poolings_cv.nc``) and ``criteria_agreement`` (JSON,
        :func:`criteria_agreement` per family).
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


@deprecated_call_forms(
    positional=(
        "posteriors_dir",
        "settings",
        "force",
        "progress",
        "cross_validation",
        "cv_settings",
        "workers",
    ),
    renamed={"posteriors_dir": "out_dir"},
)
def run_analysis(
    study: Study,
    *,
    out_dir: str | Path = "posteriors",
    settings: FitSettings | None = None,
    force: bool = False,
    progress: bool = True,
    cross_validation: bool = True,
    cv_settings: FitSettings | None = None,
    workers: int = CORES,
) -> AnalysisResult:
    """Run the full analysis of a study.

    Parameters
    ----------
    study : Study
        The validated study.
    out_dir : str or pathlib.Path, default "posteriors"
        Where artifacts go; figures and numbers go to its ``figures/`` and
        ``numbers/`` subfolders.
    settings : FitSettings, optional
        Sampler settings for every fit.
    force : bool, default False
        Refit every model even when its artifact is up to date.
    progress : bool, default True
        Show steps and progress on the terminal.
    cross_validation : bool, default True
        Also cross-validate every pooling variant by participant (stored in
        ``<out_dir>/cv/``) and compare the families by it.
    cv_settings : FitSettings, optional
        Sampler settings of the CV folds (default: those of ``bayes-ketamine cv``).
    workers : int, default 2
        Worker processes of the local Dask cluster of the CV folds.

    Returns
    -------
    AnalysisResult
    """
    start = time.perf_counter()
    console = Console(stderr=True, quiet=not progress)
    posteriors_dir = Path(out_dir)
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
                study=study,
                settings=settings,
                out_dir=posteriors_dir,
                force=force,
                progress=progress,
            )
    cv_results: dict[str, CVResult] = {}
    if cross_validation:
        console.rule("[bold]leave-one-participant-out CV of the pooling variants")
        with caught_warnings() as caught:
            cv_results = _cross_validate_poolings(
                fits, study, posteriors_dir / "cv", settings, cv_settings, workers, progress
            )
        _summarise_warnings(console, caught, "cross-validating")
    console.rule("[bold]compare, figures, numbers")
    inputs = {name: artifact_identity(r) for name, r in fits.items()}
    inputs.update({f"cv:{name}": cv_identity(r) for name, r in cv_results.items()})
    manifest = posteriors_dir / MANIFEST
    outputs = _reusable_outputs(manifest, inputs)
    if outputs is None:
        with caught_warnings() as caught:
            outputs = _derive_outputs(fits, cv_results, posteriors_dir)
        _summarise_warnings(console, caught, "comparing and drawing")
        payload = {"inputs": inputs, "outputs": {k: list(map(str, v)) for k, v in outputs.items()}}
        atomic_write(manifest, lambda tmp: tmp.write_text(json.dumps(payload, indent=1)))
    else:
        console.print("[green]reusing[/] comparisons, figures and numbers (artifacts unchanged)")
    return AnalysisResult(
        fits,
        {path.stem.replace("_poolings", ""): path for path in outputs["comparisons"]},
        outputs["figures"],
        outputs["numbers"],
        time.perf_counter() - start,
    )


def _summarise_warnings(console: Console, caught: list[str], doing: str) -> None:
    """Print one line for the library warnings raised while ``doing`` (none: nothing)."""
    if caught:
        console.print(
            f"{len(caught)} library warning(s) while {doing} (first ones): "
            + "; ".join(text.split("\n")[0][:80] for text in caught[:3]),
            markup=False,
            highlight=False,
        )


def artifact_identity(result: FitResult) -> str:
    """Return what identifies one written artifact: its provenance key and write time.

    A forced refit keeps the provenance key but writes new draws, so the time is part
    of the identity.
    """
    return f"{result.tree.attrs['provenance_key']}@{result.tree.attrs['created']}"


def cv_identity(result: CVResult) -> str:
    """Return what identifies a CV result: the full-data key, settings and folds."""
    attrs = result.dataset.attrs
    return f"{attrs['full_data_provenance_key']}:{attrs['settings_json']}:{attrs['folds_json']}"


def _cross_validate_poolings(
    fits: dict[str, FitResult],
    study: Study,
    out_dir: Path,
    settings: FitSettings,
    cv_settings: FitSettings | None,
    workers: int,
    progress: bool,
) -> dict[str, CVResult]:
    """Cross-validate by participant every pooling variant of a family with two or more.

    One local Dask cluster serves all of them, and only when some fold is not stored.
    """
    from bayes_ketamine.calibration.cluster import dask_client

    names = [
        f"{family}_{p}"
        for family in FAMILIES
        for p in POOLINGS
        if sum(f"{family}_{q}" in fits for q in POOLINGS) > 1 and f"{family}_{p}" in fits
    ]
    options: dict[str, Any] = {
        "out_dir": out_dir,
        "full_data_settings": settings,
        "progress": progress,
    }
    if cv_settings is not None:
        options["settings"] = cv_settings
    results: dict[str, CVResult] = {}
    with dask_client(workers) as client:
        for name in names:
            results[name] = cross_validate(name, study=study, client=client, **options)
    return results


def criteria_agreement(loo: xr.Dataset, cv: xr.Dataset) -> dict[str, dict]:
    """State, per observed variable, whether repaired PSIS-LOO and CV prefer one model.

    Parameters
    ----------
    loo, cv : xarray.Dataset
        Tables of :func:`bayes_ketamine.inference.compare` of the same models by
        PSIS-LOO and by cross-validation by participant.

    Returns
    -------
    dict
        Per observed variable: ``agree`` (the same model ranks first; ``None``
        when a criterion can rank no model), the best
        model, the order and the elpd differences with their SEs under each
        criterion, and ``why``: a sentence on the agreement or the reason for the
        disagreement. Two criteria "disagree" only in their first choice; when that
        choice is within two standard errors of the runner-up under either
        criterion, the disagreement is called not decisive.
    """
    out = {}
    for var in sorted(set(loo["observed"].values) & set(cv["observed"].values)):
        summary: dict[str, dict[str, Any]] = {}
        for label, table in (("loo", loo), ("cv", cv)):
            sub = table.sel(observed=var)
            ranked = sub.where(np.isfinite(sub["rank"]), drop=True).sortby("rank")
            models = [str(m) for m in ranked["model"].values]
            summary[label] = {
                "order": models,
                "elpd": {m: float(ranked["elpd"].sel(model=m)) for m in models},
                "elpd_diff": {m: float(ranked["elpd_diff"].sel(model=m)) for m in models},
                "dse": {m: float(ranked["dse"].sel(model=m)) for m in models},
            }
        if not summary["loo"]["order"] or not summary["cv"]["order"]:
            reasons = json.loads(loo.attrs.get("unranked_json", "{}")).get(var, {})
            out[var] = {
                "agree": None,
                "loo_best": (summary["loo"]["order"] or ["-"])[0],
                "cv_best": (summary["cv"]["order"] or ["-"])[0],
                "why": "PSIS-LOO cannot rank the models: "
                + "; ".join(f"{m}: {r}" for m, r in reasons.items()),
                **summary,
            }
            continue
        loo_best, cv_best = summary["loo"]["order"][0], summary["cv"]["order"][0]
        agree = loo_best == cv_best
        if agree:
            why = (
                f"both prefer {loo_best}: it predicts both new ratings of the participants "
                "in the data and new participants best"
            )
        else:
            close = []
            for label, name in (("loo", "PSIS-LOO"), ("cv", "CV")):
                runner = summary[label]["order"][1] if len(summary[label]["order"]) > 1 else None
                if runner is None:
                    continue
                diff = abs(summary[label]["elpd_diff"][runner])
                dse = summary[label]["dse"][runner]
                if diff < 2 * dse:
                    close.append(f"{name} ({diff:.1f} ± {dse:.1f})")
            if close:
                why = (
                    f"PSIS-LOO prefers {loo_best}, CV {cv_best}, but not decisively: the first "
                    f"choice is within 2 SE of the runner-up under {' and '.join(close)}"
                )
            else:
                why = (
                    f"PSIS-LOO prefers {loo_best}, CV {cv_best}: LOO scores new ratings of "
                    "participants already in the data, where participant-level terms fitted "
                    "to them help; CV scores new participants, whose levels come from the "
                    "population distribution, which rewards the pooling that generalises"
                )
        out[var] = {"agree": agree, "loo_best": loo_best, "cv_best": cv_best, "why": why, **summary}
    return out


def _derive_outputs(
    fits: dict[str, FitResult], cv_results: dict[str, CVResult], posteriors_dir: Path
) -> dict[str, list[Path]]:
    """Write the comparisons (LOO, CV, their agreement), figures and numbers.

    Comparisons, figures and numbers are drawn from the trees the fits already hold
    in memory, so no artifact is read from disk again for them.
    """
    comparisons = []
    agreement = {}
    folder = posteriors_dir / "comparisons"
    for family in FAMILIES:
        names = [f"{family}_{p}" for p in POOLINGS if f"{family}_{p}" in fits]
        if len(names) < 2:
            continue
        results = [fits[n] for n in names]
        out = folder / f"{family}_poolings.nc"
        loo = compare([r.path for r in results], out_path=out, trees=[r.tree for r in results])
        comparisons.append(out)
        if all(n in cv_results for n in names):
            out_cv = folder / f"{family}_poolings_cv.nc"
            cv = compare([cv_results[n].path for n in names], out_path=out_cv)
            comparisons.append(out_cv)
            agreement[family] = criteria_agreement(loo, cv)
    if agreement:
        path = folder / "criteria_agreement.json"
        text = json.dumps(agreement, indent=1)
        atomic_write(path, lambda tmp: tmp.write_text(text))
        comparisons.append(path)
    posteriors = Posteriors(posteriors_dir, trees={r.path.stem: r.tree for r in fits.values()})
    return {
        "comparisons": comparisons,
        "figures": make_figures(posteriors, out_dir=posteriors_dir / "figures"),
        "numbers": write_numbers(posteriors, out_dir=posteriors_dir / "numbers"),
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


def agreement_table(result: AnalysisResult) -> Table | None:
    """Return a rich table of whether repaired PSIS-LOO and CV agree, per family.

    ``None`` when the run did not cross-validate.
    """
    path = result.comparisons.get("criteria_agreement")
    if path is None:
        return None
    agreement = json.loads(path.read_text())
    table = Table(title="Pooling: repaired PSIS-LOO vs leave-one-participant-out CV")
    for column in ("family", "observed", "LOO prefers", "CV prefers", "agree", "why"):
        table.add_column(column, overflow="fold")
    for family, per_var in agreement.items():
        for var, entry in per_var.items():
            table.add_row(
                family,
                var,
                entry["loo_best"],
                entry["cv_best"],
                {True: "yes", False: "[yellow]no[/]", None: "-"}[entry["agree"]],
                entry["why"],
            )
    return table
