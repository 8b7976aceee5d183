"""Exit codes and output of ``fit``, ``check`` and ``compare``."""

import json
import shutil

import numpy as np
import pytest
import xarray as xr
from inference_toy import fake_sample_posterior, toy_model
from typer.testing import CliRunner

import bayes_ketamine.cli.fit_commands as commands
from bayes_ketamine.cli import app
from bayes_ketamine.inference import compare, fit, fitting, load_posterior
from bayes_ketamine.inference.artifact import write_artifact
from bayes_ketamine.inference.diagnostics import run_diagnostics
from bayes_ketamine.inference.fitting import FitResult
from bayes_ketamine.inference.settings import FitSettings

runner = CliRunner()


def _artifact(path, n_div: int):
    """Write a minimal artifact whose verdict depends on the divergences."""
    rng = np.random.default_rng(0)
    diverging = np.zeros((4, 500), bool)
    diverging.flat[:n_div] = True
    tree = xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset({"mu": (("chain", "draw"), rng.normal(size=(4, 500)))}),
            "sample_stats": xr.Dataset(
                {
                    "diverging": (("chain", "draw"), diverging),
                    "energy": (("chain", "draw"), rng.normal(size=(4, 500))),
                    "maxdepth_reached": (("chain", "draw"), np.zeros((4, 500), bool)),
                }
            ),
        }
    )
    parameters, sampler = run_diagnostics(tree, 10)
    tree["diagnostics"] = parameters
    tree["sampler_checks"] = sampler
    tree.attrs = {
        "bayes_ketamine_artifact": 1,
        "provenance_key": "k",
        "model_name": "m",
        "spec_json": "{}",
        "data_hash": "d",
        "settings_json": FitSettings().to_json(),
        "study_name": "toy",
        "study_simulated": 1,
        "seed": 1,
        "created": "now",
    }
    return write_artifact(tree, path)


@pytest.mark.parametrize(
    ("n_div", "code", "word"), [(0, 0, "pass"), (1, 0, "warn"), (100, 1, "fail")]
)
def test_check_exit_codes(tmp_path, n_div, code, word):
    path = _artifact(tmp_path / "m.nc", n_div)
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == code, result.output
    assert f"verdict: {word}" in result.output
    assert "SIMULATED DATA" in result.output


def test_check_unreadable_artifact(tmp_path):
    bad = tmp_path / "bad.nc"
    bad.write_text("garbage")
    result = runner.invoke(app, ["check", str(bad)])
    assert result.exit_code == 2
    assert "truncated or corrupted" in result.output


def test_fit_missing_spec_and_bad_sampler(tmp_path):
    result = runner.invoke(app, ["fit", str(tmp_path / "nope.toml"), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "not found" in result.output
    spec = tmp_path / "s.toml"
    spec.write_text('name = "s"\nfamily = "symptoms"\n')
    result = runner.invoke(app, ["fit", str(spec), "--sampler", "stan", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "sampler" in result.output


def test_fit_reports_verdict_and_exit_code(tmp_path, monkeypatch):
    path = _artifact(tmp_path / "m.nc", 100)

    def fake_fit(spec, study, settings, out_dir, force, progress):
        assert settings.sampler == "pymc" and settings.draws == 10 and force
        return FitResult(load_posterior(path), path, reused=False)

    monkeypatch.setattr(commands, "fit", fake_fit)
    monkeypatch.setattr(commands, "study_or_exit", lambda name: toy_model().study)
    spec = tmp_path / "s.toml"
    spec.write_text('name = "s"\nfamily = "symptoms"\n')
    args = ["fit", str(spec), "--sampler", "pymc", "--draws", "10", "--force", "--quiet"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    # --quiet keeps only the final line
    final = f"{path}: fail (convergence verdict); no LOO or prior-sensitivity problem"
    assert result.output == final + "\n"
    loud = runner.invoke(app, args[:-1], env={"COLUMNS": "200"})
    assert loud.exit_code == 1
    assert "fitted in " in loud.output and "Key effects" in loud.output
    assert "  fail: 100 divergent transitions in 2000 draws" in loud.output
    assert loud.output.splitlines()[-1] == final


@pytest.fixture(scope="module")
def toy_artifact(tmp_path_factory):
    """The toy model fitted once with the mocked sampler."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fitting, "posterior_sampler", fake_sample_posterior)
        settings = FitSettings(draws=50, chains=2, prior_draws=10)
        out = tmp_path_factory.mktemp("toy")
        return fit(toy_model(), settings=settings, out_dir=out, progress=False).path


def test_compare_of_loaded_trees_equals_compare_of_files(tmp_path, toy_artifact):
    base = shutil.copy(toy_artifact, tmp_path / "a.nc")
    other = shutil.copy(base, tmp_path / "b.nc")
    from_files = compare([base, other])
    trees = [load_posterior(base), load_posterior(other)]
    xr.testing.assert_identical(compare([base, other], trees=trees), from_files)
    with pytest.raises(ValueError, match="1 trees given for 2 artifacts"):
        compare([base, other], trees=trees[:1])


def test_compare_writes_table(tmp_path, toy_artifact):
    src = tmp_path / "src"
    src.mkdir()
    base = shutil.copy(toy_artifact, src / "a.nc")
    other = shutil.copy(base, src / "b.nc")
    out = tmp_path / "cmp.nc"
    result = runner.invoke(app, ["compare", str(base), str(other), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "LOO comparison on score" in result.output
    table = xr.open_dataset(out).load()
    assert table.sizes == {"model": 2, "observed": 2}
    assert json.dumps(table["observed"].values.tolist()) == '["log_glx", "score"]'
    result = runner.invoke(app, ["compare", str(base)])
    assert result.exit_code == 2


def test_quiet_fit_that_passes_prints_nothing(tmp_path, monkeypatch):
    path = _artifact(tmp_path / "m.nc", 0)

    def fake_fit(spec, study, settings, out_dir, force, progress):
        assert not progress  # no steps, no progress bar
        return FitResult(load_posterior(path), path, reused=False)

    monkeypatch.setattr(commands, "fit", fake_fit)
    monkeypatch.setattr(commands, "study_or_exit", lambda name: toy_model().study)
    spec = tmp_path / "s.toml"
    spec.write_text('name = "s"\nfamily = "symptoms"\n')
    result = runner.invoke(app, ["fit", str(spec), "--force", "--quiet"])
    assert result.exit_code == 0
    assert result.stdout == "" and result.stderr == ""
