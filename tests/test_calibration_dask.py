"""Calibration through a real dask.distributed LocalCluster on loopback."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cloudpickle
import pytest

pytestmark = [pytest.mark.dask]

cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def client():
    from bayes_ketamine.calibration.cluster import dask_client

    with dask_client(workers=2) as c:
        yield c


@dataclass(frozen=True)
class _Job:
    index: int
    marker: str


def _crash_once(job: _Job) -> dict:
    """Kill this worker process the first time job 1 runs; succeed afterwards."""
    marker = Path(job.marker)
    if job.index == 1 and not marker.exists():
        marker.write_text(str(os.getpid()))
        os._exit(1)
    time.sleep(0.2)
    return {"index": job.index, "pid": os.getpid(), "value": float(job.index) ** 2}


def test_worker_death_is_retried_and_results_are_complete(client, tmp_path):
    from bayes_ketamine.calibration.cluster import run_jobs
    from bayes_ketamine.calibration.store import RunStore

    store = RunStore(tmp_path / "run", {"kind": "crash-test"})
    marker = tmp_path / "crashed"
    jobs = [_Job(i, str(marker)) for i in range(4)]
    n = run_jobs(
        client, _crash_once, jobs, key_prefix="crash", on_result=store.save, progress=False
    )
    assert n == 4
    assert marker.exists()  # the worker did die
    combined = store.combine()
    assert combined["simulation"].values.tolist() == [0, 1, 2, 3]
    assert combined["value"].values.tolist() == [0.0, 1.0, 4.0, 9.0]
    assert int(combined["pid"].sel(simulation=1)) != int(marker.read_text())
    client.wait_for_workers(2, timeout=60)


@pytest.mark.sampling
def test_small_sbc_through_local_cluster_and_resume(client, tmp_path):
    from bayes_ketamine.calibration import SamplerSettings, run_sbc
    from bayes_ketamine.calibration.worker import cache_keys

    settings = SamplerSettings(draws=100, tune=150, chains=2, thin_to=49)
    first = run_sbc(
        "symptoms_partial",
        simulations=4,
        out_dir=tmp_path,
        settings=settings,
        client=client,
        progress=False,
    )
    assert first.netcdf.exists() and first.plot.exists()
    assert first.ranks.sizes["simulation"] == 4
    assert ((first.ranks["rank"] >= 0) & (first.ranks["rank"] <= 49)).all()
    assert set(first.verdicts["verdict"].values) <= {"uniform", "suspect", "non-uniform"}
    assert len(first.compile_seconds) == 2 and all(s > 0 for s in first.compile_seconds)
    assert (first.ranks["compile_seconds"] == 0).all()  # compiled in warm-up, not per task
    # one compiled model per worker process, reused for every simulation
    keys = client.run(cache_keys)
    assert all(len(k) == 1 for k in keys.values())
    pids = set(first.ranks["pid"].values.tolist())
    assert pids <= set(client.run(os.getpid).values())

    stored = {i: tmp_path / "symptoms_partial" / "sims" / f"{i:06d}.nc" for i in range(4)}
    mtimes = {i: p.stat().st_mtime_ns for i, p in stored.items()}
    second = run_sbc(
        "symptoms_partial",
        simulations=6,
        out_dir=tmp_path,
        settings=settings,
        client=client,
        progress=False,
    )
    assert second.compile_seconds == [0.0, 0.0]  # cached in the workers
    assert {i: p.stat().st_mtime_ns for i, p in stored.items()} == mtimes  # not recomputed
    assert second.ranks["simulation"].values.tolist() == list(range(6))
    assert (second.ranks["rank"].isel(simulation=slice(0, 4)) == first.ranks["rank"]).all()


@pytest.mark.sampling
def test_assurance_with_a_point_prior_equals_power(client, tmp_path):
    """Assurance with the design prior collapsed to a point is power at that point.

    Both runs share the seed, so each replicate simulates the same trial and fits it
    with the same sampler seed: the decisions agree replicate by replicate, which is
    the known answer (equality within Monte Carlo error, here with no error at all).
    """
    import numpy as np

    from bayes_ketamine.calibration import SamplerSettings
    from bayes_ketamine.calibration.power import CRITERIA, mc_se, run_power
    from bayes_ketamine.data import SimulationParameters

    params = SimulationParameters(glx_condition_effect_pct={"F": -1.0, "M": -6.0})
    settings = SamplerSettings(draws=100, tune=150, chains=2, thin_to=49)
    common = dict(
        n_per_sex=(4,),
        replicates=6,
        params=params,
        out_dir=tmp_path,
        settings=settings,
        seed=7,
        client=client,
        progress=False,
        plot=False,
    )
    power = run_power("glutamate_partial", effect="fixed", **common)
    assurance = run_power("glutamate_partial", effect="prior", effect_sd=0.0, **common)
    assert power.out_dir != assurance.out_dir
    for run in (power, assurance):
        assert run.replicates["true_glx_effect_M"].values.tolist() == [-6.0] * 6
        assert run.replicates["true_glx_effect_F"].values.tolist() == [-1.0] * 6
    for var in ("sex_difference_lower", "sex_difference_upper", "p_male_direction"):
        np.testing.assert_array_equal(power.replicates[var], assurance.replicates[var])
    p_power = power.summary["probability"]
    p_assurance = assurance.summary["probability"]
    assert set(p_power["criterion"].values) == set(CRITERIA["glutamate"])
    np.testing.assert_array_equal(p_power.values, p_assurance.values)
    se = np.sqrt(mc_se(p_power, 6) ** 2 + mc_se(p_assurance, 6) ** 2)
    assert (np.abs(p_power - p_assurance) <= 2 * se + 1e-12).all()
    # A real design prior moves the true effects (and so the trials).
    spread = run_power(
        "glutamate_partial",
        effect="prior",
        effect_sd=2.0,
        **{**common, "out_dir": tmp_path / "sd2"},
    )
    assert np.std(spread.replicates["true_glx_effect_M"].values) > 0.5
    assert not np.array_equal(
        spread.replicates["sex_difference_upper"], power.replicates["sex_difference_upper"]
    )
