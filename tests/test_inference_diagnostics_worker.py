"""The helper process for the convergence table gives what the fit computes itself."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys

import loky
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


def test_helper_that_is_killed_is_replaced_by_the_in_process_table_with_a_warning():
    post = posterior(1)
    worker = DiagnosticsWorker().start()
    (pid,) = worker.executor._processes  # the one helper process, started with the executor
    os.kill(pid, signal.SIGKILL)
    worker.submit(post)
    with pytest.warns(RuntimeWarning, match="diagnostics helper process failed"):
        table = worker.result(post)
    xr.testing.assert_identical(table, in_process(post))
    assert worker.executor is None  # closed
    with borrowed_worker() as replacement:  # the next fit gets a new helper
        assert replacement is not None and replacement.usable


def test_helper_that_cannot_start_is_replaced_with_a_warning(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("no processes left")

    monkeypatch.setattr(loky, "ProcessPoolExecutor", refuse)
    post = posterior(2)
    worker = DiagnosticsWorker().start()
    worker.submit(post)
    with pytest.warns(RuntimeWarning, match="no processes left"):
        table = worker.result(post)
    xr.testing.assert_identical(table, in_process(post))


def test_closing_an_unused_helper_stops_it():
    worker = DiagnosticsWorker().start()
    (process,) = worker.executor._processes.values()
    worker.close()
    assert process.exitcode is not None


def test_a_daemonic_process_borrows_no_helper(monkeypatch):
    monkeypatch.setattr(multiprocessing.current_process(), "daemon", True, raising=False)
    with borrowed_worker() as worker:
        assert worker is None  # it could not start one: the fit computes the table


def test_the_helper_does_not_run_the_callers_main_script(tmp_path):
    script = tmp_path / "user_script.py"
    marker = tmp_path / "ran"
    script.write_text(
        "import pathlib, numpy as np, xarray as xr\n"
        f"pathlib.Path({str(marker)!r}).open('a').write('x')\n"
        "from bayes_ketamine.inference.diagnostics_worker import DiagnosticsWorker\n"
        "post = xr.Dataset({'mu': (('chain', 'draw'), np.zeros((2, 50)))})\n"
        "with DiagnosticsWorker() as worker:\n"
        "    worker.submit(post)\n"
        "    worker.result(post)\n"
        "    assert worker.failure is None\n"
    )
    subprocess.run([sys.executable, str(script)], check=True, cwd=tmp_path)
    assert marker.read_text() == "x"  # once: the helper did not import the script again


def test_helper_warnings_are_raised_again_in_the_fit():
    post = posterior(3).assign(constant=(("chain", "draw"), np.ones((4, 300))))
    with DiagnosticsWorker() as worker:
        worker.submit(post)
        with pytest.warns(RuntimeWarning, match="convergence table \\(diagnostics helper\\)"):
            table = worker.result(post)
    assert np.isnan(table["r_hat"].sel(parameter="constant"))
