"""What a fit means, in plain words: key effects, reasons with remedies, LOO, priors.

:func:`fit_report` reads an artifact (only the groups it needs, with numpy and xarray,
so that ``bayes-ketamine check`` starts fast) and returns a :class:`FitReport`:

- the key effects (the variables the prior-sensitivity check covers): posterior mean,
  89 % and 95 % equal-tailed intervals and the posterior probability of the
  hypothesised direction (:data:`~bayes_ketamine.reporting.numbers.QUANTITIES`; other
  effects get P(> 0));
- every reason behind a ``warn`` or ``fail`` convergence verdict with its remedy;
- LOO observations with a Pareto k above the reliability threshold (group
  ``loo/<var>``) and the prior-sensitivity flags (group ``prior_sensitivity``).

The stored verdict judges convergence only (see
:mod:`bayes_ketamine.inference.diagnostics`); :attr:`FitReport.summary` says so and
names the LOO and prior findings it does not include.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from bayes_ketamine.reporting.artifacts import SAMPLE_DIMS, interval
from bayes_ketamine.reporting.numbers import PROBS, QUANTITIES

REMEDIES: tuple[tuple[str, str], ...] = (
    (
        "R-hat",
        "the chains disagree: run longer, e.g. --draws {draws2} --tune {tune2}, or more chains",
    ),
    ("ess_", "too few effectively independent draws: more --draws (e.g. {draws2})"),
    (
        "divergent",
        "NUTS met geometry it cannot follow (often a funnel): a reparametrisation "
        "(non-centred levels) or a robust spec (models/glutamate_robust.toml for the "
        "glutamate family) removes them; more tuning (--tune {tune2}) can help",
    ),
    (
        "tree depth",
        "an efficiency problem, not a validity one: a reparametrisation usually helps",
    ),
    (
        "E-BFMI",
        "the sampler explores the energy poorly (heavy tails or a funnel): "
        "reparametrise, or use a robust spec",
    ),
)
"""Remedy per reason of the convergence verdict, matched by the text of the reason."""

ROBUST_SPECS: dict[str, str] = {"log_glx": "models/glutamate_robust.toml"}
"""Spec with a heavy-tailed likelihood, per observed variable that has one."""

_DIRECTIONS: dict[str, str] = {
    var: q.direction for q in QUANTITIES for var in (q.var, q.pooled_var) if var is not None
}


@dataclass(frozen=True)
class Effect:
    """Posterior summary of one scalar key effect.

    Parameters
    ----------
    label : str
        ``variable[coordinate, ...]``.
    mean : float
        Posterior mean.
    eti89, eti95 : tuple of float
        Equal-tailed 89 % and 95 % intervals.
    direction : {"<", ">"}
        Hypothesised direction; ``prob`` is P(effect direction 0).
    prob : float
        Posterior probability of the direction.
    """

    label: str
    mean: float
    eti89: tuple[float, float]
    eti95: tuple[float, float]
    direction: str
    prob: float


@dataclass(frozen=True)
class Finding:
    """One reason behind a verdict, or one LOO or prior-sensitivity problem.

    Parameters
    ----------
    level : {"fail", "warn", "note"}
        How serious it is (``note``: not part of the verdict).
    what : str
        What was found.
    remedy : str
        What to do about it.
    """

    level: str
    what: str
    remedy: str


@dataclass(frozen=True)
class FitReport:
    """Everything ``fit`` and ``check`` tell about one artifact.

    Parameters
    ----------
    path : pathlib.Path
        The artifact.
    header : str
        Model, study (SIMULATED DATA flagged), sampler settings, seed, creation time.
    effects : tuple of Effect
        Key effects.
    status : {"pass", "warn", "fail"}
        The stored convergence verdict.
    reasons : tuple of Finding
        Reasons of a ``warn`` or ``fail`` verdict, with remedies.
    loo : tuple of Finding
        LOO Pareto-k problems.
    sensitivity : tuple of Finding
        Prior-sensitivity flags.
    """

    path: Path
    header: str
    effects: tuple[Effect, ...]
    status: str
    reasons: tuple[Finding, ...]
    loo: tuple[Finding, ...]
    sensitivity: tuple[Finding, ...]

    @property
    def summary(self) -> str:
        """The final line: the verdict and what it does not account for."""
        outside = []
        if self.loo:
            outside.append(f"{len(self.loo)} LOO problem{'s' if len(self.loo) > 1 else ''}")
        if self.sensitivity:
            outside.append(f"{len(self.sensitivity)} prior-sensitivity flag(s)")
        if outside:
            tail = f"; not in the verdict: {' and '.join(outside)} (see above)"
        else:
            tail = "; no LOO or prior-sensitivity problem"
        return f"{self.path}: {self.status} (convergence verdict){tail}"


def fit_report(tree: xr.DataTree, path: str | Path) -> FitReport:
    """Return the plain-words report of an artifact.

    Parameters
    ----------
    tree : xarray.DataTree
        The artifact, loaded or opened lazily (only the groups used are read).
    path : str or pathlib.Path
        Where it is stored (shown in the report).

    Returns
    -------
    FitReport
    """
    attrs = tree.attrs
    settings = json.loads(attrs["settings_json"])
    header = (
        f"{attrs['model_name']} on {attrs.get('study_name', '?')}"
        f"{' (SIMULATED DATA)' if int(attrs.get('study_simulated', 0)) else ''}, "
        f"{settings.get('sampler')} {settings.get('chains')} chains x "
        f"{settings.get('draws')} draws ({settings.get('tune')} tuning), "
        f"seed {attrs.get('seed')}, created {attrs.get('created')}"
    )
    diagnostics = tree["diagnostics"].attrs
    return FitReport(
        path=Path(path),
        header=header,
        effects=tuple(key_effects(tree)),
        status=str(diagnostics["verdict"]),
        reasons=tuple(
            verdict_reasons(json.loads(diagnostics.get("verdict_reasons", "[]")), settings)
        ),
        loo=tuple(loo_findings(tree)),
        sensitivity=tuple(sensitivity_findings(tree)),
    )


def _key_variables(tree: xr.DataTree) -> list[str]:
    """Return the key-effect variables: those of the prior-sensitivity table, in order."""
    posterior = tree["posterior"]
    if "prior_sensitivity" in tree.children:
        labels = tree["prior_sensitivity"]["parameter"].values
        names = dict.fromkeys(str(label).split("[", 1)[0] for label in labels)
    else:
        names = dict.fromkeys(_DIRECTIONS)
    return [name for name in names if name in posterior.data_vars]


def key_effects(tree: xr.DataTree) -> list[Effect]:
    """Return the posterior summary of every scalar element of the key effects.

    Parameters
    ----------
    tree : xarray.DataTree
        An artifact.

    Returns
    -------
    list of Effect
    """
    effects = []
    for var in _key_variables(tree):
        da = tree["posterior"][var]
        other = [d for d in da.dims if d not in SAMPLE_DIMS]
        values = da.transpose(*SAMPLE_DIMS, *other).values
        values = values.reshape(-1, *values.shape[2:])
        direction = _DIRECTIONS.get(var, ">")
        for index in np.ndindex(*values.shape[1:]):
            coords = [str(da[d].values[i]) for d, i in zip(other, index, strict=True)]
            label = f"{var}[{', '.join(coords)}]" if coords else var
            draws = values[(slice(None), *index)].astype(float)
            hit = draws < 0 if direction == "<" else draws > 0
            low89, high89 = interval(draws, PROBS["EightyNine"])
            low95, high95 = interval(draws, PROBS["NinetyFive"])
            effects.append(
                Effect(
                    label,
                    float(draws.mean()),
                    (float(low89), float(high89)),
                    (float(low95), float(high95)),
                    direction,
                    float(hit.mean()),
                )
            )
    return effects


def verdict_reasons(reasons: list[str], settings: dict) -> list[Finding]:
    """Return each stored reason of the verdict with its remedy (:data:`REMEDIES`).

    Parameters
    ----------
    reasons : list of str
        The stored reasons, each prefixed ``fail:`` or ``warn:``.
    settings : dict
        The fit's sampler settings (for concrete suggestions).

    Returns
    -------
    list of Finding

    Examples
    --------
    >>> (finding,) = verdict_reasons(["fail: R-hat > 1.05 (max 1.069): mu"],
    ...                              {"draws": 100, "tune": 100})
    >>> finding.remedy
    'the chains disagree: run longer, e.g. --draws 200 --tune 200, or more chains'
    """
    values = {
        "draws2": 2 * int(settings.get("draws", 1000)),
        "tune2": 2 * int(settings.get("tune", 1000)),
    }
    findings = []
    for reason in reasons:
        level, _, what = reason.partition(": ")
        remedy = next((r for key, r in REMEDIES if key in what), "see docs/artifacts.md")
        findings.append(Finding(level, what, remedy.format(**values)))
    return findings


def _observation(ds: xr.Dataset, index: int) -> str:
    """Describe observation ``index`` of a LOO table by its label coordinates."""
    dim = ds["pareto_k"].dims[0]
    parts = [
        f"{name.replace('_id', '')} {ds[name].values[index]}"
        for name in ds.coords
        if name != dim and ds[name].dims == (dim,)
    ]
    return ", ".join(parts) or f"observation {index}"


def loo_findings(tree: xr.DataTree) -> list[Finding]:
    """Return one finding per observed variable whose PSIS-LOO is unreliable.

    An observation whose Pareto k exceeds the stored threshold ``good_k`` has a
    leave-one-out predictive density the importance sampling cannot estimate.

    Parameters
    ----------
    tree : xarray.DataTree
        An artifact with a ``loo`` group (one child per observed variable).

    Returns
    -------
    list of Finding
    """
    if "loo" not in tree.children:
        return []
    findings = []
    for var, node in tree["loo"].children.items():
        ds = node.to_dataset()
        k = ds["pareto_k"].values.astype(float)
        good = float(ds.attrs.get("good_k", 0.7))
        bad = int((k > good).sum())
        if not bad and not int(ds.attrs.get("warning", 0)):
            continue
        worst = int(np.nanargmax(k))
        what = (
            f"LOO on {var}: {bad} of {k.size} observations have Pareto k above {good:.2f} "
            f"(max {k[worst]:.2f}: {_observation(ds, worst)}); their leave-one-out "
            f"predictions, this model's elpd on {var} and `compare` rankings on it are "
            "unreliable"
        )
        remedy = "these observations are influential: check them for data errors; "
        if var in ROBUST_SPECS:
            remedy += f"a heavy-tailed likelihood ({ROBUST_SPECS[var]}) may suit them"
        else:
            remedy += (
                "if they are genuine, treat LOO comparisons on this variable as uncertain "
                "(more draws make the k estimates steadier but keep the observations influential)"
            )
        findings.append(Finding("note", what, remedy))
    return findings


_SENSITIVITY_WORDS: dict[str, tuple[str, str]] = {
    "prior-data conflict": (
        "prior-data conflict for {labels}: the estimate moves both when the prior and "
        "when the likelihood is scaled slightly (sensitivity >= {threshold:g}), so prior "
        "and data pull in different directions",
        "check that the prior (docs/models.md, the spec's [priors]) suits the scale of "
        "these data, or report the estimate as dependent on the prior",
    ),
    "strong prior / weak likelihood": (
        "strong prior, weak data for {labels}: the estimate moves with the prior but "
        "hardly with the data (threshold {threshold:g}), so it largely repeats the prior",
        "report it as prior-driven, or use a wider prior if the prior was not meant to decide",
    ),
}


def sensitivity_findings(tree: xr.DataTree) -> list[Finding]:
    """Return one finding per prior-sensitivity diagnosis other than ``ok``.

    Parameters
    ----------
    tree : xarray.DataTree
        An artifact with a ``prior_sensitivity`` group
        (:func:`bayes_ketamine.inference.sensitivity.prior_sensitivity`).

    Returns
    -------
    list of Finding
    """
    if "prior_sensitivity" not in tree.children:
        return []
    ds = tree["prior_sensitivity"].to_dataset()
    threshold = float(ds.attrs.get("threshold", 0.05))
    labels = [str(v) for v in ds["parameter"].values]
    diagnoses = [str(v) for v in ds["diagnosis"].values]
    findings = []
    for diagnosis, (what, remedy) in _SENSITIVITY_WORDS.items():
        flagged = [label for label, d in zip(labels, diagnoses, strict=True) if d == diagnosis]
        if flagged:
            text = what.format(labels=", ".join(flagged), threshold=threshold)
            findings.append(Finding("note", text, remedy))
    return findings
