"""Compile once per model structure, measured the way a user lives: fresh CLI processes.

Every measured step is one ``bayes-ketamine`` command of this checkout in a fresh
process (wall time, CPU time and peak RSS from ``os.wait4``, 1-minute load before it):

``unseen`` / ``seen``
    For each new study seed: ``bayes-ketamine simulate DIR --seed S`` writes a study
    this machine has never fitted; ``fit joint_partial --study DIR --force`` fits it
    (unseen), then the same command again (a refit of a seen study). The ratio
    unseen / seen is the issue's target (<= 1.3).
``reuse``, ``check``
    ``fit`` of the last study again without ``--force`` (the artifact matches and is
    reused) and ``check`` of its artifact.
``ten studies``
    ``fit symptoms_partial`` on ten simulated studies of different sizes (20-38
    participants) and dropouts, with a private pytensor compiledir (empty before the
    first); its compile-cache folder is listed after the first and after the tenth:
    the other nine may add no entry.

Usage::

    .venv/bin/python benchmarks/compile_once.py    # table + results/compile_once.json
    .venv/bin/python benchmarks/compile_once.py --seeds 101 102 103 --max-load 1.0
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CLI = str(Path(sys.executable).with_name("bayes-ketamine"))


def wait_for_load(max_load: float, wait: float) -> float:
    """Wait (at most ``wait`` s) until the 1-minute load is below ``max_load``; return it."""
    deadline = time.monotonic() + wait
    while os.getloadavg()[0] > max_load and time.monotonic() < deadline:
        time.sleep(5)
    return os.getloadavg()[0]


def run(
    args: list[str], max_load: float, wait: float, env: dict | None = None, ok_codes=(0, 1)
) -> dict:
    """Run ``bayes-ketamine ARGS`` in a fresh process; return wall, CPU, peak RSS, load."""
    load = wait_for_load(max_load, wait)
    start = time.perf_counter()
    proc = subprocess.Popen(
        [CLI, *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    out, err = proc.stdout.read(), proc.stderr.read()
    if code not in ok_codes:
        raise RuntimeError(f"bayes-ketamine {' '.join(args)} exited {code}:\n{err[-2000:]}")
    return {
        "command": "bayes-ketamine " + " ".join(args),
        "exit_code": code,
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "maxrss_mb": round(usage.ru_maxrss / 1024, 1),
        "load_before": round(load, 2),
        "stdout_tail": out.strip().splitlines()[-1:] if out.strip() else [],
    }


def cache_entries(compiledir: Path) -> dict[str, int]:
    """Return the compile-cache entries (name -> bytes) under pytensor's ``compiledir``."""
    folder = compiledir / "bayes_ketamine"
    return {p.name: p.stat().st_size for p in folder.glob("*.pkl")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="new study seeds")
    parser.add_argument("--max-load", type=float, default=1.0)
    parser.add_argument("--wait", type=float, default=120.0)
    parser.add_argument("--skip-ten", action="store_true", help="skip the ten-studies part")
    parser.add_argument("--only-ten", action="store_true", help="only the ten-studies part")
    parser.add_argument("--out", default=str(RESULTS / "compile_once.json"))
    opts = parser.parse_args()
    gate = {"max_load": opts.max_load, "wait": opts.wait}
    # Seeds from the clock: studies this machine has never fitted.
    seeds = opts.seeds or [int(time.time()) % 100_000 + k for k in range(3)]
    work = Path(tempfile.mkdtemp(prefix="bk_compile_once_"))
    record: dict = {"unseen_vs_seen": [], "ten_studies": {}}
    if opts.only_ten:
        seeds = []
    else:
        print("warm-up (unmeasured): one joint_partial fit", file=sys.stderr)
        run(["simulate", str(work / "warm"), "--seed", "1"], **gate)
        warm = ["fit", "joint_partial", "--study", str(work / "warm"), "--out", str(work / "p")]
        run(warm, **gate)
    for seed in seeds:
        study = work / f"study_{seed}"
        run(["simulate", str(study), "--seed", str(seed)], **gate)
        fit = ["fit", "joint_partial", "--study", str(study), "--out", str(work / f"p_{seed}")]
        print(f"seed {seed}: unseen, then seen", file=sys.stderr)
        unseen = run([*fit, "--force"], **gate)
        seen = run([*fit, "--force"], **gate)
        ratio = unseen["wall_s"] / seen["wall_s"]
        record["unseen_vs_seen"].append(
            {"seed": seed, "unseen": unseen, "seen": seen, "ratio": round(ratio, 3)}
        )
    if seeds:
        last = seeds[-1]
        fit = ["fit", "joint_partial", "--study", str(work / f"study_{last}")]
        record["reuse"] = run([*fit, "--out", str(work / f"p_{last}")], **gate)
        record["check"] = run(["check", str(work / f"p_{last}" / "joint_partial.nc")], **gate)
    if not opts.skip_ten:
        # A private pytensor compiledir: its compile cache sees only these fits (the
        # first compiles from scratch), not other processes of the machine.
        compiledir = work / "compiledir"
        private = {"PYTENSOR_FLAGS": f"base_compiledir={compiledir}"}
        before = cache_entries(compiledir)
        fits = []
        for k in range(10):
            study = work / f"ten_{k}"
            run(
                ["simulate", str(study), "--seed", str(500 + k), "--participants", str(20 + 2 * k)]
                + (["--dropout", "0.1"] if k % 2 else []),
                **gate,
            )
            print(f"ten studies: {k + 1}/10", file=sys.stderr)
            fit = ["fit", "symptoms_partial", "--study", str(study), "--out", str(work / "ten")]
            fits.append(run(fit, **gate, env=private))
            if k == 0:
                after_first = cache_entries(compiledir)
        after = cache_entries(compiledir)
        record["ten_studies"] = {
            "entries_before": len(before),
            "entries": sorted(after),
            "entries_added_by_first": len(set(after_first) - set(before)),
            "entries_added_by_other_nine": len(set(after) - set(after_first)),
            "cache_mb": round(sum(after.values()) / 2**20, 1),
            "wall_s": [f["wall_s"] for f in fits],
            "maxrss_mb": [f["maxrss_mb"] for f in fits],
        }
    if seeds:
        ratios = [r["ratio"] for r in record["unseen_vs_seen"]]
        record["summary"] = {
            "ratio_median": statistics.median(ratios),
            "ratio_max": max(ratios),
            "target_ratio_1_3_met": max(ratios) <= 1.3,
            "reuse_s": record["reuse"]["wall_s"],
            "check_s": record["check"]["wall_s"],
            "target_reuse_check_1_5_s_met": max(
                record["reuse"]["wall_s"], record["check"]["wall_s"]
            )
            <= 1.5,
        }
        print(f"\n{'seed':>7} {'unseen s':>9} {'seen s':>7} {'ratio':>6}  load")
        for r in record["unseen_vs_seen"]:
            print(
                f"{r['seed']:>7} {r['unseen']['wall_s']:>9.1f} {r['seen']['wall_s']:>7.1f} "
                f"{r['ratio']:>6.2f}  "
                f"{r['unseen']['load_before']:.2f}/{r['seen']['load_before']:.2f}"
            )
        print(f"reuse {record['reuse']['wall_s']:.2f} s, check {record['check']['wall_s']:.2f} s")
    if record["ten_studies"]:
        ten = record["ten_studies"]
        print(
            f"ten studies: entries added by the first {ten['entries_added_by_first']}, by the "
            f"other nine {ten['entries_added_by_other_nine']}; cache {ten['cache_mb']} MB; "
            f"wall s {ten['wall_s']}; peak RSS MB max {max(ten['maxrss_mb'])}"
        )
    record.update(
        command=" ".join([Path(sys.executable).name, *sys.argv]),
        machine={"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )
    Path(opts.out).parent.mkdir(parents=True, exist_ok=True)
    Path(opts.out).write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {opts.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
