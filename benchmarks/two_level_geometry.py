"""Which form of a two-level partially pooled effect NUTS explores, with pinned levels.

The hierarchical piece of the sex-pooled condition effects alone: two levels observed
with standard error ``--se`` (0.2: about 1300 participants per sex), their observed
difference ``--diff`` (3: the simulator's Glx effects by sex; 0: its direct effects),
``mean ~ Normal(0, 5)``, ``sd ~ HalfNormal(3)``. Three forms of the same model:
``non-centred`` (``e = mean + sd * z``), ``centred`` (``e ~ Normal(mean, sd)``) and
``split`` (the package's centred form, ``CrossoverModel._centred_levels``: the levels'
mean and zero-sum deviations free, the hyper-mean drawn given them). Prints the
minimum bulk ESS of ``mean``, ``sd`` and ``e`` over 4 x 1000 nutpie draws and the
divergences. Figures in ``docs/models.md`` ("Centred or non-centred").

Usage::

    .venv/bin/python benchmarks/two_level_geometry.py --se 0.2 --diff 3
"""

from __future__ import annotations

import argparse

import numpy as np


def build(form: str, se: float, diff: float):
    """Return the PyMC model of one form."""
    import pymc as pm
    import pytensor.tensor as pt

    observed = np.array([2.0 - diff / 2, 2.0 + diff / 2])
    with pm.Model(coords={"sex": ["F", "M"]}) as model:
        sd = pm.HalfNormal("sd", 3.0)
        if form == "split":
            level_mean = pm.Normal("level_mean", 0.0, pt.sqrt(25.0 + sd**2 / 2))
            effect = pm.Deterministic(
                "e", level_mean + pm.ZeroSumNormal("deviation", sigma=sd, dims="sex"), dims="sex"
            )
            precision = 1 / 25.0 + 2 / sd**2
            pm.Deterministic(
                "mean",
                2 * level_mean / sd**2 / precision + pm.Normal("w", 0, 1) / pt.sqrt(precision),
            )
        else:
            mean = pm.Normal("mean", 0.0, 5.0)
            if form == "centred":
                effect = pm.Normal("e", mean, sd, dims="sex")
            else:
                z = pm.Normal("z", 0.0, 1.0, dims="sex")
                effect = pm.Deterministic("e", mean + sd * z, dims="sex")
        pm.Normal("y", effect, se, observed=observed, dims="sex")
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--se", type=float, default=0.2)
    parser.add_argument("--diff", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=1)
    opts = parser.parse_args()
    import arviz_stats as azs
    import nutpie

    for form in ("non-centred", "centred", "split"):
        compiled = nutpie.compile_pymc_model(build(form, opts.se, opts.diff), backend="numba")
        trace = nutpie.sample(
            compiled, chains=4, tune=1000, draws=1000, seed=opts.seed, progress_bar=False, cores=1
        )
        ess = {
            name: round(float(np.min(azs.ess(trace.posterior[name], method="bulk"))))
            for name in ("mean", "sd", "e")
        }
        divergences = int(trace.sample_stats["diverging"].sum())
        print(f"{form:>12}: min bulk ESS {ess}, divergences {divergences}")


if __name__ == "__main__":
    main()
