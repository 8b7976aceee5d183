"""Stored artifacts are plain ArviZ DataTrees: ArviZ works on them without bayes_ketamine.

A subprocess fits two joint models (two likelihoods each) with the sampler mocked and
writes their artifacts; another subprocess, which never imports bayes_ketamine
(``arviz_native_reader.py``), opens them with ``xarray.open_datatree`` and runs
``summary``, ``plot_forest``, ``plot_ppc_dist``, ``loo`` and ``compare``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr

TESTS = Path(__file__).resolve().parent
MODELS = ("joint_partial", "joint_none")

WRITE_ARTIFACTS = """
import sys
from inference_toy import fake_sample_posterior
from bayes_ketamine.inference import FitSettings, fit, fitting
from bayes_ketamine.models import resolve_spec

fitting.posterior_sampler = fake_sample_posterior
settings = FitSettings(draws=100, chains=2, prior_draws=50)
for name in sys.argv[2:]:
    fit(resolve_spec(name), settings=settings, out_dir=sys.argv[1], progress=False)
"""


def _env_with_tests_on_path() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS), env.get("PYTHONPATH")]))
    return env


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> list[Path]:
    """Artifacts of the two joint models, written by bayes_ketamine in a subprocess."""
    out = tmp_path_factory.mktemp("posteriors")
    result = subprocess.run(
        [sys.executable, "-c", WRITE_ARTIFACTS, str(out), *MODELS],
        capture_output=True,
        text=True,
        env=_env_with_tests_on_path(),
        timeout=900,
    )
    assert result.returncode == 0, result.stderr
    return [out / f"{name}.nc" for name in MODELS]


@pytest.fixture(scope="module")
def read_back(artifacts, tmp_path_factory) -> tuple[dict, Path]:
    """What ArviZ returned on the artifacts in a process without bayes_ketamine."""
    out = tmp_path_factory.mktemp("arviz")
    result = subprocess.run(
        [sys.executable, str(TESTS / "arviz_native_reader.py"), str(out), *map(str, artifacts)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return json.loads((out / "results.json").read_text(encoding="utf-8")), out


def test_the_reader_never_imported_bayes_ketamine(read_back):
    results, _ = read_back
    assert results["bayes_ketamine_imported"] is False


def test_summary_keeps_the_stored_labels(read_back):
    results, _ = read_back
    assert results["summary_index"] == ["glx_condition_effect[F]", "glx_condition_effect[M]"]
    assert {"mean", "sd", "ess_bulk", "r_hat"} <= set(results["summary_columns"])


def test_forest_and_ppc_figures_are_drawn(read_back):
    _, out = read_back
    for name in ("forest.png", "ppc_dist.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_loo_needs_var_name_and_then_equals_the_stored_loo(read_back, artifacts):
    results, _ = read_back
    assert "score" in results["loo_without_var_name"]
    assert "log_glx" in results["loo_without_var_name"]
    for path in artifacts:
        with xr.open_datatree(path) as tree:
            stored = tree["loo/score"].attrs
            n_scores = tree["observed_data"]["score"].size
        assert results["loo_elpd"][path.stem] == pytest.approx(stored["elpd"], rel=1e-9)
        assert results["loo_n_data_points"][path.stem] == n_scores


def test_compare_ranks_both_models(read_back):
    results, _ = read_back
    assert sorted(results["compare_rank"]) == sorted(MODELS)
    assert sorted(results["compare_rank"].values()) == [0, 1]
    assert sum(results["compare_weight"].values()) == pytest.approx(1.0)
