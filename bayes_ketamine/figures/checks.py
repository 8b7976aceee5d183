"""Supplementary figure per model: posterior predictive check and LOO-PIT.

One row per observed variable. Left: the distribution of the observations (black)
against that of replicated data sets drawn from the posterior predictive (thin
coloured lines; :data:`N_REPLICATES` draws spread evenly over the stored ones, so the
figure is deterministic). Right: the LOO-PIT calibration check from the stored
``loo_pit`` group, drawn as the difference between the empirical CDF of the LOO-PIT
values and the uniform CDF, with the simultaneous 95 % band of a calibrated model
(:mod:`~bayes_ketamine.figures.bands`; a pointwise band is crossed somewhere by most
calibrated curves).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bayes_ketamine.figures import style
from bayes_ketamine.figures.bands import BAND_PROB, ecdf, simultaneous_band
from bayes_ketamine.reporting.artifacts import Posteriors, draws

STEM = "figS_checks_{name}"
N_REPLICATES = 60
"""Posterior predictive data sets drawn on the PPC panels."""

AXIS_LABELS = {"log_glx": "log Glx/tNAA", "score": "MADRS score"}
"""Axis labels of the known observed variables."""


def _bins(observed: np.ndarray, replicated: np.ndarray, var: str) -> np.ndarray:
    """Return histogram bin edges covering the observations and most replicates."""
    low, high = np.nanquantile(replicated, [0.001, 0.999])
    low, high = min(low, np.nanmin(observed)), max(high, np.nanmax(observed))
    if var == "score":
        return np.arange(np.floor(low) - 0.5, np.ceil(high) + 2.5, 2.0)
    return np.linspace(low, high, 31)


def draw_ppc(ax: Axes, tree: xr.DataTree, var: str) -> None:
    """Draw observed vs posterior predictive densities of one observed variable.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Target axes.
    tree : xarray.DataTree
        The artifact.
    var : str
        Observed variable.
    """
    observed = tree["observed_data"][var].values.astype(float)
    replicated = draws(tree, var, group="posterior_predictive").values
    keep = ~np.isnan(observed)
    observed, replicated = observed[keep], replicated[:, keep]
    picks = np.linspace(0, len(replicated) - 1, min(N_REPLICATES, len(replicated)))
    edges = _bins(observed, replicated, var)
    centres = 0.5 * (edges[1:] + edges[:-1])
    for row in picks.astype(int):
        density, _ = np.histogram(replicated[row], bins=edges, density=True)
        ax.plot(centres, density, color="#56b4e9", lw=0.4, alpha=0.35)
    density, _ = np.histogram(observed, bins=edges, density=True)
    ax.plot(centres, density, color="black", lw=1.2, drawstyle="default")
    ax.plot([], [], color="#56b4e9", lw=0.8, label="posterior predictive")
    ax.plot([], [], color="black", lw=1.2, label="observed")
    ax.set_xlabel(AXIS_LABELS.get(var, var))
    ax.set_ylabel("Density")
    ax.set_title(f"PPC: {var}")
    ax.legend(loc="upper right")


def draw_loo_pit(ax: Axes, tree: xr.DataTree, var: str) -> None:
    """Draw the LOO-PIT ECDF difference of one observed variable.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Target axes.
    tree : xarray.DataTree
        The artifact (with a ``loo_pit`` group).
    var : str
        Observed variable.
    """
    pit = tree["loo_pit"][var].values.astype(float)
    pit = pit[~np.isnan(pit)]
    x, lower, upper = simultaneous_band(pit.size)
    ax.fill_between(x, lower - x, upper - x, color="0.88", lw=0)
    ax.plot(x, ecdf(pit, x) - x, color="#009e73", lw=1.0)
    ax.axhline(0.0, color="0.5", lw=0.5)
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("LOO-PIT value")
    ax.set_ylabel("ECDF − uniform CDF")
    ax.set_title(f"LOO-PIT: {var} (n = {pit.size})")
    ax.text(
        0.01,
        0.99,
        f"grey: simultaneous {BAND_PROB:.0%} band of a calibrated model",
        transform=ax.transAxes,
        ha="left",
        va="top",
        fontsize=5.5,
        color="0.3",
    )


def observed_vars(tree: xr.DataTree) -> list[str]:
    """Return the observed variables of an artifact in a stable order."""
    return sorted(tree["observed_data"].to_dataset().data_vars)


def draw(tree: xr.DataTree) -> Figure:
    """Draw the PPC and LOO-PIT figure of one artifact.

    Parameters
    ----------
    tree : xarray.DataTree
        The artifact.

    Returns
    -------
    matplotlib.figure.Figure
    """
    names = observed_vars(tree)
    fig, axes = style.figure(
        style.DOUBLE_COLUMN_IN, 0.4 + 2.0 * len(names), nrows=len(names), ncols=2, squeeze=False
    )
    for row, var in zip(axes, names, strict=True):
        draw_ppc(row[0], tree, var)
        if "loo_pit" in tree.children and var in tree["loo_pit"].to_dataset():
            draw_loo_pit(row[1], tree, var)
        else:
            row[1].set_axis_off()
    fig.suptitle(f"Model checks: {tree.attrs.get('model_name', '')}", fontsize=7.5)
    style.label_provenance(fig, tree)
    return fig


def make(posteriors: Posteriors) -> dict[str, Figure]:
    """Return one ``{stem: figure}`` entry per artifact in the folder."""
    return posteriors.per_artifact(draw, stem=STEM)
