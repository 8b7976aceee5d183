"""Fit speed of the joint model on the default study: our ``fit()`` vs a plain ``pm.sample``.

Every measured run is a FRESH subprocess; the parent measures its wall time from
spawn to the end of the work (the child reports the end time; computing ESS afterwards
is not counted), its CPU time and its peak memory (``os.wait4`` rusage), and the
machine load (``os.getloadavg``) just before it starts.

Runs
----
``plain``
    ``pm.sample(nuts_sampler="pymc", tune=1000, draws=1000, chains=4, cores=2,
    random_seed=SEED)`` on ``build_model("joint_partial", default_study()).pymc_model``,
    PyMC's other defaults (the reference of the issue).
``fit``
    ``bayes_ketamine.inference.fit("models/joint_partial.toml", default_study(),
    FitSettings(seed=SEED), out_dir=<temp>, force=True)``: the whole pipeline (prior
    predictive, nutpie, posterior predictive, log-likelihood, log-prior, checks,
    writing); per-step seconds come from the artifact's ``timings_json``.
``fit_cold`` (unless ``--skip-cold``)
    The same with ``PYTENSOR_FLAGS=base_compiledir=<fresh temp dir>``: pytensor's (and
    our C callbacks') numba cache empty.

Warm runs are preceded by one unmeasured warm-up run of each kind. Efficiency is the
minimum bulk ESS over all free parameters (every element of every free random
variable, arviz-stats rank-normalised bulk ESS) per wall second of the run.

Usage::

    .venv/bin/python benchmarks/fit_speed.py                 # table + results/fit_speed.json
    .venv/bin/python benchmarks/fit_speed.py --repeats 3 --skip-cold
    .venv/bin/python benchmarks/fit_speed.py --seeds 2025 1 2 --skip-cold   # several seeds
    .venv/bin/python benchmarks/fit_speed.py --max-load 1.5 --wait 300
    .venv/bin/python benchmarks/fit_speed.py --unseen --seeds 1 2 3 --skip-cold  # new studies

Helpers here (:func:`run_child`, :func:`wait_for_load`, :func:`min_bulk_ess`) are
reused by ``scaling.py`` and ``memory.py``.
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
SPEC = ROOT / "models" / "joint_partial.toml"
PYTHON = sys.executable


# -- parent side ---------------------------------------------------------------------


def wait_for_load(max_load: float, wait: float) -> tuple[float, float, float]:
    """Wait (at most ``wait`` s) until the 1-minute load is below ``max_load``; return it."""
    deadline = time.monotonic() + wait
    load = os.getloadavg()
    while load[0] > max_load and time.monotonic() < deadline:
        time.sleep(5)
        load = os.getloadavg()
    return load


def run_child(
    args: list[str], env: dict[str, str] | None = None, max_load: float = 1e9, wait: float = 0
) -> dict:
    """Run ``python <this file> child ...`` in a fresh process; return its measurements.

    Returns
    -------
    dict
        The child's JSON result plus ``wall_s`` (spawn to end of work),
        ``process_wall_s`` (spawn to exit), ``cpu_s`` (user + system), ``maxrss_mb``
        (peak resident set) and ``loadavg_before`` / ``loadavg_after``.
    """
    load_before = wait_for_load(max_load, wait)
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    full_env = {**os.environ, **(env or {})}
    start_epoch = time.time()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [PYTHON, str(Path(__file__).resolve()), "child", *args, "--result", str(out)],
        env=full_env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    process_wall = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"child {args} failed ({proc.returncode}):\n{stderr[-3000:]}")
    result = json.loads(out.read_text())
    out.unlink()
    result.update(
        wall_s=round(result["end_epoch"] - start_epoch, 3),
        process_wall_s=round(process_wall, 3),
        cpu_s=round(usage.ru_utime + usage.ru_stime, 3),
        maxrss_mb=round(usage.ru_maxrss / 1024, 1),
        loadavg_before=[round(x, 2) for x in load_before],
        loadavg_after=[round(x, 2) for x in os.getloadavg()],
    )
    return result


# -- child side ----------------------------------------------------------------------


def min_bulk_ess(posterior, names: list[str]) -> tuple[float, str]:
    """Return the minimum bulk ESS over every element of the variables ``names``."""
    import arviz_stats as azs
    import numpy as np

    worst, where = float("inf"), ""
    for name in names:
        ess = np.asarray(azs.ess(posterior[name], method="bulk")).ravel()
        if ess.size and float(np.nanmin(ess)) < worst:
            worst, where = float(np.nanmin(ess)), name
    return worst, where


def free_names(pm_model) -> list[str]:
    """Names of the free random variables of a PyMC model (as stored in the posterior)."""
    return [rv.name for rv in pm_model.free_RVs]


def child_study(opts):
    """The study of a child run: simulated with ``--participants``, else the default one."""
    from bayes_ketamine.data import default_study, simulate_study

    if opts.participants:
        return simulate_study(seed=opts.study_seed, n_participants=opts.participants)[0]
    return default_study()


def child_plain(opts) -> dict:
    """Plain ``pm.sample(nuts_sampler="pymc")`` with PyMC's other defaults."""
    t0 = time.perf_counter()
    import pymc as pm

    from bayes_ketamine.models import build_model

    t_import = time.perf_counter() - t0
    t = time.perf_counter()
    model = build_model("joint_partial", child_study(opts)).pymc_model
    t_build = time.perf_counter() - t
    t = time.perf_counter()
    tree = pm.sample(
        nuts_sampler="pymc",
        tune=1000,
        draws=1000,
        chains=4,
        cores=2,
        random_seed=opts.seed,
        model=model,
        progressbar=False,
    )
    t_sample = time.perf_counter() - t
    end = time.time()
    ess, where = min_bulk_ess(tree["posterior"], free_names(model))
    stats = tree["sample_stats"]
    return {
        "kind": "plain",
        "end_epoch": end,
        "steps": {
            "imports": round(t_import, 3),
            "build": round(t_build, 3),
            "pm_sample": round(t_sample, 3),
            "pm_sample_sampling_time": round(float(tree["posterior"].attrs["sampling_time"]), 3),
        },
        "min_ess_bulk": ess,
        "min_ess_bulk_variable": where,
        "divergences": int(stats["diverging"].sum()),
    }


def child_fit(opts) -> dict:
    """Our whole ``fit()`` pipeline into a temporary folder."""
    t0 = time.perf_counter()
    from bayes_ketamine.inference import FitSettings, fit

    t_import = time.perf_counter() - t0
    study = child_study(opts)
    settings = FitSettings(
        seed=opts.seed, draws=opts.draws, tune=opts.tune, prior_draws=opts.prior_draws
    )
    out_dir = Path(opts.out_dir or tempfile.mkdtemp(prefix="bk_fit_speed_"))
    t = time.perf_counter()
    result = fit(SPEC, study=study, settings=settings, out_dir=out_dir, force=True, progress=False)
    t_fit = time.perf_counter() - t
    end = time.time()
    steps = json.loads(result.tree.attrs["timings_json"])
    top_level = {
        "build",
        "posterior_start",
        "prior_predictive",
        "compile_post",
        "posterior",
        "posterior_predictive",
        "checks",
    }
    inside = sum(v for k, v in steps.items() if k in top_level | {"log_likelihood_prior"})
    from bayes_ketamine.models import build_model

    pm_model = build_model("joint_partial", study).pymc_model
    ess, where = min_bulk_ess(result.tree["posterior"], free_names(pm_model))
    size = result.path.stat().st_size
    groups = {
        node.path: round(node.to_dataset(inherit=False).nbytes / 2**20, 2)
        for node in result.tree.subtree
        if node.path != "/"
    }
    n_obs = {v: int(result.tree["observed_data"][v].size) for v in ("log_glx", "score")}
    loo = {}
    for var, table in result.tree["loo"].children.items():
        counts = ("n_moment_match", "n_refit", "n_unrepaired")
        high = table["pareto_k"].values > table.attrs["good_k"]
        loo[var] = {"n_high_k": int(high.sum()), **{k: int(table.attrs[k]) for k in counts}}
    if not opts.keep:
        result.path.unlink()
    return {
        "kind": "fit",
        "end_epoch": end,
        "steps": {
            "imports": round(t_import, 3),
            **steps,
            "write_and_reload": round(t_fit - inside, 3),
            "fit_total": round(t_fit, 3),
        },
        "min_ess_bulk": ess,
        "min_ess_bulk_variable": where,
        "mean_leapfrog_steps": float(result.tree["sample_stats"]["n_steps"].mean()),
        "divergences": int(result.tree["sampler_checks"]["divergences"].sum()),
        "verdict": result.verdict.status,
        "compile_path": str(result.tree["posterior"].attrs.get("nutpie_compile_path", "")),
        "artifact_mb": round(size / 2**20, 2),
        "group_mb_in_memory": groups,
        "n_participants": len(study.participants),
        "n_obs": n_obs,
        "loo_repairs": loo,
        "n_free": int(sum(result.tree["posterior"][v][0, 0].size for v in free_names(pm_model))),
        "settings": settings.to_dict(),
    }


def child_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="fit_speed.py child")
    parser.add_argument("kind", choices=["plain", "fit"])
    parser.add_argument("--result", required=True)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--prior-draws", type=int, default=500)
    parser.add_argument("--participants", type=int, default=0, help="simulate_study size")
    parser.add_argument("--study-seed", type=int, default=1)
    parser.add_argument("--out-dir", default="")
    parser.add_argument("--keep", action="store_true", help="keep the artifact")
    parser.add_argument(
        "--refit-budget", type=int, default=None, help="override loo_repair.REFIT_BUDGET"
    )
    opts = parser.parse_args(argv)
    if opts.refit_budget is not None:
        from bayes_ketamine.inference import loo_repair

        loo_repair.REFIT_BUDGET = opts.refit_budget
    result = child_plain(opts) if opts.kind == "plain" else child_fit(opts)
    Path(opts.result).write_text(json.dumps(result))


# -- report --------------------------------------------------------------------------


def _row(name: str, r: dict) -> str:
    eff = r["min_ess_bulk"] / r["wall_s"]
    return (
        f"{name:<10} {r.get('seed', ''):>6} {r['wall_s']:>7.1f} {r['cpu_s']:>7.1f} "
        f"{r['min_ess_bulk']:>8.0f} {eff:>9.1f} {r['maxrss_mb']:>8.0f}  "
        f"{r['loadavg_before'][0]:>5.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[2025],
        help="sampler seeds; each kind runs once per seed and repeat (min ESS varies by seed)",
    )
    parser.add_argument("--repeats", type=int, default=1, help="measured runs of each kind")
    parser.add_argument("--skip-cold", action="store_true")
    parser.add_argument(
        "--max-load", type=float, default=1.5, help="wait while 1-min load is higher"
    )
    parser.add_argument("--wait", type=float, default=120.0, help="at most this long per run (s)")
    parser.add_argument(
        "--unseen",
        action="store_true",
        help="each measured run fits a newly simulated 26-participant study (seed 7000 + seed) "
        "that this machine has never fitted; the warm-up fits the default study",
    )
    parser.add_argument("--out", default=str(RESULTS / "fit_speed.json"))
    opts = parser.parse_args()
    gate = {"max_load": opts.max_load, "wait": opts.wait}
    first = ["--seed", str(opts.seeds[0])]
    print("warming caches (unmeasured): plain, fit", file=sys.stderr)
    warmup = {"plain": run_child(["plain", *first]), "fit": run_child(["fit", *first])}
    runs: dict[str, list[dict]] = {"plain": [], "fit": []}
    for i in range(opts.repeats):
        for seed in opts.seeds:
            for kind in ("plain", "fit"):
                print(f"run {i + 1}/{opts.repeats}, seed {seed}: {kind}", file=sys.stderr)
                data = (
                    ["--participants", "26", "--study-seed", str(7000 + seed + 1000 * i)]
                    if opts.unseen
                    else []
                )
                result = run_child([kind, "--seed", str(seed), *data], **gate)
                runs[kind].append({**result, "seed": seed})
    if not opts.skip_cold:
        with tempfile.TemporaryDirectory(prefix="bk_cold_pytensor_") as cold:
            print("cold-cache fit", file=sys.stderr)
            env = {"PYTENSOR_FLAGS": f"base_compiledir={cold}"}
            runs["fit_cold"] = [run_child(["fit", *first], env=env, **gate)]

    def med(kind: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[kind])

    def eff(kind: str) -> float:
        return statistics.median(r["min_ess_bulk"] / r["wall_s"] for r in runs[kind])

    per_seed = {
        seed: statistics.median(
            r["min_ess_bulk"] / r["wall_s"] for r in runs["fit"] if r["seed"] == seed
        )
        / statistics.median(
            r["min_ess_bulk"] / r["wall_s"] for r in runs["plain"] if r["seed"] == seed
        )
        for seed in opts.seeds
    }
    summary = {
        "ess_per_s_ratio_by_seed": per_seed,
        "plain_wall_s": med("plain", "wall_s"),
        "fit_wall_s": med("fit", "wall_s"),
        "plain_ess_per_s": eff("plain"),
        "fit_ess_per_s": eff("fit"),
        "ess_per_s_ratio": eff("fit") / eff("plain"),
        "target_ratio_3x_met": eff("fit") / eff("plain") >= 3,
        "target_fit_under_15s_met": med("fit", "wall_s") < 15,
    }
    if "fit_cold" in runs:
        summary["fit_cold_wall_s"] = med("fit_cold", "wall_s")
    print(
        f"\n{'run':<10} {'seed':>6} {'wall s':>7} {'cpu s':>7} {'min ESS':>8} {'ESS/wall':>9} "
        f"{'RSS MB':>8}  load1"
    )
    for kind, rs in runs.items():
        for r in rs:
            print(_row(kind, r))
    print("\nper-step seconds (first measured run of each kind):")
    for kind, rs in runs.items():
        print(f"  {kind}: " + ", ".join(f"{k} {v:.2f}" for k, v in rs[0]["steps"].items()))
    print(
        "\nESS/wall-second ratio fit/plain by seed: "
        + ", ".join(f"{seed}: {ratio:.1f}" for seed, ratio in per_seed.items())
        + f"\nmedian ESS/wall-second ratio fit/plain = {summary['ess_per_s_ratio']:.1f} "
        f"(target >= 3: {'met' if summary['target_ratio_3x_met'] else 'NOT met'}); "
        f"fit wall {summary['fit_wall_s']:.1f} s "
        f"(target < 15 s: {'met' if summary['target_fit_under_15s_met'] else 'NOT met'})"
    )
    record = {
        "command": " ".join([Path(PYTHON).name, *sys.argv]),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "summary": summary,
        "runs": runs,
        "warmup": warmup,
    }
    Path(opts.out).parent.mkdir(parents=True, exist_ok=True)
    Path(opts.out).write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {opts.out}", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child_main(sys.argv[2:])
    else:
        main()
