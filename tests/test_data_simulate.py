"""The simulator: determinism, design, ground truth, round trip and the default study."""

from __future__ import annotations

import filecmp
import tomllib

import numpy as np
import pandas as pd
import pytest
import tomli_w

from bayes_ketamine.data import (
    SimulationParameters,
    SimulationTruth,
    default_study,
    default_study_truth,
    load_study,
    simulate_study,
    write_study,
)
from bayes_ketamine.data.default import DEFAULT_FOLDER, DEFAULT_PARTICIPANTS, DEFAULT_SEED
from bayes_ketamine.data.simulation_parameters import read_simulation_parameters

SHIPPED = "bayes_ketamine/resources"


@pytest.fixture(scope="module")
def simulated():
    return simulate_study(seed=0)


@pytest.fixture(scope="module")
def large():
    return simulate_study(seed=11, n_participants=1200)


def test_same_seed_same_tables(simulated):
    again, _ = simulate_study(seed=0)
    study, _ = simulated
    assert again.content_hash() == study.content_hash()
    pd.testing.assert_frame_equal(again.fmrs, study.fmrs)
    pd.testing.assert_frame_equal(again.symptoms, study.symptoms)


def test_different_seed_differs(simulated):
    other, _ = simulate_study(seed=1)
    assert other.content_hash() != simulated[0].content_hash()
    assert not np.allclose(other.fmrs["glx"], simulated[0].fmrs["glx"])


def test_design(simulated):
    study, truth = simulated
    people = study.participants
    assert study.conditions == ("placebo", "naltrexone")
    assert people["participant_id"].tolist()[:2] == ["sim-001", "sim-002"]
    assert people["sex"].value_counts().to_dict() == {"F": 13, "M": 13}
    assert people["sequence"].value_counts().to_dict() == {
        "placebo-naltrexone": 13,
        "naltrexone-placebo": 13,
    }
    assert len(study.fmrs) == 26 * 2 * 5
    assert len(study.symptoms) == 26 * 2 * 2
    assert sorted(study.fmrs["time_min"].unique()) == [-10, 5, 15, 25, 35]
    assert study.fmrs["crlb_pct"].between(3, 6).all()
    assert set(study.symptoms["timepoint"]) == {"pre", "24h"}
    assert study.symptoms["score"].between(0, 60).all()
    assert truth.glx_amplitude.shape == (26, 2)
    assert truth.participant_ids == tuple(people["participant_id"])


def test_truth_values_and_pooling(simulated):
    truth = simulated[1]
    assert truth.glx_response == 6.0
    assert truth.ketamine_symptom_change == -12.0
    assert truth.glx_condition_effect == {"F": -1.5, "M": -4.5}
    for sex in ("F", "M"):
        indirect = truth.glx_condition_effect[sex] * truth.effect_b
        assert truth.indirect_effect[sex] == pytest.approx(indirect)
        total = truth.direct_effect[sex] + indirect
        assert truth.total_effect[sex] == pytest.approx(total)
        assert truth.symptom_condition_effect[sex] == pytest.approx(total)
    for name in (
        "glx_condition_effect",
        "indirect_effect",
        "direct_effect",
        "total_effect",
        "symptom_condition_effect",
    ):
        per_sex = getattr(truth, name)
        assert getattr(truth, f"{name}_pooled") == pytest.approx(np.mean(list(per_sex.values())))
    assert truth.total_effect_pooled == pytest.approx(3.2)


def test_truth_follows_parameters():
    params = SimulationParameters(glx_condition_effect_pct={"F": 0.0, "M": -10.0}, effect_b=-1.0)
    _, truth = simulate_study(seed=2, n_participants=6, params=params)
    assert truth.indirect_effect == {"F": 0.0, "M": 10.0}
    assert truth.glx_condition_effect_pooled == -5.0


def test_simulated_label_and_metadata(simulated):
    study, truth = simulated
    assert study.simulated
    assert "Simulated" in study.name and "seed 0" in study.name
    assert "SIMULATED DATA" in study.metadata["description"]
    sim = study.metadata["simulation"]
    assert sim["seed"] == 0
    assert sim["parameters"] == SimulationParameters().to_dict()
    assert tomllib.loads(tomli_w.dumps(study.metadata))["simulation"]["truth"]["total_effect"] == {
        "F": pytest.approx(2.6),
        "M": pytest.approx(3.8),
    }
    rebuilt = SimulationTruth.from_dict(sim["truth"])
    assert rebuilt == truth
    np.testing.assert_array_equal(rebuilt.glx_amplitude, truth.glx_amplitude)


def _glx_amplitude_estimates(study):
    """Per participant-session Glx change in percent, from the data alone."""
    fmrs = study.fmrs.assign(log_glx=np.log(study.fmrs["glx"]))
    wide = fmrs.pivot_table(
        index=["participant_id", "session", "condition"], columns="time_min", values="log_glx"
    )
    times = np.array([t for t in wide.columns if t > 0])
    profile = 1 - np.exp(-times / 10.0)
    change = wide[times].sub(wide[-10.0], axis=0).mean(axis=1) / profile.mean() * 100
    sex = study.participants.set_index("participant_id")["sex"]
    change = change.reset_index(name="amplitude")
    return change.assign(sex=change["participant_id"].map(sex))


def test_empirical_glx_change_matches_truth(large):
    study, truth = large
    est = _glx_amplitude_estimates(study)
    means = est.groupby(["sex", "condition"])["amplitude"].mean()
    assert means[("F", "placebo")] == pytest.approx(truth.glx_response, abs=1.0)
    assert means[("M", "placebo")] == pytest.approx(truth.glx_response, abs=1.0)
    for sex in ("F", "M"):
        effect = means[(sex, "naltrexone")] - means[(sex, "placebo")]
        assert effect == pytest.approx(truth.glx_condition_effect[sex], abs=1.5)
    assert np.nanmean(truth.glx_amplitude) == pytest.approx(6.0 - 1.5, abs=0.3)


def test_empirical_madrs_change_matches_truth(large):
    study, truth = large
    wide = study.symptoms.pivot_table(
        index=["participant_id", "session", "condition"], columns="timepoint", values="score"
    )
    change = (wide["24h"] - wide["pre"]).groupby(level="condition").mean()
    assert change["placebo"] == pytest.approx(truth.ketamine_symptom_change, abs=0.6)
    effect = change["naltrexone"] - change["placebo"]
    assert effect == pytest.approx(truth.symptom_condition_effect_pooled, abs=0.8)


def test_dropout_and_missing_scores():
    full, _ = simulate_study(seed=5)
    study, truth = simulate_study(seed=5, dropout_fraction=0.25, missing_score_fraction=0.1)
    periods = study.summary().periods.set_index("periods")["participants"]
    assert periods[1] == round(26 * 0.25)
    assert periods[2] == 26 - round(26 * 0.25)
    assert len(study.symptoms) == 2 * (2 * 26 - round(26 * 0.25))
    assert study.symptoms["score"].isna().sum() == round(len(study.symptoms) * 0.1)
    assert np.isnan(truth.glx_amplitude[:, 1]).sum() == round(26 * 0.25)
    first = full.fmrs[full.fmrs["session"] == 1].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        study.fmrs[study.fmrs["session"] == 1].reset_index(drop=True), first
    )


def test_bad_parameters():
    with pytest.raises(ValueError, match="dropout_fraction"):
        simulate_study(dropout_fraction=1.5)
    with pytest.raises(ValueError, match="n_participants"):
        simulate_study(n_participants=0)


def test_round_trip(tmp_path):
    study, _ = simulate_study(seed=4, dropout_fraction=0.2, missing_score_fraction=0.05)
    write_study(study, tmp_path / "simulated")
    loaded = load_study(tmp_path / "simulated")
    assert loaded.content_hash() == study.content_hash()
    assert loaded.simulated
    assert "SIMULATED DATA" in (tmp_path / "simulated" / "README.txt").read_text()
    pd.testing.assert_frame_equal(loaded.symptoms, study.symptoms)


def test_default_study_regenerates_exactly(tmp_path):
    study, _ = simulate_study(seed=DEFAULT_SEED, n_participants=DEFAULT_PARTICIPANTS)
    write_study(study, tmp_path / DEFAULT_FOLDER)
    shipped = default_study().source
    names = sorted(p.name for p in shipped.iterdir())
    assert names == sorted(p.name for p in (tmp_path / DEFAULT_FOLDER).iterdir())
    match, mismatch, errors = filecmp.cmpfiles(
        shipped, tmp_path / DEFAULT_FOLDER, names, shallow=False
    )
    assert mismatch == [] and errors == []


def test_default_study_and_truth():
    study = default_study()
    assert study.simulated
    assert len(study.participants) == DEFAULT_PARTICIPANTS
    truth = default_study_truth()
    _, expected = simulate_study(seed=DEFAULT_SEED, n_participants=DEFAULT_PARTICIPANTS)
    assert truth == expected
    np.testing.assert_allclose(truth.glx_amplitude, expected.glx_amplitude)


def test_parameters_naming_a_condition_without_effects_are_refused(tmp_path):
    path = tmp_path / "params.toml"
    path.write_text(
        'sequences = ["placebo-naltrexone-midazolam", "midazolam-placebo-naltrexone"]\n'
    )
    with pytest.raises(ValueError, match=r"params\.toml: sequences name condition\(s\) midazolam"):
        read_simulation_parameters(path)
