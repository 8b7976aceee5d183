"""Data-only parts of a compiled graph, computed once per study instead of at every call.

A function compiled once per model structure takes the study's arrays as shared
inputs (:mod:`bayes_ketamine.inference.structure`). Parts of its graph depend on
those arrays alone: the pooling level of each observation (a gather of two data
arrays), the index subsets of censored ratings
(:mod:`bayes_ketamine.inference.censored_logp`), masks. Had the data been constants,
pytensor would have folded them; as inputs, NUTS would recompute them at every
leapfrog step, and gathers through computed indices keep pytensor's numba backend
from fusing indexed reads into its elementwise loops.

:func:`hoist_data_only` cuts such parts out: each becomes a new shared input
(``_hoisted_<k>``) of the hot function, and one small function computes them all
from the study's arrays when a study is bound. Why hand-written: pytensor has no
rewrite for "inputs that stay fixed across calls" (it only folds constants).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

HOISTED_PREFIX = "_hoisted_"
"""Name prefix of the shared inputs that hold hoisted values."""

_VIEW_OPS = ("Subtensor", "DimShuffle", "Reshape", "SpecifyShape", "Shape", "Shape_i")
"""Ops cheap enough to leave in the hot function (views and shapes)."""


@dataclass(frozen=True)
class HoistedData:
    """The hoisted parts of a graph and the function that computes them.

    Parameters
    ----------
    function : pytensor.compile.function.types.Function or None
        No inputs; returns the hoisted values from its shared (study) inputs, in
        ``names`` order. ``None`` when nothing was hoisted.
    names : tuple of str
        Names of the shared inputs the hot function reads the values from.
    """

    function: Any
    names: tuple[str, ...]

    def values(self, study_values: dict[str, Any]) -> dict[str, np.ndarray]:
        """Return the hoisted values for a study's shared values, by name."""
        if self.function is None:
            return {}
        from bayes_ketamine.inference.structure import bind_data

        bind_data(self.function, study_values)
        return dict(zip(self.names, self.function(), strict=True))


def _is_costly(var: Any, data: set, skip: frozenset[str]) -> bool:
    """Whether computing data-only ``var`` does work beyond views of cheap inputs."""
    stack, seen = [var], set()
    while stack:
        v = stack.pop()
        if v in seen or v.owner is None:
            continue
        seen.add(v)
        node = v.owner
        if type(node.op).__name__ not in _VIEW_OPS and any(
            i.type.ndim for i in node.inputs if i in data and _reads_study(i, skip)
        ):
            return True
        stack.extend(i for i in node.inputs if i in data)
    return False


def _reads_study(var: Any, skip: frozenset[str]) -> bool:
    """Whether ``var`` depends on a shared input other than those in ``skip``."""
    from pytensor.compile.sharedvalue import SharedVariable
    from pytensor.graph.traversal import graph_inputs

    return any(isinstance(v, SharedVariable) and v.name not in skip for v in graph_inputs([var]))


def _tensor_inputs(inputs: list[Any], data: set) -> list[Any]:
    """Return the data-only tensors among ``inputs``, looking through scalar conversions."""
    from pytensor.tensor.type import TensorType

    found = []
    for var in inputs:
        if var not in data:
            continue
        if isinstance(var.type, TensorType):
            found.append(var)
        elif var.owner is not None:
            found.extend(_tensor_inputs(var.owner.inputs, data))
    return found


def hoist_data_only(
    outputs: list[Any], varying: Any, *, skip: frozenset[str] = frozenset(), mode: str
) -> tuple[list[Any], HoistedData]:
    """Replace the costly data-only parts of ``outputs`` by shared inputs.

    Parameters
    ----------
    outputs : list of pytensor.tensor.TensorVariable
        The graph (already rewritten, so that equal parts are merged).
    varying : pytensor.tensor.TensorVariable
        The input that changes at every call (NUTS' point).
    skip : frozenset of str, keyword-only
        Shared inputs whose derived values are cheap to recompute (sizes).
    mode : str, keyword-only
        pytensor mode of the function that computes the hoisted values.

    Returns
    -------
    outputs : list of pytensor.tensor.TensorVariable
        The graph reading the hoisted values from new shared inputs.
    hoisted : HoistedData
        How to compute those values for a study.
    """
    import pytensor
    import pytensor.tensor as pt
    from pytensor.compile.sharedvalue import SharedVariable
    from pytensor.graph.basic import Variable
    from pytensor.graph.replace import graph_replace
    from pytensor.graph.traversal import graph_inputs, io_toposort

    inputs = list(graph_inputs(outputs))
    varying_vars: set[Variable] = {varying}
    data: set[Variable] = {v for v in inputs if isinstance(v, SharedVariable)}
    nodes = io_toposort(inputs, outputs)
    for node in nodes:
        if any(i in varying_vars for i in node.inputs):
            varying_vars.update(node.outputs)
        elif any(i in data for i in node.inputs):
            data.update(node.outputs)
    frontier: dict[Any, None] = {}
    for node in nodes:
        if any(i in varying_vars for i in node.inputs):
            for i in _tensor_inputs(node.inputs, data):
                if i.owner is not None and _is_costly(i, data, skip):
                    frontier.setdefault(i)
    if not frontier:
        return outputs, HoistedData(None, ())
    # Scalars are held as one-element vectors: the C callbacks pass arrays only.
    exprs = [pt.atleast_1d(expr) for expr in frontier]
    names = tuple(f"{HOISTED_PREFIX}{k}" for k in range(len(exprs)))
    replacements = {}
    for name, expr, original in zip(names, exprs, frontier, strict=True):
        empty = np.zeros([n if n is not None else 0 for n in expr.type.shape], expr.dtype)
        held = pytensor.shared(empty, name=name, shape=expr.type.shape)
        replacements[original] = held[0] if original.type.ndim == 0 else held
    new_outputs = graph_replace(outputs, replacements, strict=True)
    function = pytensor.function([], exprs, mode=mode, on_unused_input="ignore")
    return list(new_outputs), HoistedData(function, names)
