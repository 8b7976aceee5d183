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
   point ``unrepaired``.

**What the repairs may cost.** With more than :data:`MAX_REPAIRS` points above the
threshold, none is repaired. Exact refits have a budget, a deterministic rule (no
clock: the same seed and cache state give the same artifact): their draws, refits x
chains x (tune + draws) with the fit's own sampler settings, stay within
:data:`REFIT_BUDGET` times the fit's own, i.e. at most :data:`REFIT_BUDGET` refits per
model, shared equally by its observed variables (:func:`refit_allowance`; the joint
model: 5 each). A variable whose points left after moment matching exceed its share
is refitted not at all (all stay ``unrepaired``): one unrepaired point already keeps
the comparison from ranking the model on that variable, so refitting the others would
buy nothing. Why this budget: 10 fits is the cost of 10-fold cross-validation by
participant (``bayes-ketamine cv --folds 10``), which answers for every observation at
once; once more points need refits than that, K-fold is the cheaper and better tool
(Vehtari, Gelman & Gabry 2017; brms and rstanarm likewise refit up to 10 problematic
observations, ``reloo``, and recommend 10-fold CV beyond). The checks then cost at most about
ten times the fit's sampling at any study size. In a hierarchical model with
participant-level terms informed by a few observations each, the share of high-k
points does not fall with the number of participants, so their number grows with it:
large pooled studies exceed the budget (or :data:`MAX_REPAIRS`) and are compared with
``bayes-ketamine cv`` instead. The table's ``unrepaired_reason`` says which limit
applied, and the comparison repeats it.

The stored ``loo`` table of each observed variable holds per point the original
``pareto_k``, ``repair`` (``""`` for a reliable point, ``"moment_match"``,
``"refit"`` or ``"unrepaired"``), ``pareto_k_repaired`` and ``n_eff_repaired``
(after moment matching: Pareto k and effective sample size of the importance
weights; NaN elsewhere), the PSIS estimate ``elpd_i_psis`` and the final ``elpd_i``; its
attributes ``elpd``, ``se`` and ``p_loo`` are those of the final values, and
``unrepaired_reason`` is ``""`` or why points were left unrepaired.
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
from bayes_ketamine.inference.loo_columns import CV_ADVICE
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
is (all stay ``unrepaired`` and the comparison says the model cannot be ranked): that
many unreliable points signal a misfit, or a model whose participant-level terms each
rest on a few observations (expected in large pooled studies), and either way
leave-one-participant-out CV is the tool, not point repairs."""

REFIT_BUDGET = 10
"""Most exact refits per model, shared equally by its observed variables (module
docstring): their draws stay within this many times the fit's own, the cost of a
10-fold cross-validation by participant."""


def refit_allowance(n_observed: int) -> int:
    """Return the exact refits allowed per observed variable of a model.

    Parameters
    ----------
    n_observed : int
        The model's number of observed variables.

    Returns
    -------
    int
        ``REFIT_BUDGET // n_observed``.

    Examples
    --------
    >>> refit_allowance(1), refit_allowance(2)
    (10, 5)
    """
    return REFIT_BUDGET // n_observed


Refit = Callable[[Any], xr.Dataset]
"""Fits a built model (a study without one observation) and returns its posterior."""


def matches_covariance(upars: xr.DataArray) -> bool:
    """Whether moment matching can match covariances: at least 10 draws per parameter.

    :func:`arviz_stats.loo_moment_match` matches the covariance of the draws only with
    at least ten draws per unconstrained parameter; with fewer it still carries a
    parameters x parameters identity mapping through every high-k point (a dense
    product with all draws and an inverse: O(S d^2 + d^3) per point, minutes at
    10 000 parameters), which leaves every result unchanged. Passing ``cov=False``
    then skips that work and nothing else.

    Parameters
    ----------
    upars : xarray.DataArray
        Unconstrained draws, dims ``chain``, ``draw`` and one parameter dim.

    Returns
    -------
    bool

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> draws = lambda d: xr.DataArray(np.zeros((4, 1000, d)), dims=("chain", "draw", "p"))
    >>> matches_covariance(draws(400)), matches_covariance(draws(401))
    (True, False)
    """
    n_samples = upars.sizes["chain"] * upars.sizes["draw"]
    (param_dim,) = (d for d in upars.dims if d not in SAMPLE_DIMS)
    return n_samples >= 10 * upars.sizes[param_dim]


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
        ``n_refit`` and ``n_unrepaired``, and give ``unrepaired_reason``.
    """
    table = loo_table(tree, var, labels, result)
    k = table["pareto_k"].values
    good_k = float(result.good_k)
    bad = np.flatnonzero(k > good_k)
    repair = np.full(k.shape, "", dtype=object)
    elpd_i = table["elpd_i"].values.astype(float).copy()
    k_after = np.full(k.shape, np.nan)
    n_eff = np.full(k.shape, np.nan)
    reason = ""
    if bad.size > MAX_REPAIRS:
        repair[bad] = "unrepaired"
        reason = (
            f"more than {MAX_REPAIRS} points above the threshold: the model misfits them, "
            "or its participant-level terms rest on few observations each (expected in "
            f"large studies); none is repaired: {CV_ADVICE}"
        )
        warnings.warn(
            f"{var}: {bad.size} points have Pareto k > {good_k:.2f}; {reason}", stacklevel=2
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
                    cov=matches_covariance(upars),
                )
            new_k = matched.pareto_k.values.ravel()
            k_after[bad] = new_k[bad]
            fixed = bad[new_k[bad] <= good_k]
            elpd_i[fixed] = matched.elpd_i.values.ravel()[fixed]
            n_eff[fixed] = np.asarray(matched.n_eff_i).ravel()[fixed]
            repair[fixed] = "moment_match"
        except Exception as err:  # noqa: BLE001 - any failure leaves the refits to repair
            warnings.warn(f"{var}: moment matching failed ({err})", stacklevel=2)
        left = np.flatnonzero(repair == "unrepaired")
        allowance = refit_allowance(len(model.observed_vars))
        if left.size > allowance:
            reason = (
                f"not refitted: {left.size} points need exact refits, more than the "
                f"{allowance} allowed per observed variable (refits cost at most "
                f"{REFIT_BUDGET} fits per model, those of a {REFIT_BUDGET}-fold CV): {CV_ADVICE}"
            )
            warnings.warn(f"{var}: {reason}", stacklevel=2)
            left = left[:0]
        density = _log_density(model) if left.size else None
        for i in left:
            try:
                elpd_i[i] = exact_loo_point(model, var, int(i), refit, density)
                repair[i] = "refit"
            except Exception as err:  # noqa: BLE001 - the point stays unrepaired, and says so
                reason = f"the exact refit failed ({err})"
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
        unrepaired_reason=reason,
    )
    return table
