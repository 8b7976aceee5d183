"""nutpie, compiled once per model structure and fed each study's data.

This module is the one place that knows nutpie's internals. It follows nutpie 0.16
(``nutpie/compile_pymc.py``) and touches these private names, which an upgrade must
check: ``CompiledPyMCModel`` and its fields (``compiled_logp_func``,
``compiled_expand_func``, ``initial_point_func``, ``shared_data``,
``shared_var_keys``, ``user_data``, ``shape_info``, ``_n_dim``, ``_shapes``,
``_coords``, ...), ``_rv_dict_to_flat_array_wrapper``, ``_prepare_dims_and_coords``,
and the C signatures and return codes of the log-density and expansion callbacks
(``-1`` wrong dimension, ``1`` error, ``3`` non-finite gradient, ``4`` non-finite log
density). From pytensor it uses ``Function.vm.jit_fn`` (the numba function a compiled
pytensor function runs) and ``pytensor.link.numba.cache`` (``CACHED_SRC_FUNCTIONS``,
``compile_numba_function_src``).

Why not :func:`nutpie.compile_pymc_model`: it fixes the number of parameters and
every shape at compile time (its flat point is a vector of static length), so a new
study with another number of participants or observations needs a new compilation,
and its C callbacks close over the data arrays, which keeps numba from caching them
on disk (5-10 s in every process). Here:

- :func:`nutpie_functions` compiles, from the model's *structure*, the log density
  with its gradient as a pytensor (numba) function of a flat point of any length,
  and the map from the free variables' (unconstrained) values to the stored
  variables as one vectorised function of all draws (pytensor's Python linker,
  :data:`~bayes_ketamine.inference.batched.MODE`). The free variables' shapes are a shared
  integer vector (``_value_shapes``), like the data and dimension lengths, so sizes
  are inputs, not constants. The functions are kept in
  :mod:`bayes_ketamine.inference.compile_cache` under the structure key
  (:mod:`bayes_ketamine.inference.structure`).
- :func:`bind_study` sets the shared variables to one study's values and builds the
  ``CompiledPyMCModel`` nutpie samples: shapes from the seeded initial point, the
  study's arrays packed into nutpie's ``user_data`` pointer as a header of
  (address, shape...) words.
- nutpie's expansion (called once per stored draw) only copies the flat point: it
  stores the unconstrained draws as one variable, :data:`POINT`.
  :class:`PosteriorExpansion` then computes the constrained free variables and the
  deterministics of all draws in one call and gives the ``posterior`` group the
  variables, dims and coordinates nutpie's own expansion gives it. Compiling a
  numba expansion per structure cost 6-19 s of CPU on a cold cache (symptoms_none,
  joint_partial); this costs a fraction of that.
- The log-density C callback is generated per structure (how many shared arrays,
  their dtypes and ranks), reads the arrays from that header, and is stored in
  pytensor's numba disk cache, so a new process loads it instead of compiling it;
  the copying expansion callback is the same for every structure.

The draws equal ``pymc.sample(nuts_sampler="nutpie")`` on the same model up to
floating-point rounding (the same log density, evaluated by another graph).
"""

from __future__ import annotations

import importlib
import sys
import threading
import time
import types
import warnings
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING

import numpy as np

from bayes_ketamine.digests import sha256_hex
from bayes_ketamine.inference import batched, censored_logp, compile_cache, hoisting
from bayes_ketamine.inference.arrays import SAMPLE_DIMS, Array, Ints
from bayes_ketamine.inference.batched import CHUNK_DRAWS, _batched_inputs, drop_loops
from bayes_ketamine.inference.batched import MODE as HOISTED_MODE
from bayes_ketamine.inference.censored_logp import model_logp
from bayes_ketamine.inference.hoisting import HoistedData, hoist_data_only
from bayes_ketamine.inference.structure import bind_data, data_values

if TYPE_CHECKING:
    import pymc as pm
    import xarray as xr
    from llvmlite import ir
    from numba.core.typing.templates import Signature
    from nutpie.compile_pymc import CompiledPyMCModel
    from pytensor.compile import Function, SharedVariable

NUTPIE_VERSION_FOLLOWED = "0.16"
"""The nutpie release whose internals this module follows."""

CFUNC_VERSION = "bayes_ketamine-nutpie-cfunc-3"
"""Enters the disk-cache key of the C callbacks; bump when their generated source changes."""

VALUE_SHAPES = "_value_shapes"
"""Name of the shared vector of the free variables' value shapes, concatenated."""

POINT = "_unconstrained_point"
"""Name of the variable nutpie stores: the flat unconstrained point of each draw."""

MAX_SHARED_ARGS = 28
"""Most shared arrays a generated callback passes on: CPython compiles a call with 30
or more arguments (or a ``*args`` call) through list opcodes numba cannot compile.
A structure with more falls back to nutpie's own compilation."""


class ArvizForNutpie(types.ModuleType):
    """What ``nutpie.sample`` sees as ``arviz``: arviz-base's converters, the rest lazily.

    nutpie only calls ``arviz.from_dict`` and ``arviz.dict_to_dataset``, which in ArviZ
    1.x are arviz-base's functions; importing ``arviz`` itself would also import
    arviz-plots and matplotlib (~0.5 s of every fit).
    """

    _FROM_BASE = ("from_dict", "dict_to_dataset")

    def __getattr__(self, name: str) -> object:
        if name in self._FROM_BASE:
            return getattr(importlib.import_module("arviz_base"), name)
        return getattr(importlib.import_module("arviz"), name)


def import_nutpie() -> types.ModuleType:
    """Import and return ``nutpie`` without importing ``arviz`` (see :class:`ArvizForNutpie`).

    The stand-in is in ``sys.modules`` only while nutpie is imported, so any later
    ``import arviz`` gets the real package.
    """
    if "nutpie" not in sys.modules and "arviz" not in sys.modules:
        stub = ArvizForNutpie("arviz")
        sys.modules["arviz"] = stub
        try:
            importlib.import_module("nutpie")
        finally:
            if sys.modules.get("arviz") is stub:
                del sys.modules["arviz"]
    return importlib.import_module("nutpie")


class LeanUnavailable(Exception):
    """The structure-compiled path does not apply; fall back to nutpie's compilation."""


def _with_lock[**P, R](func: Callable[P, R]) -> Callable[P, R]:
    """Serialise calls of ``func`` (nutpie calls the initial point from several threads)."""
    lock = threading.Lock()

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
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
        The model; every free variable is jittered, as ``pymc.sample`` does.
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
        self.names = [pm_model.rvs_to_values[rv].name for rv in pm_model.free_RVs]

    def __call__(self, seed: int) -> dict[str, Array]:
        """Return the initial point (transformed values by name) for ``seed``."""
        from pymc.pytensorf import find_rng_nodes, reseed_rngs

        reseed_rngs(find_rng_nodes(self.function.maker.fgraph.outputs), seed)
        return dict(zip(self.names, self.function(), strict=True))


@dataclass(frozen=True)
class NutpieFunctions:
    """The compiled pieces of a model structure for nutpie (picklable, study-free).

    Parameters
    ----------
    logp_func : pytensor.compile.function.types.Function
        ``x -> (logp, grad)`` for a flat point ``x`` of any length; numba mode.
    derive_func : pytensor.compile.function.types.Function
        One ``(draws, ...)`` array per free variable's (unconstrained) value to one
        ``(draws, ...)`` array per name of ``derived_names``; Python linker.
    initial_point : SeededInitialPoint
        Jittered initial points.
    value_names : list of str
        Names of the free variables' (transformed) values, in flat-point order.
    value_dtypes : list of str
        Their dtypes.
    derived_names : list of str
        Names of the untransformed free variables and deterministics (PyMC's
        ``unobserved_value_vars`` that are not values), in the model's order.
    derived_ndims : list of int
        Rank of each of them.
    reparameterized : list of str
        Names of the transformed values.
    hoisted : HoistedData
        The data-only parts of ``logp_func``, computed once per study.
    """

    logp_func: Function
    derive_func: Function
    initial_point: SeededInitialPoint
    value_names: list[str]
    value_dtypes: list[str]
    derived_names: list[str]
    derived_ndims: list[int]
    reparameterized: list[str]
    hoisted: HoistedData

    def __getstate__(self) -> dict[str, object]:
        """Pickle without the per-node loops of the Python linker (:func:`drop_loops`)."""
        drop_loops(self.derive_func)
        return self.__dict__


def nutpie_functions(pm_model: pm.Model) -> NutpieFunctions:
    """Compile the functions nutpie needs from the structure of ``pm_model``.

    The log density and its gradient, as in nutpie's own ``_make_functions``, but of
    a flat point of any length: free variable ``k`` is the slice of the point after
    the sizes of the variables before it, reshaped to its part of the shared shape
    vector ``_value_shapes``. The stored variables that are not values (PyMC's
    ``unobserved_value_vars``: untransformed free variables, deterministics) are
    one vectorised function of the values of all draws
    (:func:`pytensor.graph.replace.vectorize_graph`), evaluated after sampling.
    """
    import pytensor
    import pytensor.tensor as pt
    from pymc.pytensorf import compile as pm_compile
    from pytensor.graph import rewrite_graph
    from pytensor.graph.replace import clone_replace, vectorize_graph

    value_vars = [pm_model.rvs_to_values[rv] for rv in pm_model.free_RVs]
    logp = model_logp(pm_model)
    rewrites = ["canonicalize", "stabilize"]
    if not pm_model.check_bounds:
        rewrites.append("local_remove_check_parameter")
    # pytensor's stubs widen what rewrite_graph, grad and clone_replace return; the
    # graphs and lists keep their kind.
    logp = rewrite_graph(logp, include=rewrites)  # type: ignore[assignment]
    grads = pt.grad(logp, value_vars)
    grad = pt.concatenate([pt.as_tensor(g).ravel() for g in grads])  # type: ignore[union-attr]

    joined = pt.vector("_unconstrained_point", dtype="float64")
    n_shape = sum(v.type.ndim for v in value_vars)
    all_shapes = pytensor.shared(
        np.zeros(n_shape, dtype="int64"), name=VALUE_SHAPES, shape=(n_shape,)
    )
    pieces = []
    start, at = pt.constant(0, dtype="int64"), 0
    for value in value_vars:
        ndim = value.type.ndim
        shape = all_shapes[at : at + ndim]
        at += ndim
        size = pt.prod(shape) if ndim else pt.constant(1, dtype="int64")
        piece = joined[start : start + size].reshape(shape, ndim=ndim)
        pieces.append(pt.specify_shape(piece.astype(value.dtype), value.type.shape))
        start = start + size
    replacements = dict(zip(value_vars, pieces, strict=True))
    logp, grad = clone_replace([logp, grad], replacements)  # type: ignore[assignment]
    logp, grad = rewrite_graph(  # type: ignore[assignment, misc, attr-defined]
        [logp, grad], include=("canonicalize", "stabilize", "specialize")
    )
    (logp, grad), hoisted = hoist_data_only(
        [logp, grad], joined, skip=frozenset({VALUE_SHAPES}), mode=HOISTED_MODE
    )
    with pm_model:
        logp_func = pm_compile((joined,), (logp, grad), mode="NUMBA")

    value_names = [v.name for v in value_vars]
    if POINT in pm_model.named_vars:
        raise LeanUnavailable(f"the model has a variable named {POINT!r}")
    derived = [pt.as_tensor(v) for v in pm_model.unobserved_value_vars if v.name not in value_names]
    batched_values = _batched_inputs(value_vars)
    with pm_model:
        derive_func = pm_compile(
            batched_values,
            vectorize_graph(derived, replace=dict(zip(value_vars, batched_values, strict=True))),
            on_unused_input="ignore",
            mode=HOISTED_MODE,
        )
    derive_func.trust_input = True
    reparameterized = [
        pm_model.rvs_to_values[rv].name
        for rv in pm_model.free_RVs
        if pm_model.rvs_to_transforms.get(rv) is not None
    ]
    return NutpieFunctions(
        logp_func=logp_func,
        derive_func=derive_func,
        initial_point=SeededInitialPoint(pm_model),
        value_names=value_names,
        value_dtypes=[v.type.dtype for v in value_vars],
        derived_names=[str(v.name) for v in derived],
        derived_ndims=[v.type.ndim for v in derived],
        reparameterized=reparameterized,
        hoisted=hoisted,
    )


@dataclass(frozen=True)
class PosteriorExpansion:
    """The ``posterior`` group from nutpie's stored unconstrained points, for one study.

    What nutpie's own expansion computes draw by draw, for all draws at once: the
    values of the free variables (slices of the flat point), the untransformed free
    variables and the deterministics. The group has what nutpie gives it: the
    untransformed values and :attr:`NutpieFunctions.derived_names` in the model's
    order (transformed values dropped), float64, the model's dims and coordinates.

    Parameters
    ----------
    functions : NutpieFunctions
        The structure's functions, fed the study's data.
    value_shapes : list of tuple of int
        Shape of each free variable's value in this study.
    dims : dict
        Dims by variable name (nutpie's ``_prepare_dims_and_coords``).
    coords : dict
        Coordinates by dim name (the same).
    """

    functions: NutpieFunctions
    value_shapes: list[tuple[int, ...]]
    dims: dict[str, Sequence[str]]
    coords: dict[str, Array]

    def __call__(self, stored: xr.Dataset) -> xr.Dataset:
        """Return the posterior of the draws in ``stored`` (nutpie's posterior of :data:`POINT`)."""
        from arviz_base import dict_to_dataset

        f = self.functions
        points = stored[POINT].transpose(*SAMPLE_DIMS, ...).to_numpy()
        sizes, n = points.shape[:2], points.shape[0] * points.shape[1]
        flat = points.reshape(n, -1)
        values, at = [], 0
        for shape, dtype in zip(self.value_shapes, f.value_dtypes, strict=True):
            size = int(np.prod(shape, dtype=int))
            values.append(np.ascontiguousarray(flat[:, at : at + size].reshape(n, *shape), dtype))
            at += size
        parts: list[list[Array]] = []
        for start in range(0, n, CHUNK_DRAWS):
            stop = min(start + CHUNK_DRAWS, n)
            outs = f.derive_func(*(v[start:stop] for v in values))
            # an output that does not depend on the values has no draw dimension
            parts.append(
                [
                    np.broadcast_to(o, (stop - start, *o.shape[o.ndim - ndim :]))
                    for o, ndim in zip(outs, f.derived_ndims, strict=True)
                ]
            )
        derived = [np.concatenate(chunks) for chunks in zip(*parts, strict=True)]
        trace = {
            name: value
            for name, value in zip(f.value_names, values, strict=True)
            if name not in f.reparameterized
        }
        trace.update(zip(f.derived_names, derived, strict=True))
        trace = {
            name: np.asarray(value, dtype=np.float64).reshape(*sizes, *value.shape[1:])
            for name, value in trace.items()
        }
        dims: dict[Hashable, Sequence[Hashable]] = {
            name: list(self.dims[name]) for name in trace if self.dims.get(name)
        }
        used = {d for names in dims.values() for d in names}
        posterior = dict_to_dataset(
            trace,
            dims=dims,
            coords={
                **{str(name): self.coords[str(name)] for name in used if name in self.coords},
                **{d: stored[d].values for d in SAMPLE_DIMS},
            },
            sample_dims=list(SAMPLE_DIMS),
        )
        posterior.attrs = dict(stored.attrs)
        return posterior


@dataclass(frozen=True)
class NutpieCompiled:
    """A model compiled for nutpie, with how it was compiled.

    Parameters
    ----------
    compiled : nutpie.compile_pymc.CompiledPyMCModel
        What :func:`nutpie.sample` takes.
    path : {"cached-cfunc", "nutpie"}
        Structure-compiled cached callbacks, or nutpie's own compilation (fallback).
    seconds : float
        Wall time of the compilation (or of loading and binding it).
    expansion : PosteriorExpansion, optional
        Turns the stored unconstrained points into the posterior (path
        ``"cached-cfunc"``); ``None`` when nutpie stores the posterior itself.
    """

    compiled: CompiledPyMCModel
    path: str
    seconds: float
    expansion: PosteriorExpansion | None = None


def compile_nutpie(pm_model: pm.Model, cache_key: str | None = None) -> NutpieCompiled:
    """Compile ``pm_model`` for nutpie through its structure, with disk-cached callbacks.

    Parameters
    ----------
    pm_model : pymc.Model
        The model (not modified).
    cache_key : str, optional
        Key of the model's :class:`NutpieFunctions` in
        :mod:`bayes_ketamine.inference.compile_cache` (a key that identifies the
        structure, see :func:`nutpie_cache_key`); without one they are compiled afresh.

    Returns
    -------
    NutpieCompiled
        Path ``"cached-cfunc"`` normally; ``"nutpie"`` if the structure path could
        not be used (then :func:`nutpie.compile_pymc_model` with ``freeze_model=True``).
    """
    start = time.perf_counter()
    import_nutpie()
    try:
        functions = (
            compile_cache.cached(cache_key, lambda: nutpie_functions(pm_model))
            if cache_key
            else nutpie_functions(pm_model)
        )
        compiled, expansion = bind_study(functions, pm_model)
        path = "cached-cfunc"
    except Exception as err:  # noqa: BLE001 - any failure: nutpie's own path decides
        import nutpie

        if not isinstance(err, LeanUnavailable):
            warnings.warn(
                f"cached nutpie compilation failed ({type(err).__name__}: {err}); "
                "compiling with nutpie.compile_pymc_model instead",
                RuntimeWarning,
                stacklevel=2,
            )
        compiled = nutpie.compile_pymc_model(pm_model, freeze_model=True)
        path, expansion = "nutpie", None
    return NutpieCompiled(compiled, path, time.perf_counter() - start, expansion)


def nutpie_cache_key(structure_key: str) -> str:
    """Return the compile-cache key of the nutpie functions of a model structure."""
    return compile_cache.cache_key(
        "nutpie", structure_key, sys.modules[__name__], censored_logp, hoisting, batched
    )


def _shared_union(functions: NutpieFunctions) -> list[SharedVariable]:
    """Return the shared (non-random) inputs of the log density, in a fixed order."""
    seen: dict[str, SharedVariable] = {}
    for fn in (functions.logp_func,):
        for var in fn.get_shared():
            if _is_random(var):
                raise LeanUnavailable(f"compiled function reads random generator {var.name!r}")
            seen.setdefault(var.name, var)
    return list(seen.values())


def bind_study(
    functions: NutpieFunctions, pm_model: pm.Model
) -> tuple[CompiledPyMCModel, PosteriorExpansion]:
    """Return the ``CompiledPyMCModel`` of ``functions`` fed the data of ``pm_model``.

    nutpie stores one variable, :data:`POINT` (the flat unconstrained point), and the
    returned :class:`PosteriorExpansion` turns its draws into the posterior.

    Raises
    ------
    LeanUnavailable
        If nutpie's internals are not the expected ones or a function reads a shared
        variable the model gives no value for.
    """
    try:
        import nutpie.compile_pymc as nutpie_pymc

        flat_point = nutpie_pymc._rv_dict_to_flat_array_wrapper
        dims_and_coords = nutpie_pymc._prepare_dims_and_coords
        compiled_class = nutpie_pymc.CompiledPyMCModel
    except (ImportError, AttributeError) as err:
        raise LeanUnavailable(str(err)) from err

    values = data_values(pm_model)
    initial_point = functions.initial_point
    try:
        bind_data(initial_point.function, values)
        point = initial_point(0)
        value_shapes = [tuple(np.shape(point[name])) for name in functions.value_names]
        values[VALUE_SHAPES] = np.asarray(
            [n for shape in value_shapes for n in shape], dtype="int64"
        )
        values.update(functions.hoisted.values(values))
        bind_data(functions.logp_func, values)
        bind_data(functions.derive_func, values)
    except LookupError as err:
        raise LeanUnavailable(str(err)) from err
    slices, offset = [], 0
    for shape in value_shapes:
        size = int(np.prod(shape, dtype=int))
        slices.append(slice(offset, offset + size))
        offset += size
    n_dim = offset
    dims, coords = dims_and_coords(
        pm_model, (functions.value_names, slices, value_shapes), functions.reparameterized
    )
    shape_info = ([POINT], [slice(0, n_dim)], [(n_dim,)])

    shared = _shared_union(functions)
    arrays = {str(var.name): np.ascontiguousarray(values[str(var.name)]) for var in shared}
    for array in arrays.values():
        array.flags.writeable = False
    header = _user_data(shared, arrays)
    logp_cfunc = _cached_cfunc("logp", functions.logp_func, shared)
    initial_flat = flat_point(
        _with_lock(initial_point),
        names=functions.value_names,
        shapes=value_shapes,
    )
    compiled = compiled_class(
        _n_dim=n_dim,
        dims=dims,
        _coords=coords,
        _shapes={POINT: (n_dim,)},
        compiled_logp_func=logp_cfunc,
        compiled_expand_func=_copy_cfunc(),
        initial_point_func=initial_flat,
        shared_data=arrays,
        shared_var_keys={},
        user_data=header,
        n_expanded=n_dim,
        shape_info=shape_info,
        logp_func=functions.logp_func,
        expand_func=None,
        reparameterized_names=[],
    )
    coords_arrays = {name: np.asarray(index) for name, index in coords.items()}
    return compiled, PosteriorExpansion(functions, value_shapes, dims, coords_arrays)


def _user_data(shared: list[SharedVariable], arrays: dict[str, Array]) -> Ints:
    """Return the header the callbacks read the study's arrays from.

    One int64 word with the array's address, then one per dimension with its length,
    for each shared variable in order. ``arrays`` must outlive the sampler (the
    ``CompiledPyMCModel`` keeps them in ``shared_data``).
    """
    words = []
    for var in shared:
        array = arrays[str(var.name)]
        words.append(array.ctypes.data)
        words.extend(array.shape)
    return np.asarray(words or [0], dtype=np.int64)


_LOGP_BODY = """
    x = numba.carray(x_, (dim,))
    value, grad = inner(x{args})
    val = value[()]
    logp_[0] = val
    finite = True
    for i in range(dim):
        g = grad[i]
        out_[i] = g
        if not np.isfinite(g):
            finite = False
    if not finite:
        return 3
    if not np.isfinite(val):
        return 4
"""

_SIGNATURES = {
    "logp": ("logp_cfunc", "dim, x_, out_, logp_, user_data_", _LOGP_BODY, "1"),
}

_COPY_SOURCE = """
def copy_cfunc(dim, expanded, x_, out_, user_data_):
    if expanded != dim:
        return -1
    for i in range(dim):
        out_[i] = x_[i]
    return 0
"""
"""nutpie's expansion callback: store the flat point itself (:data:`POINT`)."""


def callback_source(
    kind: str, function_shared: list[SharedVariable], shared: list[SharedVariable]
) -> str:
    """Return the source of the ``kind`` C callback (``"logp"``: the log density).

    The callback rebuilds each shared array the pytensor function reads from the
    header of :func:`_user_data` (address and lengths at fixed word offsets, dtype
    and rank from the structure) and calls the function on the point and the arrays.

    Parameters
    ----------
    kind : {"logp"}
        Which callback.
    function_shared : list of pytensor.compile.sharedvalue.SharedVariable
        The function's shared inputs, in its argument order.
    shared : list of pytensor.compile.sharedvalue.SharedVariable
        All shared variables in header order.

    Returns
    -------
    str
        Python source of one function, for numba.
    """
    name, params, body, error = _SIGNATURES[kind]
    offsets, at = {}, 0
    for var in shared:
        offsets[var.name] = at
        at += 1 + var.type.ndim
    lines = [f"def {name}({params}):", "    try:"]
    lines.append(f"        header = numba.carray(user_data_, ({max(at, 1)},), np.int64)")
    names = []
    for k, var in enumerate(function_shared):
        where = offsets[var.name]
        shape = ", ".join(f"header[{where + 1 + d}]" for d in range(var.type.ndim))
        shape = f"({shape},)" if var.type.ndim == 1 else f"({shape})"
        lines.append(
            f"        s{k} = numba.carray(as_pointer(header[{where}]), {shape}, "
            f"np.{np.dtype(var.type.dtype).name})"
        )
        names.append(f"s{k}")
    if len(names) > MAX_SHARED_ARGS:
        raise LeanUnavailable(f"{len(names)} shared arrays, more than {MAX_SHARED_ARGS}")
    args = "".join(f", {name}" for name in names)
    lines.extend("    " + line for line in body.format(args=args).strip("\n").split("\n"))
    lines += ["    except Exception:", f"        return {error}", "    return 0", ""]
    return "\n".join(lines)


def _as_pointer_intrinsic() -> object:
    """Return a numba intrinsic that turns an int64 address into a ``void*``.

    numba has no public way to make an array from an integer address; nutpie keeps
    an equivalent private intrinsic, which would tie the cached callbacks to it.
    """
    from numba.core import cgutils, types
    from numba.extending import intrinsic

    @intrinsic
    def as_pointer(
        typingctx: object, address: types.Type
    ) -> tuple[Signature, Callable[[object, ir.IRBuilder, object, list[ir.Value]], ir.Value]]:
        def codegen(
            context: object, builder: ir.IRBuilder, signature: object, args: list[ir.Value]
        ) -> ir.Value:
            return builder.inttoptr(args[0], cgutils.voidptr_t)

        return types.voidptr(address), codegen

    return as_pointer


_AS_POINTER: object = None

_CFUNCS: dict[str, object] = {}
"""C callbacks made in this process, by :func:`cfunc_cache_key`: a later fit of the
same structure reuses them instead of loading them from disk again."""


def _signature(kind: str) -> Signature:
    """Return the C signature nutpie expects of the ``kind`` callback."""
    import numba

    double_ptr = numba.types.CPointer(numba.types.double)
    if kind == "logp":
        return numba.types.int64(
            numba.types.uint64, double_ptr, double_ptr, double_ptr, numba.types.voidptr
        )
    return numba.types.int64(
        numba.types.uint64, numba.types.uint64, double_ptr, double_ptr, numba.types.voidptr
    )


def cfunc_cache_key(src: str, inner_key: str) -> str:
    """Return the disk-cache key of a C callback.

    Parameters
    ----------
    src : str
        Generated callback source.
    inner_key : str
        pytensor's numba cache key of the function the callback calls.

    Returns
    -------
    str
        SHA-256 hex digest over :data:`CFUNC_VERSION`, the source and ``inner_key``.
    """
    return sha256_hex(CFUNC_VERSION, src, inner_key)


def _copy_cfunc() -> object:
    """Return nutpie's expansion callback (copy the point), from numba's disk cache."""
    import numba
    from pytensor.link.numba.cache import compile_numba_function_src

    key = cfunc_cache_key(_COPY_SOURCE, "copy")
    if key not in _CFUNCS:
        func = compile_numba_function_src(
            _COPY_SOURCE, "copy_cfunc", {"__name__": __name__}, cache_key=key
        )
        _CFUNCS[key] = numba.cfunc(_signature("expand"), cache=True)(func)
    return _CFUNCS[key]


def _cached_cfunc(kind: str, function: Function, shared: list[SharedVariable]) -> object:
    """Compile the ``kind`` callback of ``function`` as a numba C callback in pytensor's cache."""
    global _AS_POINTER
    import numba
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS, compile_numba_function_src

    inner = function.vm.jit_fn  # type: ignore[attr-defined]  # the numba linker's VM
    inner_key = CACHED_SRC_FUNCTIONS.get(getattr(inner, "py_func", None))  # type: ignore[arg-type]
    if inner_key is None:
        raise LeanUnavailable(f"{kind}: the pytensor function has no numba cache key")
    if _AS_POINTER is None:
        _AS_POINTER = _as_pointer_intrinsic()
    src = callback_source(kind, function.get_shared(), shared)
    key = cfunc_cache_key(src, inner_key)
    if key not in _CFUNCS:
        func = compile_numba_function_src(
            src,
            _SIGNATURES[kind][0],
            # __name__ names an importable module: numba rebuilds the callback's
            # environment from it when loading the cached callback.
            {
                "numba": numba,
                "np": np,
                "inner": inner,
                "as_pointer": _AS_POINTER,
                "__name__": __name__,
            },
            cache_key=key,
        )
        _CFUNCS[key] = numba.cfunc(_signature(kind), cache=True)(func)
    return _CFUNCS[key]


def _is_random(var: SharedVariable) -> bool:
    """Whether ``var`` is a random generator (not data)."""
    from pytensor.tensor.random.type import RandomType

    return isinstance(var.type, RandomType)
