"""The helper process for the convergence table gives what the fit computes itself."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from bayes_ketamine.inference.diagnostics import parameter_diagnostics
from bayes_ketamine.inference.diagnostics_worker import DiagnosticsWorker, borrowed_worker


def posterior(seed: int = 0) -> xr.Dataset:
    """Return a small posterior: a scalar, a vector, and a slowly mixing chain."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(size=(4, 300)), axis=1)
    return xr.Dataset(
        {
            "mu": (("chain", "draw"), rng.normal(size=(4, 300))),
            "theta": (("chain", "draw", "sex"), rng.normal(size=(4, 300, 2))),
            "stuck": (("chain", "draw"), walk),
        },
        coords={"chain": np.arange(4), "draw": np.arange(300), "sex": ["F", "M"]},
    )


def in_process(post: xr.Dataset) -> xr.Dataset:
    return parameter_diagnostics(xr.DataTree.from_dict({"posterior": post}))


def test_helper_tables_equal_the_in_process_tables_for_successive_posteriors():
    with DiagnosticsWorker() as worker:
        for seed in (0, 1):  # one helper, several fits
            post = posterior(seed)
            worker.submit(post)
            table = worker.result(post)
            assert worker.failure is None
            xr.testing.assert_identical(table, in_process(post))
            assert table["r_hat"].sel(parameter="stuck") > 1.05  # the check can fail


def test_one_shared_helper_lent_to_one_fit_at_a_time():
    with borrowed_worker() as first:
        assert first is not None and first.usable
        with borrowed_worker() as meanwhile:
            assert meanwhile is None  # another fit holds it: that fit computes in-process
    with borrowed_worker() as again:
        assert again is first


def test_helper_that_dies_is_replaced_by_the_in_process_table_with_a_warning():
    post = posterior(1)
    worker = DiagnosticsWorker()
    worker.process = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.buffer.read(8); sys.exit(3)"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    worker.submit(post)
    with pytest.warns(RuntimeWarning, match="diagnostics helper process failed"):
        table = worker.result(post)
    xr.testing.assert_identical(table, in_process(post))
    assert worker.process is None  # closed


def test_helper_that_cannot_start_is_replaced_with_a_warning(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("no processes left")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    post = posterior(2)
    worker = DiagnosticsWorker().start()
    worker.submit(post)
    with pytest.warns(RuntimeWarning, match="no processes left"):
        table = worker.result(post)
    xr.testing.assert_identical(table, in_process(post))


def test_closing_an_unused_helper_stops_it():
    worker = DiagnosticsWorker().start()
    process = worker.process
    worker.close()
    assert process.poll() is not None


def test_helper_warnings_are_raised_again_in_the_fit():
    post = posterior(3).assign(constant=(("chain", "draw"), np.ones((4, 300))))
    with DiagnosticsWorker() as worker:
        worker.submit(post)
        with pytest.warns(RuntimeWarning, match="convergence table \\(diagnostics helper\\)"):
            table = worker.result(post)
    assert np.isnan(table["r_hat"].sel(parameter="constant"))
