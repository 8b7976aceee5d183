"""The symptom model pooled by diagnostic group on the real NIMH data, next to an LMM.

Data: NIMH Ketamine Mechanism of Action Study (OpenNeuro ds005917,
doi:10.18112/openneuro.ds005917.v1.0.1, CC0; Evans, Nugent, Zarate), all groups (MDD,
BP, HC), the chosen scale at baseline and after each infusion (ketamine vs placebo).

The Bayesian estimates are ``symptom_condition_effect_by_time`` (the ketamine effect
per group at each post timepoint), ``_pooled`` and ``_contrast`` (primary timepoint) of
``symptoms_group_partial``. The frequentist model is a linear mixed model on the same
rows (ratings that were made) with the same fixed effects as the Bayesian model
(post-infusion change per timepoint, a post x ketamine effect per group and timepoint,
one shift per later period) and a random intercept per participant, fitted by REML with
statsmodels; its post x ketamine x group coefficients are the group x condition
interaction without pooling, and a contrast between groups is the difference of two
coefficients with its Wald interval (from their REML covariance). The models differ
in that the Bayesian one partially pools the groups' effects, has priors, and
censors the ratings at the scale's bounds.

Run::

    PYTHONPATH=. .venv/bin/python benchmarks/nimh_groups.py --timepoints day2 day10 \
        --markdown benchmarks/results/nimh_groups.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import arviz_stats as azs
import numpy as np
import pandas as pd
import pymc as pm
import statsmodels.formula.api as smf

from bayes_ketamine.data import import_nimh
from bayes_ketamine.data.nimh import CREDIT
from bayes_ketamine.models import build_model
from bayes_ketamine.models.symptoms import post_timepoints, symptom_rows


def coefficient(timepoint: str, level: str) -> str:
    """Return the name of the mixed model's ketamine x group coefficient at a timepoint."""
    return f"ket_{timepoint}_{level}"


def mixed_model(study, rows: pd.DataFrame, timepoints: list[str]):
    """Fit the REML mixed model to the rating rows; return the fit and its formula.

    A ketamine x group x timepoint column with no rating (e.g. no BP participant
    rated at day 10 after ketamine) is left out: the model cannot estimate it.
    """
    group = rows["participant_id"].map(study.participants.set_index("participant_id")["group"])
    data = rows.assign(score=rows["score"].astype(float))
    ketamine = (rows["condition"] == "ketamine").to_numpy(dtype=float)
    terms = []
    for t in timepoints:
        post = (rows["timepoint"] == t).to_numpy(dtype=float)
        data[f"post_{t}"] = post
        terms.append(f"post_{t}")
        for level in sorted(group.unique()):
            column = post * ketamine * (group == level).to_numpy(dtype=float)
            if column.any():
                data[coefficient(t, level)] = column
                terms.append(coefficient(t, level))
    for s in range(2, study.periods + 1):
        data[f"period{s}"] = (rows["session"] == s).to_numpy(dtype=float)
        terms.append(f"period{s}")
    formula = "score ~ " + " + ".join(terms)
    fit = smf.mixedlm(formula, data, groups=data["participant_id"]).fit(reml=True)
    return fit, formula


def interval(values: np.ndarray) -> str:
    """Return the mean and 95 % equal-tailed interval of draws, formatted."""
    low, high = np.quantile(values, [0.025, 0.975])
    return f"{values.mean():.2f} [{low:.2f}, {high:.2f}]"


def wald(estimate: float, se: float) -> str:
    """Return an estimate and its 95 % Wald interval, formatted."""
    return f"{estimate:.2f} [{estimate - 1.96 * se:.2f}, {estimate + 1.96 * se:.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timepoints", nargs="+", default=["day2"])
    parser.add_argument("--scale", default="MADRS")
    parser.add_argument("--markdown", type=Path, help="write the table here")
    args = parser.parse_args()
    study = import_nimh("all", timepoints=args.timepoints, scale=args.scale)
    model = build_model("symptoms_group_partial", study)
    rows = symptom_rows(model)
    timepoints = post_timepoints(model)
    primary = timepoints[0]
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
    divergences = int(idata.sample_stats["diverging"].sum())
    free = [rv.name for rv in model.pymc_model.free_RVs]
    ess = min(float(np.nanmin(azs.ess(post[name], method="bulk"))) for name in free)
    rhat = max(float(np.nanmax(azs.rhat(post[name]))) for name in free)

    mixed, formula = mixed_model(study, rows, timepoints)
    cov = mixed.cov_params()

    counts = study.participants["group"].value_counts().to_dict()
    lines = [
        f"REAL DATA: {CREDIT}",
        "",
        f"{study.name}, scale {args.scale}: {len(study.participants)} participants "
        f"({', '.join(f'{g} {n}' for g, n in counts.items())}), {len(rows)} ratings "
        f"(timepoints {', '.join(timepoints)}). Bayesian: `symptoms_group_partial`, "
        f"nutpie 4 x 1000 draws, {divergences} divergences, min bulk ESS {ess:.0f}, "
        f"max R-hat {rhat:.3f}; centred terms: "
        f"{', '.join(t for t, c in model.parametrisation.items() if c.centred) or 'none'}. "
        f"LMM: `{formula}`, random intercept per participant, REML "
        f"(converged: {mixed.converged}).",
        "",
        "Ketamine effect = change from baseline under ketamine minus under placebo, "
        "scale points (negative = ketamine improves more).",
        "",
        "| quantity | Bayesian mean [95 % ETI] | LMM REML estimate [95 % CI] |",
        "| --- | --- | --- |",
    ]
    effect = post["symptom_condition_effect_by_time"]
    levels = [str(level) for level in effect["group"].values]
    for t in timepoints:
        for level in levels:
            name = coefficient(t, level)
            if name in mixed.params:
                lmm = wald(mixed.params[name], np.sqrt(cov.loc[name, name]))
            else:
                lmm = "not estimable (no ratings)"
            estimate = interval(effect.sel(group=level, post_timepoint=t).values.ravel())
            lines.append(f"| ketamine effect, {level}, {t} | {estimate} | {lmm} |")
    pooled = post["symptom_condition_effect_pooled"].values.ravel()
    weights = np.full(len(levels), 1 / len(levels))
    names = [coefficient(primary, level) for level in levels]
    mean_lmm = wald(
        float(weights @ mixed.params[names]),
        float(np.sqrt(weights @ cov.loc[names, names].to_numpy() @ weights)),
    )
    lines.append(f"| mean of groups, {primary} | {interval(pooled)} | {mean_lmm} |")
    contrast = post["symptom_condition_effect_contrast"]
    for pair in contrast["group_pair"].values:
        b, a = (coefficient(primary, level) for level in str(pair).split(" - "))
        se = np.sqrt(cov.loc[b, b] + cov.loc[a, a] - 2 * cov.loc[a, b])
        lmm = wald(mixed.params[b] - mixed.params[a], se)
        estimate = interval(contrast.sel(group_pair=pair).values.ravel())
        lines.append(f"| contrast {pair}, {primary} | {estimate} | {lmm} |")
    lines += ["", f"Command: `python {' '.join(sys.argv)}`", ""]
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text)


if __name__ == "__main__":
    main()
