"""Power-scaling prior and likelihood sensitivity of the model's key effects.

Uses :func:`arviz_stats.psense` (Kallioinen et al. 2024): the posterior is reweighted by
importance sampling as if the prior (or the likelihood) were raised to a power close
to 1, and the cumulative Jensen-Shannon distance of each quantity's marginal is the
sensitivity. With several likelihoods (e.g. ``log_glx`` and ``score`` in the joint
model) ``psense`` sums their log-likelihoods, so the ``psense_likelihood`` column
scales the joint likelihood; one extra column per observed variable
(``psense_likelihood_<name>``) scales that likelihood alone.

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

import arviz_stats as azs
import numpy as np
import xarray as xr
from arviz_base import dataset_to_dataframe

THRESHOLD: float = 0.05
"""Sensitivity above which a component is called influential."""


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
    components = {
        "psense_prior": azs.psense(data, var_names=var_names, group="prior"),
        "psense_likelihood": azs.psense(data, var_names=var_names, group="likelihood"),
    }
    if len(observed_vars) > 1:
        for obs in observed_vars:
            components[f"psense_likelihood_{obs}"] = azs.psense(
                data, var_names=var_names, group="likelihood", group_var_names=obs
            )
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
    table.attrs.update(threshold=THRESHOLD, alphas="0.99, 1.01")
    return table
