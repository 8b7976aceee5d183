"""Calibration, design analysis and cross-validation by participant, on Dask.

Simulation-based calibration, power / assurance and leave-one-participant-out CV.

Both fit a model many times, so the doctests skip the calls:

>>> from bayes_ketamine.calibration import run_power, run_sbc
>>> result = run_sbc("symptoms_partial", simulations=100, workers=2)  # doctest: +SKIP
>>> result.verdicts["verdict"].to_series()  # doctest: +SKIP

See ``docs/calibration.md``.
"""

from bayes_ketamine.calibration.cross_validation import CVResult, assign_folds, cross_validate
from bayes_ketamine.calibration.power import PowerResult, run_power
from bayes_ketamine.calibration.sbc import SBCResult, run_sbc, summarise_sbc
from bayes_ketamine.calibration.uniformity import uniformity_band, uniformity_test
from bayes_ketamine.calibration.worker import ModelDesign, SamplerSettings, sbc_rank

__all__ = [
    "CVResult",
    "ModelDesign",
    "PowerResult",
    "SBCResult",
    "SamplerSettings",
    "run_power",
    "assign_folds",
    "cross_validate",
    "run_sbc",
    "sbc_rank",
    "summarise_sbc",
    "uniformity_band",
    "uniformity_test",
]
