"""Sampler settings: of a fit, of every fold of a cross-validation and of calibration fits.

Every default is stated here once; the command line reads its defaults from these
classes (this module imports nothing heavy, so the CLI stays quick to start).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any

from bayes_ketamine.digests import digest

CORES = 2
"""Cores the defaults are sized for (the project's machines): chains run in parallel
by a fit, and worker processes of a local Dask cluster."""

MASTER_SEED = 2025
"""Master random seed of a fit (:class:`FitSettings`) and of a calibration run unless
one is given."""

SAMPLERS: tuple[str, ...] = ("nutpie", "pymc", "numpyro")
"""NUTS implementations a fit may use; the first is the default."""


@dataclass(frozen=True)
class FitSettings:
    """How a model is sampled.

    Every field is part of the artifact's provenance key: changing any of them makes
    :func:`bayes_ketamine.inference.fit` refit.

    Parameters
    ----------
    sampler : {"nutpie", "pymc", "numpyro"}
        NUTS implementation, always passed explicitly to ``pymc.sample``.
    draws, tune, chains : int
        Posterior draws per chain, tuning steps per chain and number of chains.
    seed : int
        Master random seed for prior predictive, posterior and posterior predictive.
    target_accept : float
        Target mean acceptance probability of NUTS step-size adaptation. The default
        0.99 removes the occasional divergence (about 1 in 4000 draws at 0.95) of the
        partially pooled hierarchies; sampling is a few seconds of a fit of this size.
    max_treedepth : int
        Maximum tree depth of NUTS; tree-depth saturation is measured against it.
    cores : int
        Chains run in parallel (ignored by numpyro, which vectorises chains).
    prior_draws : int
        Draws of the prior predictive simulation.

    Examples
    --------
    >>> from bayes_ketamine.inference import FitSettings
    >>> s = FitSettings(draws=200, tune=200)
    >>> FitSettings.from_dict(s.to_dict()) == s
    True
    """

    sampler: str = "nutpie"
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    seed: int = MASTER_SEED
    target_accept: float = 0.99
    max_treedepth: int = 10
    cores: int = CORES
    prior_draws: int = 500

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise ValueError(f"sampler {self.sampler!r} is not one of {', '.join(SAMPLERS)}")
        for name in ("draws", "tune", "chains", "max_treedepth", "cores", "prior_draws"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 0 < self.target_accept < 1:
            raise ValueError(f"target_accept must be in (0, 1), got {self.target_accept!r}")

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as a plain dictionary."""
        return asdict(self)

    def to_json(self) -> str:
        """Return the canonical JSON form stored in artifact attributes."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> FitSettings:
        """Build settings from :meth:`to_dict` output, ignoring unknown keys.

        Parameters
        ----------
        values : dict
            Field values; missing fields take their defaults.

        Returns
        -------
        FitSettings
        """
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    @classmethod
    def from_json(cls, text: str) -> FitSettings:
        """Build settings from :meth:`to_json` output (e.g. an artifact attribute)."""
        return cls.from_dict(json.loads(text))


CV_SETTINGS = FitSettings(draws=500, tune=500, chains=2, cores=1)
"""Sampler settings of every fold of a cross-validation by participant unless given:
1000 draws per fold, one core per Dask worker."""


@dataclass(frozen=True)
class SamplerSettings:
    """nutpie settings of every calibration fit.

    Parameters
    ----------
    draws, tune, chains : int
        Posterior draws and tuning steps per chain; number of chains (run one after
        the other inside a worker, which owns one core).
    target_accept : float
        NUTS target acceptance; the workbench default of every fit
        (:class:`FitSettings`).
    max_treedepth : int
        Maximum tree depth.
    thin_to : int
        Number ``L`` of thinned posterior draws the true value is ranked among
        (rank in ``0..L``).
    """

    draws: int = 500
    tune: int = 500
    chains: int = 2
    target_accept: float = FitSettings.target_accept
    max_treedepth: int = FitSettings.max_treedepth
    thin_to: int = 99

    def key(self) -> str:
        """Return a short stable hash of the settings (part of Dask task keys)."""
        return digest(**asdict(self))[:10]

    def __post_init__(self) -> None:
        if self.thin_to > self.draws * self.chains:
            raise ValueError(
                f"thin_to={self.thin_to} exceeds the {self.draws * self.chains} posterior draws"
            )
