"""The shared shape of every model family: one class per family, built from a spec.

Following CausalPy, each family is a class whose docstring carries its mathematics and
whose default priors are data (``DEFAULT_PRIORS``). A spec may override any default
prior hyperparameter; naming a prior the family does not have is a :class:`SpecError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt

from bayes_ketamine.data.study import SEXES, Study
from bayes_ketamine.models.spec import ModelSpec, SpecError


class CrossoverModel(ABC):
    """A PyMC model of a two-period crossover study, built from a spec and a study.

    Every array that comes from the study (indices, indicators, covariates, observed
    values, the scale's bounds) enters the graph as ``pm.Data`` and every study size as
    a coordinate, never as a constant, so the graph depends only on the model's
    *structure*: one compiled model fits any study of the same design (see
    :mod:`bayes_ketamine.inference.structure`). Choices the study does drive (e.g.
    centred or non-centred participant levels) are structure and give another graph.

    Parameters
    ----------
    spec : ModelSpec
        The validated model specification.
    study : Study
        The validated study.

    Attributes
    ----------
    pymc_model : pymc.Model
        The built model, with named dims and coords.
    observed_vars : tuple of str
        Names of the observed random variables (one per likelihood).
    key_effects : tuple of str
        Names of the derived quantities that answer the study's question; reported in
        summaries, sensitivity checks and figures.
    """

    family: ClassVar[str]
    DEFAULT_PRIORS: ClassVar[dict[str, dict[str, float]]]
    observed_vars: ClassVar[tuple[str, ...]]
    key_effects: ClassVar[tuple[str, ...]]

    def __init__(self, spec: ModelSpec, study: Study) -> None:
        if spec.family != self.family:
            raise SpecError(f"spec {spec.name!r} is family {spec.family!r}, not {self.family!r}")
        self.spec = spec
        self.study = study
        self.priors = self._merge_priors(spec)
        self.pymc_model = self.build()

    @classmethod
    def _merge_priors(cls, spec: ModelSpec) -> dict[str, dict[str, float]]:
        where = str(spec.source) if spec.source else spec.name
        merged = {name: dict(hyper) for name, hyper in cls.DEFAULT_PRIORS.items()}
        for name, hyper in spec.priors.items():
            if name not in merged:
                raise SpecError(
                    f"{where}: unknown key 'priors.{name}' for family {cls.family!r}; "
                    f"known priors: {', '.join(sorted(merged))}"
                )
            unknown = set(hyper) - set(merged[name])
            if unknown:
                raise SpecError(
                    f"{where}: unknown key(s) "
                    f"{', '.join(f'priors.{name}.{h}' for h in sorted(unknown))}; "
                    f"expected {', '.join(sorted(merged[name]))}"
                )
            for hname, value in hyper.items():
                if hname in {"sigma", "nu", "alpha", "beta"} and value <= 0:
                    raise SpecError(f"{where}: key 'priors.{name}.{hname}' must be positive")
            merged[name].update(hyper)
        return merged

    @abstractmethod
    def build(self) -> pm.Model:
        """Build and return the PyMC model."""

    @abstractmethod
    def observation_labels(self) -> dict[str, pd.DataFrame]:
        """Return, per observed variable, the labels of each observation.

        Returns
        -------
        dict of str to pandas.DataFrame
            One frame per name in ``observed_vars``, one row per observation in the
            order of the observation dimension, with columns such as
            ``participant_id``, ``session``, ``condition``, ``sex`` and ``timepoint`` or
            ``block``. Posterior predictive statistics group by these.
        """

    # -- helpers shared by the families -------------------------------------------

    def coords(self) -> dict[str, list]:
        """Return the coords shared by all families."""
        return {
            "participant": self.study.participant_ids,
            "sex": list(SEXES),
            "session": [1, 2],
            "condition": list(self.study.conditions),
        }

    def add_design_data(self) -> None:
        """Store each participant's sex index (into ``SEXES``) as data."""
        pm.Data("participant_sex", self.sex_index(), dims="participant")

    @staticmethod
    def participant_sex() -> pt.TensorVariable:
        """Return the data of each participant's sex index, in the current model."""
        return pm.modelcontext(None)["participant_sex"]

    def sex_index(self) -> np.ndarray:
        """Return each participant's sex as an index into ``SEXES``."""
        return self.study.participants["sex"].map({s: i for i, s in enumerate(SEXES)}).to_numpy()

    def participant_index(self, table: pd.DataFrame) -> np.ndarray:
        """Return the participant index of each row of ``table``."""
        order = {pid: i for i, pid in enumerate(self.study.participant_ids)}
        return table["participant_id"].map(order).to_numpy(dtype=int)

    def sex_effect(self, name: str, prior: str, dims: str | tuple[str, ...] = "sex"):
        """Return a per-sex effect pooled as the spec says.

        With ``pooling = "none"`` each sex has its own effect with the prior
        ``Normal(mu, sigma)``. With ``"complete"`` one effect is shared by both sexes.
        With ``"partial"`` (non-centred)::

            effect[sex] = mean + sd * z[sex],   z ~ Normal(0, 1)
            mean ~ Normal(mu, sigma),          sd ~ HalfNormal(sd_sigma)

        The hyperprior ``sd_sigma`` is taken from the prior ``{prior}_sex_sd``. With only
        two groups the data barely inform a between-group SD, so its prior is a
        half-normal on the scale of a plausible sex difference rather than a
        vague one: it regularises towards pooling while letting a sex difference of
        that size through.

        Parameters
        ----------
        name : str
            Name of the resulting Deterministic (dims ``sex``).
        prior : str
            Name of the prior in ``self.priors`` for the mean effect.
        dims : str or tuple of str
            Dims of the effect, the last one ``"sex"``.

        Returns
        -------
        pytensor.tensor.TensorVariable
        """
        dims = (dims,) if isinstance(dims, str) else tuple(dims)
        outer = dims[:-1]
        p = self.priors[prior]
        pooling = self.spec.pooling
        if pooling == "none":
            return pm.Normal(name, mu=p["mu"], sigma=p["sigma"], dims=dims)
        mean = pm.Normal(f"{name}_mean", mu=p["mu"], sigma=p["sigma"], dims=outer or None)
        mean_b = mean[..., None] if outer else mean
        if pooling == "complete":
            return pm.Deterministic(name, mean_b * pt.ones(len(SEXES)), dims=dims)
        sd = pm.HalfNormal(
            f"{name}_sex_sd", sigma=self.priors[f"{prior}_sex_sd"]["sigma"], dims=outer or None
        )
        sd_b = sd[..., None] if outer else sd
        z = pm.Normal(f"{name}_sex_z", 0.0, 1.0, dims=dims)
        return pm.Deterministic(name, mean_b + sd_b * z, dims=dims)


def response_profile(time_min: np.ndarray, tau_min: float) -> np.ndarray:
    """Return the shape of the glutamate response to the infusion over time.

    ``f(t) = 0`` before the infusion starts and ``f(t) = 1 - exp(-t / tau)`` after,
    so the amplitude is the plateau response approached during the 40-minute infusion.

    Parameters
    ----------
    time_min : numpy.ndarray
        Block midpoints in minutes from the start of the infusion.
    tau_min : float
        Time constant in minutes.

    Returns
    -------
    numpy.ndarray
        Values in ``[0, 1)``.
    """
    t = np.asarray(time_min, dtype=float)
    return np.where(t > 0, -np.expm1(-np.clip(t, 0, None) / tau_min), 0.0)
