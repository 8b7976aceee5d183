"""Design analysis (power, assurance) for K conditions, P periods and another factor.

Sampling is mocked: a fake fit returns posterior draws around the simulated truth, so
what is tested is the design handling (stratified allocation, reordering, the
question asked, the CLI), not the sampler.
"""

from __future__ import annotations

import contextlib
import re
from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from bayes_ketamine.calibration import power
from bayes_ketamine.calibration.power import (
    PowerQuestion,
    criteria,
    power_question,
    reorder_to_template,
    stratified_simulation,
    summarise_power,
    target_counts,
)
from bayes_ketamine.cli import app
from bayes_ketamine.data import SimulationParameters
from bayes_ketamine.models import ModelSpec, build_model

THREE_PERIOD = ("placebo-naltrexone-naltrexone", "naltrexone-placebo-placebo")
SITES = ("A", "B", "C", "D")
SITE_PARAMS = SimulationParameters(
    sites=SITES,
    effects_by="site",
    sequences=THREE_PERIOD,
    glx_condition_effect_pct={"A": -1.0, "B": -2.0, "C": -3.0, "D": -6.0},
    direct_effect=dict.fromkeys(SITES, 2.0),
)
THREE_ARM = SimulationParameters(
    sequences=(
        "placebo-naltrexone-midazolam",
        "naltrexone-midazolam-placebo",
        "midazolam-placebo-naltrexone",
    ),
    extra_glx_condition_effect_pct={"midazolam": {"F": -6.0, "M": -2.0}},
    extra_direct_effect={"midazolam": {"F": 6.0, "M": 6.0}},
)


def test_target_counts_spread_each_level_evenly_over_the_sequences():
    counts = target_counts(5, SITES, THREE_PERIOD)
    for site in SITES:
        per_site = [counts[(site, seq)] for seq in THREE_PERIOD]
        assert sum(per_site) == 5 and max(per_site) - min(per_site) == 1
    # the sequence totals are the simulator's: 20 participants, 10 per sequence
    assert [sum(counts[(s, q)] for s in SITES) for q in THREE_PERIOD] == [10, 10]
    assert target_counts(4) == {
        ("F", "placebo-naltrexone"): 2,
        ("F", "naltrexone-placebo"): 2,
        ("M", "placebo-naltrexone"): 2,
        ("M", "naltrexone-placebo"): 2,
    }


def test_replicates_of_a_three_period_site_design_share_it():
    template = stratified_simulation(3, SITE_PARAMS, 1, 3, 0)
    replicate = stratified_simulation(3, SITE_PARAMS, 1, 3, 1)
    assert template.periods == 3 and len(template.participants) == 12
    counts = template.participants.groupby(["site", "sequence"]).size().to_dict()
    assert counts == {k: v for k, v in target_counts(3, SITES, THREE_PERIOD).items() if v}
    model = build_model(ModelSpec("g", "glutamate", pooling_factor="site"), template)
    data = reorder_to_template(model, template, replicate, factor="site")
    glx = replicate.fmrs["glx"].to_numpy()
    np.testing.assert_allclose(np.sort(data["log_glx_observed"]), np.sort(np.log(glx)))
    # each template row takes the replicate row of a participant of the same site
    # and sequence, same session and block
    labels = model.observation_labels()["log_glx"]
    first = labels.iloc[0]
    sequence = template.participants.set_index("participant_id")["sequence"]
    people = replicate.participants
    twins = people[
        (people["site"] == first["site"])
        & (people["sequence"] == sequence[first["participant_id"]])
    ]["participant_id"]
    candidates = replicate.fmrs[
        replicate.fmrs["participant_id"].isin(twins)
        & (replicate.fmrs["session"] == first["session"])
        & (replicate.fmrs["block"] == first["block"])
    ]["glx"]
    assert np.exp(data["log_glx_observed"][0]) == pytest.approx(candidates.iloc[0])


def _posterior(levels, factor, values, arms=None):
    rng = np.random.default_rng(0)
    dims = ["chain", "draw", factor]
    coords = {factor: list(levels)}
    centre = np.asarray(values, dtype=float)
    if arms is not None:
        dims.insert(2, "active_condition")
        coords["active_condition"] = list(arms)
    draws = centre + rng.normal(0.0, 0.3, (2, 200, *centre.shape))
    return xr.Dataset({"glx_condition_effect": (dims, draws)}, coords=coords)


def test_question_of_one_arm_of_three_and_of_two_sites():
    question = PowerQuestion(factor="site", first="D", second="A", condition="midazolam")
    job = SimpleNamespace(payload={"threshold": 0.95, "question": question})
    # naltrexone: no site difference; midazolam: D 4 points below A
    posterior = _posterior(
        SITES,
        "site",
        [[-2.0, -2.0, -2.0, -2.0], [-1.0, -3.0, -3.0, -5.0]],
        ["naltrexone", "midazolam"],
    )
    out = summarise_power(posterior, job)
    assert set(criteria(question)) <= set(out)
    assert out["site_difference_negative"] and out["D_effect_negative"]
    assert out["site_difference_mean"] == pytest.approx(-4.0, abs=0.1)
    naltrexone = PowerQuestion(factor="site", first="D", second="A", condition="naltrexone")
    out = summarise_power(
        posterior, SimpleNamespace(payload={"threshold": 0.95, "question": naltrexone})
    )
    assert not out["site_difference_excludes_zero"]
    assert "midazolam" in criteria(question)["site_difference_negative"]


def test_power_question_checks_the_simulation_against_the_spec():
    site_spec = ModelSpec("g_site", "glutamate", pooling_factor="site")
    q = power_question(site_spec, SITE_PARAMS)
    assert (q.factor, q.first, q.second, q.condition) == ("site", "D", "A", None)
    q = power_question(ModelSpec("g", "glutamate"), THREE_ARM)
    assert q.condition == "naltrexone" and (q.first, q.second) == ("M", "F")
    with pytest.raises(ValueError, match="pools by 'sex' but the simulation keys .* by 'site'"):
        power_question(ModelSpec("g", "glutamate"), SITE_PARAMS)
    with pytest.raises(ValueError, match="contrast level 'Z' is not a level of site"):
        power_question(site_spec, SITE_PARAMS, contrast=("Z", "A"))
    with pytest.raises(ValueError, match="condition 'ketamine' is not an active condition"):
        power_question(ModelSpec("g", "glutamate"), THREE_ARM, condition="ketamine")
    covariate = SimulationParameters(covariates={"age": (35.0, 10.0)})
    with pytest.raises(ValueError, match="covariates is not supported"):
        power_question(ModelSpec("g", "glutamate"), covariate)


def _fake_fit(job):
    """A fit without sampling: draws around the replicate's true Glx effects."""
    data, extra = job.make_data(job)
    question = job.payload["question"]
    levels = sorted(
        k.removeprefix("true_glx_effect_") for k in extra if k.startswith("true_glx_effect_")
    )
    truth = [extra[f"true_glx_effect_{level}"] for level in levels]
    arms = None
    if question.condition is not None:
        arms = [question.condition]
        truth = [truth]
    posterior = _posterior(levels, question.factor, truth, arms)
    assert all(np.isfinite(v).all() for v in data.values())
    return {
        "index": job.index,
        "seed": job.seed,
        "fit_failed": False,
        "status": "pass",
        "divergences": 0,
        **extra,
        **job.summarise(posterior, job),
    }


@pytest.fixture
def no_sampling(monkeypatch):
    """Run power jobs in this process with the fake fit; no Dask cluster, no compile."""
    from bayes_ketamine.calibration import cluster, worker

    def compiled_for(design):
        return SimpleNamespace(model=build_model(design.spec, design.study)), 0.0

    def run_jobs(client, fn, jobs, *, on_result, **kwargs):
        for job in jobs:
            on_result(fn(job))
        return len(jobs)

    monkeypatch.setattr(cluster, "dask_client", lambda *a, **k: contextlib.nullcontext(None))
    monkeypatch.setattr(cluster, "warm_workers", lambda *a, **k: [{"compile_seconds": 0.0}])
    monkeypatch.setattr(cluster, "run_jobs", run_jobs)
    monkeypatch.setattr(worker, "run_fit", _fake_fit)
    monkeypatch.setattr(power, "compiled_for", compiled_for)


def test_power_cli_for_a_three_period_design_by_site(no_sampling, tmp_path):
    spec = tmp_path / "glutamate_site.toml"
    spec.write_text('name = "glutamate_site"\nfamily = "glutamate"\n[pooling]\nsite = "partial"\n')
    params = tmp_path / "design.toml"
    params.write_text(
        'sites = ["A", "B", "C", "D"]\neffects_by = "site"\n'
        'sequences = ["placebo-naltrexone-naltrexone", "naltrexone-placebo-placebo"]\n'
        "[glx_condition_effect_pct]\nA = -1.0\nB = -2.0\nC = -3.0\nD = -6.0\n"
        "[direct_effect]\nA = 2.0\nB = 2.0\nC = 2.0\nD = 2.0\n"
    )
    args = ["power", "--spec", str(spec), "--params", str(params), "--n-per-level", "2,3"]
    args += ["--replicates", "3", "--contrast", "D-A", "--out", str(tmp_path / "out"), "--quiet"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "n/site=2" in result.stdout and "a_D - a_A (Glx) below 0" in result.stdout
    tree = xr.open_datatree(tmp_path / "out" / "glutamate_site_fixed" / "power.nc")
    summary = tree["summary"].to_dataset()
    assert set(summary["criterion"].values) == set(
        criteria(PowerQuestion(factor="site", first="D", second="A"))
    )
    # the fake posterior sits on the truth (D - A = -5 %, sd 0.4): always settled
    assert (summary["probability"].sel(criterion="site_difference_negative") == 1.0).all()
    reps = tree["replicates"].to_dataset()
    assert (reps["true_glx_site_difference"] == -5.0).all()


def test_power_cli_asks_about_one_arm_of_a_three_arm_design(no_sampling, tmp_path):
    params = tmp_path / "three_arm.toml"
    params.write_text(
        "sequences = "
        + str(list(THREE_ARM.sequences)).replace("'", '"')
        + "\n[extra_glx_condition_effect_pct.midazolam]\nF = -6.0\nM = -2.0\n"
        "[extra_direct_effect.midazolam]\nF = 6.0\nM = 6.0\n"
    )
    args = ["power", "--params", str(params), "--condition", "midazolam", "--n-per-sex", "3"]
    args += ["--replicates", "2", "--out", str(tmp_path / "out"), "--quiet"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    reps = xr.open_datatree(tmp_path / "out" / "glutamate_partial_fixed" / "power.nc")
    reps = reps["replicates"].to_dataset()
    assert (reps["true_glx_sex_difference"] == 4.0).all()  # midazolam: M -2, F -6
    assert not reps["sex_difference_negative"].values.any()  # M - F = +4 > 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--contrast", "MF"],
            "power: --contrast takes two levels joined by '-', e.g. M-F; got 'MF'",
        ),
        (["--params", "nowhere.toml"], "nowhere.toml: simulation parameter file not found"),
        (["--params", "{bad}"], "{bad}: unknown simulation parameter(s) arms; known: "),
        (
            ["--params", "{site}", "--male-effect", "-3"],
            "power: --male-effect/--female-effect need",
        ),
    ],
)
def test_bad_power_design_options_are_one_line_errors(tmp_path, extra, message):
    (tmp_path / "bad.toml").write_text("arms = 3\n")
    (tmp_path / "site.toml").write_text(
        'sites = ["A", "B"]\neffects_by = "site"\n[glx_condition_effect_pct]\nA = 1.0\nB = 2.0\n'
        "[direct_effect]\nA = 1.0\nB = 2.0\n"
    )
    extra = [a.format(bad=tmp_path / "bad.toml", site=tmp_path / "site.toml") for a in extra]
    message = message.format(bad=tmp_path / "bad.toml")
    result = CliRunner().invoke(app, ["power", "--out", str(tmp_path / "o"), *extra])
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {message}"), line
    assert not re.search("Traceback", result.output)
