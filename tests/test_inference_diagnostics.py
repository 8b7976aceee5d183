import numpy as np
import pytest
from arviz_base import from_dict

from bayes_ketamine.inference.diagnostics import (
    THRESHOLDS,
    judge,
    parameter_diagnostics,
    run_diagnostics,
    sampler_checks,
    saturated_draws,
    stored_verdict,
    worst,
)

CHAINS, DRAWS = 4, 1000


def _tree(stats: dict, posterior: dict | None = None):
    rng = np.random.default_rng(1)
    post = posterior or {"mu": rng.normal(size=(CHAINS, DRAWS))}
    base = {
        "diverging": np.zeros((CHAINS, DRAWS), bool),
        "energy": rng.normal(size=(CHAINS, DRAWS)),
    }
    return from_dict({"posterior": post, "sample_stats": {**base, **stats}})


def _flags(n_true: int) -> np.ndarray:
    flags = np.zeros(CHAINS * DRAWS, bool)
    flags[:n_true] = True
    return flags.reshape(CHAINS, DRAWS)


NUTPIE = {"depth": np.full((CHAINS, DRAWS), 3), "maxdepth_reached": _flags(0)}
PYMC = {"tree_depth": np.full((CHAINS, DRAWS), 3), "reached_max_treedepth": _flags(0)}


@pytest.mark.parametrize("names", [NUTPIE, PYMC])
def test_clean_fit_passes(names):
    parameters, sampler = run_diagnostics(_tree(names), max_treedepth=10)
    assert parameters.attrs["verdict"] == "pass"
    assert stored_verdict(parameters).reasons == ()
    assert set(parameters.data_vars) == {"r_hat", "ess_bulk", "ess_tail", "mcse_mean", "mcse_sd"}
    assert sampler["draws"].values.tolist() == [DRAWS] * CHAINS


@pytest.mark.parametrize(
    ("n_div", "status"), [(0, "pass"), (1, "warn"), (40, "warn"), (41, "fail")]
)
def test_divergence_thresholds(n_div, status):
    tree = _tree({**NUTPIE, "diverging": _flags(n_div)})
    parameters, sampler = run_diagnostics(tree, 10)
    assert int(sampler["divergences"].sum()) == n_div
    assert parameters.attrs["verdict"] == status


@pytest.mark.parametrize(
    ("flag", "other"), [("maxdepth_reached", "depth"), ("reached_max_treedepth", "tree_depth")]
)
@pytest.mark.parametrize(("n_sat", "status"), [(40, "pass"), (41, "warn"), (4000, "warn")])
def test_treedepth_saturation_both_sampler_names(flag, other, n_sat, status):
    tree = _tree({flag: _flags(n_sat), other: np.full((CHAINS, DRAWS), 10)})
    parameters, sampler = run_diagnostics(tree, 10)
    assert int(sampler["treedepth_saturated"].sum()) == n_sat
    assert parameters.attrs["verdict"] == status


def test_numpyro_saturation_from_n_steps():
    n_steps = np.full((CHAINS, DRAWS), 7)
    n_steps[0, :100] = 2**10 - 1
    stats = {"n_steps": n_steps, "tree_depth": np.log2(n_steps).astype(int) + 1}
    sat = saturated_draws(_tree(stats)["sample_stats"].to_dataset(), 10)
    assert int(sat.sum()) == 100
    assert judge(*run_diagnostics(_tree(stats), 10)).status == "warn"


def test_no_depth_statistic_is_an_error():
    with pytest.raises(KeyError, match="tree-depth"):
        sampler_checks(_tree({}), 10)


def test_ebfmi_thresholds():
    rng = np.random.default_rng(2)
    # A random walk has tiny E-BFMI; white noise has E-BFMI about 2.
    walk = np.cumsum(rng.normal(size=(CHAINS, DRAWS)), axis=1)
    parameters, sampler = run_diagnostics(_tree({**NUTPIE, "energy": walk}), 10)
    assert float(sampler["ebfmi"].min()) < THRESHOLDS["ebfmi_fail"]
    assert parameters.attrs["verdict"] == "fail"


def test_rhat_and_ess_failures_name_the_parameter():
    rng = np.random.default_rng(3)
    shifted = rng.normal(size=(CHAINS, DRAWS)) + np.arange(CHAINS)[:, None]
    sticky = np.repeat(rng.normal(size=(CHAINS, DRAWS // 100)), 100, axis=1)
    post = {"ok": rng.normal(size=(CHAINS, DRAWS)), "shifted": shifted, "sticky": sticky}
    parameters, _ = run_diagnostics(_tree(NUTPIE, post), 10)
    verdict = stored_verdict(parameters)
    assert verdict.status == "fail"
    text = " ".join(verdict.reasons)
    assert "R-hat" in text and "shifted" in text and "sticky" in text
    named = {label for r in verdict.reasons for label in r.split(": ")[-1].split(", ")}
    assert "ok" not in named


def test_rhat_between_thresholds_warns():
    rng = np.random.default_rng(5)
    post = {
        "ok": rng.normal(size=(CHAINS, DRAWS)),
        "slightly_off": rng.normal(size=(CHAINS, DRAWS)) + 0.12 * np.arange(CHAINS)[:, None],
    }
    parameters, _ = run_diagnostics(_tree(NUTPIE, post), 10)
    rhat = float(parameters["r_hat"].sel(parameter="slightly_off"))
    assert THRESHOLDS["rhat_warn"] < rhat < THRESHOLDS["rhat_fail"]
    verdict = stored_verdict(parameters)
    assert verdict.status == "warn"
    assert any("R-hat > 1.01" in r and "slightly_off" in r for r in verdict.reasons)


def test_parameter_labels_flatten_dims():
    rng = np.random.default_rng(4)
    tree = from_dict(
        {"posterior": {"b": rng.normal(size=(2, 100, 2))}},
        dims={"b": ["sex"]},
        coords={"sex": ["F", "M"]},
    )
    table = parameter_diagnostics(tree)
    assert table["parameter"].values.tolist() == ["b[F]", "b[M]"]
    assert table["variable"].values.tolist() == ["b", "b"]


def test_worst():
    assert worst(["pass", "warn"]) == "warn"
    assert worst(["warn", "fail", "pass"]) == "fail"
    assert worst([]) == "pass"
