"""The disk cache of compiled functions: storing, loading, rebuilding, keys.

The last tests compile real (toy) functions, store them and load them back, and
check that the loaded functions give what freshly compiled ones give.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pymc as pm
import pytest
from inference_toy import toy_model

from bayes_ketamine.data import simulate_study
from bayes_ketamine.inference import FitSettings, compile_cache, samplers
from bayes_ketamine.inference.batched import LogDensity, PosteriorPredictive
from bayes_ketamine.inference.prior_predictive import PriorPredictive
from bayes_ketamine.inference.provenance import package_versions
from bayes_ketamine.inference.structure import model_structure_key
from bayes_ketamine.models import build_model
from bayes_ketamine.models.spec import resolve_spec


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """Point the compile cache at an empty temporary folder."""
    monkeypatch.setattr(compile_cache, "cache_dir", lambda: tmp_path)
    monkeypatch.delenv(compile_cache.ENV_SWITCH, raising=False)
    return tmp_path


def counting_build(value):
    """Return a build function that returns ``value`` and counts its calls."""
    calls = []

    def build():
        calls.append(1)
        return value

    return build, calls


def test_value_is_built_once_then_loaded_from_disk(cache_dir):
    built = {"a": np.arange(3)}
    build, calls = counting_build(built)
    first = compile_cache.cached("k", build)
    # the building process gets the unpickled copy too (what later processes load)
    assert first is not built
    second = compile_cache.cached("k", build)
    assert len(calls) == 1
    np.testing.assert_array_equal(second["a"], first["a"])
    assert second is not first  # read back from the file
    assert [p.name for p in cache_dir.iterdir()] == ["k.pkl"]


def test_unreadable_entry_is_rebuilt_and_replaced_with_a_warning(cache_dir):
    (cache_dir / "k.pkl").write_bytes(b"\x80\x05truncated")
    build, calls = counting_build([1, 2])
    with pytest.warns(RuntimeWarning, match="unreadable"):
        assert compile_cache.cached("k", build) == [1, 2]
    assert len(calls) == 1
    assert pickle.loads((cache_dir / "k.pkl").read_bytes()) == [1, 2]


def test_unpicklable_value_is_returned_not_stored(cache_dir):
    build, calls = counting_build(lambda: None)
    with pytest.warns(RuntimeWarning, match="cannot be cached"):
        value = compile_cache.cached("k", build)
    assert callable(value) and len(calls) == 1
    assert not list(cache_dir.iterdir())


def test_switch_off_builds_every_time(cache_dir, monkeypatch):
    monkeypatch.setenv(compile_cache.ENV_SWITCH, "0")
    build, calls = counting_build(1)
    compile_cache.cached("k", build)
    compile_cache.cached("k", build)
    assert len(calls) == 2 and not list(cache_dir.iterdir())


def test_cache_key_depends_on_purpose_graph_and_builder_source():
    keys = {
        compile_cache.cache_key("nutpie", "g1", samplers),
        compile_cache.cache_key("log_density", "g1", samplers),
        compile_cache.cache_key("nutpie", "g2", samplers),
        compile_cache.cache_key("nutpie", "g1", compile_cache),
    }
    assert len(keys) == 4
    assert compile_cache.cache_key("nutpie", "g1", samplers).startswith("nutpie-")


def test_structure_key_ignores_study_values_and_sizes_but_not_structure():
    versions = package_versions()
    spec = resolve_spec("symptoms_partial")
    first, _ = simulate_study(seed=1)
    other, _ = simulate_study(seed=2, n_participants=31, missing_score_fraction=0.1)
    key = model_structure_key(build_model(spec, first).pymc_model, versions)
    assert key == model_structure_key(build_model(spec, other).pymc_model, versions)
    complete = resolve_spec("symptoms_complete")
    assert key != model_structure_key(build_model(complete, first).pymc_model, versions)
    changed = {**versions, "pytensor": "0.0"}
    assert key != model_structure_key(build_model(spec, first).pymc_model, changed)


def test_a_study_value_in_the_graph_as_a_constant_changes_the_structure_key():
    # The toy model builds its indices as numpy constants: another study, another key.
    versions = package_versions()
    key = model_structure_key(toy_model().pymc_model, versions)
    assert key == model_structure_key(toy_model().pymc_model, versions)
    assert key != model_structure_key(toy_model(seed=1).pymc_model, versions)


def test_loaded_log_density_and_predictive_equal_fresh_ones(cache_dir):
    model = toy_model()
    prior = pm.sample_prior_predictive(draws=40, model=model.pymc_model, random_seed=2)
    posterior = prior["prior"].to_dataset()
    fresh_like, fresh_prior = LogDensity(model.pymc_model).compile()(posterior)
    for seed in (9, 10):  # seed 9 compiles and stores, seed 10 loads and reseeds
        like, prior = LogDensity(model.pymc_model, "ld").compile()(posterior)
        for ours, ref in ((like, fresh_like), (prior, fresh_prior)):
            for name in ref.data_vars:
                np.testing.assert_array_equal(ours[name].values, ref[name].values)
        fresh_pp = PosteriorPredictive(model.pymc_model, seed).compile()(posterior, False)
        pp = PosteriorPredictive(model.pymc_model, seed, "pp").compile()(posterior, False)
        for name in fresh_pp["posterior_predictive"].data_vars:
            np.testing.assert_array_equal(
                pp["posterior_predictive"][name].values,
                fresh_pp["posterior_predictive"][name].values,
            )
    assert sorted(p.name for p in cache_dir.iterdir()) == ["ld.pkl", "pp.pkl"]


@pytest.mark.sampling
def test_nutpie_functions_loaded_from_cache_give_the_same_draws(cache_dir):
    pytest.importorskip("nutpie")
    settings = FitSettings(draws=40, tune=40, chains=2, cores=1, seed=3)
    model = toy_model().pymc_model
    fresh = samplers.start_nutpie(model, settings, progressbar=False).result()
    for _ in range(2):  # the first run stores, the second loads
        run = samplers.start_nutpie(model, settings, progressbar=False, cache_key="nutpie-toy")
        assert run.compiled.path == "cached-cfunc"
        tree = run.result()
        for name in fresh["posterior"].data_vars:
            np.testing.assert_array_equal(
                tree["posterior"][name].values, fresh["posterior"][name].values
            )
    assert [p.name for p in cache_dir.iterdir()] == ["nutpie-toy.pkl"]


def test_prior_predictive_equals_pymc_fresh_and_loaded(cache_dir):
    model = toy_model().pymc_model
    # not cached; then compiled and stored; then loaded and reseeded for another seed
    for key, seed in ((None, 21), ("prior", 21), ("prior", 22)):
        reference = pm.sample_prior_predictive(draws=30, model=model, random_seed=seed)
        ours = PriorPredictive(model, seed, key).compile()(30)
        for group in ("prior", "prior_predictive"):
            ref = reference[group].to_dataset()
            assert set(ours[group].data_vars) == set(ref.data_vars)
            for name in ref.data_vars:
                assert ours[group][name].dims == ref[name].dims
                # the same random streams; evaluated in Python (batched.MODE), not numba
                np.testing.assert_allclose(ours[group][name].values, ref[name].values, rtol=1e-12)
    assert [p.name for p in cache_dir.iterdir()] == ["prior.pkl"]


def test_prune_deletes_least_recently_used_entries_first(tmp_path):
    for age, name in enumerate(["new", "middle", "old"]):
        path = tmp_path / f"{name}.pkl"
        path.write_bytes(b"x" * 100)
        os.utime(path, (1_000_000 - age * 10, 1_000_000 - age * 10))
    assert compile_cache.prune(tmp_path, 250) == [tmp_path / "old.pkl"]
    assert compile_cache.prune(tmp_path, 250) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["middle.pkl", "new.pkl"]


def test_loading_an_entry_marks_it_recently_used(cache_dir):
    compile_cache.cached("a", lambda: 1)
    os.utime(cache_dir / "a.pkl", (1_000_000, 1_000_000))
    compile_cache.cached("a", lambda: 2)
    assert (cache_dir / "a.pkl").stat().st_mtime > 1_000_000


def test_storing_keeps_the_folder_under_its_limit(cache_dir, monkeypatch):
    monkeypatch.setattr(compile_cache, "MAX_BYTES", 3100)  # three ~1015-byte pickles
    for i in range(5):
        compile_cache.cached(f"k{i}", lambda: b"y" * 1000)
        os.utime(cache_dir / f"k{i}.pkl", (1_000_000 + i, 1_000_000 + i))
    assert sorted(p.name for p in cache_dir.iterdir()) == ["k2.pkl", "k3.pkl", "k4.pkl"]


def test_nutpie_key_follows_every_module_that_builds_the_log_density(tmp_path, monkeypatch):
    from bayes_ketamine.inference import censored_logp, hoisting
    from bayes_ketamine.inference.nutpie_adapter import nutpie_cache_key

    before = nutpie_cache_key("structure")
    for module in (hoisting, censored_logp):
        edited = tmp_path / f"{module.__name__}.py"
        edited.write_text(Path(module.__file__).read_text() + "\n# edited\n")
        with monkeypatch.context() as patch:
            patch.setattr(module, "__file__", str(edited))
            assert nutpie_cache_key("structure") != before
    assert nutpie_cache_key("structure") == before
