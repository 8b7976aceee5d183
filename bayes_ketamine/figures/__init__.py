"""The paper's figures, drawn from fitted artifacts only (never refitting).

One module per figure, each with ``make(posteriors) -> {stem: Figure}`` (empty when
its artifacts are absent) and a ``draw`` function for one figure:

- :mod:`~bayes_ketamine.figures.glx_timecourse` (figure 1, ``glutamate_partial``);
- :mod:`~bayes_ketamine.figures.glx_pooling` (figure 2, ``glutamate_{none,partial,complete}``);
- :mod:`~bayes_ketamine.figures.madrs` (figure 3, ``symptoms_partial``);
- :mod:`~bayes_ketamine.figures.mediation` (figure 4, ``joint_partial``);
- :mod:`~bayes_ketamine.figures.mediation_sensitivity` (figure 5, ``joint_partial``);
- :mod:`~bayes_ketamine.figures.pooling_criteria` (figure 6, the poolings of each
  family by repaired PSIS-LOO and by participant CV, from the comparison tables in
  ``comparisons/``);
- :mod:`~bayes_ketamine.figures.checks` and :mod:`~bayes_ketamine.figures.ranks`
  (supplement, every artifact).

:func:`make_figures` writes them all as PNG and PDF with reproducible bytes.

Examples
--------
The artifacts come from fitting the models, so the doctests skip the call:

>>> from bayes_ketamine.figures import make_figures
>>> paths = make_figures("posteriors", out_dir="figures")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from bayes_ketamine.api import deprecated_call_forms
from bayes_ketamine.figures import (
    checks,
    glx_pooling,
    glx_timecourse,
    madrs,
    mediation,
    mediation_sensitivity,
    pooling_criteria,
    ranks,
    style,
)
from bayes_ketamine.reporting.artifacts import Posteriors, as_posteriors

FIGURE_MODULES = (
    glx_timecourse,
    glx_pooling,
    madrs,
    mediation,
    mediation_sensitivity,
    pooling_criteria,
    checks,
    ranks,
)
"""The figure modules, in the order their files are written."""


@deprecated_call_forms(positional=("out_dir",))
def make_figures(posteriors_dir: str | Path | Posteriors, *, out_dir: str | Path) -> list[Path]:
    """Draw every figure whose artifacts exist and write it as PNG and PDF.

    Parameters
    ----------
    posteriors_dir : str, pathlib.Path or Posteriors
        Folder of the fitted artifacts (``<model name>.nc``), or a :class:`Posteriors`
        of it (e.g. holding artifacts already in memory, which are not read again).
    out_dir : str or pathlib.Path
        Folder of the figure files (created if needed).

    Returns
    -------
    list of pathlib.Path
        The files written, PNG then PDF for each figure; figures whose artifacts are
        absent are skipped.

    Raises
    ------
    bayes_ketamine.reporting.artifacts.MixedStudiesError
        If the artifacts were fitted to different studies (a figure never combines
        studies).
    """
    posteriors = as_posteriors(posteriors_dir)
    posteriors.require_one_study()
    written: list[Path] = []
    with style.styled():
        for module in FIGURE_MODULES:
            for stem, fig in module.make(posteriors).items():
                written.extend(style.save(fig, out_dir, stem))
    return written


__all__ = ["FIGURE_MODULES", "make_figures"]
