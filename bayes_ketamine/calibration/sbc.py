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
same ``N`` and ``L`` (:func:`uniformity_test`).

Prior draws are made by the client in blocks of :data:`BLOCK` simulations, block ``b``
seeded with ``SeedSequence([seed, 0, b])``, and simulation ``i`` is fitted with the seed
from ``SeedSequence([seed, 1, i])``: simulation ``i`` is the same whatever ``N`` is and
whether or not the run was resumed.

Fits whose diagnostics fail (:data:`bayes_ketamine.calibration.worker.CALIBRATION_FAIL`)
are kept in the ranks (dropping them would bias the check) and counted in the report.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from scipy import stats

from bayes_ketamine.calibration.store import RunStore, write_netcdf
from bayes_ketamine.calibration.worker import (
    FitJob,
    ModelDesign,
    SamplerSettings,
    flatten_draws,
    ranked_variables,
    run_fit,
)
from bayes_ketamine.data.study import Study
from bayes_ketamine.models.spec import ModelSpec

BLOCK = 25
"""Simulations per block of prior draws."""

ALPHA = 0.05
"""Level of the uniformity test and of the simultaneous band (95 %)."""

VERDICTS = ("uniform", "suspect", "non-uniform")
"""Per-parameter verdicts: ``uniform`` (p >= alpha); ``suspect`` (p < alpha but not
after Holm's correction over all parameters of the model); ``non-uniform`` (Holm-adjusted
p < alpha)."""


# -- rank statistics (no sampling) -----------------------------------------------------


def n_bins(n: int, n_ranks: int) -> int:
    """Return the number of ECDF evaluation bins for ``n`` ranks on ``0..n_ranks-1``.

    All ``n_ranks`` values when ``n >= n_ranks``; otherwise the largest divisor of
    ``n_ranks`` not above ``n`` (more evaluation points than ranks only adds a saw-tooth
    to the band). Ranks are merged into equal groups of ``n_ranks // bins`` values,
    which keeps them exactly uniform under the null.
    """
    if n >= n_ranks:
        return n_ranks
    return max(d for d in range(1, n + 1) if n_ranks % d == 0)


def bin_ranks(ranks: np.ndarray, n_ranks: int) -> tuple[np.ndarray, int]:
    """Return ranks merged into :func:`n_bins` bins (last axis = simulations) and the bins."""
    ranks = np.asarray(ranks, dtype=np.int64)
    k = n_bins(ranks.shape[-1], n_ranks)
    return ranks // (n_ranks // k), k


def _ecdf_counts(ranks: np.ndarray, n_ranks: int) -> np.ndarray:
    """Return ``#(ranks < j)`` for ``j = 1..n_ranks-1`` along the last axis."""
    ranks = np.asarray(ranks, dtype=np.int64)
    counts = np.apply_along_axis(np.bincount, -1, ranks, minlength=n_ranks)
    return np.cumsum(counts, axis=-1)[..., :-1]


def _tail_statistic(counts: np.ndarray, n: int, z: np.ndarray) -> np.ndarray:
    """Smallest two-sided pointwise binomial tail probability along the last axis."""
    lower = stats.binom.cdf(counts, n, z)
    upper = stats.binom.sf(counts - 1, n, z)
    return np.min(2 * np.minimum(lower, upper), axis=-1).clip(max=1.0)


@dataclass(frozen=True)
class UniformityBand:
    """Simultaneous ECDF band of ``n`` uniform ranks on ``0..n_ranks-1``.

    Attributes
    ----------
    n_ranks : int
        Number of evaluation bins (:func:`n_bins`).
    z : numpy.ndarray
        Evaluation points ``j / n_ranks`` for ``j = 0..n_ranks``.
    lower, upper : numpy.ndarray
        Band of the ECDF at ``z`` (fractions).
    gamma : float
        Pointwise level giving simultaneous coverage ``1 - alpha``.
    null_statistics : numpy.ndarray
        Simulated test statistics under uniformity.
    """

    n: int
    n_ranks: int
    alpha: float
    z: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    gamma: float
    null_statistics: np.ndarray


def uniformity_band(
    n: int, n_ranks: int, alpha: float = ALPHA, n_sim: int = 2000, seed: int = 271828
) -> UniformityBand:
    """Return the simultaneous ``1 - alpha`` ECDF band for ``n`` discrete-uniform ranks.

    Simulation method of Säilynoja et al. (2022, Statistics and Computing 32:32): for
    ``n_sim`` samples of ``n`` ranks uniform on ``0..n_ranks-1``, the statistic is the
    smallest two-sided binomial tail probability of the ECDF over the evaluation
    points; ``gamma`` is its ``alpha`` quantile, and the band is the pointwise binomial
    ``gamma/2`` and ``1 - gamma/2`` quantiles.

    Kept rather than ArviZ's band (:func:`arviz_stats.ecdf_utils.ecdf_pit`, used by the
    posterior figures): SBC ranks are discrete on ``0..L``, and this band simulates
    discrete uniform ranks evaluated at the rank bins, while ArviZ's simulates
    continuous uniform values at ``1/n, ..., (n-1)/n``; and the simulated statistics
    are also the null distribution of :func:`uniformity_test`, so the drawn band and
    the verdict come from one simulation.

    Parameters
    ----------
    n : int
        Number of ranks (simulations).
    n_ranks : int
        Number of possible rank values ``L + 1``.
    alpha : float
        One minus the simultaneous coverage.
    n_sim : int
        Simulated uniform samples.
    seed : int
        Seed of the simulation (the band is deterministic).
    """
    rng = np.random.default_rng(seed)
    n_ranks = n_bins(n, n_ranks)
    z = np.arange(1, n_ranks) / n_ranks
    sims = rng.integers(0, n_ranks, size=(n_sim, n))
    null = _tail_statistic(_ecdf_counts(sims, n_ranks), n, z)
    gamma = float(np.quantile(null, alpha))
    lower = stats.binom.ppf(gamma / 2, n, z) / n
    upper = stats.binom.ppf(1 - gamma / 2, n, z) / n
    z_full = np.concatenate([[0.0], z, [1.0]])
    return UniformityBand(
        n=n,
        n_ranks=n_ranks,
        alpha=alpha,
        z=z_full,
        lower=np.concatenate([[0.0], lower, [1.0]]),
        upper=np.concatenate([[0.0], upper, [1.0]]),
        gamma=gamma,
        null_statistics=null,
    )


def rank_ecdf(ranks: np.ndarray, n_ranks: int) -> np.ndarray:
    """Return the ECDF of ranks at ``j / k``, ``j = 0..k`` (last axis; ``k`` = :func:`n_bins`)."""
    ranks, n_ranks = bin_ranks(ranks, n_ranks)
    inner = _ecdf_counts(ranks, n_ranks) / ranks.shape[-1]
    shape = inner.shape[:-1] + (1,)
    return np.concatenate([np.zeros(shape), inner, np.ones(shape)], axis=-1)


def holm(p: np.ndarray) -> np.ndarray:
    """Return Holm-adjusted p-values (step-down, monotone)."""
    p = np.asarray(p, dtype=float)
    order = np.argsort(p)
    m = p.size
    adjusted = np.empty(m)
    running = 0.0
    for k, i in enumerate(order):
        running = max(running, min(1.0, (m - k) * p[i]))
        adjusted[i] = running
    return adjusted


def uniformity_test(
    ranks: np.ndarray, n_ranks: int, alpha: float = ALPHA, band: UniformityBand | None = None
) -> xr.Dataset:
    """Test each parameter's ranks for uniformity and give a verdict.

    Parameters
    ----------
    ranks : numpy.ndarray
        Ranks ``(parameter, simulation)`` in ``0..n_ranks-1``.
    n_ranks : int
        ``L + 1``.
    alpha : float
        Test level.
    band : UniformityBand, optional
        Precomputed band for these ``n`` and ``n_ranks``.

    Returns
    -------
    xarray.Dataset
        Dim ``parameter`` (positional): ``p_value`` (fraction of simulated uniform
        samples whose statistic is at most the observed one), ``p_holm``,
        ``outside_band`` (the ECDF leaves the simultaneous band somewhere),
        ``max_abs_ecdf_diff`` and ``verdict`` (:data:`VERDICTS`).
    """
    ranks = np.atleast_2d(np.asarray(ranks, dtype=np.int64))
    if ranks.min() < 0 or ranks.max() >= n_ranks:
        raise ValueError(f"ranks must lie in 0..{n_ranks - 1}")
    n = ranks.shape[-1]
    band = band or uniformity_band(n, n_ranks, alpha)
    ecdf = rank_ecdf(ranks, n_ranks)
    ranks, n_ranks = bin_ranks(ranks, n_ranks)
    counts = _ecdf_counts(ranks, n_ranks)
    observed = _tail_statistic(counts, n, band.z[1:-1])
    p = (band.null_statistics[None, :] <= observed[:, None]).mean(axis=1)
    p_holm = holm(p)
    outside = ((ecdf < band.lower - 1e-12) | (ecdf > band.upper + 1e-12)).any(axis=-1)
    verdict = np.where(p >= alpha, VERDICTS[0], np.where(p_holm >= alpha, VERDICTS[1], VERDICTS[2]))
    return xr.Dataset(
        {
            "p_value": ("parameter", p),
            "p_holm": ("parameter", p_holm),
            "outside_band": ("parameter", outside),
            "max_abs_ecdf_diff": ("parameter", np.abs(ecdf - band.z).max(axis=-1)),
            "verdict": ("parameter", verdict.astype(str)),
        }
    )


# -- prior draws -------------------------------------------------------------------------


def _block_seed(seed: int, *path: int) -> int:
    return int(np.random.SeedSequence([int(seed), *path]).generate_state(1)[0])


def prior_block(
    model, block: int, seed: int, parameters: list[str], block_size: int = BLOCK
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
        draws=block_size, model=model.pymc_model, random_seed=_block_seed(seed, 0, block)
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
                    seed=_block_seed(seed, 1, i),
                    design=design,
                    settings=settings,
                    data={name: arr[k] for name, arr in data.items()},
                    truth=truth[k],
                )
            )
    return jobs


def summarise_sbc(combined: xr.Dataset, thin_to: int, alpha: float = ALPHA) -> xr.Dataset:
    """Return the per-parameter verdicts of combined SBC results.

    Adds ``n_simulations``, ``failed_fits`` and the mean ``ess_bulk`` per parameter.
    """
    ranks = combined["rank"].transpose("parameter", "simulation").values
    band = uniformity_band(ranks.shape[1], thin_to + 1, alpha)
    verdicts = uniformity_test(ranks, thin_to + 1, alpha, band)
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


def run_sbc(
    spec: ModelSpec | str | Path,
    simulations: int,
    *,
    study: Study | None = None,
    out_dir: str | Path = "posteriors/sbc",
    settings: SamplerSettings | None = None,
    seed: int = 2025,
    workers: int = 2,
    scheduler: str | None = None,
    client=None,
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

    from bayes_ketamine.calibration.cluster import dask_client, run_jobs, warm_workers
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
        with contextlib.ExitStack() as stack:
            active = client or stack.enter_context(dask_client(workers, scheduler))
            compile_seconds = [r["compile_seconds"] for r in warm_workers(active, warm, design)]
            start = time.perf_counter()
            run_jobs(
                active,
                run_fit,
                jobs,
                key_prefix=f"sbc-{design.key}-{seed}-{settings_key(settings)}",
                on_result=store.save,
                description=f"SBC {spec.name}",
                progress=progress,
            )
            wall = time.perf_counter() - start
    combined = store.combine(range(simulations))
    verdicts = summarise_sbc(combined, settings.thin_to)
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


def settings_key(settings: SamplerSettings) -> str:
    """Return a short stable hash of sampler settings (part of task keys)."""
    import hashlib

    text = json.dumps(asdict(settings), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


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
