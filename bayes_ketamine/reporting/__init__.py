"""Results for the manuscript, read from fitted artifacts only (never refitting).

:class:`Posteriors` loads a folder of artifacts; :func:`write_numbers` writes the
headline numbers as JSON and as LaTeX macros.
"""

from bayes_ketamine.reporting.artifacts import (
    Posteriors,
    condition_labels,
    draws,
    interval,
    symptom_scale,
)
from bayes_ketamine.reporting.numbers import (
    QUANTITIES,
    headline_numbers,
    latex_macros,
    write_numbers,
)

__all__ = [
    "QUANTITIES",
    "Posteriors",
    "condition_labels",
    "symptom_scale",
    "draws",
    "headline_numbers",
    "interval",
    "latex_macros",
    "write_numbers",
]
