"""Figure 4: the joint model's indirect, direct and total effects per sex and pooled.

Three panels, each a forest of the posterior per sex and pooled (mean over the
sexes), in symptom-scale points at the primary post timepoint: ``indirect_effect``
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
    condition_labels,
    draws,
    symptom_scale,
)

STEM = "fig4_mediation"
SOURCES = ("joint_partial",)
EFFECTS = {
    "indirect_effect": "Indirect (via Glx)",
    "direct_effect": "Direct",
    "total_effect": "Total",
}
"""Effect variables and their panel titles."""

ROWS = ("F", "M", "pooled")


def effect_draws(tree: xr.DataTree, var: str) -> dict[str, np.ndarray]:
    """Return the draws of a per-sex effect and of its mean over the sexes.

    Parameters
    ----------
    tree : xarray.DataTree
        A joint artifact.
    var : str
        Effect with dim ``sex`` (e.g. ``"indirect_effect"``).

    Returns
    -------
    dict of str to numpy.ndarray
        Keys ``"F"``, ``"M"`` and ``"pooled"``.
    """
    by_sex = draws(tree, var)
    out = {s: by_sex.sel(sex=s).values for s in ("F", "M")}
    out["pooled"] = by_sex.mean("sex").values
    return out


def draw(tree: xr.DataTree) -> Figure:
    """Draw the mediation figure from one joint artifact.

    Parameters
    ----------
    tree : xarray.DataTree
        The artifact.

    Returns
    -------
    matplotlib.figure.Figure
    """
    reference, active = condition_labels(tree)
    scale = symptom_scale(tree)
    primary = str(tree["posterior"]["post_timepoint"].values[0])
    fig, axes = style.figure(style.DOUBLE_COLUMN_IN, 2.2, ncols=3, sharey=True)
    for ax, (var, title) in zip(axes, EFFECTS.items(), strict=True):
        values = effect_draws(tree, var)
        for y, who in enumerate(ROWS):
            forest_row(ax, y, values[who], style.SEX_COLORS[who])
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
    axes[0].set_yticks(range(len(ROWS)), [style.SEX_NAMES[r] for r in ROWS])
    axes[0].set_ylim(len(ROWS) - 0.5, -0.6)
    axes[1].set_xlabel(
        f"Effect of {active} vs {reference} on the {scale} change at {primary} "
        f"({scale} points; > 0: less improvement)\n{interval_note()}"
    )
    style.label_provenance(fig, tree)
    return fig


def make(posteriors: Posteriors) -> dict[str, Figure]:
    """Return ``{stem: figure}``, empty when no joint artifact exists."""
    tree = posteriors.first(*SOURCES)
    return {} if tree is None else {STEM: draw(tree)}
