"""The symptom model on the real NIMH MDD subset next to a frequentist mixed model.

Data: NIMH Ketamine Mechanism of Action Study (OpenNeuro ds005917,
doi:10.18112/openneuro.ds005917.v1.0.1, CC0; Evans, Nugent, Zarate), MDD group,
MADRS at baseline and day 2 after each infusion (ketamine vs placebo).

The Bayesian estimate is ``symptom_condition_effect_pooled`` of ``symptoms_partial``
(ketamine minus placebo change in MADRS at day 2). The frequentist model is a linear
mixed model on the same rows (ratings that were made), with the same fixed effects
(post-infusion, post x ketamine, period 2) and a random intercept per participant,
fitted by REML with statsmodels.

Run::

    .venv/bin/python benchmarks/nimh_symptoms.py
"""

from __future__ import annotations

import time

import numpy as np
import pymc as pm
import statsmodels.formula.api as smf

from bayes_ketamine.data import import_nimh
from bayes_ketamine.models import build_model
from bayes_ketamine.models.symptoms import symptom_rows


def main() -> None:
    study = import_nimh(group="MDD", timepoints=("day2",))
    model = build_model("symptoms_partial", study)
    rows = symptom_rows(model)
    print(f"{study.name}: {len(study.participants)} participants, {len(rows)} ratings")
    start = time.perf_counter()
    with model.pymc_model:
        idata = pm.sample(
            nuts_sampler="nutpie",
            tune=1000,
            draws=1000,
            chains=4,
            cores=2,
            target_accept=0.95,
            random_seed=1,
            progressbar=False,
        )
    seconds = time.perf_counter() - start
    effect = idata.posterior["symptom_condition_effect_pooled"].values.ravel()
    low, high = np.quantile(effect, [0.025, 0.975])
    divergences = int(idata.sample_stats["diverging"].sum())
    print(
        f"Bayesian (symptoms_partial): ketamine x day2 = {effect.mean():.2f} MADRS points, "
        f"95% ETI [{low:.2f}, {high:.2f}], P(<0) = {np.mean(effect < 0):.3f}, "
        f"divergences {divergences}, {seconds:.1f} s"
    )
    for sex in ("F", "M"):
        by_sex = idata.posterior["symptom_condition_effect"].sel(sex=sex).values.ravel()
        print(
            f"  {sex}: {by_sex.mean():.2f} [{np.quantile(by_sex, 0.025):.2f}, "
            f"{np.quantile(by_sex, 0.975):.2f}]"
        )

    data = rows.assign(
        score=rows["score"].astype(float),
        post=(rows["hours"] > 0).astype(float),
        ketamine=(rows["condition"] == "ketamine").astype(float),
        period2=(rows["session"] == 2).astype(float),
    )
    data["post_ketamine"] = data["post"] * data["ketamine"]
    mixed = smf.mixedlm(
        "score ~ post + post_ketamine + period2", data, groups=data["participant_id"]
    ).fit(reml=True)
    est = mixed.params["post_ketamine"]
    ci = mixed.conf_int().loc["post_ketamine"]
    print(
        f"Frequentist LMM (REML): post x ketamine = {est:.2f} MADRS points, "
        f"95% CI [{ci[0]:.2f}, {ci[1]:.2f}], p = {mixed.pvalues['post_ketamine']:.4f}"
    )


if __name__ == "__main__":
    main()
