"""Run NUTS on a built model with the sampler the settings name.

The one entry point is :func:`sample_posterior`; a faster path (for example a cached
compiled nutpie model) replaces its body without changing its signature.
"""

from __future__ import annotations

import pymc as pm
import xarray as xr

from bayes_ketamine.inference.settings import FitSettings
from bayes_ketamine.models.base import CrossoverModel

_MAX_DEPTH_KEY = {"nutpie": "max_treedepth", "pymc": "max_treedepth", "numpyro": "max_tree_depth"}
"""Name of the maximum-tree-depth option in each sampler's ``nuts={...}`` options."""


def sample_posterior(
    model: CrossoverModel, settings: FitSettings, progressbar: bool = True
) -> xr.DataTree:
    """Draw posterior samples of ``model`` with NUTS.

    Sampler, tuning, draws, chains, cores and seed are always passed explicitly to
    :func:`pymc.sample`, so the installed samplers never change which one runs.

    Parameters
    ----------
    model : CrossoverModel
        The built model.
    settings : FitSettings
        Sampler and its settings.
    progressbar : bool, default True
        Show the sampler's own progress bar.

    Returns
    -------
    xarray.DataTree
        Groups ``posterior``, ``sample_stats``, ``observed_data`` and (if the model has
        data containers) ``constant_data``, as returned by PyMC.
    """
    nuts = {
        "target_accept": settings.target_accept,
        _MAX_DEPTH_KEY[settings.sampler]: settings.max_treedepth,
    }
    return pm.sample(
        model=model.pymc_model,
        nuts_sampler=settings.sampler,
        draws=settings.draws,
        tune=settings.tune,
        chains=settings.chains,
        cores=settings.cores,
        random_seed=settings.seed,
        progressbar=progressbar,
        quiet=not progressbar,
        compute_convergence_checks=False,
        nuts=nuts,
    )
