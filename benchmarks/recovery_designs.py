"""Parameter recovery for the design options of issue 12, on simulated studies.

Options: a three-arm Williams design, a three-period (ABB/BAA) design, carry-over
present and absent (fitted with the carry-over term), per-condition carry-over in a
three-arm Williams design (``carryover_three_arm``), a covariate effect, pooling
by a four-level site factor, and a change under placebo per site
(``placebo_by_site``: ``design.reference_change_by_level``, simulated with
``ketamine_madrs_change_by_level``; parameter and spec files in
``benchmarks/designs/``). For each option and seed, simulate a study with known
truths (all SIMULATED DATA), fit with real sampling (nutpie, 4 chains) and record
whether the 90 % equal-tailed interval of each key effect contains the truth, with
divergences. Each option's model is compiled once and every seed binds its own data
(the compile-once invariant: studies of one design share a structure; the model is
compiled again if a study's parametrisation choice, ``models/parametrisation.py``,
differs from the first seed's).

The CSV is rewritten (atomically) after every fit, keeping the rows of options and
seeds not in this run, so options can be run one at a time and a cut-off run loses
only the fit under way. ``--markdown`` writes the summary table of every option in
the CSV.

Run::

    PYTHONPATH=. .venv/bin/python benchmarks/recovery_designs.py --seeds 0 1 2 3 4 5 6 7 8 9 \
        --out benchmarks/results/recovery_designs.csv \
        --markdown benchmarks/results/recovery_designs.md
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import nutpie
import pandas as pd

from bayes_ketamine.data import SimulationParameters, read_simulation_parameters, simulate_study
from bayes_ketamine.models import ModelSpec, build_model, load_spec

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
DESIGNS = Path(__file__).resolve().parent / "designs"


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
            ("glx_covariate_effect", "age"): (
                {"glx_covariate": "age"},
                t.glx_covariate_effect["age"],
            ),
            ("symptom_covariate_effect", "age"): (
                {"symptom_covariate": "age"},
                t.symptom_covariate_effect["age"],
            ),
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
    "placebo_by_site": Option(
        read_simulation_parameters(DESIGNS / "placebo_by_site.toml"),
        load_spec(DESIGNS / "symptoms_placebo_by_site.toml"),
        40,
        lambda t: {
            **_by_level(
                "symptom_change_reference",
                t.symptom_change_reference,
                {"post_timepoint": "24h"},
            ),
            **_by_level("symptom_condition_effect", t.symptom_condition_effect),
            ("symptom_condition_effect_pooled", ""): ({}, t.symptom_condition_effect_pooled),
        },
    ),
}


def recover(
    name: str, seeds: list[int], draws: int, target_accept: float, *, out: Path
) -> list[dict]:
    """Fit one option's model to a study per seed; return one row per checked truth.

    After each fit the rows so far are merged into ``out`` (:func:`save`).
    """
    option = OPTIONS[name]
    compiled = {}  # parametrisation choice -> compiled model
    rows = []
    for seed in seeds:
        study, truth = simulate_study(seed=seed, n_participants=option.n, params=option.params)
        model = build_model(option.spec, study)
        choice = tuple(sorted((term, c.name) for term, c in model.parametrisation.items()))
        if choice not in compiled:
            compiled[choice] = nutpie.compile_pymc_model(model.pymc_model)
        used = {var.name for var in compiled[choice].shared_var_keys}
        values = {
            var.name: var.get_value() for var in model.pymc_model.data_vars if var.name in used
        }
        start = time.perf_counter()
        trace = nutpie.sample(
            compiled[choice].with_data(**values),
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
        centred = ";".join(term for term, form in choice if form == "centred")
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
                    centred_terms=centred,
                )
            )
        save(pd.DataFrame(rows), out)
        print(f"{name} seed {seed}: {divergences} divergences, {seconds:.0f} s", flush=True)
    return rows


def save(rows: pd.DataFrame, out: Path) -> pd.DataFrame:
    """Merge ``rows`` into the CSV ``out`` (replacing its rows of the same option and
    seed) and write it atomically; return the merged table."""
    if out.exists():
        kept = pd.read_csv(out, keep_default_na=False)
        fitted = pd.MultiIndex.from_frame(rows[["option", "seed"]])
        kept = kept[~pd.MultiIndex.from_frame(kept[["option", "seed"]]).isin(fitted)]
        rows = pd.concat([kept, rows], ignore_index=True)
    rows = rows.sort_values(["option", "seed"], kind="stable")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=out.parent, suffix=".tmp", delete=False) as tmp:
        rows.to_csv(tmp, index=False)
    os.replace(tmp.name, out)
    return rows


def markdown(table: pd.DataFrame, command: str) -> str:
    """Return the summary of ``table`` (the CSV's rows) as a Markdown table."""
    lines = [
        "SIMULATED DATA. Recovery of the design options: 90 % equal-tailed intervals "
        "against the simulated truths (nutpie, 4 chains x 1000 draws after 1000 tuning).",
        "",
        "| option | parameters checked | seeds | coverage of 90 % intervals (k/n) "
        "| divergences (total) | centred terms | median s per fit |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, rows in table.groupby("option", sort=False):
        params = ", ".join(
            dict.fromkeys(
                f"`{e}`" + (f"[{lab}]" if lab else "")
                for e, lab in zip(rows["effect"], rows["label"], strict=True)
            )
        )
        fits = rows.drop_duplicates("seed")
        seeds = sorted(fits["seed"])
        centred = "; ".join(sorted(set(fits["centred_terms"].astype(str)) - {""})) or "none"
        lines.append(
            f"| {name} | {params} | {len(seeds)} ({seeds[0]}-{seeds[-1]}) "
            f"| {int(rows['covered'].sum())}/{len(rows)} ({rows['covered'].mean():.0%}) "
            f"| {int(fits['divergences'].sum())} | {centred} "
            f"| {fits['seconds'].median():.0f} |"
        )
    lines += ["", f"Command: `{command}`", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--options", nargs="+", default=list(OPTIONS), choices=list(OPTIONS))
    parser.add_argument("--draws", type=int, default=1000, help="draws per chain (4 chains)")
    parser.add_argument("--target-accept", type=float, default=0.99)  # FitSettings default
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/recovery_designs.csv"))
    parser.add_argument("--markdown", type=Path, help="write the summary of the CSV here")
    args = parser.parse_args()
    for name in args.options:
        recover(name, args.seeds, args.draws, args.target_accept, out=args.out)
    table = pd.read_csv(args.out, keep_default_na=False)
    table = table[table["option"].isin(list(OPTIONS))]
    order = {name: i for i, name in enumerate(OPTIONS)}
    table = table.sort_values("option", key=lambda c: c.map(order), kind="stable")
    command = "python " + " ".join(sys.argv)
    print(markdown(table, command))
    print(table.loc[~table["covered"], ["option", "seed", "effect", "label", "truth", "mean"]])
    if args.markdown:
        args.markdown.write_text(markdown(table, command))


if __name__ == "__main__":
    main()
