"""Fitting, checking and storing models: one artifact per fit.

Public API: :func:`fit`, :class:`FitSettings`, :class:`FitResult`,
:func:`load_posterior`, :class:`ArtifactError`, :func:`compare` and
:func:`sample_posterior`.
"""

from bayes_ketamine.inference.artifact import ArtifactError, load_posterior
from bayes_ketamine.inference.comparison import compare
from bayes_ketamine.inference.fitting import FitResult, fit
from bayes_ketamine.inference.samplers import sample_posterior
from bayes_ketamine.inference.settings import FitSettings

__all__ = [
    "ArtifactError",
    "compare",
    "FitResult",
    "FitSettings",
    "fit",
    "load_posterior",
    "sample_posterior",
]
