"""Figure 2: the active condition's effect on the glutamate response under each pooling.

For the glutamate artifacts fitted with no, partial and complete pooling by sex (or by
another participant factor), the posterior of ``glx_condition_effect`` for each level
and of ``glx_condition_effect_pooled`` (the mean over the levels), as forest intervals
side by side. Partial pooling shrinks the levels' effects towards each other; complete
pooling gives them one value; no pooling leaves them apart. With more than two
conditions there is one figure per active condition (``fig2_glx_pooling_<condition>``).
"""

from __future__ import annotations

import xarray as xr
from matplotlib.figure import Figure

from bayes_ketamine.figures import style
from bayes_ketamine.figures.forest import forest_row, interval_note
from bayes_ketamine.models.spec import POOLINGS
from bayes_ketamine.reporting.artifacts import (
    Posteriors,
    arm_draws,
    arms,
    condition_labels,
    factor_levels,
    pooling_factor,
)

STEM = "fig2_glx_pooling"


def draw(trees: dict[str, xr.DataTree], arm: str | None = None) -> Figure:
    """Draw the pooling comparison.

    Parameters
    ----------
    trees : dict of str to xarray.DataTree
        ``{pooling: artifact}`` for the poolings available (at least one), all pooled
        by the same factor.
    arm : str, optional
        With more than two conditions, the active condition drawn.

    Returns
    -------
    matplotlib.figure.Figure
    """
    first = next(iter(trees.values()))
    factor, levels = pooling_factor(first), factor_levels(first)
    rows = (*levels, "pooled")
    fig, ax = style.figure(style.SINGLE_COLUMN_IN, 2.6 + 0.7 * (len(rows) - 3))
    present = [p for p in POOLINGS if p in trees]
    step = 0.22
    for k, pooling in enumerate(present):
        tree = trees[pooling]
        by_level = arm_draws(tree, "glx_condition_effect", arm)
        pooled = arm_draws(tree, "glx_condition_effect_pooled", arm).values
        for row, who in enumerate(rows):
            values = pooled if who == "pooled" else by_level.sel({factor: who}).values
            y = row + (k - (len(present) - 1) / 2) * step
            label = style.POOLING_NAMES[pooling] if row == 0 else None
            forest_row(ax, y, values, style.POOLING_COLORS[pooling], label)
    ax.axvline(0.0, color="0.5", lw=0.6, ls="--", zorder=0)
    ax.set_yticks(range(len(rows)), [style.level_name(r) for r in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.spines["left"].set_visible(False)
    ax.tick_params(axis="y", length=0)
    reference, active = condition_labels(first, arm=arm)
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
    """Return ``{stem: figure}``, empty when no glutamate artifact of the three exists.

    One figure per active condition when there are more than two conditions.
    """
    trees = {p: posteriors.variant("glutamate", p) for p in POOLINGS}
    trees = {p: t for p, t in trees.items() if t is not None}
    if not trees:
        return {}
    factor = pooling_factor(next(iter(trees.values())))
    trees = {p: t for p, t in trees.items() if pooling_factor(t) == factor}
    return {
        STEM if arm is None else f"{STEM}_{arm}": draw(trees, arm)
        for arm in arms(next(iter(trees.values())))
    }
