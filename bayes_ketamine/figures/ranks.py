"""Supplementary figure per model: rank plots of the key effects for convergence.

For each key effect present in the artifact (each sex separately for per-sex
effects), the draws of all chains are ranked together and each chain's rank
histogram is drawn as a line; well-mixed chains give flat, overlapping lines near the
dashed uniform level. Each panel names the effect's R-hat and bulk ESS from the stored
``diagnostics`` group.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from arviz_base.labels import BaseLabeller
from arviz_base.sel_utils import xarray_sel_iter
from matplotlib.figure import Figure
from scipy.stats import rankdata

from bayes_ketamine.figures import style
from bayes_ketamine.reporting.artifacts import Posteriors

STEM = "figS_ranks_{name}"
KEY_EFFECTS = (
    "glx_response",
    "glx_condition_effect",
    "glx_sex_difference",
    "symptom_change_reference",
    "symptom_condition_effect",
    "effect_b",
    "indirect_effect",
    "direct_effect",
)
"""Effects shown when present, in this order."""

N_BINS = 20
NCOLS = 4
CHAIN_COLORS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9")


def key_series(tree: xr.DataTree) -> dict[str, np.ndarray]:
    """Return ``{label: draws (chain, draw)}`` for every scalar slice of the key effects.

    Parameters
    ----------
    tree : xarray.DataTree
        The artifact.

    Returns
    -------
    dict of str to numpy.ndarray
        Labels as in the diagnostics table, e.g. ``"glx_condition_effect[F]"``.
    """
    posterior = tree["posterior"].to_dataset()
    present = [var for var in KEY_EFFECTS if var in posterior]
    labeller = BaseLabeller()
    out = {}
    for var, sel, isel in xarray_sel_iter(posterior, present, skip_dims={"chain", "draw"}):
        cell = posterior[var].isel(isel).transpose("chain", "draw")
        out[labeller.make_label_flat(var, sel, isel)] = cell.values
    return out


def _diagnostic_note(tree: xr.DataTree, label: str) -> str:
    """Return ``"R-hat ..., ESS ..."`` for ``label`` from the diagnostics group."""
    if "diagnostics" not in tree.children:
        return ""
    table = tree["diagnostics"].to_dataset()
    if label not in table["parameter"].values:
        return ""
    row = table.sel(parameter=label)
    return f"R-hat {float(row['r_hat']):.3f}, ESS {float(row['ess_bulk']):.0f}"


def draw(tree: xr.DataTree) -> Figure:
    """Draw the rank plots of one artifact.

    Parameters
    ----------
    tree : xarray.DataTree
        The artifact.

    Returns
    -------
    matplotlib.figure.Figure
    """
    series = key_series(tree)
    nrows = max(1, -(-len(series) // NCOLS))
    fig, axes = style.figure(
        style.DOUBLE_COLUMN_IN, 0.5 + 1.45 * nrows, nrows=nrows, ncols=NCOLS, squeeze=False
    )
    flat = axes.ravel()
    for ax, (label, values) in zip(flat, series.items(), strict=False):
        chains, n_draws = values.shape
        ranks = rankdata(values.ravel()).reshape(values.shape)
        edges = np.linspace(0.5, values.size + 0.5, N_BINS + 1)
        for c in range(chains):
            counts, _ = np.histogram(ranks[c], bins=edges)
            ax.step(
                np.arange(N_BINS + 1),
                np.append(counts, counts[-1]),
                where="post",
                color=CHAIN_COLORS[c % len(CHAIN_COLORS)],
                lw=0.8,
            )
        ax.axhline(n_draws / N_BINS, color="0.4", lw=0.6, ls="--")
        ax.set_ylim(0, 2.2 * n_draws / N_BINS)
        ax.set_xticks([])
        ax.set_title(label, fontsize=6.5)
        ax.text(
            0.5,
            0.97,
            _diagnostic_note(tree, label),
            transform=ax.transAxes,
            ha="center",
            va="top",
            fontsize=5.5,
            color="0.3",
        )
    for ax in flat[len(series) :]:
        ax.set_axis_off()
    for ax in axes[:, 0]:
        ax.set_ylabel("Draws per rank bin")
    fig.suptitle(
        f"Rank plots: {tree.attrs.get('model_name', '')} (one line per chain)", fontsize=7.5
    )
    style.label_provenance(fig, tree)
    return fig


def make(posteriors: Posteriors) -> dict[str, Figure]:
    """Return one ``{stem: figure}`` entry per artifact in the folder."""
    return {STEM.format(name=name): draw(posteriors.get(name)) for name in posteriors.names()}
