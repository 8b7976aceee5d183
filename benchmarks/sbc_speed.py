"""Benchmark: amortised wall time per SBC simulation on Dask, compile reported apart.

For each model and each number of workers (one core each), a fresh local cluster is
started, the model is compiled once in every worker (timed: "compile"), then ``N``
SBC simulations are run through the same code path as ``bayes-ketamine sbc``
(timed: "wall"). Amortised time per simulation = wall / N; throughput = N / wall.

Usage::

    .venv/bin/python benchmarks/sbc_speed.py                       # defaults below
    .venv/bin/python benchmarks/sbc_speed.py --sims 20 --models symptoms_partial \
        --workers 1 2 --json /tmp/sbc_speed.json

Fit settings are the SBC defaults (2 chains x 500 draws after 500 tuning steps,
target_accept 0.95, ranks among 99 thinned draws). Targets: symptoms < 3 s and
joint < 8 s per simulation on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time


def bench(spec_name: str, workers: int, sims: int, seed: int) -> dict:
    """Time compile and ``sims`` SBC fits of ``spec_name`` on ``workers`` processes."""
    from bayes_ketamine.calibration.cluster import dask_client, run_jobs, warm_workers
    from bayes_ketamine.calibration.sbc import sbc_jobs
    from bayes_ketamine.calibration.worker import ModelDesign, SamplerSettings, run_fit, warm
    from bayes_ketamine.data import default_study
    from bayes_ketamine.models import resolve_spec

    design = ModelDesign(resolve_spec(spec_name), default_study())
    jobs = sbc_jobs(design, SamplerSettings(), seed, list(range(sims)))
    results: list[dict] = []
    with dask_client(workers) as client:
        start = time.perf_counter()
        compiles = [r["compile_seconds"] for r in warm_workers(client, warm, design)]
        compile_wall = time.perf_counter() - start
        start = time.perf_counter()
        run_jobs(
            client,
            run_fit,
            jobs,
            key_prefix=f"bench-{spec_name}-{workers}",
            on_result=results.append,
            progress=False,
        )
        wall = time.perf_counter() - start
    fits = [r["fit_seconds"] for r in results]
    return {
        "model": spec_name,
        "workers": workers,
        "simulations": sims,
        "compile_seconds_per_worker": compiles,
        "compile_wall_seconds": compile_wall,
        "wall_seconds": wall,
        "seconds_per_simulation": wall / sims,
        "simulations_per_minute": 60 * sims / wall,
        "median_fit_seconds_in_worker": statistics.median(fits),
        "recompiled_in_tasks": sum(r["compile_seconds"] > 0 for r in results),
        "failed_fits": sum(bool(r["fit_failed"]) for r in results),
    }


def main() -> None:
    """Run the benchmark grid and print a table (and optionally JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["symptoms_partial", "joint_partial"])
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    parser.add_argument(
        "--sims",
        type=int,
        default=None,
        help="simulations per cell (default 20 symptoms, 10 others)",
    )
    parser.add_argument("--seed", type=int, default=99)
    parser.add_argument("--json", default=None, help="write the rows as JSON here")
    args = parser.parse_args()
    rows = []
    for model in args.models:
        n = args.sims or (20 if model.startswith("symptoms") else 10)
        for w in args.workers:
            row = bench(model, w, n, args.seed)
            rows.append(row)
            print(
                f"{model:18s} workers={w}  compile/worker "
                f"{', '.join(f'{c:.1f}' for c in row['compile_seconds_per_worker'])} s  "
                f"{n} sims in {row['wall_seconds']:.1f} s -> "
                f"{row['seconds_per_simulation']:.2f} s/sim, "
                f"{row['simulations_per_minute']:.1f} sims/min "
                f"(median fit in worker {row['median_fit_seconds_in_worker']:.2f} s; "
                f"recompiles {row['recompiled_in_tasks']}, failed fits {row['failed_fits']})",
                flush=True,
            )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
