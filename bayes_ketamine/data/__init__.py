"""Trial data: load, validate, simulate, import and summarise crossover studies.

The on-disk format and the validation rules are documented in
``docs/data_format.md``.
"""

from bayes_ketamine.data.default import default_study, default_study_truth
from bayes_ketamine.data.errors import Problem, StudyValidationError
from bayes_ketamine.data.io import load_study, write_study
from bayes_ketamine.data.nimh import import_nimh
from bayes_ketamine.data.simulate import SimulationParameters, SimulationTruth, simulate_study
from bayes_ketamine.data.study import Study
from bayes_ketamine.data.summary import StudySummary

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
