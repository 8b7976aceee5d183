"""Family 3: the joint (mediation) model of glutamate response and next-day symptoms."""

from __future__ import annotations

import pandas as pd
import pymc as pm

from bayes_ketamine.models.base import CrossoverModel
from bayes_ketamine.models.glutamate import (
    GLX_DEFAULT_PRIORS,
    add_glutamate_component,
    glutamate_coords,
    glutamate_labels,
)
from bayes_ketamine.models.symptoms import (
    SYMPTOM_DEFAULT_PRIORS,
    add_symptom_component,
    symptom_coords,
    symptom_labels,
)

JOINT_DEFAULT_PRIORS: dict[str, dict[str, float]] = {
    **GLX_DEFAULT_PRIORS,
    **SYMPTOM_DEFAULT_PRIORS,
    "effect_b": {"mu": 0.0, "sigma": 0.5},
}
"""Default priors: both components' plus the glutamate-to-symptom slope ``effect_b``
(scale points per percent Glx response; a 10 % larger response moves the next-day
score by 5 points at one prior SD)."""


class JointModel(CrossoverModel):
    r"""Joint mediation model: the session's glutamate response predicts next-day symptoms.

    One model holds the glutamate component (:func:`add_glutamate_component`) and the
    symptom component (:func:`add_symptom_component`) linked through the latent
    session response :math:`A_{is}`, so its uncertainty propagates into the symptom
    effects:

    .. math::

        A_{is} &= R + a_{\mathrm{sex}(i)}\,x_{is} + \tau_A z_{is}
            &&\text{(glutamate, per block likelihood)} \\
        \mu^{y}_{ist} &= \dots + [t\ \text{post}]\,\big(d_t + c'_{t,\mathrm{sex}(i)}
            x_{is} + b\,(A_{is} - R)\big) &&\text{(symptoms, censored normal)}

    Derived quantities, per level of the pooling factor (sex by default; written
    :math:`\mathrm{sex}` below), ``*_pooled`` as the mean over the levels and, for a
    factor other than sex, ``*_contrast`` per pair of levels:

    - ``glx_condition_effect`` :math:`a_{\mathrm{sex}}`: effect of the active
      condition (naltrexone) on the glutamate response, percent points;
    - ``effect_b`` :math:`b`: scale points per percent of glutamate response;
    - ``indirect_effect`` :math:`a_{\mathrm{sex}} b`: the part of the condition effect on
      next-day symptoms carried by the glutamate response;
    - ``direct_effect`` :math:`c'_{\mathrm{sex}}` at the primary post timepoint;
    - ``total_effect`` :math:`c'_{\mathrm{sex}} + a_{\mathrm{sex}} b`, comparable to
      ``symptom_condition_effect`` of the symptom-only model.

    The mediation reading assumes no unmeasured confounding of the session response
    and next-day symptoms given the modelled terms; randomisation covers only the
    condition.
    """

    family = "joint"
    DEFAULT_PRIORS = JOINT_DEFAULT_PRIORS
    observed_vars = ("log_glx", "score")
    CONTRASTED = ("glx_condition_effect", "indirect_effect", "direct_effect", "total_effect")
    CARRYOVER = ("glx_carryover_pct", "symptom_carryover")
    KEY_EFFECTS = (
        "glx_condition_effect",
        "effect_b",
        "indirect_effect",
        "direct_effect",
        "total_effect",
        "indirect_effect_pooled",
        "direct_effect_pooled",
        "total_effect_pooled",
    )

    def build(self) -> pm.Model:
        """Build the joint model."""
        coords = {**self.coords(), **glutamate_coords(self), **symptom_coords(self)}
        with pm.Model(coords=coords) as model:
            self.add_design_data()
            amplitude, response = add_glutamate_component(self)
            add_symptom_component(self, glx_link=(amplitude, response))
            a_level = model["glx_condition_effect"]
            dims = (*self.arm_dims, self.factor)
            indirect = pm.Deterministic("indirect_effect", a_level * model["effect_b"], dims=dims)
            total = pm.Deterministic("total_effect", model["direct_effect"] + indirect, dims=dims)
            self.pooled_and_sex_difference("indirect_effect", indirect)
            self.pooled_and_sex_difference("total_effect", total)
            self.level_contrasts("indirect_effect", indirect)
            self.level_contrasts("total_effect", total)
        return model

    def observation_labels(self) -> dict[str, pd.DataFrame]:
        """Return the labels of the fMRS and symptom observations."""
        return {"log_glx": glutamate_labels(self), "score": symptom_labels(self)}
