"""Peak memory and artifact size of the default-study joint fit.

Runs the whole ``fit()`` of ``models/joint_partial.toml`` on the default study in a
FRESH subprocess (see ``fit_speed.py``; caches warmed by one unmeasured run) and
reports the child's peak resident set (``ru_maxrss`` from ``os.wait4``), the artifact
size on disk, and the in-memory size of each artifact group.

Usage::

    .venv/bin/python benchmarks/memory.py          # table + results/memory.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit_speed import PYTHON, RESULTS, run_child  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--no-warmup", action="store_true")
    parser.add_argument("--out", default=str(RESULTS / "memory.json"))
    opts = parser.parse_args()
    args = ["fit", "--seed", str(opts.seed)]
    if not opts.no_warmup:
        run_child(args)
    r = run_child(args)
    print(f"peak RSS of the fit process: {r['maxrss_mb']:.0f} MB")
    print(f"artifact size on disk:       {r['artifact_mb']:.1f} MB")
    print("in-memory size of each group (MB):")
    for group, mb in sorted(r["group_mb_in_memory"].items(), key=lambda kv: -kv[1]):
        print(f"  {group:<28} {mb:>7.2f}")
    record = {
        "command": " ".join([Path(PYTHON).name, *sys.argv]),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "maxrss_mb": r["maxrss_mb"],
        "artifact_mb": r["artifact_mb"],
        "group_mb_in_memory": r["group_mb_in_memory"],
        "wall_s": r["wall_s"],
        "loadavg_before": r["loadavg_before"],
    }
    Path(opts.out).parent.mkdir(parents=True, exist_ok=True)
    Path(opts.out).write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {opts.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
