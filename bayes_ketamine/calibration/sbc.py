"""Simulation-based calibration (Talts et al. 2018; Modrak et al. 2023).

For simulation ``i = 0..N-1``:

1. draw the parameters and a data set of the study's design from the model's prior
   (``pymc.sample_prior_predictive``; censored MADRS draws are clipped to the scale
   like the likelihood assumes);
2. fit the model to that data set (nutpie, compiled once per worker; the data are
   swapped in with ``with_data``);
3. rank each true population-level parameter among ``L`` thinned posterior draws
   (rank ``0..L``).

If the inference is calibrated, each parameter's ranks are uniform on ``0..L``.
Uniformity is judged with the ECDF of the ranks and the simultaneous confidence band
of Säilynoja, Bürkner & Vehtari (2022), obtained by simulating uniform ranks of the
same ``N`` and ``L`` (:func:`bayes_ketamine.calibration.uniformity.uniformity_test`).

Prior draws are made by the client in blocks of :data:`BLOCK` simulations, block ``b``
seeded with ``SeedSequence([seed, 0, b])``, and simulation ``i`` is fitted with the seed
from ``SeedSequence([seed, 1, i])``: simulation ``i`` is the same whatever ``N`` is and
whether or not the run was resumed.

Fits whose diagnostics fail (:data:`bayes_ketamine.calibration.worker.CALIBRATION_THRESHOLDS`)
are kept in the ranks (dropping them would bias the check) and counted in the report.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from bayes_ketamine.api import deprecated_call_forms
from bayes_ketamine.calibration.seeds import seed_at
from bayes_ketamine.calibration.store import RunStore, write_netcdf
from bayes_ketamine.calibration.uniformity import ALPHA, uniformity_band, uniformity_test
from bayes_ketamine.calibration.worker import (
    FitJob,
    ModelDesign,
    SamplerSettings,
    flatten_draws,
    ranked_variables,
    run_fit,
)
from bayes_ketamine.data.study import Study
from bayes_ketamine.inference.settings import CORES, MASTER_SEED
from bayes_ketamine.models.spec import ModelSpec

if TYPE_CHECKING:
    from distributed import Client

    from bayes_ketamine.models.base import CrossoverModel

BLOCK = 25
"""Simulations per block of prior draws."""


# -- prior draws -------------------------------------------------------------------------


def prior_block(
    model: CrossoverModel, block: int, seed: int, parameters: list[str], block_size: int = BLOCK
) -> tuple[np.ndarray, list[str], dict[str, np.ndarray]]:
    """Draw one block of true parameters and simulated observations from the prior.

    Returns
    -------
    truth : numpy.ndarray
        ``(block_size, parameter)``.
    labels : list of str
    data : dict of str to numpy.ndarray
        Per data container (``<observed>_observed``), ``(block_size, n_obs)``.
    """
    import pymc as pm

    draws = pm.sample_prior_predictive(
        draws=block_size, model=model.pymc_model, random_seed=seed_at(seed, 0, block)
    )
    truth, labels = flatten_draws(draws["prior"].to_dataset(), parameters)
    pp = draws["prior_predictive"].to_dataset()
    data = {
        f"{name}_observed": np.asarray(pp[name].isel(chain=0).values, dtype=float)
        for name in model.observed_vars
    }
    return truth[0], labels, data


# -- the run -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SBCResult:
    """Where an SBC run stored its output and what it found."""

    out_dir: Path
    netcdf: Path
    plot: Path | None
    ranks: xr.Dataset
    verdicts: xr.Dataset
    failed_fits: int
    compile_seconds: list[float]
    wall_seconds: float
    new_simulations: int = 0


def sbc_identity(spec: ModelSpec, study: Study, settings: SamplerSettings, seed: int) -> dict:
    """Return the identity of an SBC run (stored in ``run.json`` and checked on resume)."""
    return {
        "kind": "sbc",
        "spec": spec.name,
        "spec_hash": spec.content_hash(),
        "study_hash": study.content_hash(),
        "settings": asdict(settings),
        "seed": int(seed),
        "block": BLOCK,
    }


def sbc_jobs(
    design: ModelDesign, settings: SamplerSettings, seed: int, indices: list[int]
) -> list[FitJob]:
    """Return the fit jobs of the given simulation indices (prior draws made here)."""
    from bayes_ketamine.models import build_model

    model = build_model(design.spec, design.study)
    parameters = ranked_variables(model.pymc_model)
    jobs = []
    for block in sorted({i // BLOCK for i in indices}):
        truth, _, data = prior_block(model, block, seed, parameters)
        for i in indices:
            if i // BLOCK != block:
                continue
            k = i - block * BLOCK
            jobs.append(
                FitJob(
                    kind="sbc",
                    index=i,
                    seed=seed_at(seed, 1, i),
                    design=design,
                    settings=settings,
                    data={name: arr[k] for name, arr in data.items()},
                    truth=truth[k],
                )
            )
    return jobs


@deprecated_call_forms(positional=("thin_to", "alpha"))
def summarise_sbc(combined: xr.Dataset, *, thin_to: int, alpha: float = ALPHA) -> xr.Dataset:
    """Return the per-parameter verdicts of combined SBC results.

    Adds ``n_simulations``, ``failed_fits`` and the mean ``ess_bulk`` per parameter.
    """
    ranks = combined["rank"].transpose("parameter", "simulation").values
    band = uniformity_band(ranks.shape[1], thin_to + 1, alpha=alpha)
    verdicts = uniformity_test(ranks, thin_to + 1, alpha=alpha, band=band)
    verdicts = verdicts.assign_coords(parameter=combined["parameter"].values)
    verdicts["mean_ess_bulk"] = ("parameter", combined["ess_bulk"].mean("simulation").values)
    failed = int(combined["fit_failed"].sum())
    verdicts.attrs.update(
        n_simulations=int(ranks.shape[1]),
        thin_to=int(thin_to),
        alpha=float(alpha),
        band_gamma=float(band.gamma),
        failed_fits=failed,
        workbench_failed_fits=int((combined["status"] == "fail").sum()),
        fits_with_divergences=int((combined["divergences"] > 0).sum()),
    )
    return verdicts


@deprecated_call_forms(positional=("simulations",))
def run_sbc(
    spec: ModelSpec | str | Path,
    *,
    simulations: int,
    study: Study | None = None,
    out_dir: str | Path = "posteriors/sbc",
    settings: SamplerSettings | None = None,
    seed: int = MASTER_SEED,
    workers: int = CORES,
    scheduler: str | None = None,
    client: Client | None = None,
    progress: bool = True,
    plot: bool = True,
) -> SBCResult:
    """Run (or resume) simulation-based calibration of a model on Dask.

    Parameters
    ----------
    spec : ModelSpec, str or pathlib.Path
        Model spec or variant name (e.g. ``"symptoms_partial"``).
    simulations : int
        Number ``N`` of simulations (indices ``0..N-1``); stored ones are skipped.
    study : Study, optional
        Study whose design is simulated (default: the embedded default study).
    out_dir : str or pathlib.Path
        Parent folder; the run goes to ``out_dir/<spec name>/``.
    settings : SamplerSettings, optional
        Sampler settings and thinning ``L``.
    seed : int
        Master seed.
    workers, scheduler
        Local cluster size, or address of an existing scheduler.
    client : distributed.Client, optional
        Use this client instead of opening one.
    progress : bool
        Progress bar over simulations.
    plot : bool
        Write the ECDF-difference plot.

    Returns
    -------
    SBCResult
    """
    import time

    from bayes_ketamine.calibration.cluster import client_for, run_jobs, warm_workers
    from bayes_ketamine.calibration.worker import warm
    from bayes_ketamine.data import default_study
    from bayes_ketamine.models import resolve_spec

    spec = resolve_spec(spec)
    study = study if study is not None else default_study()
    settings = settings or SamplerSettings()
    design = ModelDesign(spec, study)
    store = RunStore(Path(out_dir) / spec.name, sbc_identity(spec, study, settings, seed))
    todo = store.missing(range(simulations))
    compile_seconds: list[float] = []
    wall = 0.0
    if todo:
        jobs = sbc_jobs(design, settings, seed, todo)
        with client_for(client, workers=workers, scheduler=scheduler) as active:
            compile_seconds = [r["compile_seconds"] for r in warm_workers(active, warm, design)]
            start = time.perf_counter()
            run_jobs(
                active,
                run_fit,
                jobs,
                key_prefix=f"sbc-{design.key}-{seed}-{settings.key()}",
                on_result=store.save,
                description=f"SBC {spec.name}",
                progress=progress,
            )
            wall = time.perf_counter() - start
    combined = store.combine(range(simulations))
    verdicts = summarise_sbc(combined, thin_to=settings.thin_to)
    tree = xr.DataTree.from_dict(
        {
            "/": xr.Dataset(attrs=_root_attrs(spec, settings, seed)),
            "/simulations": combined,
            "/verdicts": verdicts,
        }
    )
    netcdf = write_netcdf(tree, store.root / "sbc.nc")
    plot_path = None
    if plot:
        from bayes_ketamine.calibration.plots import plot_sbc_ecdf

        plot_path = plot_sbc_ecdf(combined, verdicts, store.root / "sbc_ecdf.png", title=spec.name)
    return SBCResult(
        out_dir=store.root,
        netcdf=netcdf,
        plot=plot_path,
        ranks=combined,
        verdicts=verdicts,
        failed_fits=int(verdicts.attrs["failed_fits"]),
        compile_seconds=compile_seconds,
        wall_seconds=wall,
        new_simulations=len(todo),
    )


def _root_attrs(spec: ModelSpec, settings: SamplerSettings, seed: int) -> dict[str, Any]:
    from bayes_ketamine.inference.provenance import package_versions

    return {
        "kind": "sbc",
        "model_name": spec.name,
        "spec_json": spec.to_json(),
        "settings_json": json.dumps(asdict(settings), sort_keys=True),
        "seed": int(seed),
        "method": "SBC (Talts et al. 2018; Modrak et al. 2023); ECDF band: Sailynoja et al. 2022",
        "versions_json": json.dumps(package_versions(), sort_keys=True),
    }
