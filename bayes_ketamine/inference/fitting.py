"""Fit a model to a study and store everything in one artifact.

:func:`fit` runs, in order: build the model, prior predictive simulation, NUTS,
posterior predictive simulation, pointwise log-likelihood and log-prior, the checks
(diagnostics, prior sensitivity, PPC statistics, LOO with its high-k points
repaired, LOO-PIT), then writes
``<out_dir>/<model name>.nc`` atomically. An artifact whose provenance key matches is
returned instead of refitting (see :mod:`bayes_ketamine.inference.provenance`).

Random seeds: NUTS gets ``settings.seed``; prior and posterior predictive simulation
get two seeds spawned from it by :class:`numpy.random.SeedSequence`.

With nutpie (the default) the chains run in background threads while the prior
predictive is simulated (:mod:`bayes_ketamine.inference.prior_predictive`) and the
post-processing functions are compiled; posterior predictive draws and log densities
are computed for all draws in one call each (:mod:`bayes_ketamine.inference.batched`).
Every compiled function is kept in :mod:`bayes_ketamine.inference.compile_cache` for
the next process, and the convergence table is computed in a helper process while
this one does the other checks (:mod:`bayes_ketamine.inference.diagnostics_worker`).
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import arviz_stats as azs
import numpy as np
import xarray as xr
from rich.console import Console

from bayes_ketamine.api import deprecated_call_forms
from bayes_ketamine.data.study import Study
from bayes_ketamine.inference.artifact import (
    artifact_lock,
    artifact_path,
    load_posterior,
    write_artifact,
)
from bayes_ketamine.inference.batched import LogDensity, PosteriorPredictive
from bayes_ketamine.inference.diagnostics import Verdict, run_diagnostics, stored_verdict
from bayes_ketamine.inference.diagnostics_worker import DiagnosticsWorker, borrowed_worker
from bayes_ketamine.inference.loo_repair import Refit, repaired_loo_table
from bayes_ketamine.inference.mediation import applies, mediation_sensitivity
from bayes_ketamine.inference.ppc import loo_pit_values, ppc_statistics
from bayes_ketamine.inference.precompile import cache_keys
from bayes_ketamine.inference.prior_predictive import PriorPredictive
from bayes_ketamine.inference.provenance import package_versions, provenance_attrs, provenance_key
from bayes_ketamine.inference.reuse import matches
from bayes_ketamine.inference.samplers import sample_posterior, start_nutpie
from bayes_ketamine.inference.sensitivity import prior_sensitivity
from bayes_ketamine.inference.settings import FitSettings
from bayes_ketamine.inference.structure import model_structure_key
from bayes_ketamine.models.base import CrossoverModel
from bayes_ketamine.models.spec import ModelSpec, resolve_spec


@dataclass(frozen=True)
class FitResult:
    """A fitted (or reused) artifact.

    Parameters
    ----------
    tree : xarray.DataTree
        The artifact, fully loaded.
    path : pathlib.Path
        Where it is stored.
    reused : bool
        ``True`` if an existing artifact with the same provenance key was returned.
    """

    tree: xr.DataTree
    path: Path
    reused: bool

    @property
    def verdict(self) -> Verdict:
        """The diagnostics verdict stored in the artifact."""
        return stored_verdict(self.tree["diagnostics"].to_dataset())


class _Steps:
    """Print numbered pipeline steps with timings to stderr (nothing when quiet).

    The wall seconds of each step are kept in ``seconds`` under the step's ``key``
    (stored in the artifact as the root attribute ``timings_json``).
    """

    def __init__(self, total: int, quiet: bool) -> None:
        self.console = Console(stderr=True, quiet=quiet)
        self.total = total
        self.done = 0
        self.seconds: dict[str, float] = {}

    @contextmanager
    def step(self, text: str, key: str | None = None) -> Iterator[dict[str, str]]:
        """Time one step; the caller may set ``report["done"]`` to say more than the time."""
        self.done += 1
        self.console.print(f"[bold cyan][{self.done}/{self.total}][/] {text} ...")
        start = time.perf_counter()
        report: dict[str, str] = {}
        yield report
        elapsed = time.perf_counter() - start
        self.seconds[key or text] = round(elapsed, 3)
        said = report.get("done", f"in {elapsed:.1f} s")
        self.console.print(f"      [green]done[/] {said}", highlight=False)

    def note(self, text: str) -> None:
        self.console.print(text)


@contextmanager
def caught_warnings() -> Iterator[list[str]]:
    """Collect the warnings raised inside the block, once each, instead of printing them.

    Libraries warn in their own words about what the stored checks already record
    (arviz-stats' Pareto-k ``UserWarning``, the ``RuntimeWarning`` of an R-hat over
    draws that do not vary in a complete-pooling model); ``check`` reports those in
    plain words. The text of each is kept in the artifact (``warnings_json``).
    """
    messages: list[str] = []
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        yield messages
    for record in records:
        text = f"{record.category.__name__}: {record.message}"
        if text not in messages:
            messages.append(text)


def _resolve(
    model_or_spec: CrossoverModel | ModelSpec | str | Path, study: Study | None
) -> tuple[ModelSpec, Study, CrossoverModel | None]:
    """Return the spec, the study and the model if one was passed in built."""
    if isinstance(model_or_spec, CrossoverModel):
        if study is not None and study is not model_or_spec.study:
            raise ValueError("pass either a built model or a study, not a model and another study")
        return model_or_spec.spec, model_or_spec.study, model_or_spec
    spec = resolve_spec(model_or_spec)
    if study is None:
        from bayes_ketamine.data import default_study

        study = default_study()
    return spec, study, None


posterior_sampler: Callable[[CrossoverModel, FitSettings, bool], xr.DataTree] | None = None
"""A stand-in for NUTS, ``(model, settings, progress) -> tree`` as
:func:`~bayes_ketamine.inference.samplers.sample_posterior`; ``None`` (the default) samples
with NUTS. When set, every fit draws its posterior with it, in the foreground, and
computes its checks in-process: the tests set one so that a fit takes a second."""


def _draw_posterior(model: CrossoverModel, settings: FitSettings, progress: bool) -> xr.DataTree:
    """Draw the posterior in the foreground: the stand-in if set, else NUTS."""
    if posterior_sampler is not None:
        return posterior_sampler(model, settings, progress)
    return sample_posterior(model, settings=settings, progress=progress)


def _in_background(settings: FitSettings) -> bool:
    """Whether NUTS runs in the background: nutpie, and no :data:`posterior_sampler`."""
    return settings.sampler == "nutpie" and posterior_sampler is None


@contextmanager
def _diagnostics_worker(settings: FitSettings) -> Iterator[DiagnosticsWorker | None]:
    """Yield the process's diagnostics helper for real nutpie fits, else ``None``.

    The helper process pays off where the fit's set-up leaves a core idle and the
    diagnostics are sizeable: real nutpie sampling. Fits with a stand-in sampler
    (:data:`posterior_sampler`) compute everything in-process.
    """
    if not _in_background(settings):
        yield None
        return
    with borrowed_worker() as worker:
        yield worker


def _sample_all(
    model: CrossoverModel,
    settings: FitSettings,
    graph_key: str,
    steps: _Steps,
    progress: bool,
    worker: DiagnosticsWorker | None,
) -> xr.DataTree:
    """Run prior predictive, NUTS, posterior predictive, log-likelihood and log-prior.

    With nutpie the chains run in background threads while this thread simulates the
    prior predictive and compiles the (vectorised) posterior predictive and
    log-density functions of :mod:`bayes_ketamine.inference.batched`; the step
    ``posterior`` then times only the wait for the draws. The compiled functions are
    kept in :mod:`bayes_ketamine.inference.compile_cache` under keys derived from
    ``graph_key``, so the next process with the same model graph loads them. The
    draws go to ``worker`` (if any) as soon as they are in.
    """
    pm_model = model.pymc_model
    prior_seed, pp_seed = np.random.SeedSequence(settings.seed).generate_state(2)
    keys = cache_keys(graph_key)
    log_density = LogDensity(pm_model, keys.log_density)
    predictive = PosteriorPredictive(pm_model, int(pp_seed), keys.posterior_predictive)
    run = None
    if _in_background(settings):
        with steps.step("compiling the model for nutpie and starting it", "posterior_start"):
            run = start_nutpie(pm_model, settings, progress, keys.nutpie)
    try:
        with steps.step(f"prior predictive ({settings.prior_draws} draws)", "prior_predictive"):
            prior = PriorPredictive(pm_model, int(prior_seed), keys.prior_predictive).compile()(
                settings.prior_draws
            )
        with steps.step("compiling posterior predictive and log densities", "compile_post"):
            predictive.compile()
            log_density.compile()
    except BaseException:
        if run is not None:
            run.cancel()
        raise
    with steps.step(
        f"posterior: {settings.sampler}, {settings.chains} chains x "
        f"({settings.tune} tune + {settings.draws} draws)",
        "posterior",
    ) as report:
        tree = run.result() if run is not None else _draw_posterior(model, settings, progress)
        if run is not None:
            sampled = float(tree["posterior"].attrs["sampling_time"])
            report["done"] = f"sampled in {sampled:.1f} s (running since step 2)"
    for attr in ("compile_time", "sampling_time"):
        if attr in tree["posterior"].attrs:
            steps.seconds[f"posterior_{attr}"] = round(float(tree["posterior"].attrs[attr]), 3)
    posterior = tree["posterior"].to_dataset()
    if worker is not None:
        worker.submit(posterior)
    with steps.step("posterior predictive", "posterior_predictive"):
        has_data = {"observed_data", "constant_data"} <= set(tree.children)
        tree.update(predictive(posterior, with_data=not has_data))
    with steps.step("log-likelihood and log-prior", "log_likelihood_prior"):
        log_likelihood, log_prior = log_density(posterior)
        tree["log_likelihood"] = log_likelihood
        tree["log_prior"] = log_prior
    tree["prior"] = prior["prior"]
    tree["prior_predictive"] = prior["prior_predictive"]
    if "constant_data" not in tree.children:
        tree["constant_data"] = xr.Dataset()
    return tree


def _refit(settings: FitSettings, versions: dict[str, str]) -> Refit:
    """Return the exact-refit function of LOO repairs: the fit's sampler and settings.

    With nutpie the refit's model (a study of the same design without one observation)
    loads the compiled functions of its structure instead of compiling.
    """

    def refit(model: CrossoverModel) -> xr.Dataset:
        if _in_background(settings):
            key = cache_keys(model_structure_key(model.pymc_model, versions)).nutpie
            tree = start_nutpie(model.pymc_model, settings, False, key).result()
        else:
            tree = _draw_posterior(model, settings, False)
        return tree["posterior"].to_dataset()

    return refit


def _add_checks(
    tree: xr.DataTree,
    model: CrossoverModel,
    settings: FitSettings,
    worker: DiagnosticsWorker | None,
    versions: dict[str, str],
) -> None:
    """Compute the stored checks and add them to ``tree`` as groups.

    The per-parameter diagnostics come from ``worker`` (computing them while this
    process does the other checks) when there is one. The LOO tables have their
    high-k points repaired (:mod:`bayes_ketamine.inference.loo_repair`).
    """
    tree["prior_sensitivity"] = prior_sensitivity(tree, model.key_effects, model.observed_vars)
    labels = model.observation_labels()
    tree["ppc_statistics"] = xr.DataTree.from_dict(ppc_statistics(tree, labels))
    with warnings.catch_warnings():
        # high-k points are repaired next; any that cannot be are warned about there
        warnings.filterwarnings("ignore", "Estimated shape parameter of Pareto", UserWarning)
        results = {var: azs.loo(tree, pointwise=True, var_name=var) for var in model.observed_vars}
    refit = _refit(settings, versions)
    tree["loo"] = xr.DataTree.from_dict(
        {
            var: repaired_loo_table(tree, model, var, results[var], refit, labels.get(var))
            for var in model.observed_vars
        }
    )
    tree["loo_pit"] = loo_pit_values(tree, model.observed_vars, results)
    table = worker.result(tree["posterior"].to_dataset()) if worker is not None else None
    parameters, sampler = run_diagnostics(tree, settings.max_treedepth, table)
    tree["diagnostics"] = parameters
    tree["sampler_checks"] = sampler
    if model.family == "joint" and applies(tree):
        tree["mediation_sensitivity"] = mediation_sensitivity(tree)


@deprecated_call_forms(positional=("study", "settings", "out_dir", "force", "progress"))
def fit(
    model_or_spec: CrossoverModel | ModelSpec | str | Path,
    *,
    study: Study | None = None,
    settings: FitSettings | None = None,
    out_dir: str | Path = "posteriors",
    force: bool = False,
    progress: bool = True,
) -> FitResult:
    """Fit a model and store the artifact, or reuse a matching one.

    Parameters
    ----------
    model_or_spec : CrossoverModel, ModelSpec, str or pathlib.Path
        A built model, a spec, the path of a spec TOML file, or the name of a
        shipped variant (e.g. ``"joint_partial"``).
    study : Study, optional
        The data; defaults to the embedded default study. Not allowed with a built
        model (which carries its study).
    settings : FitSettings, optional
        Sampler settings; defaults to ``FitSettings()``.
    out_dir : str or pathlib.Path, default "posteriors"
        Folder of the artifact ``<model name>.nc``.
    force : bool, default False
        Refit even if an artifact with the same provenance key exists.
    progress : bool, default True
        Show the steps and the sampler's progress bar on stderr.

    Returns
    -------
    FitResult

    Examples
    --------
    This fits a model, so the doctests skip it:

    >>> from bayes_ketamine.inference import FitSettings, fit
    >>> result = fit("models/joint_partial.toml", settings=FitSettings(draws=500))  # doctest: +SKIP
    >>> result.verdict.status  # doctest: +SKIP
    'pass'
    """
    settings = settings or FitSettings()
    spec, study, model = _resolve(model_or_spec, study)
    path = artifact_path(out_dir, spec.name)
    versions = package_versions()
    key = provenance_key(spec, study, settings, versions)
    steps = _Steps(total=8 if _in_background(settings) else 7, quiet=not progress)
    with artifact_lock(path):
        if not force and matches(path, key):
            steps.note(f"[green]reusing[/] {path} (spec, data and settings unchanged)")
            return FitResult(load_posterior(path), path, reused=True)
        with _diagnostics_worker(settings) as worker, caught_warnings() as caught:
            with steps.step(
                f"building model {spec.name!r} ({spec.family}) on {study.name!r}", "build"
            ):
                if model is None:
                    from bayes_ketamine.models import build_model

                    model = build_model(spec, study)
            graph_key = model_structure_key(model.pymc_model, versions)
            tree = _sample_all(model, settings, graph_key, steps, progress, worker)
            with steps.step(
                "checks: diagnostics, sensitivity, PPC, LOO (high k repaired), LOO-PIT", "checks"
            ):
                _add_checks(tree, model, settings, worker, versions)
        tree.attrs = provenance_attrs(spec, study, settings)
        tree.attrs["verdict"] = tree["diagnostics"].attrs["verdict"]
        tree.attrs["timings_json"] = json.dumps(steps.seconds)
        tree.attrs["warnings_json"] = json.dumps(caught)
        tree.attrs["parametrisation_json"] = json.dumps(
            {term: choice.to_dict() for term, choice in model.parametrisation.items()}
        )
        write_artifact(tree, path)
        if caught:
            steps.note(
                f"{len(caught)} library warning(s) kept in the artifact (attribute "
                "warnings_json); `bayes-ketamine check` explains what matters"
            )
        steps.note(f"[bold]wrote[/] {path} (verdict: {tree.attrs['verdict']})")
        return FitResult(load_posterior(path), path, reused=False)
