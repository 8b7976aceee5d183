"""Artifact writing and reading: atomicity, locking, strict loading."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from bayes_ketamine.inference.artifact import (
    ArtifactError,
    artifact_lock,
    load_posterior,
    write_artifact,
)

TESTS = Path(__file__).parent
ROOT_ATTRS = {
    "bayes_ketamine_artifact": 1,
    "provenance_key": "k",
    "model_name": "m",
    "spec_json": "{}",
    "data_hash": "d",
    "settings_json": "{}",
}


def _tree(value: float = 1.0, n: int = 200) -> xr.DataTree:
    post = xr.Dataset({"mu": (("chain", "draw"), np.full((2, n), value))})
    stats = xr.Dataset({"msg": (("chain", "draw"), np.full((2, n), None, dtype=object))})
    tree = xr.DataTree.from_dict({"posterior": post, "sample_stats": stats})
    tree.attrs = dict(ROOT_ATTRS)
    return tree


def test_round_trip_and_file_is_closed(tmp_path):
    path = write_artifact(_tree(2.0), tmp_path / "m.nc")
    tree = load_posterior(path)
    path.unlink()  # fully loaded: the data survive the file
    assert float(tree["posterior"]["mu"].mean()) == 2.0
    assert tree["sample_stats"]["msg"].values[0, 0] == "None"
    assert tree.attrs["model_name"] == "m"


def test_missing_file(tmp_path):
    with pytest.raises(ArtifactError, match="no such artifact"):
        load_posterior(tmp_path / "absent.nc")


def test_truncated_and_garbage_files(tmp_path):
    path = write_artifact(_tree(), tmp_path / "m.nc")
    truncated = tmp_path / "t.nc"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    garbage = tmp_path / "g.nc"
    garbage.write_text("not a netcdf file")
    for bad in (truncated, garbage):
        with pytest.raises(ArtifactError, match="truncated or corrupted"):
            load_posterior(bad)


def test_foreign_netcdf(tmp_path):
    plain = tmp_path / "plain.nc"
    xr.Dataset({"x": ("i", [1.0, 2.0])}).to_netcdf(plain)
    with pytest.raises(ArtifactError, match="not a bayes_ketamine artifact"):
        load_posterior(plain)
    no_posterior = tmp_path / "np.nc"
    tree = xr.DataTree.from_dict({"other": xr.Dataset({"x": ("i", [1.0])})})
    tree.attrs = dict(ROOT_ATTRS)
    tree.to_netcdf(no_posterior)
    with pytest.raises(ArtifactError, match="group posterior"):
        load_posterior(no_posterior)


def test_interrupted_write_keeps_old_artifact(tmp_path, monkeypatch):
    path = write_artifact(_tree(1.0), tmp_path / "m.nc")

    def broken(self, target, *args, **kwargs):
        Path(target).write_bytes(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(xr.DataTree, "to_netcdf", broken)
    with pytest.raises(KeyboardInterrupt):
        write_artifact(_tree(5.0), path)
    assert float(load_posterior(path)["posterior"]["mu"].mean()) == 1.0
    assert [p.name for p in tmp_path.iterdir()] == ["m.nc"]


WRITER = textwrap.dedent(
    """
    import sys, time
    import numpy as np, xarray as xr
    sys.path.insert(0, {tests!r})
    from test_inference_artifact import _tree
    from bayes_ketamine.inference.artifact import write_artifact

    real = xr.DataTree.to_netcdf
    def slow(self, target, *args, **kwargs):
        real(self, target, *args, **kwargs)
        print("written", flush=True)
        time.sleep(60)
    xr.DataTree.to_netcdf = slow
    write_artifact(_tree(9.0, n=5000), {path!r})
    """
)


def test_killed_writer_leaves_old_artifact_intact(tmp_path):
    path = write_artifact(_tree(1.0), tmp_path / "m.nc")
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER.format(tests=str(TESTS), path=str(path))],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "written"
        temps = [p for p in tmp_path.iterdir() if p.name.startswith(".m.nc.tmp-")]
        assert len(temps) == 1
        with pytest.raises(ArtifactError):
            load_posterior(temps[0])  # a temp file is never an artifact
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert float(load_posterior(path)["posterior"]["mu"].mean()) == 1.0


LOCKER = textwrap.dedent(
    """
    import sys, time
    from bayes_ketamine.inference.artifact import artifact_lock
    with artifact_lock({path!r}):
        print("locked", flush=True)
        time.sleep(1.5)
    """
)


def test_lock_serialises_processes(tmp_path):
    path = tmp_path / "m.nc"
    proc = subprocess.Popen(
        [sys.executable, "-c", LOCKER.format(path=str(path))], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "locked"
    start = time.monotonic()
    with artifact_lock(path):
        waited = time.monotonic() - start
    proc.wait()
    assert waited > 0.5
    assert os.path.exists(f"{path}.lock")


FITTER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from inference_toy import fake_sample_posterior, toy_model
    from bayes_ketamine.inference import FitSettings, fit, fitting
    fitting.posterior_sampler = fake_sample_posterior
    result = fit(toy_model(), settings=FitSettings(draws=40, chains=2, prior_draws=10),
                 out_dir={out!r}, progress=False)
    print("reused" if result.reused else "fitted", flush=True)
    """
)


def test_concurrent_fits_into_one_folder(tmp_path):
    code = FITTER.format(tests=str(TESTS), out=str(tmp_path))
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outcomes = sorted(p.communicate(timeout=300)[0].strip() for p in procs)
    assert [p.returncode for p in procs] == [0, 0]
    assert outcomes == ["fitted", "reused"]
    assert load_posterior(tmp_path / "toy_partial.nc").attrs["model_name"] == "toy_partial"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy_partial.nc", "toy_partial.nc.lock"]
