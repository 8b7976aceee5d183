"""Cost of one log-density + gradient evaluation of the joint model vs participants.

Separates the two factors of NUTS sampling time: the cost of a gradient (measured
here: the compiled ``x -> (logp, grad)`` function nutpie calls, on the study
``scaling.py`` simulates for each size) and the number of leapfrog steps per draw
(``mean_leapfrog_steps`` in ``scaling.py``'s rows, from nutpie's ``n_steps``).

Usage::

    .venv/bin/python benchmarks/gradient_cost.py                 # 26 260 2600
    .venv/bin/python benchmarks/gradient_cost.py --sizes 26 260 --calls 500
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


def gradient_seconds(n_participants: int, calls: int, study_seed: int) -> tuple[int, float]:
    """Return the free-parameter count and the median seconds of one gradient call."""
    from bayes_ketamine.data import simulate_study
    from bayes_ketamine.inference import samplers
    from bayes_ketamine.inference.provenance import model_graph_key, package_versions
    from bayes_ketamine.models import build_model

    study, _ = simulate_study(seed=study_seed, n_participants=n_participants)
    model = build_model(SPEC, study)
    key = samplers.nutpie_cache_key(model_graph_key(model.spec, study, package_versions()))
    compiled = samplers.compile_nutpie(model.pymc_model, key).compiled
    logp = compiled.logp_func
    x = np.random.default_rng(0).normal(0.0, 0.1, compiled._n_dim)
    logp(x)  # first call outside the timing
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        logp(x)
        times.append(time.perf_counter() - start)
    return compiled._n_dim, float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[26, 260, 2600])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--study-seed", type=int, default=1, help="as scaling.py")
    parser.add_argument("--out", default=str(RESULTS / "gradient_cost.json"))
    opts = parser.parse_args()
    rows = []
    for n in opts.sizes:
        n_free, seconds = gradient_seconds(n, opts.calls, opts.study_seed)
        rows.append({"n_participants": n, "n_free": int(n_free), "gradient_us": seconds * 1e6})
        print(f"n={n:>5}: {n_free:>6} free parameters, {seconds * 1e6:9.1f} us per gradient")
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
