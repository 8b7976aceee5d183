"""Symptom terms per level of the pooling factor: the change under the reference
condition (``design.reference_change_by_level``) and the baseline mean
(``design.baseline_by_level``), both off by default.

Model building and likelihood tests without sampling, the spec errors, and the
simulator's per-level placebo changes.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pymc as pm
import pytest
from scipy.stats import norm

from bayes_ketamine.data import SimulationParameters, import_nimh, simulate_study
from bayes_ketamine.inference.structure import model_structure_key
from bayes_ketamine.models import ModelSpec, SpecError, build_model, resolve_spec, spec_from_dict

SITES = ("A", "B", "C")
PLACEBO_BY_SITE = SimulationParameters(
    sites=SITES,
    effects_by="site",
    glx_condition_effect_pct={"A": -1.0, "B": -3.0, "C": -5.0},
    direct_effect={"A": 2.0, "B": 2.0, "C": 2.0},
    ketamine_madrs_change_by_level={"A": 0.0, "B": -8.0, "C": -16.0},
    madrs_baseline_mean_by_level={"A": 20.0, "B": 30.0, "C": 40.0},
)


@pytest.fixture(scope="module")
def nimh_groups():
    return import_nimh("all", timepoints=["day2", "day10"])


@pytest.fixture(scope="module")
def site_study():
    study, _ = simulate_study(seed=3, n_participants=12, params=PLACEBO_BY_SITE)
    return study


def raw_spec(family: str = "symptoms", **design) -> dict:
    raw = {"name": "x", "family": family, "pooling": {"group": "partial"}}
    return raw | ({"design": design} if design else {})


# key -> (the variable it makes per level, its dims without the option)
OPTIONS = {
    "reference_change_by_level": ("symptom_change_reference", ("post_timepoint",)),
    "baseline_by_level": ("symptom_baseline", ()),
}


@pytest.mark.parametrize("key", list(OPTIONS))
def test_off_by_default_and_a_false_key_changes_neither_the_spec_hash_nor_the_graph(
    nimh_groups, key
):
    var, shared_dims = OPTIONS[key]
    absent = spec_from_dict(raw_spec())
    false = spec_from_dict(raw_spec(**{key: False}))
    assert getattr(absent, key) is False
    assert absent.content_hash() == false.content_hash()
    assert "design" not in absent.to_dict()
    shared = build_model(absent, nimh_groups).pymc_model
    assert shared.named_vars_to_dims.get(var, ()) == shared_dims
    structure = model_structure_key(shared, {})
    assert structure == model_structure_key(build_model(false, nimh_groups).pymc_model, {})
    on = spec_from_dict(raw_spec(**{key: True}))
    assert on.content_hash() != absent.content_hash()
    by_level = build_model(on, nimh_groups).pymc_model
    assert by_level.named_vars_to_dims[var] == (*shared_dims, "group")
    assert structure != model_structure_key(by_level, {})


@pytest.mark.parametrize("pooling", ["none", "partial", "complete"])
def test_the_shipped_group_specs_have_a_baseline_and_placebo_change_per_group(nimh_groups, pooling):
    spec = resolve_spec(f"symptoms_group_{pooling}")
    assert spec.reference_change_by_level and spec.baseline_by_level
    model = build_model(spec, nimh_groups).pymc_model
    assert model.named_vars_to_dims["symptom_change_reference"] == ("post_timepoint", "group")
    assert model.named_vars_to_dims["symptom_baseline"] == ("group",)
    assert model.coords["post_timepoint"] == ("day2", "day10")
    assert model.coords["group"] == ("BP", "HC", "MDD")
    # the same priors per timepoint and level: the family's Normal(-5, 10), Normal(30, 10)
    values = np.array([[-20.0, 0.0, 5.0], [-5.0, 1.0, -12.0]])
    logp = pm.logp(model["symptom_change_reference"], values).eval()
    np.testing.assert_allclose(logp, norm.logpdf(values, -5.0, 10.0))
    logp = pm.logp(model["symptom_baseline"], values[0]).eval()
    np.testing.assert_allclose(logp, norm.logpdf(values[0], 30.0, 10.0))
    reread = spec_from_dict(spec.to_dict())  # as an artifact's spec is read back
    assert reread.reference_change_by_level and reread.baseline_by_level
    if pooling == "complete":  # one condition effect, levels' own baselines and changes
        assert "symptom_condition_effect_by_time_mean" in model.named_vars


@pytest.mark.parametrize("family", ["symptoms", "joint"])
@pytest.mark.parametrize(
    ("key", "shared_value", "rows_moved"),
    [
        ("reference_change_by_level", [-7.0], lambda labels: labels["timepoint"] == "24h"),
        ("baseline_by_level", 27.0, lambda labels: labels["timepoint"].notna()),
    ],
)
def test_each_level_term_enters_only_its_own_participants_ratings(
    site_study, family, key, shared_value, rows_moved
):
    """With the per-level values all equal to the shared one the likelihood is the
    shared model's; moving one level's value moves only ratings of that level's
    participants (after the infusion for the change, all for the baseline)."""
    var, _ = OPTIONS[key]
    base = ModelSpec(name="x", family=family, pooling_factor="site")
    shared_model = build_model(base, site_study)
    shared = shared_model.pymc_model
    by_level = build_model(dataclasses.replace(base, **{key: True}), site_study).pymc_model
    point = shared.initial_point(random_seed=1)
    point[var] = np.asarray(shared_value)
    level_values = np.repeat(np.asarray(shared_value)[..., None], len(SITES), axis=-1)
    level_point = dict(point, **{var: level_values})

    def score_logp(model, at):
        logp = model.logp(vars=[model["score"]], sum=False)[0]
        fn = model.compile_fn(logp, inputs=model.value_vars, on_unused_input="ignore")
        return fn(at)

    same = score_logp(by_level, level_point)
    np.testing.assert_allclose(same, score_logp(shared, point))
    moved = level_values.copy()
    moved[..., SITES.index("B")] += 17.3
    changed = score_logp(by_level, dict(level_point, **{var: moved})) != same
    labels = shared_model.observation_labels()["score"]
    expected = (labels["site"] == "B") & rows_moved(labels)
    np.testing.assert_array_equal(changed, expected.to_numpy())


@pytest.mark.parametrize("key", list(OPTIONS))
def test_the_glutamate_family_refuses_the_options_naming_the_file_and_key(tmp_path, key):
    path = tmp_path / "glx.toml"
    path.write_text(f'name = "glx"\nfamily = "glutamate"\n[design]\n{key} = true\n')
    with pytest.raises(SpecError, match=rf"glx\.toml: key 'design\.{key}'"):
        resolve_spec(path)
    with pytest.raises(SpecError, match="family 'glutamate' has no symptom component"):
        ModelSpec(name="x", family="glutamate", **{key: True})


@pytest.mark.parametrize("key", list(OPTIONS))
def test_a_non_boolean_value_is_refused(tmp_path, key):
    path = tmp_path / "s.toml"
    path.write_text(f'name = "s"\nfamily = "symptoms"\n[design]\n{key} = 1\n')
    with pytest.raises(SpecError, match=rf"s\.toml: key 'design\.{key}' must be true or false"):
        resolve_spec(path)


def test_the_simulator_draws_a_baseline_and_placebo_change_per_level_with_its_truth():
    study, truth = simulate_study(seed=0, n_participants=60, params=PLACEBO_BY_SITE)
    assert truth.symptom_change_reference == {"A": 0.0, "B": -8.0, "C": -16.0}
    assert truth.ketamine_symptom_change == -8.0
    recorded = study.metadata["simulation"]
    assert recorded["parameters"]["ketamine_madrs_change_by_level"]["C"] == -16.0
    assert recorded["truth"]["symptom_change_reference"] == truth.symptom_change_reference
    scores = study.symptoms.merge(study.participants[["participant_id", "site"]])
    scores = scores.loc[scores["condition"] == "placebo"]
    wide = scores.pivot_table(index=["participant_id", "site"], columns="timepoint", values="score")
    change = (wide["24h"] - wide["pre"]).groupby(level="site").mean()
    # 20 participants per site, rating noise 3.5: the per-site means are within 3 points
    np.testing.assert_allclose(change.loc[list(SITES)], [0.0, -8.0, -16.0], atol=3.0)
    # and participant SD 5: the per-site means before the infusion within 4 points
    before = wide["pre"].groupby(level="site").mean()
    np.testing.assert_allclose(before.loc[list(SITES)], [20.0, 30.0, 40.0], atol=4.0)


@pytest.mark.parametrize("name", ["ketamine_madrs_change_by_level", "madrs_baseline_mean_by_level"])
def test_the_simulator_refuses_per_level_values_not_keyed_by_the_levels(name):
    params = dataclasses.replace(PLACEBO_BY_SITE, **{name: {"A": -1.0}})
    with pytest.raises(ValueError, match=f"{name} must have exactly the keys 'A', 'B', 'C'"):
        simulate_study(seed=0, n_participants=6, params=params)


def test_without_the_option_the_simulated_study_is_unchanged():
    params = dataclasses.replace(
        PLACEBO_BY_SITE, ketamine_madrs_change_by_level={}, madrs_baseline_mean_by_level={}
    )
    plain, truth = simulate_study(seed=0, n_participants=9, params=params)
    recorded = plain.metadata["simulation"]["parameters"]
    assert "ketamine_madrs_change_by_level" not in recorded
    assert "madrs_baseline_mean_by_level" not in recorded
    assert "symptom_change_reference" not in plain.metadata["simulation"]["truth"]
    assert truth.symptom_change_reference == {}
