"""Parameter recovery on simulated studies of the default design.

For each family with partial pooling and each seed, simulate a study (26
participants, the published design), fit with real sampling, and record whether the
90 % equal-tailed posterior interval contains the simulation's true value of each key
effect, with divergences, max R-hat and min bulk ESS.

Run::

    .venv/bin/python benchmarks/recovery.py --seeds 0 1 2 3 4 5 \
        --out benchmarks/results/recovery.csv
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm

from bayes_ketamine.data import simulate_study
from bayes_ketamine.models import build_model

KEY_TRUTHS = {
    "glutamate_partial": ["glx_condition_effect", "glx_condition_effect_pooled"],
    "symptoms_partial": ["symptom_condition_effect", "symptom_condition_effect_pooled"],
    "joint_partial": [
        "glx_condition_effect",
        "indirect_effect",
        "direct_effect",
        "total_effect",
        "indirect_effect_pooled",
        "total_effect_pooled",
    ],
}


def recover(spec: str, seed: int, draws: int, target_accept: float) -> list[dict]:
    study, truth = simulate_study(seed=seed)
    model = build_model(spec, study)
    start = time.perf_counter()
    with model.pymc_model:
        idata = pm.sample(
            nuts_sampler="nutpie",
            tune=1000,
            draws=draws,
            chains=4,
            cores=2,
            target_accept=target_accept,
            random_seed=seed,
            progressbar=False,
        )
    seconds = time.perf_counter() - start
    post = idata.posterior
    free = [rv.name for rv in model.pymc_model.free_RVs]
    posterior = post.to_dataset()[free]
    rhat = float(max(az.rhat(posterior)[v].max() for v in free))
    ess = float(min(az.ess(posterior)[v].min() for v in free))
    divergences = int(idata.sample_stats["diverging"].sum())
    rows = []
    for name in KEY_TRUTHS[spec]:
        true = getattr(truth, name)
        values = post[name]
        cells = true.items() if isinstance(true, dict) else [("pooled", true)]
        for sex, value in cells:
            draws = values.sel(sex=sex).values if sex != "pooled" else values.values
            low, high = np.quantile(draws, [0.05, 0.95])
            rows.append(
                dict(
                    spec=spec,
                    seed=seed,
                    effect=name,
                    sex=sex,
                    truth=value,
                    mean=float(draws.mean()),
                    eti90_low=low,
                    eti90_high=high,
                    covered=bool(low < value < high),
                    divergences=divergences,
                    max_rhat=rhat,
                    min_ess_bulk=ess,
                    seconds=seconds,
                )
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5])
    parser.add_argument("--specs", nargs="+", default=list(KEY_TRUTHS))
    parser.add_argument("--draws", type=int, default=1000, help="draws per chain (4 chains)")
    parser.add_argument("--target-accept", type=float, default=0.99)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/recovery.csv"))
    args = parser.parse_args()
    rows = [
        row
        for spec in args.specs
        for seed in args.seeds
        for row in recover(spec, seed, args.draws, args.target_accept)
    ]
    table = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    summary = table.groupby("spec").agg(
        coverage=("covered", "mean"),
        intervals=("covered", "size"),
        divergences=("divergences", "sum"),
        max_rhat=("max_rhat", "max"),
        min_ess_bulk=("min_ess_bulk", "min"),
        median_seconds=("seconds", "median"),
    )
    print(summary.to_string())
    print(table.loc[~table["covered"], ["spec", "seed", "effect", "sex", "truth", "mean"]])


if __name__ == "__main__":
    main()
