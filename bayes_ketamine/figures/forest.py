"""Forest-style intervals shared by the effect figures: point, 89 % and 95 % intervals."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes

from bayes_ketamine.figures import style
from bayes_ketamine.reporting.artifacts import interval


def forest_row(
    ax: Axes, y: float, values: np.ndarray, color: str, label: str | None = None
) -> None:
    """Draw one posterior as a point (mean), a thick 89 % and a thin 95 % interval.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Target axes.
    y : float
        Vertical position of the row.
    values : numpy.ndarray
        Posterior draws (one dimension).
    color : str
        Colour of the row.
    label : str, optional
        Legend label.
    """
    low95, high95 = interval(values, style.OUTER_PROB)
    low89, high89 = interval(values, style.INNER_PROB)
    ax.plot([low95, high95], [y, y], color=color, lw=0.8, solid_capstyle="butt")
    ax.plot([low89, high89], [y, y], color=color, lw=2.4, solid_capstyle="butt")
    ax.plot([np.mean(values)], [y], "o", color=color, mfc="white", mew=1.0, ms=3.5, label=label)


def interval_note() -> str:
    """Return the legend note that explains the interval widths."""
    return (
        f"point: posterior mean; thick: {style.INNER_PROB:.0%}, thin: {style.OUTER_PROB:.0%} "
        "equal-tailed interval"
    )
