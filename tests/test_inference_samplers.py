"""The NUTS entry point: explicit sampler passing, the direct nutpie path, its cache key.

Most tests mock the samplers; the ones marked ``sampling`` run nutpie on the toy model:
the direct nutpie path gives the groups and statistics of
``pymc.sample(nuts_sampler="nutpie")`` and the log density nutpie compiles, and it does
not import arviz-plots or matplotlib.
"""

import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pymc as pm
import pytest
import xarray as xr
from inference_toy import toy_model

from bayes_ketamine.inference import FitSettings, nutpie_adapter, sample_posterior, samplers
from bayes_ketamine.inference.nutpie_adapter import (
    NutpieCompiled,
    callback_source,
    cfunc_cache_key,
    compile_nutpie,
)
from bayes_ketamine.inference.samplers import chain_seed

SETTINGS = dict(draws=50, tune=40, chains=2, cores=1, seed=11, target_accept=0.9, max_treedepth=7)


@pytest.mark.parametrize(
    ("sampler", "depth_key"), [("pymc", "max_treedepth"), ("numpyro", "max_tree_depth")]
)
def test_pymc_and_numpyro_get_every_setting_explicitly(monkeypatch, sampler, depth_key):
    calls = []
    monkeypatch.setattr(pm, "sample", lambda **kwargs: calls.append(kwargs) or "tree")
    model = toy_model()
    settings = FitSettings(sampler=sampler, **SETTINGS)
    assert sample_posterior(model, settings=settings, progress=False) == "tree"
    (kwargs,) = calls
    assert kwargs["nuts_sampler"] == sampler
    assert kwargs["model"] is model.pymc_model
    assert (kwargs["draws"], kwargs["tune"], kwargs["chains"], kwargs["cores"]) == (50, 40, 2, 1)
    assert kwargs["random_seed"] == 11
    assert kwargs["nuts"] == {"target_accept": 0.9, depth_key: 7}
    assert kwargs["quiet"] and not kwargs["progressbar"]


def test_nutpie_is_called_directly_not_through_pm_sample(monkeypatch):
    monkeypatch.setattr(pm, "sample", lambda **kwargs: pytest.fail("pm.sample called"))
    seen = []
    monkeypatch.setattr(
        samplers, "sample_nutpie", lambda m, s, progressbar: seen.append((m, s)) or "tree"
    )
    model = toy_model()
    settings = FitSettings(sampler="nutpie", **SETTINGS)
    assert sample_posterior(model, settings=settings, progress=False) == "tree"
    assert seen == [(model.pymc_model, settings)]


def test_sample_nutpie_rejects_another_sampler():
    with pytest.raises(ValueError, match="nutpie"):
        samplers.sample_nutpie(toy_model().pymc_model, FitSettings(sampler="pymc"), False)


def _fake_nutpie_tree(chains, draws):
    """What nutpie.sample returns: posterior and sample_stats with nutpie's settings attr."""
    shape = (chains, draws)
    coords = {"chain": np.arange(chains), "draw": np.arange(draws)}
    posterior = xr.Dataset({"glx_response": (("chain", "draw"), np.zeros(shape))}, coords=coords)
    stats = xr.Dataset(
        {
            "diverging": (("chain", "draw"), np.zeros(shape, bool)),
            "maxdepth_reached": (("chain", "draw"), np.zeros(shape, bool)),
            "energy": (("chain", "draw"), np.ones(shape)),
        },
        coords=coords,
        attrs={"inference_library_settings": '{"settings": {"num_tune": 40}}'},
    )
    return xr.DataTree.from_dict({"posterior": posterior, "sample_stats": stats})


def test_sample_nutpie_passes_settings_and_adds_pymc_groups(monkeypatch):
    nutpie = pytest.importorskip("nutpie")
    calls = []

    class Handle:
        """What nutpie.sample(..., blocking=False) returns."""

        def __init__(self, tree):
            self.tree = tree

        def wait(self):
            return self.tree

    def fake_sample(compiled, **kwargs):
        calls.append((compiled, kwargs))
        return Handle(_fake_nutpie_tree(kwargs["chains"], kwargs["draws"]))

    monkeypatch.setattr(nutpie, "sample", fake_sample)
    monkeypatch.setattr(
        samplers, "compile_nutpie", lambda m, key=None: NutpieCompiled("C", "test", 1.5)
    )
    model = toy_model()
    settings = FitSettings(sampler="nutpie", **SETTINGS)
    tree = samplers.sample_nutpie(model.pymc_model, settings, progressbar=False)
    ((compiled, kwargs),) = calls
    assert compiled == "C"
    assert kwargs == {
        "draws": 50,
        "tune": 40,
        "chains": 2,
        "cores": 1,
        "seed": chain_seed(11, 2),
        "save_warmup": False,
        "store_unconstrained": False,
        "progress_bar": False,
        "target_accept": 0.9,
        "maxdepth": 7,
        "blocking": False,
    }
    assert {"posterior", "sample_stats", "observed_data", "constant_data"} <= set(tree.children)
    assert set(tree["observed_data"].data_vars) == {"log_glx", "score"}
    attrs = tree["posterior"].attrs
    assert attrs["compile_time"] == 1.5 and attrs["nutpie_compile_path"] == "test"
    assert attrs["tuning_steps"] == 40 and "sampling_time" in attrs


def test_chain_seed_is_what_pm_sample_gives_nutpie():
    rngs = np.random.default_rng(11).spawn(4)
    assert chain_seed(11, 4) == int(rngs[0].integers(2**30))
    assert chain_seed(11, 4) != chain_seed(12, 4)


def test_cfunc_cache_key_depends_on_source_and_inner_function():
    key = cfunc_cache_key("src", "inner")
    assert key == cfunc_cache_key("src", "inner")
    assert len({key, cfunc_cache_key("src2", "inner"), cfunc_cache_key("src", "inner2")}) == 3


def test_callback_reads_each_shared_array_from_its_header_words():
    class Shared:
        def __init__(self, name, ndim, dtype):
            self.name = name
            self.type = types.SimpleNamespace(ndim=ndim, dtype=dtype)

    a, b, c = Shared("a", 0, "int64"), Shared("b", 2, "float64"), Shared("c", 1, "int64")
    src = callback_source("logp", [c, a], [a, b, c])
    # header: a at word 0 (address only), b at 1 (address, 2 lengths), c at 4
    assert "header = numba.carray(user_data_, (6,), np.int64)" in src
    assert "s0 = numba.carray(as_pointer(header[4]), (header[5],), np.int64)" in src
    assert "s1 = numba.carray(as_pointer(header[0]), (), np.int64)" in src
    assert "inner(x, s0, s1)" in src
    too_many = [Shared(f"v{i}", 1, "int64") for i in range(nutpie_adapter.MAX_SHARED_ARGS + 1)]
    with pytest.raises(nutpie_adapter.LeanUnavailable):
        callback_source("logp", too_many, too_many)


def test_compile_falls_back_to_nutpie_quietly_when_lean_path_does_not_apply(monkeypatch):
    nutpie = pytest.importorskip("nutpie")

    def unavailable(model):
        raise nutpie_adapter.LeanUnavailable("shared variables")

    monkeypatch.setattr(nutpie_adapter, "nutpie_functions", unavailable)
    calls = []
    monkeypatch.setattr(
        nutpie, "compile_pymc_model", lambda m, **kw: calls.append(kw) or "nutpie-compiled"
    )
    result = compile_nutpie("model")
    assert (result.compiled, result.path) == ("nutpie-compiled", "nutpie")
    assert calls == [{"freeze_model": True}]


def test_compile_warns_when_lean_path_breaks(monkeypatch):
    nutpie = pytest.importorskip("nutpie")

    def broken(model):
        raise TypeError("internals changed")

    monkeypatch.setattr(nutpie_adapter, "nutpie_functions", broken)
    monkeypatch.setattr(nutpie, "compile_pymc_model", lambda m, **kw: "nutpie-compiled")
    with pytest.warns(RuntimeWarning, match="internals changed"):
        assert compile_nutpie("model").path == "nutpie"


@pytest.mark.sampling
def test_direct_nutpie_gives_pm_sample_groups_and_nutpies_log_density():
    nutpie = pytest.importorskip("nutpie")
    settings = FitSettings(sampler="nutpie", draws=60, tune=60, chains=2, cores=1, seed=5)
    model = toy_model()
    ours = sample_posterior(model, settings=settings, progress=False)
    assert ours["posterior"].attrs["nutpie_compile_path"] == "cached-cfunc"
    reference = pm.sample(
        model=model.pymc_model,
        nuts_sampler="nutpie",
        draws=60,
        tune=60,
        chains=2,
        cores=1,
        random_seed=5,
        progressbar=False,
        quiet=True,
        compute_convergence_checks=False,
        nuts={"target_accept": settings.target_accept, "max_treedepth": 10},
        compile_kwargs={"freeze_model": True},
    )
    assert set(ours.children) == set(reference.children)
    for group in ("posterior", "sample_stats", "observed_data", "constant_data"):
        assert set(ours[group].data_vars) == set(reference[group].data_vars), group
    assert {"diverging", "maxdepth_reached", "energy"} <= set(ours["sample_stats"].data_vars)
    for name in ours["posterior"].data_vars:
        assert ours["posterior"][name].dims == reference["posterior"][name].dims
    # The structure-compiled log density and gradient are nutpie's own (the draws then
    # differ from pm.sample's only by floating-point rounding, amplified over the chain).
    theirs = nutpie.compile_pymc_model(model.pymc_model, freeze_model=True)
    ours_compiled = compile_nutpie(model.pymc_model)
    mine = ours_compiled.compiled
    assert mine.n_dim == theirs.n_dim
    # nutpie stores only the unconstrained point; the expansion after sampling derives
    # what nutpie's own expansion stores per draw.
    assert mine.shape_info[0] == [nutpie_adapter.POINT] and mine.n_expanded == mine.n_dim

    def by_name(names, slices, flat):
        return {name: flat[sl] for name, sl in zip(names, slices, strict=True)}

    names, slices, shapes = theirs.shape_info
    n_free = len([sl for sl in slices if sl.stop <= theirs.n_dim])
    my_names = ours_compiled.expansion.functions.value_names
    rng = np.random.default_rng(0)
    theirs_points = rng.normal(0.0, 0.3, (10, theirs.n_dim))
    my_points = []
    for point in theirs_points:
        values = by_name(names[:n_free], slices[:n_free], point)
        mine_point = np.concatenate([values[name] for name in my_names])
        my_points.append(mine_point)
        logp_mine, grad_mine = mine.logp_func(mine_point)
        logp_theirs, grad_theirs = theirs.logp_func(point)
        np.testing.assert_allclose(logp_mine, logp_theirs, rtol=1e-10)
        grads = by_name(names[:n_free], slices[:n_free], grad_theirs)
        np.testing.assert_allclose(
            grad_mine, np.concatenate([grads[name] for name in my_names]), rtol=1e-10, atol=1e-12
        )
    stored = xr.Dataset(
        {nutpie_adapter.POINT: (("chain", "draw", "p"), np.reshape(my_points, (2, 5, -1)))},
        coords={"chain": [0, 1], "draw": np.arange(5)},
        attrs={"created_at": "now"},
    )
    posterior = ours_compiled.expansion(stored)
    assert posterior.attrs == {"created_at": "now"}
    stored_names = [n for n in names if n not in theirs.reparameterized_names]
    assert sorted(posterior.data_vars) == sorted(stored_names)
    reference = ours["posterior"]
    assert list(posterior.data_vars) == list(reference.data_vars)
    for name in stored_names:
        assert posterior[name].dims == reference[name].dims, name
        assert posterior[name].dtype == np.float64
    for name in set(reference.coords) - {"chain", "draw"}:
        np.testing.assert_array_equal(posterior[name].values, reference[name].values)
    for k, point in enumerate(theirs_points):
        expanded = by_name(names, slices, theirs.expand_func(point)[0])
        chain, draw = divmod(k, 5)
        for name, shape in zip(names, shapes, strict=True):
            if name in stored_names:
                np.testing.assert_allclose(
                    posterior[name].values[chain, draw],
                    expanded[name].reshape(shape),
                    rtol=1e-12,
                    atol=1e-15,
                )
    assert n_free < len(names)  # the toy has transformed variables and deterministics


def test_nutpie_is_imported_without_arviz():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from bayes_ketamine.inference.samplers import import_nutpie\n"
        "import_nutpie()\n"
        "import arviz_base\n"
        "sample = sys.modules['nutpie.sample']\n"
        "assert 'arviz' not in sys.modules and 'matplotlib' not in sys.modules\n"
        "assert sample.arviz.from_dict is arviz_base.from_dict\n"
        "assert sample.arviz.dict_to_dataset is arviz_base.dict_to_dataset\n"
        "import arviz\n"
        "assert arviz is not sample.arviz and arviz.from_dict is arviz_base.from_dict\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.sampling
def test_sampling_with_nutpie_does_not_import_arviz_plots_or_matplotlib():
    pytest.importorskip("nutpie")
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from inference_toy import toy_model\n"
        "from bayes_ketamine.inference import FitSettings, samplers\n"
        "settings = FitSettings(draws=20, tune=20, chains=1, cores=1)\n"
        "samplers.start_nutpie(toy_model().pymc_model, settings, False).result()\n"
        "print(sorted(m for m in ('arviz', 'arviz_plots', 'matplotlib') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
