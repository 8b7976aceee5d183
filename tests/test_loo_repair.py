"""Repaired PSIS-LOO: moment matching and exact refits agree; comparisons use the repairs."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import xarray as xr
from scipy.special import logsumexp

from bayes_ketamine.inference.settings import FitSettings

pytestmark = [pytest.mark.sampling]

SETTINGS = FitSettings(draws=300, tune=300, chains=2, seed=11)


@pytest.fixture(scope="module")
def outlier_fit(tmp_path_factory):
    """A small simulated study with one rating 14 points off, fitted (high-k points)."""
    from bayes_ketamine.data.simulate import simulate_study
    from bayes_ketamine.inference import fit
    from bayes_ketamine.models import build_model

    study, _ = simulate_study(5, n_participants=8)
    symptoms = study.symptoms.copy()
    row = symptoms.index[symptoms["score"].notna()][5]
    symptoms.loc[row, "score"] = symptoms.loc[row, "score"] + 14
    study = replace(study, symptoms=symptoms, name="small simulated study with an outlier")
    result = fit(
        "symptoms_partial",
        study=study,
        settings=SETTINGS,
        out_dir=tmp_path_factory.mktemp("art"),
        progress=False,
    )
    return result, build_model("symptoms_partial", study)


def _exact(model, i: int, refit) -> tuple[float, float, float]:
    """Exact LOO of rating ``i``, its Monte Carlo SE and the coefficient of variation
    of the rating's likelihood over the LOO posterior (delta method, with the ESS)."""
    import arviz_stats as azs

    from bayes_ketamine.inference.batched import LogDensity
    from bayes_ketamine.inference.loo_repair import study_without
    from bayes_ketamine.models import build_model

    posterior = refit(build_model(model.spec, study_without(model, "score", i)))
    loglik, _ = LogDensity(model.pymc_model).compile()(posterior)
    values = loglik["score"].isel(symptom_obs=i)
    w = np.exp(values - values.max())
    cv = float(w.std(ddof=1) / w.mean())
    ess = float(azs.ess(w.expand_dims("x"), sample_dims=["chain", "draw"]).squeeze())
    return float(logsumexp(values.values) - np.log(values.size)), cv / np.sqrt(ess), cv


def test_moment_matched_points_agree_with_exact_refits(outlier_fit):
    from bayes_ketamine.inference.fitting import _refit
    from bayes_ketamine.inference.provenance import package_versions

    result, model = outlier_fit
    table = result.tree["loo"]["score"].to_dataset()
    assert table.attrs["n_unrepaired"] == 0 and table.attrs["warning"] == 0
    repaired = np.flatnonzero(table["repair"].values == "moment_match")
    assert repaired.size >= 1
    assert (table["pareto_k"].values[repaired] > table.attrs["good_k"]).all()
    assert 5 in repaired  # the outlier
    assert float(table.attrs["elpd"]) == pytest.approx(float(table["elpd_i"].sum()))
    refit = _refit(replace(SETTINGS, draws=1000), package_versions())
    worst = repaired[np.argsort(table["pareto_k"].values[repaired])[::-1][:3]]
    for i in worst:
        exact, mcse, cv = _exact(model, int(i), refit)
        # importance-sampling error of the moment-matched estimate: CV / sqrt(n_eff)
        mcse_mm = cv / np.sqrt(float(table["n_eff_repaired"][i]))
        tolerance = 3 * np.hypot(mcse, mcse_mm)
        assert float(table["elpd_i"][i]) == pytest.approx(exact, abs=tolerance)


def test_refits_repair_what_moment_matching_cannot(outlier_fit, monkeypatch):
    import arviz_stats as azs

    from bayes_ketamine.inference import loo_repair

    result, model = outlier_fit
    tree = result.tree
    loo = azs.loo(tree, pointwise=True, var_name="score")

    def no_moment_matching(*args, **kwargs):
        raise RuntimeError("moment matching unavailable")

    monkeypatch.setattr(loo_repair.azs, "loo_moment_match", no_moment_matching)
    calls = []

    def refit(reduced):
        calls.append(reduced.study.name)
        # a fixed "posterior": the full fit's draws, so the exact value is known
        return tree["posterior"].to_dataset()

    with pytest.warns(UserWarning, match="moment matching failed"):
        table = loo_repair.repaired_loo_table(tree, model, "score", loo, refit)
    bad = np.flatnonzero(table["pareto_k"].values > table.attrs["good_k"])
    assert (table["repair"].values[bad] == "refit").all() and len(calls) == bad.size
    full = tree["log_likelihood"]["score"].values.reshape(-1, table.sizes["symptom_obs"])
    expected = logsumexp(full[:, bad], axis=0) - np.log(full.shape[0])
    np.testing.assert_allclose(table["elpd_i"].values[bad], expected)
    good = np.setdiff1d(np.arange(table.sizes["symptom_obs"]), bad)
    np.testing.assert_array_equal(table["elpd_i"].values[good], table["elpd_i_psis"].values[good])


def test_comparison_uses_repairs_and_names_the_models_it_cannot_rank(outlier_fit, monkeypatch):
    import arviz_stats as azs

    from bayes_ketamine.inference import compare, loo_repair

    result, model = outlier_fit
    tree = result.tree
    loo = azs.loo(tree, pointwise=True, var_name="score")
    monkeypatch.setattr(
        loo_repair.azs, "loo_moment_match", lambda *a, **k: (_ for _ in ()).throw(ValueError())
    )

    def failing_refit(reduced):
        raise RuntimeError("no sampler")

    with pytest.warns(UserWarning):
        unrepaired = loo_repair.repaired_loo_table(tree, model, "score", loo, failing_refit)
    assert unrepaired.attrs["n_unrepaired"] > 0
    assert set(unrepaired["repair"].values) == {"", "unrepaired"}

    def renamed(name: str, table: xr.Dataset | None = None) -> xr.DataTree:
        copy = tree.copy()
        copy.attrs = {**tree.attrs, "model_name": name}
        if table is not None:
            copy["loo"] = xr.DataTree.from_dict({"score": table})
        return copy

    trees = [renamed("a"), renamed("b"), renamed("c", unrepaired)]
    table = compare(["a.nc", "b.nc", "c.nc"], trees=trees)
    assert table.attrs["criterion"] == "PSIS-LOO, high-k points repaired"
    assert list(table["model"].values) == ["a", "b", "c"]
    assert np.isnan(float(table["rank"].sel(model="c", observed="score")))
    assert "not repaired" in table.attrs["unranked_json"] and '"c"' in table.attrs["unranked_json"]
    stored = tree["loo"]["score"].to_dataset()
    assert float(table["elpd"].sel(model="a", observed="score")) == pytest.approx(
        float(stored["elpd_i"].sum())
    )
    assert float(stored["elpd_i"].sum()) != pytest.approx(float(stored["elpd_i_psis"].sum()))


def test_moment_matching_of_another_study_of_the_design_compiles_nothing(outlier_fit, monkeypatch):
    import pymc as pm
    from test_inference_compile_once import counting_compilations

    from bayes_ketamine.data.simulate import simulate_study
    from bayes_ketamine.inference.moment_match import moment_match_inputs
    from bayes_ketamine.inference.provenance import package_versions
    from bayes_ketamine.models import build_model

    result, model = outlier_fit
    versions = package_versions()
    moment_match_inputs(result.tree["posterior"].to_dataset(), model.pymc_model, "score", versions)
    other = build_model("symptoms_partial", simulate_study(6, n_participants=8)[0])
    names = [rv.name for rv in other.pymc_model.free_RVs]
    draws = pm.sample_prior_predictive(30, model=other.pymc_model, var_names=names, random_seed=1)[
        "prior"
    ]
    with counting_compilations(monkeypatch) as counts:
        log_prob, log_lik_i, upars = moment_match_inputs(
            draws.to_dataset(), other.pymc_model, "score", versions
        )
        assert np.isfinite(log_prob(upars).values).all()
        assert np.isfinite(log_lik_i(upars, 0).values).all()
    assert dict(counts) == {}
