"""Data-only graph parts computed once per study, and censored ratings summed by subset."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt

from bayes_ketamine.inference.censored_logp import model_logp
from bayes_ketamine.inference.hoisting import HOISTED_PREFIX, hoist_data_only
from bayes_ketamine.inference.structure import bind_data


def _ops(function) -> set[str]:
    return {type(node.op).__name__ for node in function.maker.fgraph.toposort()}


def test_data_only_parts_move_out_of_the_hot_function_and_keep_its_value():
    level = pytensor.shared(np.array([0, 1, 1]), name="level")
    obs_person = pytensor.shared(np.array([0, 1, 2, 2]), name="obs_person")
    y = pytensor.shared(np.array([0.5, -1.0, 2.0, 0.0]), name="y")
    theta = pt.vector("theta")
    at_zero = pt.eq(y, 0.0).nonzero()[0]
    outputs = [((theta[level[obs_person]] - y) ** 2).sum() + theta[at_zero.shape[0]]]

    new, hoisted = hoist_data_only(outputs, theta, mode="FAST_COMPILE")
    assert hoisted.names and all(n.startswith(HOISTED_PREFIX) for n in hoisted.names)
    hot = pytensor.function([theta], new, mode="FAST_COMPILE")
    reference = pytensor.function([theta], outputs, mode="FAST_COMPILE")
    assert "Nonzero" not in _ops(hot)
    assert "Nonzero" in _ops(reference)

    # Another study's values: the hoisted values follow them.
    study = {
        "level": np.array([1, 0, 0, 1]),
        "obs_person": np.array([3, 3, 0]),
        "y": np.array([0.0, 0.0, 4.0]),
    }
    bind_data(reference, study)
    bind_data(hot, {**study, **hoisted.values(study)})
    point = np.array([0.3, -0.7, 1.1])
    assert np.allclose(hot(point), reference(point))


def test_censored_ratings_summed_by_subset_equal_pymc_with_gradient():
    ratings = np.array([0.0, 3.0, 60.0, 41.0, 0.0, 12.5])
    with pm.Model() as model:
        mu = pm.Normal("mu", 20.0, 10.0)
        sigma = pm.HalfNormal("sigma", 10.0)
        score = pm.Data("score_observed", ratings)
        pm.Censored("score", pm.Normal.dist(mu, sigma), lower=0.0, upper=60.0, observed=score)
    values = model.value_vars
    ours, theirs = model_logp(model), model.logp()
    both = pytensor.function(
        values, [ours, theirs, *pt.grad(ours, values), *pt.grad(theirs, values)]
    )
    out = both(25.0, np.log(15.0))
    assert np.isclose(out[0], out[1]) and np.isfinite(out[0])
    assert np.allclose(out[2:4], out[4:6])
    score.set_value(np.array([-1.0, 3.0]))  # below the floor: impossible
    assert both(25.0, np.log(15.0))[0] == -np.inf
