"""Family 2: next-day symptoms (MADRS or the study's scale) before and after infusion."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt

from bayes_ketamine.models.base import CrossoverModel
from bayes_ketamine.models.parametrisation import contrast_noise, nominal_scale
from bayes_ketamine.models.spec import SpecError

SYMPTOM_DEFAULT_PRIORS: dict[str, dict[str, float]] = {
    "symptom_baseline": {"mu": 30.0, "sigma": 10.0},
    "symptom_participant_sd": {"alpha": 2.0, "beta": 0.3},
    "symptom_period_effect": {"mu": 0.0, "sigma": 5.0},
    "symptom_change_reference": {"mu": -5.0, "sigma": 10.0},
    "symptom_condition_effect": {"mu": 0.0, "sigma": 5.0},
    "symptom_condition_effect_sex_sd": {"sigma": 3.0},
    "symptom_covariate_effect": {"mu": 0.0, "sigma": 3.0},
    "symptom_carryover": {"mu": 0.0, "sigma": 5.0},
    "symptom_noise": {"sigma": 5.0},
}
"""Default priors of the symptom component, in scale points (MADRS points).
``symptom_covariate_effect`` is per SD of a covariate (used only with covariates);
``symptom_carryover`` is the carry-over (used only with ``design.carryover``)."""


def post_timepoints(model: CrossoverModel) -> list[str]:
    """Return the study's post-infusion timepoints in time order (the first is primary)."""
    tp = model.study.timepoints()
    post = tp.loc[~tp["baseline"], "timepoint"].tolist()
    if not post or tp["baseline"].sum() == 0:
        raise SpecError(
            f"study {model.study.name!r} needs symptom ratings both before (hours < 0) and "
            f"after the infusion; it has timepoints {tp['timepoint'].tolist()}"
        )
    return post


def symptom_scales(model: CrossoverModel) -> dict:
    r"""Return what chooses the parametrisation of the symptom component's terms.

    With :math:`\sigma_0` the nominal rating noise (the scale of ``symptom_noise``):

    - participant levels :math:`p_i`: :math:`n` = ratings of the median participant,
      level scale the mean of the ``symptom_participant_sd`` prior;
    - ``contrast_sd``, the nominal SD of a participant's contrast of two sessions'
      changes after the infusion (four ratings), :math:`2\sigma_0`, for the
      condition effects (:meth:`CrossoverModel.factor_effect`).

    See :mod:`bayes_ketamine.models.parametrisation` for the rule.
    """
    counts = symptom_rows(model)["participant_id"].value_counts()
    counts = counts.reindex(model.study.participant_ids, fill_value=0)
    noise = nominal_scale(model.priors["symptom_noise"])
    return {
        "participant": {
            "observations": float(np.median(counts)),
            "noise_scale": noise,
            "level_scale": nominal_scale(model.priors["symptom_participant_sd"]),
        },
        "contrast_sd": contrast_noise(contrast_noise(noise)),
    }


def symptom_rows(model: CrossoverModel) -> pd.DataFrame:
    """Return the symptom rows that enter the likelihood (ratings that were made).

    Missing ratings stay in the study and are counted in its summary; they carry no
    likelihood term (missing at random given the modelled terms).
    """
    sym = model.study.symptoms
    return sym.loc[sym["score"].notna()].reset_index(drop=True)


def add_symptom_component(
    model: CrossoverModel,
    glx_link: tuple[pt.TensorVariable, pt.TensorVariable] | None = None,
) -> None:
    r"""Add the symptom likelihood to the current model context.

    For rating :math:`y_{ist}` of participant :math:`i` in session :math:`s` at
    timepoint :math:`t`, on a scale bounded by :math:`[L, U]` (MADRS: 0-60)

    .. math::

        y_{ist} &\sim \mathrm{Censored}\big(\mathcal{N}(\mu_{ist}, \sigma), L, U\big) \\
        \mu_{ist} &= m_0 + p_i + \pi_s
            + [t\ \text{post}]\,\big(d_t + c_{t,g(i)}\,x_{is} + \lambda\,x_{i,s-1}
            + \delta^\top v_i + b\,(A_{is} - R)\big)

    Participant levels :math:`p_i \sim \mathcal{N}(0, \tau_p)` sum to zero
    (``ZeroSumNormal``), so that :math:`m_0` is not correlated with every
    :math:`p_i`. With ``design.baseline_by_level`` the baseline mean is
    :math:`m_{0,g(i)}` (``symptom_baseline``, dim of the pooling factor), one per
    level with the prior of ``symptom_baseline`` each, independently: for levels whose
    severity differs by design (NIMH: healthy controls near the floor, patients near
    30 on the MADRS), one normal population of :math:`p_i` around one mean would be
    bimodal, its :math:`\tau_p` inflated and the censored controls' levels drawn
    towards the patients'. The :math:`p_i` still sum to zero over all participants,
    so a level's mean of :math:`p_i` is held near 0 by their prior alone
    (:math:`\mathcal{N}(0, \tau_p/\sqrt{n_g})`): :math:`m_{0,g}` is the level's mean
    baseline. They are centred when the ratings of the median participant inform
    them well (:func:`symptom_scales`; GO-MARK's design: four ratings) and
    non-centred (:math:`p_i = \tau_p u_i`) when the data are thinner (the NIMH
    design: one baseline and one rating per period). Their SD :math:`\tau_p` has
    a Gamma(2, 0.3) prior (mean 6.7 points, little mass near 0: patients' severity
    always differs, and a prior piling up at 0 would let centred levels funnel).
    The partially pooled condition effects :math:`c_{t,g}` are likewise centred or
    not by the participants per level (13 per sex in GO-MARK: non-centred).
    :math:`d_t` is the change
    from before the infusion to post timepoint :math:`t` under the reference
    condition (``symptom_change_reference``); with ``design.reference_change_by_level``
    it is :math:`d_{t,g(i)}`, one per level of the pooling factor
    (:func:`reference_change`). :math:`c_{t,g}` is the condition-by-time
    effect (the paper's contrast; ``symptom_condition_effect``
    at the primary, i.e. earliest, post timepoint) for level :math:`g(i)` of the
    pooling factor (sex by default), pooled as the spec says,
    and :math:`x_{is}` the active-condition indicator. :math:`v_i` are participant
    :math:`i`'s standardised covariates (``covariates.symptoms`` of the spec; none by
    default) and :math:`\delta` their effects on the change after the infusion, in
    points per SD (``symptom_covariate_effect``, prior Normal(0, 3)). :math:`\pi_s`
    is the period effect (``symptom_period_effect``, :math:`\pi_1 = 0`). With
    ``design.carryover``, :math:`\lambda` (``symptom_carryover``, prior Normal(0, 5)
    points) is the shift of the change after the infusion in a session that follows
    an active session (:math:`x_{i,s-1} = 1`); in the joint model it is the part not
    carried by the glutamate response. With more than two conditions it is
    :math:`\sum_k \lambda_k x_{i,s-1,k}`, one :math:`\lambda_k` per active condition
    :math:`k` (dim ``active_condition``; see
    :meth:`~bayes_ketamine.models.base.CrossoverModel.carryover_term`). Without the
    option there is no such term.
    The term :math:`b(A_{is} - R)`
    exists only in the joint model, where :math:`A_{is}` is the session's glutamate
    response and :math:`R` its mean under the reference condition; there
    :math:`c` is the direct effect.

    Why censored normal: effects stay in scale points, the unit clinicians read and
    the priors are written in; the scale's floor and ceiling are respected exactly
    (draws pile up at the bounds instead of leaving them, and a rating at a bound
    contributes the probability mass beyond it); the scale is a sum of ten 0-6 items,
    so with a residual SD of several points its discreteness is negligible, which a
    bounded-count (beta-binomial) likelihood would model at the cost of effects on
    the logit scale.

    Parameters
    ----------
    model : CrossoverModel
        The model being built.
    glx_link : tuple of pytensor.tensor.TensorVariable, optional
        The session glutamate responses :math:`A` (participant, session) and their
        reference mean :math:`R` from the glutamate component; joint model only.
    """
    study, pr = model.study, model.priors
    rows = symptom_rows(model)
    post = post_timepoints(model)
    low, high = study.symptom_bounds
    post_map = {name: k for k, name in enumerate(post)}
    post_idx = rows["timepoint"].map(post_map).fillna(-1).to_numpy(dtype=int)
    # Every study-dependent array enters the graph as data, so one compiled model
    # serves every study of the same design (see CrossoverModel).
    part_idx = pm.Data("symptom_participant", model.participant_index(rows), dims="symptom_obs")
    session = pm.Data("symptom_session", rows["session"].to_numpy(dtype=int), dims="symptom_obs")
    is_post = pm.Data("symptom_is_post", (post_idx >= 0).astype(float), dims="symptom_obs")
    post_idx = pm.Data(
        "symptom_post_index", np.where(post_idx >= 0, post_idx, 0), dims="symptom_obs"
    )
    active = pm.Data(
        "symptom_active",
        model.active_indicator(rows["condition"]),
        dims=("symptom_obs", *model.arm_dims),
    )
    bounds = pm.Data("symptom_bounds", np.array([low, high], dtype=float))

    if model.spec.baseline_by_level:
        base = pm.Normal("symptom_baseline", **pr["symptom_baseline"], dims=model.factor)
    else:
        base = pm.Normal("symptom_baseline", **pr["symptom_baseline"])
    part_sd = pm.Gamma("symptom_participant_sd", **pr["symptom_participant_sd"])
    scales = symptom_scales(model)
    if model.choose_parametrisation("symptom_participant_offset", **scales["participant"]):
        part = pm.ZeroSumNormal("symptom_participant_offset", sigma=part_sd, dims="participant")
    else:
        part_z = pm.ZeroSumNormal("symptom_participant_z", sigma=1.0, dims="participant")
        part = pm.Deterministic("symptom_participant_offset", part_sd * part_z, dims="participant")
    period = model.period_effect("symptom_period_effect")
    change = reference_change(model)
    effect_name = "direct_effect" if glx_link is not None else "symptom_condition_effect"
    by_time = model.factor_effect(
        f"{effect_name}_by_time",
        "symptom_condition_effect",
        outer=("post_timepoint", *model.arm_dims),
        sessions=rows.drop_duplicates(["participant_id", "session"]),
        contrast_sd=scales["contrast_sd"],
        shifted=None if glx_link is None else ("total_effect_by_time", lambda: total_shift(model)),
    )
    primary = pm.Deterministic(effect_name, by_time[0], dims=(*model.arm_dims, model.factor))
    model.pooled_and_sex_difference(effect_name, primary)
    model.level_contrasts(effect_name, primary)
    level = model.participant_level()[part_idx]
    if model.spec.reference_change_by_level:
        change = change[post_idx, level]
    else:
        change = change[post_idx]
    if model.multi_arm:  # c[t, k, g]: one effect per active condition k
        shift = change + (by_time[post_idx, :, level] * active).sum(axis=-1)
    else:
        shift = change + by_time[post_idx, level] * active
    covariates = model.covariate_term("symptom", model.spec.symptom_covariates)
    if covariates is not None:
        shift = shift + covariates[part_idx]
    if model.spec.carryover:
        shift = shift + model.carryover_term("symptom_carryover", (part_idx, session - 1))
    if glx_link is not None:
        amplitude, reference = glx_link
        slope = mediator_slope(model)
        shift = shift + slope * (amplitude[part_idx, session - 1] - reference)
    if model.spec.baseline_by_level:
        base = base[level]
    mu = base + part[part_idx] + model.period_term(period, session) + is_post * shift
    sigma = pm.HalfNormal("symptom_noise", **pr["symptom_noise"])
    observed = pm.Data("score_observed", rows["score"].to_numpy(dtype=float), dims="symptom_obs")
    pm.Censored(
        "score",
        pm.Normal.dist(mu=mu, sigma=sigma),
        lower=bounds[0],
        upper=bounds[1],
        observed=observed,
        dims="symptom_obs",
    )


def reference_change(model: CrossoverModel) -> pt.TensorVariable:
    r"""Add and return the change under the reference condition, ``symptom_change_reference``.

    By default one :math:`d_t` per post timepoint (dim ``post_timepoint``), shared by
    every level of the pooling factor. With ``design.reference_change_by_level`` one
    :math:`d_{t,g}` per post timepoint and level :math:`g` of the pooling factor
    (dims ``(post_timepoint, <factor>)``), each with the same prior
    ``symptom_change_reference``, independently (no pooling across levels, whatever
    the spec's pooling of the condition effects):

    .. math::

        d_{t,g} \sim \mathcal{N}(\mu_d, \sigma_d) \quad\text{independently for every } t, g.

    Why independent: the option exists for factors whose levels differ in how the
    scale moves after a placebo infusion for reasons the model does not otherwise
    express (healthy controls rated near the scale's floor cannot improve like
    depressed patients; sites may rate differently), so a hierarchical prior that
    draws the levels towards a common mean would reintroduce, in part, the bias the
    option removes; with few levels (NIMH: 3) a between-level SD would barely be
    informed. Every participant's reference-condition sessions inform their level's
    :math:`d_{t,g}` directly, so levels with participants are informed by their data;
    a level with few participants (NIMH BP: 2) keeps a wide interval, as it should.
    The ``pooling`` of the spec still applies to the condition effects
    :math:`c_{t,g}`: with ``complete`` pooling the condition effect is common to the
    levels while their placebo responses differ.
    """
    prior = model.priors["symptom_change_reference"]
    if model.spec.reference_change_by_level:
        dims = ("post_timepoint", model.factor)
        return pm.Normal("symptom_change_reference", **prior, dims=dims)
    return pm.Normal("symptom_change_reference", **prior, dims="post_timepoint")


def mediator_slope(model: CrossoverModel, *, per_response_sd: bool = False) -> pt.TensorVariable:
    r"""Return the joint model's slope ``effect_b``, adding it to the current model once.

    :math:`b \sim \mathcal{N}(\mu_b, \sigma_b)`. With ``per_response_sd`` the free
    parameter is :math:`\beta = b\,\tau_A` (``effect_b_per_response_sd``: the
    symptom shift of a session response one SD :math:`\tau_A` above the mean),
    :math:`\beta \mid \tau_A \sim \mathcal{N}(\mu_b \tau_A, \sigma_b \tau_A)`, and
    ``effect_b`` :math:`= \beta / \tau_A`: the same prior, in coordinates where the
    session deviations :math:`\tau_A z_{is}` reach the symptoms as :math:`\beta
    z_{is}`, not as a product of :math:`b` and :math:`\tau_A` (``docs/models.md``,
    "Centred or non-centred").

    Parameters
    ----------
    model : CrossoverModel
        The joint model being built (its glutamate component already added when
        ``per_response_sd``).
    per_response_sd : bool, default False
        Sample :math:`\beta` rather than :math:`b` (where the direct effects are
        centred, see :func:`total_shift`).

    Returns
    -------
    pytensor.tensor.TensorVariable
        ``effect_b``.
    """
    pm_model = pm.modelcontext(None)
    if "effect_b" in pm_model.named_vars:
        return pm_model["effect_b"]
    prior = model.priors["effect_b"]
    if not per_response_sd:
        return pm.Normal("effect_b", **prior)
    response_sd = pm_model["glx_response_sd"]
    scaled = pm.Normal(
        "effect_b_per_response_sd",
        mu=prior["mu"] * response_sd,
        sigma=prior["sigma"] * response_sd,
    )
    return pm.Deterministic("effect_b", scaled / response_sd)


def total_shift(model: CrossoverModel) -> pt.TensorVariable:
    r"""Return :math:`b\,a_g`, the indirect effect that turns a direct effect into a total one.

    Called by :meth:`~bayes_ketamine.models.base.CrossoverModel.factor_effect` only
    where the joint model's direct effects are centred: it then samples the total
    effects :math:`c'_{t,g} + a_g b`, with :math:`b` per response SD
    (:func:`mediator_slope`).

    Parameters
    ----------
    model : CrossoverModel
        The joint model being built, with ``glx_condition_effect`` added.

    Returns
    -------
    pytensor.tensor.TensorVariable
        Dims ``(*arm_dims, factor)``; broadcasts over the post timepoints.
    """
    slope = mediator_slope(model, per_response_sd=True)
    return slope * pm.modelcontext(None)["glx_condition_effect"]


def symptom_coords(model: CrossoverModel) -> dict[str, Any]:
    """Return the coords of the symptom component: post-infusion timepoints, observations."""
    return {
        "post_timepoint": post_timepoints(model),
        "symptom_obs": np.arange(len(symptom_rows(model))),
    }


def symptom_labels(model: CrossoverModel) -> pd.DataFrame:
    """Return the labels of each symptom observation entering the likelihood.

    Those of :meth:`~CrossoverModel.row_labels`, then ``timepoint`` and ``hours``.
    """
    rows = symptom_rows(model)
    return model.row_labels(
        rows,
        timepoint=rows["timepoint"].to_numpy(),
        hours=rows["hours"].to_numpy(dtype=float),
    )


class SymptomModel(CrossoverModel):
    r"""Next-day symptoms: ratings before and after each infusion, pooled by a factor.

    The likelihood and priors are those of :func:`add_symptom_component`, whose
    docstring gives the mathematics and the choice of a censored likelihood. Key
    effects: ``symptom_condition_effect`` (:math:`c_g` per level of the pooling factor
    at the primary post timepoint, scale points; positive = less improvement under the
    active condition), ``symptom_condition_effect_pooled`` (mean over levels),
    ``symptom_change_reference`` (:math:`d_t`; :math:`d_{t,g}` per level with
    ``design.reference_change_by_level``) and, for a factor other than sex,
    ``symptom_condition_effect_contrast`` (:math:`c_b - c_a` per pair of levels).
    Works for any post timepoints a study has (e.g. ``24h``; ``day2``
    and ``day10`` in the NIMH data) and for a single baseline before period 1.
    """

    family = "symptoms"
    DEFAULT_PRIORS = SYMPTOM_DEFAULT_PRIORS
    observed_vars = ("score",)
    CONTRASTED = ("symptom_condition_effect",)
    CARRYOVER = ("symptom_carryover",)
    KEY_EFFECTS = (
        "symptom_change_reference",
        "symptom_condition_effect",
        "symptom_condition_effect_pooled",
    )

    def build(self) -> pm.Model:
        """Build the symptom model."""
        coords = {**self.coords(), **symptom_coords(self)}
        with pm.Model(coords=coords) as model:
            self.add_design_data()
            add_symptom_component(self)
        return model

    def observation_labels(self) -> dict[str, pd.DataFrame]:
        """Return the labels of the symptom observations."""
        return {"score": symptom_labels(self)}
