"""The fit artifact: one netCDF file per fit, written atomically, read strictly.

An artifact is an :class:`xarray.DataTree` whose groups are listed in
:data:`REQUIRED_GROUPS` and :data:`CHECK_GROUPS` and whose root attributes hold the
provenance (:func:`bayes_ketamine.inference.provenance.provenance_attrs`). See
``docs/artifacts.md``.

Writing goes to a temporary file in the target folder
(``.<name>.nc.tmp-<pid>-<random>``), which is flushed, fsynced and renamed over the
target with :func:`os.replace`; an interrupted write leaves at most a stray temporary
file, never a partial ``.nc``. :func:`artifact_lock` serialises fits into the same
file across processes with ``fcntl.flock`` on ``<name>.nc.lock``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
from collections.abc import Callable, Collection, Hashable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used, so that ArtifactError costs no xarray import
    import xarray as xr

REQUIRED_GROUPS: tuple[str, ...] = (
    "posterior",
    "sample_stats",
    "observed_data",
    "constant_data",
    "prior",
    "prior_predictive",
    "posterior_predictive",
    "log_likelihood",
    "log_prior",
)
"""Sampling groups every artifact has (ArviZ names)."""

CHECK_GROUPS: tuple[str, ...] = (
    "diagnostics",
    "sampler_checks",
    "prior_sensitivity",
    "ppc_statistics",
    "loo",
    "loo_pit",
)
"""Stored checks; ``ppc_statistics`` and ``loo`` have one child per observed variable."""

REQUIRED_ATTRS: tuple[str, ...] = (
    "bayes_ketamine_artifact",
    "provenance_key",
    "model_name",
    "spec_json",
    "data_hash",
    "settings_json",
)
"""Root attributes without which a netCDF file is not a bayes_ketamine artifact."""


class ArtifactError(OSError):
    """An artifact is missing, unreadable, or not a bayes_ketamine artifact."""


def artifact_path(out_dir: str | Path, name: str) -> Path:
    """Return the artifact path of model ``name`` in ``out_dir``."""
    return Path(out_dir) / f"{name}.nc"


@contextlib.contextmanager
def artifact_lock(path: str | Path) -> Iterator[None]:
    """Hold an exclusive inter-process lock on the artifact ``path``.

    The lock is ``fcntl.flock`` on ``<path>.lock`` (created if needed and left in
    place); a second holder blocks until the first releases it.

    Parameters
    ----------
    path : str or pathlib.Path
        The artifact file.
    """
    lock_path = Path(f"{path}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Write a file atomically through a temporary file in the same folder.

    Parameters
    ----------
    path : str or pathlib.Path
        Final file.
    write : callable
        Called with the temporary path; must create that file.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        write(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path


def _netcdf_safe(ds: xr.Dataset) -> xr.Dataset:
    """Return ``ds`` with object variables as strings and attrs netCDF-compatible."""
    import numpy as np

    ds = ds.copy()
    for name, var in ds.variables.items():
        if var.dtype == object:
            ds[name] = var.copy(
                data=np.array([str(v) for v in var.values.ravel()]).reshape(var.shape)
            )
    ds.attrs = {k: v if not isinstance(v, bool) else int(v) for k, v in ds.attrs.items()}
    return ds


def write_artifact(tree: xr.DataTree, path: str | Path) -> Path:
    """Write an artifact atomically.

    Parameters
    ----------
    tree : xarray.DataTree
        The fit with its checks and provenance attributes.
    path : str or pathlib.Path
        Target ``.nc`` file; replaced atomically if it exists.

    Returns
    -------
    pathlib.Path
    """
    safe = tree.copy()
    for node in safe.subtree:
        node.dataset = _netcdf_safe(node.to_dataset())
    return atomic_write(path, lambda tmp: safe.to_netcdf(tmp, engine="netcdf4"))


def check_artifact_path(path: str | Path) -> Path:
    """Return ``path`` if it names an existing ``.nc`` file, else raise ArtifactError."""
    path = Path(path)
    if path.suffix != ".nc":
        raise ArtifactError(f"{path}: artifact file names end in .nc (temporary or foreign file?)")
    if not path.is_file():
        raise ArtifactError(f"{path}: no such artifact")
    return path


def unreadable(path: Path, err: Exception) -> ArtifactError:
    """Return the error of a file that netCDF cannot read."""
    return ArtifactError(f"{path}: not a readable netCDF file (truncated or corrupted?): {err}")


def check_artifact_contents(
    path: Path, attrs: Collection[Hashable], groups: Collection[str]
) -> None:
    """Raise ArtifactError unless root ``attrs`` and ``groups`` are an artifact's."""
    missing = [a for a in REQUIRED_ATTRS if a not in attrs]
    if missing or "posterior" not in groups:
        what = f"attributes {', '.join(missing)}" if missing else "group posterior"
        raise ArtifactError(f"{path}: netCDF file but not a bayes_ketamine artifact (no {what})")


@contextlib.contextmanager
def _open(path: str | Path) -> Iterator[xr.DataTree]:
    import xarray as xr

    path = check_artifact_path(path)
    try:
        tree = xr.open_datatree(path, engine="netcdf4")
    except (OSError, ValueError, RuntimeError) as err:
        raise unreadable(path, err) from err
    try:
        check_artifact_contents(path, tree.attrs, tree.children)
        yield tree
    finally:
        tree.close()


def load_posterior(path: str | Path) -> xr.DataTree:
    """Load an artifact fully into memory and close the file.

    Parameters
    ----------
    path : str or pathlib.Path
        Artifact file (``posteriors/<model>.nc``).

    Returns
    -------
    xarray.DataTree
        All groups loaded; the file is no longer open, so it may be overwritten.

    Raises
    ------
    ArtifactError
        If the name does not end in ``.nc`` (e.g. a temporary file of an unfinished
        write), the file is missing, not readable as netCDF (truncated or corrupted), or a
        netCDF file that is not a bayes_ketamine artifact (no provenance attributes or
        no ``posterior`` group).

    Examples
    --------
    The artifact comes from fitting a model, so the doctests skip these lines:

    >>> from bayes_ketamine.inference import load_posterior
    >>> tree = load_posterior("posteriors/joint_partial.nc")  # doctest: +SKIP
    >>> tree.attrs["model_name"]  # doctest: +SKIP
    'joint_partial'
    """
    with _open(path) as tree:
        try:
            # Load variable by variable: DataTree.load skips variables named like a
            # root group (xarray 2026.9).
            for node in tree.subtree:
                for var in node.to_dataset(inherit=False).variables.values():
                    var.load()
            return tree
        except (OSError, ValueError, RuntimeError) as err:
            raise ArtifactError(f"{path}: artifact data unreadable (truncated?): {err}") from err
