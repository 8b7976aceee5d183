r"""Log predictive density of held-out participants, integrating their own levels.

Leave-one-participant-out cross-validation (brms ``kfold(group = ...)``; Vehtari,
Gelman & Gabry 2017, section 2 and "leave-one-group-out") asks how well the model
predicts a *new* participant. With population parameters :math:`\theta`
(everything not indexed by participant) and the held-out participant :math:`j`'s own
levels :math:`b_j` (every free variable with a ``participant`` dimension: offsets,
session responses), the quantity scored is

.. math::

    \mathrm{elpd}_j = \log p(y_j \mid y_{-j})
      = \log \iint \prod_{i \in j} p(y_{ji} \mid \theta, b_j)\,
        p(b_j \mid \theta)\, p(\theta \mid y_{-j}) \,\mathrm d b_j \,\mathrm d\theta .

It is estimated with the :math:`S` posterior draws :math:`\theta^{(s)}` of the fit
without :math:`j` and :math:`M` draws :math:`b_j^{(s, m)} \sim p(b_j \mid \theta^{(s)})`
from the population distribution per posterior draw:

.. math::

    \widehat{\mathrm{elpd}}_j = \log \frac{1}{S M} \sum_{s=1}^{S} \sum_{m=1}^{M}
      \exp\Big( \sum_{i \in j} \log p(y_{ji} \mid \theta^{(s)}, b_j^{(s, m)}) \Big),

a log-mean-exp over the :math:`S M` joint draws. The participant's observations are
summed *inside* the exponential: they share :math:`b_j`, so the held-out density is
not the product of per-observation densities. Per observed variable :math:`v` the
same estimate with only that variable's observations gives the marginal
:math:`\log p(y_j^{v} \mid y_{-j})` that model comparisons on :math:`v` use.
Missing observations (NaN) contribute nothing. The Monte Carlo standard error is
the delta-method one, :math:`\mathrm{sd}(w) / (\sqrt{SM}\,\bar w)` with
:math:`w = \exp(\ell - \max \ell)` (draws treated as independent).

The population distribution of a new participant's levels is read off the model:
a ``ZeroSumNormal(sigma)`` level (zero-sum only to identify the fitted participants'
offsets against the intercept) gives :math:`\mathcal N(0, \sigma)`, a ``Normal(mu,
sigma)`` level the same normal. Any other distribution of a participant level is an
error naming it.

Like :mod:`bayes_ketamine.inference.batched`, the density is one vectorised
pytensor function of all draws, compiled from the model's structure and cached in
:mod:`bayes_ketamine.inference.compile_cache`; another fold with the same number of
held-out participants loads it and binds its own data. It runs with pytensor's
Python linker (:data:`~bayes_ketamine.inference.batched.MODE`): one call over all
draws per fold, where numba's compilation would cost more than it saves.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from scipy.special import logsumexp

from bayes_ketamine.inference import compile_cache
from bayes_ketamine.inference.arrays import SAMPLE_DIMS
from bayes_ketamine.inference.batched import MODE, _batched_inputs
from bayes_ketamine.inference.structure import bind_data, data_values, model_structure_key

PARTICIPANT_DIM = "participant"
"""Dimension that marks a free variable as a participant's own level."""


class UnsupportedLevelError(NotImplementedError):
    """A participant-level variable has a distribution with no known population draw."""


def _population_draw(rv: Any, eps: Any) -> Any:
    """Return a new participant's value of level ``rv`` from standard normal ``eps``."""
    from pymc.distributions.multivariate import ZeroSumNormalRV
    from pytensor.tensor.random.basic import NormalRV

    op = rv.owner.op
    if isinstance(op, ZeroSumNormalRV):
        _, _, sigma, _ = rv.owner.inputs
        return sigma * eps
    if isinstance(op, NormalRV):
        _, _, mu, sigma = rv.owner.inputs
        return mu + sigma * eps
    raise UnsupportedLevelError(
        f"participant level {rv.name!r} has distribution {type(op).__name__}; "
        "only Normal and ZeroSumNormal levels can be drawn for a new participant"
    )


@dataclass(frozen=True)
class NewParticipantFunction:
    """The compiled density of :func:`new_participant_function` and its input names.

    Parameters
    ----------
    fn : pytensor.compile.function.types.Function
        Takes one ``(draws, ...)`` array per population variable, then one standard
        normal ``(draws, ...)`` array per participant level.
    population, dtypes : list of str
        Names and dtypes of the population variables, in input order.
    levels : list of str
        Names of the participant levels, in input order.
    observed : list of str
        Names of the observed variables (the outputs, in order).
    """

    fn: Any
    population: list
    dtypes: list
    levels: list
    observed: list


def new_participant_function(pm_model: Any) -> NewParticipantFunction:
    """Compile the pointwise log-likelihood with participant levels drawn anew.

    The levels are ``mu + sigma * eps`` (see the module docstring) with the standard
    normal ``eps`` an input, so one compiled function serves every seed and the draws
    are reproducible with numpy's generator.
    """
    import pytensor.tensor as pt
    from pymc.model.transform.conditioning import remove_value_transforms
    from pymc.pytensorf import compile as pm_compile
    from pytensor.graph.replace import graph_replace, vectorize_graph

    umodel = remove_value_transforms(pm_model)
    dims = umodel.named_vars_to_dims
    levels = [rv for rv in umodel.free_RVs if PARTICIPANT_DIM in dims.get(rv.name, ())]
    population = [rv for rv in umodel.free_RVs if rv not in levels]
    eps = [
        pt.tensor(name=f"{rv.name}_eps", dtype=rv.type.dtype, shape=(None,) * rv.ndim)
        for rv in levels
    ]
    draws = umodel.replace_rvs_by_values(
        [_population_draw(rv, e) for rv, e in zip(levels, eps, strict=True)]
    )
    loglik = umodel.logp(vars=umodel.observed_RVs, sum=False)
    level_values = [umodel.rvs_to_values[rv] for rv in levels]
    loglik = graph_replace(loglik, dict(zip(level_values, draws, strict=True)))
    inputs = [*(umodel.rvs_to_values[rv] for rv in population), *eps]
    batched = _batched_inputs(inputs)
    vec = vectorize_graph(loglik, replace=dict(zip(inputs, batched, strict=True)))
    fn = pm_compile(batched, vec, on_unused_input="ignore", mode=MODE)
    fn.trust_input = True
    return NewParticipantFunction(
        fn,
        population=[rv.name for rv in population],
        dtypes=[v.type.dtype for v in inputs],
        levels=[rv.name for rv in levels],
        observed=[rv.name for rv in umodel.observed_RVs],
    )


def _observed_values(pm_model: Any, name: str) -> np.ndarray:
    """Return the observed values of observed variable ``name`` (NaN where missing)."""
    value = pm_model.rvs_to_values[pm_model[name]]
    return np.asarray(value.get_value() if hasattr(value, "get_value") else value.data, float)


def held_out_elpd(
    posterior: xr.Dataset,
    held_out: Any,
    *,
    replicates: int = 20,
    seed: int = 0,
    versions: dict[str, str] | None = None,
) -> xr.Dataset:
    """Return the log predictive density of each held-out participant (module docstring).

    Parameters
    ----------
    posterior : xarray.Dataset
        Draws (dims ``chain``, ``draw``) of a fit *without* the held-out participants,
        of the same model specification.
    held_out : CrossoverModel
        The model built on the study of the held-out participants only.
    replicates : int, default 20
        Draws :math:`M` of the participant levels per posterior draw.
    seed : int, default 0
        Seed of those draws.
    versions : dict, optional
        Package versions for the compile-cache key (computed when omitted).

    Returns
    -------
    xarray.Dataset
        Dims ``participant`` (held out) and ``observed`` (observed variables);
        variables ``elpd`` (log predictive density), ``mcse`` (its Monte Carlo SE)
        and ``n_obs`` (observations scored). Attribute ``replicates``.
    """
    from bayes_ketamine.inference.provenance import package_versions

    pm_model = held_out.pymc_model
    key = compile_cache.cache_key(
        "new_participant",
        model_structure_key(pm_model, versions or package_versions()),
        sys.modules[__name__],
    )
    function = compile_cache.cached(key, lambda: new_participant_function(pm_model))
    bind_data(function.fn, data_values(pm_model))
    arrays = []
    for name in function.population:
        values = posterior[name].transpose(*SAMPLE_DIMS, ...).to_numpy()
        values = values.reshape(-1, *values.shape[2:])
        arrays.append(np.tile(values, (replicates,) + (1,) * (values.ndim - 1)))
    n = arrays[0].shape[0]
    rng = np.random.default_rng(seed)
    dims = pm_model.named_vars_to_dims
    for name in function.levels:
        shape = [len(pm_model.coords[d]) for d in dims[name]]
        arrays.append(rng.standard_normal((n, *shape)))
    arrays = [
        np.ascontiguousarray(a, dtype=d) for a, d in zip(arrays, function.dtypes, strict=True)
    ]
    outputs = function.fn(*arrays)
    labels = held_out.observation_labels()
    participants = held_out.study.participant_ids
    table_shape = (len(participants), len(function.observed))
    elpd, mcse = np.full(table_shape, np.nan), np.full(table_shape, np.nan)
    n_obs = np.zeros(table_shape, int)
    for v, (name, loglik) in enumerate(zip(function.observed, outputs, strict=True)):
        present = ~np.isnan(_observed_values(pm_model, name))
        owner = labels[name]["participant_id"].to_numpy()
        for j, pid in enumerate(participants):
            mine = (owner == pid) & present
            total = loglik[:, mine].sum(axis=1)
            n_obs[j, v] = int(mine.sum())
            elpd[j, v] = logsumexp(total) - np.log(total.size)
            w = np.exp(total - total.max())
            mcse[j, v] = w.std(ddof=1) / (np.sqrt(w.size) * w.mean())
    return xr.Dataset(
        {
            "elpd": (("participant", "observed"), elpd),
            "mcse": (("participant", "observed"), mcse),
            "n_obs": (("participant", "observed"), n_obs),
        },
        coords={"participant": participants, "observed": list(function.observed)},
        attrs={"replicates": int(replicates)},
    )
