"""Fitting, checking and storing models: one artifact per fit.

Public API: :func:`fit`, :class:`FitSettings`, :class:`FitResult`,
:func:`load_posterior`, :class:`ArtifactError`, :func:`compare` and
:func:`sample_posterior`.

The public names are imported on first use (PEP 562), so importing this package (or
:mod:`bayes_ketamine.inference.settings`) does not import PyMC, ArviZ or xarray.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bayes_ketamine.inference.artifact import ArtifactError, load_posterior
    from bayes_ketamine.inference.comparison import compare
    from bayes_ketamine.inference.fitting import FitResult, fit
    from bayes_ketamine.inference.samplers import sample_posterior
    from bayes_ketamine.inference.settings import FitSettings

_SUBMODULE = {
    "ArtifactError": "artifact",
    "compare": "comparison",
    "FitResult": "fitting",
    "FitSettings": "settings",
    "fit": "fitting",
    "load_posterior": "artifact",
    "sample_posterior": "samplers",
}
"""The submodule that defines each public name."""

__all__ = [
    "ArtifactError",
    "compare",
    "FitResult",
    "FitSettings",
    "fit",
    "load_posterior",
    "sample_posterior",
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
