"""Calibration, design analysis and cross-validation by participant, on Dask.

Simulation-based calibration, power / assurance and leave-one-participant-out CV.

>>> from bayes_ketamine.calibration import run_sbc, run_power  # doctest: +SKIP
>>> result = run_sbc("symptoms_partial", simulations=100, workers=2)  # doctest: +SKIP
>>> result.verdicts["verdict"].to_series()  # doctest: +SKIP

See ``docs/calibration.md``.
"""

from bayes_ketamine.calibration.cross_validation import CVResult, assign_folds, cross_validate
from bayes_ketamine.calibration.sbc import (
    SBCResult,
    run_sbc,
    summarise_sbc,
    uniformity_band,
    uniformity_test,
)
from bayes_ketamine.calibration.worker import ModelDesign, SamplerSettings, sbc_rank

__all__ = [
    "CVResult",
    "ModelDesign",
    "SBCResult",
    "SamplerSettings",
    "assign_folds",
    "cross_validate",
    "run_sbc",
    "sbc_rank",
    "summarise_sbc",
    "uniformity_band",
    "uniformity_test",
]
