"""Each hierarchical term centred or non-centred from the study (no real sampling)."""

import dataclasses
import json

import pytest
from inference_toy import ToyModel, fake_sample_posterior, toy_spec, toy_study

from bayes_ketamine.data import default_study, simulate_study
from bayes_ketamine.data.simulate import SimulationParameters
from bayes_ketamine.inference import FitSettings, fit, load_posterior
from bayes_ketamine.inference import fitting as fit_module
from bayes_ketamine.inference.provenance import package_versions
from bayes_ketamine.inference.structure import model_structure_key
from bayes_ketamine.models import build_model
from bayes_ketamine.models.parametrisation import CENTRED_MIN_RATIO, Parametrisation
from bayes_ketamine.models.spec import resolve_spec

FACTOR_TERMS = {
    "glutamate": ("glx_condition_effect",),
    "symptoms": ("symptom_condition_effect_by_time",),
    "joint": ("glx_condition_effect", "direct_effect_by_time"),
}


def choices(model) -> dict[str, str]:
    return {term: choice.name for term, choice in model.parametrisation.items()}


def free(model) -> set[str]:
    return {rv.name for rv in model.pymc_model.free_RVs}


def test_rule_compares_the_data_precision_of_a_level_with_the_prior():
    at = Parametrisation(observations=CENTRED_MIN_RATIO, noise_scale=2.0, level_scale=2.0)
    below = Parametrisation(observations=CENTRED_MIN_RATIO - 0.5, noise_scale=2.0, level_scale=2.0)
    assert at.centred and not below.centred
    # twice the noise needs four times the observations
    assert not Parametrisation(observations=23.9, noise_scale=4.0, level_scale=2.0).centred
    assert Parametrisation(observations=24.0, noise_scale=4.0, level_scale=2.0).centred
    assert at.to_dict()["information_ratio"] == CENTRED_MIN_RATIO


def test_default_trial_keeps_its_parametrisation():
    model = build_model("joint_partial", default_study())
    assert choices(model) == {
        "glx_participant_offset": "centred",  # ten blocks per participant
        "glx_condition_effect": "non-centred",  # 13 participants per sex
        "glx_session_response": "non-centred",  # four post-infusion blocks
        "symptom_participant_offset": "centred",  # four ratings
        "direct_effect_by_time": "non-centred",
    }
    assert {"glx_condition_effect_sex_z", "direct_effect_by_time_sex_z", "glx_session_z"} <= free(
        model
    )
    assert model.parametrisation["glx_condition_effect"].observations == 13
    # the mediation keeps its own coordinates in the trial (graph unchanged)
    assert {"effect_b", "direct_effect_by_time_sex_z"} <= free(model)
    assert not {name for name in free(model) if name.startswith("total_effect")}
    assert "effect_b_per_response_sd" not in model.pymc_model.named_vars


def test_large_joint_model_samples_total_effects_and_the_slope_per_response_sd():
    model = build_model("joint_partial", simulate_study(seed=3, n_participants=200)[0])
    names = free(model)
    assert {
        "total_effect_by_time_level_mean",
        "total_effect_by_time_sex_deviation",
        "effect_b_per_response_sd",
        "direct_effect_by_time_mean_z",
        "direct_effect_by_time_sex_sd",
    } <= names
    assert not {"effect_b", "direct_effect_by_time_level_mean"} & names
    dims = model.pymc_model.named_vars_to_dims
    assert (
        dims["direct_effect_by_time"] == dims["total_effect_by_time"] == ("post_timepoint", "sex")
    )
    # the symptom-only model has no slope to shift by
    symptoms = build_model("symptoms_partial", simulate_study(seed=3, n_participants=200)[0])
    assert "symptom_condition_effect_by_time_level_mean" in free(symptoms)


def test_the_mediation_coordinates_keep_the_prior():
    import numpy as np
    import pymc as pm

    model = build_model("joint_partial", simulate_study(seed=3, n_participants=200)[0])
    names = [
        "effect_b",
        "glx_response_sd",
        "glx_condition_effect",
        "direct_effect_by_time",
        "direct_effect_by_time_mean",
    ]
    prior = pm.sample_prior_predictive(
        draws=4000, model=model.pymc_model, random_seed=5, var_names=names
    )["prior"]
    b = prior["effect_b"].values.ravel()
    tau = prior["glx_response_sd"].values.ravel()
    a = prior["glx_condition_effect"].values.reshape(-1, 2)
    direct = prior["direct_effect_by_time"].values.reshape(-1, 2)
    mean = prior["direct_effect_by_time_mean"].values.ravel()
    # b ~ Normal(0, 0.5) independent of tau_A; c' ~ Normal(m, tau), m ~ Normal(0, 5),
    # tau ~ HalfNormal(3), independent of a and b
    assert np.std(b) == pytest.approx(0.5, rel=0.06)
    assert abs(np.corrcoef(b, tau)[0, 1]) < 0.05
    assert abs(np.corrcoef(np.abs(b), tau)[0, 1]) < 0.05
    assert np.std(mean) == pytest.approx(5.0, rel=0.06)
    assert np.std(direct - mean[:, None]) == pytest.approx(3.0, rel=0.06)
    for k in range(2):
        assert abs(np.corrcoef(direct[:, k], a[:, k] * b)[0, 1]) < 0.05
        assert abs(np.corrcoef(direct[:, k], b)[0, 1]) < 0.05


def test_a_shifted_zero_sum_normal_is_the_zero_sum_normal_moved():
    import numpy as np
    import pymc as pm
    import pytensor.tensor as pt

    from bayes_ketamine.models.base import _shifted_zero_sum_normal

    loc = np.array([[-0.4, 0.1, 0.3]])
    value = np.array([[0.5, -1.2, 0.7]])
    shifted = pm.CustomDist.dist(
        pt.as_tensor(loc), pt.as_tensor([[1.7]]), dist=_shifted_zero_sum_normal
    )
    plain = pm.ZeroSumNormal.dist(sigma=1.7, shape=(1, 3))
    assert pm.logp(shifted, value).eval() == pytest.approx(pm.logp(plain, value - loc).eval())
    draws = pm.draw(shifted, draws=2000, random_seed=1)
    assert np.abs(draws.sum(axis=-1)).max() < 1e-9
    assert draws.mean(axis=0) == pytest.approx(loc, abs=0.12)


@pytest.mark.parametrize("family", ["glutamate", "symptoms", "joint"])
def test_factor_effects_centred_with_many_participants_per_level(family):
    study = simulate_study(seed=3, n_participants=200)[0]  # 100 per sex
    model = build_model(f"{family}_partial", study)
    for term in FACTOR_TERMS[family]:
        assert model.parametrisation[term].observations == 100
        assert choices(model)[term] == "centred"
        # the joint model samples the direct effects as total effects (shifted by a b)
        moved = "total_effect_by_time" if term == "direct_effect_by_time" else term
        assert {f"{moved}_level_mean", f"{moved}_sex_deviation", f"{term}_mean_z"} <= free(model)
        assert f"{term}_sex_z" not in free(model)
        assert model.pymc_model.named_vars_to_dims[term][-1] == "sex"


def test_centred_factor_effects_have_the_prior_of_the_non_centred_ones():
    import numpy as np
    import pymc as pm

    study = simulate_study(seed=3, n_participants=200)[0]
    model = build_model("glutamate_partial", study)
    prior = pm.sample_prior_predictive(
        draws=4000,
        model=model.pymc_model,
        random_seed=2,
        var_names=["glx_condition_effect", "glx_condition_effect_mean"],
    )["prior"]
    effect = prior["glx_condition_effect"].values.reshape(-1, 2)
    mean = prior["glx_condition_effect_mean"].values.ravel()
    # mean ~ Normal(0, 5); effect[k] - mean ~ tau * z with tau ~ HalfNormal(4): SD 4
    assert np.std(mean) == pytest.approx(5.0, rel=0.06)
    assert np.std(effect - mean[:, None]) == pytest.approx(4.0, rel=0.06)
    # the two levels are independent given mean and tau: their difference has SD 4 * sqrt 2
    assert np.std(effect[:, 1] - effect[:, 0]) == pytest.approx(4.0 * np.sqrt(2), rel=0.06)
    assert abs(np.corrcoef(mean, effect[:, 1] - effect[:, 0])[0, 1]) < 0.05


def test_the_smallest_level_decides():
    params = SimulationParameters(male_fraction=0.1)
    study = simulate_study(seed=3, n_participants=200, params=params)[0]  # 20 M, 180 F
    model = build_model("glutamate_partial", study)
    assert model.parametrisation["glx_condition_effect"].observations == 20
    assert choices(model)["glx_condition_effect"] == "non-centred"


def test_participants_without_a_contrast_do_not_count():
    study = simulate_study(seed=3, n_participants=200, dropout_fraction=0.5)[0]
    model = build_model("glutamate_partial", study)
    assert model.parametrisation["glx_condition_effect"].observations < 60


def test_a_wider_prior_on_the_between_level_sd_centres_the_trial():
    spec = resolve_spec("glutamate_partial")
    wide = dataclasses.replace(spec, priors={"glx_condition_effect_sex_sd": {"sigma": 12.0}})
    model = build_model(wide, default_study())
    assert model.parametrisation["glx_condition_effect"].level_scale == 12.0
    assert choices(model)["glx_condition_effect"] == "centred"


def test_no_factor_term_without_partial_pooling():
    for pooling in ("none", "complete"):
        model = build_model(f"glutamate_{pooling}", default_study())
        assert "glx_condition_effect" not in model.parametrisation


def test_glutamate_participant_and_session_terms_follow_the_blocks():
    dense = SimulationParameters(block_times_min=(-10, *range(5, 200, 5)))  # 39 post blocks
    model = build_model("glutamate_partial", simulate_study(seed=1, params=dense)[0])
    assert choices(model)["glx_session_response"] == "centred"
    assert "glx_session_response" in free(model) and "glx_session_z" not in free(model)
    thin = SimulationParameters(block_times_min=(-10, 30))  # four blocks per participant
    model = build_model("glutamate_partial", simulate_study(seed=1, params=thin)[0])
    assert choices(model)["glx_participant_offset"] == "non-centred"
    assert "glx_participant_z" in free(model) and "glx_participant_offset" not in free(model)
    assert model.pymc_model.named_vars_to_dims["glx_participant_offset"] == ("participant",)


def test_the_choice_is_part_of_the_structure():
    versions = package_versions()
    few = build_model("symptoms_partial", default_study()).pymc_model
    other_few = build_model("symptoms_partial", simulate_study(seed=8)[0]).pymc_model
    many = build_model("symptoms_partial", simulate_study(seed=8, n_participants=240)[0])
    assert choices(many)["symptom_condition_effect_by_time"] == "centred"
    assert model_structure_key(few, versions) == model_structure_key(other_few, versions)
    assert model_structure_key(few, versions) != model_structure_key(many.pymc_model, versions)


def test_the_artifact_records_each_terms_parametrisation(tmp_path, monkeypatch):
    monkeypatch.setattr(fit_module, "sample_posterior", fake_sample_posterior)
    # toy contrast SDs: 20 participants per sex centre the Glx effect, not the symptom one
    model = ToyModel(toy_spec(), toy_study(n_participants=40))
    settings = FitSettings(draws=40, tune=10, chains=2, prior_draws=10)
    result = fit(model, settings=settings, out_dir=tmp_path, progress=False)
    record = json.loads(load_posterior(result.path).attrs["parametrisation_json"])
    assert record["glx_condition_effect"]["parametrisation"] == "centred"
    assert record["symptom_condition_effect"]["parametrisation"] == "non-centred"
    assert record["glx_condition_effect"]["observations_per_level"] == 20
    assert record["symptom_condition_effect"]["information_ratio"] == pytest.approx(5.0)


def test_mediation_coordinates_with_more_levels_and_conditions():
    import numpy as np

    sites = ("A", "B", "C", "D")
    params = SimulationParameters(
        sites=sites,
        effects_by="site",
        glx_condition_effect_pct={s: -3.0 for s in sites},
        direct_effect={s: 2.0 for s in sites},
        sequences=(
            "placebo-naltrexone-midazolam",
            "naltrexone-midazolam-placebo",
            "midazolam-placebo-naltrexone",
        ),
        extra_glx_condition_effect_pct={"midazolam": {s: -6.0 for s in sites}},
        extra_direct_effect={"midazolam": {s: 6.0 for s in sites}},
    )
    study = simulate_study(seed=2, n_participants=600, params=params)[0]  # 150 per site
    spec = dataclasses.replace(resolve_spec("joint_partial"), pooling_factor="site")
    model = build_model(spec, study)
    assert choices(model)["direct_effect_by_time"] == "centred"
    dims = model.pymc_model.named_vars_to_dims
    expected = ("post_timepoint", "active_condition", "site")
    assert dims["total_effect_by_time_site_deviation"] == expected
    assert dims["direct_effect_by_time"] == expected
    point = model.pymc_model.initial_point()
    values = model.pymc_model.compile_fn(
        [model.pymc_model[name] for name in ("direct_effect_by_time", "total_effect_by_time")],
        inputs=model.pymc_model.value_vars,
        on_unused_input="ignore",
    )(point)
    assert values[0].shape == (1, 2, 4)
    # the deviations of the total effects sum to zero over the sites
    deviation = model.pymc_model.compile_fn(
        model.pymc_model["total_effect_by_time_site_deviation"],
        inputs=model.pymc_model.value_vars,
        on_unused_input="ignore",
    )({**point, "total_effect_by_time_site_deviation_zerosum__": np.ones((1, 2, 3))})
    assert np.allclose(deviation.sum(axis=-1), 0.0)
