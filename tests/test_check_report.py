"""``check`` in plain words: key effects, reasons with remedies, LOO and prior flags."""

import subprocess
import sys

import numpy as np
import xarray as xr
from typer.testing import CliRunner

from bayes_ketamine.cli import app
from bayes_ketamine.inference.artifact import write_artifact
from bayes_ketamine.inference.diagnostics import run_diagnostics
from bayes_ketamine.inference.settings import FitSettings

runner = CliRunner()
SHAPE = (4, 500)


def artifact_with_findings(path, rhat_problem: bool = False, repairs=None, reason: str = ""):
    """Write an artifact that stores a Pareto-k problem and a prior-data conflict."""
    rng = np.random.default_rng(1)
    effect = rng.normal([1.0, 2.0], 0.5, size=(*SHAPE, 2))
    if rhat_problem:
        effect[0] += 3.0  # one chain elsewhere: R-hat far above 1.05
    posterior = xr.Dataset(
        {
            "effect": (("chain", "draw", "sex"), effect),
            "effect_pooled": (("chain", "draw"), effect.mean(-1)),
        },
        coords={"sex": ["F", "M"]},
    )
    stats = xr.Dataset(
        {
            "diverging": (("chain", "draw"), np.zeros(SHAPE, bool)),
            "energy": (("chain", "draw"), rng.normal(size=SHAPE)),
            "maxdepth_reached": (("chain", "draw"), np.zeros(SHAPE, bool)),
        }
    )
    tree = xr.DataTree.from_dict({"posterior": posterior, "sample_stats": stats})
    parameters, sampler = run_diagnostics(tree, 10)
    tree["diagnostics"] = parameters
    tree["sampler_checks"] = sampler
    labels = ["effect[F]", "effect[M]", "effect_pooled"]
    tree["prior_sensitivity"] = xr.Dataset(
        {
            "psense_prior": ("parameter", [0.08, 0.07, 0.01]),
            "psense_likelihood": ("parameter", [0.12, 0.11, 0.09]),
            "diagnosis": ("parameter", ["prior-data conflict", "prior-data conflict", "ok"]),
        },
        coords={"parameter": labels},
        attrs={"threshold": 0.05},
    )
    obs = np.arange(4)
    loo = xr.Dataset(
        {
            "elpd_i": ("symptom_obs", -np.ones(4)),
            "pareto_k": ("symptom_obs", [0.1, 1.04, 0.3, 0.75]),
        },
        coords={
            "symptom_obs": obs,
            "participant_id": ("symptom_obs", ["P01", "P03", "P01", "P02"]),
            "session": ("symptom_obs", [1, 2, 1, 1]),
            "timepoint": ("symptom_obs", ["pre", "24h", "24h", "24h"]),
        },
        attrs={"good_k": 0.7, "warning": 1, "unrepaired_reason": reason},
    )
    if repairs is not None:
        loo["repair"] = ("symptom_obs", repairs)
        loo["elpd_i_psis"] = loo["elpd_i"]
    tree["loo"] = xr.DataTree.from_dict({"score": loo})
    tree.attrs = {
        "bayes_ketamine_artifact": 1,
        "provenance_key": "k",
        "model_name": "symptoms_partial",
        "spec_json": "{}",
        "data_hash": "d",
        "settings_json": FitSettings(draws=500, tune=300).to_json(),
        "study_name": "Hand-written pilot",
        "study_simulated": 0,
        "seed": 1,
        "created": "2026-12-01T20:00:00+00:00",
    }
    return write_artifact(tree, path)


def test_check_reports_pareto_k_and_prior_data_conflict_in_plain_words(tmp_path):
    path = artifact_with_findings(tmp_path / "symptoms_partial.nc")
    result = runner.invoke(app, ["check", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Key effects" in out and "effect[M]" in out and "P(>0) 1.00" in out
    assert (
        "note: LOO on score: 2 of 4 observations have Pareto k above 0.70 and could not be "
        "repaired (max 1.04: participant P03, session 2, timepoint 24h); their leave-one-out "
        "predictions, this model's elpd on score and `compare` rankings on it are unreliable"
    ) in out
    assert "what to do: these observations are influential: check them for data errors" in out
    assert (
        "note: prior-data conflict for effect[F], effect[M]: the estimate moves both when "
        "the prior and when the likelihood is scaled slightly (sensitivity >= 0.05), so "
        "prior and data pull in different directions"
    ) in out
    final = (
        f"{path}: pass (convergence verdict); not in the verdict: 1 LOO problem and "
        "1 prior-sensitivity flag(s)"
    )
    assert out.splitlines()[-1] == final
    quiet = runner.invoke(app, ["check", str(path), "--quiet"], env={"COLUMNS": "200"})
    assert quiet.exit_code == 0 and quiet.output == final + "\n"


def test_check_counts_only_the_high_k_points_left_unrepaired(tmp_path):
    repaired = artifact_with_findings(
        tmp_path / "repaired.nc", repairs=["", "refit", "", "moment_match"]
    )
    out = runner.invoke(app, ["check", str(repaired)]).output
    assert "LOO on score" not in out and "elpd_i_psis" not in out
    partly = artifact_with_findings(
        tmp_path / "partly.nc", repairs=["", "unrepaired", "", "moment_match"]
    )
    out = runner.invoke(app, ["check", str(partly)], env={"COLUMNS": "300"}).output
    assert "1 of 4 observations have Pareto k above 0.70 and could not be repaired" in out
    assert "(max 1.04: participant P03, session 2, timepoint 24h)" in out


def test_check_tells_to_cross_validate_when_points_were_too_many_to_refit(tmp_path):
    from bayes_ketamine.inference.loo_columns import CV_ADVICE

    reason = f"not refitted: 2 points need exact refits, more than the 1 allowed: {CV_ADVICE}"
    path = artifact_with_findings(
        tmp_path / "big.nc", repairs=["", "unrepaired", "", "unrepaired"], reason=reason
    )
    out = runner.invoke(app, ["check", str(path)], env={"COLUMNS": "400"}).output
    assert "2 of 4 observations have Pareto k above 0.70 and could not be repaired" in out
    assert f"what to do: {reason}" in out
    assert "check them for data errors" not in out


def test_check_gives_each_reason_of_a_failed_verdict_its_remedy(tmp_path):
    path = artifact_with_findings(tmp_path / "m.nc", rhat_problem=True)
    result = runner.invoke(app, ["check", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "verdict: fail (convergence)" in result.output
    assert "  fail: R-hat > 1.05 (max " in result.output
    assert (
        "    what to do: the chains disagree: run longer, e.g. --draws 1000 --tune 600, "
        "or more chains"
    ) in result.output


def test_check_does_not_import_the_modelling_stack(tmp_path):
    path = artifact_with_findings(tmp_path / "m.nc")
    heavy = ("pymc", "pytensor", "numba", "nutpie", "arviz_stats", "matplotlib")
    code = (
        "import sys\n"
        "from bayes_ketamine.cli import app\n"
        f"try:\n    app(['check', {str(path)!r}, '--quiet'])\n"
        "except SystemExit as done:\n    code = done.code\n"
        f"print(code, sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines()[-1] == "0 []", result.stdout + result.stderr
