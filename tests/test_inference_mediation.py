"""Mediation sensitivity: rho = 0 reproduces the fit, known crossings, the IKT formula."""

import numpy as np
import pytest
import xarray as xr

from bayes_ketamine.inference.mediation import (
    GROUP,
    interval_crossing,
    mediation_sensitivity,
    slope_shift,
    stored_or_computed,
)


def joint_tree(a, b, direct, noise, response_sd) -> xr.DataTree:
    """Return a posterior-only joint artifact; ``a`` and ``direct`` are (chain, draw, sex).

    The deterministic effects are computed as the joint model computes them.
    """
    sample = ("chain", "draw")
    post = xr.Dataset(
        {
            "glx_condition_effect": ((*sample, "sex"), a),
            "effect_b": (sample, b),
            "direct_effect": ((*sample, "sex"), direct),
            "glx_response_sd": (sample, response_sd),
            "symptom_noise": (sample, noise),
        },
        coords={"sex": ["F", "M"]},
    )
    post["indirect_effect"] = post["glx_condition_effect"] * post["effect_b"]
    post["indirect_effect_pooled"] = post["indirect_effect"].mean("sex")
    post["direct_effect_pooled"] = post["direct_effect"].mean("sex")
    return xr.DataTree.from_dict({"posterior": post}, name=None)


@pytest.fixture(scope="module")
def random_tree():
    rng = np.random.default_rng(11)
    chains, draws = 3, 400
    return joint_tree(
        rng.normal(-4.0, 1.5, (chains, draws, 2)),
        rng.normal(-0.4, 0.15, (chains, draws)),
        rng.normal(1.0, 1.0, (chains, draws, 2)),
        rng.gamma(20.0, 0.15, (chains, draws)),
        rng.gamma(30.0, 0.13, (chains, draws)),
    )


def _stats(values: np.ndarray) -> dict[str, float]:
    values = values.ravel()
    low95, high95 = np.quantile(values, [0.025, 0.975])
    low89, high89 = np.quantile(values, [0.055, 0.945])
    return {
        "mean": values.mean(),
        "eti89_low": low89,
        "eti89_high": high89,
        "eti95_low": low95,
        "eti95_high": high95,
        "prob_positive": np.mean(values > 0),
    }


def test_rho_zero_reproduces_the_fitted_effects(random_tree):
    sens = mediation_sensitivity(random_tree)
    post = random_tree["posterior"]
    at_zero = sens.sel(rho=0.0)
    for var in ("indirect_effect", "direct_effect"):
        for sex in ("F", "M"):
            expected = _stats(post[var].sel(sex=sex).values)
            got = at_zero[var].sel(sex=sex)
            for stat, value in expected.items():
                assert got.sel(statistic=stat).item() == pytest.approx(value, rel=1e-12, abs=1e-12)
        expected = _stats(post[f"{var}_pooled"].values)
        for stat, value in expected.items():
            got = at_zero[f"{var}_pooled"].sel(statistic=stat).item()
            assert got == pytest.approx(value, rel=1e-12, abs=1e-12)
    assert at_zero["effect_b"].sel(statistic="mean").item() == pytest.approx(
        post["effect_b"].values.mean(), rel=1e-12
    )


def test_total_effect_is_the_same_at_every_rho(random_tree):
    sens = mediation_sensitivity(random_tree, rho=[-0.5, 0.0, 0.3])
    total = sens["indirect_effect"].sel(statistic="mean") + sens["direct_effect"].sel(
        statistic="mean"
    )
    np.testing.assert_allclose(total.values, total.sel(rho=0.0).values[None, :].repeat(3, 0))


def test_confounding_in_the_direction_of_the_effect_moves_it_towards_zero(random_tree):
    sens = mediation_sensitivity(random_tree)
    # b < 0, a < 0: indirect > 0 and the reduced-form residual correlation is < 0.
    mean = sens["indirect_effect_pooled"].sel(statistic="mean")
    assert mean.sel(rho=0.0) > 0
    assert mean.sel(rho=-0.3) < mean.sel(rho=0.0) < mean.sel(rho=0.3)
    rho_zero = sens["rho_indirect_zero"].sel(statistic="mean").item()
    assert -1 < rho_zero < 0
    crossing = sens["rho_crossing_pooled"]
    assert rho_zero < crossing.sel(side="negative").item() < 0
    assert np.isnan(crossing.sel(side="positive").item())


def test_crossing_is_found_where_it_is_known():
    # 1 chain of 4001 draws: b = 0.75 + 0.001 (k - 100), whose 2.5 % quantile is exactly
    # 0.75; sigma / tau_A = 6 / 8 = 0.75, so b(rho) = b - 0.75 rho / sqrt(1 - rho^2) and
    # the 95 % interval of a b(rho) (a = +-2 for every draw) first includes 0 where
    # rho / sqrt(1 - rho^2) = 1, i.e. rho = 1 / sqrt(2), on the positive side only.
    n = 4001
    b = (0.75 + 0.001 * (np.arange(n) - 100))[None, :]
    a = np.stack([np.full((1, n), 2.0), np.full((1, n), -2.0)], axis=-1)
    tree = joint_tree(a, b, np.zeros((1, n, 2)), np.full((1, n), 6.0), np.full((1, n), 8.0))
    sens = mediation_sensitivity(tree)
    crossing = sens["rho_crossing"]
    for sex in ("F", "M"):
        assert crossing.sel(sex=sex, side="positive").item() == pytest.approx(
            1 / np.sqrt(2), abs=1e-7
        )
        assert np.isnan(crossing.sel(sex=sex, side="negative").item())
    # The pooled indirect effect is 0 in every draw: its interval includes 0 at rho = 0.
    assert sens["rho_crossing_pooled"].values.tolist() == [0.0, 0.0]


def test_interval_crossing_on_both_sides():
    # Draws u + 1.5 - 2 rho^2 with u evenly spread on [-1, 1]: the 95 % interval's lower
    # end, q + 1.5 - 2 rho^2 (q the 2.5 % quantile of u), is 0 at +-sqrt((1.5 + q) / 2).
    u = np.linspace(-1.0, 1.0, 2001)
    low95 = np.quantile(u, 0.025)
    assert interval_crossing(lambda r: u + 1.5 - 2 * r**2, side=1) == pytest.approx(
        np.sqrt((1.5 + low95) / 2), abs=1e-7
    )
    assert interval_crossing(lambda r: u + 1.5 - 2 * r**2, side=-1) == pytest.approx(
        -np.sqrt((1.5 + low95) / 2), abs=1e-7
    )
    assert np.isnan(interval_crossing(lambda r: u + 3.0 - r, side=1))
    with pytest.raises(ValueError, match="side"):
        interval_crossing(lambda r: u, side=0)


def test_slope_shift_is_the_ikt_formula():
    # IKT: delta(rho) / a = sigma1 / sigma2 (rt - rho sqrt((1 - rt^2) / (1 - rho^2))), with
    # sigma2 = tau_A, sigma1^2 = b^2 tau_A^2 + sigma^2 and rt = b tau_A / sigma1.
    rng = np.random.default_rng(3)
    b, sigma, tau = rng.normal(0, 1, 50), rng.gamma(3, 1, 50), rng.gamma(3, 1, 50)
    rho = rng.uniform(-0.95, 0.95, 50)
    sigma1 = np.sqrt(b**2 * tau**2 + sigma**2)
    rt = b * tau / sigma1
    ikt = sigma1 / tau * (rt - rho * np.sqrt((1 - rt**2) / (1 - rho**2)))
    np.testing.assert_allclose(b - slope_shift(rho, sigma, tau), ikt, rtol=1e-10, atol=1e-12)


def test_correction_recovers_the_causal_slope_of_confounded_data():
    # Linear SEM with correlated mediator and outcome errors (rho = 0.4): least squares
    # gives a biased slope; the correction at the true rho recovers gamma.
    rng = np.random.default_rng(5)
    n, rho, gamma, tau, sigma3 = 200_000, 0.4, -0.5, 4.0, 3.0
    x = rng.integers(0, 2, n).astype(float)
    errors = rng.multivariate_normal(
        [0, 0], [[tau**2, rho * tau * sigma3], [rho * tau * sigma3, sigma3**2]], n
    )
    m = 5.0 - 3.0 * x + errors[:, 0]
    y = 1.0 + 2.0 * x + gamma * m + errors[:, 1]
    design_m = np.column_stack([np.ones(n), x])
    coef_m, *_ = np.linalg.lstsq(design_m, m, rcond=None)
    tau_hat = np.std(m - design_m @ coef_m)
    design_y = np.column_stack([np.ones(n), x, m])
    coef_y, *_ = np.linalg.lstsq(design_y, y, rcond=None)
    sigma_hat = np.std(y - design_y @ coef_y)
    b_hat = coef_y[2]
    assert abs(b_hat - gamma) > 0.2  # the naive slope is biased
    corrected = b_hat - slope_shift(rho, sigma_hat, tau_hat)
    assert corrected == pytest.approx(gamma, abs=0.01)
    # The direct effect is corrected by a (b - b(rho)): back to the true 2.
    direct = coef_y[1] + coef_m[1] * (b_hat - corrected)
    assert direct == pytest.approx(2.0, abs=0.05)


def test_not_a_joint_artifact_is_a_clear_error(random_tree):
    post = random_tree["posterior"].to_dataset().drop_vars("effect_b")
    tree = xr.DataTree.from_dict({"posterior": post})
    tree.attrs["model_name"] = "glutamate_partial"
    with pytest.raises(ValueError, match="glutamate_partial.*effect_b"):
        mediation_sensitivity(tree)
    with pytest.raises(ValueError, match="rho"):
        mediation_sensitivity(random_tree, rho=[0.0, 1.0])


def test_stored_group_is_returned_when_present(random_tree):
    computed = stored_or_computed(random_tree)
    xr.testing.assert_identical(computed, mediation_sensitivity(random_tree))
    tree = random_tree.copy()
    tree[GROUP] = computed.isel(rho=slice(0, 3))
    assert stored_or_computed(tree).sizes["rho"] == 3


def test_rho_mean_zero_is_where_the_posterior_mean_is_zero(random_tree):
    sens = mediation_sensitivity(random_tree)
    for sex in ("F", "M"):
        rho = sens["rho_mean_zero"].sel(sex=sex).item()
        at = mediation_sensitivity(random_tree, rho=[rho])["indirect_effect"]
        assert at.sel(sex=sex, statistic="mean").item() == pytest.approx(0.0, abs=1e-10)
    rho = sens["rho_mean_zero_pooled"].item()
    at = mediation_sensitivity(random_tree, rho=[rho])["indirect_effect_pooled"]
    assert at.sel(statistic="mean").item() == pytest.approx(0.0, abs=1e-10)
