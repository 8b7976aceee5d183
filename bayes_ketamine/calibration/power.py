"""Design analysis: how often would a follow-up trial settle the question.

For each sample size ``n`` per level of the pooling factor (per sex by default) and
replicate ``r``:

1. simulate a follow-up trial with :func:`bayes_ketamine.data.simulate_study`
   (``K n`` participants for the ``K`` levels) of the design the simulation
   parameters describe: two or more periods (``sequences``), two or more conditions
   (``extra_glx_condition_effect_pct``), condition effects keyed by sex or by site
   (``effects_by``). The active condition's effects on the Glx response are either
   **fixed** (default: the published-study-like ``glx_condition_effect_pct`` of
   :class:`~bayes_ketamine.data.SimulationParameters`, larger in males) or
   drawn per replicate from a **prior** (normal around those values, SD
   ``effect_sd``); averaging over such a design prior gives *assurance*;
2. fit the model (compiled once per worker per ``n``; data swapped in);
3. record whether the posterior settles each question (:func:`criteria`) about the
   contrast ``a_first - a_second`` of two levels (``M - F`` by default) for one active
   condition (:class:`PowerQuestion`).

The estimated probability ``p`` over ``R`` replicates has Monte Carlo standard error
``sqrt(p (1 - p) / R)`` (:func:`mc_se`).

Fixed design per ``n``. The compiled model bakes in each participant's level and
sequence, so every replicate of one ``n`` must share that design. The design is the
stratified one a trial would use: the participants of each level are spread over the
sequences as evenly as possible (:func:`target_counts`). A replicate is drawn by
trying seeds ``SeedSequence([seed, n, r, k])``, ``k = 0, 1, ...``, until the
simulator's random allocation of levels and sequences has exactly these counts (the
outcome draws are independent of the allocation, so this conditions on the design
without biasing the outcomes); its participants are then matched to the template's
participants of the same level and sequence, and its observations reordered to the
template's rows.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from bayes_ketamine.api import deprecated_call_forms
from bayes_ketamine.calibration.seeds import seed_at
from bayes_ketamine.calibration.store import RunStore, write_netcdf
from bayes_ketamine.calibration.worker import FitJob, ModelDesign, SamplerSettings, compiled_for
from bayes_ketamine.data import SimulationParameters, Study, simulate_study
from bayes_ketamine.data.simulation_parameters import CONDITIONS
from bayes_ketamine.data.study import SEXES
from bayes_ketamine.inference.settings import CORES, MASTER_SEED
from bayes_ketamine.models.spec import ModelSpec

if TYPE_CHECKING:
    from distributed import Client

    from bayes_ketamine.models.base import CrossoverModel

MAX_TRIES = 2000
"""Seeds tried per replicate to hit the stratified design."""


def mc_se(p: np.ndarray | float, replicates: int) -> np.ndarray | float:
    """Return the Monte Carlo standard error ``sqrt(p (1 - p) / R)`` of a proportion."""
    p = np.asarray(p, dtype=float)
    return np.sqrt(p * (1 - p) / replicates)


def target_counts(
    n_per_level: int,
    levels: tuple[str, ...] = SEXES,
    sequences: tuple[str, ...] = SimulationParameters().design,
) -> dict[tuple[str, str], int]:
    """Return the stratified allocation: participants per (level, sequence).

    The ``K n`` participants are listed level by level and participant ``j`` of that
    list takes sequence ``j mod m`` of the ``m`` sequences, so each level is spread
    over the sequences as evenly as possible and the sequence totals are those of
    the simulator (the first sequences get one more).

    Examples
    --------
    >>> target_counts(5)[("F", "placebo-naltrexone")], target_counts(5)[("M", "placebo-naltrexone")]
    (3, 2)
    """
    counts = {(level, seq): 0 for level in levels for seq in sequences}
    for j in range(n_per_level * len(levels)):
        counts[(levels[j // n_per_level], sequences[j % len(sequences)])] += 1
    return counts


def _counts(study: Study, factor: str) -> dict[tuple[str, str], int]:
    p = study.participants
    return {k: int(v) for k, v in p.groupby([factor, "sequence"]).size().items()}


def stratified_simulation(n_per_level: int, params: SimulationParameters, *seed_path: int) -> Study:
    """Simulate a study of ``K n_per_level`` participants with the stratified design.

    ``K`` is the number of levels of ``params.effects_by`` (the two sexes, or the
    sites). Tries seeds ``SeedSequence([*seed_path, k])`` until the allocation matches
    :func:`target_counts` (see the module docstring).
    """
    factor = params.effects_by
    target = {
        k: v for k, v in target_counts(n_per_level, params.levels, params.design).items() if v
    }
    if factor == "sex":
        params = dataclasses.replace(params, male_fraction=0.5)
    for k in range(MAX_TRIES):
        study, _ = simulate_study(
            seed_at(*seed_path, k), n_participants=len(params.levels) * n_per_level, params=params
        )
        if _counts(study, factor) == target:
            return study
    raise RuntimeError(
        f"no stratified allocation for {n_per_level} per {factor} in {MAX_TRIES} seeds"
    )


def _participant_map(template: Study, replicate: Study, factor: str) -> dict[str, str]:
    """Map template participant ids to replicate ids of the same level and sequence."""
    mapping: dict[str, str] = {}
    groups = replicate.participants.groupby([factor, "sequence"])["participant_id"]
    rep = {k: list(v) for k, v in groups}
    for key, ids in template.participants.groupby([factor, "sequence"])["participant_id"]:
        mapping.update(zip(ids, rep[key], strict=True))
    return mapping


def reorder_to_template(
    model: CrossoverModel, template: Study, replicate: Study, *, factor: str = "sex"
) -> dict[str, np.ndarray]:
    """Return the replicate's observations in the row order of the template's model.

    Parameters
    ----------
    model : CrossoverModel
        Model built on the template study.
    template, replicate : Study
        Same stratified design, different outcomes.
    factor : str
        The participant column the design is stratified by (with the sequence).

    Returns
    -------
    dict of str to numpy.ndarray
        Values of the data containers ``log_glx_observed`` and/or ``score_observed``.
    """
    mapping = _participant_map(template, replicate, factor)
    labels = model.observation_labels()
    data = {}
    if "log_glx" in labels:
        if replicate.fmrs is None:
            raise ValueError("the simulated replicate has no fMRS table")
        lab = labels["log_glx"]
        table = replicate.fmrs.set_index(["participant_id", "session", "block"])["glx"]
        keys = list(
            zip(lab["participant_id"].map(mapping), lab["session"], lab["block"], strict=True)
        )
        data["log_glx_observed"] = np.log(table.loc[keys].to_numpy(dtype=float))
    if "score" in labels:
        lab = labels["score"]
        table = replicate.symptoms.set_index(["participant_id", "session", "timepoint"])["score"]
        keys = list(
            zip(lab["participant_id"].map(mapping), lab["session"], lab["timepoint"], strict=True)
        )
        data["score_observed"] = table.loc[keys].to_numpy(dtype=float)
    for name, values in data.items():
        if not np.isfinite(values).all():
            raise ValueError(f"replicate has missing values in {name}")
    return data


EFFECT_MODES: tuple[str, str] = ("fixed", "prior")
"""Fixed effects (power) or effects drawn from a design prior (assurance)."""


def check_effect_mode(effect: str, effect_sd: float) -> None:
    """Raise ``ValueError`` unless ``effect`` is a mode and ``effect_sd`` a finite SD >= 0.

    An SD of 0 collapses the design prior to a point: assurance is then power at that
    effect (the replicates are those of the fixed mode with the same seed).
    """
    if effect not in EFFECT_MODES:
        raise ValueError(f"effect must be 'fixed' or 'prior', not {effect!r}")
    if not (np.isfinite(effect_sd) and effect_sd >= 0):
        raise ValueError(f"effect_sd must be a finite SD >= 0 (percent), not {effect_sd!r}")


@dataclass(frozen=True)
class PowerQuestion:
    """What a design analysis asks of each fitted trial.

    Parameters
    ----------
    family : {"glutamate", "symptoms", "joint"}
        Model family (the joint model is asked about the Glx effect, like glutamate).
    factor : str
        Pooling factor of the spec and the simulation (``"sex"`` or ``"site"``).
    first, second : str
        The contrast ``effect[first] - effect[second]`` (``M - F`` by default); the
        level ``first`` is the one whose own effect is asked about.
    condition : str or None
        The active condition asked about when the study has more than two
        conditions (the effects then have the dim ``active_condition``); ``None``
        with two conditions.
    """

    family: str = "glutamate"
    factor: str = "sex"
    first: str = "M"
    second: str = "F"
    condition: str | None = None

    @property
    def variable(self) -> str:
        """The posterior variable of the condition effects per level."""
        return "symptom_condition_effect" if self.family == "symptoms" else "glx_condition_effect"

    @property
    def sign(self) -> float:
        """+1 when the hypothesis is an effect above 0 (symptoms), -1 below (Glx)."""
        return 1.0 if self.family == "symptoms" else -1.0

    @property
    def first_word(self) -> str:
        """The name of level ``first`` in criterion keys (``male``/``female`` by sex)."""
        return (
            {"M": "male", "F": "female"}.get(self.first, self.first) if self.by_sex else self.first
        )

    @property
    def by_sex(self) -> bool:
        """Whether the factor is sex."""
        return self.factor == "sex"

    def level_effect(self, posterior: xr.Dataset) -> xr.DataArray:
        """Return the draws of the effect per level (of ``condition`` if several)."""
        effect = posterior[self.variable]
        if "active_condition" in effect.dims:
            effect = effect.sel(active_condition=self.condition)
        return effect


def criteria(question: PowerQuestion) -> dict[str, str]:
    """Return the questions a fit is asked, key to label.

    By sex with the contrast ``M - F`` these are exactly the keys of
    :data:`CRITERIA`; for another factor or contrast the keys name the factor and the
    level (e.g. ``site_difference_negative``, ``D_effect_negative``).

    Examples
    --------
    >>> criteria(PowerQuestion()) == CRITERIA["glutamate"]
    True
    >>> sorted(criteria(PowerQuestion(factor="site", first="D", second="A")))[0]
    'D_effect_negative'
    """
    q = question
    if q.by_sex and (q.first, q.second) == ("M", "F"):
        return CRITERIA["symptoms" if q.family == "symptoms" else "glutamate"]
    letter, measure = ("c", "MADRS") if q.family == "symptoms" else ("a", "Glx")
    direction, word = ("positive", "above") if q.family == "symptoms" else ("negative", "below")
    arm = f", {q.condition}" if q.condition else ""
    diff = f"{letter}_{q.first} - {letter}_{q.second} ({measure}{arm})"
    return {
        f"{q.factor}_difference_excludes_zero": f"95% interval of {diff} excludes 0",
        f"{q.first_word}_effect_{direction}": (
            f"P({letter}_{q.first} {'>' if q.sign > 0 else '<'} 0) > threshold ({measure}{arm})"
        ),
        f"pooled_effect_{direction}": (
            f"P(mean effect {'>' if q.sign > 0 else '<'} 0) > threshold ({measure}{arm})"
        ),
        f"{q.factor}_difference_{direction}": f"95% interval of {diff} {word} 0",
    }


def replicate_parameters(
    base: SimulationParameters,
    effect: str,
    effect_sd: float,
    rng: np.random.Generator,
    *,
    condition: str = CONDITIONS[1],
) -> SimulationParameters:
    """Return the simulation parameters of one replicate (fixed, or drawn from the prior).

    With ``effect="prior"`` each level's Glx effect of ``condition`` is drawn
    independently from a normal around its ``base`` value with SD ``effect_sd``; the
    other parameters are kept.
    """
    check_effect_mode(effect, effect_sd)
    if effect == "fixed":
        return base
    drawn = {
        level: float(rng.normal(v, effect_sd))
        for level, v in glx_effects(base, condition=condition).items()
    }
    if condition == CONDITIONS[1]:
        return dataclasses.replace(base, glx_condition_effect_pct=drawn)
    extra = {**base.extra_glx_condition_effect_pct, condition: drawn}
    return dataclasses.replace(base, extra_glx_condition_effect_pct=extra)


def glx_effects(
    params: SimulationParameters, *, condition: str = CONDITIONS[1]
) -> dict[str, float]:
    """Return the true Glx effects of ``condition`` by level, percent."""
    if condition == CONDITIONS[1]:
        return dict(params.glx_condition_effect_pct)
    return dict(params.extra_glx_condition_effect_pct[condition])


def make_power_data(job: FitJob) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Simulate the follow-up trial of a power job (runs on the worker)."""
    pl = job.payload
    question = pl.get("question", PowerQuestion())
    condition = question.condition or CONDITIONS[1]
    entry, _ = compiled_for(job.design)
    rng = np.random.default_rng(seed_at(pl["seed"], pl["n_per_sex"], pl["replicate"], 99))
    params = replicate_parameters(
        pl["params"], pl["effect"], pl["effect_sd"], rng, condition=condition
    )
    replicate = stratified_simulation(
        pl["n_per_sex"], params, pl["seed"], pl["n_per_sex"], pl["replicate"]
    )
    data = reorder_to_template(entry.model, job.design.study, replicate, factor=question.factor)
    eff = glx_effects(params, condition=condition)
    return data, {
        "n_per_sex": int(pl["n_per_sex"]),
        "replicate": int(pl["replicate"]),
        **{f"true_glx_effect_{level}": float(value) for level, value in eff.items()},
        f"true_glx_{question.factor}_difference": float(eff[question.first] - eff[question.second]),
    }


CRITERIA: dict[str, dict[str, str]] = {
    "glutamate": {
        "sex_difference_excludes_zero": "95% interval of a_M - a_F (Glx) excludes 0",
        "male_effect_negative": "P(a_M < 0) > threshold (Glx, males)",
        "pooled_effect_negative": "P(mean effect < 0) > threshold (Glx)",
        "sex_difference_negative": "95% interval of a_M - a_F (Glx) below 0",
    },
    "symptoms": {
        "sex_difference_excludes_zero": "95% interval of c_M - c_F (MADRS) excludes 0",
        "male_effect_positive": "P(c_M > 0) > threshold (MADRS, males)",
        "pooled_effect_positive": "P(mean effect > 0) > threshold (MADRS)",
        "sex_difference_positive": "95% interval of c_M - c_F (MADRS) above 0",
    },
}
"""Questions per family by sex, contrast ``M - F`` (the joint model uses the glutamate
ones; :func:`criteria` gives them for another factor or contrast).

The last one asks for the sex difference in the hypothesised direction (naltrexone
blunts the response, and the improvement, more in males). Under a design prior the
true difference may have either sign, and the two-sided ``sex_difference_excludes_zero``
also counts a confident difference of the wrong sign as settled."""


def summarise_power(posterior: xr.Dataset, job: FitJob) -> dict[str, Any]:
    """Return the decision criteria of one fit (runs on the worker)."""
    threshold = float(job.payload["threshold"])
    question = job.payload.get("question") or PowerQuestion(family=job.design.spec.family)
    effect = question.level_effect(posterior)
    factor, sign = question.factor, question.sign
    first = effect.sel({factor: question.first}).values.ravel()
    diff = first - effect.sel({factor: question.second}).values.ravel()
    pooled = effect.mean(factor).values.ravel()
    lo, hi = np.quantile(diff, [0.025, 0.975])
    p_first = float(np.mean(sign * first > 0))
    p_pooled = float(np.mean(sign * pooled > 0))
    keys = list(criteria(question))
    return {
        f"{factor}_difference_lower": float(lo),
        f"{factor}_difference_upper": float(hi),
        f"{factor}_difference_mean": float(diff.mean()),
        f"p_{question.first_word}_direction": p_first,
        "p_pooled_direction": p_pooled,
        keys[0]: bool(lo > 0 or hi < 0),
        keys[1]: bool(p_first > threshold),
        keys[2]: bool(p_pooled > threshold),
        keys[3]: bool(hi < 0 if sign < 0 else lo > 0),
    }


@dataclass(frozen=True)
class PowerResult:
    """Where a power run stored its output and what it found."""

    out_dir: Path
    netcdf: Path
    plot: Path | None
    replicates: xr.Dataset
    summary: xr.Dataset
    compile_seconds: list[float]


def _index(n_per_sex: int, replicate: int) -> int:
    return int(n_per_sex) * 100_000 + int(replicate)


def power_question(
    spec: ModelSpec,
    params: SimulationParameters,
    *,
    condition: str | None = None,
    contrast: tuple[str, str] | None = None,
) -> PowerQuestion:
    """Return the question of a design analysis, checking it against the simulation.

    Parameters
    ----------
    spec : ModelSpec
        The model fitted to each trial; it must pool by the factor the simulation
        keys the effects by (``params.effects_by``).
    params : SimulationParameters
        The simulated design.
    condition : str, optional
        Active condition asked about; default the first one (``naltrexone``). Only a
        study with more than two conditions has others.
    contrast : tuple of str, optional
        ``(first, second)`` levels; default ``("M", "F")`` by sex, else the last and
        the first level in sorted order.

    Raises
    ------
    ValueError
        If the spec and the simulation disagree on the factor, a level or condition is
        unknown, or the simulation has options a power run cannot replicate
        (covariates, dropout, missing scores).
    """
    factor = params.effects_by
    if spec.pooling_factor != factor:
        raise ValueError(
            f"power: spec {spec.name!r} pools by {spec.pooling_factor!r} but the simulation "
            f"keys the condition effects by {factor!r}; set effects_by (and sites) in the "
            "simulation parameters, or use a spec that pools by it"
        )
    for name in ("covariates", "dropout_fraction", "missing_score_fraction"):
        if getattr(params, name):
            raise ValueError(
                f"power: the simulation parameter {name} is not supported (every replicate "
                "of a sample size must share the design the model was compiled for, "
                "with complete data)"
            )
    levels = tuple(sorted(params.levels))
    first, second = contrast or (("M", "F") if factor == "sex" else (levels[-1], levels[0]))
    for level in (first, second):
        if level not in levels:
            raise ValueError(
                f"power: contrast level {level!r} is not a level of {factor} ({', '.join(levels)})"
            )
    if first == second:
        raise ValueError(f"power: the contrast compares {first!r} with itself")
    active = params.conditions[1:]
    if condition is not None and condition not in active:
        raise ValueError(
            f"power: condition {condition!r} is not an active condition of the simulation "
            f"({', '.join(active)})"
        )
    if len(active) > 1:
        condition = condition or active[0]
    elif condition is not None:
        condition = None  # two conditions: the effects have no active_condition dim
    return PowerQuestion(spec.family, factor, first, second, condition)


@deprecated_call_forms(positional=("n_per_sex", "replicates"))
def run_power(
    spec: ModelSpec | str | Path = "glutamate_partial",
    *,
    n_per_sex: tuple[int, ...] = (10, 20, 40),
    replicates: int = 50,
    effect: str = "fixed",
    effect_sd: float = 1.5,
    params: SimulationParameters | None = None,
    condition: str | None = None,
    contrast: tuple[str, str] | None = None,
    threshold: float = 0.95,
    out_dir: str | Path = "posteriors/power",
    settings: SamplerSettings | None = None,
    seed: int = MASTER_SEED,
    workers: int = CORES,
    scheduler: str | None = None,
    client: Client | None = None,
    progress: bool = True,
    plot: bool = True,
) -> PowerResult:
    """Run (or resume) a design analysis over sample sizes per level.

    Parameters
    ----------
    spec : ModelSpec, str or pathlib.Path
        Model fitted to each simulated trial (glutamate, symptoms or joint family); it
        pools by the factor of ``params`` (sex by default).
    n_per_sex : tuple of int
        Sample sizes per level of the pooling factor (per sex by default; the trial
        has ``K`` times as many participants).
    replicates : int
        Simulated trials per sample size.
    effect : {"fixed", "prior"}
        Fixed effects, or effects drawn per replicate around them (assurance).
    effect_sd : float
        SD of the prior on each level's Glx effect, percent (>= 0; 0 collapses the
        prior to the fixed effects, so assurance equals power).
    params : SimulationParameters, optional
        Simulation parameters (default: the published-study-like defaults): the
        design (``sequences`` for periods, extra conditions, ``sites`` and
        ``effects_by`` for another pooling factor) and the true effects.
    condition : str, optional
        With more than two conditions, the active condition asked about (default the
        first active one).
    contrast : tuple of str, optional
        Levels ``(first, second)`` of the contrast (default ``("M", "F")``; see
        :func:`power_question`).
    threshold : float
        Posterior probability that counts as settled.
    out_dir, settings, seed, workers, scheduler, client, progress, plot
        As in :func:`bayes_ketamine.calibration.sbc.run_sbc`.

    Returns
    -------
    PowerResult
    """
    from bayes_ketamine.calibration.cluster import client_for, run_jobs, warm_workers
    from bayes_ketamine.calibration.worker import run_fit, warm
    from bayes_ketamine.models import resolve_spec

    check_effect_mode(effect, effect_sd)
    spec = resolve_spec(spec)
    params = params or SimulationParameters()
    question = power_question(spec, params, condition=condition, contrast=contrast)
    settings = settings or SamplerSettings()
    n_per_sex = tuple(sorted({int(n) for n in n_per_sex}))
    asked = criteria(question)
    identity = {
        "kind": "power",
        "spec": spec.name,
        "spec_hash": spec.content_hash(),
        "effect": effect,
        "effect_sd": float(effect_sd),
        "params": params.to_dict(),
        "threshold": float(threshold),
        "criteria": sorted(asked),
        "settings": dataclasses.asdict(settings),
        "seed": int(seed),
    }
    if question != PowerQuestion(family=spec.family):  # the default question adds nothing
        identity["question"] = dataclasses.asdict(question)
    store = RunStore(Path(out_dir) / f"{spec.name}_{effect}", identity)
    designs = {
        n: ModelDesign(spec, stratified_simulation(n, params, seed, n, 10**6)) for n in n_per_sex
    }
    wanted = [_index(n, r) for n in n_per_sex for r in range(replicates)]
    todo = set(store.missing(wanted))
    jobs = [
        FitJob(
            kind="power",
            index=_index(n, r),
            seed=seed_at(seed, n, r, 1),
            design=designs[n],
            settings=settings,
            make_data=make_power_data,
            summarise=summarise_power,
            payload={
                "n_per_sex": n,
                "replicate": r,
                "seed": seed,
                "params": params,
                "effect": effect,
                "effect_sd": effect_sd,
                "threshold": threshold,
                "question": question,
            },
        )
        for n in n_per_sex
        for r in range(replicates)
        if _index(n, r) in todo
    ]
    compile_seconds: list[float] = []
    if jobs:
        with client_for(client, workers=workers, scheduler=scheduler) as active:
            for n in sorted({j.payload["n_per_sex"] for j in jobs}):
                compile_seconds += [
                    r["compile_seconds"] for r in warm_workers(active, warm, designs[n])
                ]
            run_jobs(
                active,
                run_fit,
                jobs,
                key_prefix=f"power-{store.root.name}-{seed}-{settings.key()}",
                on_result=store.save,
                description=f"power {spec.name}",
                progress=progress,
            )
    combined = store.combine(wanted)
    summary = summarise_replicates(combined, asked, n_per_sex)
    tree = xr.DataTree.from_dict(
        {
            "/": xr.Dataset(
                attrs={
                    "kind": "power",
                    "model_name": spec.name,
                    "spec_json": spec.to_json(),
                    "run_json": json.dumps(identity, sort_keys=True, default=str),
                }
            ),
            "/replicates": combined,
            "/summary": summary,
        }
    )
    netcdf = write_netcdf(tree, store.root / "power.nc")
    plot_path = None
    if plot:
        from bayes_ketamine.calibration.plots import plot_assurance

        plot_path = plot_assurance(
            summary,
            store.root / "power.png",
            title=f"{spec.name}: {replicates} simulated trials per size; "
            f"{_effects_text(params, question, effect, effect_sd)}; threshold {threshold:g}",
            per=question.factor,
        )
    return PowerResult(store.root, netcdf, plot_path, combined, summary, compile_seconds)


def _effects_text(
    params: SimulationParameters, question: PowerQuestion, effect: str, effect_sd: float
) -> str:
    """Describe the simulated effects for the plot title (by sex: as before)."""
    eff = glx_effects(params, condition=question.condition or CONDITIONS[1])
    order = ("M", "F") if question.by_sex else tuple(sorted(eff))
    values = ", ".join(f"{level} {eff[level]:+.1f} %" for level in order)
    arm = f"{question.condition} " if question.condition else ""
    design = (
        ""
        if params.design == SimulationParameters().design
        else (f"; sequences {'/'.join(params.design)}")
    )
    if effect == "fixed":
        return f"effects fixed ({arm}Glx: {values}){design}"
    return f"effects from a design prior ({arm}Glx: {values}, SD {effect_sd:g} %){design}"


def summarise_replicates(
    combined: xr.Dataset, asked: dict[str, str], n_per_sex: tuple[int, ...]
) -> xr.Dataset:
    """Return probability and Monte Carlo SE per criterion and sample size.

    ``asked`` maps each criterion key to its label (:func:`criteria`).
    """
    df = combined.to_dataframe() if "parameter" not in combined.dims else None
    if df is None:  # pragma: no cover - power results have no parameter dim
        raise ValueError("unexpected parameter dim in power results")
    rows = []
    for n in n_per_sex:
        sub = df[df["n_per_sex"] == n]
        r = len(sub)
        for crit in asked:
            p = float(sub[crit].astype(bool).mean()) if r else np.nan
            rows.append(
                {
                    "n_per_sex": n,
                    "criterion": crit,
                    "probability": p,
                    "mcse": float(mc_se(p, r)) if r else np.nan,
                    "replicates": r,
                    "failed_fits": int(sub["fit_failed"].sum()) if r else 0,
                }
            )
    table = pd.DataFrame(rows).set_index(["criterion", "n_per_sex"])
    ds = xr.Dataset.from_dataframe(table)
    ds["criterion_label"] = ("criterion", [asked[c] for c in ds["criterion"].values])
    ds.attrs["mcse"] = "sqrt(p (1 - p) / R)"
    return ds
