"""Design analysis: how often would a follow-up trial settle the question.

For each sample size ``n`` per sex and replicate ``r``:

1. simulate a follow-up trial with :func:`bayes_ketamine.data.simulate_study`
   (``2 n`` participants, half male) whose naltrexone effects on the Glx response are
   either **fixed** (default: the published-study-like values of
   :class:`~bayes_ketamine.data.SimulationParameters`, males -4.5 %, females -1.5 %) or
   drawn per replicate from a **prior** (normal around those values, SD
   ``effect_sd``); averaging over such a design prior gives *assurance*;
2. fit the model (compiled once per worker per ``n``; data swapped in);
3. record whether the posterior settles each question (:data:`CRITERIA`).

The estimated probability ``p`` over ``R`` replicates has Monte Carlo standard error
``sqrt(p (1 - p) / R)`` (:func:`mc_se`).

Fixed design per ``n``. The compiled model bakes in who is male and in which sequence
order each participant is, so every replicate of one ``n`` must share that design. The
design is the stratified one a trial would use: within each sex, half the participants
(rounded down for males) take ``placebo-naltrexone``. A replicate is drawn by trying
seeds ``SeedSequence([seed, n, r, k])``, ``k = 0, 1, ...``, until the simulator's random
sex and sequence allocation has exactly these counts (the outcome draws are
independent of the allocation, so this conditions on the design without biasing the
outcomes); its participants are then matched to the template's participants of the
same sex and sequence, and its observations reordered to the template's rows.
"""

from __future__ import annotations

import contextlib
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
from bayes_ketamine.inference.settings import CORES
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


def target_counts(n_per_sex: int) -> dict[tuple[str, str], int]:
    """Return the stratified allocation: participants per (sex, sequence)."""
    half_m = n_per_sex // 2
    half_f = n_per_sex - half_m
    return {
        ("M", "placebo-naltrexone"): half_m,
        ("M", "naltrexone-placebo"): n_per_sex - half_m,
        ("F", "placebo-naltrexone"): half_f,
        ("F", "naltrexone-placebo"): n_per_sex - half_f,
    }


def _counts(study: Study) -> dict[tuple[str, str], int]:
    p = study.participants
    return {k: int(v) for k, v in p.groupby(["sex", "sequence"]).size().items()}


def stratified_simulation(n_per_sex: int, params: SimulationParameters, *seed_path: int) -> Study:
    """Simulate a study of ``2 n_per_sex`` participants with the stratified design.

    Tries seeds ``SeedSequence([*seed_path, k])`` until the allocation matches
    :func:`target_counts` (see the module docstring).
    """
    target = {k: v for k, v in target_counts(n_per_sex).items() if v}
    params = dataclasses.replace(params, male_fraction=0.5)
    for k in range(MAX_TRIES):
        study, _ = simulate_study(
            seed_at(*seed_path, k), n_participants=2 * n_per_sex, params=params
        )
        if _counts(study) == target:
            return study
    raise RuntimeError(f"no stratified allocation for n_per_sex={n_per_sex} in {MAX_TRIES} seeds")


def _participant_map(template: Study, replicate: Study) -> dict[str, str]:
    """Map template participant ids to replicate ids of the same sex and sequence."""
    mapping: dict[str, str] = {}
    groups = replicate.participants.groupby(["sex", "sequence"])["participant_id"]
    rep = {k: list(v) for k, v in groups}
    for key, ids in template.participants.groupby(["sex", "sequence"])["participant_id"]:
        mapping.update(zip(ids, rep[key], strict=True))
    return mapping


def reorder_to_template(
    model: CrossoverModel, template: Study, replicate: Study
) -> dict[str, np.ndarray]:
    """Return the replicate's observations in the row order of the template's model.

    Parameters
    ----------
    model : CrossoverModel
        Model built on the template study.
    template, replicate : Study
        Same stratified design, different outcomes.

    Returns
    -------
    dict of str to numpy.ndarray
        Values of the data containers ``log_glx_observed`` and/or ``score_observed``.
    """
    mapping = _participant_map(template, replicate)
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


def replicate_parameters(
    base: SimulationParameters, effect: str, effect_sd: float, rng: np.random.Generator
) -> SimulationParameters:
    """Return the simulation parameters of one replicate (fixed, or drawn from the prior).

    With ``effect="prior"`` each sex's Glx effect is drawn independently from a normal
    around its ``base`` value with SD ``effect_sd``; the other parameters are kept.
    """
    check_effect_mode(effect, effect_sd)
    if effect == "fixed":
        return base
    glx = {s: float(rng.normal(v, effect_sd)) for s, v in base.glx_condition_effect_pct.items()}
    return dataclasses.replace(base, glx_condition_effect_pct=glx)


def make_power_data(job: FitJob) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Simulate the follow-up trial of a power job (runs on the worker)."""
    pl = job.payload
    entry, _ = compiled_for(job.design)
    rng = np.random.default_rng(seed_at(pl["seed"], pl["n_per_sex"], pl["replicate"], 99))
    params = replicate_parameters(pl["params"], pl["effect"], pl["effect_sd"], rng)
    replicate = stratified_simulation(
        pl["n_per_sex"], params, pl["seed"], pl["n_per_sex"], pl["replicate"]
    )
    data = reorder_to_template(entry.model, job.design.study, replicate)
    eff = params.glx_condition_effect_pct
    return data, {
        "n_per_sex": int(pl["n_per_sex"]),
        "replicate": int(pl["replicate"]),
        "true_glx_effect_M": float(eff["M"]),
        "true_glx_effect_F": float(eff["F"]),
        "true_glx_sex_difference": float(eff["M"] - eff["F"]),
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
"""Questions per family (the joint model uses the glutamate ones).

The last one asks for the sex difference in the hypothesised direction (naltrexone
blunts the response, and the improvement, more in males). Under a design prior the
true difference may have either sign, and the two-sided ``sex_difference_excludes_zero``
also counts a confident difference of the wrong sign as settled."""


def summarise_power(posterior: xr.Dataset, job: FitJob) -> dict[str, Any]:
    """Return the decision criteria of one fit (runs on the worker)."""
    threshold = float(job.payload["threshold"])
    family = job.design.spec.family
    if family == "symptoms":
        effect = posterior["symptom_condition_effect"]
        sign = 1.0
    else:
        effect = posterior["glx_condition_effect"]
        sign = -1.0
    diff = (effect.sel(sex="M") - effect.sel(sex="F")).values.ravel()
    male = effect.sel(sex="M").values.ravel()
    pooled = effect.mean("sex").values.ravel()
    lo, hi = np.quantile(diff, [0.025, 0.975])
    p_male = float(np.mean(sign * male > 0))
    p_pooled = float(np.mean(sign * pooled > 0))
    keys = list(CRITERIA["symptoms" if family == "symptoms" else "glutamate"])
    return {
        "sex_difference_lower": float(lo),
        "sex_difference_upper": float(hi),
        "sex_difference_mean": float(diff.mean()),
        "p_male_direction": p_male,
        "p_pooled_direction": p_pooled,
        keys[0]: bool(lo > 0 or hi < 0),
        keys[1]: bool(p_male > threshold),
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


@deprecated_call_forms(positional=("n_per_sex", "replicates"))
def run_power(
    spec: ModelSpec | str | Path = "glutamate_partial",
    *,
    n_per_sex: tuple[int, ...] = (10, 20, 40),
    replicates: int = 50,
    effect: str = "fixed",
    effect_sd: float = 1.5,
    params: SimulationParameters | None = None,
    threshold: float = 0.95,
    out_dir: str | Path = "posteriors/power",
    settings: SamplerSettings | None = None,
    seed: int = 2025,
    workers: int = CORES,
    scheduler: str | None = None,
    client: Client | None = None,
    progress: bool = True,
    plot: bool = True,
) -> PowerResult:
    """Run (or resume) a design analysis over sample sizes per sex.

    Parameters
    ----------
    spec : ModelSpec, str or pathlib.Path
        Model fitted to each simulated trial (glutamate, symptoms or joint family).
    n_per_sex : tuple of int
        Sample sizes per sex (the trial has twice as many participants).
    replicates : int
        Simulated trials per sample size.
    effect : {"fixed", "prior"}
        Fixed effects, or effects drawn per replicate around them (assurance).
    effect_sd : float
        SD of the prior on each sex's Glx effect, percent (>= 0; 0 collapses the
        prior to the fixed effects, so assurance equals power).
    params : SimulationParameters, optional
        Simulation parameters (default: the published-study-like defaults).
    threshold : float
        Posterior probability that counts as settled.
    out_dir, settings, seed, workers, scheduler, client, progress, plot
        As in :func:`bayes_ketamine.calibration.sbc.run_sbc`.

    Returns
    -------
    PowerResult
    """
    from bayes_ketamine.calibration.cluster import dask_client, run_jobs, warm_workers
    from bayes_ketamine.calibration.worker import run_fit, warm
    from bayes_ketamine.models import resolve_spec

    check_effect_mode(effect, effect_sd)
    spec = resolve_spec(spec)
    params = params or SimulationParameters()
    settings = settings or SamplerSettings()
    n_per_sex = tuple(sorted({int(n) for n in n_per_sex}))
    identity = {
        "kind": "power",
        "spec": spec.name,
        "spec_hash": spec.content_hash(),
        "effect": effect,
        "effect_sd": float(effect_sd),
        "params": params.to_dict(),
        "threshold": float(threshold),
        "criteria": sorted(CRITERIA["symptoms" if spec.family == "symptoms" else "glutamate"]),
        "settings": dataclasses.asdict(settings),
        "seed": int(seed),
    }
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
            },
        )
        for n in n_per_sex
        for r in range(replicates)
        if _index(n, r) in todo
    ]
    compile_seconds: list[float] = []
    if jobs:
        with contextlib.ExitStack() as stack:
            active = client or stack.enter_context(dask_client(workers, scheduler))
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
    summary = summarise_replicates(combined, spec.family, n_per_sex)
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

        eff = params.glx_condition_effect_pct
        what = (
            f"effects fixed (Glx: M {eff['M']:+.1f} %, F {eff['F']:+.1f} %)"
            if effect == "fixed"
            else f"effects from a design prior (Glx: M {eff['M']:+.1f} %, F {eff['F']:+.1f} %, "
            f"SD {effect_sd:g} %)"
        )
        plot_path = plot_assurance(
            summary,
            store.root / "power.png",
            title=f"{spec.name}: {replicates} simulated trials per size; {what}; "
            f"threshold {threshold:g}",
        )
    return PowerResult(store.root, netcdf, plot_path, combined, summary, compile_seconds)


def summarise_replicates(
    combined: xr.Dataset, family: str, n_per_sex: tuple[int, ...]
) -> xr.Dataset:
    """Return probability and Monte Carlo SE per criterion and sample size."""
    criteria = CRITERIA["symptoms" if family == "symptoms" else "glutamate"]
    df = combined.to_dataframe() if "parameter" not in combined.dims else None
    if df is None:  # pragma: no cover - power results have no parameter dim
        raise ValueError("unexpected parameter dim in power results")
    rows = []
    for n in n_per_sex:
        sub = df[df["n_per_sex"] == n]
        r = len(sub)
        for crit in criteria:
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
    ds["criterion_label"] = ("criterion", [criteria[c] for c in ds["criterion"].values])
    ds.attrs["mcse"] = "sqrt(p (1 - p) / R)"
    return ds
