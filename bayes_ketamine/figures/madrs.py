"""Figure 3: symptom scores before and after the infusion by condition, with the effect.

Left panels (one per condition): each participant's observed score before the
infusion and at the primary post timepoint (first ``post_timepoint``, e.g. 24 h) of
the session under that condition, one line per participant coloured by sex (or by the
level of the artifact's pooling factor), and the mean over participants (+- SE) in
black. Right panel: the posterior of the condition-by-time effect
``symptom_condition_effect`` per level and pooled (positive = less improvement under
the active condition; with more than two conditions one block of rows per active
condition) and of the change under the reference condition
``symptom_change_reference`` (one row per level when the spec sets
``design.reference_change_by_level``), as forest intervals.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bayes_ketamine.figures import style
from bayes_ketamine.figures.forest import forest_row, interval_note
from bayes_ketamine.reporting.artifacts import (
    Posteriors,
    arm_draws,
    arms,
    condition_labels,
    draws,
    factor_levels,
    participant_levels,
    pooling_factor,
    symptom_scale,
)

STEM = "fig3_madrs"


def observed_scores(tree: xr.DataTree) -> pd.DataFrame:
    """Return the observed ratings before and at the primary post timepoint.

    Parameters
    ----------
    tree : xarray.DataTree
        A symptom or joint artifact.

    Returns
    -------
    pandas.DataFrame
        Columns ``participant``, ``session``, ``active`` (the condition's index in
        study order: 0 reference, 1 the first active one, ...), ``level`` (of the
        pooling factor, e.g. the sex), ``is_post`` (0/1) and ``score``; ratings at
        later post timepoints are left out.
    """
    const = tree["constant_data"].to_dataset()
    part = const["symptom_participant"].values.astype(int)
    active = const["symptom_active"].values
    if active.ndim == 2:  # one-hot over the active conditions
        active = np.where(active.any(axis=1), active.argmax(axis=1) + 1, 0)
    frame = pd.DataFrame(
        {
            "participant": part,
            "session": const["symptom_session"].values.astype(int),
            "active": active.astype(int),
            "level": participant_levels(tree, part),
            "is_post": const["symptom_is_post"].values.astype(int),
            "score": tree["observed_data"]["score"].values,
        }
    )
    loo = tree["loo/score"].to_dataset() if "loo" in tree.children else None
    if loo is not None and "timepoint" in loo.coords:
        primary = str(tree["posterior"]["post_timepoint"].values[0])
        timepoint = loo["timepoint"].values.astype(str)
        frame = frame.loc[(frame["is_post"] == 0) | (timepoint == primary)]
    return frame.dropna(subset=["score"]).reset_index(drop=True)


def draw(tree: xr.DataTree) -> Figure:
    """Draw the symptom figure from one symptom artifact.

    Parameters
    ----------
    tree : xarray.DataTree
        The artifact.

    Returns
    -------
    matplotlib.figure.Figure
    """
    obs = observed_scores(tree)
    names = json.loads(tree.attrs["conditions"])
    levels = factor_levels(tree)
    primary = str(tree["posterior"]["post_timepoint"].values[0])
    k = len(names)
    fig, axes = style.figure(
        style.DOUBLE_COLUMN_IN * (1 if k == 2 else (k + 1.35) / 3.35),
        2.6,
        ncols=k + 1,
        gridspec_kw={"width_ratios": [1] * k + [1.35]},
    )
    for active, ax in enumerate(axes[:k]):
        sub = obs.loc[obs["active"] == active]
        wide = sub.pivot_table(index=["participant", "level"], columns="is_post", values="score")
        for (_, level), row in wide.iterrows():
            ax.plot(
                [0, 1],
                row.reindex([0, 1]).values,
                color=style.level_color(level, levels),
                alpha=0.45,
                lw=0.6,
            )
        cells = sub.groupby("is_post")["score"]
        mean, se = cells.mean().reindex([0, 1]), cells.sem().reindex([0, 1])
        ax.errorbar(
            [0, 1],
            mean.values,
            yerr=se.values,
            color="black",
            lw=1.6,
            marker="o",
            ms=3.5,
            capsize=2,
            zorder=5,
        )
        ax.set_xticks([0, 1], ["before", primary])
        ax.set_xlim(-0.25, 1.25)
        ax.set_title(f"{names[active]} (n = {len(wide)})", color=style.condition_color(active))
    for ax in axes[1:k]:
        ax.sharey(axes[0])
    axes[0].set_ylabel(f"{symptom_scale(tree)} score")
    handles = [
        axes[0].plot([], [], color=style.level_color(s, levels), lw=0.8, label=style.level_name(s))[
            0
        ]
        for s in levels
    ]
    handles.append(axes[0].plot([], [], color="black", marker="o", label="mean ± SE")[0])
    axes[0].legend(handles=handles, loc="lower left")
    _effects(axes[k], tree, primary)
    style.label_provenance(fig, tree)
    return fig


def _effects(ax: Axes, tree: xr.DataTree, primary: str) -> None:
    """Draw the condition-by-time effect per level and pooled, and the reference change."""
    factor, levels = pooling_factor(tree), factor_levels(tree)
    reference, active = condition_labels(tree)
    rows = []
    for arm in arms(tree):
        effect = arm_draws(tree, "symptom_condition_effect", arm)
        prefix = "" if arm is None else f"{arm}: "
        rows += [
            (
                f"{prefix}{style.level_name(s)}",
                effect.sel({factor: s}).values,
                style.level_color(s, levels),
            )
            for s in levels
        ]
        pooled = arm_draws(tree, "symptom_condition_effect_pooled", arm).values
        rows.append((f"{prefix}Pooled", pooled, "black"))
    n_effects = len(rows)
    change = draws(tree, "symptom_change_reference").sel(post_timepoint=primary)
    if factor in change.dims:  # design.reference_change_by_level: one per level
        rows += [
            (
                f"Change under {reference}:\n{style.level_name(s)}",
                change.sel({factor: s}).values,
                style.level_color(s, levels),
            )
            for s in levels
        ]
    else:
        rows.append((f"Change under\n{reference}", change.values, style.CONDITION_COLORS[0]))
    for y, (_, values, color) in enumerate(rows):
        forest_row(ax, y, values, color)
    ax.axvline(0.0, color="0.5", lw=0.6, ls="--", zorder=0)
    ax.axhline(n_effects - 0.5, color="0.8", lw=0.5)
    ax.set_yticks(np.arange(len(rows)), [r[0] for r in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    ax.set_title(f"{active} × time effect at {primary}")
    ax.set_xlabel(f"{symptom_scale(tree)} points (> 0: less improvement\nunder {active})")
    ax.text(0.0, -0.3, interval_note(), transform=ax.transAxes, fontsize=5, va="top", color="0.3")


def make(posteriors: Posteriors) -> dict[str, Figure]:
    """Return ``{stem: figure}``, empty when no partially pooled symptom artifact exists."""
    tree = posteriors.variant("symptoms", "partial")
    return {} if tree is None else {STEM: draw(tree)}
