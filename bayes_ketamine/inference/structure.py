"""A model's structure, which compiled functions depend on, apart from the study's values.

The model families put every study-dependent array into the graph as ``pm.Data``
(shared variables) and every study size as a coordinate (a shared dimension length),
see :class:`~bayes_ketamine.models.base.CrossoverModel`. A compiled function of such a
graph takes the data as inputs: compiled once, it evaluates any study of the same
structure after :func:`bind_data` has set the shared variables to that study's values.

:func:`model_structure_key` identifies the structure: a digest of the graph's
operations, constants, variable names and types, and of the shared variables' names
and types (never their values), with the versions of the compiling packages. Two
studies of one design give the same key; a spec, prior or pooling change, or a choice
the study drives (e.g. centred participant levels), gives another. Hashing the graph
itself, rather than a hand-kept list of what shapes it, means a study value that
slipped into the graph as a constant changes the key (and shows up as one compile
per study), instead of silently reusing a wrong function.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import numpy as np

from bayes_ketamine.digests import digest


def _op_token(op: Any) -> str:
    """Return a process-independent description of a pytensor ``Op``."""
    name = f"{type(op).__module__}.{type(op).__qualname__}"
    props = getattr(op, "__props__", None)
    if props:
        return f"{name}{[(p, str(getattr(op, p))) for p in props]}"
    return f"{name}[{op}]"


def _root_token(var: Any) -> str:
    """Return the description of a graph input: constants by value, others by name and type."""
    from pytensor.compile.sharedvalue import SharedVariable
    from pytensor.graph.basic import Constant

    if isinstance(var, Constant):
        data = np.asarray(var.data)
        if data.dtype == object:  # e.g. a None size: its bytes would be an address
            content = repr(var.data)
        else:
            content = digest(bytes=data.tobytes().hex(), dtype=str(data.dtype), shape=data.shape)
        return f"C:{var.type}:{content}"
    if isinstance(var, SharedVariable):
        return f"S:{var.name}:{var.type}"
    return f"I:{var.name}:{var.type}"


def graph_fingerprint(outputs: Iterable[Any]) -> str:
    """Return a digest of the graph of ``outputs`` that ignores shared variables' values.

    Parameters
    ----------
    outputs : iterable of pytensor.graph.basic.Variable
        The graph's outputs, in a fixed order.

    Returns
    -------
    str
        SHA-256 hex digest over every apply node in topological order (its op and
        the tokens of its inputs) and the names and types of the outputs.
    """
    from pytensor.graph.traversal import toposort

    outputs = list(outputs)
    tokens: dict[Any, str] = {}
    nodes = []
    for k, node in enumerate(toposort(outputs)):
        inputs = []
        for var in node.inputs:
            if var not in tokens:
                tokens[var] = _root_token(var)
            inputs.append(tokens[var])
        for j, out in enumerate(node.outputs):
            tokens[out] = f"n{k}.{j}"
        nodes.append([_op_token(node.op), inputs])
    named = [[tokens.get(v, _root_token(v)), v.name, str(v.type)] for v in outputs]
    return digest(nodes=json.dumps(nodes), outputs=named)


def model_structure_key(pm_model: Any, versions: dict[str, str]) -> str:
    """Return the key of the structure of ``pm_model`` (see the module docstring).

    Parameters
    ----------
    pm_model : pymc.Model
        The built model.
    versions : dict of str to str
        Package versions (:func:`~bayes_ketamine.inference.provenance.package_versions`).

    Returns
    -------
    str
        SHA-256 hex digest; equal for two studies of the same design.
    """
    import pytensor

    outputs = [
        *pm_model.free_RVs,
        *pm_model.observed_RVs,
        *pm_model.deterministics,
        *pm_model.potentials,
        *(pm_model.rvs_to_values[rv] for rv in pm_model.observed_RVs),
    ]
    return digest(
        graph=graph_fingerprint(outputs),
        dims={name: list(dims) for name, dims in pm_model.named_vars_to_dims.items()},
        versions=versions,
        floatX=pytensor.config.floatX,
        mode=str(pytensor.config.mode),
    )


def data_values(pm_model: Any) -> dict[str, np.ndarray]:
    """Return the study's values of the model's shared variables, by name.

    These are the data containers (``pm.Data``) and the dimension lengths: everything
    a compiled function of the model's structure needs from the study.
    """
    values = {var.name: var.get_value(borrow=True) for var in pm_model.data_vars}
    for name, length in pm_model.dim_lengths.items():
        if hasattr(length, "get_value"):
            values[name] = length.get_value(borrow=True)
    return values


class UnboundSharedVariable(LookupError):
    """A compiled function reads a shared variable the study gives no value for."""


def bind_data(function: Any, values: dict[str, Any]) -> None:
    """Set the shared variables of a compiled function to a study's values.

    Random generators are left alone (they are seeded separately).

    Parameters
    ----------
    function : pytensor.compile.function.types.Function
        A function compiled from a model's structure.
    values : dict of str to array_like
        Values by shared-variable name (:func:`data_values`, plus any extras).

    Raises
    ------
    UnboundSharedVariable
        If the function reads a non-random shared variable missing from ``values``.
    """
    from pytensor.tensor.random.type import RandomType

    for var in function.get_shared():
        if isinstance(var.type, RandomType):
            continue
        if var.name not in values:
            raise UnboundSharedVariable(f"no value for shared variable {var.name!r}")
        var.set_value(values[var.name], borrow=True)
