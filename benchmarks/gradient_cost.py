"""Cost of one log-density + gradient evaluation of the joint model vs participants.

Separates the two factors of NUTS sampling time: the cost of a gradient (measured
here: the compiled ``x -> (logp, grad)`` function nutpie calls, on the study
``scaling.py`` simulates for each size) and the number of leapfrog steps per draw
(``mean_leapfrog_steps`` in ``scaling.py``'s rows, from nutpie's ``n_steps``).

With ``--tune``, also samples each study with nutpie (4 chains, ``--draws`` draws,
2 cores, target_accept 0.99) and reports the mean leapfrog steps per draw, the
sampling seconds and the minimum bulk ESS, to see how the number of steps, not the
cost of a step, grows with the dimension after a given warm-up.

Usage::

    .venv/bin/python benchmarks/gradient_cost.py                 # 26 260 2600
    .venv/bin/python benchmarks/gradient_cost.py --sizes 26 260 --calls 500
    .venv/bin/python benchmarks/gradient_cost.py --sizes 260 2600 --tune 1000 --draws 250
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit_speed import RESULTS, SPEC  # noqa: E402


def gradient_seconds(
    n_participants: int, calls: int, study_seed: int, tune: int = 0, draws: int = 0
) -> tuple[int, float, dict]:
    """Return the free-parameter count, seconds per gradient and sampling figures.

    The sampling figures (a dict) are empty unless ``tune`` is given.
    """
    from bayes_ketamine.data import simulate_study
    from bayes_ketamine.inference import nutpie_adapter, samplers
    from bayes_ketamine.inference.provenance import package_versions
    from bayes_ketamine.inference.structure import model_structure_key
    from bayes_ketamine.models import build_model

    study, _ = simulate_study(seed=study_seed, n_participants=n_participants)
    model = build_model(SPEC, study)
    key = nutpie_adapter.nutpie_cache_key(model_structure_key(model.pymc_model, package_versions()))
    compiled = nutpie_adapter.compile_nutpie(model.pymc_model, key).compiled
    logp = compiled.logp_func
    x = np.random.default_rng(0).normal(0.0, 0.1, compiled._n_dim)
    logp(x)  # first call outside the timing
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        logp(x)
        times.append(time.perf_counter() - start)
    sampled = {}
    if tune:
        import arviz_stats as azs

        from bayes_ketamine.inference import FitSettings

        settings = FitSettings(tune=tune, draws=draws)
        start = time.perf_counter()
        tree = samplers.start_nutpie(model.pymc_model, settings, False, key).result()
        seconds = time.perf_counter() - start
        ess = {
            rv.name: float(np.nanmin(np.asarray(azs.ess(tree["posterior"][rv.name]))))
            for rv in model.pymc_model.free_RVs
        }
        worst = min(ess, key=ess.get)
        sampled = {
            "tune": tune,
            "draws": draws,
            "sampling_s": seconds,
            "mean_leapfrog_steps": float(tree["sample_stats"]["n_steps"].mean()),
            "min_ess_bulk": ess[worst],
            "min_ess_variable": worst,
        }
    return compiled._n_dim, float(np.median(times)), sampled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[26, 260, 2600])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--study-seed", type=int, default=1, help="as scaling.py")
    parser.add_argument("--tune", type=int, default=0, help="also sample with this warm-up")
    parser.add_argument("--draws", type=int, default=250, help="draws per chain when sampling")
    parser.add_argument("--out", default=str(RESULTS / "gradient_cost.json"))
    opts = parser.parse_args()
    rows = []
    for n in opts.sizes:
        n_free, seconds, sampled = gradient_seconds(
            n, opts.calls, opts.study_seed, opts.tune, opts.draws
        )
        rows.append(
            {"n_participants": n, "n_free": int(n_free), "gradient_us": seconds * 1e6, **sampled}
        )
        print(f"n={n:>5}: {n_free:>6} free parameters, {seconds * 1e6:9.1f} us per gradient")
        if sampled:
            print(
                f"         sampling {sampled['sampling_s']:.1f} s "
                f"({opts.tune} tune + {opts.draws} draws x 4 chains), "
                f"{sampled['mean_leapfrog_steps']:.0f} leapfrog steps per draw, "
                f"min bulk ESS {sampled['min_ess_bulk']:.0f} ({sampled['min_ess_variable']})"
            )
    for a, b in zip(rows, rows[1:], strict=False):
        slope = math.log(b["gradient_us"] / a["gradient_us"]) / math.log(
            b["n_participants"] / a["n_participants"]
        )
        print(f"log-log slope {a['n_participants']} -> {b['n_participants']}: {slope:.2f}")
        b["slope_from_previous"] = slope
    Path(opts.out).parent.mkdir(parents=True, exist_ok=True)
    Path(opts.out).write_text(json.dumps({"command": sys.argv, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
