r"""Exact leave-one-participant-out (or grouped K-fold) cross-validation on Dask.

Each fold refits the model without its held-out participants and scores their
observations by the log predictive density of a *new* participant
(:func:`bayes_ketamine.inference.new_participant.held_out_elpd`: the participant's
own levels are integrated over the population distribution, brms
``kfold(group = ...)``; Vehtari, Gelman & Gabry 2017). Summed over participants,

.. math::

    \mathrm{elpd}_{\mathrm{CV}} = \sum_{j} \log p(y_j \mid y_{-f(j)}),
    \qquad \widehat{\mathrm{se}} = \sqrt{J\,\mathrm{Var}_j(\mathrm{elpd}_j)},

with :math:`f(j)` the fold holding out participant :math:`j` and :math:`J`
participants (the same standard error as PSIS-LOO's, over participants).

Folds: one per participant by default; with ``folds=K``, participants are shuffled
(``seed``) within each sex and dealt round-robin to the K folds, so every fold holds
about the same share of each sex.

Running: one task per fold on a Dask ``LocalCluster`` (``workers`` processes) or an
existing scheduler (:mod:`bayes_ketamine.calibration.cluster`), each retried twice
and rescheduled if its worker dies. A worker process keeps the compiled functions it
loads (:func:`bayes_ketamine.inference.compile_cache.kept_in_memory`): the model's
structure is compiled (or loaded from the compile cache) once per worker and every
fold binds its own study. The client stores each finished fold atomically as
``<out>/<model>/sims/<fold>.nc`` (:class:`~bayes_ketamine.calibration.store.RunStore`),
so a rerun with the same spec, study and settings computes only the missing folds.
The result, ``<out>/<model>/cv.nc``, holds ``elpd`` per participant and observed
variable, the per-fold sums, the settings and the provenance key the full-data
artifact of the same spec and study has.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from bayes_ketamine.api import deprecated_call_forms
from bayes_ketamine.calibration.seeds import seed_at
from bayes_ketamine.data.study import SEXES, Study
from bayes_ketamine.inference.comparison import CV_RESULT_KIND
from bayes_ketamine.inference.settings import CORES, CV_SETTINGS, FitSettings
from bayes_ketamine.models.spec import ModelSpec, resolve_spec

if TYPE_CHECKING:
    from distributed import Client


@deprecated_call_forms(positional=("folds", "seed"))
def assign_folds(study: Study, *, folds: int | None = None, seed: int = 0) -> list[list[str]]:
    """Return the held-out participants of each fold.

    Parameters
    ----------
    study : Study
    folds : int, optional
        Number of folds K; ``None`` (default) leaves one participant out per fold.
    seed : int
        Shuffle of the participants within each sex (K-fold only).

    Returns
    -------
    list of list of str
        Held-out participant ids per fold, in the study's order within a fold.

    Raises
    ------
    ValueError
        If K is below 2 or above the number of participants.

    Examples
    --------
    >>> from bayes_ketamine.data import default_study
    >>> study = default_study()
    >>> len(assign_folds(study))
    26
    >>> sorted(len(f) for f in assign_folds(study, folds=4))
    [6, 6, 7, 7]
    """
    ids = study.participant_ids
    if folds is None:
        return [[pid] for pid in ids]
    if not 2 <= folds <= len(ids):
        raise ValueError(f"folds must be between 2 and {len(ids)} participants, got {folds}")
    rng = np.random.default_rng(seed)
    sex = study.participants.set_index("participant_id")["sex"]
    members: list[list[str]] = [[] for _ in range(folds)]
    position = 0
    for s in SEXES:
        group = [pid for pid in ids if sex[pid] == s]
        for pid in rng.permutation(group):
            members[position % folds].append(str(pid))
            position += 1
    order = {pid: i for i, pid in enumerate(ids)}
    return [sorted(m, key=order.__getitem__) for m in members]


@dataclass(frozen=True)
class FoldJob:
    """One fold to fit on a worker.

    Parameters
    ----------
    index : int
        Fold number (the stored file's name).
    spec : ModelSpec
    study : Study
        The full study.
    held_out : tuple of str
        Participants left out of the fit and scored.
    settings : FitSettings
        Sampler settings of the fit (seed included).
    replicates : int
        Draws of the held-out participants' levels per posterior draw.
    """

    index: int
    spec: ModelSpec
    study: Study
    held_out: tuple[str, ...]
    settings: FitSettings
    replicates: int


def run_fold(job: FoldJob) -> dict[str, Any]:
    """Fit one fold and score its held-out participants (runs on a worker).

    Returns
    -------
    dict
        ``index``, ``pid``, ``seconds``, ``compile_seconds`` (loading or compiling
        the nutpie model in this task), ``divergences`` and ``scores`` (the dataset
        of :func:`~bayes_ketamine.inference.new_participant.held_out_elpd`).
    """
    from bayes_ketamine.inference import compile_cache
    from bayes_ketamine.inference.new_participant import held_out_elpd
    from bayes_ketamine.inference.nutpie_adapter import nutpie_cache_key
    from bayes_ketamine.inference.provenance import package_versions
    from bayes_ketamine.inference.samplers import start_nutpie
    from bayes_ketamine.inference.structure import model_structure_key
    from bayes_ketamine.models import build_model

    start = time.perf_counter()
    study, held = job.study, list(job.held_out)
    kept = [pid for pid in study.participant_ids if pid not in set(held)]
    training = study.select_participants(kept, f"{study.name} without fold {job.index}")
    testing = study.select_participants(held, f"{study.name} fold {job.index}")
    versions = package_versions()
    with compile_cache.kept_in_memory():
        model = build_model(job.spec, training)
        key = nutpie_cache_key(model_structure_key(model.pymc_model, versions))
        tree = start_nutpie(model.pymc_model, job.settings, False, key).result()
        posterior = tree["posterior"].to_dataset()
        seed = seed_at(job.settings.seed, job.index)
        scores = held_out_elpd(
            posterior,
            build_model(job.spec, testing),
            replicates=job.replicates,
            seed=seed,
            versions=versions,
        )
    return {
        "index": int(job.index),
        "pid": os.getpid(),
        "seconds": time.perf_counter() - start,
        "compile_seconds": float(posterior.attrs.get("compile_time", np.nan)),
        "divergences": int(tree["sample_stats"]["diverging"].sum()),
        "scores": scores,
    }


def _fold_dataset(result: dict[str, Any]) -> xr.Dataset:
    """Return the stored form of one fold's result."""
    scores = result["scores"]
    extra = {k: v for k, v in result.items() if k != "scores"}
    return scores.assign_attrs({**scores.attrs, **extra})


@dataclass(frozen=True)
class CVResult:
    """A finished cross-validation.

    Parameters
    ----------
    dataset : xarray.Dataset
        As stored in ``path`` (see :func:`combine_folds`).
    path : pathlib.Path
        The result netCDF.
    computed : int
        Folds computed in this call (the others were stored already).
    """

    dataset: xr.Dataset
    path: Path
    computed: int


def combine_folds(
    folds: list[list[str]],
    stored: dict[int, xr.Dataset],
    attrs: dict[str, Any],
    order: list[str],
) -> xr.Dataset:
    """Return the CV result: per-participant and per-fold elpd and their totals.

    Parameters
    ----------
    folds : list of list of str
        Held-out participants per fold (:func:`assign_folds`).
    stored : dict of int to xarray.Dataset
        The stored result of every fold.
    attrs : dict
        Root attributes (spec, study, settings, provenance).
    order : list of str
        Every participant, in the study's order (that of the result).

    Returns
    -------
    xarray.Dataset
        ``elpd``, ``mcse``, ``n_obs`` (participant, observed); ``held_out_in``
        (participant: its fold); ``fold_elpd`` (fold, observed); ``fold_seconds``,
        ``fold_compile_seconds``, ``fold_divergences`` (fold); totals ``elpd_cv`` and
        ``se`` (observed). Attribute ``kind`` = :data:`CV_RESULT_KIND`.
    """
    parts = [
        stored[i].assign(held_out_in=("participant", [i] * stored[i].sizes["participant"]))
        for i in range(len(folds))
    ]
    per = xr.concat([p[["elpd", "mcse", "n_obs", "held_out_in"]] for p in parts], dim="participant")
    per = per.sel(participant=order)
    n = per.sizes["participant"]
    fold_elpd = xr.concat([p["elpd"].sum("participant") for p in parts], dim="fold")

    def fold_attr(name: str) -> xr.DataArray:
        return xr.DataArray([stored[i].attrs[name] for i in range(len(folds))], dims="fold")

    ds = per.assign(
        fold_elpd=fold_elpd,
        fold_seconds=fold_attr("seconds"),
        fold_compile_seconds=fold_attr("compile_seconds"),
        fold_divergences=fold_attr("divergences"),
        elpd_cv=per["elpd"].sum("participant"),
        se=np.sqrt(n * per["elpd"].var("participant", ddof=1)),
    ).assign_coords(fold=np.arange(len(folds)))
    ds.attrs = {"kind": CV_RESULT_KIND, **attrs}
    return ds


@deprecated_call_forms(positional=("study",))
def cross_validate(
    spec: ModelSpec | str | Path,
    *,
    study: Study | None = None,
    folds: int | None = None,
    workers: int = CORES,
    scheduler: str | None = None,
    out_dir: str | Path = "posteriors/cv",
    settings: FitSettings | None = None,
    replicates: int = 20,
    full_data_settings: FitSettings | None = None,
    client: Client | None = None,
    progress: bool = True,
) -> CVResult:
    """Cross-validate a model by participant (module docstring), resuming stored folds.

    Parameters
    ----------
    spec : ModelSpec, str or pathlib.Path
        A spec, a spec file or a shipped variant name (e.g. ``"symptoms_partial"``).
    study : Study, optional
        The data; defaults to the embedded default study.
    folds : int, optional
        K folds grouped by participant, stratified by sex; default one per participant.
    workers : int, default :data:`~bayes_ketamine.inference.settings.CORES`
        Worker processes of the local cluster (ignored with ``scheduler`` or ``client``).
    scheduler : str, optional
        Address of a running Dask scheduler to use instead of a local cluster.
    out_dir : str or pathlib.Path, default "posteriors/cv"
        The run is stored in ``<out_dir>/<model name>/``.
    settings : FitSettings, optional
        Sampler settings of every fold; default
        :data:`~bayes_ketamine.inference.settings.CV_SETTINGS`.
    replicates : int, default 20
        Draws of a held-out participant's levels per posterior draw.
    full_data_settings : FitSettings, optional
        Settings of the full-data fit this CV accompanies (default ``FitSettings()``,
        those of ``bayes-ketamine fit``): its artifact's provenance key is stored as
        ``full_data_provenance_key``.
    client : distributed.Client, optional
        An open client (tests, the pipeline); then no cluster is started.
    progress : bool, default True
        Show a progress bar.

    Returns
    -------
    CVResult

    Examples
    --------
    >>> from bayes_ketamine.calibration import cross_validate
    >>> result = cross_validate("symptoms_partial")  # doctest: +SKIP
    >>> float(result.dataset["elpd_cv"].sel(observed="score"))  # doctest: +SKIP
    -1234.5
    """
    from bayes_ketamine.calibration.cluster import client_for, run_jobs
    from bayes_ketamine.calibration.store import RunStore, write_netcdf
    from bayes_ketamine.digests import digest
    from bayes_ketamine.inference.artifact import atomic_write
    from bayes_ketamine.inference.provenance import package_versions, provenance_key

    spec = resolve_spec(spec)
    if study is None:
        from bayes_ketamine.data import default_study

        study = default_study()
    settings = settings or CV_SETTINGS
    if settings.sampler != "nutpie":
        raise ValueError(f"cross-validation samples with nutpie, not {settings.sampler!r}")
    if replicates < 1:
        raise ValueError(f"replicates must be a positive integer, got {replicates!r}")
    assignment = assign_folds(study, folds=folds, seed=settings.seed)
    identity = {
        "kind": CV_RESULT_KIND,
        "spec_hash": spec.content_hash(),
        "study_hash": study.content_hash(),
        "settings": settings.to_dict(),
        "folds": assignment,
        "replicates": replicates,
    }
    root = Path(out_dir) / spec.name
    store = RunStore(root, identity)
    missing = store.missing(range(len(assignment)))
    jobs = [FoldJob(i, spec, study, tuple(assignment[i]), settings, replicates) for i in missing]

    def save(result: dict[str, Any]) -> None:
        path = store.path(result["index"])
        if not path.exists():
            ds = _fold_dataset(result)
            atomic_write(path, lambda p: ds.to_netcdf(p, engine="netcdf4"))

    if jobs:
        with client_for(client, workers=workers, scheduler=scheduler) as active:
            run_jobs(
                active,
                run_fold,
                jobs,
                key_prefix=f"cv-{spec.name}-{digest(**identity)[:12]}",
                on_result=save,
                description=f"CV folds of {spec.name}",
                progress=progress,
            )
    stored = {}
    for i in range(len(assignment)):
        with xr.open_dataset(store.path(i), engine="netcdf4") as ds:
            stored[i] = ds.load()
    full_data_settings = full_data_settings or FitSettings()
    attrs = {
        "model_name": spec.name,
        "family": spec.family,
        "pooling": spec.pooling,
        "study_name": study.name,
        "data_hash": study.content_hash(),
        "simulated": int(study.simulated),
        "criterion": criterion(folds),
        "settings_json": settings.to_json(),
        "replicates": replicates,
        "full_data_settings_json": full_data_settings.to_json(),
        "full_data_provenance_key": provenance_key(
            spec, study, full_data_settings, package_versions()
        ),
        "folds_json": json.dumps(assignment),
    }
    result = combine_folds(assignment, stored, attrs, study.participant_ids)
    path = write_netcdf(result, root / "cv.nc")
    return CVResult(result, path, computed=len(jobs))


def criterion(folds: int | None) -> str:
    """Return the name of the criterion a CV with ``folds`` computes."""
    if folds is None:
        return "leave-one-participant-out CV"
    return f"{folds}-fold CV grouped by participant"
