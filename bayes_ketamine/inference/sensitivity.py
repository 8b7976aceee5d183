"""Power-scaling prior and likelihood sensitivity of the model's key effects.

Uses :func:`arviz_stats.psense` (Kallioinen et al. 2024): the posterior is reweighted by
importance sampling as if the prior (or the likelihood) were raised to a power close
to 1, and the cumulative Jensen-Shannon distance of each quantity's marginal is the
sensitivity. With several likelihoods (e.g. ``log_glx`` and ``score`` in the joint
model) ``psense`` sums their log-likelihoods, so the ``psense_likelihood`` column
scales the joint likelihood; one extra column per observed variable
(``psense_likelihood_<name>``) scales that likelihood alone.

The summed log prior and log-likelihoods are computed once and the importance weights
from them (:func:`_psense`), which gives ``psense``'s values without stacking the
log-density groups on each of its calls.

Diagnosis per quantity, with :data:`THRESHOLD` = 0.05 as in ``psense_summary``:

``prior-data conflict``
    prior and likelihood sensitivity both >= threshold;
``strong prior / weak likelihood``
    prior sensitivity > threshold > likelihood sensitivity;
``ok``
    otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

import arviz_stats  # noqa: F401 - registers the .azstats accessors
import numpy as np
import xarray as xr
from arviz_base import dataset_to_dataframe

from bayes_ketamine.inference.arrays import SAMPLE_DIMS

THRESHOLD: float = 0.05
"""Sensitivity above which a component is called influential."""

ALPHAS: tuple[float, float] = (0.99, 1.01)
"""Lower and upper power-scaling exponents (``psense``'s defaults)."""


def diagnose(prior: np.ndarray, likelihood: np.ndarray, threshold: float = THRESHOLD) -> np.ndarray:
    """Return the diagnosis label of each quantity (see the module docstring).

    Parameters
    ----------
    prior, likelihood : numpy.ndarray
        Prior and (joint) likelihood sensitivities.
    threshold : float
        Sensitivity threshold.

    Returns
    -------
    numpy.ndarray of str

    Examples
    --------
    >>> diagnose(np.array([0.1, 0.1, 0.0]), np.array([0.1, 0.0, 0.1])).tolist()
    ['prior-data conflict', 'strong prior / weak likelihood', 'ok']
    """
    conflict = (prior >= threshold) & (likelihood >= threshold)
    strong = (prior > threshold) & (likelihood < threshold)
    return np.where(
        conflict, "prior-data conflict", np.where(strong, "strong prior / weak likelihood", "ok")
    )


def _summed(group: xr.Dataset) -> xr.DataArray:
    """Return the sum of a log-density group over everything but ``chain`` and ``draw``."""
    return sum(
        (da.sum([d for d in da.dims if d not in SAMPLE_DIMS]) for da in group.data_vars.values()),
        start=xr.DataArray(0.0),
    )


def _psense(posterior: xr.Dataset, log_density: xr.DataArray) -> xr.Dataset:
    """Return what :func:`arviz_stats.psense` returns when ``log_density`` is scaled.

    ``log_density`` (dims ``chain``, ``draw``) is the summed log prior or
    log-likelihood that ``psense`` would gather from the tree; summing it once here
    (instead of ``psense`` stacking every variable on each call) and reusing the
    per-variable log-likelihood sums is the only difference.
    """
    lower, upper = ALPHAS
    weights = []
    for alpha in ALPHAS:
        w = np.exp(log_density.azstats.power_scale_lw(alpha=alpha, dim=list(SAMPLE_DIMS)))
        weights.append(w / w.sum(SAMPLE_DIMS))
    return posterior.azstats.power_scale_sense(
        lower_w=weights[0],
        upper_w=weights[1],
        lower_alpha=lower,
        upper_alpha=upper,
        sample_dims=list(SAMPLE_DIMS),
    )


def prior_sensitivity(
    data: xr.DataTree, var_names: Sequence[str], observed_vars: Sequence[str]
) -> xr.Dataset:
    """Return the power-scaling sensitivity table of the given posterior quantities.

    Parameters
    ----------
    data : xarray.DataTree
        Fit with ``posterior``, ``log_prior`` and ``log_likelihood`` groups.
    var_names : sequence of str
        Posterior variables to check (the model's key effects).
    observed_vars : sequence of str
        Observed variables; with more than one, each also gets its own column.

    Returns
    -------
    xarray.Dataset
        Dim ``parameter`` (scalar labels such as ``glx_condition_effect[F]``) with
        variables ``psense_prior``, ``psense_likelihood``,
        ``psense_likelihood_<observed var>`` (only with several observed variables)
        and ``diagnosis``; attribute ``threshold``. (Variables are not named
        ``prior``/``likelihood``: a variable named like a root group is skipped by
        ``DataTree.load`` in xarray 2026.9.)
    """
    var_names = [v for v in var_names if v in data["posterior"]]
    posterior = data["posterior"].to_dataset()[var_names]
    log_prior = data["log_prior"].to_dataset()
    log_likelihood = data["log_likelihood"].to_dataset()
    per_obs = {obs: _summed(log_likelihood[[obs]]) for obs in observed_vars}
    components = {
        "psense_prior": _psense(posterior, _summed(log_prior)),
        "psense_likelihood": _psense(posterior, sum(per_obs.values(), start=xr.DataArray(0.0))),
    }
    if len(observed_vars) > 1:
        for obs in observed_vars:
            components[f"psense_likelihood_{obs}"] = _psense(posterior, per_obs[obs])
    joined = xr.concat(list(components.values()), dim="component").assign_coords(
        component=list(components)
    )
    frame = dataset_to_dataframe(joined, sample_dims=["component"]).T
    labels = [str(label) for label in frame.index]
    table = xr.Dataset(
        {name: ("parameter", frame[name].to_numpy(dtype=float)) for name in components},
        coords={"parameter": labels},
    )
    table["diagnosis"] = (
        "parameter",
        diagnose(table["psense_prior"].values, table["psense_likelihood"].values).astype(str),
    )
    table.attrs.update(threshold=THRESHOLD, alphas=", ".join(str(a) for a in ALPHAS))
    return table
