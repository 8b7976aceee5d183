r"""Figure 5: sensitivity of the joint model's indirect and direct effects to confounding.

Two panels, the indirect (via Glx) and the direct effect against the sensitivity
parameter :math:`\rho`, the correlation of the session glutamate-response residual and
the post-infusion symptom residual (Imai, Keele & Tingley 2010; mathematics in
:mod:`bayes_ketamine.inference.mediation`): the pooled effect's posterior mean with its
89 % and 95 % bands, and each sex's mean, for :math:`|\rho| \le` :data:`PLOT_RHO_MAX`
(beyond it the curves grow like :math:`\rho/\sqrt{1-\rho^2}` and dwarf the rest).
:math:`\rho = 0` (no unmeasured confounding, the fitted model) is marked, and so are
the :math:`\rho` at which the pooled indirect effect's posterior mean is 0 and, on
each side where it exists, the :math:`\rho` at which its 95 % interval first includes
0 (or a note that it does so already at :math:`\rho = 0`).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from bayes_ketamine.figures import style
from bayes_ketamine.inference.mediation import applies, stored_or_computed
from bayes_ketamine.reporting.artifacts import Posteriors, condition_labels, symptom_scale

STEM = "fig5_mediation_sensitivity"
SOURCES = ("joint_partial",)
EFFECTS = {"indirect_effect": "Indirect (via Glx)", "direct_effect": "Direct"}
"""Effect variables and their panel titles."""

PLOT_RHO_MAX: float = 0.75
"""Largest :math:`|\rho|` drawn."""

MARK_COLOR: str = "#b2182b"
"""Colour of the crossing marks."""


def _band(sens: xr.Dataset, var: str, prob: float) -> tuple[np.ndarray, np.ndarray]:
    """Return the lower and upper ends of the stored ``prob`` interval along ``rho``."""
    name = f"eti{round(prob * 100)}"
    da = sens[var]
    return da.sel(statistic=f"{name}_low").values, da.sel(statistic=f"{name}_high").values


def _signed(value: float) -> str:
    """Format a correlation with two decimals and a typographic minus."""
    return f"{value:.2f}".replace("-", "\u2212")


def draw(tree: xr.DataTree) -> Figure:
    """Draw the mediation sensitivity figure from one joint artifact.

    Parameters
    ----------
    tree : xarray.DataTree
        The artifact (its ``mediation_sensitivity`` group, or that group computed
        from its draws).

    Returns
    -------
    matplotlib.figure.Figure
    """
    sens = stored_or_computed(tree)
    sens = sens.sel(rho=np.abs(sens["rho"]) <= PLOT_RHO_MAX + 1e-9)
    reference, active = condition_labels(tree)
    scale = symptom_scale(tree)
    rho = sens["rho"].values
    crossings = [float(c) for c in sens["rho_crossing_pooled"].values]
    mean_zero = float(sens["rho_mean_zero_pooled"])
    fig, axes = style.figure(style.DOUBLE_COLUMN_IN, 2.5, ncols=2)
    for ax, (var, title) in zip(axes, EFFECTS.items(), strict=True):
        pooled = f"{var}_pooled"
        for prob, shade in ((style.OUTER_PROB, 0.12), (style.INNER_PROB, 0.25)):
            low, high = _band(sens, pooled, prob)
            ax.fill_between(
                rho,
                low,
                high,
                color=style.SEX_COLORS["pooled"],
                alpha=shade,
                lw=0,
                label=f"{style.SEX_NAMES['pooled']}, {prob:.0%} interval",
            )
        ax.plot(
            rho,
            sens[pooled].sel(statistic="mean").values,
            color=style.SEX_COLORS["pooled"],
            label=f"{style.SEX_NAMES['pooled']}, mean",
        )
        for sex in ("F", "M"):
            ax.plot(
                rho,
                sens[var].sel(sex=sex, statistic="mean").values,
                color=style.SEX_COLORS[sex],
                lw=0.8,
                label=f"{style.SEX_NAMES[sex]}, mean",
            )
        ax.axhline(0.0, color="0.5", lw=0.6, ls="--", zorder=0)
        ax.axvline(0.0, color="0.5", lw=0.6, ls=":", zorder=0)
        ax.set_title(title)
        ax.set_xlim(rho[0], rho[-1])
        ax.set_xlabel("ρ: correlation of Glx-response and symptom residuals")
    indirect = axes[0]
    for value in crossings:
        if np.isfinite(value) and value != 0.0 and abs(value) <= PLOT_RHO_MAX:
            indirect.axvline(value, color=MARK_COLOR, lw=0.7, ls="--")
            indirect.text(
                value,
                1.0,
                f" ρ = {_signed(value)}",
                transform=indirect.get_xaxis_transform(),
                ha="left" if value > 0 else "right",
                va="top",
                fontsize=5.5,
                color=MARK_COLOR,
                gid="rho-crossing",
            )
    if abs(mean_zero) <= PLOT_RHO_MAX:
        indirect.plot([mean_zero], [0.0], "o", color=MARK_COLOR, mfc="white", ms=3.5)
    notes = [f"pooled mean 0 at ρ = {_signed(mean_zero)}"]
    if crossings == [0.0, 0.0]:
        notes.append(f"{style.OUTER_PROB:.0%} interval includes 0 already at ρ = 0")
    else:
        notes.extend(
            f"{style.OUTER_PROB:.0%} interval first includes 0 at ρ = {_signed(c)}"
            for c in crossings
            if np.isfinite(c)
        )
    notes.append("ρ = 0: no unmeasured confounding (the fitted model)")
    indirect.text(
        0.02,
        0.98,
        "\n".join(notes),
        transform=indirect.transAxes,
        ha="left",
        va="top",
        fontsize=5.5,
        color=MARK_COLOR,
        gid="rho-notes",
    )
    axes[0].set_ylabel(
        f"Effect of {active} vs {reference}\n({scale} points; > 0: less improvement)"
    )
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=5)
    style.label_provenance(fig, tree)
    return fig


def make(posteriors: Posteriors) -> dict[str, Figure]:
    """Return ``{stem: figure}``, empty when no joint artifact exists.

    The sensitivity analysis is defined for the two-condition joint model pooled by
    sex (:func:`~bayes_ketamine.inference.mediation.applies`); other joint artifacts
    get no figure.
    """
    tree = posteriors.first(*SOURCES)
    return {} if tree is None or not applies(tree) else {STEM: draw(tree)}
