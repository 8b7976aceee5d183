"""The shared figure style: journal column sizes, colours, labels and deterministic saving.

Every figure is drawn with :func:`figure` (which applies :data:`RC` and the Agg
backend), labelled with :func:`label_provenance` and written with :func:`save`, which
produces byte-identical PNG and PDF files for identical inputs: the timestamps and
software fields of both formats are left out and the SVG hash salt is fixed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.layout_engine import ConstrainedLayoutEngine  # noqa: E402

SINGLE_COLUMN_IN: float = 3.5
"""Width of a single journal column, inches."""

DOUBLE_COLUMN_IN: float = 7.2
"""Width of a full page (two columns), inches."""

DPI: int = 300
"""Resolution of the PNG files."""

CONDITION_COLORS: tuple[str, str] = ("#4d4d4d", "#d55e00")
"""Reference condition (placebo), active condition (naltrexone); colour-blind safe."""

SEX_COLORS: dict[str, str] = {"F": "#cc79a7", "M": "#0072b2", "pooled": "#000000"}
"""Female, male and pooled estimates."""

SEX_NAMES: dict[str, str] = {"F": "Female", "M": "Male", "pooled": "Pooled"}
"""Panel and row labels of the sexes."""

LEVEL_PALETTE: tuple[str, ...] = (
    "#0072b2",
    "#cc79a7",
    "#009e73",
    "#e69f00",
    "#56b4e9",
    "#d55e00",
    "#f0e442",
    "#999999",
)
"""Colours of the levels of a pooling factor other than sex (Okabe-Ito), in level order."""

EXTRA_CONDITION_COLORS: tuple[str, ...] = ("#0072b2", "#009e73", "#cc79a7", "#e69f00")
"""Active conditions after the first when a study has more than two conditions."""


def level_color(level: str, levels: tuple[str, ...]) -> str:
    """Return the colour of a level of the pooling factor (or of ``"pooled"``).

    The sexes keep :data:`SEX_COLORS`; other levels take :data:`LEVEL_PALETTE` in
    level order (cycling after eight).
    """
    if level == "pooled" or (level in SEX_COLORS and set(levels) <= set(SEX_COLORS)):
        return SEX_COLORS[level]
    return LEVEL_PALETTE[levels.index(level) % len(LEVEL_PALETTE)]


def level_name(level: str) -> str:
    """Return the row or panel label of a level (``Female``/``Male``/``Pooled`` for those)."""
    return SEX_NAMES.get(level, level)


def condition_color(k: int) -> str:
    """Return the colour of condition ``k`` (0 = reference) in study order."""
    if k < len(CONDITION_COLORS):
        return CONDITION_COLORS[k]
    return EXTRA_CONDITION_COLORS[(k - len(CONDITION_COLORS)) % len(EXTRA_CONDITION_COLORS)]


POOLING_COLORS: dict[str, str] = {"none": "#e69f00", "partial": "#009e73", "complete": "#56b4e9"}
"""No, partial and complete pooling by sex."""

POOLING_NAMES: dict[str, str] = {
    "none": "no pooling",
    "partial": "partial pooling",
    "complete": "complete pooling",
}
"""Legend labels of the poolings."""

INNER_PROB: float = 0.89
"""Probability of the thick (and banded) credible interval."""

OUTER_PROB: float = 0.95
"""Probability of the thin credible interval."""

SIMULATED_LABEL: str = "SIMULATED DATA"
"""Stamp on every figure drawn from an artifact whose study is simulated."""

NIMH_CREDIT: str = (
    "Data: NIMH Ketamine Mechanism of Action Study, OpenNeuro ds005917 "
    "(doi:10.18112/openneuro.ds005917.v1.0.1), CC0"
)
"""Credit line on every figure drawn from the NIMH dataset."""

RC: dict[str, object] = {
    "font.family": "DejaVu Sans",
    "font.size": 7.0,
    "axes.titlesize": 7.5,
    "axes.labelsize": 7.0,
    "xtick.labelsize": 6.5,
    "ytick.labelsize": 6.5,
    "legend.fontsize": 6.0,
    "legend.frameon": False,
    "axes.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.major.size": 2.5,
    "ytick.major.size": 2.5,
    "lines.linewidth": 1.0,
    "lines.markersize": 3.0,
    "savefig.dpi": DPI,
    "pdf.fonttype": 42,
    "svg.hashsalt": "bayes_ketamine",
    "path.simplify": False,
}
"""Matplotlib settings shared by all figures."""

_PDF_METADATA = {
    "Creator": "bayes_ketamine",
    "Producer": None,
    "CreationDate": None,
    "ModDate": None,
}
_PNG_METADATA = {"Software": None}


def figure(width: float, height: float, **subplots: Any) -> tuple[Figure, Any]:
    """Return a new figure and its axes; draw it inside :func:`styled`.

    Parameters
    ----------
    width, height : float
        Size in inches; use :data:`SINGLE_COLUMN_IN` or :data:`DOUBLE_COLUMN_IN` wide.
    **subplots
        Passed to :meth:`matplotlib.figure.Figure.subplots`.

    Returns
    -------
    tuple
        The figure and its axes (as ``Figure.subplots`` returns them).
    """
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots(**subplots)


def styled():
    """Return a context in which figures take the house style (:data:`RC`)."""
    return plt.rc_context(RC)


def is_simulated(tree: xr.DataTree) -> bool:
    """Whether an artifact's study is simulated (provenance ``study_simulated``)."""
    return bool(int(tree.attrs.get("study_simulated", 0)))


def is_nimh(tree: xr.DataTree) -> bool:
    """Whether an artifact was fitted to the NIMH Ketamine Mechanism of Action data."""
    return "NIMH" in str(tree.attrs.get("study_name", ""))


def label_provenance(fig: Figure, *trees: xr.DataTree) -> None:
    """Stamp a figure with its study, ``SIMULATED DATA`` and any dataset credit.

    The study name goes top left and the simulated stamp top right, in a strip the
    layout keeps free of axes; the NIMH credit goes in a strip at the bottom.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure (with constrained layout, as :func:`figure` makes it).
    *trees : xarray.DataTree
        The artifacts the figure was drawn from.
    """
    height = fig.get_figheight()
    top = 1.0 - 0.16 / height
    bottom = 0.12 / height if any(is_nimh(t) for t in trees) else 0.0
    engine = fig.get_layout_engine()
    if not isinstance(engine, ConstrainedLayoutEngine):
        raise TypeError("label_provenance needs a figure with constrained layout (style.figure)")
    engine.set(rect=(0.0, bottom, 1.0, top - bottom))
    names = sorted({str(t.attrs.get("study_name", "")) for t in trees} - {""})
    if names:
        fig.text(
            0.005,
            0.995,
            "Study: " + "; ".join(names),
            ha="left",
            va="top",
            fontsize=5.5,
            color="#4d4d4d",
            gid="study-name",
        )
    if any(is_simulated(t) for t in trees):
        fig.text(
            0.995,
            0.995,
            SIMULATED_LABEL,
            ha="right",
            va="top",
            fontsize=7,
            fontweight="bold",
            color="#b2182b",
            gid="simulated-label",
        )
    if bottom:
        fig.text(
            0.005,
            0.005,
            NIMH_CREDIT,
            ha="left",
            va="bottom",
            fontsize=5,
            color="#4d4d4d",
            gid="dataset-credit",
        )


def save(fig: Figure, out_dir: str | Path, stem: str) -> list[Path]:
    """Write a figure as ``<stem>.png`` and ``<stem>.pdf`` with reproducible bytes.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    out_dir : str or pathlib.Path
        Target folder (created if needed).
    stem : str
        File name without suffix.

    Returns
    -------
    list of pathlib.Path
        The PNG and the PDF file.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    png, pdf = out_dir / f"{stem}.png", out_dir / f"{stem}.pdf"
    with styled():
        fig.savefig(png, dpi=DPI, metadata=_PNG_METADATA)
        fig.savefig(pdf, metadata=_PDF_METADATA)
    return [png, pdf]
