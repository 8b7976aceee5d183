"""The symptom model pooled by diagnostic group on the real NIMH data, next to an LMM.

Data: NIMH Ketamine Mechanism of Action Study (OpenNeuro ds005917,
doi:10.18112/openneuro.ds005917.v1.0.1, CC0; Evans, Nugent, Zarate), all groups (MDD,
BP, HC), the chosen scale at baseline and after each infusion (ketamine vs placebo).

The Bayesian estimates are ``symptom_condition_effect_by_time`` (the ketamine effect
per group at each post timepoint), ``_pooled`` and ``_contrast`` (primary timepoint) and
``symptom_change_reference`` (the change from baseline under placebo per group and
timepoint: the shipped group specs set ``design.reference_change_by_level`` and
``design.baseline_by_level``) of
``symptoms_group_partial`` and, as the Bayesian counterpart of the unpooled mixed
model, ``symptoms_group_none`` (``--specs``). The frequentist model is a linear mixed
model on the same rows (ratings that were made) with the same fixed effects as the
Bayesian model (a baseline mean per group, ``C(group)``, a post-infusion change under
placebo per group and timepoint, a post x
ketamine effect per group and timepoint, one shift per later period) and a random
intercept per participant, fitted by REML with statsmodels; its post x ketamine x group
coefficients are the group x condition interaction without pooling, and a contrast
between groups is the difference of two coefficients with its Wald interval (from
their REML covariance). The models differ in that the Bayesian one partially pools the
groups' ketamine effects (``partial``), has priors, and censors the ratings at the
scale's bounds. A second LMM column leaves ``C(group)`` out (one mean of the random
intercepts, as a Bayesian model without ``design.baseline_by_level``), to show what
the baseline per group changes.

Run::

    PYTHONPATH=. .venv/bin/python benchmarks/nimh_groups.py --timepoints day2 day10 \
        --markdown benchmarks/results/nimh_groups.md
    PYTHONPATH=. .venv/bin/python benchmarks/nimh_groups.py --timepoints day2 day10 \
        --scale HAMD --markdown benchmarks/results/nimh_groups_hamd.md
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


def placebo_coefficient(timepoint: str, level: str) -> str:
    """Return the name of the mixed model's post x group coefficient (change under placebo)."""
    return f"post_{timepoint}_{level}"


def mixed_model(study, rows: pd.DataFrame, timepoints: list[str], *, group_baseline: bool = False):
    """Fit the REML mixed model to the rating rows; return the fit and its formula.

    Per timepoint and group a post-infusion change (under placebo) and a ketamine
    shift of it, as the Bayesian model's :math:`d_{t,g}` and :math:`c_{t,g}`. A column
    with no rating (e.g. no BP participant rated at day 10 after ketamine) is left
    out: the model cannot estimate it. With ``group_baseline`` the intercept is per
    group too (``C(group)``), so the participants' random intercepts are centred on
    their group's mean rather than on one mean (the Bayesian model has one mean).
    """
    group = rows["participant_id"].map(study.participants.set_index("participant_id")["group"])
    data = rows.assign(score=rows["score"].astype(float))
    ketamine = (rows["condition"] == "ketamine").to_numpy(dtype=float)
    terms = []
    for t in timepoints:
        post = (rows["timepoint"] == t).to_numpy(dtype=float)
        for level in sorted(group.unique()):
            in_level = (group == level).to_numpy(dtype=float)
            for name, column in (
                (placebo_coefficient(t, level), post * in_level),
                (coefficient(t, level), post * ketamine * in_level),
            ):
                if column.any():
                    data[name] = column
                    terms.append(name)
    for s in range(2, study.periods + 1):
        data[f"period{s}"] = (rows["session"] == s).to_numpy(dtype=float)
        terms.append(f"period{s}")
    if group_baseline:
        data["group"] = group.to_numpy()
        terms.append("C(group)")
    formula = "score ~ " + " + ".join(terms)
    fit = smf.mixedlm(formula, data, groups=data["participant_id"]).fit(reml=True)
    return fit, formula


def placebo_change(posterior, timepoint: str, level: str) -> np.ndarray:
    """Return the draws of the change under placebo of a group (shared by the groups when
    the spec does not set ``design.reference_change_by_level``)."""
    change = posterior["symptom_change_reference"].sel(post_timepoint=timepoint)
    return (change.sel(group=level) if "group" in change.dims else change).values


def interval(values: np.ndarray) -> str:
    """Return the mean and 95 % equal-tailed interval of draws, formatted."""
    values = np.asarray(values).ravel()
    low, high = np.quantile(values, [0.025, 0.975])
    return f"{values.mean():.2f} [{low:.2f}, {high:.2f}]"


def wald(estimate: float, se: float) -> str:
    """Return an estimate and its 95 % Wald interval, formatted."""
    return f"{estimate:.2f} [{estimate - 1.96 * se:.2f}, {estimate + 1.96 * se:.2f}]"


def fit_bayes(spec: str, study) -> tuple[object, str]:
    """Fit a spec to the study with nutpie; return the posterior and a diagnostics note."""
    model = build_model(spec, study)
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
    centred = ", ".join(t for t, c in model.parametrisation.items() if c.centred) or "none"
    note = (
        f"`{spec}`: nutpie 4 x 1000 draws, {divergences} divergences, min bulk ESS "
        f"{ess:.0f}, max R-hat {rhat:.3f}, centred terms: {centred}"
    )
    return post, note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timepoints", nargs="+", default=["day2"])
    parser.add_argument("--scale", default="MADRS")
    parser.add_argument(
        "--specs",
        nargs="+",
        default=["symptoms_group_partial", "symptoms_group_none"],
        help="Bayesian specs pooling by group, one column each",
    )
    parser.add_argument("--markdown", type=Path, help="write the table here")
    args = parser.parse_args()
    study = import_nimh("all", timepoints=args.timepoints, scale=args.scale)
    fits = {spec: fit_bayes(spec, study) for spec in args.specs}
    model = build_model(args.specs[0], study)
    rows = symptom_rows(model)
    timepoints = post_timepoints(model)
    primary = timepoints[0]
    mixed = {
        baseline: mixed_model(study, rows, timepoints, group_baseline=baseline)
        for baseline in (True, False)
    }

    def lmm(weights: dict[str, float]) -> str:
        """Both LMM cells (baseline per group; one baseline) of a coefficient sum."""
        cells = []
        for fit, _ in mixed.values():
            if not set(weights) <= set(fit.params.index):
                cells.append("not estimable (no ratings)")
                continue
            names = list(weights)
            w = np.array([weights[n] for n in names])
            cov = fit.cov_params().loc[names, names]
            cells.append(wald(float(w @ fit.params[names]), float(np.sqrt(w @ cov @ w))))
        return " | ".join(cells)

    counts = study.participants["group"].value_counts().to_dict()
    lines = [
        f"REAL DATA: {CREDIT}",
        "",
        f"{study.name}, scale {args.scale}: {len(study.participants)} participants "
        f"({', '.join(f'{g} {n}' for g, n in counts.items())}), {len(rows)} ratings "
        f"(timepoints {', '.join(timepoints)}).",
        "",
        *(f"- Bayesian {note}." for _, note in fits.values()),
        f"- LMM, baseline per group: `{mixed[True][1]}`, random intercept per "
        f"participant, REML (converged: {mixed[True][0].converged}); the fixed effects "
        "of the Bayesian model with `design.baseline_by_level` and "
        "`design.reference_change_by_level` (the shipped group specs).",
        "- LMM, one baseline: the same without `C(group)` (converged: "
        f"{mixed[False][0].converged}): one mean of the random intercepts for every "
        "group, as a Bayesian model without `design.baseline_by_level`.",
        "",
        "Change under placebo = change from baseline after the placebo infusion, per "
        "group; ketamine effect = change from baseline under ketamine minus under "
        "placebo, scale points (negative = ketamine improves more). Bayesian: posterior "
        "mean [95 % equal-tailed interval]; LMM: REML estimate [95 % Wald interval].",
        "",
        "| quantity | "
        + " | ".join(f"`{spec}`" for spec in fits)
        + " | LMM, baseline per group | LMM, one baseline |",
        "| --- | " + " | ".join("---" for _ in fits) + " | --- | --- |",
    ]

    def row(label: str, draws: list[np.ndarray], frequentist: str) -> None:
        cells = " | ".join(interval(d) for d in draws)
        lines.append(f"| {label} | {cells} | {frequentist} |")

    posts = [post for post, _ in fits.values()]
    levels = [str(level) for level in posts[0]["symptom_condition_effect_by_time"]["group"].values]
    for t in timepoints:
        for level in levels:
            draws = [placebo_change(p, t, level) for p in posts]
            row(
                f"change under placebo, {level}, {t}",
                draws,
                lmm({placebo_coefficient(t, level): 1.0}),
            )
    for t in timepoints:
        for level in levels:
            draws = [
                p["symptom_condition_effect_by_time"].sel(group=level, post_timepoint=t).values
                for p in posts
            ]
            row(f"ketamine effect, {level}, {t}", draws, lmm({coefficient(t, level): 1.0}))
    row(
        f"mean of groups, {primary}",
        [p["symptom_condition_effect_pooled"].values for p in posts],
        lmm({coefficient(primary, level): 1 / len(levels) for level in levels}),
    )
    for pair in posts[0]["symptom_condition_effect_contrast"]["group_pair"].values:
        b, a = str(pair).split(" - ")
        row(
            f"contrast {pair}, {primary}",
            [p["symptom_condition_effect_contrast"].sel(group_pair=pair).values for p in posts],
            lmm({coefficient(primary, b): 1.0, coefficient(primary, a): -1.0}),
        )
    lines += ["", f"Command: `python {' '.join(sys.argv)}`", ""]
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text)


if __name__ == "__main__":
    main()
