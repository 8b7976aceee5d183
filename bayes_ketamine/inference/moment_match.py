"""The functions moment matching needs, compiled once per model structure.

:func:`arviz_stats.loo_moment_match` needs the posterior draws in the unconstrained
space, the log posterior density (with the Jacobian of the transforms) of such draws,
and the pointwise log-likelihood of such draws. arviz-stats can build them from a
PyMC model, but compiles them for each model with the study's sizes as constants.
Here they are vectorised pytensor functions of all draws with the study's data and
sizes as shared variables (like :mod:`bayes_ketamine.inference.batched`), kept in
:mod:`bayes_ketamine.inference.compile_cache` under the model's structure key: a
second study of the same design compiles nothing.

Each call covers all draws at once, so the functions run with pytensor's Python
linker (:data:`~bayes_ketamine.inference.batched.MODE`) rather than numba, whose
machine code costs tens of seconds to compile for a new structure (30 s CPU for
the joint model) and seconds to load in every process. The log posterior density
and the pointwise log-likelihood are one function, and
:func:`arviz_stats.loo_moment_match`, which asks for both of the same draws in turn,
gets the second from the first call: one evaluation instead of two.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from bayes_ketamine.inference import compile_cache
from bayes_ketamine.inference.arrays import SAMPLE_DIMS
from bayes_ketamine.inference.batched import MODE, _batched_inputs
from bayes_ketamine.inference.structure import bind_data, data_values, model_structure_key


@dataclass(frozen=True)
class MomentMatchFunctions:
    """Compiled functions of all draws for moment matching.

    Parameters
    ----------
    unconstrain : pytensor Function
        Constrained draws of each free variable (``free`` order) to unconstrained
        values of each value variable.
    densities : pytensor Function
        Unconstrained values of each value variable to the log posterior density
        (Jacobian included, one value per draw) as ``n_terms`` outputs to be added in
        order, then the elementwise log-likelihood of each observed variable
        (``observed`` order).
    free, observed : list of str
        Names of the free and observed variables.
    n_terms : int
        1, or the number of free and observed variables when the density as one
        output would need an elementwise sum of more than 32 operands, which
        pytensor's Python linker cannot run (:func:`runs_in_python`): the terms are
        then added by numpy, in the same order.
    """

    unconstrain: Any
    densities: Any
    free: list
    observed: list
    n_terms: int = 1

    def log_prob(self, outputs: list[np.ndarray]) -> np.ndarray:
        """Return the log posterior density of one call's ``outputs``."""
        return functools.reduce(np.add, outputs[: self.n_terms])

    def log_liks(self, outputs: list[np.ndarray]) -> list[np.ndarray]:
        """Return the elementwise log-likelihoods of one call's ``outputs``."""
        return outputs[self.n_terms :]

    def bind(self, pm_model: Any) -> None:
        """Feed every function the data of ``pm_model`` (a model of this structure)."""
        values = data_values(pm_model)
        for fn in (self.unconstrain, self.densities):
            bind_data(fn, values)


def moment_match_functions(pm_model: Any) -> MomentMatchFunctions:
    """Compile the functions of :class:`MomentMatchFunctions` for ``pm_model``'s structure."""
    import pytensor.tensor as pt
    from pymc.pytensorf import compile as pm_compile
    from pytensor.graph.replace import vectorize_graph

    free = list(pm_model.free_RVs)
    values = [pm_model.rvs_to_values[rv] for rv in free]
    constrained = [
        pt.tensor(name=f"{rv.name}_constrained", dtype=rv.type.dtype, shape=rv.type.shape)
        for rv in free
    ]
    forward = []
    for rv, x in zip(free, constrained, strict=True):
        transform = pm_model.rvs_to_transforms[rv]
        forward.append(x if transform is None else transform.forward(x, *rv.owner.inputs))
    forward = pm_model.replace_rvs_by_values(forward)
    batched_x = _batched_inputs(constrained)
    unconstrain = pm_compile(
        batched_x,
        vectorize_graph(forward, replace=dict(zip(constrained, batched_x, strict=True))),
        on_unused_input="ignore",
        mode=MODE,
    )
    batched_v = _batched_inputs(values)
    log_liks = pm_model.logp(vars=pm_model.observed_RVs, sum=False)

    def compiled(log_prob: list) -> Any:
        replace = dict(zip(values, batched_v, strict=True))
        outputs = vectorize_graph([*log_prob, *log_liks], replace=replace)
        return pm_compile(batched_v, outputs, on_unused_input="ignore", mode=MODE)

    densities = compiled([pm_model.logp(jacobian=True, sum=True)])
    n_terms = 1
    if not runs_in_python(densities):
        terms = [pt.sum(term) for term in pm_model.logp(jacobian=True, sum=False)]
        densities, n_terms = compiled(terms), len(terms)
    return MomentMatchFunctions(
        unconstrain,
        densities,
        free=[rv.name for rv in free],
        observed=[rv.name for rv in pm_model.observed_RVs],
        n_terms=n_terms,
    )


def runs_in_python(fn: Any) -> bool:
    """Whether pytensor's Python linker can run ``fn``.

    It cannot run an elementwise op of more than 32 operands (numpy's limit), and a
    model's summed log density is one such op with a term per variable and
    transform: 32 for the joint model with centred direct effects (large studies).
    """
    from pytensor.tensor.elemwise import Elemwise

    return all(
        len(node.inputs) + len(node.outputs) <= 32
        for node in fn.maker.fgraph.apply_nodes
        if isinstance(node.op, Elemwise)
    )


def moment_match_inputs(
    posterior: xr.Dataset, pm_model: Any, var_name: str, versions: dict[str, str]
) -> tuple[Any, Any, xr.DataArray]:
    """Return ``log_prob_upars_fn``, ``log_lik_i_upars_fn`` and ``upars`` of a fit.

    Parameters
    ----------
    posterior : xarray.Dataset
        The fit's draws (dims ``chain``, ``draw``).
    pm_model : pymc.Model
        The fitted model.
    var_name : str
        Observed variable whose points are matched.
    versions : dict of str to str
        Package versions (part of the compile-cache key).

    Returns
    -------
    tuple
        The arguments of :func:`arviz_stats.loo_moment_match` of the same names.
    """
    key = compile_cache.cache_key(
        "moment_match", model_structure_key(pm_model, versions), sys.modules[__name__]
    )
    functions = compile_cache.cached(key, lambda: moment_match_functions(pm_model))
    functions.bind(pm_model)
    chain, draw = (posterior.sizes[d] for d in SAMPLE_DIMS)
    draws = []
    for name in functions.free:
        v = posterior[name].transpose(*SAMPLE_DIMS, ...).to_numpy()
        draws.append(np.ascontiguousarray(v.reshape(chain * draw, *v.shape[2:]), dtype=float))
    unconstrained = functions.unconstrain(*draws)
    shapes = [u.shape[1:] for u in unconstrained]
    sizes = [int(np.prod(s, dtype=int)) for s in shapes]
    flat = np.concatenate([u.reshape(chain * draw, -1) for u in unconstrained], axis=1)
    upars = xr.DataArray(
        flat.reshape(chain, draw, -1),
        dims=(*SAMPLE_DIMS, "unconstrained_parameter"),
        coords={d: posterior[d].values for d in SAMPLE_DIMS},
    )
    obs_index = functions.observed.index(var_name)

    def split(upars_da: xr.DataArray) -> tuple[list[np.ndarray], tuple[int, int], dict]:
        upars_da = upars_da.transpose(*SAMPLE_DIMS, ...)
        n_chain, n_draw = upars_da.sizes["chain"], upars_da.sizes["draw"]
        array = np.asarray(upars_da.values).reshape(n_chain * n_draw, -1)
        parts = np.split(array, np.cumsum(sizes)[:-1], axis=1)
        args = [np.ascontiguousarray(p.reshape(-1, *s)) for p, s in zip(parts, shapes, strict=True)]
        coords = {d: upars_da[d] for d in SAMPLE_DIMS}
        return args, (n_chain, n_draw), coords

    # The latest two draw arrays evaluated, with their outputs: loo_moment_match asks
    # for the log-likelihood of the draws whose log density it asked for one or two
    # calls before. Matched by identity (the caller passes the same objects).
    recent: list[tuple[xr.DataArray, tuple[list[np.ndarray], tuple[int, int], dict]]] = []

    def evaluate(upars_da: xr.DataArray) -> tuple[list[np.ndarray], tuple[int, int], dict]:
        for seen, outputs in recent:
            if seen is upars_da:
                return outputs
        args, shape, coords = split(upars_da)
        outputs = (functions.densities(*args), shape, coords)
        recent[:] = [*recent[-1:], (upars_da, outputs)]
        return outputs

    def log_prob_upars(upars_da: xr.DataArray) -> xr.DataArray:
        outputs, shape, coords = evaluate(upars_da)
        out = np.asarray(functions.log_prob(outputs)).reshape(shape)
        return xr.DataArray(out, dims=SAMPLE_DIMS, coords=coords)

    def log_lik_i_upars(upars_da: xr.DataArray, i: int) -> xr.DataArray:
        outputs, shape, coords = evaluate(upars_da)
        out = np.asarray(functions.log_liks(outputs)[obs_index])
        return xr.DataArray(out[:, int(i)].reshape(shape), dims=SAMPLE_DIMS, coords=coords)

    return log_prob_upars, log_lik_i_upars, upars
