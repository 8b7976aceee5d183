"""Figure 2: the active condition's effect on the glutamate response under each pooling.

For the glutamate artifacts fitted with no, partial and complete pooling by sex, the
posterior of ``glx_condition_effect`` for each sex and of
``glx_condition_effect_pooled`` (the mean over the sexes), as forest intervals side by
side. Partial pooling shrinks the two sexes' effects towards each other; complete
pooling gives them one value; no pooling leaves them apart.
"""

from __future__ import annotations

import xarray as xr
from matplotlib.figure import Figure

from bayes_ketamine.figures import style
from bayes_ketamine.figures.forest import forest_row, interval_note
from bayes_ketamine.models.spec import POOLINGS
from bayes_ketamine.reporting.artifacts import Posteriors, condition_labels, draws

STEM = "fig2_glx_pooling"
SOURCES = tuple(f"glutamate_{p}" for p in POOLINGS)
ROWS = ("F", "M", "pooled")


def draw(trees: dict[str, xr.DataTree]) -> Figure:
    """Draw the pooling comparison.

    Parameters
    ----------
    trees : dict of str to xarray.DataTree
        ``{pooling: artifact}`` for the poolings available (at least one).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = style.figure(style.SINGLE_COLUMN_IN, 2.6)
    present = [p for p in POOLINGS if p in trees]
    step = 0.22
    for k, pooling in enumerate(present):
        tree = trees[pooling]
        by_sex = draws(tree, "glx_condition_effect")
        pooled = draws(tree, "glx_condition_effect_pooled").values
        for row, who in enumerate(ROWS):
            values = pooled if who == "pooled" else by_sex.sel(sex=who).values
            y = row + (k - (len(present) - 1) / 2) * step
            label = style.POOLING_NAMES[pooling] if row == 0 else None
            forest_row(ax, y, values, style.POOLING_COLORS[pooling], label)
    ax.axvline(0.0, color="0.5", lw=0.6, ls="--", zorder=0)
    ax.set_yticks(range(len(ROWS)), [style.SEX_NAMES[r] for r in ROWS])
    ax.set_ylim(len(ROWS) - 0.5, -0.5)
    ax.spines["left"].set_visible(False)
    ax.tick_params(axis="y", length=0)
    reference, active = condition_labels(next(iter(trees.values())))
    ax.set_xlabel(f"Effect of {active} vs {reference} on the\nketamine Glx response (% points)")
    fig.legend(
        loc="outside lower center",
        ncols=3,
        handletextpad=0.2,
        columnspacing=0.8,
        title=interval_note(),
        title_fontsize=5.5,
    )
    style.label_provenance(fig, *trees.values())
    return fig


def make(posteriors: Posteriors) -> dict[str, Figure]:
    """Return ``{stem: figure}``, empty when no glutamate artifact of the three exists."""
    trees = {p: posteriors.get(f"glutamate_{p}") for p in POOLINGS}
    trees = {p: t for p, t in trees.items() if t is not None}
    return {STEM: draw(trees)} if trees else {}
