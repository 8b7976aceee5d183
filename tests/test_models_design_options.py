"""Design options: pooling by any participant factor and participant covariates.

Model-building tests (no sampling): the graph has the right variables and dims, the
structure key is shared by studies of one design whatever their labels and values,
and bad input is a clear error naming the file, line and column.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pymc as pm
import pytest
from design_sequences import WILLIAMS

from bayes_ketamine.data import (
    SimulationParameters,
    import_nimh,
    load_study,
    simulate_study,
    write_study,
)
from bayes_ketamine.inference.structure import model_structure_key
from bayes_ketamine.models import ModelSpec, SpecError, build_model, resolve_spec, spec_from_dict

FAMILIES = ("glutamate", "symptoms", "joint")
POOLINGS = ("none", "partial", "complete")


def site_parameters(sites: tuple[str, ...], **extra) -> SimulationParameters:
    """Effects keyed by site (known truths), an age and a severity covariate."""
    return SimulationParameters(
        sites=sites,
        effects_by="site",
        glx_condition_effect_pct={s: -1.0 - k for k, s in enumerate(sites)},
        direct_effect={s: 2.0 - k for k, s in enumerate(sites)},
        covariates={"age": (35.0, 10.0), "severity": (30.0, 5.0)},
        glx_covariate_effect_pct={"age": 1.5},
        symptom_covariate_effect={"severity": -2.0},
        **extra,
    )


@pytest.fixture(scope="module")
def site_study():
    study, _ = simulate_study(
        seed=1, n_participants=24, params=site_parameters(("A", "B", "C", "D"))
    )
    return study


def spec(family: str, pooling: str = "partial", **options) -> ModelSpec:
    options.setdefault("pooling_factor", "site")
    return ModelSpec(name="x", family=family, pooling=pooling, **options)


def key(model) -> str:
    return model_structure_key(model.pymc_model, {})


def with_participants(study, participants: pd.DataFrame):
    return dataclasses.replace(study, participants=participants)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("pooling", POOLINGS)
def test_pooling_by_site_has_levels_pooled_effects_and_contrasts(site_study, family, pooling):
    model = build_model(spec(family, pooling), site_study)
    pm_model = model.pymc_model
    assert pm_model.coords["site"] == ("A", "B", "C", "D")
    assert len(pm_model.coords["site_pair"]) == 6 and "B - A" in pm_model.coords["site_pair"]
    assert "sex" not in pm_model.coords
    dims = pm_model.named_vars_to_dims
    first = "glx_condition_effect" if family != "symptoms" else "symptom_condition_effect"
    assert dims[first] == ("site",)
    assert dims[f"{first}_contrast"] == ("site_pair",)
    assert f"{first}_pooled" in pm_model.named_vars
    assert "glx_sex_difference" not in pm_model.named_vars
    for name in model.key_effects:
        assert name in pm_model.named_vars, name
    assert ("glx_condition_effect_site_sd" in pm_model.named_vars) == (
        pooling == "partial" and family != "symptoms"
    )
    np.testing.assert_array_equal(
        pm_model["participant_site"].get_value(),
        site_study.participants["site"].map({"A": 0, "B": 1, "C": 2, "D": 3}).to_numpy(),
    )
    assert np.isfinite(pm_model.point_logps()[model.observed_vars[0]])


def test_site_contrast_is_the_difference_of_levels(site_study):
    model = build_model(spec("glutamate", "none"), site_study)
    pm_model = model.pymc_model
    point = {"glx_condition_effect": np.array([1.0, 2.0, 4.0, 8.0])}
    values = pm_model.compile_fn(
        pm_model["glx_condition_effect_contrast"], inputs=[pm_model["glx_condition_effect"]]
    )(point)
    pairs = pm_model.coords["site_pair"]
    expected = {"B - A": 1.0, "C - A": 3.0, "D - A": 7.0, "C - B": 2.0, "D - B": 6.0, "D - C": 4.0}
    assert dict(zip(pairs, values, strict=True)) == expected


def test_sex_pooling_keeps_its_names(site_study):
    model = build_model("joint_partial", site_study)
    names = model.pymc_model.named_vars
    assert model.pymc_model.coords["sex"] == ("F", "M")
    assert "glx_sex_difference" in names and "glx_condition_effect_sex_sd" in names
    assert not any(name.endswith("_contrast") for name in names)
    assert model.key_effects == type(model).KEY_EFFECTS


def test_between_level_sd_prior_is_named_after_the_factor(site_study):
    model = build_model(
        spec("glutamate", priors={"glx_condition_effect_site_sd": {"sigma": 1.5}}), site_study
    )
    assert model.priors["glx_condition_effect_site_sd"] == {"sigma": 1.5}
    assert "glx_condition_effect_sex_sd" not in model.priors
    with pytest.raises(SpecError, match="glx_condition_effect_sex_sd"):
        build_model(
            spec("glutamate", priors={"glx_condition_effect_sex_sd": {"sigma": 1.5}}), site_study
        )


@pytest.mark.parametrize("family", FAMILIES)
def test_structure_key_ignores_site_labels_count_and_covariate_values(family):
    options = {"glx_covariates": ("age",), "symptom_covariates": ("severity", "age")}
    studies = [
        simulate_study(seed=1, n_participants=24, params=site_parameters(("A", "B", "C", "D"))),
        simulate_study(seed=2, n_participants=31, params=site_parameters(("s1", "s2", "s3", "s4"))),
        simulate_study(seed=3, n_participants=17, params=site_parameters(("north", "south"))),
    ]
    assert studies[0][0].participants["age"].tolist() != studies[1][0].participants["age"].tolist()
    keys = {key(build_model(spec(family, **options), study)) for study, _ in studies}
    assert len(keys) == 1
    without = key(build_model(spec(family), studies[0][0]))
    assert without not in keys  # covariates are structure


def test_pooling_factor_and_covariates_come_from_a_spec_file(tmp_path, site_study):
    path = tmp_path / "site.toml"
    path.write_text(
        'name = "site"\nfamily = "symptoms"\n[pooling]\nsite = "partial"\n'
        '[covariates]\nsymptoms = ["severity"]\nmissing = "mean"\n'
    )
    loaded = resolve_spec(path)
    assert (loaded.pooling_factor, loaded.symptom_covariates) == ("site", ("severity",))
    assert loaded.to_dict()["pooling"] == {"site": "partial"}
    assert resolve_spec("symptoms_partial").to_dict()["pooling"] == {"sex": "partial"}
    model = build_model(loaded, site_study)
    assert model.pymc_model.named_vars_to_dims["symptom_covariate_effect"] == ("symptom_covariate",)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p.drop(columns="site"), r"participants.csv, column 'site': no such column"),
        (lambda p: p.assign(site="A"), r"column 'site': has the single level 'A'"),
        (lambda p: p.assign(site=p["site"].where(p.index != 4)), r"line\(s\) 6, column 'site'"),
        (lambda p: p.assign(site=p["age"]), r"column 'site': is numeric"),
    ],
)
def test_bad_pooling_factor_is_an_error_naming_file_line_column(site_study, change, message):
    broken = with_participants(site_study, change(site_study.participants))
    with pytest.raises(SpecError, match=message):
        build_model(spec("symptoms"), broken)


def test_covariates_are_standardised_data(site_study):
    model = build_model(spec("glutamate", glx_covariates=("age", "severity")), site_study)
    values = model.pymc_model["glx_covariates"].get_value()
    assert values.shape == (24, 2)
    np.testing.assert_allclose(values.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(values.std(axis=0, ddof=1), 1.0)
    age = site_study.participants["age"].astype(float)
    np.testing.assert_allclose(values[:, 0], (age - age.mean()) / age.std())
    dims = model.pymc_model.named_vars_to_dims
    assert dims["glx_covariate_effect"] == ("glx_covariate",)
    assert model.pymc_model.coords["glx_covariate"] == ("age", "severity")


def test_bad_covariates_are_errors_naming_file_line_column(site_study):
    people = site_study.participants.copy()
    people["severity"] = people["severity"].astype(object)
    people.loc[2, "severity"] = "high"
    people.loc[5, "severity"] = ""
    broken = with_participants(site_study, people)
    with pytest.raises(SpecError) as err:
        build_model(spec("symptoms", symptom_covariates=("severity", "bmi")), broken)
    text = str(err.value)
    bad = "participants.csv, line 4, column 'severity': covariate value 'high' is not a number"
    assert bad in text
    assert "participants.csv, line 7, column 'severity': covariate value is missing" in text
    assert "participants.csv, column 'bmi': covariate is not a column" in text


def test_missing_covariate_may_be_set_to_the_mean_when_the_spec_says_so(site_study):
    people = site_study.participants.copy()
    people["severity"] = people["severity"].astype(object)
    people.loc[5, "severity"] = "n/a"
    broken = with_participants(site_study, people)
    with pytest.raises(SpecError, match="line 7, column 'severity'"):
        build_model(spec("symptoms", symptom_covariates=("severity",)), broken)
    model = build_model(
        spec("symptoms", symptom_covariates=("severity",), covariate_missing="mean"), broken
    )
    values = model.pymc_model["symptom_covariates"].get_value()[:, 0]
    assert values[5] == 0.0
    observed = np.delete(values, 5)
    np.testing.assert_allclose([observed.mean(), observed.std(ddof=1)], [0.0, 1.0], atol=1e-12)


@pytest.mark.parametrize("pooling", POOLINGS)
def test_shipped_nimh_specs_pool_by_diagnostic_group(pooling):
    study = import_nimh("all", timepoints=("day2", "day10"))
    model = build_model(f"symptoms_group_{pooling}", study)
    pm_model = model.pymc_model
    assert pm_model.coords["group"] == ("BP", "HC", "MDD")
    assert pm_model.named_vars_to_dims["symptom_condition_effect"] == ("group",)
    assert "symptom_condition_effect_contrast" in model.key_effects
    hamd = build_model(
        f"symptoms_group_{pooling}", import_nimh("all", timepoints=("day2", "day10"), scale="HAMD")
    )
    assert key(hamd) == key(model)
    with pytest.raises(SpecError, match="column 'group': no such column"):
        build_model(f"symptoms_group_{pooling}", simulate_study(seed=0, n_participants=6)[0])


def test_simulated_sites_and_covariates_have_known_truths(site_study):
    study, truth = simulate_study(
        seed=1, n_participants=24, params=site_parameters(("A", "B", "C", "D"))
    )
    people = study.participants
    assert people["site"].value_counts().to_dict() == {"A": 6, "B": 6, "C": 6, "D": 6}
    assert truth.glx_condition_effect == {"A": -1.0, "B": -2.0, "C": -3.0, "D": -4.0}
    assert truth.glx_condition_effect_pooled == -2.5
    assert truth.glx_covariate_effect == {"age": 1.5}
    assert truth.symptom_covariate_effect == {"severity": -2.0}
    sim = study.metadata["simulation"]["parameters"]
    assert sim["sites"] == ["A", "B", "C", "D"] and sim["covariates"]["age"] == [35.0, 10.0]
    plain = simulate_study(seed=1, n_participants=24)[0]
    assert (
        "site" not in plain.participants
        and "sites" not in plain.metadata["simulation"]["parameters"]
    )
    # The options draw from their own generator: the measurements are those of the
    # plain study except where the options act (amplitudes and MADRS changes).
    np.testing.assert_array_equal(plain.participants["sex"], people["sex"])
    pre = study.symptoms["timepoint"] == "pre"
    scores = [s.symptoms.loc[pre, "score"].to_numpy() for s in (plain, study)]
    np.testing.assert_array_equal(*scores)


def test_simulator_rejects_effects_not_keyed_by_the_levels():
    with pytest.raises(ValueError, match="exactly the keys 'A', 'B'"):
        simulate_study(
            seed=0,
            params=SimulationParameters(sites=("A", "B"), effects_by="site"),
        )


# -- periods and carry-over ---------------------------------------------------------

THREE_PERIODS = ("placebo-naltrexone-naltrexone", "naltrexone-placebo-placebo")


def three_period_study(seed: int = 1, n: int = 20, **extra):
    params = SimulationParameters(
        sequences=THREE_PERIODS, carryover_glx_pct=-2.0, carryover_madrs=1.0, **extra
    )
    return simulate_study(seed=seed, n_participants=n, params=params)


@pytest.mark.parametrize("family", FAMILIES)
def test_three_periods_with_carryover_has_its_terms(family):
    study, _ = three_period_study()
    model = build_model(ModelSpec(name="x", family=family, carryover=True), study)
    pm_model = model.pymc_model
    dims = pm_model.named_vars_to_dims
    assert pm_model.coords["session"] == (1, 2, 3)
    assert pm_model.coords["later_session"] == (2, 3)
    after = pm_model["session_after_active"].get_value()
    active = pm_model["session_active"].get_value()
    np.testing.assert_array_equal(after[:, 1:], active[:, :-1])
    assert not after[:, 0].any()
    expected = {"glutamate": ("glx_carryover_pct",), "symptoms": ("symptom_carryover",)}
    names = expected.get(family, ("glx_carryover_pct", "symptom_carryover"))
    for name in names:
        assert name in pm_model.named_vars and name in model.key_effects
    for name in ("glx_period_effect_pct", "symptom_period_effect"):
        if name in pm_model.named_vars:
            assert dims[name] == ("later_session",)
    assert np.isfinite(pm_model.point_logps()[model.observed_vars[0]])


def test_carryover_is_off_by_default_and_two_periods_keep_a_scalar_period_effect(site_study):
    three, _ = three_period_study()
    model = build_model(ModelSpec(name="x", family="joint"), three)
    assert "glx_carryover_pct" not in model.pymc_model.named_vars
    assert "session_after_active" not in model.pymc_model.named_vars
    two = build_model("joint_partial", site_study).pymc_model
    assert "glx_period_effect_pct" not in two.named_vars_to_dims
    assert "later_session" not in two.coords


def test_carryover_on_a_two_period_two_sequence_design_is_an_error(site_study, tmp_path):
    with pytest.raises(
        SpecError,
        match=r"^spec 'x', key 'design.carryover': carry-over cannot be identified in study "
        r".*\(participants.csv, column 'sequence': naltrexone-placebo \(\d+\), "
        r"placebo-naltrexone \(\d+\)\).*AB/BA.*Senn.*Jones & Kenward.*Balaam",
    ):
        build_model(ModelSpec(name="x", family="symptoms", carryover=True), site_study)
    spec = tmp_path / "carry.toml"
    spec.write_text('name = "carry"\nfamily = "glutamate"\n[design]\ncarryover = true\n')
    with pytest.raises(SpecError, match=rf"^{re.escape(str(spec))}, key 'design.carryover'"):
        build_model(spec, site_study)


BALAAM = SimulationParameters(
    sequences=(
        "placebo-naltrexone",
        "naltrexone-placebo",
        "placebo-placebo",
        "naltrexone-naltrexone",
    ),
    carryover_glx_pct=-3.0,
    carryover_madrs=1.0,
)


def test_balaam_design_is_valid_and_identifies_carryover_in_two_periods(tmp_path):
    study, truth = simulate_study(seed=4, n_participants=16, params=BALAAM)
    assert study.metadata["repeated_conditions"] is True and study.periods == 2
    assert study.participants["sequence"].value_counts().to_dict() == dict.fromkeys(
        BALAAM.sequences, 4
    )
    assert truth.glx_carryover == -3.0
    write_study(study, tmp_path / "balaam")
    reread = load_study(tmp_path / "balaam")  # validates from disk
    assert reread.content_hash() == study.content_hash()
    for family in FAMILIES:
        model = build_model(ModelSpec(name="x", family=family, carryover=True), reread)
        carried = model.pymc_model["session_after_active"].get_value()
        seqs = reread.participants.set_index("participant_id")["sequence"]
        # period 2 follows naltrexone exactly for BA and BB participants
        expected = [s.split("-")[0] == "naltrexone" for s in seqs[reread.participant_ids]]
        np.testing.assert_array_equal(carried[:, 1], expected)
        np.testing.assert_array_equal(carried[:, 0], 0)


def test_carryover_check_follows_the_sequences():
    params = SimulationParameters(
        sequences=("placebo-naltrexone-placebo", "naltrexone-placebo-naltrexone")
    )
    aba, _ = simulate_study(seed=2, n_participants=12, params=params)
    assert (
        "symptom_carryover"
        in build_model(
            ModelSpec(name="x", family="symptoms", carryover=True), aba
        ).pymc_model.named_vars
    )


@pytest.mark.parametrize("family", FAMILIES)
def test_structure_key_of_a_carryover_design_ignores_the_study(family):
    carry = ModelSpec(name="x", family=family, carryover=True)
    keys = {
        key(build_model(carry, three_period_study(seed, n)[0])) for seed, n in ((1, 20), (5, 33))
    }
    assert len(keys) == 1
    plain = key(build_model(ModelSpec(name="x", family=family), three_period_study()[0]))
    assert plain not in keys


def test_simulated_three_period_study_has_known_carryover():
    study, truth = three_period_study(seed=3, n=9)
    assert study.periods == 3 and study.metadata["periods"] == 3
    assert sorted(study.symptoms["session"].unique()) == [1, 2, 3]
    counts = study.participants["sequence"].value_counts().to_dict()
    assert counts == {THREE_PERIODS[0]: 5, THREE_PERIODS[1]: 4}
    assert (truth.glx_carryover, truth.direct_carryover) == (-2.0, 1.0)
    assert truth.symptom_carryover == pytest.approx(1.0 + (-0.4) * (-2.0))
    assert truth.glx_amplitude.shape == (9, 3)


# -- more conditions ------------------------------------------------------------------


def three_arm_study(seed: int = 1, n: int = 24):
    params = SimulationParameters(
        sequences=WILLIAMS,
        extra_glx_condition_effect_pct={"midazolam": {"F": -6.0, "M": -7.0}},
        extra_direct_effect={"midazolam": {"F": 8.0, "M": 9.0}},
    )
    return simulate_study(seed=seed, n_participants=n, params=params)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("pooling", POOLINGS)
def test_three_arms_have_one_effect_per_active_condition(family, pooling):
    study, _ = three_arm_study()
    model = build_model(ModelSpec(name="x", family=family, pooling=pooling), study)
    pm_model = model.pymc_model
    dims = pm_model.named_vars_to_dims
    assert pm_model.coords["active_condition"] == ("naltrexone", "midazolam")
    first = "glx_condition_effect" if family != "symptoms" else "symptom_condition_effect"
    assert dims[first] == ("active_condition", "sex")
    assert dims[f"{first}_pooled"] == ("active_condition",)
    if family != "symptoms":
        assert dims["glx_sex_difference"] == ("active_condition",)
        assert dims["session_active"] == ("participant", "session", "active_condition")
    if family != "glutamate":
        assert dims["symptom_active"] == ("symptom_obs", "active_condition")
    for name in model.key_effects:
        assert name in pm_model.named_vars
    assert np.isfinite(pm_model.point_logps()[model.observed_vars[0]])


def test_three_arm_session_response_takes_each_sessions_condition_effect():
    study, _ = three_arm_study(n=12)
    model = build_model(ModelSpec(name="x", family="glutamate", pooling="none"), study)
    pm_model = model.pymc_model
    effect = np.array([[-1.0, -2.0], [-6.0, -7.0]])  # (naltrexone, midazolam) x (F, M)
    amplitude = pm_model.compile_fn(
        pm_model["glx_session_response"],
        inputs=[pm_model["glx_condition_effect"], pm_model["glx_response"]]
        + [pm_model["glx_session_z"]],
    )(
        {
            "glx_condition_effect": effect,
            "glx_response": np.array(5.0),
            "glx_session_z": np.zeros((12, 3)),
        }
    )
    sex = study.participants["sex"].map({"F": 0, "M": 1}).to_numpy()
    arm = {"placebo": None, "naltrexone": 0, "midazolam": 1}
    for i, sequence in enumerate(study.participants["sequence"]):
        for s, condition in enumerate(sequence.split("-")):
            k = arm[condition]
            expected = 5.0 + (0.0 if k is None else effect[k, sex[i]])
            assert amplitude[i, s] == pytest.approx(expected)


@pytest.mark.parametrize("family", FAMILIES)
def test_structure_key_of_a_three_arm_design_ignores_the_study(family):
    spec_ = ModelSpec(name="x", family=family, carryover=True)
    keys = {key(build_model(spec_, three_arm_study(seed, n)[0])) for seed, n in ((1, 24), (2, 30))}
    assert len(keys) == 1


def test_simulated_three_arm_study_has_known_truths():
    study, truth = three_arm_study(n=12)
    assert study.conditions == ("placebo", "naltrexone", "midazolam")
    assert set(study.participants["sequence"]) == set(WILLIAMS)
    midazolam = truth.condition_effects["midazolam"]
    assert midazolam["glx_condition_effect"] == {"F": -6.0, "M": -7.0}
    assert midazolam["total_effect_pooled"] == pytest.approx(8.5 + (-0.4) * (-6.5))
    assert truth.condition_effects["naltrexone"]["glx_condition_effect_pooled"] == -3.0


def test_three_arm_symptom_change_takes_each_sessions_condition_effect():
    study, _ = three_arm_study(n=12)
    model = build_model(ModelSpec(name="x", family="symptoms", pooling="none"), study)
    effect = np.array([[[2.0, 3.0], [8.0, 9.0]]])  # (post timepoint, arm, sex)
    fixed = {
        "symptom_baseline": 30.0,
        "symptom_participant_offset": np.zeros(12),
        "symptom_period_effect": np.zeros(2),
        "symptom_change_reference": np.array([-10.0]),
        "symptom_condition_effect_by_time": effect,
        "symptom_noise": 1e-6,
    }
    score = pm.draw(pm.do(model.pymc_model, fixed)["score"], random_seed=1)
    labels = model.observation_labels()["score"]
    sex = labels["sex"].map({"F": 0, "M": 1}).to_numpy()
    arm = labels["condition"].map({"placebo": -1, "naltrexone": 0, "midazolam": 1}).to_numpy()
    shift = np.where(arm < 0, 0.0, effect[0, np.maximum(arm, 0), sex])
    expected = 30.0 + (labels["hours"] > 0).to_numpy() * (-10.0 + shift)
    np.testing.assert_allclose(score, expected, atol=1e-4)


def test_spec_with_every_option_round_trips_through_its_dict():
    full = ModelSpec(
        name="x",
        family="joint",
        pooling="none",
        pooling_factor="site",
        glx_covariates=("age",),
        symptom_covariates=("age", "severity"),
        covariate_missing="mean",
        carryover=True,
    )
    assert spec_from_dict(full.to_dict()) == full
    assert full.content_hash() != dataclasses.replace(full, carryover=False).content_hash()
    assert "design" not in resolve_spec("joint_partial").to_dict()
