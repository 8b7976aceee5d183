"""Ahead-of-time compilation of a run's models: what it stores and how it stops."""

from __future__ import annotations

import time

from bayes_ketamine.data import simulate_study
from bayes_ketamine.inference import compile_cache, precompile
from bayes_ketamine.inference.provenance import package_versions
from bayes_ketamine.inference.structure import model_structure_key
from bayes_ketamine.models import build_model, resolve_spec


def test_compile_model_stores_every_entry_a_fit_loads(tmp_path, monkeypatch):
    monkeypatch.setattr(compile_cache, "cache_dir", lambda: tmp_path)
    monkeypatch.delenv(compile_cache.ENV_SWITCH, raising=False)
    spec = resolve_spec("symptoms_complete")
    study, _ = simulate_study(seed=3, n_participants=10)
    precompile.compile_model(spec, study)
    # Another study of the design has the same keys: the fit of it finds them all.
    other, _ = simulate_study(seed=4, n_participants=14)
    key = model_structure_key(build_model(spec, other).pymc_model, package_versions())
    keys = precompile.cache_keys(key)
    stored = {path.stem for path in tmp_path.glob("*.pkl")}
    assert stored == {
        keys.nutpie,
        keys.prior_predictive,
        keys.posterior_predictive,
        keys.log_density,
    }


def test_stopping_the_helper_ends_its_process_and_removes_its_job():
    helper = precompile.Precompiler([resolve_spec("joint_partial")] * 3, simulate_study()[0])
    assert helper.job.exists()
    time.sleep(0.5)
    with helper:
        pass
    assert helper.process.poll() is not None
    assert not helper.job.exists()


def test_the_helper_can_be_switched_off(monkeypatch):
    monkeypatch.setenv(precompile.ENV_SWITCH, "0")
    assert not precompile.enabled()
    monkeypatch.setenv(precompile.ENV_SWITCH, "1")
    assert precompile.enabled()
