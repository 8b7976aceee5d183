"""Posterior predictive draws and pointwise log densities over all draws at once.

PyMC's :func:`pymc.sample_posterior_predictive`, :func:`pymc.compute_log_likelihood`
and :func:`pymc.stats.compute_log_prior` compile a function of one posterior draw and
call it once per draw from Python (4000 calls each for 4 chains x 1000 draws); the
per-call overhead (numba argument typing) dominates their run time. Here each is one
pytensor function of *all* draws, built by :func:`pytensor.graph.replace.vectorize_graph`
from the model's graph with the free variables given a leading draw dimension:

- :class:`LogDensity`: the elementwise log-likelihood of every observed variable and
  the elementwise log-prior of every free variable (untransformed values, as PyMC's
  functions), one function, one call;
- :class:`PosteriorPredictive`: one draw of every observed variable per posterior
  draw, one call, seeded (the random streams differ from PyMC's per-draw loop, the
  distribution is the same).

Both are compiled up front (:meth:`compile`), which :func:`bayes_ketamine.inference.fit`
does while NUTS runs, and evaluated on a posterior afterwards. They are compiled from
the model's structure and read the study's data from shared variables
(:mod:`bayes_ketamine.inference.structure`); given a cache key, the compiled function
is kept in :mod:`bayes_ketamine.inference.compile_cache` and any later fit of the same
structure, on any study, loads it and binds its own data instead of compiling. The
groups they return have the dims, coordinates and attributes PyMC's functions give
them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from bayes_ketamine.inference import compile_cache
from bayes_ketamine.inference.arrays import SAMPLE_DIMS, Array
from bayes_ketamine.inference.structure import bind_data, data_values

if TYPE_CHECKING:
    import pymc as pm
    from pytensor.compile import Function, SharedVariable
    from pytensor.graph.basic import Apply
    from pytensor.graph.op import Op
    from pytensor.tensor.type import TensorType
    from pytensor.tensor.variable import TensorVariable

    type Tensor = TensorVariable[TensorType, Apply[Op] | None]
    type Coords = dict[str, Array]
    type Dims = dict[Hashable, Sequence[Hashable]]

MODE = "FAST_COMPILE"
"""pytensor mode of the functions that run once per fit (these, the prior predictive).

Each is called once (or once per prior draw) over arrays of all draws, so numpy's
vectorised operations (pytensor's Python linker) run it in well under a second,
while compiling it to numba machine code costs tens of seconds on a machine whose
numba cache is cold (measured on the joint model: 53 s each for the log densities
and the posterior predictive, against 4 s of graph preparation here). Only the log
density and gradient NUTS calls millions of times are compiled with numba
(:mod:`bayes_ketamine.inference.nutpie_adapter`). The ``FAST_COMPILE`` rewrites do
not fuse elementwise operations, which the Python linker would evaluate element by
element."""


@contextmanager
def python_thunks() -> Iterator[None]:
    """Link :data:`MODE` functions entirely with pytensor's Python implementations.

    pytensor links the inner function of an op with an inner graph (PyMC's censored
    random variable is one) with C thunks whenever a C compiler is configured, even
    inside a Python-linker function (``HasInnerFunction.link_mode``). Loading them
    costs about a second per process, and compiling them with the C compiler on a
    machine whose caches are cold several more. Creating the function (or loading it
    from the compile cache) with ``cxx`` cleared links those inner functions in
    Python too; the rewrites of :data:`MODE` do not depend on ``cxx``.
    """
    import pytensor

    with pytensor.config.change_flags(cxx=""):
        yield


CHUNK_DRAWS = 1000
"""Draws per call of a batched function: bounds the memory of the intermediate arrays
(draws x observations each) for large studies."""


def _batched_inputs(variables: Sequence[Tensor]) -> list[Tensor]:
    """Return one input per variable with an extra leading (draw) dimension."""
    import pytensor.tensor as pt

    return [
        pt.tensor(name=f"{v.name}_batched", dtype=v.type.dtype, shape=(None, *v.type.shape))
        for v in variables
    ]


def _stacked(posterior: xr.Dataset, names: Sequence[str], dtypes: Sequence[str]) -> list[Array]:
    """Return ``posterior[name]`` as ``(chain * draw, ...)`` arrays of the given dtypes."""
    out = []
    for name, dtype in zip(names, dtypes, strict=True):
        values = posterior[name].transpose(*SAMPLE_DIMS, ...).to_numpy()
        out.append(np.ascontiguousarray(values.reshape(-1, *values.shape[2:]), dtype=dtype))
    return out


def _to_dataset(
    values: Mapping[str, Array],
    posterior: xr.Dataset,
    coords: Coords,
    dims: Dims,
) -> xr.Dataset:
    """Return batched outputs as a dataset shaped like PyMC's (``dict_to_dataset``)."""
    import pymc
    from arviz_base import dict_to_dataset

    sizes = [posterior.sizes[d] for d in SAMPLE_DIMS]
    sample_coords = {d: posterior[d].values for d in SAMPLE_DIMS}
    trace = {k: v.reshape(*sizes, *v.shape[1:]) for k, v in values.items()}
    return dict_to_dataset(
        trace,
        inference_library=pymc,
        dims=dims,
        coords={**coords, **sample_coords},
        sample_dims=list(SAMPLE_DIMS),
        skip_event_dims=True,
    )


def drop_loops(fn: Function) -> None:
    """Drop the per-node ``Blockwise`` loops of a Python-linker function, so it pickles.

    pytensor's ``Blockwise.perform`` caches a closure (not picklable) on its node and
    rebuilds it when missing, so dropping it loses nothing.
    """
    for node in fn.maker.fgraph.apply_nodes:
        if hasattr(node.tag, "gufunc"):
            del node.tag.gufunc


@dataclass(frozen=True)
class BatchedFunction:
    """A compiled function of all draws and what is needed to label its outputs.

    Parameters
    ----------
    fn : pytensor.compile.function.types.Function
        Takes one ``(draws, ...)`` array per free variable.
    free, dtypes : list of str
        Names and dtypes of the free variables, in input order.
    observed : list of str
        Names of the observed variables.
    rngs : list of pytensor.compile.sharedvalue.SharedVariable
        The function's random generators (none for a deterministic function), in the
        order ``pymc.pytensorf.compile`` seeds them.
    """

    fn: Function
    free: list[str]
    dtypes: list[str]
    observed: list[str]
    rngs: list[SharedVariable] = field(default_factory=list)

    def __getstate__(self) -> dict[str, object]:
        """Pickle without the per-node loops of the Python linker (:func:`drop_loops`)."""
        drop_loops(self.fn)
        return self.__dict__

    def seed(self, seed: int) -> None:
        """Seed the generators as ``pymc.pytensorf.compile(..., random_seed=seed)`` does."""
        from pymc.pytensorf import reseed_rngs

        reseed_rngs(self.rngs, seed)

    def bind(self, pm_model: pm.Model) -> None:
        """Feed the function the data of ``pm_model`` (a model of its structure)."""
        bind_data(self.fn, data_values(pm_model))

    def __call__(self, posterior: xr.Dataset) -> list[Array]:
        """Evaluate the function on all draws of ``posterior``, :data:`CHUNK_DRAWS` at a time.

        Returns one array per output with a leading dimension of all draws (an
        output that does not vary over draws is broadcast).
        """
        inputs = _stacked(posterior, self.free, self.dtypes)
        n = posterior.sizes["chain"] * posterior.sizes["draw"]
        parts: list[list[Array]] = []
        for start in range(0, n, CHUNK_DRAWS):
            stop = min(start + CHUNK_DRAWS, n)
            outs = self.fn(*(x[start:stop] for x in inputs))
            parts.append([np.broadcast_to(o, (stop - start, *o.shape[1:])) for o in outs])
        return [np.concatenate(chunks) for chunks in zip(*parts, strict=True)]


def _compiled(
    pm_model: pm.Model, cache_key: str | None, build: Callable[[], BatchedFunction]
) -> BatchedFunction:
    """Return ``build()`` (cached when there is a key), fed the data of ``pm_model``."""
    with python_thunks():
        function = compile_cache.cached(cache_key, build) if cache_key else build()
    function.bind(pm_model)
    return function


def _coords_and_dims(pm_model: pm.Model) -> tuple[Coords, Dims]:
    """Return the coordinates and dims of the model's variables, as PyMC stores them."""
    from pymc.backends.arviz import coords_and_dims_for_inferencedata

    return coords_and_dims_for_inferencedata(pm_model)


def log_density_function(pm_model: pm.Model) -> BatchedFunction:
    """Compile the elementwise log-likelihood and log-prior of all draws (:class:`LogDensity`)."""
    from pymc.model.transform.conditioning import remove_value_transforms
    from pymc.pytensorf import compile as pm_compile
    from pytensor.graph.replace import vectorize_graph

    umodel = remove_value_transforms(pm_model)
    values = [umodel.rvs_to_values[rv] for rv in umodel.free_RVs]
    outs = umodel.logp(vars=[*umodel.observed_RVs, *umodel.free_RVs], sum=False)
    batched = _batched_inputs(values)
    vec = vectorize_graph(outs, replace=dict(zip(values, batched, strict=True)))
    fn = pm_compile(batched, vec, on_unused_input="ignore", mode=MODE)
    fn.trust_input = True
    return BatchedFunction(
        fn,
        free=[rv.name for rv in umodel.free_RVs],
        dtypes=[v.type.dtype for v in values],
        observed=[rv.name for rv in umodel.observed_RVs],
    )


def posterior_predictive_function(pm_model: pm.Model) -> BatchedFunction:
    """Compile one draw of every observed variable per draw (:class:`PosteriorPredictive`).

    The function is compiled unseeded (``random_seed=False``) so that one compiled
    (and cached) function serves every seed through :meth:`BatchedFunction.seed`.
    """
    from pymc.pytensorf import compile as pm_compile
    from pytensor.graph.replace import vectorize_graph

    batched = _batched_inputs(pm_model.free_RVs)
    vec = vectorize_graph(
        list(pm_model.observed_RVs), replace=dict(zip(pm_model.free_RVs, batched, strict=True))
    )
    fn, rng_updates = pm_compile(
        batched, vec, random_seed=False, return_updates=True, on_unused_input="ignore", mode=MODE
    )
    fn.trust_input = True
    return BatchedFunction(
        fn,
        free=[rv.name for rv in pm_model.free_RVs],
        dtypes=[rv.type.dtype for rv in pm_model.free_RVs],
        observed=[rv.name for rv in pm_model.observed_RVs],
        rngs=list(rng_updates),
    )


class LogDensity:
    """Elementwise log-likelihood and log-prior of all posterior draws in one call.

    Parameters
    ----------
    pm_model : pymc.Model
        The model (not modified).
    cache_key : str, optional
        Compile-cache key of the function (it must identify the model graph).
    """

    def __init__(self, pm_model: pm.Model, cache_key: str | None = None) -> None:
        self.pm_model = pm_model
        self.cache_key = cache_key
        self.function: BatchedFunction | None = None

    def compile(self) -> LogDensity:
        """Build and compile (or load) the vectorised function; return ``self``."""
        self.function = _compiled(
            self.pm_model, self.cache_key, lambda: log_density_function(self.pm_model)
        )
        return self

    def __call__(self, posterior: xr.Dataset) -> tuple[xr.Dataset, xr.Dataset]:
        """Return the ``log_likelihood`` and ``log_prior`` groups of ``posterior``."""
        f = self.function or self.compile().function
        assert f is not None  # compile() sets it
        outs = f(posterior)
        n_obs = len(f.observed)
        like = dict(zip(f.observed, outs[:n_obs], strict=True))
        prior = dict(zip(f.free, outs[n_obs:], strict=True))
        coords, dims = _coords_and_dims(self.pm_model)
        return (
            _to_dataset(like, posterior, coords, dims),
            _to_dataset(prior, posterior, coords, dims),
        )


class PosteriorPredictive:
    """One draw of every observed variable per posterior draw, in one call.

    Parameters
    ----------
    pm_model : pymc.Model
        The model (not modified).
    seed : int
        Seed of the random streams.
    cache_key : str, optional
        Compile-cache key of the function (it must identify the model graph).
    """

    def __init__(self, pm_model: pm.Model, seed: int, cache_key: str | None = None) -> None:
        self.pm_model = pm_model
        self.seed = seed
        self.cache_key = cache_key
        self.function: BatchedFunction | None = None

    def compile(self) -> PosteriorPredictive:
        """Build and compile (or load) the vectorised sampling function; return ``self``."""
        self.function = _compiled(
            self.pm_model, self.cache_key, lambda: posterior_predictive_function(self.pm_model)
        )
        self.function.seed(self.seed)
        return self

    def __call__(self, posterior: xr.Dataset, with_data: bool = True) -> xr.DataTree:
        """Return the draws for ``posterior`` as PyMC's ``sample_posterior_predictive`` does.

        Parameters
        ----------
        posterior : xarray.Dataset
            Posterior draws (dims ``chain``, ``draw``).
        with_data : bool, default True
            Also return ``observed_data`` and ``constant_data``; without, only
            ``posterior_predictive`` (when the tree has them already, as nutpie's
            does, built the same way).

        Returns
        -------
        xarray.DataTree
            Groups ``posterior_predictive`` and (``with_data``) ``observed_data`` and
            ``constant_data`` (``pymc.to_inference_data`` of the model), which
            ``pymc.sample_posterior_predictive(..., extend_inferencedata=True)`` adds
            to (or replaces in) the tree it is given.
        """
        import pymc

        f = self.function or self.compile().function
        assert f is not None  # compile() sets it
        outs = f(posterior)
        if not with_data:
            values = dict(zip(f.observed, outs, strict=True))
            dataset = _to_dataset(values, posterior, *_coords_and_dims(self.pm_model))
            return xr.DataTree.from_dict({"posterior_predictive": dataset})
        sizes = [posterior.sizes[d] for d in SAMPLE_DIMS]
        trace = {
            name: out.reshape(*sizes, *out.shape[1:])
            for name, out in zip(f.observed, outs, strict=True)
        }
        return pymc.to_inference_data(
            posterior_predictive=trace,
            model=self.pm_model,
            sample_dims=list(SAMPLE_DIMS),
            coords={d: posterior[d].values for d in SAMPLE_DIMS},
        )
