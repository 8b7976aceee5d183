"""Manuscript numbers from mocked artifacts: values, macro names, simulated flag."""

import json
import re

import numpy as np
import pytest
from test_figures import shared_mock_posteriors
from typer.testing import CliRunner

from bayes_ketamine.cli import app
from bayes_ketamine.inference import load_posterior
from bayes_ketamine.reporting import QUANTITIES, Posteriors, artifacts, write_numbers
from bayes_ketamine.reporting.numbers import latex_escape


@pytest.fixture(scope="module")
def posteriors_dir():
    return shared_mock_posteriors()


@pytest.fixture(scope="module")
def numbers(posteriors_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("numbers")
    paths = write_numbers(posteriors_dir, out_dir=out)
    assert [p.name for p in paths] == ["numbers.json", "numbers.tex"]
    return json.loads(paths[0].read_text()), paths[1].read_text()


def _flat(tree, var):
    return tree["posterior"][var].values.reshape(-1, *tree["posterior"][var].shape[2:])


def test_json_matches_posterior_draws(posteriors_dir, numbers):
    data, _ = numbers
    assert data["simulated"] is True
    glx = load_posterior(posteriors_dir / "glutamate_partial.nc")
    effect = _flat(glx, "glx_condition_effect")
    male = data["quantities"]["GlxEffect"]["estimates"]["Male"]
    assert male["mean"] == pytest.approx(effect[:, 1].mean())
    assert male["prob"] == pytest.approx(np.mean(effect[:, 1] < 0))
    assert male["eti89"] == pytest.approx(np.quantile(effect[:, 1], [0.055, 0.945]).tolist())
    assert male["eti95"] == pytest.approx(np.quantile(effect[:, 1], [0.025, 0.975]).tolist())
    pooled = data["quantities"]["GlxEffect"]["estimates"]["Pooled"]
    assert pooled["mean"] == pytest.approx(effect.mean())
    sym = load_posterior(posteriors_dir / "symptoms_partial.nc")
    s_effect = _flat(sym, "symptom_condition_effect")
    female = data["quantities"]["SymptomEffect"]["estimates"]["Female"]
    assert female["prob"] == pytest.approx(np.mean(s_effect[:, 0] > 0))
    change = _flat(sym, "symptom_change_reference")[:, 0]  # shared by the sexes
    assert data["quantities"]["SymptomChange"]["estimates"]["All"]["mean"] == pytest.approx(
        change.mean()
    )
    assert set(data["quantities"]["SymptomChange"]["estimates"]) == {"All"}
    joint = load_posterior(posteriors_dir / "joint_partial.nc")
    indirect = _flat(joint, "indirect_effect_pooled")
    got = data["quantities"]["IndirectEffect"]["estimates"]["Pooled"]
    assert got["prob"] == pytest.approx(np.mean(indirect > 0))
    assert set(data["quantities"]) == {q.key for q in QUANTITIES}


def test_latex_macros_are_valid_and_unique(numbers):
    data, tex = numbers
    names = re.findall(r"\\newcommand\{\\([^}]*)\}", tex)
    assert all(re.fullmatch(r"[A-Za-z]+", n) for n in names), names
    assert len(names) == len(set(names))
    assert "GlxEffectMaleMean" in names and "IndirectEffectPooledProb" in names
    assert r"\newcommand{\StudySimulated}{yes}" in tex
    assert r"\newcommand{\SimulatedNote}{SIMULATED DATA}" in tex
    mean = data["quantities"]["GlxEffect"]["estimates"]["Male"]["mean"]
    shown = re.search(r"\\newcommand\{\\GlxEffectMaleMean\}\{(.*)\}", tex).group(1)
    assert float(shown.replace(r"\ensuremath{-}", "-")) == pytest.approx(mean, abs=0.05)
    assert tex.count("{") == tex.count("}")


def test_numbers_from_trees_in_memory_equal_those_from_the_folder(
    posteriors_dir, tmp_path, monkeypatch
):
    from_folder = write_numbers(posteriors_dir, out_dir=tmp_path / "folder")
    trees = {p.stem: load_posterior(p) for p in posteriors_dir.glob("*.nc")}

    def no_load(path):
        raise AssertionError(f"{path} read again")

    monkeypatch.setattr(artifacts, "load_posterior", no_load)
    in_memory = write_numbers(Posteriors(posteriors_dir, trees=trees), out_dir=tmp_path / "memory")
    assert [p.name for p in in_memory] == [p.name for p in from_folder]
    for first, second in zip(from_folder, in_memory, strict=True):
        assert first.read_bytes() == second.read_bytes(), first.name


def test_latex_escape():
    assert latex_escape("A_b & 50% #1") == r"A\_b \& 50\% \#1"


def test_cli_numbers_and_figures(posteriors_dir, tmp_path):
    runner = CliRunner()
    result = runner.invoke(
        app, ["numbers", "--posteriors", str(posteriors_dir), "--out", str(tmp_path / "m")]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "m" / "numbers.tex").is_file()
    empty = tmp_path / "empty"
    empty.mkdir()
    for verb in ("numbers", "figures"):
        result = runner.invoke(app, [verb, "--posteriors", str(empty), "--out", str(tmp_path)])
        assert result.exit_code == 2


def test_mediation_sensitivity_numbers(posteriors_dir, numbers):
    from bayes_ketamine.inference.mediation import mediation_sensitivity

    data, tex = numbers
    joint = load_posterior(posteriors_dir / "joint_partial.nc")
    sens = mediation_sensitivity(joint)
    # At rho = 0 the curve is the joint model's own indirect effect (computed by PyMC).
    indirect = _flat(joint, "indirect_effect_pooled")
    at_zero = sens["indirect_effect_pooled"].sel(rho=0.0)
    assert at_zero.sel(statistic="mean").item() == pytest.approx(indirect.mean(), rel=1e-12)
    assert at_zero.sel(statistic="eti95_low").item() == pytest.approx(
        np.quantile(indirect, 0.025), rel=1e-12
    )
    got = data["mediation_sensitivity"]
    assert got["crossing_prob"] == 0.95
    for who, sex in (("Female", "F"), ("Male", "M")):
        for side in ("negative", "positive"):
            value = sens["rho_crossing"].sel(sex=sex, side=side).item()
            reported = got["rho_crossing"][who][side]
            assert reported is None if np.isnan(value) else reported == pytest.approx(value)
    pooled = sens["rho_crossing_pooled"].sel(side="positive").item()
    shown = re.search(r"\\newcommand\{\\IndirectEffectPooledRhoPositive\}\{(.*)\}", tex).group(1)
    expected = "none" if np.isnan(pooled) else f"{pooled:.2f}".replace("-", r"\ensuremath{-}")
    assert shown == expected
    assert "RhoIndirectZeroLowNinetyFive" in tex
    assert got["rho_mean_zero"]["Male"] == pytest.approx(sens["rho_mean_zero"].sel(sex="M").item())
    assert "IndirectEffectPooledRhoMeanZero" in tex


def test_pooling_criteria_numbers_state_both_criteria(posteriors_dir):
    from test_figures import glutamate_criteria_tables

    from bayes_ketamine.reporting.numbers import headline_numbers, latex_macros

    cv = {"none": -80.0, "partial": -79.0, "complete": -78.0}  # within 2 SE of each other
    tables = glutamate_criteria_tables(Posteriors(posteriors_dir), cv)
    numbers = headline_numbers(Posteriors(posteriors_dir, comparisons=tables))
    entry = numbers["pooling_criteria"]["glutamate"]["log_glx"]
    assert (entry["loo_best"], entry["cv_best"], entry["agree"]) == (
        "glutamate_partial",
        "glutamate_complete",
        False,
    )
    assert "not decisively" in entry["why"] and "CV (1.0 ± 3.0)" in entry["why"]
    json.dumps(numbers)  # serialisable as numbers.json
    tex = latex_macros(numbers)
    assert r"\newcommand{\GlutamateLogGlxPoolingLooBest}{partial}" in tex
    assert r"\newcommand{\GlutamateLogGlxPoolingCvBest}{complete}" in tex
    assert r"\newcommand{\GlutamateLogGlxPoolingCriteriaAgree}{no}" in tex
    assert r"\newcommand{\GlutamateLogGlxNoneLooElpdDiff}{\ensuremath{-}10.0}" in tex
    assert r"\newcommand{\GlutamateLogGlxPartialCvElpdDiffSe}{3.0}" in tex
    names = re.findall(r"\\newcommand\{\\([^}]*)\}", tex)
    assert len(names) == len(set(names)) and all(re.fullmatch(r"[A-Za-z]+", n) for n in names)
    assert "pooling_criteria" not in headline_numbers(Posteriors(posteriors_dir))
