"""The main job from empty compile caches, then warm: where a first-ever run's seconds go.

Three fresh ``bayes-ketamine run`` processes on the embedded default study, each
timed from spawn to exit (wall, CPU, peak RSS, 1-minute load before it):

``cold``
    ``PYTENSOR_FLAGS=base_compiledir=<new empty folder>``: pytensor's and numba's
    caches and this package's compile cache are empty, and so is matplotlib's font
    cache (``MPLCONFIGDIR=<new empty folder>``): the state of a fresh machine (a
    fresh clone adds only the set-up of ``.venv``), into an empty posteriors folder.
``warm refit``
    ``--force`` with the caches the cold run filled: every fit redone, nothing compiled.
``reuse``
    Again, nothing changed: every artifact reused.

For the cold run the per-fit step seconds are read from each artifact's
``timings_json`` (see ``docs/artifacts.md``).

Usage::

    .venv/bin/python benchmarks/cold_run.py       # table + results/cold_run.json
    # a wheel installed in a scratch venv outside the repository, run from an empty folder:
    .venv/bin/python benchmarks/cold_run.py --cli /tmp/wv/bin/bayes-ketamine --cwd "$(mktemp -d)"
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

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CLI = str(Path(sys.executable).with_name("bayes-ketamine"))
"""The command timed by default: this environment's ``bayes-ketamine``."""
STEPS = ("build", "posterior_start", "prior_predictive", "compile_post", "posterior")
STEPS += ("posterior_predictive", "log_likelihood_prior", "checks")


def run(args: list[str], env: dict[str, str], cli: str = CLI, cwd: Path = ROOT) -> dict:
    """Run ``CLI ARGS`` in ``cwd`` in a fresh process; return wall, CPU, peak RSS, load."""
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(
        [cli, *args],
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise RuntimeError(f"run exited {code}:\n{proc.stderr.read().decode()[-2000:]}")
    return {
        "exit_code": code,
        "wall_s": round(wall, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "maxrss_mb": round(usage.ru_maxrss / 1024),
        "load_before": round(load, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", default=CLI, help="bayes-ketamine executable to time")
    parser.add_argument("--cwd", type=Path, default=ROOT, help="folder to run it in")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bk_cold_run_"))
    env = {
        "PYTENSOR_FLAGS": f"base_compiledir={work / 'compiledir'}",
        "MPLCONFIGDIR": str(work / "matplotlib"),
    }
    posteriors = work / "posteriors"
    record = {}
    print("cold run (empty caches)", file=sys.stderr)
    record["cold"] = run(
        ["run", "--posteriors", str(posteriors), "--quiet"], env, args.cli, args.cwd
    )
    steps = {}
    for path in sorted(posteriors.glob("*.nc")):
        from bayes_ketamine.inference.stored import open_stored

        with open_stored(path) as root:
            steps[path.stem] = json.loads(root.attrs["timings_json"])
    record["cold_steps"] = steps
    print("warm refit (--force)", file=sys.stderr)
    record["warm_refit"] = run(
        ["run", "--posteriors", str(posteriors), "--force", "--quiet"], env, args.cli, args.cwd
    )
    print("reuse", file=sys.stderr)
    record["reuse"] = run(
        ["run", "--posteriors", str(posteriors), "--quiet"], env, args.cli, args.cwd
    )
    print(f"\n{'run':<12} {'wall s':>7} {'cpu s':>7} {'RSS MB':>7}  load")
    for name in ("cold", "warm_refit", "reuse"):
        r = record[name]
        print(
            f"{name:<12} {r['wall_s']:>7.1f} {r['cpu_s']:>7.1f} {r['maxrss_mb']:>7}  "
            f"{r['load_before']:.2f}"
        )
    print("\ncold run, seconds per step of each fit:")
    print(f"{'model':<20}" + "".join(f"{s[:10]:>11}" for s in STEPS))
    for model, timing in steps.items():
        print(f"{model:<20}" + "".join(f"{timing.get(s, 0):>11.1f}" for s in STEPS))
    record.update(
        command=" ".join([Path(sys.executable).name, *sys.argv]),
        cli=args.cli,
        machine={"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )
    out = RESULTS / "cold_run.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
