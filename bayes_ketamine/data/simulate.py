"""Simulate a GO-MARK-like crossover study with known true effects.

The generative model (every magnitude is a field of :class:`SimulationParameters`):

* Sex: ``round(n * male_fraction)`` males (round half to even), the rest females,
  shuffled. Sequences counterbalanced: ``n - n // 2`` participants
  ``placebo-naltrexone`` and ``n // 2`` ``naltrexone-placebo``, shuffled.
* Ketamine Glx response amplitude (percent) of participant ``i`` in session ``s``:
  ``A[i,s] = glx_response_pct + glx_condition_effect_pct[sex_i] * naltrexone[i,s]
  + glx_response_sd_pct * z[i,s]`` with ``z ~ N(0, 1)``.
* fMRS blocks at ``block_times_min`` (block index 0, 1, ...), infusion profile
  ``f(t) = 0`` for ``t <= 0`` else ``1 - exp(-t / tau_min)``:
  ``log glx[i,s,b] = log(glx_baseline) + alpha_i + period_glx_pct/100 * (s == 2)
  + A[i,s]/100 * f(t_b) + e`` with ``alpha_i ~ N(0, glx_participant_sd_pct/100)``,
  ``e ~ N(0, glx_noise_pct/100)``. ``glx`` is reported to 6 decimals.
* ``crlb_pct``: uniform on ``crlb_range_pct`` per block (reported, not used in the
  noise), reported to 2 decimals.
* MADRS ``pre`` (``pre_hours``) and ``24h`` (``post_hours``) per session:
  ``y = madrs_baseline_mean + p_i + period_madrs * (s == 2) + post *
  (ketamine_madrs_change + direct_effect[sex_i] * naltrexone[i,s]
  + effect_b * (A[i,s] - glx_response_pct)) + e`` with ``p_i ~ N(0,
  madrs_participant_sd)``, ``e ~ N(0, madrs_noise_sd)``; rounded to integers (half to
  even) then clipped to ``[madrs_min, madrs_max]``. Clipping censors the scores at the
  scale bounds (rare with the defaults).
* Dropout: ``round(n * dropout_fraction)`` participants lose their whole session 2
  (no fMRS, no ratings); then ``round(m * missing_score_fraction)`` of the ``m``
  remaining ratings have their score removed (rows kept, score missing).

Options beyond the GO-MARK design (off by default):

* Sites: with ``sites`` non-empty, participant ``i`` gets the site
  ``sites[i % K]`` (``K`` sites, balanced), the assignment shuffled; it is the
  ``site`` column of ``participants.csv``.
* Effects by another factor: ``effects_by = "site"`` keys ``glx_condition_effect_pct``
  and ``direct_effect`` by site instead of sex (``sex[i]`` above becomes
  ``site[i]``).
* Periods and sequences: ``sequences`` lists the sequences (conditions in period
  order joined by ``-``, all of one length ``P``), e.g.
  ``("placebo-naltrexone-naltrexone", "naltrexone-placebo-placebo")`` for a
  three-period design or Balaam's ``placebo-naltrexone``, ``naltrexone-placebo``,
  ``placebo-placebo``, ``naltrexone-naltrexone`` (``study.toml`` then says
  ``repeated_conditions = true``); the default is the two-period ``placebo-naltrexone`` /
  ``naltrexone-placebo``. Participants are spread over the sequences as evenly as
  possible (the first sequences get one more), then shuffled. Every period after the
  first gets the period shifts above (``period_glx_pct``, ``period_madrs``); dropout
  loses every session after the first. ``study.toml`` then has ``periods = P``.
* Carry-over: in a session that follows a session under active condition ``k``
  (any but ``placebo``), ``A[i,s]`` gains ``carryover_glx_pct[k]`` and the MADRS
  change ``carryover_madrs[k]`` (besides the part of the Glx carry-over that reaches
  the MADRS through ``effect_b``); nothing follows a placebo session or the first
  period. Each field is a number, the carry-over of every active condition (with two
  conditions: of naltrexone), or a dict naming each active condition, e.g.
  ``{"naltrexone": -3.0, "midazolam": 2.0}``.
* More conditions: each entry ``label: {level: effect}`` of
  ``extra_glx_condition_effect_pct`` adds a condition after ``placebo`` and
  ``naltrexone`` (e.g. ``midazolam``) whose effect on ``A[i,s]`` is
  ``extra_glx_condition_effect_pct[label][sex_i]`` and whose direct MADRS effect is
  ``extra_direct_effect[label][sex_i]``, exactly like naltrexone's; ``sequences`` must
  then name the conditions (e.g. a Williams design). Each active condition carries
  over as above.
* Reference change and baseline per level: ``ketamine_madrs_change_by_level`` (a dict
  keyed by every level of ``effects_by``) replaces ``ketamine_madrs_change`` above by
  ``ketamine_madrs_change_by_level[level_i]``, the placebo change of participant
  ``i``'s level (truth ``symptom_change_reference``, by level; the models'
  ``symptom_change_reference`` with ``design.reference_change_by_level``);
  ``madrs_baseline_mean_by_level`` likewise replaces ``madrs_baseline_mean`` (the
  models' ``symptom_baseline`` with ``design.baseline_by_level``).
* Covariates: each entry ``name: (mean, sd)`` of ``covariates`` draws a normal
  participant covariate, reported to one decimal as a column of
  ``participants.csv``. With ``w[i,k]`` the reported value standardised over the
  study's participants (mean 0, sample SD 1, as the models do),
  ``A[i,s] += sum_k glx_covariate_effect_pct[k] * w[i,k]`` and the MADRS change
  gains ``sum_k symptom_covariate_effect[k] * w[i,k]``; the coefficients are the
  truths the models estimate.

Random draws come from ``numpy.random.default_rng(seed)`` in this order: sex,
sequence, ``alpha``, ``z``, Glx noise, CRLB, ``p``, MADRS noise, dropout, missing
scores; dropout and missing scores are drawn last, so they thin a study without
changing its other values. The options draw from a second generator,
``default_rng([seed, 1])`` (sites, then covariates), so a study without them is
exactly what it was before they existed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bayes_ketamine.api import deprecated_call_forms
from bayes_ketamine.data.reading import text_table
from bayes_ketamine.data.simulation_parameters import (
    CONDITIONS,
    SimulationParameters,
    stated_fields,
)
from bayes_ketamine.data.study import Study
from bayes_ketamine.data.validation import validate_tables

SIMULATED_DESCRIPTION = (
    "SIMULATED DATA generated by bayes_ketamine.data.simulate_study from documented "
    "assumptions (docs/data_format.md, study.toml [simulation]); these are not "
    "measurements of any person."
)


@dataclass(frozen=True)
class SimulationTruth:
    """The true values behind a simulated study, named as the model variables.

    Per-level values are dicts by level of the factor the effects are keyed by
    (``{"F": ..., "M": ...}`` by default, or by site); ``*_pooled`` values are the
    means over the levels. Glx quantities are in percent, symptom quantities in
    MADRS points.

    Parameters
    ----------
    glx_response : float
        Mean ketamine Glx amplitude under the reference condition, percent.
    glx_condition_effect : dict
        Effect ``a`` of naltrexone on the Glx amplitude by sex, percent.
    effect_b : float
        Effect ``b`` of the Glx amplitude on the MADRS change, points per percent.
    indirect_effect : dict
        ``a * b`` by sex, points.
    direct_effect : dict
        Naltrexone effect on the MADRS change not via Glx, by sex, points.
    total_effect : dict
        ``direct_effect + indirect_effect`` by sex, points.
    symptom_condition_effect : dict
        What a symptom-only model estimates: equals ``total_effect``.
    glx_condition_effect_pooled, indirect_effect_pooled, direct_effect_pooled, \
total_effect_pooled, symptom_condition_effect_pooled : float
        Means over the two sexes.
    ketamine_symptom_change : float
        Mean MADRS change pre to 24 h under the reference condition, points (with a
        change per level, the mean over the levels).
    participant_ids : tuple of str
        Row labels of ``glx_amplitude``.
    glx_amplitude : numpy.ndarray
        Realised amplitudes ``A`` (participant, session 1..P), percent; NaN for
        sessions lost to dropout.
    glx_covariate_effect, symptom_covariate_effect : dict
        Covariate effects per sample SD (empty without covariates).
    condition_effects : dict
        With more than two conditions: per non-reference condition, its
        ``glx_condition_effect``, ``direct_effect``, ``indirect_effect``,
        ``total_effect`` (by level) and their ``*_pooled`` means (empty otherwise).
    glx_carryover : float or dict
        Carry-over of naltrexone into the next session's Glx amplitude, percent (the
        model's ``glx_carryover_pct``). With more than two conditions and any
        carry-over, a dict by active condition, as the model's vector over
        ``active_condition``; 0.0 (no condition carries over) otherwise.
    symptom_carryover : float or dict
        The total carry-over into the MADRS change, ``carryover_madrs + effect_b *
        carryover_glx_pct`` (per active condition): what a symptom-only model
        estimates. A number or a dict as ``glx_carryover``.
    direct_carryover : float or dict
        ``carryover_madrs``, the joint model's symptom carry-over; a number or a dict
        as ``glx_carryover``.
    symptom_change_reference : dict
        With ``ketamine_madrs_change_by_level``: the change pre to 24 h under the
        reference condition by level, points (empty otherwise).
    """

    glx_response: float
    glx_condition_effect: dict[str, float]
    effect_b: float
    indirect_effect: dict[str, float]
    direct_effect: dict[str, float]
    total_effect: dict[str, float]
    symptom_condition_effect: dict[str, float]
    glx_condition_effect_pooled: float
    indirect_effect_pooled: float
    direct_effect_pooled: float
    total_effect_pooled: float
    symptom_condition_effect_pooled: float
    ketamine_symptom_change: float
    participant_ids: tuple[str, ...]
    glx_amplitude: np.ndarray = field(compare=False)
    glx_covariate_effect: dict[str, float] = field(default_factory=dict)
    symptom_covariate_effect: dict[str, float] = field(default_factory=dict)
    condition_effects: dict[str, dict[str, Any]] = field(default_factory=dict)
    glx_carryover: float | dict[str, float] = 0.0
    symptom_carryover: float | dict[str, float] = 0.0
    direct_carryover: float | dict[str, float] = 0.0
    symptom_change_reference: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_parameters(
        cls, params: SimulationParameters, participant_ids: tuple[str, ...], amplitude: np.ndarray
    ) -> SimulationTruth:
        """Derive the true effects from the generating parameters.

        Parameters
        ----------
        params : SimulationParameters
            Generating parameters.
        participant_ids : tuple of str
            Participants in row order of ``amplitude``.
        amplitude : numpy.ndarray
            Realised amplitudes, shape (participant, periods).

        Returns
        -------
        SimulationTruth
            The truth.
        """
        levels = params.levels
        a = {level: float(params.glx_condition_effect_pct[level]) for level in levels}
        b = float(params.effect_b)
        direct = {level: float(params.direct_effect[level]) for level in levels}
        indirect = {level: a[level] * b for level in levels}
        total = {level: direct[level] + indirect[level] for level in levels}
        by_level = {g: float(v) for g, v in params.ketamine_madrs_change_by_level.items()}
        return cls(
            glx_response=float(params.glx_response_pct),
            glx_condition_effect=a,
            effect_b=b,
            indirect_effect=indirect,
            direct_effect=direct,
            total_effect=total,
            symptom_condition_effect=dict(total),
            glx_condition_effect_pooled=_mean(a),
            indirect_effect_pooled=_mean(indirect),
            direct_effect_pooled=_mean(direct),
            total_effect_pooled=_mean(total),
            symptom_condition_effect_pooled=_mean(total),
            ketamine_symptom_change=(
                _mean(by_level) if by_level else float(params.ketamine_madrs_change)
            ),
            participant_ids=tuple(participant_ids),
            glx_amplitude=np.asarray(amplitude, dtype=float),
            glx_covariate_effect=dict(params.glx_covariate_effect_pct),
            symptom_covariate_effect=dict(params.symptom_covariate_effect),
            condition_effects=_condition_effects(params) if params.extra_direct_effect else {},
            **_carryover_truths(params),
            symptom_change_reference=by_level,
        )

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SimulationTruth:
        """Rebuild the truth from :meth:`to_dict` output (e.g. a ``study.toml``).

        Parameters
        ----------
        values : dict
            As returned by :meth:`to_dict`.

        Returns
        -------
        SimulationTruth
            The truth.
        """
        fields = dict(values)
        fields["participant_ids"] = tuple(fields["participant_ids"])
        fields["glx_amplitude"] = np.asarray(fields["glx_amplitude"], dtype=float)
        return cls(**fields)

    def to_dict(self) -> dict[str, Any]:
        """Return the truth as TOML-ready values (arrays as nested lists).

        Returns
        -------
        dict
            Field name to value.
        """
        values = stated_fields(self, TRUTH_OPTION_FIELDS)
        values["participant_ids"] = list(self.participant_ids)
        values["glx_amplitude"] = self.glx_amplitude.tolist()
        return values


TRUTH_OPTION_FIELDS = (
    "condition_effects",
    "glx_covariate_effect",
    "symptom_covariate_effect",
    "glx_carryover",
    "symptom_carryover",
    "direct_carryover",
    "symptom_change_reference",
)
"""Fields of :class:`SimulationTruth` that only the design options give values."""


def _condition_effects(params: SimulationParameters) -> dict[str, dict[str, Any]]:
    """Return the true effects of every non-reference condition (more than two)."""
    b = float(params.effect_b)
    glx = {CONDITIONS[1]: params.glx_condition_effect_pct, **params.extra_glx_condition_effect_pct}
    direct = {CONDITIONS[1]: params.direct_effect, **params.extra_direct_effect}
    out: dict[str, dict[str, Any]] = {}
    for condition in params.conditions[1:]:
        a = {g: float(glx[condition][g]) for g in params.levels}
        d = {g: float(direct[condition][g]) for g in params.levels}
        effects = {
            "glx_condition_effect": a,
            "direct_effect": d,
            "indirect_effect": {g: a[g] * b for g in a},
            "total_effect": {g: d[g] + a[g] * b for g in a},
        }
        out[condition] = {
            **effects,
            **{f"{name}_pooled": _mean(values) for name, values in effects.items()},
        }
    return out


def _carryover_truths(params: SimulationParameters) -> dict[str, float | dict[str, float]]:
    """Return the true carry-over of every active condition, shaped as the models' terms.

    A number with two conditions (scalar ``glx_carryover_pct``) or when no condition
    carries over (every condition's is 0); a dict by active condition otherwise.
    """
    glx = params.carryover("carryover_glx_pct")
    direct = params.carryover("carryover_madrs")
    truths: dict[str, dict[str, float]] = {
        "glx_carryover": glx,
        "symptom_carryover": {k: direct[k] + params.effect_b * glx[k] for k in glx},
        "direct_carryover": direct,
    }
    if len(glx) == 1 or not any([*glx.values(), *direct.values()]):
        return {name: float(next(iter(values.values()))) for name, values in truths.items()}
    return dict(truths)


def _mean(by_level: dict[str, float]) -> float:
    return float(np.mean(list(by_level.values())))


@deprecated_call_forms(positional=("n_participants",))
def simulate_study(
    seed: int = 0,
    *,
    n_participants: int = 26,
    dropout_fraction: float | None = None,
    missing_score_fraction: float | None = None,
    params: SimulationParameters | None = None,
) -> tuple[Study, SimulationTruth]:
    """Simulate a two-period naltrexone/placebo ketamine crossover study.

    The generative model is given in the module docstring. The result is
    deterministic for a seed and validated like a user's study folder.

    Parameters
    ----------
    seed : int, optional
        Seed of :func:`numpy.random.default_rng`.
    n_participants : int, optional
        Number of participants.
    dropout_fraction, missing_score_fraction : float, optional
        Override the fields of the same name in ``params``.
    params : SimulationParameters, optional
        Generating parameters; the defaults when omitted.

    Returns
    -------
    study : Study
        The simulated study (``simulated=True``; ``metadata["simulation"]`` holds the
        seed, parameters and truth).
    truth : SimulationTruth
        The true effects.

    Examples
    --------
    >>> study, truth = simulate_study(seed=0, n_participants=8)
    >>> study.simulated, truth.total_effect_pooled
    (True, 3.2)
    """
    params = params or SimulationParameters()
    if dropout_fraction is not None:
        params = dataclasses.replace(params, dropout_fraction=dropout_fraction)
    if missing_score_fraction is not None:
        params = dataclasses.replace(params, missing_score_fraction=missing_score_fraction)
    _check(params, n_participants)
    rng = np.random.default_rng(seed)
    n = n_participants
    n_male = round(n * params.male_fraction)
    sex = rng.permutation(np.array(["M"] * n_male + ["F"] * (n - n_male)))
    reference, active = CONDITIONS
    design = params.design
    orders = [seq for k, seq in enumerate(design) for _ in range(k, n, len(design))]
    sequence = rng.permutation(np.array(orders))
    n_periods = len(design[0].split("-"))
    condition = np.array([seq.split("-") for seq in sequence]).reshape(n, n_periods)
    naltrexone = (condition == active).astype(float)
    later = (np.arange(n_periods) >= 1).astype(float)
    previous = np.full_like(condition, reference)
    previous[:, 1:] = condition[:, :-1]

    options = np.random.default_rng([seed, 1])
    site = options.permutation(np.resize(np.array(params.sites, dtype=object), n))
    covariates = {
        name: np.round(options.normal(mean, sd, n), 1)
        for name, (mean, sd) in params.covariates.items()
    }
    standardised = {name: (x - x.mean()) / x.std(ddof=1) for name, x in covariates.items()}
    level = site if params.effects_by == "site" else sex

    def covariate_sum(effects: dict[str, float]) -> np.ndarray:
        return sum((effects[k] * standardised[k] for k in effects), np.zeros(n))

    def with_options(
        outcome: np.ndarray,
        by_condition: dict[str, dict[str, float]],
        covariate_effects: dict[str, float],
        carryover: dict[str, float],
    ) -> np.ndarray:
        """Add the design options' terms to a per-session outcome (the docstring's list).

        ``carryover`` is the shift after a session under each active condition.
        """
        for label, effects in by_condition.items():
            extra = np.array([effects[g] for g in level])
            outcome = outcome + extra[:, None] * (condition == label)
        if covariate_effects:
            outcome = outcome + covariate_sum(covariate_effects)[:, None]
        if any(carryover.values()):
            carried = (shift * (previous == k) for k, shift in carryover.items())
            outcome = outcome + sum(carried, np.zeros(previous.shape))
        return outcome

    alpha = rng.normal(0.0, params.glx_participant_sd_pct / 100, n)
    z = rng.normal(0.0, 1.0, (n, n_periods))
    a = np.array([params.glx_condition_effect_pct[g] for g in level])
    amplitude = with_options(
        params.glx_response_pct + a[:, None] * naltrexone + params.glx_response_sd_pct * z,
        params.extra_glx_condition_effect_pct,
        params.glx_covariate_effect_pct,
        params.carryover("carryover_glx_pct"),
    )
    times = np.asarray(params.block_times_min, dtype=float)
    profile = np.where(times <= 0, 0.0, 1.0 - np.exp(-np.clip(times, 0, None) / params.tau_min))
    noise = rng.normal(0.0, params.glx_noise_pct / 100, (n, n_periods, times.size))
    log_glx = (
        np.log(params.glx_baseline)
        + alpha[:, None, None]
        + params.period_glx_pct / 100 * later[None, :, None]
        + amplitude[:, :, None] / 100 * profile[None, None, :]
        + noise
    )
    crlb = rng.uniform(*params.crlb_range_pct, (n, n_periods, times.size))

    person = rng.normal(0.0, params.madrs_participant_sd, n)
    rating_noise = rng.normal(0.0, params.madrs_noise_sd, (n, n_periods, 2))
    direct = np.array([params.direct_effect[g] for g in level])
    reference_change: float | np.ndarray = params.ketamine_madrs_change
    if params.ketamine_madrs_change_by_level:
        by_level = params.ketamine_madrs_change_by_level
        reference_change = np.array([by_level[g] for g in level])[:, None]
    change = with_options(
        reference_change
        + direct[:, None] * naltrexone
        + params.effect_b * (amplitude - params.glx_response_pct),
        params.extra_direct_effect,
        params.symptom_covariate_effect,
        params.carryover("carryover_madrs"),
    )
    post = np.array([0.0, 1.0])
    baseline: float | np.ndarray = params.madrs_baseline_mean
    if params.madrs_baseline_mean_by_level:
        by_level = params.madrs_baseline_mean_by_level
        baseline = np.array([by_level[g] for g in level])[:, None, None]
    madrs = (
        baseline
        + person[:, None, None]
        + params.period_madrs * later[None, :, None]
        + post[None, None, :] * change[:, :, None]
        + rating_noise
    )
    scores = np.clip(np.rint(madrs), params.madrs_min, params.madrs_max).astype(int)

    dropped = np.zeros(n, dtype=bool)
    dropped[rng.choice(n, round(n * params.dropout_fraction), replace=False)] = True
    width = max(3, len(str(n)))
    ids = [f"sim-{i + 1:0{width}d}" for i in range(n)]
    kept = [(i, s) for i in range(n) for s in range(n_periods) if not (s >= 1 and dropped[i])]

    participants = pd.DataFrame({"participant_id": ids, "sex": sex, "sequence": sequence})
    if params.sites:
        participants["site"] = site
    for name, values in covariates.items():
        participants[name] = values
    fmrs = pd.DataFrame(
        [
            {
                "participant_id": ids[i],
                "session": s + 1,
                "condition": condition[i, s],
                "block": b,
                "time_min": params.block_times_min[b],
                "glx": round(float(np.exp(log_glx[i, s, b])), 6),
                "crlb_pct": round(float(crlb[i, s, b]), 2),
            }
            for i, s in kept
            for b in range(times.size)
        ]
    )
    timepoints = (("pre", params.pre_hours), ("24h", params.post_hours))
    symptoms = pd.DataFrame(
        [
            {
                "participant_id": ids[i],
                "session": s + 1,
                "condition": condition[i, s],
                "timepoint": label,
                "hours": hours,
                "score": int(scores[i, s, t]),
            }
            for i, s in kept
            for t, (label, hours) in enumerate(timepoints)
        ]
    )
    n_missing = round(len(symptoms) * params.missing_score_fraction)
    missing = rng.choice(len(symptoms), n_missing, replace=False)
    symptoms["score"] = symptoms["score"].astype("Int64")
    symptoms.loc[missing, "score"] = pd.NA

    amplitude_seen = amplitude.copy()
    amplitude_seen[dropped, 1:] = np.nan
    truth = SimulationTruth.from_parameters(params, tuple(ids), amplitude_seen)
    metadata = {
        "name": f"Simulated GO-MARK-like crossover (seed {seed})",
        "simulated": True,
        "conditions": list(params.conditions),
        **({"periods": n_periods} if n_periods != 2 else {}),
        **({"repeated_conditions": True} if _repeats(design) else {}),
        "description": SIMULATED_DESCRIPTION,
        "fmrs": {"metabolite": "Glx/tNAA"},
        "symptoms": {"scale": "MADRS", "min": params.madrs_min, "max": params.madrs_max},
        "simulation": {
            "generator": "bayes_ketamine.data.simulate_study",
            "seed": int(seed),
            "n_participants": int(n),
            "parameters": params.to_dict(),
            "truth": truth.to_dict(),
        },
    }
    study = validate_tables(
        metadata,
        text_table("participants.csv", participants),
        text_table("fmrs.csv", fmrs),
        text_table("symptoms.csv", symptoms),
        where=str(metadata["name"]),
    )
    return study, truth


def _repeats(design: tuple[str, ...]) -> bool:
    """Whether a sequence gives every period one condition (Balaam's ``A-A``, ``B-B``)."""
    return any(len(set(seq.split("-"))) == 1 for seq in design)


def _check(params: SimulationParameters, n_participants: int) -> None:
    if n_participants < 1:
        raise ValueError(f"n_participants must be at least 1, got {n_participants}")
    for name in ("male_fraction", "dropout_fraction", "missing_score_fraction"):
        value = getattr(params, name)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1, got {value}")
    lengths = {len(seq.split("-")) for seq in params.design}
    if len(lengths) != 1 or min(lengths) < 2:
        raise ValueError(f"sequences must all list the same number (>= 2) of periods: {lengths}")
    if set(params.extra_glx_condition_effect_pct) != set(params.extra_direct_effect):
        raise ValueError(
            "extra_glx_condition_effect_pct and extra_direct_effect must name the same conditions"
        )
    if params.extra_glx_condition_effect_pct and not params.sequences:
        raise ValueError("more than two conditions need sequences naming them")
    for name in ("extra_glx_condition_effect_pct", "extra_direct_effect"):
        for label, effects in getattr(params, name).items():
            if label in CONDITIONS or "-" in label or set(effects) != set(params.levels):
                raise ValueError(
                    f"{name}[{label!r}]: a new condition label (no '-') with effects keyed "
                    f"by {params.levels}"
                )
    for name in ("carryover_glx_pct", "carryover_madrs"):
        value = getattr(params, name)
        if isinstance(value, dict) and set(value) != set(params.conditions[1:]):
            raise ValueError(
                f"{name} must be a number or name exactly the active conditions "
                f"{', '.join(repr(c) for c in params.conditions[1:])}; got "
                f"{', '.join(repr(c) for c in value)}"
            )
    if params.effects_by not in ("sex", "site"):
        raise ValueError(f"effects_by must be 'sex' or 'site', got {params.effects_by!r}")
    if params.effects_by == "site" and len(set(params.sites)) < 2:
        raise ValueError("effects_by = 'site' needs at least two distinct sites")
    levels = ", ".join(repr(level) for level in params.levels)
    keyed = ["glx_condition_effect_pct", "direct_effect"]
    for name in ("ketamine_madrs_change_by_level", "madrs_baseline_mean_by_level"):
        if getattr(params, name):
            keyed.append(name)
    for name in keyed:
        if set(getattr(params, name)) != set(params.levels):
            raise ValueError(f"{name} must have exactly the keys {levels}")
    for name in ("glx_covariate_effect_pct", "symptom_covariate_effect"):
        unknown = set(getattr(params, name)) - set(params.covariates)
        if unknown:
            raise ValueError(f"{name} names covariates not in covariates: {sorted(unknown)}")
    reserved = {"participant_id", "sex", "sequence", "site"}
    if reserved & set(params.covariates):
        raise ValueError(f"covariate names must not be one of {sorted(reserved)}")
    if params.covariates and n_participants < 3:
        raise ValueError("covariates need at least 3 participants to be standardised")
