"""Figure 4: the joint model's indirect, direct and total effects per sex and pooled.

Three panels, each a forest of the posterior per sex (or level of the pooling factor)
and pooled (mean over the levels), in symptom-scale points at the primary post
timepoint (one figure per active condition, ``fig4_mediation_<condition>``, with more
than two conditions): ``indirect_effect``
(the active condition's effect carried by the glutamate response,
``glx_condition_effect * effect_b``), ``direct_effect`` and ``total_effect``. Each row
is annotated with the posterior probability that the effect is positive (less
improvement under the active condition).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from bayes_ketamine.figures import style
from bayes_ketamine.figures.forest import forest_row, interval_note
from bayes_ketamine.reporting.artifacts import (
    Posteriors,
    arm_draws,
    arms,
    condition_labels,
    factor_levels,
    pooling_factor,
    symptom_scale,
)

STEM = "fig4_mediation"
EFFECTS = {
    "indirect_effect": "Indirect (via Glx)",
    "direct_effect": "Direct",
    "total_effect": "Total",
}
"""Effect variables and their panel titles."""


def effect_draws(tree: xr.DataTree, var: str, arm: str | None = None) -> dict[str, np.ndarray]:
    """Return the draws of a per-level effect and of its mean over the levels.

    Parameters
    ----------
    tree : xarray.DataTree
        A joint artifact.
    var : str
        Effect with the dim of the pooling factor (e.g. ``"indirect_effect"``).
    arm : str, optional
        With more than two conditions, the active condition.

    Returns
    -------
    dict of str to numpy.ndarray
        One key per level (``"F"``, ``"M"`` by sex) and ``"pooled"``.
    """
    factor = pooling_factor(tree)
    by_level = arm_draws(tree, var, arm)
    out = {s: by_level.sel({factor: s}).values for s in factor_levels(tree)}
    out["pooled"] = by_level.mean(factor).values
    return out


def draw(tree: xr.DataTree, arm: str | None = None) -> Figure:
    """Draw the mediation figure from one joint artifact.

    Parameters
    ----------
    tree : xarray.DataTree
        The artifact.
    arm : str, optional
        With more than two conditions, the active condition drawn.

    Returns
    -------
    matplotlib.figure.Figure
    """
    reference, active = condition_labels(tree, arm=arm)
    scale = symptom_scale(tree)
    primary = str(tree["posterior"]["post_timepoint"].values[0])
    levels = factor_levels(tree)
    rows = (*levels, "pooled")
    fig, axes = style.figure(
        style.DOUBLE_COLUMN_IN, 2.2 + 0.5 * (len(rows) - 3), ncols=3, sharey=True
    )
    for ax, (var, title) in zip(axes, EFFECTS.items(), strict=True):
        values = effect_draws(tree, var, arm)
        for y, who in enumerate(rows):
            forest_row(ax, y, values[who], style.level_color(who, levels))
            ax.text(
                1.0,
                y - 0.18,
                f"P(>0) = {np.mean(values[who] > 0):.2f}",
                transform=ax.get_yaxis_transform(),
                ha="right",
                va="bottom",
                fontsize=5.5,
                color="0.3",
            )
        ax.axvline(0.0, color="0.5", lw=0.6, ls="--", zorder=0)
        ax.set_title(title)
        ax.tick_params(axis="y", length=0)
        ax.spines["left"].set_visible(False)
    axes[0].set_yticks(range(len(rows)), [style.level_name(r) for r in rows])
    axes[0].set_ylim(len(rows) - 0.5, -0.6)
    axes[1].set_xlabel(
        f"Effect of {active} vs {reference} on the {scale} change at {primary} "
        f"({scale} points; > 0: less improvement)\n{interval_note()}"
    )
    style.label_provenance(fig, tree)
    return fig


def make(posteriors: Posteriors) -> dict[str, Figure]:
    """Return ``{stem: figure}``, empty when no partially pooled joint artifact exists."""
    tree = posteriors.variant("joint", "partial")
    if tree is None:
        return {}
    return {STEM if arm is None else f"{STEM}_{arm}": draw(tree, arm) for arm in arms(tree)}
