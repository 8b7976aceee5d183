"""Results for the manuscript, read from fitted artifacts only (never refitting).

:class:`Posteriors` loads a folder of artifacts; :func:`write_numbers` writes the
headline numbers as JSON and as LaTeX macros.
"""

from bayes_ketamine.reporting.artifacts import Posteriors, condition_labels, draws, interval

__all__ = ["Posteriors", "condition_labels", "draws", "interval"]
