"""Parameter recovery for the design options of issue 12, on simulated studies.

Options: a three-arm Williams design, a three-period (ABB/BAA) design, carry-over
present and absent (fitted with the carry-over term), per-condition carry-over in a
three-arm Williams design (``carryover_three_arm``), a covariate effect, and pooling
by a four-level site factor. For each option and seed, simulate a study with known
truths (all SIMULATED DATA), fit with real sampling (nutpie, 4 chains) and record
whether the 90 % equal-tailed interval of each key effect contains the truth, with
divergences. Each option's model is compiled once and every seed binds its own data
(the compile-once invariant: studies of one design share a structure).

Run::

    PYTHONPATH=. .venv/bin/python benchmarks/recovery_designs.py --seeds 0 1 2 3 4 5 6 7 8 9 \
        --out benchmarks/results/recovery_designs.csv
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import nutpie
import pandas as pd

from bayes_ketamine.data import SimulationParameters, simulate_study
from bayes_ketamine.models import ModelSpec, build_model

WILLIAMS = (
    "placebo-naltrexone-midazolam",
    "naltrexone-midazolam-placebo",
    "midazolam-placebo-naltrexone",
    "placebo-midazolam-naltrexone",
    "naltrexone-placebo-midazolam",
    "midazolam-naltrexone-placebo",
)
EXTRA_PERIOD = ("placebo-naltrexone-naltrexone", "naltrexone-placebo-placebo")
SITES = ("A", "B", "C", "D")


@dataclass(frozen=True)
class Option:
    """One design option: its simulation, its model spec and the truths to check."""

    params: SimulationParameters
    spec: ModelSpec
    n: int
    truths: Callable  # truth -> {(variable, selection label): (selection dict, value)}


def _by_level(name: str, values: dict, extra: dict | None = None) -> dict:
    dim = "site" if set(values) == set(SITES) else "sex"
    return {
        (name, level): ({dim: level, **(extra or {})}, value) for level, value in values.items()
    }


OPTIONS: dict[str, Option] = {
    "three_arm": Option(
        SimulationParameters(
            sequences=WILLIAMS,
            extra_glx_condition_effect_pct={"midazolam": {"F": -6.0, "M": -6.0}},
            extra_direct_effect={"midazolam": {"F": 6.0, "M": 6.0}},
        ),
        ModelSpec(name="symptoms_three_arm", family="symptoms"),
        24,
        lambda t: {
            ("symptom_condition_effect_pooled", arm): (
                {"active_condition": arm},
                t.condition_effects[arm]["total_effect_pooled"],
            )
            for arm in ("naltrexone", "midazolam")
        },
    ),
    "three_period": Option(
        SimulationParameters(sequences=EXTRA_PERIOD),
        ModelSpec(name="glutamate_three_period", family="glutamate"),
        24,
        lambda t: {
            ("glx_condition_effect_pooled", ""): ({}, t.glx_condition_effect_pooled),
            **_by_level("glx_condition_effect", t.glx_condition_effect),
        },
    ),
    "carryover_present": Option(
        SimulationParameters(sequences=EXTRA_PERIOD, carryover_glx_pct=-3.0),
        ModelSpec(name="glutamate_carryover", family="glutamate", carryover=True),
        24,
        lambda t: {
            ("glx_carryover_pct", ""): ({}, t.glx_carryover),
            ("glx_condition_effect_pooled", ""): ({}, t.glx_condition_effect_pooled),
        },
    ),
    "carryover_absent": Option(
        SimulationParameters(sequences=EXTRA_PERIOD),
        ModelSpec(name="glutamate_carryover", family="glutamate", carryover=True),
        24,
        lambda t: {
            ("glx_carryover_pct", ""): ({}, t.glx_carryover),
            ("glx_condition_effect_pooled", ""): ({}, t.glx_condition_effect_pooled),
        },
    ),
    "carryover_three_arm": Option(
        SimulationParameters(
            sequences=WILLIAMS,
            extra_glx_condition_effect_pct={"midazolam": {"F": -6.0, "M": -6.0}},
            extra_direct_effect={"midazolam": {"F": 6.0, "M": 6.0}},
            carryover_glx_pct={"naltrexone": -3.0, "midazolam": 2.0},
        ),
        ModelSpec(name="glutamate_carryover", family="glutamate", carryover=True),
        24,
        lambda t: {
            **{
                ("glx_carryover_pct", arm): ({"active_condition": arm}, t.glx_carryover[arm])
                for arm in ("naltrexone", "midazolam")
            },
            **{
                ("glx_condition_effect_pooled", arm): (
                    {"active_condition": arm},
                    t.condition_effects[arm]["glx_condition_effect_pooled"],
                )
                for arm in ("naltrexone", "midazolam")
            },
        },
    ),
    "covariate": Option(
        SimulationParameters(
            covariates={"age": (35.0, 10.0)},
            glx_covariate_effect_pct={"age": 2.0},
            symptom_covariate_effect={"age": -2.0},
        ),
        ModelSpec(
            name="joint_covariate",
            family="joint",
            glx_covariates=("age",),
            symptom_covariates=("age",),
        ),
        26,
        lambda t: {
            ("glx_covariate_effect", "age"): ({"glx_covariate": "age"}, 2.0),
            ("symptom_covariate_effect", "age"): ({"symptom_covariate": "age"}, -2.0),
        },
    ),
    "site4": Option(
        SimulationParameters(
            sites=SITES,
            effects_by="site",
            glx_condition_effect_pct={"A": -1.0, "B": -3.0, "C": -4.0, "D": -6.0},
            direct_effect={s: 2.0 for s in SITES},
        ),
        ModelSpec(name="glutamate_site", family="glutamate", pooling_factor="site"),
        40,
        lambda t: {
            ("glx_condition_effect_pooled", ""): ({}, t.glx_condition_effect_pooled),
            **_by_level("glx_condition_effect", t.glx_condition_effect),
        },
    ),
}


def recover(name: str, seeds: list[int], draws: int, target_accept: float) -> list[dict]:
    """Fit one option's model to a study per seed; return one row per checked truth."""
    option = OPTIONS[name]
    compiled = None
    rows = []
    for seed in seeds:
        study, truth = simulate_study(seed=seed, n_participants=option.n, params=option.params)
        model = build_model(option.spec, study)
        if compiled is None:
            compiled = nutpie.compile_pymc_model(model.pymc_model)
        used = {var.name for var in compiled.shared_var_keys}
        values = {
            var.name: var.get_value() for var in model.pymc_model.data_vars if var.name in used
        }
        start = time.perf_counter()
        trace = nutpie.sample(
            compiled.with_data(**values),
            draws=draws,
            tune=1000,
            chains=4,
            cores=2,
            seed=seed,
            target_accept=target_accept,
            progress_bar=False,
        )
        seconds = time.perf_counter() - start
        post = trace.posterior
        divergences = int(trace.sample_stats["diverging"].sum())
        for (variable, label), (where, value) in option.truths(truth).items():
            samples = post[variable].sel(where).values.ravel()
            low, high = np.quantile(samples, [0.05, 0.95])
            rows.append(
                dict(
                    option=name,
                    seed=seed,
                    effect=variable,
                    label=label,
                    truth=value,
                    mean=float(samples.mean()),
                    eti90_low=low,
                    eti90_high=high,
                    covered=bool(low < value < high),
                    divergences=divergences,
                    seconds=seconds,
                )
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--options", nargs="+", default=list(OPTIONS), choices=list(OPTIONS))
    parser.add_argument("--draws", type=int, default=1000, help="draws per chain (4 chains)")
    parser.add_argument("--target-accept", type=float, default=0.99)  # FitSettings default
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/recovery_designs.csv"))
    args = parser.parse_args()
    rows = [
        row
        for name in args.options
        for row in recover(name, args.seeds, args.draws, args.target_accept)
    ]
    table = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    summary = table.groupby("option").agg(
        coverage=("covered", "mean"),
        intervals=("covered", "size"),
        seeds=("seed", "nunique"),
        median_seconds=("seconds", "median"),
    )
    fits = table.drop_duplicates(["option", "seed"]).groupby("option")
    summary["divergences"] = fits["divergences"].sum()
    print("SIMULATED DATA: recovery of the design options")
    print(summary.to_string())
    print(table.loc[~table["covered"], ["option", "seed", "effect", "label", "truth", "mean"]])


if __name__ == "__main__":
    main()
