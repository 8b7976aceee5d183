"""Figure 6: the pooling variants of each family by repaired PSIS-LOO and by participant CV.

One row per family (and observed variable) whose poolings were compared by both
criteria (:func:`bayes_ketamine.reporting.criteria.pooling_criteria`), two panels side
by side: repaired PSIS-LOO (predicting another rating of a participant in the data)
and leave-one-participant-out CV (predicting a new participant). Each panel shows,
per pooling variant, its elpd minus that of the criterion's best variant (0 for the
best) with a thick bar of +-1 and a thin bar of +-2 standard errors of the
difference: a variant whose thin bar reaches 0 is not separated from the best. The
row is titled with whether the two criteria agree
(:func:`~bayes_ketamine.reporting.criteria.short_verdict`); the reason in full is in
the numbers and the run's summary. The two criteria have their own x axes: their elpd
values are sums over different units (observations, participants) and are not on one
footing.
"""

from __future__ import annotations

import xarray as xr
from matplotlib.figure import Figure

from bayes_ketamine.figures import style
from bayes_ketamine.models.spec import POOLINGS
from bayes_ketamine.reporting.artifacts import Posteriors
from bayes_ketamine.reporting.criteria import CRITERIA, pooling_criteria, short_verdict

STEM = "fig6_pooling_criteria"

ROW_HEIGHT_IN: float = 1.5
"""Height of one family's row of panels, inches."""


def draw(criteria: dict[str, dict[str, dict]], trees: list[xr.DataTree]) -> Figure:
    """Draw the comparison of the pooling variants by both criteria.

    Parameters
    ----------
    criteria : dict
        ``{family: {observed variable: agreement}}`` as
        :func:`~bayes_ketamine.reporting.criteria.pooling_criteria` returns it (at
        least one entry).
    trees : list of xarray.DataTree
        The artifacts compared (for the study label and the simulated stamp).

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = [
        (family, var, entry)
        for family, per_var in criteria.items()
        for var, entry in per_var.items()
    ]
    fig = Figure(
        figsize=(style.DOUBLE_COLUMN_IN, 0.35 + ROW_HEIGHT_IN * len(rows)), layout="constrained"
    )
    for subfig, (family, var, entry) in zip(
        fig.subfigures(len(rows), 1, squeeze=False)[:, 0], rows, strict=True
    ):
        subfig.suptitle(
            f"{family} ({var}): {short_verdict(entry)}",
            x=0.0,
            ha="left",
            fontsize=7,
            fontweight="bold",
        )
        for ax, (label, name) in zip(
            subfig.subplots(1, len(CRITERIA)), CRITERIA.items(), strict=True
        ):
            ranking = entry[label]
            for y, pooling in enumerate(POOLINGS):
                model = f"{family}_{pooling}"
                color = style.POOLING_COLORS[pooling]
                if model not in ranking["elpd_diff"]:
                    ax.text(0.0, y, " not ranked", color=color, va="center", fontsize=5.5)
                    continue
                diff, se = -abs(ranking["elpd_diff"][model]), ranking["dse"][model]
                ax.plot([diff - 2 * se, diff + 2 * se], [y, y], color=color, lw=0.8)
                ax.plot([diff - se, diff + se], [y, y], color=color, lw=2.4)
                ax.plot([diff], [y], "o", color=color, mfc="white", mew=1.0, ms=3.5)
            ax.axvline(0.0, color="0.5", lw=0.6, ls="--", zorder=0)
            ax.set_yticks(range(len(POOLINGS)), [style.POOLING_NAMES[p] for p in POOLINGS])
            ax.set_ylim(len(POOLINGS) - 0.5, -0.5)
            ax.spines["left"].set_visible(False)
            ax.tick_params(axis="y", length=0)
            ax.set_title(name)
            ax.set_xlabel("elpd difference to the best (nats)")
    fig.supxlabel(
        "point: elpd minus the best's; thick: ±1 SE, thin: ±2 SE of the difference",
        fontsize=5.5,
        color="#4d4d4d",
    )
    style.label_provenance(fig, *trees)
    return fig


def make(posteriors: Posteriors) -> dict[str, Figure]:
    """Return ``{stem: figure}``, empty unless some family was compared by both criteria."""
    criteria = pooling_criteria(posteriors)
    if not criteria:
        return {}
    trees = [
        tree
        for family in criteria
        for pooling in POOLINGS
        if (tree := posteriors.get(f"{family}_{pooling}")) is not None
    ]
    return {STEM: draw(criteria, trees)}
