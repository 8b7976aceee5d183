"""Fit time of the joint model vs the number of simulated participants.

For each size ``n`` (default 26, 260, 2600) a study is simulated with
``bayes_ketamine.data.simulate_study(seed=STUDY_SEED, n_participants=n)`` and the whole
``fit()`` pipeline of ``models/joint_partial.toml`` runs in a FRESH subprocess (see
``fit_speed.py``): once unmeasured to warm the compile caches (the frozen graph, and
so the cache entry, differs by size), then measured. Reported per size: wall and CPU
seconds, compile vs sampling vs post-processing (prior predictive, posterior
predictive, log-likelihood/log-prior, checks, writing), peak RSS, artifact size, min
bulk ESS (and the parameter it belongs to), the 1-minute load average before and
after, the parametrisation of each hierarchical term (centred or non-centred, chosen
from the study: ``docs/models.md``), and the log-log slope of wall time (and of each
part) against ``n`` between consecutive sizes (1 = linear). ``--warmup-draws`` makes
the unmeasured warm-up short (it only fills the compile caches).

Usage::

    .venv/bin/python benchmarks/scaling.py                       # 26 260 2600, 4 x 1000
    .venv/bin/python benchmarks/scaling.py --sizes 26 260 --draws 500 --tune 500
    .venv/bin/python benchmarks/scaling.py --sizes 260 2600 --warmup-draws 50
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit_speed import PYTHON, RESULTS, SPEC, run_child  # noqa: E402

PARTS = {
    "compile": ("posterior_compile_time",),
    "sampling": ("posterior_sampling_time",),
    "prior_predictive": ("prior_predictive",),
    "posterior_predictive": ("posterior_predictive",),
    "log_lik_prior": ("log_likelihood_prior",),
    "checks": ("checks",),
    "write": ("write_and_reload",),
}


def parts(steps: dict) -> dict:
    """Group the fit's step timings into the reported parts."""
    out = {name: sum(steps.get(k, 0.0) for k in keys) for name, keys in PARTS.items()}
    out["other"] = steps["fit_total"] - sum(out.values())
    return {k: round(v, 3) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[26, 260, 2600])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--prior-draws", type=int, default=500)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--study-seed", type=int, default=1)
    parser.add_argument("--no-warmup", action="store_true", help="measure the first run")
    parser.add_argument(
        "--warmup-draws",
        type=int,
        default=0,
        help="tune and draws of the warm-up run (default: those of the measured run)",
    )
    parser.add_argument("--max-load", type=float, default=1.5)
    parser.add_argument("--wait", type=float, default=60.0)
    parser.add_argument("--out", default=str(RESULTS / "scaling.json"))
    parser.add_argument(
        "--refit-budget",
        type=int,
        default=None,
        help="exact LOO refits allowed per model (default: the package's REFIT_BUDGET); "
        "0 times the fit without refits, whose count is then n_unrepaired of loo_repairs",
    )
    opts = parser.parse_args()
    rows = []
    for n in opts.sizes:
        args = [
            "fit",
            "--participants", str(n),
            "--study-seed", str(opts.study_seed),
            "--seed", str(opts.seed),
            "--draws", str(opts.draws),
            "--tune", str(opts.tune),
            "--prior-draws", str(opts.prior_draws),
        ]  # fmt: skip
        if opts.refit_budget is not None:
            args += ["--refit-budget", str(opts.refit_budget)]
        if not opts.no_warmup:
            print(f"n={n}: warm-up", file=sys.stderr)
            short = str(opts.warmup_draws)
            run_child(args + (["--draws", short, "--tune", short] if opts.warmup_draws else []))
        print(f"n={n}: measured", file=sys.stderr)
        r = run_child(args, max_load=opts.max_load, wait=opts.wait)
        r["parts"] = parts(r["steps"])
        r["parametrisation"] = parametrisation(n, opts.study_seed)
        rows.append(r)
        _save(opts, rows, [])
        print(
            f"  wall {r['wall_s']:.1f} s, cpu {r['cpu_s']:.1f} s, "
            f"rss {r['maxrss_mb']:.0f} MB, load {r['loadavg_before'][0]:.2f}"
            f"-{r['loadavg_after'][0]:.2f}, min ESS {r['min_ess_bulk']:.0f} "
            f"({r['min_ess_bulk_variable']})",
            file=sys.stderr,
        )
    slopes = []
    for a, b in zip(rows, rows[1:], strict=False):
        ratio = math.log(b["n_participants"] / a["n_participants"])
        slope = {"from": a["n_participants"], "to": b["n_participants"]}
        for key in ("wall_s", "cpu_s"):
            slope[key] = round(math.log(b[key] / a[key]) / ratio, 3)
        for part in PARTS:
            pa, pb = a["parts"][part], b["parts"][part]
            slope[part] = round(math.log(pb / pa) / ratio, 3) if pa > 0 and pb > 0 else None
        slopes.append(slope)
    header = f"{'n':>6} {'obs':>7} {'free':>6} {'wall':>7} {'cpu':>7} " + " ".join(
        f"{p[:10]:>10}" for p in PARTS
    )
    print("\n" + header + f" {'RSS MB':>7} {'nc MB':>7} {'minESS':>7} {'load1':>5}")
    for r in rows:
        print(
            f"{r['n_participants']:>6} {sum(r['n_obs'].values()):>7} {r['n_free']:>6} "
            f"{r['wall_s']:>7.1f} {r['cpu_s']:>7.1f} "
            + " ".join(f"{r['parts'][p]:>10.1f}" for p in PARTS)
            + f" {r['maxrss_mb']:>7.0f} {r['artifact_mb']:>7.0f} {r['min_ess_bulk']:>7.0f}"
            f" {r['loadavg_before'][0]:>5.2f}"
        )
    print("\nmin bulk ESS by, and parametrisation of each hierarchical term:")
    for r in rows:
        print(f"  {r['n_participants']}: {r['min_ess_bulk_variable']}; {r['parametrisation']}")
    print("\nlog-log slopes (1 = linear in participants):")
    for s in slopes:
        print(
            f"  {s['from']} -> {s['to']}: "
            + ", ".join(f"{k} {v}" for k, v in s.items() if k not in {"from", "to"})
        )
    _save(opts, rows, slopes)
    print(f"wrote {opts.out}", file=sys.stderr)


def parametrisation(n: int, study_seed: int) -> dict[str, str]:
    """Return the parametrisation of each hierarchical term of the study's model."""
    from bayes_ketamine.data import simulate_study
    from bayes_ketamine.models import build_model

    model = build_model(SPEC, simulate_study(seed=study_seed, n_participants=n)[0])
    return {term: choice.name for term, choice in model.parametrisation.items()}


def _save(opts, rows: list[dict], slopes: list[dict]) -> None:
    """Write the results so far (after every size, so a long run keeps what it measured)."""
    record = {
        "command": " ".join([Path(PYTHON).name, *sys.argv]),
        "machine": {"cpus": os.cpu_count()},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "settings": {
            k: getattr(opts, k)
            for k in (
                "draws",
                "tune",
                "prior_draws",
                "seed",
                "study_seed",
                "no_warmup",
                "warmup_draws",
                "refit_budget",
            )
        },
        "rows": rows,
        "slopes": slopes,
    }
    Path(opts.out).parent.mkdir(parents=True, exist_ok=True)
    Path(opts.out).write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
