"""Cost of one log density + gradient: structure-compiled (data as inputs) vs frozen.

The numba function NUTS calls at every leapfrog step, called directly (no Python
wrapper), on the joint model and the default study, for four compilations:

``structure``
    :func:`bayes_ketamine.inference.nutpie_adapter.compile_nutpie`: data, sizes and
    value shapes are inputs; compiled once per model structure.
``nutpie_unfrozen``
    ``nutpie.compile_pymc_model(freeze_model=False)``: data are inputs, sizes fixed.
``structure_dims_frozen``
    Ours on a model whose dimension lengths are frozen (data still inputs).
``frozen``
    ``nutpie.compile_pymc_model(freeze_model=True)``: data and sizes are constants
    (what a fit compiled before compile-once used; one compilation per dataset).

Usage::

    .venv/bin/python benchmarks/gradient_structure.py --calls 5000
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--spec", default="joint_partial")
    opts = parser.parse_args()
    from pymc.model.transform.optimization import freeze_dims_and_data

    from bayes_ketamine.data import default_study
    from bayes_ketamine.inference.nutpie_adapter import compile_nutpie, import_nutpie
    from bayes_ketamine.models import build_model

    nutpie = import_nutpie()
    model = build_model(opts.spec, default_study()).pymc_model
    variants = {
        "structure": compile_nutpie(model).compiled,
        "nutpie_unfrozen": nutpie.compile_pymc_model(model, freeze_model=False),
        "structure_dims_frozen": compile_nutpie(freeze_dims_and_data(model, data=[])).compiled,
        "frozen": nutpie.compile_pymc_model(model, freeze_model=True),
    }
    x = np.random.default_rng(0).normal(0.0, 0.1, variants["frozen"].n_dim)
    print(f"{'compilation':<24} {'shared inputs':>13} {'us per call':>12}")
    for name, compiled in variants.items():
        function = compiled.logp_func
        jit = function.vm.jit_fn
        shared = [np.asarray(v.get_value()) for v in function.get_shared()]
        jit(x, *shared)
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            for _ in range(opts.calls):
                jit(x, *shared)
            best = min(best, (time.perf_counter() - start) / opts.calls * 1e6)
        print(f"{name:<24} {len(shared):>13} {best:>12.1f}")


if __name__ == "__main__":
    main()
