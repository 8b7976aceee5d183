"""Carry-over with more than two conditions: one coefficient per active condition.

Model-building tests (no sampling): the carry-over terms have the ``active_condition``
dim and take each session's previous condition, a Williams design identifies them
while designs that alias one are errors naming it, the two-condition terms keep their
scalar names and shapes, and the simulator's per-condition truths are what it adds.
One fit with NUTS mocked (prior draws) checks the artifact keeps each condition's term.
"""

from __future__ import annotations

import re

import numpy as np
import pymc as pm
import pytest
import tomli_w
from design_sequences import WILLIAMS
from inference_toy import fake_sample_posterior

from bayes_ketamine.data import SimulationParameters, read_simulation_parameters, simulate_study
from bayes_ketamine.inference import FitSettings, fit
from bayes_ketamine.inference import fitting as fit_module
from bayes_ketamine.models import ModelSpec, SpecError, build_model
from bayes_ketamine.models.design import unidentified_carryover

FAMILIES = ("glutamate", "symptoms", "joint")
MIDAZOLAM_LAST = ("placebo-naltrexone-midazolam", "naltrexone-placebo-midazolam")
TWO_PERIODS_NO_ACTIVE_PAIR = (
    "placebo-naltrexone",
    "naltrexone-placebo",
    "placebo-midazolam",
    "midazolam-placebo",
)
ARMS = ("naltrexone", "midazolam")
CARRY_GLX = {"naltrexone": -3.0, "midazolam": 2.0}
CARRY_MADRS = {"naltrexone": 1.0, "midazolam": -1.5}


def three_arm_params(sequences=WILLIAMS, **extra) -> SimulationParameters:
    return SimulationParameters(
        sequences=sequences,
        extra_glx_condition_effect_pct={"midazolam": {"F": -6.0, "M": -7.0}},
        extra_direct_effect={"midazolam": {"F": 8.0, "M": 9.0}},
        **extra,
    )


@pytest.fixture(scope="module")
def williams():
    params = three_arm_params(carryover_glx_pct=CARRY_GLX, carryover_madrs=CARRY_MADRS)
    return simulate_study(seed=3, n_participants=12, params=params)


def carry_spec(family: str, **options) -> ModelSpec:
    return ModelSpec(name="x", family=family, carryover=True, **options)


def previous_arm(study) -> np.ndarray:
    """Index into ARMS of each (participant, session)'s previous condition, -1 if none."""
    arm = {"placebo": -1, **{a: k for k, a in enumerate(ARMS)}}
    out = np.full((len(study.participant_ids), study.periods), -1)
    for i, sequence in enumerate(study.participants["sequence"]):
        for s, condition in enumerate(sequence.split("-")[:-1]):
            out[i, s + 1] = arm[condition]
    return out


@pytest.mark.parametrize("family", FAMILIES)
def test_williams_design_has_one_carryover_per_active_condition(williams, family):
    study, _ = williams
    model = build_model(carry_spec(family), study)
    pm_model = model.pymc_model
    dims = pm_model.named_vars_to_dims
    names = {
        "glutamate": ("glx_carryover_pct",),
        "symptoms": ("symptom_carryover",),
        "joint": ("glx_carryover_pct", "symptom_carryover"),
    }[family]
    for name in names:
        assert dims[name] == ("active_condition",)
        assert name in model.key_effects
    assert dims["session_after_active"] == ("participant", "session", "active_condition")
    after = pm_model["session_after_active"].get_value()
    active = pm_model["session_active"].get_value()
    np.testing.assert_array_equal(after[:, 1:], active[:, :-1])
    assert not after[:, 0].any()
    previous = previous_arm(study)
    for k in range(len(ARMS)):
        np.testing.assert_array_equal(after[..., k], previous == k)
    assert np.isfinite(pm_model.point_logps()[model.observed_vars[0]])


def test_three_arm_session_response_takes_the_previous_conditions_carryover(williams):
    study, _ = williams
    model = build_model(carry_spec("glutamate", pooling="none"), study)
    pm_model = model.pymc_model
    effect = np.array([[-1.0, -2.0], [-6.0, -7.0]])  # (naltrexone, midazolam) x (F, M)
    carry = np.array([-3.0, 2.0])
    n = len(study.participant_ids)
    amplitude = pm_model.compile_fn(
        pm_model["glx_session_response"],
        inputs=[
            pm_model[name]
            for name in (
                "glx_condition_effect",
                "glx_response",
                "glx_session_z",
                "glx_carryover_pct",
            )
        ],
    )(
        {
            "glx_condition_effect": effect,
            "glx_response": np.array(5.0),
            "glx_session_z": np.zeros((n, 3)),
            "glx_carryover_pct": carry,
        }
    )
    sex = study.participants["sex"].map({"F": 0, "M": 1}).to_numpy()
    previous = previous_arm(study)
    arm = {"placebo": None, "naltrexone": 0, "midazolam": 1}
    for i, sequence in enumerate(study.participants["sequence"]):
        for s, condition in enumerate(sequence.split("-")):
            k, p = arm[condition], previous[i, s]
            expected = (
                5.0 + (0.0 if k is None else effect[k, sex[i]]) + (0.0 if p < 0 else carry[p])
            )
            assert amplitude[i, s] == pytest.approx(expected)


def test_three_arm_symptom_change_takes_the_previous_conditions_carryover(williams):
    study, _ = williams
    model = build_model(carry_spec("symptoms", pooling="none"), study)
    effect = np.array([[[2.0, 3.0], [8.0, 9.0]]])  # (post timepoint, arm, sex)
    carry = np.array([1.0, -1.5])
    fixed = {
        "symptom_baseline": 30.0,
        "symptom_participant_offset": np.zeros(len(study.participant_ids)),
        "symptom_period_effect": np.zeros(2),
        "symptom_change_reference": np.array([-10.0]),
        "symptom_condition_effect_by_time": effect,
        "symptom_carryover": carry,
        "symptom_noise": 1e-6,
    }
    score = pm.draw(pm.do(model.pymc_model, fixed)["score"], random_seed=1)
    labels = model.observation_labels()["score"]
    sex = labels["sex"].map({"F": 0, "M": 1}).to_numpy()
    arm = labels["condition"].map({"placebo": -1, "naltrexone": 0, "midazolam": 1}).to_numpy()
    index = {pid: i for i, pid in enumerate(study.participant_ids)}
    rows = labels["participant_id"].map(index).to_numpy()
    before = previous_arm(study)[rows, labels["session"].to_numpy() - 1]
    shift = np.where(arm < 0, 0.0, effect[0, np.maximum(arm, 0), sex])
    shift = shift + np.where(before < 0, 0.0, carry[np.maximum(before, 0)])
    expected = 30.0 + (labels["hours"] > 0).to_numpy() * (-10.0 + shift)
    np.testing.assert_allclose(score, expected, atol=1e-4)


def test_williams_identifies_every_carryover_and_other_designs_name_the_aliased_one(williams):
    study, _ = williams
    active = build_model(ModelSpec(name="x", family="glutamate"), study).session_active()
    assert unidentified_carryover(study, active) is None
    last, _ = simulate_study(seed=1, n_participants=12, params=three_arm_params(MIDAZOLAM_LAST))
    active = build_model(ModelSpec(name="x", family="glutamate"), last).session_active()
    assert unidentified_carryover(last, active) == ("midazolam",)


@pytest.mark.parametrize(
    ("sequences", "named"),
    [
        (MIDAZOLAM_LAST, "the carry-over of 'midazolam' is"),
        (TWO_PERIODS_NO_ACTIVE_PAIR, "the carry-over of 'naltrexone' and of 'midazolam' is"),
    ],
)
def test_carryover_not_identified_is_an_error_naming_the_condition(tmp_path, sequences, named):
    study, _ = simulate_study(seed=1, n_participants=12, params=three_arm_params(sequences))
    spec = tmp_path / "carry.toml"
    spec.write_text('name = "carry"\nfamily = "symptoms"\n[design]\ncarryover = true\n')
    found = ", ".join(f"{seq} \\(\\d+\\)" for seq in sorted(sequences))
    with pytest.raises(
        SpecError,
        match=rf"^{re.escape(str(spec))}, key 'design.carryover': carry-over cannot be "
        rf"identified in study .*\(participants.csv, column 'sequence': {found}\): "
        rf"{re.escape(named)}.*Williams",
    ):
        build_model(spec, study)


def test_all_six_two_period_orders_of_three_conditions_identify_carryover():
    orders = [f"{a}-{b}" for a in ("placebo", *ARMS) for b in ("placebo", *ARMS) if a != b]
    study, _ = simulate_study(seed=1, n_participants=12, params=three_arm_params(tuple(orders)))
    model = build_model(carry_spec("glutamate"), study)
    assert model.pymc_model.named_vars_to_dims["glx_carryover_pct"] == ("active_condition",)


@pytest.mark.parametrize("family", FAMILIES)
def test_two_conditions_keep_the_scalar_carryover(family):
    params = SimulationParameters(
        sequences=("placebo-naltrexone-naltrexone", "naltrexone-placebo-placebo"),
        carryover_glx_pct={"naltrexone": -2.0},
    )
    study, truth = simulate_study(seed=1, n_participants=10, params=params)
    assert truth.glx_carryover == -2.0  # a number, as the scalar term
    pm_model = build_model(carry_spec(family), study).pymc_model
    assert "active_condition" not in pm_model.coords
    for name in ("glx_carryover_pct", "symptom_carryover"):
        if name in pm_model.named_vars:
            assert name not in pm_model.named_vars_to_dims
            assert pm_model[name].ndim == 0
    assert pm_model.named_vars_to_dims["session_after_active"] == ("participant", "session")


def test_simulated_carryover_of_each_condition_is_its_truth(williams):
    study, truth = williams
    assert truth.glx_carryover == CARRY_GLX
    assert truth.direct_carryover == CARRY_MADRS
    assert truth.symptom_carryover == pytest.approx(
        {k: CARRY_MADRS[k] + (-0.4) * CARRY_GLX[k] for k in ARMS}
    )
    plain, plain_truth = simulate_study(seed=3, n_participants=12, params=three_arm_params())
    assert plain_truth.glx_carryover == 0.0 and "glx_carryover" not in plain_truth.to_dict()
    previous = previous_arm(study)
    carry = np.array([CARRY_GLX[a] for a in ARMS])
    expected = np.where(previous < 0, 0.0, carry[np.maximum(previous, 0)])
    np.testing.assert_allclose(truth.glx_amplitude - plain_truth.glx_amplitude, expected)
    np.testing.assert_array_equal(plain.fmrs["condition"], study.fmrs["condition"])


def test_a_carryover_number_is_every_active_conditions(tmp_path):
    params = three_arm_params(carryover_glx_pct=-2.0)
    assert params.carryover("carryover_glx_pct") == {"naltrexone": -2.0, "midazolam": -2.0}
    _, truth = simulate_study(seed=0, n_participants=6, params=params)
    assert truth.glx_carryover == {"naltrexone": -2.0, "midazolam": -2.0}
    per_arm = three_arm_params(carryover_glx_pct=CARRY_GLX)
    path = tmp_path / "params.toml"
    path.write_text(tomli_w.dumps(per_arm.to_dict()))
    assert read_simulation_parameters(path) == per_arm


def test_simulator_rejects_a_carryover_dict_not_naming_the_active_conditions():
    with pytest.raises(ValueError, match=r"carryover_madrs must be a number or name exactly"):
        simulate_study(seed=0, params=three_arm_params(carryover_madrs={"naltrexone": 1.0}))


def test_fit_of_per_condition_carryover_stores_and_checks_each_condition(
    williams, tmp_path, monkeypatch
):
    monkeypatch.setattr(fit_module, "posterior_sampler", fake_sample_posterior)
    study, _ = williams
    settings = FitSettings(draws=40, tune=10, chains=2, prior_draws=20)
    tree = fit(carry_spec("glutamate"), study=study, settings=settings, out_dir=tmp_path).tree
    carry = tree["posterior"]["glx_carryover_pct"]
    assert carry.dims[2:] == ("active_condition",)
    assert list(carry["active_condition"].values) == list(ARMS)
    checked = {str(p) for p in tree["prior_sensitivity"]["parameter"].values}
    assert {f"glx_carryover_pct[{arm}]" for arm in ARMS} <= checked
