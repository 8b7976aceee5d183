"""Model families for the crossover design, built from a spec and a study.

>>> from bayes_ketamine.data import default_study
>>> from bayes_ketamine.models import build_model, load_spec
>>> model = build_model(load_spec("models/joint_partial.toml"), default_study())
>>> model.pymc_model  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from bayes_ketamine.data.study import Study
from bayes_ketamine.models.base import CrossoverModel, response_profile
from bayes_ketamine.models.glutamate import GlutamateModel
from bayes_ketamine.models.joint import JointModel
from bayes_ketamine.models.spec import ModelSpec, SpecError, load_spec, spec_from_dict
from bayes_ketamine.models.symptoms import SymptomModel

FAMILY_CLASSES: dict[str, type[CrossoverModel]] = {
    "glutamate": GlutamateModel,
    "symptoms": SymptomModel,
    "joint": JointModel,
}

SPEC_DIR = Path(__file__).resolve().parents[2] / "models"
"""The repository's ``models/`` folder of named variants."""


def build_model(spec: ModelSpec | str | Path, study: Study) -> CrossoverModel:
    """Build the model a spec names for a study.

    Parameters
    ----------
    spec : ModelSpec, str or pathlib.Path
        A validated spec, a path to a spec file, or the name of a variant in
        ``models/`` (e.g. ``"joint_partial"``).
    study : Study
        The validated study.

    Returns
    -------
    CrossoverModel
        The family's model object; its PyMC model is ``.pymc_model``.
    """
    spec = resolve_spec(spec)
    return FAMILY_CLASSES[spec.family](spec, study)


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
