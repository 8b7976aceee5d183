"""Assurance and power curves for the sex difference of the naltrexone effect on Glx.

Runs ``bayes-ketamine power`` twice through :func:`bayes_ketamine.calibration.run_power`
with the same seed, sample sizes and settings: ``--effect prior`` (each simulated
trial's naltrexone effects drawn from normals around males -4.5 %, females -1.5 %, SD
``--effect-sd``: assurance) and ``--effect fixed`` (the prior collapsed to its mean:
power). It plots, against participants per sex, the probability that the follow-up
trial's 95 % interval of a_M - a_F lies below 0 (the hypothesised direction) and, for
reference, that it excludes 0, with 95 % Monte Carlo intervals, and writes the table as
JSON. All trials are simulated. The runs are stored under ``--out`` and resume.

Usage::

    .venv/bin/python benchmarks/assurance.py --out /tmp/assurance       # defaults below
    .venv/bin/python benchmarks/assurance.py --n-per-sex 10 20 40 --replicates 40 \
        --effect-sd 1.5 --workers 2 --out /tmp/assurance
    .venv/bin/python benchmarks/assurance.py --out /tmp/assurance --plot-only

Defaults (3 sizes x 40 trials x 2 modes = 240 glutamate fits of 2 x 500 draws, the
power command's settings) take about 5-10 min on 2 cores.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

CRITERIA = {
    "sex_difference_negative": "95 % interval of a_M - a_F below 0",
    "sex_difference_excludes_zero": "95 % interval of a_M - a_F excludes 0",
}
"""Criteria plotted (the directional one first)."""

MODES = {"prior": "assurance (design prior)", "fixed": "power (prior collapsed to its mean)"}
"""Effect modes and their legend labels."""


def run(args: argparse.Namespace) -> dict:
    """Run (or resume) both modes and return the table."""
    from bayes_ketamine.calibration import SamplerSettings
    from bayes_ketamine.calibration.cluster import dask_client
    from bayes_ketamine.calibration.power import run_power

    settings = SamplerSettings(
        draws=args.draws, tune=args.tune, chains=2, target_accept=0.95, thin_to=99
    )
    table: dict = {"settings": vars(args) | {"out": str(args.out)}, "modes": {}}
    with dask_client(args.workers) as client:
        for mode in MODES:
            result = run_power(
                "glutamate_partial",
                n_per_sex=tuple(args.n_per_sex),
                replicates=args.replicates,
                effect=mode,
                effect_sd=args.effect_sd,
                out_dir=args.out,
                settings=settings,
                seed=args.seed,
                client=client,
                progress=not args.quiet,
            )
            summary = result.summary
            table["modes"][mode] = {
                "compile_seconds": result.compile_seconds,
                "true_sex_difference_sd": float(
                    np.std(result.replicates["true_glx_sex_difference"].values)
                ),
                "criteria": {
                    crit: {
                        "n_per_sex": summary["n_per_sex"].values.astype(int).tolist(),
                        "probability": summary["probability"].sel(criterion=crit).values.tolist(),
                        "mcse": summary["mcse"].sel(criterion=crit).values.tolist(),
                        "replicates": summary["replicates"]
                        .sel(criterion=crit)
                        .values.astype(int)
                        .tolist(),
                        "failed_fits": summary["failed_fits"]
                        .sel(criterion=crit)
                        .values.astype(int)
                        .tolist(),
                    }
                    for crit in CRITERIA
                },
            }
    return table


def plot(table: dict, out: Path) -> list[Path]:
    """Draw the assurance and power curves; return the PNG and PDF paths."""
    from bayes_ketamine.figures import style

    with style.styled():
        fig, axes = style.figure(style.DOUBLE_COLUMN_IN, 2.6, ncols=2, sharey=True)
        for ax, (crit, title) in zip(axes, CRITERIA.items(), strict=True):
            for k, (mode, label) in enumerate(MODES.items()):
                row = table["modes"][mode]["criteria"][crit]
                n = np.asarray(row["n_per_sex"], dtype=float)
                p = np.asarray(row["probability"])
                half = 1.96 * np.asarray(row["mcse"])
                ax.errorbar(
                    n + (k - 0.5) * 0.6,
                    p,
                    yerr=[p - np.clip(p - half, 0, 1), np.clip(p + half, 0, 1) - p],
                    marker="os"[k],
                    color=("#d55e00", "#4d4d4d")[k],
                    capsize=2,
                    label=label,
                )
            ax.axhline(0.8, color="0.6", ls=":", lw=0.8)
            ax.set_title(title)
            ax.set_xticks(row["n_per_sex"])
            ax.set_xlabel("participants per sex")
            ax.set_ylim(-0.02, 1.02)
        settings = table["settings"]
        axes[0].set_ylabel("probability the trial settles it")
        axes[0].legend(loc="upper left")
        fig.suptitle(
            f"glutamate_partial, {settings['replicates']} simulated trials per size and mode\n"
            f"Glx effects M -4.5 %, F -1.5 % (design prior SD {settings['effect_sd']:g} % "
            "each); bars: 95 % Monte Carlo intervals",
            x=0.01,
            ha="left",
            fontsize=6.5,
        )
        fig.text(0.995, 0.995, style.SIMULATED_LABEL, ha="right", va="top", fontsize=7,
                 fontweight="bold", color="#b2182b")  # fmt: skip
        return style.save(fig, out, "assurance_sex_difference")


def main() -> None:
    """Parse the options, run, print the table, write JSON and the figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-per-sex", nargs="+", type=int, default=[10, 20, 40])
    parser.add_argument("--replicates", type=int, default=40)
    parser.add_argument("--effect-sd", type=float, default=1.5)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--out", type=Path, default=Path("posteriors/assurance"))
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument(
        "--plot-only", action="store_true", help="redraw the figure from OUT/assurance.json"
    )
    args = parser.parse_args()
    if args.plot_only:
        table = json.loads((args.out / "assurance.json").read_text())
    else:
        table = run(args)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "assurance.json").write_text(json.dumps(table, indent=1) + "\n")
    paths = plot(table, args.out)
    for mode, entry in table["modes"].items():
        for crit, row in entry["criteria"].items():
            cells = "  ".join(
                f"n={n}: {p:.2f} ± {se:.2f}"
                for n, p, se in zip(row["n_per_sex"], row["probability"], row["mcse"], strict=True)
            )
            print(f"{mode:6s} {crit:30s} {cells}")
    print("± is the Monte Carlo SE sqrt(p(1-p)/R); wrote", *paths, args.out / "assurance.json")


if __name__ == "__main__":
    main()
