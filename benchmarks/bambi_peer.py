"""Against the peer a user would pick: Bambi on the same symptom design, fresh processes.

On one newly simulated study (26 participants, never fitted on this machine), side by
side, each in a fresh Python process:

``ours``
    ``bayes-ketamine fit symptoms_partial --study DIR --force`` (nutpie, 4 x 1000 draws,
    the whole pipeline: prior and posterior predictive, log densities, checks, writing).
``bambi``
    Bambi's closest formula to the symptom model, fitted with Bambi's defaults
    (PyMC's NUTS, 4 chains x 1000 draws after 1000 tuning steps, 2 cores)::

        score ~ period2 + post + active_post + active_post_M + (1 | participant_id)

    ``post`` marks a post-infusion rating, ``active_post`` the active condition at a
    post rating, ``active_post_M`` the same for men (so the condition effect is
    ``active_post`` for women and ``active_post + active_post_M`` for men, as our
    per-sex effect), ``period2`` the second period. Bambi's likelihood is Gaussian
    (ours is censored at the scale's bounds) and its sex effect is not pooled.

Reported: wall seconds from spawn to the end of the work (imports and compilation
included; the ESS computation afterwards is not), CPU seconds, peak RSS, minimum bulk
ESS over every parameter and ESS per wall second. Bambi is an optional dependency
(``pip install -e '.[bench]'``).

Usage::

    .venv/bin/python benchmarks/bambi_peer.py --seed 4242
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


def measure(cmd: list[str]) -> dict:
    """Run ``cmd`` in a fresh process; return wall, CPU, peak RSS and the load before."""
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise RuntimeError(f"{cmd} exited {code}:\n{proc.stderr.read().decode()[-2000:]}")
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "maxrss_mb": round(usage.ru_maxrss / 1024, 1),
        "load_before": round(load, 2),
        "stdout": proc.stdout.read().decode(),
    }


def min_bulk_ess(posterior, names) -> float:
    """Minimum bulk ESS over every element of the variables ``names``."""
    import arviz_stats as azs
    import numpy as np

    return min(float(np.nanmin(np.asarray(azs.ess(posterior[n], method="bulk")))) for n in names)


def bambi_child(study_dir: str, seed: int, out: str) -> None:
    """Fit Bambi's formula to the study's symptom ratings; write the draws to ``out``."""
    import tomllib

    import bambi as bmb
    import pandas as pd

    folder = Path(study_dir)
    sym = pd.read_csv(folder / "symptoms.csv").dropna(subset=["score"])
    people = pd.read_csv(folder / "participants.csv")
    data = sym.merge(people[["participant_id", "sex"]], on="participant_id")
    active = tomllib.loads((folder / "study.toml").read_text())["conditions"][1]
    data["post"] = (data["hours"] > 0).astype(float)
    data["period2"] = (data["session"] == 2).astype(float)
    data["active_post"] = data["post"] * (data["condition"] == active)
    data["active_post_M"] = data["active_post"] * (data["sex"] == "M")
    model = bmb.Model(
        "score ~ period2 + post + active_post + active_post_M + (1 | participant_id)", data
    )
    idata = model.fit(draws=1000, tune=1000, chains=4, cores=2, random_seed=seed, progressbar=False)
    end = time.time()
    idata["posterior"].to_dataset().to_netcdf(out)
    print(json.dumps({"end_epoch": end}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=None, help="study seed (default: clock)")
    parser.add_argument("--out", default=str(RESULTS / "bambi_peer.json"))
    opts = parser.parse_args()
    import xarray as xr

    seed = opts.seed if opts.seed is not None else int(time.time()) % 100_000
    work = Path(tempfile.mkdtemp(prefix="bk_bambi_"))
    study = work / "study"
    subprocess.run([CLI, "simulate", str(study), "--seed", str(seed)], check=True, cwd=ROOT)
    ours = measure(
        [CLI, "fit", "symptoms_partial", "--study", str(study), "--force", "--out", str(work)]
    )
    from bayes_ketamine.inference import load_posterior

    tree = load_posterior(work / "symptoms_partial.nc")
    free = [
        n
        for n in tree["posterior"].data_vars
        if n in tree["log_prior"].data_vars  # free variables have a log prior
    ]
    ours["min_ess_bulk"] = min_bulk_ess(tree["posterior"], free)
    draws = work / "bambi_posterior.nc"
    theirs = measure([sys.executable, __file__, "child", str(study), str(seed), str(draws)])
    theirs_end = json.loads(theirs["stdout"].strip().splitlines()[-1])["end_epoch"]
    posterior = xr.open_dataset(draws).load()
    theirs["min_ess_bulk"] = min_bulk_ess(posterior, list(posterior.data_vars))
    theirs["end_epoch"] = theirs_end
    for r in (ours, theirs):
        r.pop("stdout")
        r["ess_per_wall_s"] = round(r["min_ess_bulk"] / r["wall_s"], 2)
    record = {
        "study_seed": seed,
        "ours": ours,
        "bambi": theirs,
        "wall_ratio_bambi_over_ours": round(theirs["wall_s"] / ours["wall_s"], 2),
        "ess_per_s_ratio_ours_over_bambi": round(
            ours["ess_per_wall_s"] / theirs["ess_per_wall_s"], 2
        ),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    print(f"{'':8} {'wall s':>7} {'cpu s':>7} {'min ESS':>8} {'ESS/s':>7} {'RSS MB':>7}  load")
    for name in ("ours", "bambi"):
        r = record[name]
        print(
            f"{name:8} {r['wall_s']:>7.1f} {r['cpu_s']:>7.1f} {r['min_ess_bulk']:>8.0f} "
            f"{r['ess_per_wall_s']:>7.1f} {r['maxrss_mb']:>7.0f}  {r['load_before']:.2f}"
        )
    Path(opts.out).parent.mkdir(parents=True, exist_ok=True)
    Path(opts.out).write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {opts.out}", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        bambi_child(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        main()
