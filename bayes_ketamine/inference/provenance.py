"""Provenance of a fit: what was fitted, to what data, how, with which software.

The provenance key is the SHA-256 of the canonical JSON of the spec, the study's
content hash, the fit settings, the versions of the packages that shape the result
and a hash of the model code. Two fits with the same key are the same fit;
:func:`bayes_ketamine.inference.fit` reuses an artifact whose key matches and refits
on any difference.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import bayes_ketamine.models as models_package
from bayes_ketamine.data.study import Study
from bayes_ketamine.digests import digest, sha256_hex
from bayes_ketamine.inference.settings import FitSettings
from bayes_ketamine.models.spec import ModelSpec

ARTIFACT_FORMAT: int = 1
"""Version of the artifact layout, stored as root attribute ``bayes_ketamine_artifact``."""

PACKAGES: tuple[str, ...] = (
    "bayes_ketamine",
    "pymc",
    "pytensor",
    "nutpie",
    "numba",
    "numpyro",
    "jax",
    "arviz-base",
    "arviz-stats",
    "numpy",
    "xarray",
)
"""Distributions whose versions enter the provenance key."""


def models_source_hash() -> str:
    """Return the SHA-256 of the source of :mod:`bayes_ketamine.models`.

    The model code writes the mathematics every fit samples from, so an edit to it
    (even without a version bump) changes the provenance key and refits.
    """
    files = sorted(Path(models_package.__file__).parent.glob("*.py"))
    return sha256_hex(b"".join(path.name.encode() + b"\0" + path.read_bytes() for path in files))


def package_versions() -> dict[str, str]:
    """Return the versions of :data:`PACKAGES` (``"absent"`` if not installed).

    Also holds ``bayes_ketamine.models source``: :func:`models_source_hash`.
    """
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    versions["bayes_ketamine.models source"] = models_source_hash()
    return versions


def provenance_key(
    spec: ModelSpec, study: Study, settings: FitSettings, versions: dict[str, str]
) -> str:
    """Return the key identifying a fit.

    Parameters
    ----------
    spec : ModelSpec
        Model specification.
    study : Study
        The data.
    settings : FitSettings
        Sampler settings.
    versions : dict of str to str
        Package versions (:func:`package_versions`).

    Returns
    -------
    str
        SHA-256 hex digest.
    """
    return digest(
        format=ARTIFACT_FORMAT,
        spec=spec.to_json(),
        data=study.content_hash(),
        settings=settings.to_json(),
        versions=versions,
    )


def provenance_attrs(spec: ModelSpec, study: Study, settings: FitSettings) -> dict[str, Any]:
    """Return the root attributes of an artifact (netCDF-safe: str and numbers only).

    Parameters
    ----------
    spec, study, settings
        As in :func:`provenance_key`.

    Returns
    -------
    dict
        ``bayes_ketamine_artifact``, ``provenance_key``, ``model_name``,
        ``model_family``, ``spec_json``, ``spec_hash``, ``data_hash``, ``study_name``,
        ``study_simulated`` (0/1), ``conditions`` (JSON list, reference first),
        ``symptom_scale``, ``symptom_min``, ``symptom_max``, ``sampler``,
        ``settings_json``, ``seed``, ``package_versions`` (JSON) and ``created``
        (ISO 8601, UTC).
    """
    versions = package_versions()
    return {
        "bayes_ketamine_artifact": ARTIFACT_FORMAT,
        "provenance_key": provenance_key(spec, study, settings, versions),
        "model_name": spec.name,
        "model_family": spec.family,
        "spec_json": spec.to_json(),
        "spec_hash": spec.content_hash(),
        "data_hash": study.content_hash(),
        "study_name": study.name,
        "study_simulated": int(study.simulated),
        "conditions": json.dumps(list(study.conditions)),
        "symptom_scale": study.symptom_scale,
        "symptom_min": study.symptom_bounds[0],
        "symptom_max": study.symptom_bounds[1],
        "sampler": settings.sampler,
        "settings_json": settings.to_json(),
        "seed": settings.seed,
        "package_versions": json.dumps(versions, sort_keys=True),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
