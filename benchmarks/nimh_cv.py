"""Leave-one-participant-out CV of ``symptoms_partial`` on the real NIMH MDD data.

Data: NIMH Ketamine Mechanism of Action Study (OpenNeuro ds005917,
doi:10.18112/openneuro.ds005917.v1.0.1, CC0; Evans, Nugent, Zarate), MDD group,
MADRS at baseline and day 2 after each infusion (ketamine vs placebo): the study
``bayes-ketamine cv symptoms_partial --study nimh`` cross-validates, with the same
fold settings (the ``cv`` defaults: 2 chains x 500 draws after 500 tuning steps, 20
draws of a held-out participant's levels per posterior draw, seed 2025), so either
command reuses the folds the other stored in ``--out``.

Prints the total elpd and its SE, a summary of the elpd per participant (held out
alone; their log predictive density as a *new* participant) and the participants
predicted worst, as markdown.

Usage::

    .venv/bin/python benchmarks/nimh_cv.py --out benchmarks/results/nimh_cv
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bayes_ketamine.calibration import cross_validate
from bayes_ketamine.data import import_nimh

MODEL = "symptoms_partial"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/nimh_cv"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worst", type=int, default=5, help="Participants listed worst first.")
    args = parser.parse_args()
    study = import_nimh(group="MDD", timepoints=("day2",))
    result = cross_validate(
        MODEL, study=study, out_dir=args.out, workers=args.workers, progress=False
    )
    ds = result.dataset.sel(observed="score")
    elpd = ds["elpd"].to_series()
    n_obs = ds["n_obs"].to_series().astype(int)
    per_obs = elpd / n_obs.where(n_obs > 0)
    q = np.quantile(elpd.to_numpy(), [0.0, 0.25, 0.5, 0.75, 1.0])
    lines = [
        f"## {ds.attrs['criterion']} of {MODEL} on {ds.attrs['study_name']}",
        "",
        "Real data: NIMH Ketamine Mechanism of Action Study, OpenNeuro ds005917 "
        "(doi:10.18112/openneuro.ds005917.v1.0.1), CC0; Evans, Nugent, Zarate.",
        "",
        "| participants | ratings | folds | elpd (total) | SE | max MCSE of a participant | "
        "divergences (all folds) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        f"| {ds.sizes['participant']} | {int(n_obs.sum())} | {ds.sizes['fold']} | "
        f"{float(ds['elpd_cv']):.1f} | {float(ds['se']):.1f} | {float(ds['mcse'].max()):.2f} | "
        f"{int(result.dataset['fold_divergences'].sum())} |",
        "",
        "elpd per participant (log predictive density of their ratings, held out):",
        "",
        "| min | 25 % | median | 75 % | max | mean per rating |",
        "| --- | --- | --- | --- | --- | --- |",
        "| " + " | ".join(f"{v:.2f}" for v in q) + f" | {float(elpd.sum() / n_obs.sum()):.2f} |",
        "",
        f"Worst predicted {args.worst}:",
        "",
        "| participant | ratings | elpd | elpd per rating |",
        "| --- | --- | --- | --- |",
    ]
    for pid in elpd.sort_values().index[: args.worst]:
        lines.append(f"| {pid} | {n_obs[pid]} | {elpd[pid]:.2f} | {per_obs[pid]:.2f} |")
    lines.append(
        f"\n{result.computed} fold(s) computed, {ds.sizes['fold'] - result.computed} reused; "
        f"median fold {float(result.dataset['fold_seconds'].median()):.1f} s."
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
