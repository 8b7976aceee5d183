"""Prior predictive simulation with a compiled function that can be cached.

:func:`pymc.sample_prior_predictive` compiles its forward-sampling function on every
call (about 1.5 s for the joint model, graph rewriting included). :class:`PriorPredictive`
compiles the same function with the same PyMC helper, unseeded, and seeds it the way
PyMC does, so the draws are those of
``pymc.sample_prior_predictive(draws, model, random_seed=seed)`` (the same random
streams; evaluated by pytensor's Python linker, :data:`~bayes_ketamine.inference.batched.MODE`,
they agree to floating-point rounding), but, given a cache key, keeps the compiled
function in :mod:`bayes_ketamine.inference.compile_cache` for any later fit of the
same model structure, which binds its own study's data to it
(:mod:`bayes_ketamine.inference.structure`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from bayes_ketamine.inference import compile_cache
from bayes_ketamine.inference.batched import MODE, python_thunks
from bayes_ketamine.inference.structure import bind_data, data_values


@dataclass(frozen=True)
class ForwardSampler:
    """A compiled prior forward-sampling function and the names of its outputs.

    Parameters
    ----------
    fn : pytensor.compile.function.types.Function
        Returns one prior draw of every variable in ``names`` per call.
    names : list of str
        Variables drawn (free, observed and deterministic), sorted by name.
    rngs : list of pytensor.compile.sharedvalue.SharedVariable
        The function's random generators, in the order PyMC seeds them.
    """

    fn: Any
    names: list
    rngs: list

    def seed(self, seed: int) -> None:
        """Seed the generators as ``pymc.sample_prior_predictive(random_seed=seed)`` does."""
        from pymc.pytensorf import reseed_rngs
        from pymc.util import _get_seeds_per_chain

        (function_seed,) = _get_seeds_per_chain(seed, 1)
        reseed_rngs(self.rngs, function_seed)


def forward_sampler(pm_model: Any) -> ForwardSampler:
    """Compile the function :func:`pymc.sample_prior_predictive` would compile, unseeded.

    The function does not depend on the seed (``random_seed=False``), so one compiled
    (and cached) function serves every seed through :meth:`ForwardSampler.seed`.

    Parameters
    ----------
    pm_model : pymc.Model
        The model.

    Returns
    -------
    ForwardSampler
    """
    from pymc.sampling.forward import compile_forward_sampling_function
    from pymc.util import get_default_varnames

    variables = {var.name for var in pm_model.basic_RVs + pm_model.deterministics}
    names = sorted(get_default_varnames(variables, include_transformed=False))
    (fn, rng_updates), _ = compile_forward_sampling_function(
        [pm_model[name] for name in names],
        vars_in_trace=[],
        basic_rvs=pm_model.basic_RVs,
        random_seed=False,
        return_updates=True,
        model=pm_model,
        allow_input_downcast=True,
        accept_inplace=True,
        mode=MODE,
    )
    return ForwardSampler(fn, names, list(rng_updates))


class PriorPredictive:
    """Draws from the prior and prior predictive distributions of a model.

    Parameters
    ----------
    pm_model : pymc.Model
        The model (not modified).
    seed : int
        Random seed (the draws equal ``pymc.sample_prior_predictive``'s for it).
    cache_key : str, optional
        Compile-cache key of the function (it must identify the model graph).

    Examples
    --------
    >>> from bayes_ketamine.data import default_study
    >>> from bayes_ketamine.models import build_model, resolve_spec
    >>> model = build_model(resolve_spec("symptoms_partial"), default_study())
    >>> prior = PriorPredictive(model.pymc_model, seed=1).compile()(500)
    >>> sorted(prior.children)
    ['constant_data', 'observed_data', 'prior', 'prior_predictive']
    """

    def __init__(self, pm_model: Any, seed: int, cache_key: str | None = None) -> None:
        self.pm_model = pm_model
        self.seed = seed
        self.cache_key = cache_key
        self.sampler: ForwardSampler | None = None

    def compile(self) -> PriorPredictive:
        """Compile (or load) the forward-sampling function; return ``self``."""

        def build() -> ForwardSampler:
            return forward_sampler(self.pm_model)

        with python_thunks():
            self.sampler = (
                compile_cache.cached(self.cache_key, build) if self.cache_key else build()
            )
        bind_data(self.sampler.fn, data_values(self.pm_model))
        self.sampler.seed(self.seed)
        return self

    def __call__(self, draws: int) -> xr.DataTree:
        """Return ``draws`` draws as ``pymc.sample_prior_predictive`` returns them.

        The first call after :meth:`compile` gives PyMC's draws for the seed; later
        calls continue the same random streams.

        Parameters
        ----------
        draws : int
            Number of draws.

        Returns
        -------
        xarray.DataTree
            Groups ``prior``, ``prior_predictive`` and the model's data groups.
        """
        import pymc as pm

        if self.sampler is None:
            self.compile()
        sampler = self.sampler
        assert sampler is not None  # compile() sets it
        values = zip(*(sampler.fn() for _ in range(draws)), strict=True)
        prior = {name: np.stack(draw) for name, draw in zip(sampler.names, values, strict=True)}
        return pm.to_inference_data(prior=prior, model=self.pm_model)
