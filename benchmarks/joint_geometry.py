"""Where the joint model mixes slowly on a large simulated pooled study (SIMULATED DATA).

Builds ``models/joint_partial.toml`` on ``simulate_study(seed=--study-seed,
n_participants=--n)`` and samples the built model directly with nutpie (4 chains,
target acceptance 0.99 as ``FitSettings``), without the rest of ``fit()``. Prints each
hierarchical term's parametrisation, the adapted step sizes, the mean tree depth and
leapfrog steps per draw, the divergences, the posterior variables with the lowest
bulk ESS, and the correlations of the mediation slope ``effect_b`` with the
parameters it trades off against (the direct effects' level mean and deviation, the
log session-response SD, the symptom noise) with the ESS of what is left of
``effect_b`` after regressing on them. Figures in ``docs/models.md`` ("Centred or
non-centred").

Usage::

    PYTHONPATH=. .venv/bin/python benchmarks/joint_geometry.py --n 260
    PYTHONPATH=. .venv/bin/python benchmarks/joint_geometry.py --n 2600 --tune 400 --draws 300
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _draws(posterior, name: str, index: int = 0) -> np.ndarray:
    """Return one element of a posterior variable, chains stacked."""
    values = posterior[name].values
    return values.reshape(values.shape[0] * values.shape[1], -1)[:, index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=260)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--study-seed", type=int, default=1)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--show", type=int, default=12, help="variables listed")
    opts = parser.parse_args()
    import arviz_stats as azs
    import nutpie

    from bayes_ketamine.data import simulate_study
    from bayes_ketamine.models import build_model

    model = build_model("joint_partial", simulate_study(opts.study_seed, n_participants=opts.n)[0])
    print("SIMULATED DATA:", opts.n, "participants")
    for term, choice in model.parametrisation.items():
        print(f"  {term}: {choice.name} (r = {choice.ratio:.2f})")
    compiled = nutpie.compile_pymc_model(model.pymc_model)
    start = time.perf_counter()
    trace = nutpie.sample(
        compiled,
        draws=opts.draws,
        tune=opts.tune,
        chains=4,
        cores=2,
        seed=opts.seed,
        target_accept=0.99,
        progress_bar=False,
    )
    stats, post = trace.sample_stats, trace.posterior
    print(
        f"sampling {time.perf_counter() - start:.0f} s, divergences "
        f"{int(stats['diverging'].sum())}, step sizes "
        f"{np.round(stats['step_size'].values[:, -1], 4).tolist()}, mean depth "
        f"{float(stats['depth'].mean()):.2f}, leapfrog steps per draw "
        f"{float(stats['n_steps'].mean()):.1f}"
    )
    free = {rv.name for rv in model.pymc_model.free_RVs}
    lowest = []
    for name in post.data_vars:
        ess = np.asarray(azs.ess(post[name], method="bulk")).ravel()
        lowest.append((float(ess.min()), name, int(ess.argmin())))
    print(f"lowest bulk ESS of {opts.draws * 4} draws:")
    for ess, name, index in sorted(lowest)[: opts.show]:
        print(f"  {ess:7.0f}  {name}[{index}] ({'free' if name in free else 'derived'})")
    b = _draws(post, "effect_b")
    partners = {
        "direct level mean": (
            _draws(post, "direct_effect_by_time", 0) + _draws(post, "direct_effect_by_time", 1)
        )
        / 2,
        "direct F - M": _draws(post, "direct_effect_by_time", 0)
        - _draws(post, "direct_effect_by_time", 1),
        "log glx_response_sd": np.log(_draws(post, "glx_response_sd")),
        "symptom_noise": _draws(post, "symptom_noise"),
    }
    for label, values in partners.items():
        print(f"  corr(effect_b, {label}) = {np.corrcoef(b, values)[0, 1]:.2f}")
    design = np.column_stack([np.ones_like(b), *partners.values()])
    residual = b - design @ np.linalg.lstsq(design, b, rcond=None)[0]

    def ess(x: np.ndarray) -> float:
        return float(azs.ess(x.reshape(4, -1), method="bulk"))

    print(
        f"  R^2 of effect_b on them {1 - residual.var() / b.var():.2f}; bulk ESS of "
        f"effect_b {ess(b):.0f}, of its residual {ess(residual):.0f}"
    )


if __name__ == "__main__":
    main()
