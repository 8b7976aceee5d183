"""Whether a fit is already stored: decided without importing the modelling stack.

A fit is reused when ``<out_dir>/<model name>.nc`` is a readable artifact whose
provenance key (:func:`~bayes_ketamine.inference.provenance.provenance_key`: spec,
data, settings, package versions and model code) equals the key of the fit asked
for. This module imports only the spec, study and artifact readers, so a command
that finds a matching artifact answers in about a second instead of importing PyMC,
pytensor and arviz-stats first.
"""

from __future__ import annotations

from pathlib import Path

from bayes_ketamine.data.study import Study
from bayes_ketamine.inference.artifact import ArtifactError, artifact_path
from bayes_ketamine.inference.provenance import package_versions, provenance_key
from bayes_ketamine.inference.settings import FitSettings
from bayes_ketamine.inference.stored import open_stored
from bayes_ketamine.models.spec import ModelSpec


def matches(path: str | Path, key: str) -> bool:
    """Return whether ``path`` is a readable artifact with provenance key ``key``.

    Read with netCDF4 alone (:func:`~bayes_ketamine.inference.stored.open_stored`):
    opening it with xarray would import dask through xarray's chunk managers.
    """
    try:
        with open_stored(path) as root:
            return root.attrs.get("provenance_key") == key
    except ArtifactError:
        return False


def stored_fit(
    spec: ModelSpec, study: Study, *, settings: FitSettings, out_dir: str | Path
) -> Path | None:
    """Return the stored artifact of this exact fit, or ``None`` if it must be fitted.

    Parameters
    ----------
    spec : ModelSpec
        The model specification.
    study : Study
        The data.
    settings : FitSettings
        Sampler settings.
    out_dir : str or pathlib.Path
        Folder of the artifacts.

    Returns
    -------
    pathlib.Path or None
        ``<out_dir>/<spec.name>.nc`` if it holds the same fit.
    """
    path = artifact_path(out_dir, spec.name)
    key = provenance_key(spec, study, settings, package_versions())
    return path if matches(path, key) else None
