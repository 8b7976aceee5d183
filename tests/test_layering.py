"""The package's layers, from the modules' own imports (grimp reads every import statement).

Imports flow one way, top to bottom of :data:`LAYERS`; modules of one layer may import
each other, but no module imports from a layer above its own, and no modules import
each other in a cycle. Imports that only serve type annotations
(``if TYPE_CHECKING:``) count for the layers but not for cycles: they never run.
"""

from __future__ import annotations

import graphlib

import grimp
import pytest

PACKAGE = "bayes_ketamine"
LAYERS = (
    "cli",
    "pipeline",
    "calibration",
    "figures",
    "reporting",
    "inference",
    "models",
    "data",
    "digests",
    "api",
)
"""Top to bottom, as the package docstring of :mod:`bayes_ketamine` states them."""


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(PACKAGE, cache_dir=None)


@pytest.fixture(scope="module")
def runtime_graph() -> grimp.ImportGraph:
    return grimp.build_graph(PACKAGE, cache_dir=None, exclude_type_checking_imports=True)


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def _upward_imports(graph: grimp.ImportGraph) -> list[str]:
    found = []
    for module in sorted(graph.modules):
        here = _layer(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            there = _layer(imported)
            if here and there and LAYERS.index(there) < LAYERS.index(here):
                lines = graph.get_import_details(importer=module, imported=imported)
                where = ", ".join(str(d["line_number"]) for d in lines)
                found.append(f"{module} (line {where}) imports {imported}")
    return found


def _cycle(graph: grimp.ImportGraph) -> list[str]:
    sorter = graphlib.TopologicalSorter(
        {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    )
    try:
        sorter.prepare()
    except graphlib.CycleError as err:
        return list(err.args[1])
    return []


def test_every_top_level_module_has_a_layer(graph):
    children = {m.split(".")[1] for m in graph.modules if m.count(".") >= 1}
    assert children - set(LAYERS) <= {"resources"}, "a new top-level module needs a layer"


def test_no_module_imports_from_a_layer_above_it(graph):
    assert _upward_imports(graph) == []


def test_no_import_cycles(runtime_graph):
    assert _cycle(runtime_graph) == []


def test_the_check_sees_an_upward_import_and_a_cycle():
    """The two checks fail on a graph that breaks them (so a pass means something)."""
    broken = grimp.ImportGraph()
    for module in ("bayes_ketamine.data.a", "bayes_ketamine.models.b"):
        broken.add_module(module)
    for importer, imported, line in (("data.a", "models.b", 3), ("models.b", "data.a", 5)):
        broken.add_import(
            importer=f"bayes_ketamine.{importer}",
            imported=f"bayes_ketamine.{imported}",
            line_number=line,
            line_contents=f"import bayes_ketamine.{imported}",
        )
    assert _upward_imports(broken) == [
        "bayes_ketamine.data.a (line 3) imports bayes_ketamine.models.b"
    ]
    assert sorted(set(_cycle(broken))) == ["bayes_ketamine.data.a", "bayes_ketamine.models.b"]
