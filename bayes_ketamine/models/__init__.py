"""Model families for the crossover design, built from a spec and a study.

>>> from bayes_ketamine.data import default_study
>>> from bayes_ketamine.models import build_model, load_spec
>>> model = build_model(load_spec("models/joint_partial.toml"), default_study())
>>> model.pymc_model  # doctest: +SKIP

Specs (:mod:`bayes_ketamine.models.spec`, standard library only) are imported with
the package; the model families and :func:`build_model` (which import PyMC) on first
use (PEP 562).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bayes_ketamine.models.spec import ModelSpec, SpecError, load_spec, spec_from_dict

if TYPE_CHECKING:
    from bayes_ketamine.models.base import CrossoverModel, response_profile
    from bayes_ketamine.models.glutamate import GlutamateModel
    from bayes_ketamine.models.joint import JointModel
    from bayes_ketamine.models.registry import FAMILY_CLASSES, build_model
    from bayes_ketamine.models.symptoms import SymptomModel

SPEC_DIR = Path(__file__).resolve().parents[2] / "models"
"""The repository's ``models/`` folder of named variants."""

_SUBMODULE = {
    "FAMILY_CLASSES": "registry",
    "CrossoverModel": "base",
    "GlutamateModel": "glutamate",
    "JointModel": "joint",
    "SymptomModel": "symptoms",
    "build_model": "registry",
    "response_profile": "base",
}
"""The submodule that defines each lazily imported public name."""


def resolve_spec(spec: ModelSpec | str | Path) -> ModelSpec:
    """Return a spec given as an object, a file path or a variant name in ``models/``."""
    if isinstance(spec, ModelSpec):
        return spec
    path = Path(spec)
    if path.suffix != ".toml" and not path.exists():
        path = SPEC_DIR / f"{spec}.toml"
    return load_spec(path)


__all__ = [
    "FAMILY_CLASSES",
    "SPEC_DIR",
    "CrossoverModel",
    "GlutamateModel",
    "JointModel",
    "ModelSpec",
    "SpecError",
    "SymptomModel",
    "build_model",
    "load_spec",
    "resolve_spec",
    "response_profile",
    "spec_from_dict",
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
