r"""PSIS-LOO with its unreliable points repaired: moment matching, then exact refits.

PSIS-LOO estimates :math:`\mathrm{elpd}_i = \log p(y_i \mid y_{-i})` by importance
sampling the full posterior with ratios :math:`1 / p(y_i \mid \theta)`. The estimate
of a point is unreliable when the Pareto shape :math:`\hat k_i` of its ratios exceeds
the sample-size threshold :math:`\min(1 - 1/\log_{10} S, 0.7)` (Vehtari et al. 2024).
Those points are repaired in two steps:

1. **Moment matching** (Paananen et al. 2021; :func:`arviz_stats.loo_moment_match`
   with the functions of :mod:`bayes_ketamine.inference.moment_match`, compiled once
   per model structure):
   the draws are moved in the unconstrained space by affine maps matching the mean
   and covariance of the importance-weighted draws, and the ratios recomputed; a
   point is repaired when its new :math:`\hat k` is below the threshold.
2. **Exact refit** of the points still above it: the model is fitted to the study
   without observation :math:`i` (one compiled model per structure, so a refit costs
   its sampling only) and
   :math:`\widehat{\mathrm{elpd}}_i = \log \frac1S \sum_s p(y_i \mid \theta^{(s)}_{-i})`
   with :math:`\theta^{(s)}_{-i}` the refit's draws. A refit that fails leaves the
   point ``unrepaired``, and so do all of them when more than :data:`MAX_REFITS`
   are left. With more than :data:`MAX_REPAIRS` points above the threshold, none is
   repaired.

The stored ``loo`` table of each observed variable holds per point the original
``pareto_k``, ``repair`` (``""`` for a reliable point, ``"moment_match"``,
``"refit"`` or ``"unrepaired"``), ``pareto_k_repaired`` and ``n_eff_repaired``
(after moment matching: Pareto k and effective sample size of the importance
weights; NaN elsewhere), the PSIS estimate ``elpd_i_psis`` and the final ``elpd_i``; its
attributes ``elpd``, ``se`` and ``p_loo`` are those of the final values.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import arviz_stats as azs
import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import logsumexp

from bayes_ketamine.inference.arrays import SAMPLE_DIMS
from bayes_ketamine.inference.batched import LogDensity
from bayes_ketamine.inference.moment_match import moment_match_inputs
from bayes_ketamine.inference.ppc import loo_table
from bayes_ketamine.inference.provenance import package_versions

ROW_TABLES: dict[str, tuple[str, str]] = {
    "score": ("symptoms", "timepoint"),
    "log_glx": ("fmrs", "block"),
}
"""Per observed variable: the study table of its observations and the column that,
with ``participant_id`` and ``session``, identifies one."""

MAX_REPAIRS = 20
"""Most points above the k threshold repaired per observed variable; with more, none
is (all stay ``unrepaired`` and the comparison says the model cannot be ranked):
that many unreliable points signal a misfit (or draws that are not a posterior) that
repairs would hide, at the cost of moment matching or refitting each of them."""

MAX_REFITS = 10
"""Most exact refits per observed variable; with more points left after moment
matching, none is refitted and all stay ``unrepaired`` (the comparison then says the
model cannot be ranked): so many unreliable points signal a model problem that
refitting would only hide, at the cost of as many fits."""

Refit = Callable[[Any], xr.Dataset]
"""Fits a built model (a study without one observation) and returns its posterior."""


def study_without(model: Any, var: str, i: int) -> Any:
    """Return the model's study without observation ``i`` of observed variable ``var``."""
    table_name, column = ROW_TABLES[var]
    label = model.observation_labels()[var].iloc[i]
    table = getattr(model.study, table_name)
    match = (
        (table["participant_id"] == label["participant_id"])
        & (table["session"] == label["session"])
        & (table[column] == label[column])
    )
    if int(match.sum()) != 1:
        raise ValueError(f"{var} observation {i} matches {int(match.sum())} study rows")
    rest = table.loc[~match].reset_index(drop=True)
    return replace(model.study, name=f"{model.study.name} without {var}[{i}]", **{table_name: rest})


def _log_density(model: Any) -> LogDensity:
    """Return the compiled log density of the full model (the fit's compile-cache entry)."""
    from bayes_ketamine.inference import batched, compile_cache
    from bayes_ketamine.inference.structure import model_structure_key

    key = model_structure_key(model.pymc_model, package_versions())
    return LogDensity(
        model.pymc_model, compile_cache.cache_key("log_density", key, batched)
    ).compile()


def exact_loo_point(
    model: Any, var: str, i: int, refit: Refit, density: LogDensity | None = None
) -> float:
    r"""Return :math:`\log p(y_i \mid y_{-i})` by refitting without observation ``i``.

    Parameters
    ----------
    model : CrossoverModel
        The model fitted to the full study.
    var : str
        Observed variable.
    i : int
        Observation index along the variable's observation dimension.
    refit : callable
        Fits a built model and returns its posterior dataset.
    density : LogDensity, optional
        The compiled log density of ``model`` (loaded when omitted).

    Returns
    -------
    float
        The log of the mean over the refit's draws of the point's likelihood.
    """
    from bayes_ketamine.models import build_model

    reduced = build_model(model.spec, study_without(model, var, i))
    posterior = refit(reduced)
    loglik, _ = (density or _log_density(model))(posterior)
    obs_dim = loglik[var].dims[-1]
    values = loglik[var].isel({obs_dim: i}).stack(sample=SAMPLE_DIMS).values
    return float(logsumexp(values) - np.log(values.size))


def repaired_loo_table(
    tree: xr.DataTree,
    model: Any,
    var: str,
    result: azs.ELPDData,
    refit: Refit,
    labels: pd.DataFrame | None = None,
) -> xr.Dataset:
    """Return the LOO table of ``var`` with its high-k points repaired (module docstring).

    Parameters
    ----------
    tree : xarray.DataTree
        The fit: ``posterior`` and ``log_likelihood`` groups.
    model : CrossoverModel
        The fitted model.
    var : str
        Observed variable.
    result : arviz_stats.ELPDData
        ``arviz_stats.loo(tree, pointwise=True, var_name=var)``.
    refit : callable
        Fits a built model and returns its posterior (for exact refits).
    labels : pandas.DataFrame, optional
        Observation labels attached as coordinates.

    Returns
    -------
    xarray.Dataset
        See the module docstring; attributes also count ``n_moment_match``,
        ``n_refit`` and ``n_unrepaired``.
    """
    table = loo_table(tree, var, labels, result)
    k = table["pareto_k"].values
    good_k = float(result.good_k)
    bad = np.flatnonzero(k > good_k)
    repair = np.full(k.shape, "", dtype=object)
    elpd_i = table["elpd_i"].values.astype(float).copy()
    k_after = np.full(k.shape, np.nan)
    n_eff = np.full(k.shape, np.nan)
    if bad.size > MAX_REPAIRS:
        repair[bad] = "unrepaired"
        warnings.warn(
            f"{var}: {bad.size} points have Pareto k > {good_k:.2f}, more than {MAX_REPAIRS}; "
            "none is repaired (the model likely misfits them)",
            stacklevel=2,
        )
    elif bad.size:
        repair[bad] = "unrepaired"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                log_prob, log_lik_i, upars = moment_match_inputs(
                    tree["posterior"].to_dataset(), model.pymc_model, var, package_versions()
                )
                matched = azs.loo_moment_match(
                    tree,
                    result,
                    log_prob_upars_fn=log_prob,
                    log_lik_i_upars_fn=log_lik_i,
                    upars=upars,
                    var_name=var,
                    pointwise=True,
                )
            new_k = matched.pareto_k.values.ravel()
            k_after[bad] = new_k[bad]
            fixed = bad[new_k[bad] <= good_k]
            elpd_i[fixed] = matched.elpd_i.values.ravel()[fixed]
            n_eff[fixed] = np.asarray(matched.n_eff_i).ravel()[fixed]
            repair[fixed] = "moment_match"
        except Exception as err:  # noqa: BLE001 - any failure leaves the refits to repair
            warnings.warn(f"{var}: moment matching failed ({err}); refitting", stacklevel=2)
        left = np.flatnonzero(repair == "unrepaired")
        if left.size > MAX_REFITS:
            warnings.warn(
                f"{var}: {left.size} points need exact refits, more than {MAX_REFITS}; "
                "they stay unrepaired (the model is likely misspecified for them)",
                stacklevel=2,
            )
            left = left[:0]
        density = _log_density(model) if left.size else None
        for i in left:
            try:
                elpd_i[i] = exact_loo_point(model, var, int(i), refit, density)
                repair[i] = "refit"
            except Exception as err:  # noqa: BLE001 - the point stays unrepaired, and says so
                warnings.warn(f"{var}: exact refit without point {i} failed ({err})", stacklevel=2)
    loglik = tree["log_likelihood"][var]
    n_samples = loglik.sizes["chain"] * loglik.sizes["draw"]
    lpd = logsumexp(loglik.to_numpy().reshape(n_samples, -1), axis=0) - np.log(n_samples)
    obs_dim = table["elpd_i"].dims
    table = table.rename({"elpd_i": "elpd_i_psis"}).assign(
        elpd_i=(obs_dim, elpd_i),
        repair=(obs_dim, repair.astype(str)),
        pareto_k_repaired=(obs_dim, k_after),
        n_eff_repaired=(obs_dim, n_eff),
    )
    elpd = float(elpd_i.sum())
    n_unrepaired = int((repair == "unrepaired").sum())
    table.attrs.update(
        elpd=elpd,
        se=float(np.sqrt(elpd_i.size * np.var(elpd_i, ddof=1))),
        p_loo=float(lpd.sum() - elpd),
        n_moment_match=int((repair == "moment_match").sum()),
        n_refit=int((repair == "refit").sum()),
        n_unrepaired=n_unrepaired,
        warning=int(n_unrepaired > 0),
    )
    return table
