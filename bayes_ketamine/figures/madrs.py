"""Figure 3: symptom scores before and after the infusion by condition, with the effect.

Left panels (one per condition): each participant's observed score before the
infusion and at the primary post timepoint (first ``post_timepoint``, e.g. 24 h) of
the session under that condition, one line per participant coloured by sex, and the
mean over participants (+- SE) in black. Right panel: the posterior of the
condition-by-time effect ``symptom_condition_effect`` per sex and pooled (positive =
less improvement under the active condition) and of the change under the reference
condition ``symptom_change_reference``, as forest intervals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bayes_ketamine.figures import style
from bayes_ketamine.figures.forest import forest_row, interval_note
from bayes_ketamine.reporting.artifacts import (
    Posteriors,
    condition_labels,
    draws,
    symptom_scale,
)

STEM = "fig3_madrs"
SOURCES = ("symptoms_partial",)
"""Name of the rating scale on the axis labels."""


def observed_scores(tree: xr.DataTree) -> pd.DataFrame:
    """Return the observed ratings before and at the primary post timepoint.

    Parameters
    ----------
    tree : xarray.DataTree
        A symptom or joint artifact.

    Returns
    -------
    pandas.DataFrame
        Columns ``participant``, ``session``, ``active`` (0/1), ``sex``, ``is_post``
        (0/1) and ``score``; ratings at later post timepoints are left out.
    """
    const = tree["constant_data"].to_dataset()
    sexes = tree["posterior"]["sex"].values.astype(str)
    part = const["symptom_participant"].values.astype(int)
    frame = pd.DataFrame(
        {
            "participant": part,
            "session": const["symptom_session"].values.astype(int),
            "active": const["symptom_active"].values.astype(int),
            "sex": sexes[const["participant_sex"].values[part]],
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
    names = condition_labels(tree)
    primary = str(tree["posterior"]["post_timepoint"].values[0])
    fig, axes = style.figure(
        style.DOUBLE_COLUMN_IN, 2.6, ncols=3, gridspec_kw={"width_ratios": [1, 1, 1.35]}
    )
    for active, ax in enumerate(axes[:2]):
        sub = obs.loc[obs["active"] == active]
        wide = sub.pivot_table(index=["participant", "sex"], columns="is_post", values="score")
        for (_, sex), row in wide.iterrows():
            ax.plot(
                [0, 1], row.reindex([0, 1]).values, color=style.SEX_COLORS[sex], alpha=0.45, lw=0.6
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
        ax.set_title(f"{names[active]} (n = {len(wide)})", color=style.CONDITION_COLORS[active])
    axes[1].sharey(axes[0])
    axes[0].set_ylabel(f"{symptom_scale(tree)} score")
    handles = [
        axes[0].plot([], [], color=style.SEX_COLORS[s], lw=0.8, label=style.SEX_NAMES[s])[0]
        for s in ("F", "M")
    ]
    handles.append(axes[0].plot([], [], color="black", marker="o", label="mean ± SE")[0])
    axes[0].legend(handles=handles, loc="lower left")
    _effects(axes[2], tree, names, primary)
    style.label_provenance(fig, tree)
    return fig


def _effects(ax: Axes, tree: xr.DataTree, names: tuple[str, str], primary: str) -> None:
    """Draw the condition-by-time effect per sex and pooled, and the reference change."""
    effect = draws(tree, "symptom_condition_effect")
    rows = [
        (f"{style.SEX_NAMES[s]}", effect.sel(sex=s).values, style.SEX_COLORS[s]) for s in ("F", "M")
    ]
    rows.append(("Pooled", draws(tree, "symptom_condition_effect_pooled").values, "black"))
    change = draws(tree, "symptom_change_reference").sel(post_timepoint=primary).values
    rows.append((f"Change under\n{names[0]}", change, style.CONDITION_COLORS[0]))
    for y, (_, values, color) in enumerate(rows):
        forest_row(ax, y, values, color)
    ax.axvline(0.0, color="0.5", lw=0.6, ls="--", zorder=0)
    ax.axhline(len(rows) - 1.5, color="0.8", lw=0.5)
    ax.set_yticks(np.arange(len(rows)), [r[0] for r in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    ax.set_title(f"{names[1]} × time effect at {primary}")
    ax.set_xlabel(f"{symptom_scale(tree)} points (> 0: less improvement\nunder {names[1]})")
    ax.text(0.0, -0.3, interval_note(), transform=ax.transAxes, fontsize=5, va="top", color="0.3")


def make(posteriors: Posteriors) -> dict[str, Figure]:
    """Return ``{stem: figure}``, empty when no symptom artifact exists."""
    tree = posteriors.first(*SOURCES)
    return {} if tree is None else {STEM: draw(tree)}
