"""Read stored artifacts with xarray and ArviZ alone, as a user without bayes_ketamine would.

Run as ``python arviz_native_reader.py OUT_DIR ARTIFACT...`` (the first artifact has two
likelihoods, ``log_glx`` and ``score``; every artifact is fitted to the same data). It
writes ``OUT_DIR/results.json`` and the two figures as PNG; ``tests/test_arviz_native.py``
checks them. This file must never import bayes_ketamine (it records whether it was).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(out_dir: Path, paths: list[Path]) -> None:
    """Open each artifact, run the ArviZ functions on it and write what they returned."""
    import matplotlib

    matplotlib.use("Agg")
    import arviz as az
    import matplotlib.pyplot as plt
    import xarray as xr

    trees = {path.stem: xr.open_datatree(path) for path in paths}
    first = trees[paths[0].stem]

    summary = az.summary(first, var_names=["glx_condition_effect"])
    az.plot_forest(first, var_names=["glx_condition_effect"], combined=True)
    plt.gcf().savefig(out_dir / "forest.png")
    plt.close("all")
    az.plot_ppc_dist(first, var_names=["score"], num_samples=20)
    plt.gcf().savefig(out_dir / "ppc_dist.png")
    plt.close("all")

    try:
        az.loo(first)
        loo_without_var_name = "no error"
    except (TypeError, ValueError) as err:
        loo_without_var_name = str(err)
    loo = {name: az.loo(tree, var_name="score") for name, tree in trees.items()}
    comparison = az.compare(trees, var_name="score")

    results = {
        "bayes_ketamine_imported": any(m.split(".")[0] == "bayes_ketamine" for m in sys.modules),
        "summary_index": list(summary.index),
        "summary_columns": list(summary.columns),
        "loo_without_var_name": loo_without_var_name,
        "loo_elpd": {name: float(result.elpd) for name, result in loo.items()},
        "loo_n_data_points": {name: int(result.n_data_points) for name, result in loo.items()},
        "compare_rank": {str(k): int(v) for k, v in comparison["rank"].items()},
        "compare_weight": {str(k): float(v) for k, v in comparison["weight"].items()},
    }
    (out_dir / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]])
