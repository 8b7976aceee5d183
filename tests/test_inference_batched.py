"""The fast post-processing paths give what PyMC's and arviz-stats' own functions give."""

from __future__ import annotations

import arviz_stats as azs
import numpy as np
import pymc as pm
import pytest
import xarray as xr
from inference_toy import toy_model

from bayes_ketamine.inference.batched import LogDensity, PosteriorPredictive
from bayes_ketamine.inference.ppc import loo_pit_values
from bayes_ketamine.inference.sensitivity import _psense, _summed


@pytest.fixture(scope="module")
def toy():
    """The toy model and a tree whose 'posterior' is 2 x 30 prior draws."""
    model = toy_model()
    prior = pm.sample_prior_predictive(draws=60, model=model.pymc_model, random_seed=3)
    draws = prior["prior"].to_dataset()
    posterior = xr.Dataset(
        {
            name: (("chain", "draw", *da.dims[2:]), da.values.reshape(2, 30, *da.shape[2:]))
            for name, da in draws.data_vars.items()
        },
        coords={
            **{c: draws[c] for c in draws.coords if c not in ("chain", "draw")},
            "chain": np.arange(2),
            "draw": np.arange(30),
        },
    )
    tree = xr.DataTree.from_dict(
        {"posterior": posterior, "observed_data": prior["observed_data"].to_dataset()}
    )
    return model, tree


def test_log_density_equals_pymc(toy):
    model, tree = toy
    like, prior = LogDensity(model.pymc_model).compile()(tree["posterior"].to_dataset())
    ref_like = pm.compute_log_likelihood(
        tree, model=model.pymc_model, extend_inferencedata=False, progressbar=False
    )
    ref_prior = pm.stats.compute_log_prior(
        tree, model=model.pymc_model, extend_inferencedata=False, progressbar=False
    )
    for ours, ref in ((like, ref_like), (prior, ref_prior)):
        assert set(ours.data_vars) == set(ref.data_vars)
        for name in ref.data_vars:
            assert ours[name].dims == ref[name].dims
            np.testing.assert_allclose(ours[name].values, ref[name].values, rtol=1e-10)


def test_posterior_predictive_equals_pymc(toy):
    model, tree = toy
    ours_tree = PosteriorPredictive(model.pymc_model, 17).compile()(tree["posterior"].to_dataset())
    ref_tree = pm.sample_posterior_predictive(
        tree.copy(),
        model=model.pymc_model,
        random_seed=17,
        progressbar=False,
        extend_inferencedata=True,
    )
    assert set(ours_tree.children) <= set(ref_tree.children)
    for group in {"observed_data", "constant_data"} & set(ref_tree.children):
        xr.testing.assert_equal(ours_tree[group].to_dataset(), ref_tree[group].to_dataset())
    ours = ours_tree["posterior_predictive"].to_dataset()
    ref = ref_tree["posterior_predictive"].to_dataset()
    alone = PosteriorPredictive(model.pymc_model, 17)(tree["posterior"].to_dataset(), False)
    assert set(alone.children) == {"posterior_predictive"}
    xr.testing.assert_equal(alone["posterior_predictive"].to_dataset(), ours)
    assert set(ours.data_vars) == set(ref.data_vars) == {"log_glx", "score"}
    for name in ref.data_vars:
        assert ours[name].dims == ref[name].dims
        # same distribution; with these seeds and models also the same draws
        np.testing.assert_allclose(ours[name].values, ref[name].values)


@pytest.fixture(scope="module")
def toy_with_densities(toy):
    model, tree = toy
    tree = tree.copy()
    posterior = tree["posterior"].to_dataset()
    tree["log_likelihood"], tree["log_prior"] = LogDensity(model.pymc_model)(posterior)
    tree.update(PosteriorPredictive(model.pymc_model, 1)(posterior))
    return model, tree


@pytest.mark.parametrize(
    ("group", "obs"), [("prior", None), ("likelihood", None), ("likelihood", "score")]
)
def test_psense_equals_arviz_stats(toy_with_densities, group, obs):
    _, tree = toy_with_densities
    names = ["glx_condition_effect"]
    ref = azs.psense(tree, var_names=names, group=group, group_var_names=obs)
    density = tree[f"log_{group}"].to_dataset()
    ours = _psense(
        tree["posterior"].to_dataset()[names], _summed(density[[obs]] if obs else density)
    )
    np.testing.assert_allclose(ours[names[0]].values, ref[names[0]].values, rtol=1e-10)


def test_loo_pit_reusing_loo_weights_is_unchanged(toy_with_densities):
    _, tree = toy_with_densities
    names = ["log_glx", "score"]
    results = {v: azs.loo(tree, pointwise=True, var_name=v) for v in names}
    ref = azs.loo_pit(tree, var_names=names)
    ours = loo_pit_values(tree, names, results)
    for name in names:
        np.testing.assert_allclose(ours[name].values, ref[name].values)


def test_python_linker_functions_make_no_c_thunks(monkeypatch):
    """The censored score's random op has an inner function: it is linked in Python too."""
    from pytensor.link.c.op import COp

    from bayes_ketamine.data import default_study
    from bayes_ketamine.inference.prior_predictive import PriorPredictive
    from bayes_ketamine.models import build_model, resolve_spec

    made: list[str] = []
    make_c_thunk = COp.make_c_thunk

    def counting(self, node, *args, **kwargs):
        made.append(str(self))
        return make_c_thunk(self, node, *args, **kwargs)

    monkeypatch.setattr(COp, "make_c_thunk", counting)
    pm_model = build_model(resolve_spec("symptoms_partial"), default_study()).pymc_model
    assert any(
        isinstance(rv.owner.op, pm.distributions.distribution.SymbolicRandomVariable)
        for rv in pm_model.observed_RVs
    )
    PosteriorPredictive(pm_model, 1).compile()
    PriorPredictive(pm_model, 1).compile()(2)
    assert made == []
