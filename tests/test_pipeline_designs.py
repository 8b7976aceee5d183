"""The main job, figures and numbers for another pooling factor, K conditions, P periods.

NUTS is mocked (draws from the prior, :func:`inference_toy.fake_sample_posterior`):
what is tested is that every output is made and labelled by level and condition.
"""

from __future__ import annotations

import json

import pytest
from design_sequences import WILLIAMS
from typer.testing import CliRunner

from bayes_ketamine.cli import app
from bayes_ketamine.data import SimulationParameters, simulate_study
from bayes_ketamine.figures import madrs, make_figures
from bayes_ketamine.figures.ranks import key_series
from bayes_ketamine.inference import FitSettings, fit
from bayes_ketamine.pipeline import analysis_variants, variant_spec
from bayes_ketamine.reporting import write_numbers
from bayes_ketamine.reporting.artifacts import Posteriors

SETTINGS = FitSettings(draws=40, tune=10, chains=2, prior_draws=20)


def test_variants_pooled_by_another_factor_derive_from_the_sex_ones():
    study, _ = simulate_study(0, n_participants=8, params=SimulationParameters(sites=("A", "B")))
    assert analysis_variants(study, factor="site") == [
        "glutamate_site_none",
        "glutamate_site_partial",
        "glutamate_site_complete",
        "symptoms_site_none",
        "symptoms_site_partial",
        "symptoms_site_complete",
        "joint_site_partial",
    ]
    derived = variant_spec("joint", "partial", "site")
    sex = variant_spec("joint", "partial")
    assert (derived.name, derived.pooling_factor, derived.pooling) == (
        "joint_site_partial",
        "site",
        "partial",
    )
    assert derived.priors == sex.priors and derived.family == sex.family
    shipped = variant_spec("symptoms", "partial", "group")
    assert shipped.source is not None and shipped.source.name == "symptoms_group_partial.toml"


def test_run_on_nimh_pooled_by_diagnostic_group(tmp_path, sampler_calls, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["run", "--study", "nimh:group=all", "--pool-by", "group", "--no-cv", "--quiet"]
    args += ["--draws", "40", "--tune", "10", "--chains", "2"]
    result = CliRunner().invoke(app, args)
    assert sampler_calls == [
        "symptoms_group_none",
        "symptoms_group_partial",
        "symptoms_group_complete",
    ]
    out = tmp_path / "posteriors" / "nimh_group=all"
    assert (out / "figures" / "fig3_madrs.png").is_file()
    assert (out / "figures" / "figS_ranks_symptoms_group_partial.png").is_file()
    assert (out / "comparisons" / "symptoms_poolings.nc").is_file()
    quantities = json.loads((out / "numbers" / "numbers.json").read_text())["quantities"]
    assert set(quantities["SymptomEffect"]["estimates"]) == {"BP", "HC", "MDD", "Pooled"}
    # the shipped group specs have a change under placebo per group
    assert set(quantities["SymptomChange"]["estimates"]) == {"BP", "HC", "MDD"}
    assert quantities["SymptomEffect"]["model"] == "symptoms_group_partial"
    contrast = quantities["SymptomEffectContrast"]["estimates"]
    assert set(contrast) == {"HCMinusBP", "MDDMinusBP", "MDDMinusHC"}
    tex = (out / "numbers" / "numbers.tex").read_text()
    assert r"\newcommand{\SymptomEffectMDDMean}" in tex
    assert r"\newcommand{\SymptomChangeHCProb}" in tex
    assert r"\newcommand{\SymptomEffectContrastMDDMinusHCProb}" in tex
    assert "Headline numbers" in result.output
    assert result.exit_code == 1  # prior draws fail the diagnostics, as for `run --study nimh`
    tree = Posteriors(out).get("symptoms_group_partial")
    change = tree["posterior"]["symptom_change_reference"].sel(post_timepoint="day2")
    mdd = quantities["SymptomChange"]["estimates"]["MDD"]
    assert mdd["mean"] == pytest.approx(float(change.sel(group="MDD").mean()))
    assert mdd["prob"] == pytest.approx(float((change.sel(group="MDD") < 0).mean()))
    ranks = set(key_series(tree))
    assert {"symptom_change_reference[day2, MDD]", "symptom_change_reference[day2, HC]"} <= ranks
    forest = madrs.draw(tree).axes[-1]
    labels = [label.get_text() for label in forest.get_yticklabels()]
    assert labels[-3:] == [f"Change under placebo:\n{g}" for g in ("BP", "HC", "MDD")]


def test_figures_and_numbers_of_a_three_arm_three_period_study(tmp_path, sampler_calls):
    params = SimulationParameters(
        sequences=WILLIAMS,
        extra_glx_condition_effect_pct={"midazolam": {"F": -6.0, "M": -6.0}},
        extra_direct_effect={"midazolam": {"F": 6.0, "M": 6.0}},
    )
    study, _ = simulate_study(2, n_participants=6, params=params)
    assert study.periods == 3 and len(study.conditions) == 3
    for name in ("glutamate_partial", "symptoms_partial", "joint_partial"):
        fit(name, study=study, settings=SETTINGS, out_dir=tmp_path, progress=False)
    stems = {p.stem for p in make_figures(tmp_path, out_dir=tmp_path / "figures")}
    assert {
        "fig1_glx_timecourse",
        "fig2_glx_pooling_naltrexone",
        "fig2_glx_pooling_midazolam",
        "fig3_madrs",
        "fig4_mediation_naltrexone",
        "fig4_mediation_midazolam",
    } <= stems
    assert "fig5_mediation_sensitivity" not in stems  # defined for two conditions only
    write_numbers(tmp_path, out_dir=tmp_path / "numbers")
    numbers = json.loads((tmp_path / "numbers" / "numbers.json").read_text())
    quantities = numbers["quantities"]
    for key in ("GlxEffect", "SymptomEffect", "IndirectEffect", "TotalEffect"):
        for arm in ("Naltrexone", "Midazolam"):
            entry = quantities[f"{key}{arm}"]
            assert set(entry["estimates"]) == {"Female", "Male", "Pooled"}
            assert entry["condition"] == arm.lower()
    assert quantities["GlxSexDifferenceMidazolam"]["condition"] == "midazolam"
    assert "GlxResponse" in quantities and "mediation_sensitivity" not in numbers
    assert (
        r"\newcommand{\GlxEffectMidazolamMaleMean}"
        in (tmp_path / "numbers" / "numbers.tex").read_text()
    )
