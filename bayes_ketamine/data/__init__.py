"""Trial data: load, validate, simulate, import and summarise crossover studies.

The on-disk format and the validation rules are documented in
``docs/data_format.md``.

The public names are imported on first use (PEP 562), so importing this package
does not import pandas or xarray.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bayes_ketamine.data.default import default_study, default_study_truth
    from bayes_ketamine.data.errors import Problem, StudyValidationError
    from bayes_ketamine.data.io import load_study, write_study
    from bayes_ketamine.data.nimh import import_nimh
    from bayes_ketamine.data.simulate import SimulationParameters, SimulationTruth, simulate_study
    from bayes_ketamine.data.study import Study
    from bayes_ketamine.data.summary import StudySummary

_SUBMODULE = {
    "Problem": "errors",
    "SimulationParameters": "simulate",
    "SimulationTruth": "simulate",
    "Study": "study",
    "StudySummary": "summary",
    "StudyValidationError": "errors",
    "default_study": "default",
    "default_study_truth": "default",
    "import_nimh": "nimh",
    "load_study": "io",
    "simulate_study": "simulate",
    "write_study": "io",
}
"""The submodule that defines each public name."""

__all__ = [
    "Problem",
    "SimulationParameters",
    "SimulationTruth",
    "Study",
    "StudySummary",
    "StudyValidationError",
    "default_study",
    "default_study_truth",
    "import_nimh",
    "load_study",
    "simulate_study",
    "write_study",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its submodule on first access."""
    if name not in _SUBMODULE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_SUBMODULE[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """List the module's attributes, the lazily imported public names included."""
    return sorted(set(globals()) | set(__all__))
