"""Figure 1: the Glx/tNAA time course by condition, all participants and by sex.

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
from bayes_ketamine.reporting.artifacts import Posteriors, condition_labels, draws, interval

STEM = "fig1_glx_timecourse"
SOURCES = ("glutamate_partial", "joint_partial")
"""Artifacts the figure can be drawn from, in order of preference."""

PANELS = ("pooled", "F", "M")


def observed_changes(tree: xr.DataTree) -> pd.DataFrame:
    """Return each fMRS block's percent change from its session's pre-infusion mean.

    Parameters
    ----------
    tree : xarray.DataTree
        A glutamate or joint artifact.

    Returns
    -------
    pandas.DataFrame
        Columns ``participant``, ``session``, ``time_min``, ``active`` (0/1), ``sex``
        (``"F"``/``"M"``) and ``pct_change``; sessions without a pre-infusion block
        are left out.
    """
    const = tree["constant_data"].to_dataset()
    sexes = tree["posterior"]["sex"].values.astype(str)
    part = const["fmrs_participant"].values.astype(int)
    sess = const["fmrs_session"].values.astype(int)
    frame = pd.DataFrame(
        {
            "participant": part,
            "session": sess,
            "time_min": const["fmrs_time_min"].values,
            "active": const["session_active"].values[part, sess - 1].astype(int),
            "sex": sexes[const["participant_sex"].values[part]],
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
        ``{(panel, active): draws}`` with panel in :data:`PANELS`, active 0 or 1 and
        draws of shape ``(sample, time)``.
    """
    tau = json.loads(tree.attrs["spec_json"])["profile"]["tau_min"]
    profile = response_profile(times, tau)
    response = draws(tree, "glx_response").values
    effects = {"pooled": draws(tree, "glx_condition_effect_pooled").values}
    by_sex = draws(tree, "glx_condition_effect")
    for sex in ("F", "M"):
        effects[sex] = by_sex.sel(sex=sex).values
    curves = {}
    for panel, effect in effects.items():
        for active in (0, 1):
            amplitude = response + active * effect
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
    names = condition_labels(tree)
    fig, axes = style.figure(style.DOUBLE_COLUMN_IN, 2.7, ncols=3, sharey=True)
    offsets = (-0.8, 0.8)
    for ax, panel in zip(axes, PANELS, strict=True):
        sub = obs if panel == "pooled" else obs.loc[obs["sex"] == panel]
        for active in (0, 1):
            color = style.CONDITION_COLORS[active]
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
        ax.set_title(f"{style.SEX_NAMES[panel] if panel != 'pooled' else 'All'} (n = {n})")
        ax.axhline(0.0, color="0.6", lw=0.5, zorder=0)
        ax.axvline(0.0, color="0.6", lw=0.5, ls=":", zorder=0)
    axes[0].set_ylabel("Glx/tNAA change from pre-infusion (%)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=4)
    axes[1].set_xlabel("Time from the start of the ketamine infusion (min)")
    style.label_provenance(fig, tree)
    return fig


def make(posteriors: Posteriors) -> dict[str, Figure]:
    """Return ``{stem: figure}``, empty when no source artifact exists."""
    tree = posteriors.first(*SOURCES)
    return {} if tree is None else {STEM: draw(tree)}
