"""Model specifications: one TOML file per named model variant in ``models/``.

The named variants ship inside the package, in :data:`SPEC_DIR`, so a name such as
``"joint_partial"`` resolves from any working directory; the repository's top-level
``models/`` folder is a link to the same files, to read and copy from.

A spec names the family, the pooling of the condition effects by a participant factor
(``sex`` by default), optional participant covariates, the likelihood options and any
priors that differ from the family's defaults. Everything else comes from the family's
default priors, which are data (see each family's ``DEFAULT_PRIORS``). Example::

    name = "joint_partial"
    family = "joint"
    description = "Glutamate response mediating next-day MADRS, partial pooling by sex"

    [pooling]
    sex = "partial"               # one key: the factor (a participants column) = pooling

    [covariates]                  # optional; numeric columns of participants.csv
    glutamate = ["age"]           # act on the session's glutamate response
    symptoms = ["age"]            # act on the symptom change after the infusion
    missing = "error"             # or "mean": a missing value becomes the sample mean

    [design]
    carryover = false             # first-order carry-over of the active condition
    reference_change_by_level = false  # the change under the reference condition per
                                       # level of the pooling factor (symptoms, joint)
    baseline_by_level = false     # the mean symptom baseline per level (symptoms, joint)

    [likelihood]
    glx_noise = "normal"          # or "student_t"
    measurement_error = false     # add each block's CRLB to the noise
    [profile]
    tau_min = 10.0                # time constant of the Glx response to the infusion

    [priors]
    glx_response_pct = { mu = 6.0, sigma = 5.0 }

Unknown keys or invalid values raise :class:`SpecError` naming the file and key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bayes_ketamine.api import deprecated_call_forms
from bayes_ketamine.data.toml_file import read_toml
from bayes_ketamine.digests import sha256_hex

FAMILIES = ("glutamate", "symptoms", "joint")
POOLINGS = ("none", "partial", "complete")
GLX_NOISES = ("normal", "student_t")

COVARIATE_MISSING = ("error", "mean")
SYMPTOM_LEVEL_OPTIONS = ("reference_change_by_level", "baseline_by_level")
"""``[design]`` keys that make a symptom term per level of the pooling factor."""
DESIGN_KEYS = ("carryover", *SYMPTOM_LEVEL_OPTIONS)
"""The ``[design]`` keys, each true or false (false by default)."""
RESERVED_DIMS = ("participant", "session", "condition", "post_timepoint", "fmrs_obs", "symptom_obs")
"""Dimension names a pooling factor may not take."""

_TOP_KEYS = {
    "name",
    "family",
    "description",
    "pooling",
    "covariates",
    "design",
    "likelihood",
    "profile",
    "priors",
}
_SECTION_KEYS = {
    "covariates": {"glutamate", "symptoms", "missing"},
    "design": set(DESIGN_KEYS),
    "likelihood": {"glx_noise", "measurement_error"},
    "profile": {"tau_min"},
}


class SpecError(ValueError):
    """A model specification file is invalid; the message names the file and key."""


@dataclass(frozen=True)
class ModelSpec:
    """A validated model specification.

    Parameters
    ----------
    name : str
        Variant name; also the artifact's file stem.
    family : {"glutamate", "symptoms", "joint"}
        Model family.
    pooling : {"none", "partial", "complete"}
        How the condition effects of the levels of ``pooling_factor`` are pooled.
    pooling_factor : str
        The participant factor the condition effects are specific to: ``"sex"`` or
        any categorical column of ``participants.csv`` (e.g. ``"site"``, ``"group"``).
    glx_covariates, symptom_covariates : tuple of str
        Numeric participant columns (standardised) acting on the session's glutamate
        response and on the symptom change after the infusion.
    covariate_missing : {"error", "mean"}
        What a missing covariate value is: an error, or the sample mean (0 after
        standardisation).
    carryover : bool
        Whether the model has a first-order carry-over term of the active condition
        (with more than two conditions, one per active condition) into the next
        period (only where the study's design identifies it).
    reference_change_by_level : bool
        Whether the symptom change from before the infusion under the reference
        condition (``symptom_change_reference``) is one per post timepoint and level
        of the pooling factor rather than one per post timepoint shared by the
        levels (families ``symptoms`` and ``joint``; spec key
        ``design.reference_change_by_level``).
    baseline_by_level : bool
        Whether the symptom baseline mean (``symptom_baseline``) is one per level of
        the pooling factor rather than one for every participant (families
        ``symptoms`` and ``joint``; spec key ``design.baseline_by_level``).
    glx_noise : {"normal", "student_t"}
        Observation noise of log Glx.
    measurement_error : bool
        Whether each block's CRLB (percent) is added in quadrature to the noise.
    tau_min : float
        Time constant (minutes) of the glutamate response profile.
    priors : dict
        Prior overrides, ``{parameter: {hyperparameter: value}}``; merged over the
        family's defaults when the model is built.
    description : str
        Free text.
    source : pathlib.Path or None
        File the spec was read from.
    """

    name: str
    family: str
    pooling: str = "partial"
    pooling_factor: str = "sex"
    glx_covariates: tuple[str, ...] = ()
    symptom_covariates: tuple[str, ...] = ()
    covariate_missing: str = "error"
    carryover: bool = False
    reference_change_by_level: bool = False
    baseline_by_level: bool = False
    glx_noise: str = "normal"
    measurement_error: bool = False
    tau_min: float = 10.0
    priors: dict[str, dict[str, float]] = field(default_factory=dict)
    description: str = ""
    source: Path | None = None

    def __post_init__(self) -> None:
        for key in SYMPTOM_LEVEL_OPTIONS:
            if getattr(self, key) and self.family == "glutamate":
                raise SpecError(
                    f"{_where(self.source)}: key 'design.{key}' makes a term of the "
                    "symptom component per level of the pooling factor (families symptoms "
                    "and joint); family 'glutamate' has no symptom component"
                )

    def to_dict(self) -> dict[str, Any]:
        """Return the spec as a plain dictionary (the TOML structure)."""
        raw: dict[str, Any] = {
            "name": self.name,
            "family": self.family,
            "description": self.description,
            "pooling": {self.pooling_factor: self.pooling},
        }
        if self.glx_covariates or self.symptom_covariates:
            raw["covariates"] = {
                "glutamate": list(self.glx_covariates),
                "symptoms": list(self.symptom_covariates),
                "missing": self.covariate_missing,
            }
        design = {key: True for key in DESIGN_KEYS if getattr(self, key)}
        if design:  # options at their default are left out: the hash stays as before
            raw["design"] = design
        return raw | {
            "likelihood": {
                "glx_noise": self.glx_noise,
                "measurement_error": self.measurement_error,
            },
            "profile": {"tau_min": self.tau_min},
            "priors": {k: dict(v) for k, v in sorted(self.priors.items())},
        }

    def to_json(self) -> str:
        """Return the canonical JSON form stored in artifact attributes."""
        return json.dumps(self.to_dict(), sort_keys=True)

    def content_hash(self) -> str:
        """Return the SHA-256 of the canonical JSON form (file layout ignored)."""
        return sha256_hex(self.to_json())

    def with_pooling(self, pooling: str) -> ModelSpec:
        """Return a copy with another pooling (same factor) and a matching name."""
        _check_choice(pooling, POOLINGS, f"pooling.{self.pooling_factor}", self.source)
        base = self.name.rsplit("_", 1)[0] if self.name.endswith(f"_{self.pooling}") else self.name
        return ModelSpec(**{**self.__dict__, "pooling": pooling, "name": f"{base}_{pooling}"})


def _where(source: Path | None) -> str:
    return str(source) if source is not None else "<spec>"


def _check_choice(value: Any, choices: tuple[str, ...], key: str, source: Path | None) -> None:
    if value not in choices:
        raise SpecError(
            f"{_where(source)}: key '{key}' is {value!r}; expected one of {', '.join(choices)}"
        )


@deprecated_call_forms(positional=("source",))
def spec_from_dict(raw: dict[str, Any], *, source: Path | None = None) -> ModelSpec:
    """Validate a parsed spec and return a :class:`ModelSpec`.

    Parameters
    ----------
    raw : dict
        Parsed TOML content.
    source : pathlib.Path, optional
        File the content came from, named in error messages.

    Returns
    -------
    ModelSpec

    Raises
    ------
    SpecError
        On an unknown key, a missing required key or an invalid value.
    """
    where = _where(source)
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("name", "family"):
        if key not in raw:
            raise SpecError(f"{where}: missing required key '{key}'")
    for section, allowed in _SECTION_KEYS.items():
        content = raw.get(section, {})
        if not isinstance(content, dict):
            raise SpecError(f"{where}: '{section}' must be a table")
        bad = set(content) - allowed
        if bad:
            raise SpecError(
                f"{where}: unknown key(s) {', '.join(f'{section}.{b}' for b in sorted(bad))}"
            )
    name = raw["name"]
    if not isinstance(name, str) or not name.replace("_", "").replace("-", "").isalnum():
        raise SpecError(f"{where}: key 'name' must be letters, digits, '_' or '-', got {name!r}")
    _check_choice(raw["family"], FAMILIES, "family", source)
    factor, pooling = _pooling(raw.get("pooling", {"sex": "partial"}), where)
    _check_choice(pooling, POOLINGS, f"pooling.{factor}", source)
    glx_covariates, symptom_covariates, missing = _covariates(raw.get("covariates", {}), where)
    _check_choice(missing, COVARIATE_MISSING, "covariates.missing", source)
    design = {key: raw.get("design", {}).get(key, False) for key in DESIGN_KEYS}
    for key, value in design.items():
        if not isinstance(value, bool):
            raise SpecError(f"{where}: key 'design.{key}' must be true or false")
    likelihood = raw.get("likelihood", {})
    glx_noise = likelihood.get("glx_noise", "normal")
    _check_choice(glx_noise, GLX_NOISES, "likelihood.glx_noise", source)
    measurement_error = likelihood.get("measurement_error", False)
    if not isinstance(measurement_error, bool):
        raise SpecError(f"{where}: key 'likelihood.measurement_error' must be true or false")
    tau = raw.get("profile", {}).get("tau_min", 10.0)
    if isinstance(tau, bool) or not isinstance(tau, int | float) or not tau > 0:
        raise SpecError(f"{where}: key 'profile.tau_min' must be a positive number, got {tau!r}")
    priors = raw.get("priors", {})
    if not isinstance(priors, dict):
        raise SpecError(f"{where}: 'priors' must be a table")
    checked: dict[str, dict[str, float]] = {}
    for pname, hyper in priors.items():
        if not isinstance(hyper, dict):
            raise SpecError(f"{where}: key 'priors.{pname}' must be a table of hyperparameters")
        for hname, value in hyper.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise SpecError(f"{where}: key 'priors.{pname}.{hname}' must be a number")
        checked[pname] = {h: float(v) for h, v in hyper.items()}
    return ModelSpec(
        name=name,
        family=raw["family"],
        pooling=pooling,
        pooling_factor=factor,
        glx_covariates=glx_covariates,
        symptom_covariates=symptom_covariates,
        covariate_missing=missing,
        **design,
        glx_noise=glx_noise,
        measurement_error=measurement_error,
        tau_min=float(tau),
        priors=checked,
        description=str(raw.get("description", "")),
        source=source,
    )


def _pooling(table: Any, where: str) -> tuple[str, str]:
    """Return ``(factor, pooling)`` from the ``[pooling]`` table (one key)."""
    if not isinstance(table, dict):
        raise SpecError(f"{where}: 'pooling' must be a table")
    if len(table) != 1:
        raise SpecError(
            f"{where}: 'pooling' must have exactly one key, the participant factor "
            f'(e.g. sex = "partial"), got {", ".join(sorted(table)) or "none"}'
        )
    ((factor, pooling),) = table.items()
    if not factor.isidentifier() or factor in RESERVED_DIMS:
        raise SpecError(
            f"{where}: key 'pooling.{factor}': a pooling factor must be a column name "
            f"made of letters, digits and '_', and not one of {', '.join(RESERVED_DIMS)}"
        )
    return factor, pooling


def _covariates(table: dict[str, Any], where: str) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """Return the glutamate and symptom covariates and the missing-value rule."""
    lists = []
    for key in ("glutamate", "symptoms"):
        names = table.get(key, [])
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise SpecError(f"{where}: key 'covariates.{key}' must be a list of column names")
        if len(set(names)) != len(names):
            raise SpecError(f"{where}: key 'covariates.{key}' names a column twice")
        lists.append(tuple(names))
    return lists[0], lists[1], table.get("missing", "error")


def load_spec(path: str | Path) -> ModelSpec:
    """Read and validate a model spec TOML file.

    Parameters
    ----------
    path : str or pathlib.Path
        The ``.toml`` file.

    Returns
    -------
    ModelSpec

    Raises
    ------
    SpecError
        If the file is missing, is not valid TOML, or has an invalid key or value.
    """
    raw = read_toml(path, what="model spec file", error=SpecError)
    return spec_from_dict(raw, source=Path(path))


SPEC_DIR = Path(__file__).resolve().parents[1] / "resources" / "model_specs"
"""The named variants, shipped inside the package (the repository's ``models/`` links here)."""


def named_specs() -> list[str]:
    """Return the names of the variants shipped in :data:`SPEC_DIR`, sorted.

    Examples
    --------
    >>> "joint_partial" in named_specs()
    True
    """
    return sorted(path.stem for path in SPEC_DIR.glob("*.toml"))


def resolve_spec(spec: ModelSpec | str | Path) -> ModelSpec:
    """Return a spec given as an object, a file path or a variant name in :data:`SPEC_DIR`.

    Raises
    ------
    SpecError
        If the file is missing or invalid; for a name that is neither a file nor a
        named variant, the message lists the named variants.

    Examples
    --------
    >>> resolve_spec("joint_partial").pooling
    'partial'
    """
    if isinstance(spec, ModelSpec):
        return spec
    path = Path(spec)
    if path.suffix != ".toml" and not path.exists():
        path = SPEC_DIR / f"{spec}.toml"
        if not path.is_file():
            raise SpecError(
                f"{spec}: neither a spec file nor a named model variant "
                f"(named variants: {', '.join(named_specs())})"
            )
    return load_spec(path)
