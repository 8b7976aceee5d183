"""Fit pipeline with the sampler mocked: groups, provenance, reuse and refit."""

import json
import shutil

import pytest
from inference_toy import ToyModel, fake_sample_posterior, toy_model, toy_spec, toy_study

from bayes_ketamine.inference import FitSettings, fit, load_posterior
from bayes_ketamine.inference import fitting as fit_module
from bayes_ketamine.inference.artifact import CHECK_GROUPS, REQUIRED_GROUPS

SETTINGS = FitSettings(draws=60, tune=10, chains=2, prior_draws=20)


@pytest.fixture(autouse=True)
def fake_sampler(monkeypatch):
    calls = []

    def sampler(model, settings, progressbar=True):
        calls.append(settings)
        return fake_sample_posterior(model, settings, progressbar)

    monkeypatch.setattr(fit_module, "posterior_sampler", sampler)
    return calls


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """One artifact fitted with SETTINGS, shared by the tests (copied before changes)."""
    out = tmp_path_factory.mktemp("base")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fit_module, "posterior_sampler", fake_sample_posterior)
        return fit(toy_model(), settings=SETTINGS, out_dir=out, progress=False)


@pytest.fixture
def out_dir(tmp_path, base):
    shutil.copy(base.path, tmp_path / base.path.name)
    return tmp_path


def test_artifact_has_every_group_and_provenance(base):
    result = base
    assert result.path.name == "toy_partial.nc"
    assert not result.reused
    tree = load_posterior(result.path)
    for group in REQUIRED_GROUPS + CHECK_GROUPS:
        assert group in tree.children, group
    assert set(tree["ppc_statistics"].children) == {"log_glx", "score"}
    assert set(tree["loo"].children) == {"log_glx", "score"}
    assert set(tree["loo_pit"].data_vars) == {"log_glx", "score"}
    attrs = tree.attrs
    spec = toy_spec()
    assert attrs["model_name"] == "toy_partial"
    assert attrs["spec_json"] == spec.to_json()
    assert attrs["spec_hash"] == spec.content_hash()
    assert attrs["data_hash"] == toy_study().content_hash()
    assert attrs["study_simulated"] == 1
    assert FitSettings.from_json(attrs["settings_json"]) == SETTINGS
    assert json.loads(attrs["package_versions"])["pymc"].startswith("6.")
    assert attrs["verdict"] in {"pass", "warn", "fail"}
    # posterior round-trips exactly
    assert (
        tree["posterior"]["glx_condition_effect"]
        == result.tree["posterior"]["glx_condition_effect"]
    ).all()
    assert tree["posterior"]["glx_condition_effect"].dims == ("chain", "draw", "sex")


def test_ppc_and_loo_tables(base):
    tree = base.tree
    score = tree["ppc_statistics/score"].to_dataset()
    assert score.sizes["cell"] == 4  # 2 conditions x 2 timepoints
    assert set(score["statistic"].values) == {"mean", "sd", "min", "max"}
    assert ((score["ppp"] >= 0) & (score["ppp"] <= 1)).all()
    glx = tree["ppc_statistics/log_glx"].to_dataset()
    assert "pct_change" in glx["statistic"].values
    baseline = glx.sel(statistic="pct_change").where(glx["block"] == 0, drop=True)
    assert (abs(baseline["observed"]) < 1e-12).all()
    loo = tree["loo/score"].to_dataset()
    assert loo["pareto_k"].sizes["symptom_obs"] == 24
    assert "participant_id" in loo.coords
    assert {"elpd", "se", "p_loo", "good_k"} <= set(loo.attrs)
    sens = tree["prior_sensitivity"].to_dataset()
    assert sens["parameter"].values.tolist() == [
        "glx_condition_effect[F]",
        "glx_condition_effect[M]",
        "symptom_condition_effect[F]",
        "symptom_condition_effect[M]",
    ]
    assert {"psense_prior", "psense_likelihood", "psense_likelihood_score", "diagnosis"} <= set(
        sens.data_vars
    )


def test_same_inputs_reuse_without_sampling(out_dir, base, fake_sampler):
    second = fit(toy_model(), settings=SETTINGS, out_dir=out_dir, progress=False)
    assert second.reused and not fake_sampler
    assert second.tree.attrs["created"] == base.tree.attrs["created"]


@pytest.mark.parametrize(
    "changed",
    [
        {"model": lambda: ToyModel(toy_spec(glx_effect={"mu": 0.0, "sigma": 0.2}), toy_study())},
        {"model": lambda: toy_model(seed=1)},
        {"settings": FitSettings(draws=60, tune=10, chains=2, prior_draws=20, seed=7)},
        {"settings": FitSettings(draws=61, tune=10, chains=2, prior_draws=20)},
        {"force": True},
    ],
    ids=["spec", "data", "seed", "draws", "force"],
)
def test_any_change_or_force_refits(out_dir, base, fake_sampler, changed):
    model = changed.get("model", toy_model)()
    result = fit(
        model,
        settings=changed.get("settings", SETTINGS),
        out_dir=out_dir,
        force=changed.get("force", False),
        progress=False,
    )
    assert not result.reused and len(fake_sampler) == 1
    assert result.tree.attrs["provenance_key"] != ""


def test_corrupted_existing_artifact_is_refitted(out_dir, fake_sampler):
    path = out_dir / "toy_partial.nc"
    path.write_bytes(path.read_bytes()[:1000])
    result = fit(toy_model(), settings=SETTINGS, out_dir=out_dir, progress=False)
    assert not result.reused and len(fake_sampler) == 1
    load_posterior(path)


def test_built_model_with_another_study_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="not a model and another study"):
        fit(toy_model(), study=toy_study(seed=3), settings=SETTINGS, out_dir=tmp_path)


def test_progress_is_printed_unless_quiet(out_dir, capsys):
    fit(toy_model(), settings=SETTINGS, out_dir=out_dir, progress=True)
    assert "reusing" in capsys.readouterr().err
    fit(toy_model(), settings=SETTINGS, out_dir=out_dir, progress=False)
    assert capsys.readouterr().err == ""
    fit(toy_model(), settings=SETTINGS, out_dir=out_dir, progress=True, force=True)
    err = capsys.readouterr().err
    assert "[1/7]" in err and "[7/7]" in err and "wrote" in err
