"""PSIS-LOO repaired by moment matching, checked against exact leave-one-out densities."""

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from bayes_ketamine.inference.loo_repair import MomentMatchInputs, repaired_loo_table

Y = np.array([-0.8, -0.3, 0.1, 0.4, 0.9, -1.2, 0.6, 9.0])
"""Normal observations (SD 1 known) with one outlier, the last."""
PRIOR_SD = 10.0


def posterior_of(y: np.ndarray) -> tuple[float, float]:
    """Return the conjugate posterior mean and SD of the normal mean."""
    precision = 1 / PRIOR_SD**2 + y.size
    return y.sum() / precision, precision**-0.5


def exact_loo(i: int) -> float:
    """Return log p(y_i | y_-i), the exact leave-one-out predictive density."""
    mean, sd = posterior_of(np.delete(Y, i))
    return float(stats.norm.logpdf(Y[i], mean, np.sqrt(1 + sd**2)))


@pytest.fixture(scope="module")
def fit():
    """Exact posterior draws (4 x 1000) of the normal mean, as a fit tree, and MM inputs."""
    mean, sd = posterior_of(Y)
    mu = np.random.default_rng(1).normal(mean, sd, (4, 1000))
    log_lik = stats.norm.logpdf(Y[None, None, :], mu[..., None], 1.0)
    tree = xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset({"mu": (("chain", "draw"), mu)}),
            "log_likelihood": xr.Dataset({"y": (("chain", "draw", "obs"), log_lik)}),
        }
    )

    def log_prob(upars: xr.DataArray) -> xr.DataArray:
        m = upars.isel(param=0)
        return stats.norm.logpdf(m, 0, PRIOR_SD) + sum(stats.norm.logpdf(v, m, 1) for v in Y)

    def log_lik_i(upars: xr.DataArray, i: int) -> xr.DataArray:
        return stats.norm.logpdf(Y[i], upars.isel(param=0), 1.0)

    upars = xr.DataArray(mu[..., None], dims=("chain", "draw", "param"))

    def unwrap(fn):
        return lambda *args: xr.DataArray(fn(*args), dims=("chain", "draw"))

    return tree, MomentMatchInputs(unwrap(log_prob), unwrap(log_lik_i), upars)


def test_moment_matching_repairs_the_outlier_to_its_exact_loo_density(fit):
    tree, inputs = fit
    calls = []

    def lazily():
        calls.append(1)
        return inputs

    table = repaired_loo_table(tree, "y", inputs=lazily)
    assert calls == [1]
    outlier = Y.size - 1
    assert table["pareto_k_psis"].values[outlier] > 0.7  # PSIS alone is unreliable here
    assert table["repair"].values.tolist() == ["psis"] * outlier + ["moment_matching"]
    assert table["pareto_k"].values[outlier] <= 0.7
    exact = np.array([exact_loo(i) for i in range(Y.size)])
    assert table["elpd_i"].values[outlier] == pytest.approx(exact[outlier], abs=0.05)
    psis_error = abs(table["elpd_i_psis"].values[outlier] - exact[outlier])
    assert psis_error > 3 * abs(table["elpd_i"].values[outlier] - exact[outlier])
    np.testing.assert_allclose(table["elpd_i"].values[:outlier], exact[:outlier], atol=0.02)
    assert table.attrs["elpd"] == pytest.approx(table["elpd_i"].values.sum())
    assert table.attrs["n_moment_matched"] == 1 and table.attrs["n_unrepaired"] == 0
    assert table.attrs["warning"] == 0


def test_without_inputs_high_k_points_are_marked_unrepaired(fit):
    tree, _ = fit
    table = repaired_loo_table(tree, "y")
    assert table["repair"].values[-1] == "unrepaired"
    np.testing.assert_array_equal(table["elpd_i"].values, table["elpd_i_psis"].values)
    assert table.attrs["n_unrepaired"] == 1 and table.attrs["warning"] == 1
    assert table.attrs["elpd"] == pytest.approx(table.attrs["elpd_psis"])
