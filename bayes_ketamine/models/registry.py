"""The model families by name, and :func:`build_model` (imports PyMC via the families)."""

from __future__ import annotations

from pathlib import Path

from bayes_ketamine.data.study import Study
from bayes_ketamine.models.base import CrossoverModel
from bayes_ketamine.models.glutamate import GlutamateModel
from bayes_ketamine.models.joint import JointModel
from bayes_ketamine.models.spec import ModelSpec, resolve_spec
from bayes_ketamine.models.symptoms import SymptomModel

FAMILY_CLASSES: dict[str, type[CrossoverModel]] = {
    "glutamate": GlutamateModel,
    "symptoms": SymptomModel,
    "joint": JointModel,
}


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
