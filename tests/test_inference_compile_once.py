"""A model structure is compiled once: a second study of the same design compiles nothing.

Compilation is counted, not timed: graph rewriting (pytensor's ``prepare_fgraph``),
numba compilations (numba's ``numba:compile`` event, which loading machine code from
numba's disk cache does not raise) and builds of compile-cache entries.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from numba.core import event
from pytensor.compile.maker import FunctionMaker

from bayes_ketamine.data import simulate_study
from bayes_ketamine.inference import FitSettings, compile_cache, fit
from bayes_ketamine.inference.loo_repair import MAX_REPAIRS
from bayes_ketamine.inference.moment_match import moment_match_inputs
from bayes_ketamine.inference.provenance import package_versions
from bayes_ketamine.models import build_model

SETTINGS = FitSettings(draws=40, tune=40, chains=1, cores=1, prior_draws=20, seed=3)


class _NumbaCompiles(event.Listener):
    def __init__(self, counts: Counter) -> None:
        self.counts = counts

    def on_start(self, event_) -> None:
        self.counts["numba"] += 1

    def on_end(self, event_) -> None:
        pass


@contextmanager
def counting_compilations(monkeypatch):
    """Count graph rewrites, numba compilations and compile-cache builds inside the block."""
    counts: Counter = Counter()
    prepare = FunctionMaker.prepare_fgraph

    def counted_prepare(*args, **kwargs):
        counts["rewrite"] += 1
        return prepare(*args, **kwargs)

    cached = compile_cache.cached

    def counted_cached(key, build):
        def counted_build():
            counts["cache build"] += 1
            return build()

        return cached(key, counted_build)

    # Its own context: undoing ``monkeypatch`` itself would also undo the test's
    # cache folder, and the second fit would then use (and fill) the user's cache.
    with monkeypatch.context() as patch:
        patch.setattr(FunctionMaker, "prepare_fgraph", staticmethod(counted_prepare))
        patch.setattr(compile_cache, "cached", counted_cached)
        with event.install_listener("numba:compile", _NumbaCompiles(counts)):
            yield counts


@pytest.mark.sampling
def test_second_study_of_the_same_design_compiles_nothing(tmp_path, monkeypatch):
    # The cache lives outside pytest's numbered temporary folders, which a concurrent
    # pytest session of the same user may rotate away between the two fits.
    cache = Path(tempfile.mkdtemp(prefix="bk_compile_once_test_"))
    monkeypatch.setattr(compile_cache, "cache_dir", lambda: cache)
    monkeypatch.delenv(compile_cache.ENV_SWITCH, raising=False)
    first, _ = simulate_study(seed=11, n_participants=12)
    second, _ = simulate_study(seed=12, n_participants=17, missing_score_fraction=0.1)
    assert first.content_hash() != second.content_hash()

    with counting_compilations(monkeypatch) as counts:
        one = fit(
            "symptoms_partial",
            study=first,
            settings=SETTINGS,
            out_dir=tmp_path / "a",
            progress=False,
        )
    # nutpie, prior and posterior predictive, log densities, and the moment-matching
    # functions when LOO points are repaired (some, and at most MAX_REPAIRS)
    loo = one.tree["loo"]["score"].to_dataset()
    high = int((loo["pareto_k"] > loo.attrs["good_k"]).sum())
    repairs = 0 < high <= MAX_REPAIRS
    assert counts["cache build"] == 4 + repairs
    if not repairs:
        # Whether a fit repairs LOO points depends on its draws; the structure's
        # moment-matching functions are compiled here so the second fit may use them.
        model = build_model("symptoms_partial", first).pymc_model
        moment_match_inputs(one.tree["posterior"].to_dataset(), model, "score", package_versions())

    entries = sorted(cache.glob("*.pkl"))
    with counting_compilations(monkeypatch) as counts:
        two = fit(
            "symptoms_partial",
            study=second,
            settings=SETTINGS,
            out_dir=tmp_path / "b",
            progress=False,
        )
    assert dict(counts) == {}
    assert sorted(cache.glob("*.pkl")) == entries  # one entry per structure
    shutil.rmtree(cache)
    # The second fit really used its own study: sizes and data follow it.
    assert two.tree["posterior"].sizes["participant"] == 17
    assert one.tree["posterior"].sizes["participant"] == 12
    observed = second.symptoms["score"].dropna().to_numpy(dtype=float)
    np.testing.assert_array_equal(two.tree["observed_data"]["score"].values, observed)
    assert two.tree["posterior"].attrs["nutpie_compile_path"] == "cached-cfunc"
