"""Supplementary figure per model: rank plots of the key effects for convergence.

For each key effect present in the artifact (each sex separately for per-sex
effects), the draws are thinned by ArviZ's ESS-based factor (``thin_factor`` of
arviz-stats) of each chain alone, so that chains that disagree are not thinned to
nothing (the ESS of all chains together collapses then), then evenly to at most
:data:`MAX_RANK_DRAWS` per chain; they are ranked over all chains
together, and each chain's ECDF of fractional ranks is drawn minus the uniform CDF, as
ArviZ's rank plot does. Well-mixed chains stay inside the grey simultaneous 95 % band
(:mod:`~bayes_ketamine.figures.bands`). Each panel names the effect's R-hat and bulk
ESS from the stored ``diagnostics`` group.

The band is ArviZ's single-chain band for the chain's number of draws, not its
multi-chain (hypergeometric) band: that one cost 6.9 s to simulate for 250 draws and
4 chains, 51 s for 1000 (``arviz_stats.ecdf_utils.ecdf_pit(..., n_chains=4)``, on the
shared 2-core machine), against 0.3-1.2 s here. With C chains ranked together a
chain's ECDF varies by a factor (C - 1) / C less than the single-chain band allows, so
the band errs wide; it is not adjusted for drawing C chains.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from arviz_base.labels import BaseLabeller
from arviz_base.sel_utils import xarray_sel_iter
from arviz_stats.base import array_stats
from matplotlib.figure import Figure
from scipy.stats import rankdata

from bayes_ketamine.figures import style
from bayes_ketamine.figures.bands import ecdf, simultaneous_band
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

MAX_RANK_DRAWS = 200
"""Draws per chain kept after thinning, bounding the band's simulation cost."""
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


def fractional_ranks(values: np.ndarray) -> np.ndarray:
    """Return the fractional ranks (0, 1] of thinned draws, ranked over all chains.

    Parameters
    ----------
    values : numpy.ndarray
        Draws ``(chain, draw)``.

    Returns
    -------
    numpy.ndarray
        ``(chain, kept draw)``: thinned by the largest of ArviZ's ESS-based factors
        of the single chains, then at most :data:`MAX_RANK_DRAWS` evenly spaced
        draws per chain.

    Examples
    --------
    >>> import numpy as np
    >>> ranks = fractional_ranks(np.random.default_rng(0).normal(size=(4, 1000)))
    >>> ranks.shape[0], ranks.shape[1] <= MAX_RANK_DRAWS, float(ranks.max())
    (4, True, 1.0)
    """
    factor = max(array_stats.thin_factor(chain[None, :]) for chain in values)
    thinned = values[:, ::factor]
    n = thinned.shape[1]
    keep = np.unique(np.linspace(0, n - 1, min(n, MAX_RANK_DRAWS)).round().astype(int))
    thinned = thinned[:, keep]
    return rankdata(thinned.ravel()).reshape(thinned.shape) / thinned.size


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
        ranks = fractional_ranks(values)
        x, lower, upper = simultaneous_band(ranks.shape[1])
        ax.fill_between(x, lower - x, upper - x, color="0.88", lw=0)
        for c, chain in enumerate(ranks):
            color = CHAIN_COLORS[c % len(CHAIN_COLORS)]
            ax.plot(x, ecdf(chain, x) - x, color=color, lw=0.8)
        ax.axhline(0.0, color="0.4", lw=0.6, ls="--")
        ax.set_xlim(0.0, 1.0)
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
        ax.set_ylabel("ECDF − uniform")
    fig.suptitle(
        f"Rank plots: {tree.attrs.get('model_name', '')} (one line per chain)", fontsize=7.5
    )
    style.label_provenance(fig, tree)
    return fig


def make(posteriors: Posteriors) -> dict[str, Figure]:
    """Return one ``{stem: figure}`` entry per artifact in the folder."""
    return posteriors.per_artifact(draw, stem=STEM)
