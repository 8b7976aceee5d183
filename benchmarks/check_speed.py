"""Wall and CPU time of ``bayes-ketamine check ARTIFACT`` in a fresh process.

Issue 10's budget: ``check`` of a stored artifact runs in at most 1.5 s in a fresh
process and imports none of the modelling stack. Each run is a new interpreter
(``python -c "from bayes_ketamine.cli import app; app()" check ARTIFACT --quiet``),
after one unmeasured warm-up run (byte-code and file caches); wall time is spawn to
exit, CPU time user + system from ``os.wait4``. Read the wall times with the load
average printed beside them.

Usage::

    python benchmarks/check_speed.py posteriors/pilot/symptoms_partial.nc --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HEAVY = ("pymc", "pytensor", "numba", "nutpie", "arviz_stats", "matplotlib", "xarray", "pandas")
CHILD = (
    "import sys\n"
    "from bayes_ketamine.cli import app\n"
    "try:\n    app()\n"
    "finally:\n"
    f"    print('heavy:', sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
)


def run_once(artifact: str) -> dict:
    """Run ``check`` once in a fresh interpreter; return wall, CPU and heavy imports."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, "check", artifact, "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise RuntimeError(f"check failed ({code}): {stderr}")
    heavy = next(line for line in stderr.splitlines() if line.startswith("heavy:"))
    return {
        "wall_s": round(wall, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "heavy_imports": heavy.removeprefix("heavy: "),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    run_once(args.artifact)
    load = os.getloadavg()[0]
    runs = [run_once(args.artifact) for _ in range(args.repeats)]
    summary = {
        "artifact": args.artifact,
        "repeats": args.repeats,
        "median_wall_s": statistics.median(r["wall_s"] for r in runs),
        "max_wall_s": max(r["wall_s"] for r in runs),
        "median_cpu_s": statistics.median(r["cpu_s"] for r in runs),
        "heavy_imports": runs[0]["heavy_imports"],
        "loadavg_1min_before": round(load, 2),
    }
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
