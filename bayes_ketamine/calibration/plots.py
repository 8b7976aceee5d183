"""Plots of calibration and design runs (PNG and PDF, deterministic)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from bayes_ketamine.calibration.uniformity import rank_ecdf, uniformity_band  # noqa: E402
from bayes_ketamine.figures.style import save  # noqa: E402

_VERDICT_COLOUR = {"uniform": "#1b7837", "suspect": "#d98c00", "non-uniform": "#c51b7d"}


def _wrap(label: str, width: int = 26) -> str:
    """Break a long parameter label at underscores into lines of about ``width``."""
    lines, current = [], ""
    for k, piece in enumerate(label.split("_")):
        piece = piece if k == 0 else "_" + piece
        if current and len(current) + len(piece) > width:
            lines.append(current)
            current = piece
        else:
            current += piece
    lines.append(current)
    return "\n".join(lines)


def _save(fig: Figure, path: Path) -> Path:
    """Write ``path`` (PNG) and the PDF next to it with the figures' saver; close ``fig``."""
    png, _ = save(fig, path.parent, path.stem)
    plt.close(fig)
    return png


def plot_sbc_ecdf(
    combined: xr.Dataset, verdicts: xr.Dataset, path: str | Path, title: str = ""
) -> Path:
    """Plot ECDF differences of SBC ranks with the simultaneous 95 % band.

    One panel per ranked parameter: the ECDF of the fractional ranks minus the uniform
    CDF (a calibrated model stays inside the grey band), titled with the parameter and
    coloured by its verdict (green uniform, orange suspect, magenta non-uniform).

    Parameters
    ----------
    combined : xarray.Dataset
        Stacked per-simulation results (``rank`` by ``parameter`` and ``simulation``).
    verdicts : xarray.Dataset
        Output of :func:`bayes_ketamine.calibration.sbc.summarise_sbc`.
    path : str or pathlib.Path
        PNG path (a PDF is written next to it).
    title : str
        Figure title (model name).
    """
    thin_to = int(verdicts.attrs["thin_to"])
    n_ranks = thin_to + 1
    ranks = combined["rank"].transpose("parameter", "simulation").values
    n = ranks.shape[1]
    band = uniformity_band(n, n_ranks, alpha=float(verdicts.attrs["alpha"]))
    ecdf = rank_ecdf(ranks, n_ranks)
    labels = [str(p) for p in combined["parameter"].values]
    n_par = len(labels)
    cols = min(5, n_par)
    rows = int(np.ceil(n_par / cols))
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(2.7 * cols, 2.2 * rows + 0.8),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    x = band.z
    for k, ax in enumerate(axes.flat):
        if k >= n_par:
            ax.set_visible(False)
            continue
        verdict = str(verdicts["verdict"].values[k])
        colour = _VERDICT_COLOUR[verdict]
        ax.fill_between(x, band.lower - x, band.upper - x, step="post", color="0.85", lw=0)
        ax.axhline(0, color="0.5", lw=0.6)
        ax.step(x, ecdf[k] - x, where="post", color=colour, lw=1.3)
        p = float(verdicts["p_value"].values[k])
        ax.set_title(f"{_wrap(labels[k])}  (p = {p:.2f})", fontsize=7, color=colour)
        ax.tick_params(labelsize=7)
        ax.set_xlim(0, 1)
    for ax in axes[-1]:
        ax.set_xlabel("fractional rank", fontsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel("ECDF − uniform", fontsize=8)
    a = verdicts.attrs
    fig.suptitle(
        f"SBC {title}: {n} simulations, ranks among L = {thin_to} thinned draws; "
        f"grey = simultaneous {1 - float(a['alpha']):.0%} band\n"
        f"failed fits (kept in the ranks): {a['failed_fits']} of {n}; "
        f"fits with divergences: {a['fits_with_divergences']}",
        fontsize=9,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    return _save(fig, Path(path))


def plot_assurance(
    summary: xr.Dataset, path: str | Path, title: str = "", *, per: str = "sex"
) -> Path:
    """Plot the probability that the posterior settles each question against n per level.

    Points with 95 % Monte Carlo intervals (± 1.96 MCSE, clipped to [0, 1]); one line
    per criterion.

    Parameters
    ----------
    summary : xarray.Dataset
        ``probability`` and ``mcse`` by ``criterion`` and ``n_per_sex``.
    path : str or pathlib.Path
        PNG path (a PDF is written next to it).
    title : str
        Figure title.
    per : str
        The pooling factor whose levels ``n_per_sex`` counts (axis label).
    """
    fig, ax = plt.subplots(figsize=(6.6, 5.0))
    n = summary["n_per_sex"].values
    markers = "osD^v"
    for k, crit in enumerate(summary["criterion"].values):
        p = summary["probability"].sel(criterion=crit).values
        se = summary["mcse"].sel(criterion=crit).values
        lo, hi = np.clip(p - 1.96 * se, 0, 1), np.clip(p + 1.96 * se, 0, 1)
        label = str(summary["criterion_label"].sel(criterion=crit).values)
        offset = (k - (summary.sizes["criterion"] - 1) / 2) * 0.012 * (n.max() - n.min() + 1)
        ax.errorbar(
            n + offset,
            p,
            yerr=[p - lo, hi - p],
            marker=markers[k % len(markers)],
            capsize=3,
            lw=1.4,
            label=label,
        )
    ax.set_xticks(n)
    ax.set_ylim(-0.02, 1.02)
    ax.axhline(0.8, color="0.6", ls=":", lw=1)
    ax.set_xlabel(f"participants per {per}")
    ax.set_ylabel("probability the posterior settles it")
    ax.set_title("\n".join(textwrap.wrap(title, 95)), fontsize=8.5)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False, ncol=1)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, Path(path))
