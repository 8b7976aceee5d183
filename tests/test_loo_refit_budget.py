"""The refit budget of LOO repairs: exact refits stop where the rule says (no sampling).

The log-likelihood is synthetic: reliable points have Gaussian draws, the points meant
to be unreliable have draws ``k log U`` (U uniform), whose importance ratios
``1 / p(y_i | theta) = U^(-k)`` have a Pareto tail of shape ``k`` = 1.5, far above any
threshold. Moment matching is made to fail and the refit is a stand-in, so the test
exercises the rule only.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import arviz_stats as azs
import numpy as np
import pytest
import xarray as xr

from bayes_ketamine.inference import loo_repair

CHAINS, DRAWS, N_OBS = 4, 250, 40


def synthetic_fit(n_bad: int, seed: int = 0) -> xr.DataTree:
    """Return a tree whose ``score`` has ``n_bad`` points with heavy-tailed ratios."""
    rng = np.random.default_rng(seed)
    loglik = rng.normal(-2.0, 0.05, size=(CHAINS, DRAWS, N_OBS))
    loglik[..., :n_bad] = 1.5 * np.log(rng.uniform(size=(CHAINS, DRAWS, n_bad)))
    dims = ("chain", "draw", "symptom_obs")
    coords = {"chain": np.arange(CHAINS), "draw": np.arange(DRAWS)}
    return xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset(
                {"mu": (("chain", "draw"), rng.normal(size=(CHAINS, DRAWS)))}, coords=coords
            ),
            "log_likelihood": xr.Dataset({"score": (dims, loglik)}, coords=coords),
        }
    )


@pytest.fixture
def stand_ins(monkeypatch):
    """No moment matching; a stand-in exact refit that records which points it refits."""

    def no_moment_matching(*args, **kwargs):
        raise RuntimeError("moment matching unavailable")

    refitted = []

    def stand_in_point(model, var, i, refit, density=None):
        refitted.append(i)
        return float(refit(i))

    monkeypatch.setattr(loo_repair, "moment_match_inputs", no_moment_matching)
    monkeypatch.setattr(loo_repair, "exact_loo_point", stand_in_point)
    monkeypatch.setattr(loo_repair, "_log_density", lambda model: None)
    return refitted


def repaired(n_bad: int, observed_vars: tuple[str, ...]) -> xr.Dataset:
    """Return the repaired ``score`` table of a model with ``observed_vars``."""
    tree = synthetic_fit(n_bad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = azs.loo(tree, pointwise=True, var_name="score")
    model = SimpleNamespace(observed_vars=observed_vars, pymc_model=None)
    return loo_repair.repaired_loo_table(tree, model, "score", result, lambda i: -7.0 - i)


def test_the_synthetic_unreliable_points_are_those_above_the_threshold():
    tree = synthetic_fit(6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = azs.loo(tree, pointwise=True, var_name="score")
    high = np.flatnonzero(result.pareto_k.values > result.good_k)
    np.testing.assert_array_equal(high, np.arange(6))


def test_refit_budget_is_shared_by_the_observed_variables():
    assert loo_repair.refit_allowance(1) == loo_repair.REFIT_BUDGET
    assert loo_repair.refit_allowance(2) == loo_repair.REFIT_BUDGET // 2 == 5


def test_points_within_the_allowance_are_refitted(stand_ins):
    with pytest.warns(UserWarning, match="moment matching failed"):
        table = repaired(5, ("log_glx", "score"))
    assert stand_ins == [0, 1, 2, 3, 4]
    np.testing.assert_array_equal(table["repair"].values[:5], ["refit"] * 5)
    np.testing.assert_allclose(table["elpd_i"].values[:5], -7.0 - np.arange(5))
    assert (table["repair"].values[5:] == "").all()
    assert table.attrs["n_refit"] == 5 and table.attrs["n_unrepaired"] == 0
    assert table.attrs["unrepaired_reason"] == ""


def test_beyond_the_allowance_no_point_is_refitted_and_all_say_why(stand_ins):
    with pytest.warns(UserWarning, match="more than the 5 allowed per observed variable"):
        table = repaired(6, ("log_glx", "score"))
    assert stand_ins == []
    np.testing.assert_array_equal(table["repair"].values[:6], ["unrepaired"] * 6)
    np.testing.assert_array_equal(table["elpd_i"].values, table["elpd_i_psis"].values)
    assert table.attrs["n_refit"] == 0 and table.attrs["n_unrepaired"] == 6
    assert table.attrs["warning"] == 1
    reason = table.attrs["unrepaired_reason"]
    assert reason.startswith("not refitted: 6 points") and "`bayes-ketamine cv`" in reason


def test_a_model_with_one_observed_variable_has_the_whole_budget(stand_ins):
    with pytest.warns(UserWarning, match="moment matching failed"):
        table = repaired(6, ("score",))
    assert stand_ins == [0, 1, 2, 3, 4, 5]
    assert table.attrs["n_refit"] == 6 and table.attrs["n_unrepaired"] == 0


def test_too_many_unreliable_points_are_not_even_moment_matched(stand_ins, monkeypatch):
    n_bad = loo_repair.MAX_REPAIRS + 1
    monkeypatch.setattr(
        loo_repair.azs,
        "loo_moment_match",
        lambda *a, **k: pytest.fail("moment matching should not run"),
    )
    with pytest.warns(UserWarning, match=f"more than {loo_repair.MAX_REPAIRS} points"):
        table = repaired(n_bad, ("score",))
    assert stand_ins == []
    assert table.attrs["n_unrepaired"] == n_bad
    assert "`bayes-ketamine cv`" in table.attrs["unrepaired_reason"]


def test_the_comparison_says_why_a_model_cannot_be_ranked(stand_ins):
    import json

    from bayes_ketamine.inference import compare

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        within, beyond = repaired(5, ("log_glx", "score")), repaired(6, ("log_glx", "score"))

    def artifact(name: str, table: xr.Dataset) -> xr.DataTree:
        tree = xr.DataTree.from_dict({"loo": xr.DataTree.from_dict({"score": table})})
        tree.attrs = {"model_name": name, "study_name": "synthetic", "data_hash": "0"}
        return tree

    trees = [artifact("a", within), artifact("b", within), artifact("c", beyond)]
    table = compare(["a.nc", "b.nc", "c.nc"], trees=trees)
    reason = json.loads(table.attrs["unranked_json"])["score"]["c"]
    assert reason.startswith("6 point(s) with Pareto k >") and "not refitted: 6 points" in reason
    assert "`bayes-ketamine cv` (leave-one-participant-out)" in reason
    assert np.isnan(float(table["rank"].sel(model="c", observed="score")))


def test_moment_matching_without_covariance_changes_nothing_below_ten_draws_per_parameter():
    """A normal model with an outlier and 29 nuisance parameters, 200 draws of 30."""
    from scipy.stats import norm

    rng = np.random.default_rng(3)
    y = np.r_[rng.normal(size=19), 6.0]
    mu = rng.normal(y.mean(), 1 / np.sqrt(y.size), size=(4, 50))
    draws = np.concatenate([mu[..., None], rng.normal(size=(4, 50, 29))], -1)
    upars = xr.DataArray(draws, dims=("chain", "draw", "p"))

    def values(u: xr.DataArray) -> np.ndarray:
        return u.transpose("chain", "draw", "p").values

    def log_lik(v: np.ndarray) -> np.ndarray:
        return norm.logpdf(y, v[..., :1], 1.0)

    def log_prob(u):
        v = values(u)
        prior = norm.logpdf(v[..., 0], 0, 10) + norm.logpdf(v[..., 1:]).sum(-1)
        return xr.DataArray(log_lik(v).sum(-1) + prior, dims=("chain", "draw"))

    def log_lik_i(u, i):
        return xr.DataArray(log_lik(values(u))[..., i], dims=("chain", "draw"))

    loglik = xr.Dataset({"y": (("chain", "draw", "obs"), log_lik(draws))})
    posterior = xr.Dataset({"mu": (("chain", "draw"), mu)})
    tree = xr.DataTree.from_dict({"posterior": posterior, "log_likelihood": loglik})
    assert not loo_repair.matches_covariance(upars)
    matched = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loo = azs.loo(tree, pointwise=True, var_name="y")
        for cov in (True, False):
            matched[cov] = azs.loo_moment_match(
                tree,
                loo,
                log_prob_upars_fn=log_prob,
                log_lik_i_upars_fn=log_lik_i,
                upars=upars,
                var_name="y",
                pointwise=True,
                cov=cov,
            )
    assert loo.pareto_k.values[-1] > loo.good_k > matched[False].pareto_k.values[-1]
    np.testing.assert_array_equal(matched[True].elpd_i.values, matched[False].elpd_i.values)
    np.testing.assert_array_equal(matched[True].pareto_k.values, matched[False].pareto_k.values)
