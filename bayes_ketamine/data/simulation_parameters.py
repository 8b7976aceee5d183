"""The parameters of the study simulator: their defaults, TOML form and file reading.

:func:`bayes_ketamine.data.simulate_study` draws a study from them (its module
docstring gives the generative model each field enters). This module imports nothing
heavy, so the command line reads the defaults (e.g. the effects in the help of
``bayes-ketamine power``) without starting numpy or pandas.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bayes_ketamine.data.toml_file import read_toml

CONDITIONS: tuple[str, str] = ("placebo", "naltrexone")
"""Condition labels of simulated studies, reference first."""


@dataclass(frozen=True)
class SimulationParameters:
    """Every magnitude of the simulated study; all adjustable.

    Parameters
    ----------
    male_fraction : float
        Fraction of males (``round(n * male_fraction)`` males).
    block_times_min : tuple of float
        fMRS block midpoints in minutes from infusion start (block index = position).
    tau_min : float
        Time constant of the Glx rise during the infusion, minutes.
    glx_baseline : float
        Population Glx/tNAA ratio before the infusion (ratio, unitless).
    glx_participant_sd_pct : float
        SD of participant baselines on the log scale, percent.
    glx_noise_pct : float
        SD of per-block measurement noise on the log scale, percent.
    period_glx_pct : float
        Shift of log Glx in session 2 versus session 1, percent.
    glx_response_pct : float
        Mean ketamine Glx response amplitude under placebo, percent.
    glx_condition_effect_pct : dict
        Naltrexone effect on the amplitude by sex (``"F"``, ``"M"``), percent.
    glx_response_sd_pct : float
        SD of the amplitude across participant-sessions, percent.
    crlb_range_pct : tuple of float
        Range of the reported Cramer-Rao lower bounds, percent.
    madrs_baseline_mean : float
        Mean pre-infusion MADRS, points.
    madrs_baseline_mean_by_level : dict
        Optional: that mean per level of ``effects_by``, replacing
        ``madrs_baseline_mean``; empty (the default) for one mean.
    madrs_participant_sd : float
        SD of participant MADRS levels, points.
    period_madrs : float
        MADRS shift in session 2 versus session 1, points.
    ketamine_madrs_change : float
        Mean MADRS change from pre to 24 h under placebo pretreatment, points.
    ketamine_madrs_change_by_level : dict
        Optional: that change per level of ``effects_by`` (e.g. ``{"A": -4.0, "B":
        -12.0}`` by site), replacing ``ketamine_madrs_change``; empty (the default)
        for one change shared by every level.
    direct_effect : dict
        Naltrexone effect on the MADRS change not via Glx, by sex, points.
    effect_b : float
        MADRS change per percent of Glx amplitude above its mean, points per percent.
    madrs_noise_sd : float
        SD of rating noise, points.
    pre_hours, post_hours : float
        Times of the ``pre`` and ``24h`` ratings, hours from infusion start.
    madrs_min, madrs_max : int
        Bounds of the MADRS scale; scores are clipped to them.
    dropout_fraction : float
        Fraction of participants who lose their whole session 2.
    missing_score_fraction : float
        Fraction of the remaining ratings whose score is missing.
    sequences : tuple of str
        Sequences of the design; empty for the two-period AB/BA counterbalance.
    carryover_glx_pct : float or dict
        Shift of the Glx amplitude in a session after a session under an active
        condition, percent: one number for every active condition, or a dict from
        each active condition to its own (see :meth:`carryover`).
    carryover_madrs : float or dict
        Shift of the MADRS change in a session after a session under an active
        condition, points; a number or a dict as ``carryover_glx_pct``.
    extra_glx_condition_effect_pct, extra_direct_effect : dict
        Conditions beyond the two (label to ``{level: effect}``), their effects on the
        Glx amplitude (percent) and the direct MADRS effects (points).
    sites : tuple of str
        Site labels; empty for a single-site study without a ``site`` column.
    effects_by : {"sex", "site"}
        The factor whose levels key ``glx_condition_effect_pct`` and ``direct_effect``.
    covariates : dict
        Participant covariates, ``{name: (mean, sd)}`` of a normal distribution.
    glx_covariate_effect_pct : dict
        Effect on the Glx amplitude per sample SD of each covariate, percent.
    symptom_covariate_effect : dict
        Effect on the MADRS change per sample SD of each covariate, points.
    """

    male_fraction: float = 0.5
    block_times_min: tuple[float, ...] = (-10, 5, 15, 25, 35)
    tau_min: float = 10.0
    glx_baseline: float = 0.95
    glx_participant_sd_pct: float = 8.0
    glx_noise_pct: float = 6.0
    period_glx_pct: float = 0.0
    glx_response_pct: float = 6.0
    glx_condition_effect_pct: dict[str, float] = field(
        default_factory=lambda: {"F": -1.5, "M": -4.5}
    )
    glx_response_sd_pct: float = 3.0
    crlb_range_pct: tuple[float, float] = (3.0, 6.0)
    madrs_baseline_mean: float = 30.0
    madrs_baseline_mean_by_level: dict[str, float] = field(default_factory=dict)
    madrs_participant_sd: float = 5.0
    period_madrs: float = -1.0
    ketamine_madrs_change: float = -12.0
    ketamine_madrs_change_by_level: dict[str, float] = field(default_factory=dict)
    direct_effect: dict[str, float] = field(default_factory=lambda: {"F": 2.0, "M": 2.0})
    effect_b: float = -0.4
    madrs_noise_sd: float = 3.5
    pre_hours: float = -1.0
    post_hours: float = 24.0
    madrs_min: int = 0
    madrs_max: int = 60
    dropout_fraction: float = 0.0
    missing_score_fraction: float = 0.0
    sequences: tuple[str, ...] = ()
    carryover_glx_pct: float | dict[str, float] = 0.0
    carryover_madrs: float | dict[str, float] = 0.0
    extra_glx_condition_effect_pct: dict[str, dict[str, float]] = field(default_factory=dict)
    extra_direct_effect: dict[str, dict[str, float]] = field(default_factory=dict)
    sites: tuple[str, ...] = ()
    effects_by: str = "sex"
    covariates: dict[str, tuple[float, float]] = field(default_factory=dict)
    glx_covariate_effect_pct: dict[str, float] = field(default_factory=dict)
    symptom_covariate_effect: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the parameters as TOML-ready values (tuples as lists).

        The design options (:data:`OPTION_FIELDS`) are left out at their defaults, so
        a study simulated without them records exactly what it did before they
        existed.

        Returns
        -------
        dict
            Field name to value.
        """
        values = {}
        for name, value in stated_fields(self, OPTION_FIELDS).items():
            if isinstance(value, dict):
                value = {k: list(v) if isinstance(v, tuple) else v for k, v in value.items()}
            values[name] = list(value) if isinstance(value, tuple) else value
        return values

    @classmethod
    def from_dict(
        cls, values: dict[str, Any], *, where: str = "simulation parameters"
    ) -> SimulationParameters:
        """Return parameters from TOML-style values (lists for tuples), e.g. :meth:`to_dict`.

        Fields left out keep their defaults, so a file need only name what differs.

        Parameters
        ----------
        values : dict
            Field name to value.
        where : str
            Named in the error (e.g. the file the values came from).

        Returns
        -------
        SimulationParameters

        Raises
        ------
        ValueError
            Naming ``where`` and every key that is not a field, a number field given
            something else, or the conditions the sequences name that have no effects.

        Examples
        --------
        >>> params = SimulationParameters.from_dict(
        ...     {"sequences": ["placebo-naltrexone-naltrexone", "naltrexone-placebo-placebo"]}
        ... )
        >>> params.design[0], SimulationParameters.from_dict(params.to_dict()) == params
        ('placebo-naltrexone-naltrexone', True)
        """
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise ValueError(
                f"{where}: unknown simulation parameter(s) {', '.join(unknown)}; "
                f"known: {', '.join(fields)}"
            )
        converted = {}
        for name, value in values.items():
            default = fields[name].default
            numeric = isinstance(default, int | float) and not isinstance(default, bool)
            if numeric and (isinstance(value, bool) or not isinstance(value, int | float | dict)):
                raise ValueError(f"{where}: {name} must be a number, got {value!r}")
            if isinstance(value, list):
                value = tuple(value)
            elif name == "covariates" and isinstance(value, dict):
                value = {k: tuple(v) for k, v in value.items()}
            converted[name] = value
        params = cls(**converted)
        named = {c for sequence in params.sequences for c in sequence.split("-")}
        undeclared = sorted(named - set(params.conditions))
        if undeclared:
            raise ValueError(
                f"{where}: sequences name condition(s) {', '.join(undeclared)} without "
                "effects; give each its effects in extra_glx_condition_effect_pct and "
                f"extra_direct_effect (known conditions: {', '.join(params.conditions)})"
            )
        return params

    @property
    def levels(self) -> tuple[str, ...]:
        """The levels of the factor the condition effects are keyed by."""
        from bayes_ketamine.data.study import SEXES

        return SEXES if self.effects_by == "sex" else self.sites

    @property
    def conditions(self) -> tuple[str, ...]:
        """The condition labels, reference first."""
        return CONDITIONS + tuple(self.extra_glx_condition_effect_pct)

    @property
    def design(self) -> tuple[str, ...]:
        """The sequences participants are spread over."""
        reference, active = CONDITIONS
        return self.sequences or (f"{reference}-{active}", f"{active}-{reference}")

    def carryover(self, name: str) -> dict[str, float]:
        """Return a carry-over field per active condition.

        Parameters
        ----------
        name : {"carryover_glx_pct", "carryover_madrs"}
            The field: a number (the same for every active condition) or a dict.

        Returns
        -------
        dict
            Active condition to its carry-over into the next session.

        Examples
        --------
        >>> params = SimulationParameters(
        ...     extra_glx_condition_effect_pct={"midazolam": {"F": -6.0, "M": -6.0}},
        ...     extra_direct_effect={"midazolam": {"F": 6.0, "M": 6.0}},
        ...     sequences=("placebo-naltrexone-midazolam", "midazolam-placebo-naltrexone"),
        ...     carryover_glx_pct=-2.0,
        ... )
        >>> params.carryover("carryover_glx_pct")
        {'naltrexone': -2.0, 'midazolam': -2.0}
        """
        value = getattr(self, name)
        if isinstance(value, dict):
            return {k: float(value[k]) for k in self.conditions[1:]}
        return dict.fromkeys(self.conditions[1:], float(value))


OPTION_FIELDS = (
    "sequences",
    "carryover_glx_pct",
    "carryover_madrs",
    "extra_glx_condition_effect_pct",
    "extra_direct_effect",
    "sites",
    "effects_by",
    "covariates",
    "glx_covariate_effect_pct",
    "symptom_covariate_effect",
    "ketamine_madrs_change_by_level",
    "madrs_baseline_mean_by_level",
)
"""Fields of :class:`SimulationParameters` for designs beyond GO-MARK's."""


def read_simulation_parameters(path: str | Path) -> SimulationParameters:
    """Read simulation parameters from a TOML file.

    The file either lists fields of :class:`SimulationParameters` at its top level
    (only those that differ from the defaults) or is a simulated study's
    ``study.toml``, whose ``[simulation.parameters]`` table is used.

    Parameters
    ----------
    path : str or pathlib.Path
        The TOML file.

    Returns
    -------
    SimulationParameters

    Raises
    ------
    ValueError
        Naming the file: missing, not TOML, an unknown field or an invalid value.
    """
    raw = read_toml(path, what="simulation parameter file")
    if "simulation" in raw:
        raw = raw["simulation"].get("parameters", {})
    return SimulationParameters.from_dict(raw, where=str(path))


def _default(f: dataclasses.Field) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def stated_fields(obj: Any, options: tuple[str, ...]) -> dict[str, Any]:
    """Return a dataclass's fields by name, without ``options`` fields at their default.

    An option left at its default is absent, as in files written before it existed.
    """
    return {
        f.name: getattr(obj, f.name)
        for f in dataclasses.fields(obj)
        if not (f.name in options and getattr(obj, f.name) == _default(f))
    }
