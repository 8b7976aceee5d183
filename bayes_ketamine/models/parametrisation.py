r"""Centred or non-centred: the parametrisation of a hierarchical term, from the study.

A hierarchical term has levels :math:`\theta_k \sim \mathcal{N}(\mu, \tau)` (participants,
sessions, levels of the pooling factor). It can be sampled *centred*, with
:math:`\theta_k` as the free parameters, or *non-centred*,
:math:`\theta_k = \mu + \tau z_k` with :math:`z_k \sim \mathcal{N}(0, 1)` free. Which
one NUTS explores well depends on how strongly the data inform each level
(Betancourt & Girolami 2015, *Hamiltonian Monte Carlo for hierarchical models*; the
Stan User's Guide, "Reparameterization"): when a level's likelihood is wide compared
with :math:`\tau`, the centred form has a funnel between :math:`\tau` and the levels
and the non-centred form is right; when the likelihood pins each level down, the
non-centred :math:`z_k = (\theta_k - \mu)/\tau` are tied to :math:`\mu` and
:math:`\tau` along a curved ridge and the centred form is right.

The rule. A level informed by :math:`n` observations, each with noise SD
:math:`\sigma_0`, has a likelihood of SD :math:`\sigma_0/\sqrt{n}`; its prior spread
is :math:`\tau_0`. The *information ratio*

.. math::

    r = n\,\frac{\tau_0^2}{\sigma_0^2}

is the data's precision about a level over the prior's. A term is centred when
:math:`r \ge` :data:`CENTRED_MIN_RATIO` (the level's standard error at most 0.41
:math:`\tau_0`) and non-centred otherwise. :math:`n` is a count from the study (the
smallest level for the few levels of a pooling factor, where every level matters; the
median level for participant and session terms, so that a few drop-outs do not flip
the choice); :math:`\sigma_0` and :math:`\tau_0` are nominal scales read from the
model's priors (:func:`nominal_scale`): the choice is deterministic given the spec and
the study, and, since the two forms are different graphs, part of the model's
compiled structure.

The threshold is above 1 because :math:`\tau` is not known in advance: its posterior
reaches well below :math:`\tau_0` (a half-normal prior has a third of its mass below
:math:`0.41\,\sigma`), and the centred form funnels wherever the levels' standard
error exceeds :math:`\tau`. 6 separates the designs measured (``docs/models.md``):
GO-MARK's 13 participants per sex (:math:`r` 1.2-1.6) mix better non-centred, 130 or
more per sex (:math:`r \ge 12`) centred; four ratings per participant
(:math:`r = 7.1`) centred, three (:math:`r = 5.3`) non-centred.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

CENTRED_MIN_RATIO = 6.0
"""Information ratio from which a hierarchical term is centred."""


def nominal_scale(prior: dict[str, float]) -> float:
    """Return the nominal scale of a prior on an SD: its ``sigma``, or a Gamma's mean.

    Parameters
    ----------
    prior : dict
        Hyperparameters of a half-normal (``sigma``) or Gamma (``alpha``, ``beta``)
        prior.

    Returns
    -------
    float

    Examples
    --------
    >>> nominal_scale({"sigma": 4.0}), nominal_scale({"alpha": 2.0, "beta": 0.4})
    (4.0, 5.0)
    """
    if "sigma" in prior:
        return float(prior["sigma"])
    return float(prior["alpha"]) / float(prior["beta"])


@dataclass(frozen=True)
class Parametrisation:
    r"""The parametrisation chosen for one hierarchical term, and why.

    Parameters
    ----------
    observations : float
        Observations per level :math:`n` (smallest or median level, see the module).
    noise_scale : float
        :math:`\sigma_0`, nominal noise SD of one observation about a level.
    level_scale : float
        :math:`\tau_0`, nominal SD of the levels.

    Examples
    --------
    >>> choice = Parametrisation(observations=13, noise_scale=10.0, level_scale=3.0)
    >>> round(choice.ratio, 2), choice.centred
    (1.17, False)
    >>> Parametrisation(observations=130, noise_scale=10.0, level_scale=3.0).name
    'centred'
    """

    observations: float
    noise_scale: float
    level_scale: float

    @property
    def ratio(self) -> float:
        r"""The information ratio :math:`r = n \tau_0^2 / \sigma_0^2`."""
        return self.observations * (self.level_scale / self.noise_scale) ** 2

    @property
    def centred(self) -> bool:
        r"""Whether the term is centred (:math:`r \ge` :data:`CENTRED_MIN_RATIO`)."""
        return self.ratio >= CENTRED_MIN_RATIO

    @property
    def name(self) -> str:
        """``"centred"`` or ``"non-centred"``."""
        return "centred" if self.centred else "non-centred"

    def to_dict(self) -> dict[str, float | str]:
        """Return the record stored in the artifact (``parametrisation_json``)."""
        return {
            "parametrisation": self.name,
            "observations_per_level": round(float(self.observations), 3),
            "noise_scale": round(self.noise_scale, 4),
            "level_scale": round(self.level_scale, 4),
            "information_ratio": round(self.ratio, 3),
            "centred_min_ratio": CENTRED_MIN_RATIO,
        }


def contrast_noise(session_sd: float) -> float:
    """Return the SD of one participant's within-participant condition contrast.

    The difference of two sessions' values, each with SD ``session_sd``.

    Examples
    --------
    >>> round(contrast_noise(5.0), 3)
    7.071
    """
    return math.sqrt(2.0) * session_sd
