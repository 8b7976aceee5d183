"""Figure 1: the Glx/tNAA time course by condition, all participants and by sex.

Panels: all participants, then one per sex (or per level of the artifact's pooling
factor); one curve per condition (every condition of the study).

Observed: per participant-session, the percent change of each block from the mean of
the session's pre-infusion blocks, averaged over participant-sessions (mean +- SE).
Fitted: the population mean curve ``100 (exp(A f(t) / 100) - 1)`` with
``A = glx_response + glx_condition_effect[sex] x`` (``x`` = 1 under the active
condition; ``glx_condition_effect_pooled`` for all participants) and
``f = response_profile(t, tau)``, posterior mean and 89 % band. Participant baselines
and the period effect cancel in the change from the session's own baseline.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from bayes_ketamine.figures import style
from bayes_ketamine.models import response_profile
from bayes_ketamine.reporting.artifacts import (
    Posteriors,
    arm_draws,
    arms,
    draws,
    factor_levels,
    interval,
    participant_levels,
    pooling_factor,
)

STEM = "fig1_glx_timecourse"
FAMILIES = ("glutamate", "joint")
"""Families whose partially pooled artifact the figure is drawn from, by preference."""


def observed_changes(tree: xr.DataTree) -> pd.DataFrame:
    """Return each fMRS block's percent change from its session's pre-infusion mean.

    Parameters
    ----------
    tree : xarray.DataTree
        A glutamate or joint artifact.

    Returns
    -------
    pandas.DataFrame
        Columns ``participant``, ``session``, ``time_min``, ``active`` (the
        condition's index in study order: 0 reference, 1 the first active one, ...),
        ``level`` (of the pooling factor, e.g. ``"F"``/``"M"``) and ``pct_change``;
        sessions without a pre-infusion block are left out.
    """
    const = tree["constant_data"].to_dataset()
    part = const["fmrs_participant"].values.astype(int)
    sess = const["fmrs_session"].values.astype(int)
    active = const["session_active"].values[part, sess - 1]
    if active.ndim == 2:  # one-hot over the active conditions
        active = np.where(active.any(axis=1), active.argmax(axis=1) + 1, 0)
    frame = pd.DataFrame(
        {
            "participant": part,
            "session": sess,
            "time_min": const["fmrs_time_min"].values,
            "active": active.astype(int),
            "level": participant_levels(tree, part),
            "log_glx": tree["observed_data"]["log_glx"].values,
        }
    ).dropna(subset=["log_glx"])
    pre = frame.loc[frame["time_min"] <= 0].groupby(["participant", "session"])["log_glx"].mean()
    base = pd.MultiIndex.from_frame(frame[["participant", "session"]]).map(pre.to_dict().get)
    frame["pct_change"] = 100.0 * np.expm1(frame["log_glx"] - np.asarray(base, dtype=float))
    return frame.dropna(subset=["pct_change"]).drop(columns="log_glx")


def fitted_curves(tree: xr.DataTree, times: np.ndarray) -> dict[tuple[str, int], np.ndarray]:
    """Return posterior draws of the mean percent-change curve per panel and condition.

    Parameters
    ----------
    tree : xarray.DataTree
        A glutamate or joint artifact.
    times : numpy.ndarray
        Minutes from infusion start.

    Returns
    -------
    dict
        ``{(panel, condition): draws}`` with panel ``"pooled"`` or a level of the
        pooling factor, condition the index in study order (0 reference) and draws of
        shape ``(sample, time)``.
    """
    tau = json.loads(tree.attrs["spec_json"])["profile"]["tau_min"]
    profile = response_profile(times, tau)
    response = draws(tree, "glx_response").values
    factor = pooling_factor(tree)
    curves = {}
    for k, arm in enumerate(arms(tree), start=1):
        effects = {"pooled": arm_draws(tree, "glx_condition_effect_pooled", arm).values}
        by_level = arm_draws(tree, "glx_condition_effect", arm)
        for level in factor_levels(tree):
            effects[level] = by_level.sel({factor: level}).values
        for panel, effect in effects.items():
            for active, amplitude in ((0, response), (k, response + effect)):
                curves[panel, active] = 100.0 * np.expm1(amplitude[:, None] / 100.0 * profile)
    return curves


def draw(tree: xr.DataTree) -> Figure:
    """Draw the time-course figure from one glutamate or joint artifact.

    Parameters
    ----------
    tree : xarray.DataTree
        The artifact.

    Returns
    -------
    matplotlib.figure.Figure
    """
    obs = observed_changes(tree)
    times = np.linspace(min(obs["time_min"].min(), 0.0), obs["time_min"].max(), 161)
    curves = fitted_curves(tree, times)
    names = json.loads(tree.attrs["conditions"])
    panels = ("pooled", *factor_levels(tree))
    fig, axes = style.figure(
        style.DOUBLE_COLUMN_IN * max(1.0, len(panels) / 3), 2.7, ncols=len(panels), sharey=True
    )
    offsets = np.linspace(-0.8, 0.8, len(names))
    for ax, panel in zip(axes, panels, strict=True):
        sub = obs if panel == "pooled" else obs.loc[obs["level"] == panel]
        for active in range(len(names)):
            color = style.condition_color(active)
            draws_ = curves[panel, active]
            low, high = interval(draws_, style.INNER_PROB)
            ax.fill_between(times, low, high, color=color, alpha=0.2, lw=0)
            ax.plot(
                times,
                draws_.mean(axis=0),
                color=color,
                label=f"{names[active]}: model mean, {style.INNER_PROB:.0%} band",
            )
            cells = sub.loc[sub["active"] == active].groupby("time_min")["pct_change"]
            mean, se = cells.mean(), cells.sem()
            ax.errorbar(
                mean.index + offsets[active],
                mean.values,
                yerr=se.values,
                fmt="o",
                color=color,
                mfc="white",
                mew=0.8,
                elinewidth=0.7,
                capsize=0,
                label=f"{names[active]}: observed mean ± SE",
            )
        n = sub["participant"].nunique()
        ax.set_title(f"{style.level_name(panel) if panel != 'pooled' else 'All'} (n = {n})")
        ax.axhline(0.0, color="0.6", lw=0.5, zorder=0)
        ax.axvline(0.0, color="0.6", lw=0.5, ls=":", zorder=0)
    axes[0].set_ylabel("Glx/tNAA change from pre-infusion (%)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2 * len(names))
    axes[1].set_xlabel("Time from the start of the ketamine infusion (min)")
    style.label_provenance(fig, tree)
    return fig


def make(posteriors: Posteriors) -> dict[str, Figure]:
    """Return ``{stem: figure}``, empty when no source artifact exists."""
    for family in FAMILIES:
        tree = posteriors.variant(family, "partial")
        if tree is not None:
            return {STEM: draw(tree)}
    return {}
