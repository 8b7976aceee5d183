"""Benchmark: leave-one-participant-out CV of the default study (26 folds) on Dask.

For each model, ``bayes-ketamine cv`` is run in a fresh subprocess with a fresh
output folder (no stored folds): wall time from spawn to ``cv.nc`` written, so
interpreter start, imports, cluster start-up, loading or compiling the model in every
worker, all folds and combining are included. The compile cache is left as it is
(warm after any fit of the model's structure); with ``--cold`` the run uses a fresh
pytensor compile directory, so every worker compiles everything (numba included).
The 1-minute load average before each run is recorded: the machine is shared, read
the wall time with it.

Usage::

    .venv/bin/python benchmarks/cv_speed.py                        # both models, warm
    .venv/bin/python benchmarks/cv_speed.py --models symptoms_partial --json out.json

Fold settings are the ``cv`` defaults (2 chains x 500 draws after 500 tuning steps,
20 draws of a held-out participant's levels per posterior draw), 2 workers. Targets on
the 2-core machine: symptoms_partial at most 60 s, joint_partial at most 180 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import xarray as xr


def run(spec_name: str, workers: int, cold: bool) -> dict:
    """Run ``bayes-ketamine cv`` of ``spec_name`` in a fresh process; return its figures."""
    out = Path(tempfile.mkdtemp(prefix="cv_speed_"))
    env = dict(os.environ)
    if cold:
        env["PYTENSOR_FLAGS"] = f"base_compiledir={out / 'compiledir'}"
    command = [
        str(Path(sys.executable).with_name("bayes-ketamine")),
        "cv",
        spec_name,
        "--workers",
        str(workers),
        "--out",
        str(out),
        "--quiet",
    ]
    load = os.getloadavg()[0]
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True)
    wall = time.perf_counter() - start
    with xr.open_dataset(out / spec_name / "cv.nc") as ds:
        result = {
            "model": spec_name,
            "workers": workers,
            "cold_compile_cache": cold,
            "wall_seconds": round(wall, 1),
            "load_1min_before": round(load, 2),
            "folds": int(ds.sizes["fold"]),
            "fold_seconds_median": round(float(ds["fold_seconds"].median()), 2),
            "fold_compile_seconds_max": round(float(ds["fold_compile_seconds"].max()), 2),
            "divergences": int(ds["fold_divergences"].sum()),
            "elpd_cv": {
                str(v): round(float(ds["elpd_cv"].sel(observed=v)), 1)
                for v in ds["observed"].values
            },
            "se": {
                str(v): round(float(ds["se"].sel(observed=v)), 1) for v in ds["observed"].values
            },
        }
    result["command"] = " ".join(command)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["symptoms_partial", "joint_partial"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cold", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = [run(name, args.workers, args.cold) for name in args.models]
    text = json.dumps(results, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
