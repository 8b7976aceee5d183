"""Moment-matching functions of a model with many variables run in pytensor's Python linker.

A summed log density is one elementwise addition with a term per variable; numpy (the
Python linker) cannot run one of more than 32 operands, which failed moment matching
of the joint model with centred direct effects (32 terms, 260 participants and more).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest

from bayes_ketamine.inference.moment_match import moment_match_functions, runs_in_python


def many_variables(n: int) -> pm.Model:
    """A model with ``n`` scalar free variables (half of them positive) and one likelihood."""
    with pm.Model() as model:
        terms = [
            pm.HalfNormal(f"s{i}", 1.0) if i % 2 else pm.Normal(f"x{i}", 0.0, 1.0) for i in range(n)
        ]
        pm.Normal("y", terms[0], terms[1], observed=np.array([0.3, -0.2]))
    return model


@pytest.mark.parametrize(("n", "n_terms"), [(5, 1), (40, 41)])
def test_log_density_is_the_models_whatever_its_number_of_terms(n, n_terms):
    model = many_variables(n)
    functions = moment_match_functions(model)
    assert functions.n_terms == n_terms and runs_in_python(functions.densities)
    rng = np.random.default_rng(0)
    draws = [rng.normal(size=(3,)) for _ in model.value_vars]  # unconstrained, 3 draws
    outputs = functions.densities(*draws)
    logp = model.compile_logp(jacobian=True)
    loglik = model.compile_fn(
        model.logp(vars=model.observed_RVs, sum=False)[0],
        inputs=model.value_vars,
        on_unused_input="ignore",
    )
    for d in range(3):
        point = {v.name: draws[j][d] for j, v in enumerate(model.value_vars)}
        assert functions.log_prob(outputs)[d] == pytest.approx(logp(point), rel=1e-12)
        np.testing.assert_allclose(functions.log_liks(outputs)[0][d], loglik(point), rtol=1e-12)
