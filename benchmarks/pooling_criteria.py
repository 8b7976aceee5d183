"""Check: which pooling by sex do repaired PSIS-LOO and participant CV prefer, and is it the truth?

SIMULATED DATA. Studies of 26 participants are simulated
(:func:`bayes_ketamine.data.simulate_study`) in two scenarios, each with several
seeds:

- ``no sex difference``: naltrexone's effect on the Glx response is -3 % in both
  sexes and its direct effect on the MADRS change +2 points in both, so the total
  symptom effect is the same in both sexes (+3.2 points). Truth: **complete**
  pooling (one effect for both sexes).
- ``large sex difference``: Glx effect 0 % (F) and -9 % (M), direct MADRS effect -2
  (F) and +6 (M) points, so total symptom effects of -2.0 (F) and +9.6 (M) points.
  Truth: **none** (separate effects; partial pooling can express it too, but
  shrinks the two towards each other).

Every other generating parameter is the simulator's default. For each study and
family, the three pooling variants are fitted (``--draws`` x ``--chains`` after
``--tune``, PSIS-LOO with high-k points repaired, as ``bayes-ketamine fit`` does),
compared by repaired PSIS-LOO, then cross-validated by participant
(:func:`bayes_ketamine.calibration.cross_validate`; ``--folds`` K folds grouped by
participant, default one per participant) and compared by CV. The table gives, per
study, family and criterion, the preferred pooling, each variant's elpd difference
to the best with its SE, and whether the best is separated from the runner-up by 2
SE. The summary counts how often each criterion prefers the truth, against chance
(1/3 with three variants; one-sided binomial test).

Everything is stored in ``--out`` (artifacts, CV folds), so a rerun resumes. The table
is written to ``<out>/pooling_criteria.md`` (and ``.json``) and printed.

Usage::

    .venv/bin/python benchmarks/pooling_criteria.py                      # symptoms, seeds 1 2 3
    .venv/bin/python benchmarks/pooling_criteria.py --families symptoms glutamate --folds 13
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

from scipy.stats import binomtest

from bayes_ketamine.calibration import cross_validate
from bayes_ketamine.calibration.cluster import dask_client
from bayes_ketamine.calibration.cross_validation import DEFAULT_SETTINGS
from bayes_ketamine.data.simulate import SimulationParameters, simulate_study
from bayes_ketamine.inference import FitSettings, compare, fit
from bayes_ketamine.models.spec import POOLINGS
from bayes_ketamine.reporting.criteria import CRITERIA, criteria_agreement

SCENARIOS: dict[str, tuple[SimulationParameters, str]] = {
    "no sex difference": (
        SimulationParameters(
            glx_condition_effect_pct={"F": -3.0, "M": -3.0},
            direct_effect={"F": 2.0, "M": 2.0},
        ),
        "complete",
    ),
    "large sex difference": (
        SimulationParameters(
            glx_condition_effect_pct={"F": 0.0, "M": -9.0},
            direct_effect={"F": -2.0, "M": 6.0},
        ),
        "none",
    ),
}
"""Scenario name: generating parameters and the true pooling."""

OBSERVED = {"symptoms": "score", "glutamate": "log_glx"}
"""The observed variable compared in each family."""


def study_rows(
    scenario: str,
    seed: int,
    families: list[str],
    *,
    out: Path,
    settings: FitSettings,
    cv_settings: FitSettings,
    folds: int | None,
    client,
) -> list[dict]:
    """Fit, compare and cross-validate the poolings of one simulated study."""
    params, truth = SCENARIOS[scenario]
    study, _ = simulate_study(seed, n_participants=26, params=params)
    study = replace(study, name=f"{study.name} [{scenario}, seed {seed}]")
    folder = out / f"{scenario.replace(' ', '_')}_seed{seed}"
    rows = []
    for family in families:
        names = [f"{family}_{p}" for p in POOLINGS]
        start = time.perf_counter()
        fits = [
            fit(n, study=study, settings=settings, out_dir=folder, progress=False) for n in names
        ]
        loo = compare([r.path for r in fits], trees=[r.tree for r in fits])
        cvs = [
            cross_validate(
                n,
                study=study,
                folds=folds,
                out_dir=folder / "cv",
                settings=cv_settings,
                full_data_settings=settings,
                client=client,
                progress=False,
            )
            for n in names
        ]
        cv = compare([r.path for r in cvs])
        entry = criteria_agreement(loo, cv)[OBSERVED[family]]
        seconds = time.perf_counter() - start
        divergences = sum(int(r.tree["sample_stats"]["diverging"].sum()) for r in fits)
        verdicts = [r.verdict.status for r in fits]
        for label in CRITERIA:
            ranking = entry[label]
            rows.append(
                {
                    "scenario": scenario,
                    "seed": seed,
                    "family": family,
                    "truth": truth,
                    "criterion": label,
                    "preferred": ranking["order"][0] if ranking["order"] else None,
                    "elpd_diff": ranking["elpd_diff"],
                    "dse": ranking["dse"],
                    "separated": ranking["separated"],
                    "agree": entry["agree"],
                    "divergences_full_fits": divergences,
                    "verdicts": verdicts,
                    "seconds_family": round(seconds, 1),
                }
            )
        print(
            f"{scenario}, seed {seed}, {family}: LOO {entry['loo_best']}, CV {entry['cv_best']} "
            f"({seconds:.0f} s)",
            flush=True,
        )
    return rows


def _pooling(model: str | None) -> str:
    return "-" if model is None else model.rsplit("_", 1)[1]


def markdown(rows: list[dict], settings: FitSettings, cv_settings: FitSettings, folds) -> str:
    """Return the per-study table and the hit counts as markdown."""
    scheme = "leave-one-participant-out" if folds is None else f"{folds}-fold by participant"
    names = dict(CRITERIA)
    if folds is not None:
        names["cv"] = f"{folds}-fold CV by participant"
    lines = [
        "## Pooling by sex: repaired PSIS-LOO vs participant CV (SIMULATED DATA)",
        "",
        f"Full-data fits {settings.chains} x {settings.draws} draws after {settings.tune} "
        f"tuning; CV {scheme}, folds {cv_settings.chains} x {cv_settings.draws} after "
        f"{cv_settings.tune}. elpd difference to the criterion's best, +- SE of the "
        "difference; `sep.`: the best is at least 2 SE better than the runner-up.",
        "",
        "| scenario | seed | family | truth | criterion | prefers | none | partial | "
        "complete | sep. |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        cells = []
        for pooling in POOLINGS:
            model = f"{r['family']}_{pooling}"
            if model in r["elpd_diff"]:
                diff = -abs(r["elpd_diff"][model]) + 0.0  # + 0.0: the best shows 0.0, not -0.0
                cells.append(f"{diff:.1f} ± {r['dse'][model]:.1f}")
            else:
                cells.append("unranked")
        mark = "**" if _pooling(r["preferred"]) == r["truth"] else ""
        lines.append(
            f"| {r['scenario']} | {r['seed']} | {r['family']} | {r['truth']} | "
            f"{names[r['criterion']]} | {mark}{_pooling(r['preferred'])}{mark} | "
            + " | ".join(cells)
            + f" | {'yes' if r['separated'] else 'no'} |"
        )
    lines += [
        "",
        "Truth picked (bold above) against chance 1/3, one-sided binomial test:",
        "",
        "| family | criterion | truth picked | studies | P(at least as many by chance) | "
        "separated picks |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for family in dict.fromkeys(r["family"] for r in rows):
        for label in CRITERIA:
            sub = [r for r in rows if r["family"] == family and r["criterion"] == label]
            hits = sum(_pooling(r["preferred"]) == r["truth"] for r in sub)
            p = binomtest(hits, len(sub), 1 / 3, alternative="greater").pvalue
            separated = sum(r["separated"] for r in sub)
            lines.append(
                f"| {family} | {names[label]} | {hits} | {len(sub)} | {p:.3f} | {separated} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--families", nargs="+", default=["symptoms"], choices=list(OBSERVED))
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--folds", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/pooling_criteria"))
    args = parser.parse_args()
    settings = FitSettings(draws=args.draws, tune=args.tune, chains=args.chains, cores=2)
    cv_settings = DEFAULT_SETTINGS
    rows = []
    start = time.perf_counter()
    with dask_client(args.workers) as client:
        for scenario in SCENARIOS:
            for seed in args.seeds:
                rows += study_rows(
                    scenario,
                    seed,
                    args.families,
                    out=args.out,
                    settings=settings,
                    cv_settings=cv_settings,
                    folds=args.folds,
                    client=client,
                )
    table = markdown(rows, settings, cv_settings, args.folds)
    table += f"\nWall time {time.perf_counter() - start:.0f} s (shared machine).\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "pooling_criteria.md").write_text(table)
    (args.out / "pooling_criteria.json").write_text(json.dumps(rows, indent=1))
    print(table)


if __name__ == "__main__":
    main()
