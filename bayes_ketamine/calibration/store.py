"""Per-simulation result files: written atomically, resumed, combined once.

Layout of a run folder::

    RUN/
      run.json              settings and identity of the run (checked on resume)
      sims/000000.nc        one small netCDF per finished simulation
      sims/000001.nc
      ...
      <name>.nc             the combined result (rebuilt from sims/ at the end)

Only the client writes (workers return results over the wire), each file through
:func:`bayes_ketamine.inference.artifact.atomic_write` (temporary file, fsync, rename),
so a crash leaves either a whole result file or none. The file name *is* the
simulation index, so a result can never be stored twice; a resumed run lists the
indices present and submits only the others. Combining reads every file once and
stacks them along ``simulation`` sorted by index.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from bayes_ketamine.inference.artifact import artifact_lock, atomic_write


class RunMismatchError(ValueError):
    """A run folder holds results of a different run (other spec, settings or seed)."""


class RunStore:
    """The folder of one calibration or power run.

    Parameters
    ----------
    root : str or pathlib.Path
        Run folder (created if needed).
    identity : dict
        JSON-serialisable description of the run (spec hash, design, settings, seed).
        A folder written by a run with a different identity is refused, so results of
        different runs never mix.
    """

    def __init__(self, root: str | Path, identity: dict[str, Any]) -> None:
        self.root = Path(root)
        self.sims = self.root / "sims"
        self.sims.mkdir(parents=True, exist_ok=True)
        self.identity = json.loads(json.dumps(identity, sort_keys=True, default=str))
        manifest = self.root / "run.json"
        with artifact_lock(manifest):
            if manifest.exists():
                stored = json.loads(manifest.read_text())
                if stored != self.identity:
                    changed = sorted(
                        k
                        for k in set(stored) | set(self.identity)
                        if stored.get(k) != self.identity.get(k)
                    )
                    raise RunMismatchError(
                        f"{self.root} holds a different run (differs in: {', '.join(changed)}); "
                        "choose another --out folder or delete it"
                    )
            else:
                text = json.dumps(self.identity, indent=2, sort_keys=True)
                atomic_write(manifest, lambda p: p.write_text(text))

    def path(self, index: int) -> Path:
        """Return the result file of simulation ``index``."""
        return self.sims / f"{int(index):06d}.nc"

    def done(self) -> set[int]:
        """Return the indices whose results are stored."""
        return {int(p.stem) for p in self.sims.glob("[0-9]*.nc")}

    def missing(self, indices: list[int] | range) -> list[int]:
        """Return the indices of ``indices`` not yet stored, in order."""
        done = self.done()
        return [int(i) for i in indices if int(i) not in done]

    def save(self, result: dict[str, Any]) -> Path | None:
        """Store one simulation's result atomically; an index already stored is kept.

        Parameters
        ----------
        result : dict
            Output of :func:`bayes_ketamine.calibration.worker.run_fit`.

        Returns
        -------
        pathlib.Path or None
            The file written, or None when that index was already stored.
        """
        path = self.path(result["index"])
        if path.exists():
            return None
        ds = result_to_dataset(result)
        return atomic_write(path, lambda p: ds.to_netcdf(p, engine="netcdf4"))

    def combine(self, indices: list[int] | range | None = None) -> xr.Dataset:
        """Return all stored results stacked along ``simulation`` (sorted by index).

        Parameters
        ----------
        indices : sequence of int, optional
            Restrict to these indices (default: all stored).
        """
        wanted = sorted(self.done() if indices is None else set(indices) & self.done())
        parts = []
        for i in wanted:
            with xr.open_dataset(self.path(i), engine="netcdf4") as ds:
                part = ds.load()
            # fixed-width strings of different lengths would be cut to the first
            # file's width by concat; go through object arrays
            parts.append(
                part.assign(
                    {k: v.astype(object) for k, v in part.data_vars.items() if v.dtype.kind == "U"}
                )
            )
        if not parts:
            raise FileNotFoundError(f"no stored simulations in {self.sims}")
        combined = xr.concat(parts, dim="simulation", coords="minimal", compat="override")
        combined = combined.assign_coords(simulation=np.array(wanted, dtype=np.int64))
        combined = combined.assign(
            {k: v.astype(str) for k, v in combined.data_vars.items() if v.dtype == object}
        )
        combined.attrs = {"run_json": json.dumps(self.identity, sort_keys=True)}
        return combined


def result_to_dataset(result: dict[str, Any]) -> xr.Dataset:
    """Turn a worker result dict into a one-simulation dataset.

    Arrays along ``parameter`` (SBC) keep that dim; every other value becomes a
    scalar variable.
    """
    result = dict(result)
    labels = result.pop("parameter", None)
    data_vars: dict[str, Any] = {}
    coords = {}
    if labels is not None:
        coords["parameter"] = np.asarray(labels, dtype=str)
    for key, value in result.items():
        arr = np.asarray(value)
        if arr.ndim == 1 and labels is not None and arr.shape[0] == len(labels):
            data_vars[key] = ("parameter", arr)
        elif arr.ndim == 0:
            data_vars[key] = ((), arr.item() if arr.dtype.kind in "U" else arr)
        else:
            data_vars[key] = (tuple(f"{key}_dim_{k}" for k in range(arr.ndim)), arr)
    return xr.Dataset(data_vars, coords=coords)


def write_netcdf(ds: xr.Dataset | xr.DataTree, path: str | Path) -> Path:
    """Write a combined result atomically."""
    return atomic_write(path, lambda p: ds.to_netcdf(p, engine="netcdf4"))
