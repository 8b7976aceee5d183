r"""The model's log density for NUTS, with censored observations summed by subset.

For observations :math:`y_n` censored to :math:`[L_n, U_n]` from a base density
:math:`f(\cdot \mid \theta_n)` with distribution function :math:`F`, the log density is

.. math::

    \sum_{n:\, L_n < y_n < U_n} \log f(y_n \mid \theta_n)
    + \sum_{n:\, y_n = L_n} \log F(L_n \mid \theta_n)
    + \sum_{n:\, y_n = U_n} \log\big(1 - F(U_n \mid \theta_n)\big),

and :math:`-\infty` if any :math:`y_n` lies outside its bounds.

Why not PyMC's own log density of ``pm.Censored``: it evaluates the three terms for
every observation and selects one with ``switch``, so the log CDF and CCDF and their
gradients (the costly ``erfcx`` of a normal) are computed for all ratings, although
few or none sit at a bound. When the data are constants (nutpie's frozen model),
pytensor folds the ``switch`` away; here the data are inputs of a function compiled
once per model structure (:mod:`bayes_ketamine.inference.structure`), so the subsets
are index vectors computed from the data instead. The value is the same sum; the
pointwise log-likelihood of the artifacts keeps PyMC's form.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytensor.tensor as pt


def censored_logp(rv: Any, value: Any) -> pt.TensorVariable:
    """Return the summed log density of censored ``rv`` at ``value``, by subset.

    Parameters
    ----------
    rv : pytensor.tensor.TensorVariable
        A ``pm.Censored`` variable (its base distribution has a log CDF and CCDF).
    value : pytensor.tensor.TensorVariable
        Its observed values (data or constant).

    Returns
    -------
    pytensor.tensor.TensorVariable
        A scalar; it refers to the model's random variables (replace them by their
        values, :meth:`pymc.Model.replace_rvs_by_values`).

    Examples
    --------
    >>> import numpy as np, pymc as pm
    >>> with pm.Model() as model:
    ...     mu = pm.Normal("mu")
    ...     y = pm.Censored("y", pm.Normal.dist(mu, 1.0), lower=0.0, upper=2.0,
    ...                     observed=np.array([0.0, 0.5, 2.0]))
    >>> (term,) = model.replace_rvs_by_values([censored_logp(y, model.rvs_to_values[y])])
    >>> ours = term.eval({model.rvs_to_values[mu]: 0.3})
    >>> theirs = model.compile_logp(vars=[y])({"mu": 0.3})
    >>> bool(np.isclose(ours, theirs))
    True
    """
    import pymc as pm

    base, lower, upper = rv.owner.inputs
    op = base.owner.op
    y = pt.as_tensor(value)
    params = [_aligned(p, y) for p in op.dist_params(base.owner)]
    low, high = _aligned(lower, y), _aligned(upper, y)
    y = y.ravel()

    def at(x: pt.TensorVariable, index: pt.TensorVariable) -> pt.TensorVariable:
        return x[index] if x.type.ndim else x

    def base_at(index: pt.TensorVariable) -> pt.TensorVariable:
        return op(*(at(p, index) for p in params))

    inside = pt.and_(pt.gt(y, low), pt.lt(y, high)).nonzero()[0]
    at_low = pt.eq(y, low).nonzero()[0]
    at_high = pt.eq(y, high).nonzero()[0]
    total = (
        pm.logp(base_at(inside), y[inside]).sum()
        + pm.logcdf(base_at(at_low), at(low, at_low)).sum()
        + pm.logccdf(base_at(at_high), at(high, at_high)).sum()
    )
    outside = pt.or_(pt.lt(y, low), pt.gt(y, high)).any()
    return pt.switch(outside, -np.inf, total)


def _aligned(x: Any, value: pt.TensorVariable) -> pt.TensorVariable:
    """Return ``x`` as a scalar if it is one, else broadcast to ``value`` and flattened."""
    x = pt.as_tensor(x)
    if x.type.ndim == 0:
        return x
    if x.type.ndim == value.type.ndim and x.type.broadcastable == value.type.broadcastable:
        return x.ravel()
    return pt.broadcast_to(x, value.shape).ravel()


def model_logp(pm_model: Any) -> pt.TensorVariable:
    """Return ``pm_model.logp()`` with its censored observations summed by subset.

    Parameters
    ----------
    pm_model : pymc.Model
        The model.

    Returns
    -------
    pytensor.tensor.TensorVariable
        The joint log density (with Jacobians) of the model's value variables; equal
        to ``pm_model.logp()``.
    """
    from pymc.distributions.censored import CensoredRV

    censored = [rv for rv in pm_model.observed_RVs if isinstance(rv.owner.op, CensoredRV)]
    if not censored:
        return pm_model.logp()
    others = [rv for rv in pm_model.basic_RVs if rv not in censored]
    terms = [censored_logp(rv, pm_model.rvs_to_values[rv]) for rv in censored]
    terms = pm_model.replace_rvs_by_values(terms)
    return pm_model.logp(vars=[*others, *pm_model.potentials]) + pt.add(*terms)
