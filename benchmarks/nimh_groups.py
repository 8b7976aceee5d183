"""The symptom model pooled by diagnostic group on the real NIMH data, next to an LMM.

Data: NIMH Ketamine Mechanism of Action Study (OpenNeuro ds005917,
doi:10.18112/openneuro.ds005917.v1.0.1, CC0; Evans, Nugent, Zarate), all groups (MDD,
BP, HC), MADRS at baseline and after each infusion (ketamine vs placebo).

The Bayesian estimates are ``symptom_condition_effect`` (per group, at the primary
post timepoint), ``_pooled`` and ``_contrast`` of ``symptoms_group_partial``. The
frequentist model is a linear mixed model on the same rows (ratings that were made)
with the same fixed effects as the Bayesian model (post-infusion change per
timepoint, a post x ketamine effect per group and timepoint, one shift per later
period) and a random intercept per participant, fitted by REML with statsmodels; its
post x ketamine x group coefficients at the primary timepoint are the group x
condition interaction without pooling.

Run::

    PYTHONPATH=. .venv/bin/python benchmarks/nimh_groups.py --timepoints day2
"""

from __future__ import annotations

import argparse

import numpy as np
import pymc as pm
import statsmodels.formula.api as smf

from bayes_ketamine.data import import_nimh
from bayes_ketamine.models import build_model
from bayes_ketamine.models.symptoms import post_timepoints, symptom_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timepoints", nargs="+", default=["day2"])
    parser.add_argument("--scale", default="MADRS")
    args = parser.parse_args()
    study = import_nimh("all", timepoints=args.timepoints, scale=args.scale)
    model = build_model("symptoms_group_partial", study)
    rows = symptom_rows(model)
    primary = post_timepoints(model)[0]
    print(f"{study.name}: {len(study.participants)} participants, {len(rows)} ratings")
    print(study.participants["group"].value_counts().to_dict())
    with model.pymc_model:
        idata = pm.sample(
            nuts_sampler="nutpie",
            tune=1000,
            draws=1000,
            chains=4,
            cores=2,
            target_accept=0.99,
            random_seed=1,
            progressbar=False,
        )
    post = idata.posterior
    print(f"divergences {int(idata.sample_stats['diverging'].sum())}")
    print(f"| quantity | Bayesian mean [95 % ETI] ({primary}) | LMM REML estimate [95 % CI] |")
    print("| --- | --- | --- |")

    group = rows["participant_id"].map(study.participants.set_index("participant_id")["group"])
    data = rows.assign(
        score=rows["score"].astype(float),
        group=group.to_numpy(),
        post=(rows["hours"] > 0).astype(float),
        ketamine=(rows["condition"] == "ketamine").astype(float),
    )
    for t in post_timepoints(model):
        data[f"post_{t}"] = (data["timepoint"] == t).astype(float)
        data[f"ket_{t}"] = data[f"post_{t}"] * data["ketamine"]
    for s in range(2, study.periods + 1):
        data[f"period{s}"] = (data["session"] == s).astype(float)
    terms = [f"post_{t} + ket_{t}:C(group)" for t in post_timepoints(model)]
    periods = [f"period{s}" for s in range(2, study.periods + 1)]
    formula = "score ~ " + " + ".join(terms + periods)
    mixed = smf.mixedlm(formula, data, groups=data["participant_id"]).fit(reml=True)
    ci = mixed.conf_int()

    def bayes(values: np.ndarray) -> str:
        low, high = np.quantile(values, [0.025, 0.975])
        return f"{values.mean():.2f} [{low:.2f}, {high:.2f}]"

    effect = post["symptom_condition_effect"]
    for level in effect["group"].values:
        name = f"ket_{primary}:C(group)[{level}]"
        lmm = f"{mixed.params[name]:.2f} [{ci.loc[name, 0]:.2f}, {ci.loc[name, 1]:.2f}]"
        estimate = bayes(effect.sel(group=level).values.ravel())
        print(f"| ketamine effect, {level} | {estimate} | {lmm} |")
    pooled = post["symptom_condition_effect_pooled"].values.ravel()
    print(f"| pooled (mean of groups) | {bayes(pooled)} | |")
    contrast = post["symptom_condition_effect_contrast"]
    for pair in contrast["group_pair"].values:
        b, a = str(pair).split(" - ")
        diff = (
            mixed.params[f"ket_{primary}:C(group)[{b}]"]
            - mixed.params[f"ket_{primary}:C(group)[{a}]"]
        )
        estimate = bayes(contrast.sel(group_pair=pair).values.ravel())
        print(f"| contrast {pair} | {estimate} | {diff:.2f} |")


if __name__ == "__main__":
    main()
