"""The full analysis: validate, fit, check, compare, figures and manuscript numbers.

:func:`run_analysis` is what ``bayes-ketamine run`` (and ``make run``) does on the
embedded default study. Each step reads what the previous one stored. The pooling
variants of each family are compared by two criteria: repaired PSIS-LOO (from the
artifacts) and leave-one-participant-out CV (:func:`bayes_ketamine.calibration.cross_validate`,
folds stored and resumed), and
:func:`~bayes_ketamine.reporting.criteria.criteria_agreement` states whether the two
prefer the same pooling and, where not, why (in the summary, the numbers and figure
6). Fits whose spec,
data and settings are unchanged are reused, and the comparisons, figures and numbers
are redrawn only when an artifact they come from changed (``analysis_outputs.json``
records the artifacts they were made from), so a re-run with nothing changed
finishes in seconds.
"""

from __future__ import annotations

import dataclasses
import json
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
from bayes_ketamine.models.spec import POOLINGS, ModelSpec, named_specs
from bayes_ketamine.reporting import Posteriors, write_numbers
from bayes_ketamine.reporting.artifacts import COMPARISONS_DIR
from bayes_ketamine.reporting.criteria import (
    AGREEMENT_FILE,
    CRITERIA,
    FAMILIES,
    comparison_path,
    criteria_agreement,
)

MANIFEST = "analysis_outputs.json"
"""File in the posteriors folder recording which artifacts the derived outputs came from."""


def variant_name(family: str, pooling: str, factor: str = "sex") -> str:
    """Return the name of a family's variant pooled by ``factor``.

    ``<family>_<pooling>`` by sex (the named variants) and
    ``<family>_<factor>_<pooling>`` by another factor.

    Examples
    --------
    >>> variant_name("symptoms", "partial"), variant_name("symptoms", "partial", "group")
    ('symptoms_partial', 'symptoms_group_partial')
    """
    return f"{family}_{pooling}" if factor == "sex" else f"{family}_{factor}_{pooling}"


def variant_spec(family: str, pooling: str, factor: str = "sex") -> ModelSpec:
    """Return the spec of :func:`variant_name`.

    A named variant of that name is used when one ships (e.g.
    ``symptoms_group_partial``); otherwise the sex variant ``<family>_<pooling>`` is
    pooled by ``factor`` instead, with every other setting kept.
    """
    name = variant_name(family, pooling, factor)
    if name in named_specs():
        return resolve_spec(name)
    base = resolve_spec(variant_name(family, pooling))
    return dataclasses.replace(
        base,
        name=name,
        pooling_factor=factor,
        description=f"{base.description} Pooled by {factor!r} instead of sex.",
    )


def analysis_variants(study: Study, *, factor: str = "sex") -> list[str]:
    """Return the model variants the analysis fits for a study.

    Every pooling of the glutamate and symptom families (the shrinkage figure and the
    LOO comparison need all three) and the partially pooled joint model; studies
    without fMRS (e.g. the NIMH data) get the symptom family only. The condition
    effects are pooled by ``factor`` (a participant column; sex by default), see
    :func:`variant_name`.
    """
    families = ["glutamate", "symptoms"] if study.has_fmrs else ["symptoms"]
    variants = [variant_name(family, p, factor) for family in families for p in POOLINGS]
    if study.has_fmrs:
        variants.append(variant_name("joint", "partial", factor))
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
        :func:`~bayes_ketamine.reporting.criteria.criteria_agreement` per family).
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
    pool_by: str = "sex",
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
    workers : int, default :data:`~bayes_ketamine.inference.settings.CORES`
        Worker processes of the local Dask cluster of the CV folds.
    pool_by : str, default "sex"
        The participant factor the condition effects are pooled by (a categorical
        column of ``participants.csv``, e.g. ``group`` or ``site``); the variants are
        those of :func:`analysis_variants`.

    Returns
    -------
    AnalysisResult
    """
    start = time.perf_counter()
    console = Console(stderr=True, quiet=not progress)
    posteriors_dir = Path(out_dir)
    settings = settings or FitSettings()
    specs = [
        variant_spec(family, pooling, pool_by)
        for family, pooling in (
            _family_pooling(name) for name in analysis_variants(study, factor=pool_by)
        )
    ]
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
                fits,
                {spec.name: spec for spec in specs},
                study,
                posteriors_dir / "cv",
                settings,
                cv_settings,
                workers,
                progress,
            )
        _summarise_warnings(console, caught, "cross-validating")
    console.rule("[bold]compare, figures, numbers")
    inputs = {name: artifact_identity(r) for name, r in fits.items()}
    inputs.update({f"cv:{name}": cv_identity(r) for name, r in cv_results.items()})
    manifest = posteriors_dir / MANIFEST
    outputs = _reusable_outputs(manifest, inputs)
    if outputs is None:
        with caught_warnings() as caught:
            outputs = _derive_outputs(fits, cv_results, posteriors_dir, pool_by)
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


def _family_pooling(name: str) -> tuple[str, str]:
    """Return the family and pooling of a :func:`variant_name`."""
    family, *_, pooling = name.split("_")
    return family, pooling


def _cross_validate_poolings(
    fits: dict[str, FitResult],
    specs: dict[str, ModelSpec],
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

    by_family = {f: [n for n in fits if _family_pooling(n)[0] == f] for f in FAMILIES}
    names = [
        name for family in FAMILIES if len(by_family[family]) > 1 for name in by_family[family]
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
            results[name] = cross_validate(specs[name], study=study, client=client, **options)
    return results


def _derive_outputs(
    fits: dict[str, FitResult],
    cv_results: dict[str, CVResult],
    posteriors_dir: Path,
    factor: str = "sex",
) -> dict[str, list[Path]]:
    """Write the comparisons (LOO, CV, their agreement), figures and numbers.

    Comparisons, figures and numbers are drawn from the trees the fits already hold
    in memory, so no artifact is read from disk again for them.
    """
    comparisons = []
    tables: dict[str, xr.Dataset] = {}
    agreement = {}
    for family in FAMILIES:
        names = [n for p in POOLINGS if (n := variant_name(family, p, factor)) in fits]
        if len(names) < 2:
            continue
        results = [fits[n] for n in names]
        out = comparison_path(posteriors_dir, family, cv=False)
        loo = compare([r.path for r in results], out_path=out, trees=[r.tree for r in results])
        tables[out.stem] = loo
        comparisons.append(out)
        if all(n in cv_results for n in names):
            out_cv = comparison_path(posteriors_dir, family, cv=True)
            cv = compare([cv_results[n].path for n in names], out_path=out_cv)
            tables[out_cv.stem] = cv
            comparisons.append(out_cv)
            agreement[family] = criteria_agreement(loo, cv)
    if agreement:
        path = posteriors_dir / COMPARISONS_DIR / AGREEMENT_FILE
        text = json.dumps(agreement, indent=1)
        atomic_write(path, lambda tmp: tmp.write_text(text))
        comparisons.append(path)
    posteriors = Posteriors(
        posteriors_dir,
        trees={r.path.stem: r.tree for r in fits.values()},
        comparisons=tables,
    )
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

    Per family and observed variable: each criterion's first choice, how far the
    runner-up is behind it (elpd difference +- its SE), whether the two agree and why.
    ``None`` when the run did not cross-validate.
    """
    path = result.comparisons.get("criteria_agreement")
    if path is None:
        return None
    agreement = json.loads(path.read_text())
    table = Table(title="Pooling: repaired PSIS-LOO vs leave-one-participant-out CV")
    columns = ("family", "observed", "LOO prefers", "CV prefers", "runner-up behind by")
    for column in (*columns, "agree", "why"):
        table.add_column(column, overflow="fold")
    for family, per_var in agreement.items():
        for var, entry in per_var.items():
            gaps = "; ".join(
                f"{label.upper()} {entry[label].get('runner_up_gap', '-')}" for label in CRITERIA
            )
            table.add_row(
                family,
                var,
                entry["loo_best"],
                entry["cv_best"],
                gaps,
                {True: "yes", False: "[yellow]no[/]", None: "-"}[entry["agree"]],
                entry["why"],
            )
    return table
