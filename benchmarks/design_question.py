"""Design question: how many participants per sex settle the sex difference, 2 vs 3 periods?

Runs :func:`bayes_ketamine.calibration.run_power` (``bayes-ketamine power``) for two
designs with the same model (``glutamate_partial``), true effects (naltrexone changes
the ketamine Glx response by -4.5 % in males and -1.5 % in females), seed and sample
sizes:

- two periods, sequences placebo-naltrexone / naltrexone-placebo (AB/BA, GO-MARK's);
- three periods, sequences placebo-naltrexone-naltrexone / naltrexone-placebo-placebo
  (ABB/BAA: every participant has one more session, 1.5 times the scans).

For each it reports the probability that the trial's 95 % interval of a_M - a_F lies
below 0 (the hypothesised direction) and that it excludes 0, with Monte Carlo SE
``sqrt(p (1 - p) / R)``. All trials are SIMULATED. Runs are stored under ``--out`` and
resume. The equivalent command lines (the second with a parameter file holding the
``sequences``)::

    bayes-ketamine power --n-per-sex 10,20,40 --replicates 20 --draws 300 --tune 300 \\
        --out OUT/two_period
    bayes-ketamine power --n-per-sex 10,20,40 --replicates 20 --draws 300 --tune 300 \\
        --params three_period.toml --out OUT/three_period

Usage::

    PYTHONPATH=. .venv/bin/python benchmarks/design_question.py --out /tmp/design_question
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

DESIGNS = {
    "two_period": (),
    "three_period": ("placebo-naltrexone-naltrexone", "naltrexone-placebo-placebo"),
}
"""Design name to sequences (empty: the default AB/BA)."""

CRITERIA = ("sex_difference_negative", "sex_difference_excludes_zero")


def run(args: argparse.Namespace) -> dict:
    """Run (or resume) both designs and return the table."""
    from bayes_ketamine.calibration import SamplerSettings
    from bayes_ketamine.calibration.cluster import dask_client
    from bayes_ketamine.calibration.power import run_power
    from bayes_ketamine.data import SimulationParameters

    settings = SamplerSettings(
        draws=args.draws, tune=args.tune, chains=2, target_accept=0.95, thin_to=99
    )
    table: dict = {"settings": vars(args) | {"out": str(args.out)}, "designs": {}}
    with dask_client(args.workers) as client:
        for name, sequences in DESIGNS.items():
            result = run_power(
                "glutamate_partial",
                n_per_sex=tuple(args.n_per_sex),
                replicates=args.replicates,
                params=SimulationParameters(sequences=sequences),
                out_dir=args.out / name,
                settings=settings,
                seed=args.seed,
                client=client,
                progress=False,
            )
            s = result.summary
            table["designs"][name] = {
                crit: {
                    int(n): {
                        "p": float(s["probability"].sel(criterion=crit, n_per_sex=n)),
                        "mcse": float(s["mcse"].sel(criterion=crit, n_per_sex=n)),
                        "failed_fits": int(s["failed_fits"].sel(criterion=crit, n_per_sex=n)),
                    }
                    for n in s["n_per_sex"].values
                }
                for crit in CRITERIA
            }
            fit_seconds = result.replicates["fit_seconds"].values
            table["designs"][name]["median_fit_seconds"] = float(
                sorted(fit_seconds)[len(fit_seconds) // 2]
            )
    return table


def main() -> None:
    """Parse arguments, run, print a Markdown table and write it as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-per-sex", type=int, nargs="+", default=[10, 20, 40])
    parser.add_argument("--replicates", type=int, default=20)
    parser.add_argument("--draws", type=int, default=300)
    parser.add_argument("--tune", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--out", type=Path, default=Path("/tmp/design_question"))
    args = parser.parse_args()
    table = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "design_question.json").write_text(json.dumps(table, indent=2))
    sizes = [int(n) for n in sorted(args.n_per_sex)]
    print(f"SIMULATED trials, {args.replicates} per size; ± Monte Carlo SE")
    print("| design | criterion | " + " | ".join(f"n/sex = {n}" for n in sizes) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in sizes) + " |")
    for name, rows in table["designs"].items():
        for crit in CRITERIA:
            cells = [f"{rows[crit][n]['p']:.2f} ± {rows[crit][n]['mcse']:.2f}" for n in sizes]
            print(f"| {name} | {crit} | " + " | ".join(cells) + " |")
    print(f"wrote {args.out / 'design_question.json'}")


if __name__ == "__main__":
    main()
