"""Calibration and design analysis without sampling: ranks, verdicts, MC SE, store."""

from __future__ import annotations

import numpy as np
import pytest

from bayes_ketamine.calibration.power import (
    mc_se,
    reorder_to_template,
    stratified_simulation,
    target_counts,
)
from bayes_ketamine.calibration.store import RunMismatchError, RunStore
from bayes_ketamine.calibration.uniformity import (
    holm,
    rank_ecdf,
    uniformity_band,
    uniformity_test,
)
from bayes_ketamine.calibration.worker import ranked_variables, sbc_rank, thin_indices
from bayes_ketamine.data import SimulationParameters


def test_sbc_rank_counts_thinned_draws_below_truth():
    draws = np.arange(200, dtype=float).reshape(2, 100, 1)  # chain 0: 0..99, chain 1: 100..199
    ranks = sbc_rank(draws, np.array([-1.0]), thin_to=9)
    assert ranks.tolist() == [0]
    assert sbc_rank(draws, np.array([1e9]), thin_to=9).tolist() == [9]
    # thinning spans both chains evenly
    idx = thin_indices(200, 9)
    assert idx[0] == 0 and idx[-1] == 199 and len(idx) == 9
    mid = sbc_rank(draws, np.array([100.0]), thin_to=9)
    assert int(mid[0]) == int((draws.reshape(-1)[idx] < 100).sum())


def test_sbc_rank_of_posterior_equal_to_prior_is_uniform():
    rng = np.random.default_rng(1)
    n, thin = 400, 19
    ranks = np.array(
        [sbc_rank(rng.normal(size=(2, 50, 1)), rng.normal(size=1), thin)[0] for _ in range(n)]
    )
    assert ranks.min() >= 0 and ranks.max() <= thin
    verdict = uniformity_test(ranks[None, :], thin + 1)
    assert verdict["verdict"].values[0] == "uniform"


def test_uniform_ranks_pass_and_non_uniform_ranks_fail():
    rng = np.random.default_rng(7)
    n, n_ranks = 200, 100
    uniform = rng.integers(0, n_ranks, size=(5, n))
    # posterior too wide: ranks piled in the middle
    too_narrow = np.clip(np.round(rng.normal(50, 12, size=n)), 0, 99).astype(int)
    too_wide = np.where(rng.random(n) < 0.5, rng.integers(0, 15, n), rng.integers(85, 100, n))
    biased = rng.integers(20, 100, size=n)  # posterior shifted below the truth
    ranks = np.vstack([uniform, too_narrow, too_wide, biased])
    out = uniformity_test(ranks, n_ranks)
    assert set(out["verdict"].values[:5]) <= {"uniform", "suspect"}
    assert (out["p_value"].values[:5] > 0.001).all()
    assert list(out["verdict"].values[5:]) == ["non-uniform"] * 3
    assert out["outside_band"].values[5:].all()


def test_band_has_simultaneous_coverage():
    rng = np.random.default_rng(3)
    n, n_ranks = 100, 50
    band = uniformity_band(n, n_ranks, alpha=0.05)
    sims = rng.integers(0, n_ranks, size=(1000, n))
    ecdf = rank_ecdf(sims, n_ranks)
    inside = ((ecdf >= band.lower - 1e-12) & (ecdf <= band.upper + 1e-12)).all(axis=1).mean()
    assert 0.92 <= inside <= 0.98
    assert (band.lower <= band.z + 1e-12).all() and (band.upper >= band.z - 1e-12).all()


def test_holm_adjustment():
    adjusted = holm(np.array([0.01, 0.04, 0.03, 0.5]))
    np.testing.assert_allclose(adjusted, [0.04, 0.09, 0.09, 0.5])


def test_monte_carlo_se_of_power():
    assert mc_se(0.5, 100) == pytest.approx(0.05)
    assert mc_se(0.0, 50) == 0.0
    np.testing.assert_allclose(mc_se(np.array([0.2, 0.8]), 400), [0.02, 0.02])


def _fake(index: int) -> dict:
    return {
        "index": index,
        "parameter": ["a", "b[M]"],
        "rank": np.array([index % 10, 3]),
        "status": "pass",
        "fail_reasons": "R-hat 1.2; bulk ESS 12" if index == 3 else "",
        "fit_failed": False,
        "fit_seconds": 0.1,
    }


def test_store_resume_skips_stored_and_combines_each_index_once(tmp_path):
    store = RunStore(tmp_path / "run", {"kind": "sbc", "seed": 1})
    for i in (0, 1, 3):
        assert store.save(_fake(i)) is not None
    first = store.path(1).stat().st_mtime_ns
    assert store.save(_fake(1)) is None  # already stored: kept, not rewritten
    assert store.path(1).stat().st_mtime_ns == first
    again = RunStore(tmp_path / "run", {"kind": "sbc", "seed": 1})
    assert again.missing(range(5)) == [2, 4]
    for i in again.missing(range(5)):
        again.save(_fake(i))
    combined = again.combine(range(5))
    assert combined["simulation"].values.tolist() == [0, 1, 2, 3, 4]
    assert combined["rank"].sel(parameter="a").values.tolist() == [0, 1, 2, 3, 4]
    assert combined["fail_reasons"].values.tolist()[2:4] == ["", "R-hat 1.2; bulk ESS 12"]
    assert not list((tmp_path / "run" / "sims").glob(".*tmp*"))


def test_store_refuses_a_different_run(tmp_path):
    RunStore(tmp_path / "run", {"kind": "sbc", "seed": 1})
    with pytest.raises(RunMismatchError, match="seed"):
        RunStore(tmp_path / "run", {"kind": "sbc", "seed": 2})


def test_ranked_variables_are_population_level():
    from bayes_ketamine.data import default_study
    from bayes_ketamine.models import build_model

    model = build_model("symptoms_partial", default_study())
    names = ranked_variables(model.pymc_model)
    assert "symptom_condition_effect" in names and "symptom_noise" in names
    assert "symptom_participant_offset" not in names
    assert not any(n.endswith("_by_time") for n in names)


def test_power_replicates_share_the_stratified_design():
    from bayes_ketamine.models import build_model

    params = SimulationParameters()
    template = stratified_simulation(5, params, 1, 5, 0)
    replicate = stratified_simulation(5, params, 1, 5, 1)
    counts = template.participants.groupby(["sex", "sequence"]).size().to_dict()
    assert counts == {k: v for k, v in target_counts(5).items() if v}
    assert replicate.content_hash() != template.content_hash()
    model = build_model("joint_partial", template)
    data = reorder_to_template(model, template, replicate)
    assert data["log_glx_observed"].shape == (len(template.fmrs),)
    assert data["score_observed"].shape == (len(template.symptoms),)
    # the replicate's values, reordered: same multiset
    np.testing.assert_allclose(
        np.sort(data["log_glx_observed"]), np.sort(np.log(replicate.fmrs["glx"].to_numpy()))
    )


def test_fewer_simulations_than_ranks_merge_rank_bins():
    from bayes_ketamine.calibration.uniformity import n_bins

    assert n_bins(200, 100) == 100
    assert n_bins(60, 100) == 50
    assert n_bins(4, 50) == 2
    band = uniformity_band(60, 100)
    assert band.n_ranks == 50 and band.z.size == 51
    rng = np.random.default_rng(11)
    out = uniformity_test(rng.integers(0, 100, size=(3, 60)), 100, band=band)
    assert set(out["verdict"].values) <= {"uniform", "suspect"}


def test_design_prior_draws_and_its_point_limit():
    from bayes_ketamine.calibration.power import replicate_parameters

    base = SimulationParameters()
    rng = np.random.default_rng(4)
    point = replicate_parameters(base, "prior", 0.0, rng)
    assert point.glx_condition_effect_pct == base.glx_condition_effect_pct
    drawn = [replicate_parameters(base, "prior", 1.5, rng) for _ in range(4000)]
    draws = np.array([[p.glx_condition_effect_pct[s] for s in "FM"] for p in drawn])
    expected = np.array([base.glx_condition_effect_pct[s] for s in "FM"])
    np.testing.assert_allclose(draws.mean(axis=0), expected, atol=4 * 1.5 / np.sqrt(4000))
    np.testing.assert_allclose(draws.std(axis=0), 1.5, rtol=0.05)
    assert abs(np.corrcoef(draws.T)[0, 1]) < 0.07
    assert replicate_parameters(base, "fixed", 1.5, rng) is base


def test_bad_design_prior_options_are_refused_before_any_fit():
    from bayes_ketamine.calibration.power import check_effect_mode, run_power

    with pytest.raises(ValueError, match="'fixed' or 'prior'"):
        check_effect_mode("flat", 1.0)
    for sd in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="effect_sd"):
            check_effect_mode("prior", sd)
    with pytest.raises(ValueError, match="effect_sd"):
        run_power(
            "glutamate_partial",
            n_per_sex=(4,),
            replicates=2,
            effect="prior",
            effect_sd=-1.0,
            client=object(),
        )


def test_directional_sex_difference_counts_only_the_hypothesised_sign():
    from types import SimpleNamespace

    import xarray as xr

    from bayes_ketamine.calibration.power import CRITERIA, summarise_power

    spec = SimpleNamespace(family="glutamate")
    job = SimpleNamespace(payload={"threshold": 0.95}, design=SimpleNamespace(spec=spec))
    rng = np.random.default_rng(0)

    def posterior(diff: float) -> xr.Dataset:
        female = rng.normal(-2.0, 0.1, (2, 200))
        effect = np.stack([female, female + diff], axis=-1)
        return xr.Dataset(
            {"glx_condition_effect": (("chain", "draw", "sex"), effect)},
            coords={"sex": ["F", "M"]},
        )

    hypothesised = summarise_power(posterior(-3.0), job)
    wrong_sign = summarise_power(posterior(+3.0), job)
    assert set(CRITERIA["glutamate"]) <= set(hypothesised)
    assert hypothesised["sex_difference_excludes_zero"] and hypothesised["sex_difference_negative"]
    assert wrong_sign["sex_difference_excludes_zero"]
    assert not wrong_sign["sex_difference_negative"]
