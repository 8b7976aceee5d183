"""What runs on a Dask worker: a per-process cache of compiled models and one fit.

A compiled nutpie model cannot be pickled, so it is never sent over the wire. Each
worker process compiles a model the first time a task needs it and keeps it in the
module-level :data:`_CACHE`, keyed by :attr:`ModelDesign.key` (spec hash + study
design hash). Every further simulation of that design swaps its data in with
``compiled.with_data(...)`` (well under a millisecond) instead of recompiling (10-20 s).
Shapes are fixed by the design, so a different number of participants is a different
design and a different compile.

A task is a picklable :class:`FitJob` (design, data arrays, true values, settings); its
result is a plain dict of numpy arrays and scalars (:func:`run_fit`), returned to the
client, which alone writes results to disk (:mod:`bayes_ketamine.calibration.store`).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from bayes_ketamine.data.study import Study
from bayes_ketamine.inference.diagnostics import THRESHOLDS
from bayes_ketamine.inference.settings import SamplerSettings
from bayes_ketamine.models.spec import ModelSpec

if TYPE_CHECKING:
    import pymc as pm

CALIBRATION_THRESHOLDS: dict[str, float] = {**THRESHOLDS, "ess_fail": 50.0}
"""The analysis thresholds (:data:`bayes_ketamine.inference.diagnostics.THRESHOLDS`)
with a lower ESS: a calibration fit *fails* if more than 1 % of its draws diverged,
any parameter has R-hat > 1.05, bulk or tail ESS < 50, or a chain has E-BFMI < 0.2.
The analysis verdict (ESS 100; ``status``) is stored too, but it is meant for
4 x 1000-draw fits, not for the short 2-chain fits of calibration."""

UNRANKED_DIMS: frozenset[str] = frozenset({"participant", "session", "fmrs_obs", "symptom_obs"})
"""Participant-, session- and observation-level dims: a parameter with one of them is
not ranked. Every other parameter is population-level (scalars and effects per level of
the pooling factor, per timepoint, per active condition, per later period, per
covariate) and is ranked."""


@dataclass(frozen=True)
class ModelDesign:
    """A spec and a study design: everything needed to build (and compile) a model.

    Parameters
    ----------
    spec : ModelSpec
        The model spec.
    study : Study
        The study whose design (participants, sessions, rows) fixes the shapes; its
        outcome values are replaced by each simulation.
    """

    spec: ModelSpec
    study: Study
    key: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "key", f"{self.spec.content_hash()[:16]}-{self.study.content_hash()[:16]}"
        )


@dataclass
class _Entry:
    model: Any
    compiled: Any
    parameters: list[str]
    compile_seconds: float


_CACHE: dict[str, _Entry] = {}
"""Per-process cache of compiled models, keyed by :attr:`ModelDesign.key`."""


def ranked_variables(pymc_model: pm.Model) -> list[str]:
    """Return the population-level variables of a model that SBC ranks.

    Free random variables and deterministics with none of the
    :data:`UNRANKED_DIMS` (scalars; effects per level of the pooling factor, per
    timepoint, per active condition, per later period or per covariate); participant-
    and session-level variables are left out. ``*_by_time`` deterministics are left out
    because their primary-timepoint slice is ranked under its own name.

    Parameters
    ----------
    pymc_model : pymc.Model

    Returns
    -------
    list of str
    """
    dims = pymc_model.named_vars_to_dims
    names = [v.name for v in pymc_model.free_RVs] + [
        v.name for v in pymc_model.deterministics if not v.name.endswith("_by_time")
    ]
    return [n for n in names if not set(dims.get(n, ())) & UNRANKED_DIMS]


def flatten_draws(ds: xr.Dataset, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """Return draws of ``names`` as one array ``(chain, draw, parameter)`` plus labels.

    Labels are those of the arviz-base labeller: ``name`` for scalars and
    ``name[c1, c2]`` for coordinates, e.g. ``glx_condition_effect[M]``.

    Parameters
    ----------
    ds : xarray.Dataset
        Group with dims ``chain`` and ``draw`` (posterior or prior).
    names : list of str
        Variables to flatten.

    Returns
    -------
    values : numpy.ndarray
    labels : list of str
    """
    from arviz_base.labels import BaseLabeller
    from arviz_base.sel_utils import xarray_sel_iter

    labeller = BaseLabeller()
    blocks, labels = [], []
    for name in names:
        da = ds[name]
        other = [d for d in da.dims if d not in ("chain", "draw")]
        da = da.transpose("chain", "draw", *other)
        arr = np.asarray(da.values, dtype=float)
        blocks.append(arr.reshape(arr.shape[0], arr.shape[1], -1))
        labels += [
            labeller.make_label_flat(var, sel, isel)
            for var, sel, isel in xarray_sel_iter(da.to_dataset(), skip_dims={"chain", "draw"})
        ]
    return np.concatenate(blocks, axis=-1), labels


def thin_indices(n_total: int, n_keep: int) -> np.ndarray:
    """Return ``n_keep`` evenly spaced indices into ``n_total`` stacked draws."""
    return np.unique(np.linspace(0, n_total - 1, n_keep).round().astype(int))


def sbc_rank(draws: np.ndarray, truth: np.ndarray, thin_to: int) -> np.ndarray:
    """Return the SBC rank of each true value among thinned posterior draws.

    Parameters
    ----------
    draws : numpy.ndarray
        Posterior draws ``(chain, draw, parameter)``; chains are stacked before thinning.
    truth : numpy.ndarray
        True values ``(parameter,)``.
    thin_to : int
        Number ``L`` of thinned draws; the rank is the count of thinned draws below the
        truth, in ``0..L``.

    Returns
    -------
    numpy.ndarray
        Integer ranks ``(parameter,)``.
    """
    stacked = draws.reshape(-1, draws.shape[-1])
    idx = thin_indices(stacked.shape[0], thin_to)
    if idx.size != thin_to:
        raise ValueError(f"cannot thin {stacked.shape[0]} draws to {thin_to} distinct draws")
    return (stacked[idx] < truth[None, :]).sum(axis=0).astype(np.int64)


def compiled_for(design: ModelDesign) -> tuple[_Entry, float]:
    """Return this process's compiled model of ``design``, compiling it on first use.

    Parameters
    ----------
    design : ModelDesign

    Returns
    -------
    entry : _Entry
        Model, compiled nutpie model, ranked variables and the compile time.
    compile_seconds : float
        Seconds spent compiling in this call (0 when cached).
    """
    entry = _CACHE.get(design.key)
    if entry is not None:
        return entry, 0.0
    import nutpie

    from bayes_ketamine.models import build_model

    start = time.perf_counter()
    model = build_model(design.spec, design.study)
    compiled = nutpie.compile_pymc_model(model.pymc_model, backend="numba")
    seconds = time.perf_counter() - start
    entry = _Entry(model, compiled, ranked_variables(model.pymc_model), seconds)
    _CACHE[design.key] = entry
    return entry, seconds


def warm(design: ModelDesign) -> dict[str, Any]:
    """Compile ``design`` in this worker process (a no-op when cached).

    Returns
    -------
    dict
        ``pid``, ``host`` and ``compile_seconds`` (0 when it was cached).
    """
    _, seconds = compiled_for(design)
    return {"pid": os.getpid(), "host": socket.gethostname(), "compile_seconds": seconds}


def cache_keys() -> list[str]:
    """Return the design keys compiled in this process (for tests and benchmarks)."""
    return sorted(_CACHE)


@dataclass(frozen=True)
class FitJob:
    """One simulation to fit on a worker.

    Parameters
    ----------
    kind : {"sbc", "power"}
        What the task computes.
    index : int
        Simulation index within the run (the result's identity).
    seed : int
        Sampler seed of this simulation.
    design : ModelDesign
        Model and study design; compiled once per worker.
    settings : SamplerSettings
        Sampler settings.
    data : dict, optional
        Observed data (names of the ``pm.Data`` containers, e.g. ``score_observed``)
        already simulated by the client (SBC).
    truth : numpy.ndarray, optional
        True values of the ranked parameters, in the order of the ranked variables
        flattened by :func:`flatten_draws` (SBC).
    make_data : callable, optional
        Called on the worker with the job; returns ``(data, extra)`` (power: simulate a
        follow-up trial). ``extra`` is merged into the result.
    summarise : callable, optional
        Called with ``(posterior dataset, job)``; returns a dict merged into the result
        (power: the decision criteria).
    """

    kind: str
    index: int
    seed: int
    design: ModelDesign
    settings: SamplerSettings
    data: dict[str, np.ndarray] | None = None
    truth: np.ndarray | None = None
    make_data: Callable[[FitJob], tuple[dict[str, np.ndarray], dict[str, Any]]] | None = None
    summarise: Callable[[xr.Dataset, FitJob], dict[str, Any]] | None = None
    payload: dict[str, Any] = field(default_factory=dict)


def fit_diagnostics(trace: xr.DataTree, max_treedepth: int) -> dict[str, Any]:
    """Return the workbench's diagnostic verdict of one calibration fit.

    Uses :func:`bayes_ketamine.inference.diagnostics.run_diagnostics` on every
    parameter (participant-level ones included): ``status`` is the workbench verdict
    with the analysis thresholds, ``fit_failed`` the same verdict with
    :data:`CALIBRATION_THRESHOLDS`.
    """
    from bayes_ketamine.inference.diagnostics import judge, run_diagnostics

    params, sampler = run_diagnostics(trace, max_treedepth)
    calibration = judge(params, sampler, thresholds=CALIBRATION_THRESHOLDS)
    max_rhat = float(np.nanmax(params["r_hat"].values))
    min_ess = float(np.nanmin(params["ess_bulk"].values))
    min_bfmi = float(sampler["ebfmi"].min())
    return {
        "fit_failed": calibration.status == "fail",
        "fail_reasons": "; ".join(calibration.failures),
        "status": str(params.attrs["verdict"]),
        "reasons": str(params.attrs["verdict_reasons"]),
        "divergences": int(sampler["divergences"].sum()),
        "treedepth_saturated": int(sampler["treedepth_saturated"].sum()),
        "max_rhat": max_rhat,
        "min_ess_bulk": min_ess,
        "min_ebfmi": min_bfmi,
    }


def run_fit(job: FitJob) -> dict[str, Any]:
    """Fit one simulated data set with the worker's cached compiled model.

    Parameters
    ----------
    job : FitJob

    Returns
    -------
    dict
        ``index``, ``seed``, ``fit_seconds``, ``compile_seconds`` (non-zero only when
        this task compiled), ``pid``, diagnostics (:func:`fit_diagnostics`); for SBC
        ``rank``, ``truth``, ``posterior_mean``, ``posterior_sd``, ``ess_bulk`` and
        ``r_hat`` per ranked parameter; for power whatever ``job.summarise`` returns.
    """
    import nutpie
    from arviz_stats.base import array_stats

    entry, compile_seconds = compiled_for(job.design)
    extra: dict[str, Any] = {}
    if job.make_data is not None:
        data, extra = job.make_data(job)
    elif job.data is not None:
        data = job.data
    else:
        raise ValueError(f"fit job {job.index} has neither data nor make_data")
    compiled = entry.compiled.with_data(**data)
    s = job.settings
    start = time.perf_counter()
    trace = nutpie.sample(
        compiled,
        draws=s.draws,
        tune=s.tune,
        chains=s.chains,
        cores=1,
        seed=int(job.seed),
        progress_bar=False,
        save_warmup=False,
        target_accept=s.target_accept,
        maxdepth=s.max_treedepth,
    )
    fit_seconds = time.perf_counter() - start
    result: dict[str, Any] = {
        "index": int(job.index),
        "seed": int(job.seed),
        "fit_seconds": fit_seconds,
        "compile_seconds": compile_seconds,
        "pid": os.getpid(),
        **fit_diagnostics(trace, s.max_treedepth),
        **extra,
    }
    posterior = trace["posterior"].to_dataset()
    if job.kind == "sbc":
        draws, labels = flatten_draws(posterior, entry.parameters)
        moved = np.moveaxis(draws, -1, 0)  # (parameter, chain, draw)
        result.update(
            parameter=labels,
            rank=sbc_rank(draws, np.asarray(job.truth, dtype=float), s.thin_to),
            truth=np.asarray(job.truth, dtype=float),
            posterior_mean=draws.mean(axis=(0, 1)),
            posterior_sd=draws.std(axis=(0, 1), ddof=1),
            ess_bulk=np.asarray(array_stats.ess(moved), dtype=float),
            r_hat=np.asarray(array_stats.rhat(moved), dtype=float),
        )
    if job.summarise is not None:
        result.update(job.summarise(posterior, job))
    return result
