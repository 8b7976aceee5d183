"""Run NUTS on a built model with the sampler the settings name.

The one entry point is :func:`sample_posterior`. The sampler is always the one
``settings.sampler`` names, passed explicitly:

``"pymc"``, ``"numpyro"``
    :func:`pymc.sample` with ``nuts_sampler=settings.sampler`` and every setting
    passed explicitly.
``"nutpie"``
    nutpie is called directly (:func:`compile_nutpie` then :func:`nutpie.sample`), which
    is what ``pymc.sample(nuts_sampler="nutpie")`` does, minus its fixed costs:

    - the model's dims and data are frozen into the graph (nutpie's
      ``freeze_model=True``; a fit never swaps data), which lets pytensor fold constants;
    - nutpie wraps the pytensor-compiled log-density and "expand" (deterministics)
      functions in two numba C callbacks, which it recompiles in every process (about
      5-10 s on a 2-core machine even when pytensor's numba cache is warm). Here the two
      callbacks are lean (plain loops instead of broadcasting array assignment, whose
      error path alone costs numba ~2 s to compile) and are stored in pytensor's numba
      disk cache (``<base_compiledir>/numba``), keyed by the cache key of the pytensor
      function they wrap, so a warm process loads them in well under a second.

    The compiled pytensor functions (log density with gradient, expansion, initial
    point: :class:`NutpieFunctions`) are kept in
    :mod:`bayes_ketamine.inference.compile_cache` when the caller gives a key, so a
    new process skips pytensor's graph rewriting (about 3 s for the joint model).

    The random seed of the chains is derived from ``settings.seed`` exactly as
    ``pymc.sample`` derives it, and the returned tree is patched by PyMC's own
    ``patch_nutpie_idata``, so the groups (``posterior``, ``sample_stats`` with
    ``diverging``, ``maxdepth_reached``, ``energy``, ..., ``observed_data``,
    ``constant_data``) and draws are those of
    ``pymc.sample(nuts_sampler="nutpie", compile_kwargs={"freeze_model": True})``.
    If the lean compilation cannot be used (the frozen model still has shared
    variables, a pytensor function is not cacheable, or nutpie's internals changed) the
    callbacks are compiled by :func:`nutpie.compile_pymc_model` instead; the draws are
    the same either way.

Timings of the NUTS step are stored as attributes of the ``posterior`` group:
``sampling_time`` (seconds in nutpie/PyMC sampling), ``compile_time`` (nutpie only:
seconds compiling) and ``nutpie_compile_path`` (``"cached-cfunc"`` or ``"nutpie"``).
"""

from __future__ import annotations

import hashlib
import importlib
import sys
import threading
import time
import types
import warnings
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Any

from bayes_ketamine.inference import compile_cache

if TYPE_CHECKING:
    import pymc as pm
    import xarray as xr

    from bayes_ketamine.inference.settings import FitSettings
    from bayes_ketamine.models.base import CrossoverModel

_MAX_DEPTH_KEY = {"nutpie": "max_treedepth", "pymc": "max_treedepth", "numpyro": "max_tree_depth"}
"""Name of the maximum-tree-depth option in each sampler's ``nuts={...}`` options."""

CFUNC_VERSION = "bayes_ketamine-nutpie-cfunc-1"
"""Enters the disk-cache key of the C callbacks; bump when their source changes."""

_LOGP_SRC = """
def logp_cfunc(dim, x_, out_, logp_, user_data_):
    if dim != N_DIM:
        return -1
    try:
        x = numba.carray(x_, (N_DIM,))
        value, grad = inner(x)
        val = value[()]
        logp_[0] = val
        finite = True
        for i in range(N_DIM):
            g = grad[i]
            out_[i] = g
            if not np.isfinite(g):
                finite = False
        if not finite:
            return 3
        if not np.isfinite(val):
            return 4
    except Exception:
        return 1
    return 0
"""
"""C callback of the log density and its gradient, with nutpie's return codes
(``-1`` wrong dimension, ``1`` error, ``3`` non-finite gradient, ``4`` non-finite
log density); ``inner`` is the pytensor-compiled ``x -> (logp, grad)``."""

_EXPAND_SRC = """
def expand_cfunc(dim, expanded, x_, out_, user_data_):
    if dim != N_DIM:
        return -1
    if expanded != N_EXPANDED:
        return -1
    try:
        x = numba.carray(x_, (N_DIM,))
        (values,) = inner(x)
        for i in range(N_EXPANDED):
            out_[i] = values[i]
    except Exception:
        return -2
    return 0
"""
"""C callback that maps a point to all stored values (free variables and
deterministics); ``inner`` is the pytensor-compiled ``x -> (values,)``."""


@dataclass(frozen=True)
class NutpieCompiled:
    """A model compiled for nutpie, with how it was compiled.

    Parameters
    ----------
    compiled : nutpie.compiled_pymc.CompiledPyMCModel
        What :func:`nutpie.sample` takes.
    path : {"cached-cfunc", "nutpie"}
        Lean cached C callbacks, or nutpie's own compilation (fallback).
    seconds : float
        Wall time of the compilation.
    """

    compiled: Any
    path: str
    seconds: float


def sample_posterior(
    model: CrossoverModel, settings: FitSettings, progressbar: bool = True
) -> xr.DataTree:
    """Draw posterior samples of ``model`` with NUTS.

    Sampler, tuning, draws, chains, cores, seed, target acceptance and maximum tree
    depth are always passed explicitly, so the installed samplers never change which
    one runs or how.

    Parameters
    ----------
    model : CrossoverModel
        The built model.
    settings : FitSettings
        Sampler and its settings.
    progressbar : bool, default True
        Show the sampler's own progress bar.

    Returns
    -------
    xarray.DataTree
        Groups ``posterior``, ``sample_stats``, ``observed_data`` and (if the model has
        data containers) ``constant_data``, as ``pymc.sample`` returns them.
    """
    if settings.sampler == "nutpie":
        return sample_nutpie(model.pymc_model, settings, progressbar=progressbar)
    import pymc as pm

    nuts = {
        "target_accept": settings.target_accept,
        _MAX_DEPTH_KEY[settings.sampler]: settings.max_treedepth,
    }
    return pm.sample(
        model=model.pymc_model,
        nuts_sampler=settings.sampler,
        draws=settings.draws,
        tune=settings.tune,
        chains=settings.chains,
        cores=settings.cores,
        random_seed=settings.seed,
        progressbar=progressbar,
        quiet=not progressbar,
        compute_convergence_checks=False,
        nuts=nuts,
    )


def chain_seed(seed: int, chains: int) -> int:
    """Return the nutpie seed ``pymc.sample(random_seed=seed, chains=chains)`` passes.

    PyMC spawns one generator per chain from ``seed`` and gives nutpie the first
    chain's integer; doing the same keeps the draws of :func:`sample_nutpie` equal to
    those of ``pymc.sample(nuts_sampler="nutpie")`` with the same frozen model.
    """
    from pymc.util import get_random_generator

    rngs = get_random_generator(seed).spawn(chains)
    return int([rng.integers(2**30) for rng in rngs][0])


def sample_nutpie(
    pm_model: pm.Model, settings: FitSettings, progressbar: bool = True
) -> xr.DataTree:
    """Compile ``pm_model`` with :func:`compile_nutpie` and sample it with nutpie.

    Parameters
    ----------
    pm_model : pymc.Model
        The model.
    settings : FitSettings
        Settings; ``settings.sampler`` must be ``"nutpie"``.
    progressbar : bool, default True
        Show nutpie's progress bar.

    Returns
    -------
    xarray.DataTree
        As ``pymc.sample(nuts_sampler="nutpie")``: ``posterior``, ``sample_stats``,
        ``observed_data``, ``constant_data``; ``posterior.attrs`` also hold
        ``compile_time`` and ``nutpie_compile_path``.
    """
    return start_nutpie(pm_model, settings, progressbar=progressbar).result()


class NutpieRun:
    """nutpie sampling running in its own (Rust) threads; :meth:`result` waits for it.

    The sampler threads do not hold the GIL, so the caller can do other work (prior
    predictive simulation, compiling post-processing functions) while they run.
    """

    def __init__(self, pm_model: pm.Model, compiled: NutpieCompiled, handle: Any) -> None:
        self.pm_model = pm_model
        self.compiled = compiled
        self.handle = handle
        self.start = time.perf_counter()
        self._tree: xr.DataTree | None = None

    def result(self) -> xr.DataTree:
        """Wait for the draws; return them as :func:`sample_nutpie` does."""
        if self._tree is not None:
            return self._tree
        from pymc.backends.arviz import patch_nutpie_idata

        try:
            tree = self.handle.wait()
        except BaseException:
            self.cancel()
            raise
        sampling_time = time.perf_counter() - self.start
        patch_nutpie_idata(tree, self.pm_model, sampling_time=sampling_time)
        tree["posterior"].attrs["compile_time"] = self.compiled.seconds
        tree["posterior"].attrs["nutpie_compile_path"] = self.compiled.path
        self._tree = tree
        return tree

    def cancel(self) -> None:
        """Stop the sampler threads (nothing if they already finished)."""
        try:
            self.handle.cancel()
        except Exception:  # noqa: BLE001 - already finished or cancelled
            pass


def start_nutpie(
    pm_model: pm.Model,
    settings: FitSettings,
    progressbar: bool = True,
    cache_key: str | None = None,
) -> NutpieRun:
    """Compile ``pm_model`` with :func:`compile_nutpie` and start nutpie in the background.

    Parameters are those of :func:`sample_nutpie` and :func:`compile_nutpie`; the
    draws are the same.

    Returns
    -------
    NutpieRun
        Call its :meth:`~NutpieRun.result` for the tree.
    """
    if settings.sampler != "nutpie":
        raise ValueError(f"sample_nutpie needs sampler 'nutpie', got {settings.sampler!r}")
    nutpie = import_nutpie()

    compiled = compile_nutpie(pm_model, cache_key)
    handle = nutpie.sample(
        compiled.compiled,
        draws=settings.draws,
        tune=settings.tune,
        chains=settings.chains,
        cores=settings.cores,
        seed=chain_seed(settings.seed, settings.chains),
        save_warmup=False,
        store_unconstrained=False,
        progress_bar=progressbar,
        target_accept=settings.target_accept,
        maxdepth=settings.max_treedepth,
        blocking=False,
    )
    return NutpieRun(pm_model, compiled, handle)


def compile_nutpie(pm_model: pm.Model, cache_key: str | None = None) -> NutpieCompiled:
    """Compile a frozen copy of ``pm_model`` for nutpie, with disk-cached C callbacks.

    Parameters
    ----------
    pm_model : pymc.Model
        The model (not modified).
    cache_key : str, optional
        Key of the model's :class:`NutpieFunctions` in
        :mod:`bayes_ketamine.inference.compile_cache` (a key that identifies the
        graph, see :func:`nutpie_cache_key`); without one they are compiled afresh.

    Returns
    -------
    NutpieCompiled
        Path ``"cached-cfunc"`` normally; ``"nutpie"`` if the lean path could not be
        used (then :func:`nutpie.compile_pymc_model` with ``freeze_model=True``).
    """
    start = time.perf_counter()
    import_nutpie()
    try:
        compiled = _compile_lean(pm_model, cache_key)
        path = "cached-cfunc"
    except Exception as err:  # noqa: BLE001 - any failure: nutpie's own path decides
        import nutpie

        if not isinstance(err, _LeanUnavailable):
            warnings.warn(
                f"cached nutpie compilation failed ({type(err).__name__}: {err}); "
                "compiling with nutpie.compile_pymc_model instead",
                RuntimeWarning,
                stacklevel=2,
            )
        compiled = nutpie.compile_pymc_model(pm_model, freeze_model=True)
        path = "nutpie"
    return NutpieCompiled(compiled, path, time.perf_counter() - start)


def nutpie_cache_key(graph_key: str) -> str:
    """Return the compile-cache key of the nutpie functions of the model graph ``graph_key``."""
    return compile_cache.cache_key("nutpie", graph_key, sys.modules[__name__])


class _ArvizForNutpie(types.ModuleType):
    """What ``nutpie.sample`` sees as ``arviz``: arviz-base's converters, the rest lazily.

    nutpie only calls ``arviz.from_dict`` and ``arviz.dict_to_dataset``, which in ArviZ
    1.x are arviz-base's functions; importing ``arviz`` itself would also import
    arviz-plots and matplotlib (~0.5 s of every fit).
    """

    _FROM_BASE = ("from_dict", "dict_to_dataset")

    def __getattr__(self, name: str) -> Any:
        if name in self._FROM_BASE:
            return getattr(importlib.import_module("arviz_base"), name)
        return getattr(importlib.import_module("arviz"), name)


def import_nutpie() -> types.ModuleType:
    """Import and return ``nutpie`` without importing ``arviz`` (see :class:`_ArvizForNutpie`).

    The stand-in is in ``sys.modules`` only while nutpie is imported, so any later
    ``import arviz`` gets the real package.
    """
    if "nutpie" not in sys.modules and "arviz" not in sys.modules:
        stub = _ArvizForNutpie("arviz")
        sys.modules["arviz"] = stub
        try:
            importlib.import_module("nutpie")
        finally:
            if sys.modules.get("arviz") is stub:
                del sys.modules["arviz"]
    return importlib.import_module("nutpie")


class _LeanUnavailable(Exception):
    """The lean compilation does not apply; fall back to nutpie's."""


def _with_lock(func):
    """Serialise calls of ``func`` (nutpie calls the initial point from several threads)."""
    lock = threading.Lock()

    @wraps(func)
    def wrapper(*args, **kwargs):
        with lock:
            return func(*args, **kwargs)

    return wrapper


class SeededInitialPoint:
    """PyMC's jittered initial point function in a form that pickles.

    :func:`pymc.initial_point.make_initial_point_fn` returns a closure around a
    compiled function; this keeps the compiled function and the variable names and
    reseeds the function's random generators on each call the same way, so the
    points are the same.

    Parameters
    ----------
    pm_model : pymc.Model
        The (frozen) model; every free variable is jittered, as ``pymc.sample`` does.
    """

    def __init__(self, pm_model: pm.Model) -> None:
        from pymc.initial_point import make_initial_point_fn

        point_fn = make_initial_point_fn(
            model=pm_model,
            overrides=None,
            default_strategy="support_point",
            jitter_rvs=set(pm_model.free_RVs),
            return_transformed=True,
        )
        self.function = point_fn.__wrapped__
        self.names = list(point_fn(0))

    def __call__(self, seed: Any) -> dict[str, Any]:
        """Return the initial point (transformed values by name) for ``seed``."""
        from pymc.pytensorf import find_rng_nodes, reseed_rngs

        reseed_rngs(find_rng_nodes(self.function.maker.fgraph.outputs), seed)
        return dict(zip(self.names, self.function(), strict=True))


@dataclass(frozen=True)
class NutpieFunctions:
    """The compiled pieces of a model for nutpie, before the C callbacks (picklable).

    Parameters
    ----------
    n_dim, n_expanded : int
        Lengths of the unconstrained point and of the stored (expanded) values.
    logp_func, expand_func : pytensor.compile.function.types.Function
        ``x -> (logp, grad)`` and ``x -> (values,)``, numba mode.
    initial_point : SeededInitialPoint
        Jittered initial points.
    shape_info : tuple of lists
        Names, slices and shapes of the expanded values.
    reparameterized : list of str
        Names of the transformed free variables.
    dims, coords : dict
        Dims and coordinates of the stored variables, as nutpie reports them.
    """

    n_dim: int
    n_expanded: int
    logp_func: Any
    expand_func: Any
    initial_point: SeededInitialPoint
    shape_info: tuple
    reparameterized: list
    dims: dict
    coords: dict


def nutpie_functions(pm_model: pm.Model) -> NutpieFunctions:
    """Compile the functions nutpie needs from a frozen copy of ``pm_model``.

    What :func:`nutpie.compile_pymc_model` (``freeze_model=True``) does before it
    builds its C callbacks: dims and data are frozen into the graph, then the log
    density with its gradient and the expansion to all stored values are compiled
    with pytensor's numba backend.

    Raises
    ------
    _LeanUnavailable
        If nutpie's internals are not the expected ones.
    """
    try:
        import nutpie.compile_pymc as nutpie_pymc
        from pymc.model.transform.optimization import freeze_dims_and_data

        make_functions = nutpie_pymc._make_functions
        dims_and_coords = nutpie_pymc._prepare_dims_and_coords
    except (ImportError, AttributeError) as err:
        raise _LeanUnavailable(str(err)) from err
    frozen = freeze_dims_and_data(pm_model)
    initial_point = SeededInitialPoint(frozen)
    n_dim, n_expanded, logp_pt, expand_pt, _, shape_info, reparam = make_functions(
        frozen,
        mode="NUMBA",
        compute_grad=True,
        join_expanded=True,
        pymc_initial_point_fn=initial_point,
    )
    dims, coords = dims_and_coords(frozen, shape_info, reparam)
    return NutpieFunctions(
        n_dim, n_expanded, logp_pt, expand_pt, initial_point, shape_info, reparam, dims, coords
    )


def _compile_lean(pm_model: pm.Model, cache_key: str | None = None) -> Any:
    """Do what ``nutpie.compile_pymc_model(model, freeze_model=True)`` does, cached.

    The :class:`NutpieFunctions` come from the compile cache under ``cache_key``
    (built and stored on a miss; built every time without a key); the C callbacks
    from numba's disk cache.

    Raises
    ------
    _LeanUnavailable
        If nutpie's internals are not the expected ones, the frozen model's compiled
        functions read shared variables, or a function has no pytensor cache key.
    """
    try:
        import nutpie.compile_pymc as nutpie_pymc

        flat_point = nutpie_pymc._rv_dict_to_flat_array_wrapper
        make_user_data = nutpie_pymc.make_user_data
        compiled_class = nutpie_pymc.CompiledPyMCModel
    except (ImportError, AttributeError) as err:
        raise _LeanUnavailable(str(err)) from err

    def build() -> NutpieFunctions:
        return nutpie_functions(pm_model)

    parts = compile_cache.cached(cache_key, build) if cache_key else build()
    if parts.logp_func.get_shared() or parts.expand_func.get_shared():
        raise _LeanUnavailable("compiled functions read shared variables")
    logp_cfunc = _cached_cfunc(
        _LOGP_SRC, "logp_cfunc", parts.logp_func.vm.jit_fn, _logp_signature(), N_DIM=parts.n_dim
    )
    expand_cfunc = _cached_cfunc(
        _EXPAND_SRC,
        "expand_cfunc",
        parts.expand_func.vm.jit_fn,
        _expand_signature(),
        N_DIM=parts.n_dim,
        N_EXPANDED=parts.n_expanded,
    )
    names, slices, shapes = parts.shape_info
    free = [(n, tuple(sh)) for n, sl, sh in zip(names, slices, shapes, strict=True)]
    free = free[: len(parts.initial_point.names)]
    initial_flat = flat_point(
        _with_lock(parts.initial_point), names=[n for n, _ in free], shapes=[sh for _, sh in free]
    )
    return compiled_class(
        _n_dim=parts.n_dim,
        dims=parts.dims,
        _coords=parts.coords,
        _shapes={name: tuple(shape) for name, _, shape in zip(*parts.shape_info, strict=True)},
        compiled_logp_func=logp_cfunc,
        compiled_expand_func=expand_cfunc,
        initial_point_func=initial_flat,
        shared_data={},
        shared_var_keys={},
        user_data=make_user_data({}, {}),
        n_expanded=parts.n_expanded,
        shape_info=parts.shape_info,
        logp_func=parts.logp_func,
        expand_func=parts.expand_func,
        reparameterized_names=parts.reparameterized,
    )


def _logp_signature():
    import numba

    double_ptr = numba.types.CPointer(numba.types.double)
    return numba.types.int64(
        numba.types.uint64, double_ptr, double_ptr, double_ptr, numba.types.voidptr
    )


def _expand_signature():
    import numba

    double_ptr = numba.types.CPointer(numba.types.double)
    return numba.types.int64(
        numba.types.uint64, numba.types.uint64, double_ptr, double_ptr, numba.types.voidptr
    )


def cfunc_cache_key(src: str, inner_key: str, constants: dict[str, int]) -> str:
    """Return the disk-cache key of a C callback.

    Parameters
    ----------
    src : str
        Callback source before the constants are substituted.
    inner_key : str
        pytensor's numba cache key of the function the callback calls.
    constants : dict of str to int
        Substituted constants (dimensions).

    Returns
    -------
    str
        SHA-256 hex digest over :data:`CFUNC_VERSION`, the source, the constants and
        ``inner_key``.
    """
    payload = "\0".join([CFUNC_VERSION, src, repr(sorted(constants.items())), inner_key])
    return hashlib.sha256(payload.encode()).hexdigest()


def _cached_cfunc(src: str, name: str, inner: Any, signature: Any, **constants: int) -> Any:
    """Compile ``src`` (calling ``inner``) as a numba C callback stored in pytensor's cache."""
    import numba
    import numpy as np
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS, compile_numba_function_src

    inner_key = CACHED_SRC_FUNCTIONS.get(getattr(inner, "py_func", None))
    if inner_key is None:
        raise _LeanUnavailable(f"{name}: the pytensor function has no numba cache key")
    body = src
    for const, value in constants.items():
        body = body.replace(const, str(int(value)))
    func = compile_numba_function_src(
        body,
        name,
        # __name__ names an importable module: numba rebuilds the callback's
        # environment from it when loading the cached callback.
        {"numba": numba, "np": np, "inner": inner, "__name__": __name__},
        cache_key=cfunc_cache_key(src, inner_key, constants),
    )
    return numba.cfunc(signature, cache=True)(func)
