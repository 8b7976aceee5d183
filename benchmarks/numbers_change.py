"""How far two runs' headline numbers are apart, in posterior SDs (refactor/model checks).

Reads two ``numbers.json`` files written by ``bayes-ketamine run`` (or ``numbers``)
and prints, for every quantity and level both hold, the two posterior means and their
difference in units of the posterior SD (estimated from the 95 % equal-tailed interval
as its width / 3.92). Two runs of the same model with about 1000 effective draws
differ by about 0.045 SD from Monte Carlo error alone, so differences below 0.15 SD
are "the same within Monte Carlo error".

Usage::

    .venv/bin/python benchmarks/numbers_change.py BEFORE/numbers.json AFTER/numbers.json
"""

from __future__ import annotations

import argparse
import json

SAME_WITHIN_SD = 0.15
"""Largest difference, in posterior SDs, read as Monte Carlo error (about 3 MC SEs)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before")
    parser.add_argument("after")
    opts = parser.parse_args()
    with open(opts.before) as fh:
        before = json.load(fh)["quantities"]
    with open(opts.after) as fh:
        after = json.load(fh)["quantities"]
    print(f"{'quantity':<22} {'level':<10} {'before':>9} {'after':>9} {'diff / SD':>10}")
    worst = 0.0
    for name in sorted(set(before) & set(after)):
        old, new = before[name]["estimates"], after[name]["estimates"]
        for level in sorted(set(old) & set(new)):
            low, high = old[level]["eti95"]
            sd = (high - low) / 3.92
            diff = (new[level]["mean"] - old[level]["mean"]) / sd
            worst = max(worst, abs(diff))
            print(
                f"{name:<22} {level:<10} {old[level]['mean']:>9.3f} "
                f"{new[level]['mean']:>9.3f} {diff:>10.3f}"
            )
    only = sorted(set(before) ^ set(after))
    if only:
        print(f"in one run only: {', '.join(only)}")
    verdict = "same within Monte Carlo error" if worst < SAME_WITHIN_SD else "CHANGED"
    print(f"largest difference {worst:.3f} posterior SD: {verdict}")


if __name__ == "__main__":
    main()
