r"""Sensitivity of the joint model's mediation effects to mediator-outcome confounding.

The joint model (:class:`~bayes_ketamine.models.joint.JointModel`) reads
:math:`a_{\mathrm{sex}} b` as the part of naltrexone's effect on next-day symptoms
carried by the glutamate response. Randomisation covers the condition only, so that
reading assumes no unmeasured confounding of the session's glutamate response and its
post-infusion ratings ("sequential ignorability", Imai, Keele & Tingley 2010). This
module asks how strong such confounding would have to be to explain the indirect
effect away, with the sensitivity parameter of Imai, Keele & Tingley (2010,
*Psychological Methods* 15(4):309-334) and Imai, Keele & Yamamoto (2010,
*Statistical Science* 25(1):51-71), which the R
``mediation`` package's ``medsens`` implements: the correlation :math:`\rho` between
the mediator's and the outcome's error terms.

The two equations (the linear structural equation model of IKT)
---------------------------------------------------------------

In the joint model, for session :math:`s` of participant :math:`i` with condition
indicator :math:`x_{is}` and a post-infusion rating at timepoint :math:`t`,

.. math::

    A_{is} &= R + a\,x_{is} + \varepsilon^{M}_{is},
        && \varepsilon^{M}_{is} = \tau_A z_{is} \sim \mathcal{N}(0, \tau_A^2) \\
    y^{*}_{ist} &= \eta_{ist} + c'_t\,x_{is} + \gamma\,(A_{is} - R)
        + \varepsilon^{Y}_{ist}, && \varepsilon^{Y}_{ist} \sim \mathcal{N}(0, \sigma_3^2)

where :math:`A_{is}` is the latent session glutamate response (``glx_session_response``,
percent; its fMRS measurement error is modelled, so :math:`\varepsilon^M` is the
structural residual of the true response, with SD :math:`\tau_A` =
``glx_response_sd``), :math:`y^*` the latent (uncensored) rating and :math:`\eta_{ist}
= m_0 + p_i + \pi[s=2] + d_t` the terms that do not involve the condition or the
mediator. The fitted model assumes :math:`\rho = \mathrm{corr}(\varepsilon^M_{is},
\varepsilon^Y_{ist}) = 0`; its slope is ``effect_b`` :math:`b` and its rating noise
``symptom_noise`` :math:`\sigma`.

Result
------

Write :math:`\varepsilon^Y = \rho\,\sigma_3/\tau_A\,\varepsilon^M + \sqrt{1-\rho^2}\,
\sigma_3\,\nu` with :math:`\nu \perp \varepsilon^M`. Substituting
:math:`\varepsilon^M = A - R - a x` gives exactly the fitted model's equation with

.. math::

    b = \gamma + \rho\,\sigma_3/\tau_A, \qquad
    c'_{\text{fitted}} = c' - a\,\rho\,\sigma_3/\tau_A, \qquad
    \sigma = \sigma_3\sqrt{1-\rho^2},

so the model with confounding :math:`\rho` is a reparametrisation of the fitted one
(same likelihood, for the fMRS blocks too, and for the censored ratings, since the
reparametrisation acts on the latent normal rating). Solving for the causal slope:

.. math::

    b(\rho) = b - \frac{\rho}{\sqrt{1-\rho^2}}\,\frac{\sigma}{\tau_A},

and the effects per sex at the primary post timepoint are

.. math::

    \text{indirect}(\rho) = a_{\mathrm{sex}}\,b(\rho), \qquad
    \text{direct}(\rho) = c'_{\mathrm{sex}} + a_{\mathrm{sex}}\,\big(b - b(\rho)\big),

their sum, the total effect :math:`c' + a b`, being identified whatever :math:`\rho`.
This is IKT's result for the linear structural equation model,
:math:`\delta(\rho) = \beta_2\,\frac{\sigma_1}{\sigma_2}\big(\tilde\rho -
\rho\sqrt{(1-\tilde\rho^2)/(1-\rho^2)}\big)`, written with the fitted model's
parameters: IKT's mediator residual SD is :math:`\sigma_2 = \tau_A`, their
reduced-form outcome residual SD :math:`\sigma_1 = \sqrt{b^2\tau_A^2 + \sigma^2}` and
the correlation of the two reduced-form residuals :math:`\tilde\rho = b\,\tau_A /
\sigma_1`. At :math:`\rho = 0`, :math:`b(0) = b` and the curves are the fitted
``indirect_effect`` and ``direct_effect``. In each posterior draw every indirect
effect is zero at :math:`\rho = \tilde\rho` (the same for both sexes, since :math:`b`
is shared), IKT's "rho at which ACME = 0" for that draw; the indirect effect's
posterior mean, :math:`E[a b] - \kappa E[a \sigma/\tau_A]` with
:math:`\kappa = \rho/\sqrt{1-\rho^2}`, is zero at :math:`\kappa^* = E[ab] /
E[a\sigma/\tau_A]`.

Posterior propagation and assumptions
-------------------------------------

The transformation is applied to every posterior draw of :math:`(a_{\mathrm{sex}}, b,
c'_{\mathrm{sex}}, \tau_A, \sigma)`, so the curves carry the full posterior
uncertainty. Assumptions, stated plainly:

1. :math:`\rho` is the correlation of the session's glutamate-response residual with the
   residual :math:`\varepsilon^Y_{ist}` of each of that session's post-infusion
   ratings, the same for every post timepoint and both sexes. The participant level
   :math:`p_i` enters the pre- and post-infusion ratings of both sessions alike, so a
   confounder acting on it is adjusted for by the pre-infusion ratings (exactly if
   :math:`p_i` were a fixed effect, nearly so with its partial pooling) and is not
   what :math:`\rho` measures; :math:`\rho` is about confounding of the session's
   response and that session's change in symptoms.
2. Given :math:`\varepsilon^M`, the rating residuals stay independent (across
   timepoints and sessions), as in the fitted model.
3. Because the :math:`\rho`-model is a reparametrisation, its posterior is the
   fitted posterior transformed, under the prior the fitted model's priors induce on
   :math:`(b(\rho), \sigma_3)`; putting the fitted priors on :math:`b(\rho)` and
   :math:`\sigma_3` directly would differ by the prior only.
4. The joint model's :math:`\tau_A` and :math:`\sigma` are shared by the sexes (as
   fitted), so one :math:`b(\rho)` serves both.

Positive :math:`\rho` (an unmeasured factor raising both the glutamate response and
the post-infusion score, i.e. less improvement) makes the fitted :math:`b` too
large: :math:`b(\rho)` decreases with :math:`\rho`.

The crossing: the smallest :math:`|\rho|` on each side of 0 at which the
equal-tailed interval (default 95 %) of the indirect effect first includes 0, found on
a grid of step :data:`CROSSING_STEP` up to :data:`RHO_MAX` and refined by Brent's
method; ``nan`` when it does not happen for :math:`|\rho| \le` :data:`RHO_MAX` on that
side, and 0 on both sides when the interval includes 0 already at :math:`\rho = 0`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import xarray as xr
from scipy.optimize import brentq

from bayes_ketamine.inference.arrays import SAMPLE_DIMS

GROUP: str = "mediation_sensitivity"
"""Name of the artifact group holding :func:`mediation_sensitivity`."""

RHO_GRID: np.ndarray = np.arange(-95, 96) / 100.0
"""Sensitivity parameters of the stored curves: -0.95 to 0.95 by 0.01 (0 exactly)."""

RHO_MAX: float = 0.99
"""Largest :math:`|\\rho|` searched for the crossing."""

CROSSING_STEP: float = 0.01
"""Grid step of the crossing search before Brent's refinement."""

PROBS: tuple[float, ...] = (0.89, 0.95)
"""Equal-tailed intervals stored per :math:`\\rho`."""

CROSSING_PROB: float = 0.95
"""Interval whose first inclusion of 0 defines the crossing."""

REQUIRED_VARS: tuple[str, ...] = (
    "glx_condition_effect",
    "effect_b",
    "direct_effect",
    "glx_response_sd",
    "symptom_noise",
)
"""Posterior variables of the joint model the sensitivity analysis needs."""


def slope_shift(
    rho: np.ndarray | xr.DataArray | float,
    noise_sd: np.ndarray | xr.DataArray | float,
    response_sd: np.ndarray | xr.DataArray | float,
) -> np.ndarray | xr.DataArray | float:
    r"""Return :math:`b - b(\rho) = \rho/\sqrt{1-\rho^2}\;\sigma/\tau_A`.

    Parameters
    ----------
    rho : float or array_like
        Correlation of the mediator and outcome residuals, :math:`|\rho| < 1`.
    noise_sd : float or array_like
        The fitted outcome residual SD :math:`\sigma` (``symptom_noise``).
    response_sd : float or array_like
        The mediator residual SD :math:`\tau_A` (``glx_response_sd``).

    Returns
    -------
    float or array_like
        Broadcast over the inputs (xarray objects broadcast by name).

    Examples
    --------
    >>> round(float(slope_shift(0.6, 4.0, 2.0)), 6)  # 0.6 / 0.8 * 2
    1.5
    >>> float(slope_shift(0.0, 4.0, 2.0))
    0.0
    """
    return rho / np.sqrt(1.0 - rho**2) * noise_sd / response_sd


def equal_tailed(values: np.ndarray, prob: float) -> tuple[float, float]:
    """Return the equal-tailed interval of probability ``prob`` of 1-D draws."""
    tail = (1.0 - prob) / 2.0
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return float(low), float(high)


def interval_crossing(
    effect_at: Callable[[float], np.ndarray],
    *,
    side: int,
    prob: float = CROSSING_PROB,
    rho_max: float = RHO_MAX,
    step: float = CROSSING_STEP,
) -> float:
    r"""Return the :math:`\rho` on one side of 0 where an effect's interval first includes 0.

    Parameters
    ----------
    effect_at : callable
        ``effect_at(rho)`` returns the effect's draws (1-D) at sensitivity ``rho``;
        continuous in ``rho``.
    side : {1, -1}
        Search :math:`\rho > 0` or :math:`\rho < 0`.
    prob : float
        Probability of the equal-tailed interval.
    rho_max : float
        Largest :math:`|\rho|` searched.
    step : float
        Grid step before the bracketing cell is refined by Brent's method.

    Returns
    -------
    float
        0 if the interval includes 0 at :math:`\rho = 0`; ``nan`` if it does not
        include 0 for any :math:`|\rho| \le` ``rho_max`` on that side.

    Examples
    --------
    Draws ``1 + u - 2 rho`` with ``u`` evenly spread on [-0.5, 0.5]: the 95 % interval's
    lower end is ``0.525 - 2 rho``, which is 0 at ``rho = 0.2625``.

    >>> u = np.linspace(-0.5, 0.5, 1001)
    >>> round(interval_crossing(lambda r: 1 + u - 2 * r, side=1), 6)
    0.2625
    >>> interval_crossing(lambda r: 1 + u - 2 * r, side=-1)
    nan
    """
    if side not in (1, -1):
        raise ValueError(f"side must be 1 or -1, got {side!r}")
    low, high = equal_tailed(effect_at(0.0), prob)
    if low <= 0.0 <= high:
        return 0.0
    sign = 1.0 if low > 0.0 else -1.0

    def gap(rho: float) -> float:
        low, high = equal_tailed(effect_at(rho), prob)
        return low if sign > 0 else -high

    previous = 0.0
    n_steps = int(np.floor(rho_max / step + 1e-9))
    grid = [side * step * k for k in range(1, n_steps + 1)]
    if not grid or abs(grid[-1]) < rho_max:
        grid.append(side * rho_max)
    for rho in grid:
        value = gap(rho)
        if value == 0.0:
            return float(rho)
        if value < 0.0:
            return float(brentq(gap, previous, rho, xtol=1e-8))
        previous = rho
    return float("nan")


def _statistics(effect: xr.DataArray, probs: Sequence[float]) -> xr.DataArray:
    """Return mean, equal-tailed interval bounds and P(> 0) over the draws."""
    parts = {"mean": effect.mean(SAMPLE_DIMS)}
    for prob in probs:
        tail = (1.0 - prob) / 2.0
        bounds = effect.quantile([tail, 1.0 - tail], dim=SAMPLE_DIMS)
        name = f"eti{round(prob * 100)}"
        parts[f"{name}_low"] = bounds.isel(quantile=0, drop=True)
        parts[f"{name}_high"] = bounds.isel(quantile=1, drop=True)
    parts["prob_positive"] = (effect > 0).mean(SAMPLE_DIMS)
    return xr.concat(list(parts.values()), dim="statistic").assign_coords(statistic=list(parts))


def mediation_sensitivity(
    tree: xr.DataTree,
    *,
    rho: Sequence[float] | np.ndarray = RHO_GRID,
    probs: Sequence[float] = PROBS,
    crossing_prob: float = CROSSING_PROB,
) -> xr.Dataset:
    r"""Return the joint model's mediation effects as functions of the confounding :math:`\rho`.

    The mathematics, citations and assumptions are in the module docstring
    (:mod:`bayes_ketamine.inference.mediation`): per posterior draw,
    :math:`b(\rho) = b - \rho/\sqrt{1-\rho^2}\,\sigma/\tau_A`,
    indirect :math:`a_{\mathrm{sex}} b(\rho)` and direct
    :math:`c'_{\mathrm{sex}} + a_{\mathrm{sex}}(b - b(\rho))`.

    Parameters
    ----------
    tree : xarray.DataTree
        A joint-model artifact (its ``posterior`` needs :data:`REQUIRED_VARS`).
    rho : sequence of float
        Sensitivity parameters of the curves, each in (-1, 1).
    probs : sequence of float
        Probabilities of the equal-tailed intervals stored per :math:`\rho`.
    crossing_prob : float
        Probability of the interval whose first inclusion of 0 is the crossing.

    Returns
    -------
    xarray.Dataset
        Dims ``rho``, ``sex``, ``statistic`` (``mean``, ``eti<p>_low``,
        ``eti<p>_high`` per probability, ``prob_positive`` = P(effect > 0)) and
        ``side`` (``negative``, ``positive``). Variables: ``effect_b`` (the slope
        :math:`b(\rho)`), ``indirect_effect`` and ``direct_effect`` (dims ``rho``,
        ``sex``, ``statistic``) and their means over the sexes
        ``indirect_effect_pooled`` and ``direct_effect_pooled``; ``rho_crossing``
        (dims ``sex``, ``side``) and ``rho_crossing_pooled`` (``side``): the
        :math:`\rho` at which the indirect effect's interval first includes 0;
        ``rho_mean_zero`` (``sex``) and ``rho_mean_zero_pooled``: the :math:`\rho` at
        which the indirect effect's posterior mean is 0 (``medsens``'s "rho at which
        ACME = 0"), in closed form, :math:`\kappa^* = E[a b] / E[a\sigma/\tau_A]`,
        :math:`\rho^* = \kappa^*/\sqrt{1+\kappa^{*2}}`; ``rho_indirect_zero``
        (``statistic``): the posterior of :math:`\tilde\rho`, the :math:`\rho` at
        which each draw's indirect effects are 0. Attributes
        name the formula, the crossing's interval probability and the references.

    Raises
    ------
    ValueError
        If the posterior lacks a variable of :data:`REQUIRED_VARS` (not a joint
        artifact) or a :math:`\rho` is outside (-1, 1).

    Examples
    --------
    >>> from bayes_ketamine.inference import load_posterior
    >>> tree = load_posterior("posteriors/joint_partial.nc")  # doctest: +SKIP
    >>> sens = mediation_sensitivity(tree)  # doctest: +SKIP
    >>> sens["rho_crossing_pooled"].sel(side="positive").item()  # doctest: +SKIP
    0.21
    """
    posterior = tree["posterior"].to_dataset()
    missing = [v for v in REQUIRED_VARS if v not in posterior]
    if missing:
        raise ValueError(
            f"mediation sensitivity needs a joint-model posterior; artifact "
            f"{tree.attrs.get('model_name', '?')!r} lacks {', '.join(missing)}"
        )
    rho_values = np.asarray(rho, dtype=float)
    if rho_values.ndim != 1 or np.any(np.abs(rho_values) >= 1.0):
        raise ValueError(f"rho must be a 1-D sequence of values in (-1, 1), got {rho!r}")
    a = posterior["glx_condition_effect"]
    b = posterior["effect_b"]
    direct = posterior["direct_effect"]
    noise, response_sd = posterior["symptom_noise"], posterior["glx_response_sd"]

    rho_da = xr.DataArray(rho_values, dims="rho", coords={"rho": rho_values})
    shift = slope_shift(rho_da, noise, response_sd)
    curves = {
        "effect_b": b - shift,
        "indirect_effect": a * (b - shift),
        "direct_effect": direct + a * shift,
    }
    curves["indirect_effect_pooled"] = curves["indirect_effect"].mean("sex")
    curves["direct_effect_pooled"] = curves["direct_effect"].mean("sex")
    out = xr.Dataset(
        {
            name: _statistics(value, probs).transpose("rho", ..., "statistic")
            for name, value in curves.items()
        }
    )

    ratio = (noise / response_sd).values.ravel()
    b_flat = b.values.ravel()
    by_who = {str(s): a.sel(sex=s).values.ravel() for s in a["sex"].values}
    by_who["pooled"] = a.mean("sex").values.ravel()

    def crossing(a_flat: np.ndarray, side: int) -> float:
        return interval_crossing(
            lambda r: a_flat * (b_flat - slope_shift(r, ratio, 1.0)),
            side=side,
            prob=crossing_prob,
        )

    sides = {"negative": -1, "positive": 1}
    sexes = [str(s) for s in a["sex"].values]
    out["rho_crossing"] = xr.DataArray(
        [[crossing(by_who[s], side) for side in sides.values()] for s in sexes],
        dims=("sex", "side"),
        coords={"sex": sexes, "side": list(sides)},
    )
    out["rho_crossing_pooled"] = xr.DataArray(
        [crossing(by_who["pooled"], side) for side in sides.values()],
        dims="side",
        coords={"side": list(sides)},
    )
    # The posterior mean of a (b - kappa r) is 0 at kappa = E[a b] / E[a r] (r = sigma/tau_A).
    ratio_da = noise / response_sd
    kappa = (a * b).mean(SAMPLE_DIMS) / (a * ratio_da).mean(SAMPLE_DIMS)
    out["rho_mean_zero"] = kappa / np.sqrt(1.0 + kappa**2)
    kappa_pooled = (a.mean("sex") * b).mean(SAMPLE_DIMS) / (a.mean("sex") * ratio_da).mean(
        SAMPLE_DIMS
    )
    out["rho_mean_zero_pooled"] = kappa_pooled / np.sqrt(1.0 + kappa_pooled**2)
    reduced_sd = np.sqrt(b**2 * response_sd**2 + noise**2)
    out["rho_indirect_zero"] = _statistics(b * response_sd / reduced_sd, probs)
    out.attrs.update(
        formula="b(rho) = b - rho / sqrt(1 - rho^2) * symptom_noise / glx_response_sd; "
        "indirect = glx_condition_effect * b(rho); "
        "direct = direct_effect + glx_condition_effect * (b - b(rho))",
        rho="correlation of the session glutamate-response residual and the residual of "
        "that session's post-infusion ratings (0 = no unmeasured confounding)",
        crossing_prob=crossing_prob,
        rho_max=RHO_MAX,
        references="Imai, Keele & Tingley 2010, Psychological Methods 15(4):309-334; "
        "Imai, Keele & Yamamoto 2010, Statistical Science 25(1):51-71",
    )
    return out


def applies(tree: xr.DataTree) -> bool:
    """Return whether a joint artifact gets the sensitivity analysis.

    It is defined for the two-condition joint model pooled by sex (effects with the
    dim ``sex`` and no ``active_condition``); other designs are not analysed.
    """
    if GROUP in tree.children:
        return True
    effect = tree["posterior"].to_dataset().get("indirect_effect")
    return effect is not None and set(effect.dims) == {"chain", "draw", "sex"}


def stored_or_computed(tree: xr.DataTree) -> xr.Dataset:
    """Return the artifact's :data:`GROUP` group, or compute it from its posterior.

    Artifacts written before the group existed still get their sensitivity analysis;
    the computation is a deterministic function of the stored draws.

    Parameters
    ----------
    tree : xarray.DataTree
        A joint-model artifact.

    Returns
    -------
    xarray.Dataset
        As :func:`mediation_sensitivity`.
    """
    if GROUP in tree.children:
        return tree[GROUP].to_dataset()
    return mediation_sensitivity(tree)
