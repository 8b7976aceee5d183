"""Family 1: glutamate dynamics, Glx/tNAA per fMRS block."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt

from bayes_ketamine.models.base import CrossoverModel, response_profile
from bayes_ketamine.models.parametrisation import contrast_noise, nominal_scale
from bayes_ketamine.models.spec import SpecError

GLX_DEFAULT_PRIORS: dict[str, dict[str, float]] = {
    "glx_log_baseline": {"mu": 0.0, "sigma": 1.0},
    "glx_participant_sd_pct": {"alpha": 2.0, "beta": 0.2},
    "glx_period_effect_pct": {"mu": 0.0, "sigma": 5.0},
    "glx_response": {"mu": 5.0, "sigma": 5.0},
    "glx_response_sd": {"alpha": 2.0, "beta": 0.4},
    "glx_condition_effect": {"mu": 0.0, "sigma": 5.0},
    "glx_condition_effect_sex_sd": {"sigma": 4.0},
    "glx_covariate_effect": {"mu": 0.0, "sigma": 3.0},
    "glx_carryover_pct": {"mu": 0.0, "sigma": 5.0},
    "glx_noise_pct": {"sigma": 10.0},
    "glx_noise_nu": {"alpha": 2.0, "beta": 0.1},
}
"""Default priors of the glutamate component; percent scales unless named ``log``.
``glx_covariate_effect`` is per SD of a covariate (used only with covariates);
``glx_carryover_pct`` is the carry-over (used only with ``design.carryover``)."""


def fmrs_rows(model: CrossoverModel) -> pd.DataFrame:
    """Return the study's fMRS blocks, or raise if a glutamate model has none to fit."""
    fmrs = model.study.fmrs
    if fmrs is None or fmrs.empty:
        raise SpecError(
            f"model {model.spec.name!r} (family {model.spec.family!r}) needs fMRS blocks; "
            f"study {model.study.name!r} has none"
        )
    return fmrs


def glutamate_scales(model: CrossoverModel, profile: np.ndarray) -> dict:
    r"""Return what chooses the parametrisation of the glutamate component's terms.

    With :math:`\sigma_0` the nominal block noise (the scale of ``glx_noise_pct``):

    - participant baselines :math:`\alpha_i`: :math:`n` = fMRS blocks of the median
      participant, level scale the mean of the ``glx_participant_sd_pct`` prior;
    - session responses :math:`A_{is}`: :math:`n` = the median session's
      :math:`\sum_b f(t_b)^2` (each block informs the amplitude through the
      profile: four blocks 5-35 min after the start inform it like 2.5 blocks at
      the plateau), level scale the mean of the ``glx_response_sd`` prior;
    - ``contrast_sd``, the nominal SD of a participant's contrast of two sessions'
      responses, :math:`\sqrt{2 (\tau_{A0}^2 + \sigma_0^2 / n_A)}`, for the
      condition effects (:meth:`CrossoverModel.factor_effect`).

    See :mod:`bayes_ketamine.models.parametrisation` for the rule.
    """
    fmrs, pr = fmrs_rows(model), model.priors
    noise = nominal_scale(pr["glx_noise_pct"])
    blocks = fmrs["participant_id"].value_counts().reindex(model.study.participant_ids)
    per_session = pd.Series(profile**2).groupby(
        [fmrs["participant_id"].to_numpy(), fmrs["session"].to_numpy()]
    )
    session_info = float(per_session.sum().median())
    response_sd = nominal_scale(pr["glx_response_sd"])
    return {
        "participant": {
            "observations": float(blocks.fillna(0).median()),
            "noise_scale": noise,
            "level_scale": nominal_scale(pr["glx_participant_sd_pct"]),
        },
        "session": {
            "observations": session_info,
            "noise_scale": noise,
            "level_scale": response_sd,
        },
        "contrast_sd": contrast_noise(np.sqrt(response_sd**2 + noise**2 / session_info)),
    }


def add_glutamate_component(
    model: CrossoverModel,
) -> tuple[pt.TensorVariable, pt.TensorVariable]:
    r"""Add the glutamate likelihood to the current model context.

    For block :math:`b` of session :math:`s` of participant :math:`i`, with block
    midpoint :math:`t_b` (minutes from infusion start)

    .. math::

        \log \mathrm{Glx}_{isb} &\sim \mathcal{N}(\mu_{isb}, \sigma_{isb})
            \quad\text{or}\quad t_\nu(\mu_{isb}, \sigma_{isb}) \\
        \mu_{isb} &= \beta_0 + \alpha_i + \pi_s
            + \tfrac{A_{is}}{100} f(t_b) \\
        A_{is} &= R + a_{g(i)}\,x_{is} + \lambda\,x_{i,s-1} + \gamma^\top w_i
            + \tau_A z_{is} \\
        f(t) &= [t > 0]\,(1 - e^{-t/\tau})

    :math:`A_{is}` is the session's ketamine response amplitude in percent Glx change
    (``glx_session_response``), :math:`R` the mean response under the reference
    condition (``glx_response``), :math:`x_{is}` the active-condition indicator and
    :math:`a_{g}` the active condition's effect on the response
    (``glx_condition_effect``) for level :math:`g(i)` of the pooling factor (sex by
    default), pooled as the spec says. :math:`w_i` are participant :math:`i`'s
    standardised covariates (``covariates.glutamate`` of the spec; none by default)
    and :math:`\gamma` their effects in percent per SD (``glx_covariate_effect``,
    prior Normal(0, 3)). :math:`\pi_s` is the period effect
    (``glx_period_effect_pct``, :math:`\pi_1 = 0`; see
    :meth:`~bayes_ketamine.models.base.CrossoverModel.period_effect`). With
    ``design.carryover`` the active condition of the previous session
    :math:`x_{i,s-1}` (0 in the first) shifts the response by :math:`\lambda`
    (``glx_carryover_pct``, prior Normal(0, 5) percent points); with more than two
    conditions each active condition :math:`k` has its own, the term is
    :math:`\sum_k \lambda_k x_{i,s-1,k}` and ``glx_carryover_pct`` has the dim
    ``active_condition`` (:meth:`~bayes_ketamine.models.base.CrossoverModel.carryover_term`);
    otherwise there is no such term. Participant baselines
    :math:`\alpha_i \sim \mathcal{N}(0, \tau_\alpha)` are constrained to sum to zero
    (``ZeroSumNormal``), so that :math:`\beta_0` is the sample's mean baseline and
    not correlated with every :math:`\alpha_i`. Their SD :math:`\tau_\alpha` has a
    Gamma(2, 0.2) prior (mean 10 %, little mass near 0): people differ in Glx/tNAA
    by several percent, and a prior piling up at 0 would let centred levels
    funnel. Session responses :math:`A_{is}` have SD :math:`\tau_A`
    (``glx_response_sd``) with a Gamma(2, 0.4) prior (mean 5 %, mode
    2.5 %): with a half-normal prior the sampler lingered near :math:`\tau_A = 0`,
    where a single session says little, and this SD had the lowest effective sample
    size of the joint model (274-775 per 4000 draws over four simulated studies;
    614-761 with the Gamma prior). Each of the two terms, and the condition effects
    :math:`a_g`, is centred where the study informs its levels well and non-centred
    (:math:`\alpha_i = \tau_\alpha u_i`, :math:`A_{is} = \dots + \tau_A z_{is}`)
    where it does not (:func:`glutamate_scales`): GO-MARK's ten blocks per
    participant centre the baselines, its four post-infusion blocks per session
    leave the responses non-centred.
    The noise :math:`\sigma_{isb}` is :math:`\sigma` or, with measurement error,
    :math:`\sqrt{\sigma^2 + (\mathrm{CRLB}_{isb}/100)^2}`.

    Returns
    -------
    tuple of pytensor.tensor.TensorVariable
        The session response amplitudes :math:`A` (dims participant, session) and
        the reference mean response :math:`R`.
    """
    study, spec, pr = model.study, model.spec, model.priors
    fmrs = fmrs_rows(model)
    profile = response_profile(fmrs["time_min"].to_numpy(), spec.tau_min)
    # Every study-dependent array enters the graph as data, so one compiled model
    # serves every study of the same design (see CrossoverModel).
    part_idx = pm.Data("fmrs_participant", model.participant_index(fmrs), dims="fmrs_obs")
    session = pm.Data("fmrs_session", fmrs["session"].to_numpy(dtype=int), dims="fmrs_obs")
    pm.Data("fmrs_block", fmrs["block"].to_numpy(dtype=int), dims="fmrs_obs")
    profile_d = pm.Data("fmrs_profile", profile, dims="fmrs_obs")
    pm.Data("fmrs_time_min", fmrs["time_min"].to_numpy(dtype=float), dims="fmrs_obs")
    active_d = model.session_data()["session_active"]

    scales = glutamate_scales(model, profile)
    beta0 = pm.Normal("glx_log_baseline", **pr["glx_log_baseline"])
    alpha_sd = pm.Gamma("glx_participant_sd_pct", **pr["glx_participant_sd_pct"])
    if model.choose_parametrisation("glx_participant_offset", **scales["participant"]):
        alpha = pm.ZeroSumNormal(
            "glx_participant_offset", sigma=alpha_sd / 100.0, dims="participant"
        )
    else:
        alpha_z = pm.ZeroSumNormal("glx_participant_z", sigma=1.0, dims="participant")
        alpha = pm.Deterministic(
            "glx_participant_offset", alpha_sd / 100.0 * alpha_z, dims="participant"
        )
    period = model.period_effect("glx_period_effect_pct")

    response = pm.Normal("glx_response", **pr["glx_response"])
    a_level = model.factor_effect(
        "glx_condition_effect",
        "glx_condition_effect",
        outer=model.arm_dims,
        sessions=fmrs.drop_duplicates(["participant_id", "session"]),
        contrast_sd=scales["contrast_sd"],
    )
    covariates = model.covariate_term("glx", spec.glx_covariates)
    response_sd = pm.Gamma("glx_response_sd", **pr["glx_response_sd"])
    level = model.participant_level()
    if model.multi_arm:  # a[k, g]: one effect per active condition k
        person = (a_level[:, level].T[:, None, :] * active_d).sum(axis=-1)
    else:
        person = a_level[level][:, None] * active_d
    if covariates is not None:
        person = person + covariates[:, None]
    if spec.carryover:
        person = person + model.carryover_term("glx_carryover_pct")
    session_dims = ("participant", "session")
    if model.choose_parametrisation("glx_session_response", **scales["session"]):
        amplitude = pm.Normal(
            "glx_session_response", mu=response + person, sigma=response_sd, dims=session_dims
        )
    else:
        response_z = pm.Normal("glx_session_z", 0.0, 1.0, dims=session_dims)
        amplitude = pm.Deterministic(
            "glx_session_response", response + person + response_sd * response_z, dims=session_dims
        )
    model.pooled_and_sex_difference("glx_condition_effect", a_level)
    model.level_contrasts("glx_condition_effect", a_level)

    mu = (
        beta0
        + alpha[part_idx]
        + model.period_term(period / 100.0, session)
        + amplitude[part_idx, session - 1] / 100.0 * profile_d
    )
    sigma = pm.HalfNormal("glx_noise_pct", **pr["glx_noise_pct"]) / 100.0
    if spec.measurement_error:
        crlb = fmrs["crlb_pct"].to_numpy(dtype=float)
        if np.isnan(crlb).any():
            raise SpecError(
                f"model {spec.name!r} asks for measurement_error but study "
                f"{study.name!r} lacks crlb_pct on {int(np.isnan(crlb).sum())} fMRS rows"
            )
        crlb_d = pm.Data("fmrs_crlb_pct", crlb, dims="fmrs_obs")
        sigma = pt.sqrt(sigma**2 + (crlb_d / 100.0) ** 2)
    log_glx = np.log(fmrs["glx"].to_numpy(dtype=float))
    observed = pm.Data("log_glx_observed", log_glx, dims="fmrs_obs")
    if spec.glx_noise == "student_t":
        nu = pm.Gamma("glx_noise_nu", **pr["glx_noise_nu"])
        pm.StudentT("log_glx", nu=nu, mu=mu, sigma=sigma, observed=observed, dims="fmrs_obs")
    else:
        pm.Normal("log_glx", mu=mu, sigma=sigma, observed=observed, dims="fmrs_obs")
    return amplitude, response


def glutamate_coords(model: CrossoverModel) -> dict[str, np.ndarray]:
    """Return the coords of the glutamate component: its fMRS observations."""
    return {"fmrs_obs": np.arange(len(fmrs_rows(model)))}


def glutamate_labels(model: CrossoverModel) -> pd.DataFrame:
    """Return the labels of each fMRS observation (participant, session, block, ...).

    Those of :meth:`~CrossoverModel.row_labels`, then ``block`` and ``time_min``.
    """
    fmrs = model.study.fmrs
    if fmrs is None:
        raise ValueError(f"study {model.study.name!r} has no fMRS table")
    return model.row_labels(
        fmrs,
        block=fmrs["block"].to_numpy(dtype=int),
        time_min=fmrs["time_min"].to_numpy(dtype=float),
    )


class GlutamateModel(CrossoverModel):
    r"""Glutamate dynamics: Glx/tNAA per fMRS block, pooled by sex or another factor.

    The likelihood and priors are those of :func:`add_glutamate_component`, whose
    docstring gives the mathematics. Key effects: ``glx_response`` (R, percent),
    ``glx_condition_effect`` (:math:`a_g` per level of the pooling factor, percent
    points), ``glx_condition_effect_pooled`` (their mean over the levels) and, by sex,
    ``glx_sex_difference`` (:math:`a_M - a_F`) or, by another factor,
    ``glx_condition_effect_contrast`` (:math:`a_b - a_a` for every pair of levels).
    Default priors are ``DEFAULT_PRIORS``; a spec overrides any hyperparameter.
    """

    family = "glutamate"
    DEFAULT_PRIORS = GLX_DEFAULT_PRIORS
    observed_vars = ("log_glx",)
    CONTRASTED = ("glx_condition_effect",)
    CARRYOVER = ("glx_carryover_pct",)
    KEY_EFFECTS = (
        "glx_response",
        "glx_condition_effect",
        "glx_condition_effect_pooled",
        "glx_sex_difference",
    )

    def build(self) -> pm.Model:
        """Build the glutamate model."""
        coords = {**self.coords(), **glutamate_coords(self)}
        with pm.Model(coords=coords) as model:
            self.add_design_data()
            add_glutamate_component(self)
        return model

    def observation_labels(self) -> dict[str, pd.DataFrame]:
        """Return the labels of the fMRS observations."""
        return {"log_glx": glutamate_labels(self)}
