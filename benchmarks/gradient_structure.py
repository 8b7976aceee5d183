"""Cost of one NUTS step: structure-compiled (data as inputs) vs frozen (data as constants).

Each compilation samples one chain in this process (nutpie, 500 tuning + 1000
draws, two seeds), and the benchmark reports the process CPU time per leapfrog step
of the kept draws (``sum(n_steps)``). CPU time, not wall time, so that the figure
holds on a busy machine; the first run of each compilation includes loading its
callbacks, so the better of the two runs is the one to read.

``structure``
    :func:`bayes_ketamine.inference.nutpie_adapter.compile_nutpie`: data, sizes and
    value shapes are inputs; compiled once per model structure.
``nutpie_unfrozen``
    ``nutpie.compile_pymc_model(freeze_model=False)``: data are inputs, sizes fixed
    (nutpie's own way of taking data as inputs).
``frozen``
    ``nutpie.compile_pymc_model(freeze_model=True)``: data and sizes are constants
    (one compilation per dataset).

Usage::

    .venv/bin/python benchmarks/gradient_structure.py --spec joint_partial
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", default="joint_partial")
    parser.add_argument("--draws", type=int, default=1000)
    opts = parser.parse_args()

    from bayes_ketamine.data import default_study
    from bayes_ketamine.inference.nutpie_adapter import compile_nutpie, import_nutpie
    from bayes_ketamine.models import build_model

    nutpie = import_nutpie()
    model = build_model(opts.spec, default_study()).pymc_model
    variants = {
        "structure": compile_nutpie(model).compiled,
        "nutpie_unfrozen": nutpie.compile_pymc_model(model, freeze_model=False),
        "frozen": nutpie.compile_pymc_model(model, freeze_model=True),
    }
    print(f"{opts.spec}: CPU time per leapfrog step, one chain (simulated default study)")
    print(f"{'compilation':<16} {'steps':>8} {'us per step (best of 2)':>24}")
    for name, compiled in variants.items():
        best, steps = float("inf"), 0
        for seed in (0, 1):
            start = time.process_time()
            trace = nutpie.sample(
                compiled,
                chains=1,
                cores=1,
                tune=500,
                draws=opts.draws,
                seed=seed,
                progress_bar=False,
            )
            seconds = time.process_time() - start
            n = int(np.asarray(trace.sample_stats["n_steps"]).sum())
            if seconds / n < best:
                best, steps = seconds / n, n
        print(f"{name:<16} {steps:>8} {best * 1e6:>24.1f}")


if __name__ == "__main__":
    main()
