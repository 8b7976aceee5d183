r"""PSIS-LOO repaired by moment matching where the Pareto k is too high.

PSIS-LOO (Vehtari, Gelman & Gabry 2017) estimates each observation's leave-one-out
predictive density by importance sampling from the full posterior; where the leave-one-
out posterior differs too much from it, the Pareto shape :math:`\hat k` of the
importance ratios exceeds the sample-size threshold (``good_k``, at most 0.7) and the
estimate is unreliable. Moment matching (Paananen, Piironen, Bürkner & Vehtari 2021,
*Statistics and Computing* 31(2)) transforms the posterior draws in the unconstrained
parameter space, by affine maps that match the importance-weighted mean and
covariance, until :math:`\hat k` falls below the threshold; it needs no refit, only

- the draws of the unconstrained parameters, ``upars`` (dims ``chain``, ``draw`` and
  one parameter dim): each free variable's value-space transform (log for positive
  SDs, the zero-sum transform for ``ZeroSumNormal``) applied to its posterior draws;
- ``log_prob_upars(upars)``: the model's log density with the Jacobian of those
  transforms, summed, per draw (dims ``chain``, ``draw``);
- ``log_lik_i_upars(upars, i)``: the log-likelihood of observation ``i`` (flat
  index over the observed variable) per draw.

:func:`moment_match_inputs` builds all three from a PyMC model with
:func:`arviz_stats.loo.loo_moment_match_helper.mm_from_pymc` (compiling three
pytensor functions of all draws at once); a caller holding compiled functions of the
same model may pass its own :class:`MomentMatchInputs` instead.
:func:`repaired_loo_table` applies :func:`arviz_stats.loo_moment_match` to the points
above the threshold and keeps its result only where the final :math:`\hat k` is below
it: each point's ``repair`` is ``psis`` (fine as it was), ``moment_matching`` (repaired)
or ``unrepaired`` (still above; its PSIS values are kept for an exact refit to replace).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import arviz_stats as azs
import numpy as np
import pandas as pd
import xarray as xr

from bayes_ketamine.inference.ppc import loo_table

REPAIRS: tuple[str, str, str] = ("psis", "moment_matching", "unrepaired")
"""Values of the ``repair`` variable: how each point's elpd was obtained."""


@dataclass(frozen=True)
class MomentMatchInputs:
    """What moment matching needs (see the module docstring).

    Parameters
    ----------
    log_prob_upars : callable
        ``log_prob_upars(upars) -> DataArray (chain, draw)``.
    log_lik_i_upars : callable
        ``log_lik_i_upars(upars, i) -> DataArray (chain, draw)``.
    upars : xarray.DataArray
        Unconstrained posterior draws, dims ``chain``, ``draw`` and one parameter dim.
    """

    log_prob_upars: Callable[[xr.DataArray], xr.DataArray]
    log_lik_i_upars: Callable[[xr.DataArray, int], xr.DataArray]
    upars: xr.DataArray


def moment_match_inputs(data: xr.DataTree, pm_model, var_name: str) -> MomentMatchInputs:
    """Return the moment-matching inputs of one observed variable of a PyMC model.

    Parameters
    ----------
    data : xarray.DataTree
        The fit (``posterior`` with every free variable, ``log_likelihood``).
    pm_model : pymc.Model
        The model that was fitted.
    var_name : str
        Observed variable whose leave-one-out densities are repaired.

    Returns
    -------
    MomentMatchInputs
    """
    from arviz_stats.loo.loo_moment_match_helper import mm_from_pymc

    return MomentMatchInputs(*mm_from_pymc(data, model=pm_model, var_name=var_name))


def repaired_loo_table(
    data: xr.DataTree,
    var_name: str,
    labels: pd.DataFrame | None = None,
    result: azs.ELPDData | None = None,
    *,
    inputs: MomentMatchInputs | Callable[[], MomentMatchInputs] | None = None,
) -> xr.Dataset:
    r"""Return PSIS-LOO of one observed variable with high-k points moment-matched.

    Parameters
    ----------
    data : xarray.DataTree
        Fit with ``posterior`` and ``log_likelihood`` groups.
    var_name : str
        Observed variable.
    labels : pandas.DataFrame, optional
        Observation labels (as :func:`~bayes_ketamine.inference.ppc.loo_table`).
    result : arviz_stats.ELPDData, optional
        ``arviz_stats.loo(data, pointwise=True, var_name=var_name)`` if computed.
    inputs : MomentMatchInputs or callable, optional
        The moment-matching inputs, or a function returning them, called only when
        some point is above the threshold (building them compiles functions). Without
        inputs, high-k points are marked ``unrepaired``.

    Returns
    -------
    xarray.Dataset
        :func:`~bayes_ketamine.inference.ppc.loo_table`'s table with ``elpd_i`` and
        ``pareto_k`` the final values, plus ``elpd_i_psis`` and ``pareto_k_psis``
        (plain PSIS) and ``repair`` (:data:`REPAIRS`) per point; attributes ``elpd``,
        ``se`` (:math:`\sqrt{n\,\mathrm{var}(\mathrm{elpd}_i)}`, as arviz-stats) and
        ``p_loo`` from the final values, ``elpd_psis``, ``n_moment_matched``,
        ``n_unrepaired``, ``warning`` (1 if any point is unrepaired) and ``method``.
    """
    if result is None:
        result = azs.loo(data, pointwise=True, var_name=var_name)
    table = loo_table(data, var_name, labels, result)
    threshold = float(result.good_k)
    k_psis = table["pareto_k"].values
    elpd_psis = table["elpd_i"].values
    high = k_psis > threshold
    k_final, elpd_final = k_psis.copy(), elpd_psis.copy()
    repaired = np.zeros_like(high)
    if high.any() and inputs is not None:
        mm_inputs = inputs() if callable(inputs) else inputs
        with warnings.catch_warnings():
            # Points it cannot repair are reported in the table, not as warnings.
            warnings.simplefilter("ignore", UserWarning)
            matched = azs.loo_moment_match(
                data,
                result,
                mm_inputs.log_prob_upars,
                mm_inputs.log_lik_i_upars,
                mm_inputs.upars,
                var_name=var_name,
                k_threshold=threshold,
                pointwise=True,
            )
        k_mm = np.asarray(matched.pareto_k.values, dtype=float).ravel()
        repaired = high & (k_mm <= threshold)
        k_final[repaired] = k_mm[repaired]
        elpd_final[repaired] = np.asarray(matched.elpd_i.values, dtype=float).ravel()[repaired]
    repair = np.where(repaired, "moment_matching", np.where(high, "unrepaired", "psis"))
    obs_dim = table["elpd_i"].dims
    table = table.rename({"elpd_i": "elpd_i_psis", "pareto_k": "pareto_k_psis"})
    table["elpd_i"] = (obs_dim, elpd_final)
    table["pareto_k"] = (obs_dim, k_final)
    table["repair"] = (obs_dim, repair.astype(str))
    n = elpd_final.size
    elpd = float(elpd_final.sum())
    lpd = float(result.elpd) + float(result.p)
    table.attrs.update(
        elpd=elpd,
        se=float(np.sqrt(n * np.var(elpd_final, ddof=1))),
        p_loo=lpd - elpd,
        elpd_psis=float(result.elpd),
        n_moment_matched=int(repaired.sum()),
        n_unrepaired=int((high & ~repaired).sum()),
        warning=int(bool((high & ~repaired).any())),
        method="PSIS-LOO, moment matching where k > good_k (Paananen et al. 2021)",
    )
    return table
