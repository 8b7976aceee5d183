"""A light view of an artifact's groups: netCDF4 and numpy only, for fast commands.

``bayes-ketamine check`` reads a few small groups of an artifact and a few posterior
variables. Opening the file through xarray would import pandas and (through xarray's
string decoding) dask, which is most of the command's time; :func:`open_stored` reads
the same groups with netCDF4 directly. :func:`stored_tree` gives the same view of an
artifact already in memory (e.g. right after a fit), so one report serves both.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bayes_ketamine.inference.artifact import (
    check_artifact_contents,
    check_artifact_path,
    unreadable,
)

if TYPE_CHECKING:
    import netCDF4
    import xarray as xr


@dataclass(frozen=True)
class StoredGroup:
    """One group of an artifact: attributes, variable dimensions, values on demand.

    Parameters
    ----------
    attrs : dict
        Attributes, numpy scalars turned into Python values.
    dims : dict of str to tuple of str
        Dimension names of every variable (coordinates included).
    read : callable
        Returns the values of a variable as a numpy array.
    children : dict of str to StoredGroup
        Sub-groups.
    """

    attrs: dict[str, Any]
    dims: dict[str, tuple[str, ...]]
    read: Callable[[str], np.ndarray]
    children: dict[str, StoredGroup] = field(default_factory=dict)

    def __contains__(self, name: str) -> bool:
        """Whether the group has variable ``name``."""
        return name in self.dims

    def values(self, name: str) -> np.ndarray:
        """Return the values of variable ``name``."""
        return self.read(name)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _netcdf_group(group: netCDF4.Dataset | netCDF4.Group) -> StoredGroup:
    def read(name: str) -> np.ndarray:
        return np.asarray(group.variables[name][...])

    return StoredGroup(
        attrs={name: _plain(group.getncattr(name)) for name in group.ncattrs()},
        dims={name: tuple(var.dimensions) for name, var in group.variables.items()},
        read=read,
        children={name: _netcdf_group(child) for name, child in group.groups.items()},
    )


@contextlib.contextmanager
def open_stored(path: str | Path) -> Iterator[StoredGroup]:
    """Open an artifact as a :class:`StoredGroup` (the root), closed on exit.

    Parameters
    ----------
    path : str or pathlib.Path
        Artifact file.

    Yields
    ------
    StoredGroup
        The root group; read values inside the ``with`` block.

    Raises
    ------
    ArtifactError
        As :func:`bayes_ketamine.inference.load_posterior`.
    """
    import netCDF4

    path = check_artifact_path(path)
    try:
        dataset = netCDF4.Dataset(path, "r")
    except (OSError, ValueError, RuntimeError) as err:
        raise unreadable(path, err) from err
    try:
        dataset.set_auto_mask(False)
        root = _netcdf_group(dataset)
        check_artifact_contents(path, root.attrs, root.children)
        yield root
    finally:
        dataset.close()


def stored_tree(tree: xr.DataTree) -> StoredGroup:
    """Return the :class:`StoredGroup` view of an artifact in memory.

    Parameters
    ----------
    tree : xarray.DataTree
        An artifact (e.g. ``FitResult.tree``).

    Returns
    -------
    StoredGroup
    """
    dataset = tree.to_dataset()
    return StoredGroup(
        attrs={str(name): _plain(value) for name, value in tree.attrs.items()},
        dims={str(name): tuple(map(str, var.dims)) for name, var in dataset.variables.items()},
        read=lambda name: np.asarray(dataset.variables[name].values),
        children={name: stored_tree(child) for name, child in tree.children.items()},
    )


def read_attrs(path: str | Path) -> dict[str, Any]:
    """Return the root attributes of an artifact without loading its data.

    Read with netCDF4 alone (:func:`open_stored`), as every reader of stored
    attributes does.

    Parameters
    ----------
    path : str or pathlib.Path
        Artifact file.

    Returns
    -------
    dict

    Raises
    ------
    ArtifactError
        As :func:`bayes_ketamine.inference.load_posterior`.
    """
    with open_stored(path) as root:
        return dict(root.attrs)
