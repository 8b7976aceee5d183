"""What a fit means, in plain words: key effects, reasons with remedies, LOO, priors.

:func:`fit_report` reads an artifact through a
:class:`~bayes_ketamine.inference.stored.StoredGroup` (only the groups it needs, with
netCDF4 and numpy, so that ``bayes-ketamine check`` starts fast) and returns a
:class:`FitReport`:

- the key effects (the variables the prior-sensitivity check covers): posterior mean,
  89 % and 95 % equal-tailed intervals and the posterior probability of the
  hypothesised direction (:data:`~bayes_ketamine.reporting.quantities.QUANTITIES`; other
  effects get P(> 0));
- every reason behind a ``warn`` or ``fail`` convergence verdict with its remedy;
- the worst R-hat and ESS over all parameters and the sampler checks, in one line each;
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

from bayes_ketamine.inference.arrays import SAMPLE_DIMS
from bayes_ketamine.inference.loo_columns import CV_ADVICE, ESTIMATES, REPAIRED
from bayes_ketamine.inference.stored import StoredGroup
from bayes_ketamine.reporting.quantities import PROBS, hypotheses

HYPOTHESES: dict[str, str] = hypotheses()

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
    r_hat, ess_bulk : float
        Its stored convergence diagnostics (NaN if not stored).
    """

    label: str
    mean: float
    eti89: tuple[float, float]
    eti95: tuple[float, float]
    direction: str
    prob: float
    r_hat: float = float("nan")
    ess_bulk: float = float("nan")


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
    convergence : str
        The worst R-hat and ESS over all parameters.
    sampler : str
        Divergences, tree-depth saturation and E-BFMI over all chains.
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
    convergence: str
    sampler: str
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
            tail = f"; not in the verdict: {' and '.join(outside)}"
        else:
            tail = "; no LOO or prior-sensitivity problem"
        return f"{self.path}: {self.status} (convergence verdict){tail}"


def fit_report(root: StoredGroup, path: str | Path) -> FitReport:
    """Return the plain-words report of an artifact.

    Parameters
    ----------
    root : StoredGroup
        The artifact's root group
        (:func:`~bayes_ketamine.inference.stored.open_stored` or
        :func:`~bayes_ketamine.inference.stored.stored_tree`); only the groups used
        are read.
    path : str or pathlib.Path
        Where it is stored (shown in the report).

    Returns
    -------
    FitReport
    """
    attrs = root.attrs
    settings = json.loads(attrs["settings_json"])
    header = (
        f"{attrs['model_name']} on {attrs.get('study_name', '?')}"
        f"{' (SIMULATED DATA)' if int(attrs.get('study_simulated', 0)) else ''}, "
        f"{settings.get('sampler')} {settings.get('chains')} chains x "
        f"{settings.get('draws')} draws ({settings.get('tune')} tuning), "
        f"seed {attrs.get('seed')}, created {attrs.get('created')}"
    )
    diagnostics = root.children["diagnostics"]
    reasons = json.loads(diagnostics.attrs.get("verdict_reasons", "[]"))
    return FitReport(
        path=Path(path),
        header=header,
        effects=tuple(key_effects(root)),
        convergence=convergence_line(diagnostics),
        sampler=sampler_line(root.children["sampler_checks"]),
        status=str(diagnostics.attrs["verdict"]),
        reasons=tuple(verdict_reasons(reasons, settings)),
        loo=tuple(loo_findings(root)),
        sensitivity=tuple(sensitivity_findings(root)),
    )


def _key_variables(root: StoredGroup) -> list[str]:
    """Return the key-effect variables: those of the prior-sensitivity table, in order."""
    posterior = root.children["posterior"]
    if "prior_sensitivity" in root.children:
        labels = root.children["prior_sensitivity"].values("parameter")
        names = dict.fromkeys(str(label).split("[", 1)[0] for label in labels)
    else:
        names = dict.fromkeys(HYPOTHESES)
    return [name for name in names if name in posterior]


def key_effects(root: StoredGroup) -> list[Effect]:
    """Return the posterior summary of every scalar element of the key effects.

    Parameters
    ----------
    root : StoredGroup
        An artifact's root group.

    Returns
    -------
    list of Effect
    """
    posterior = root.children["posterior"]
    stored = _diagnostics_by_label(root)
    labels = _labels_by_variable(root)
    effects = []
    for var in _key_variables(root):
        if posterior.dims[var][:2] != SAMPLE_DIMS:
            continue
        values = posterior.values(var)
        values = values.reshape(-1, *values.shape[2:]).astype(float)
        direction = HYPOTHESES.get(var, ">")
        cells = np.ndindex(*values.shape[1:])
        for label, index in zip(labels[var], cells, strict=True):
            draws = values[(slice(None), *index)]
            hit = draws < 0 if direction == "<" else draws > 0
            (low89, high89), (low95, high95) = (
                tuple(float(q) for q in np.quantile(draws, [(1 - p) / 2, (1 + p) / 2]))
                for p in PROBS.values()
            )
            effects.append(
                Effect(
                    label,
                    float(draws.mean()),
                    (low89, high89),
                    (low95, high95),
                    direction,
                    float(hit.mean()),
                    *stored[label],
                )
            )
    return effects


def _labels_by_variable(root: StoredGroup) -> dict[str, list[str]]:
    """Return the parameter labels of each posterior variable, in C order of its cells.

    They are the labels of the stored diagnostics table (the arviz-base labeller's,
    e.g. ``x[F, 24h]``), so this report names parameters as ArviZ does.
    """
    group = root.children["diagnostics"]
    labels: dict[str, list[str]] = {}
    for label, var in zip(group.values("parameter"), group.values("variable"), strict=True):
        labels.setdefault(str(var), []).append(str(label))
    return labels


def _diagnostics_by_label(root: StoredGroup) -> dict[str, tuple[float, float]]:
    """Return the stored (R-hat, bulk ESS) of each parameter label."""
    group = root.children["diagnostics"]
    labels = [str(label) for label in group.values("parameter")]
    pairs = zip(group.values("r_hat"), group.values("ess_bulk"), strict=True)
    return {label: (float(r), float(e)) for label, (r, e) in zip(labels, pairs, strict=True)}


def convergence_line(diagnostics: StoredGroup) -> str:
    """Return the worst R-hat, bulk ESS and tail ESS over all parameters, in words."""
    labels = diagnostics.values("parameter")
    parts = []
    for column, worst, fmt, word in (
        ("r_hat", np.nanargmax, ".3f", "highest R-hat"),
        ("ess_bulk", np.nanargmin, ".0f", "lowest bulk ESS"),
        ("ess_tail", np.nanargmin, ".0f", "lowest tail ESS"),
    ):
        values = diagnostics.values(column).astype(float)
        if np.isfinite(values).any():
            i = int(worst(values))
            parts.append(f"{word} {values[i]:{fmt}} ({labels[i]})")
    return f"over all {len(labels)} parameters: " + ", ".join(parts)


def sampler_line(sampler: StoredGroup) -> str:
    """Return divergences, tree-depth saturation and E-BFMI over all chains, in words."""
    draws = sampler.values("draws")
    return (
        f"sampler: {int(sampler.values('divergences').sum())} divergent transitions and "
        f"{int(sampler.values('treedepth_saturated').sum())} draws at the maximum tree depth "
        f"{sampler.attrs.get('max_treedepth', '?')} in {int(draws.sum())} draws of "
        f"{draws.size} chains; lowest E-BFMI {float(sampler.values('ebfmi').min()):.2f}"
    )


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


def _observation(loo: StoredGroup, index: int) -> str:
    """Describe observation ``index`` of a LOO table by its label variables."""
    (dim,) = loo.dims["pareto_k"]
    parts = [
        f"{name.replace('_id', '')} {loo.values(name)[index]}"
        for name, dims in loo.dims.items()
        if dims == (dim,) and name != dim and name not in ESTIMATES
    ]
    return ", ".join(parts) or f"observation {index}"


def loo_findings(root: StoredGroup) -> list[Finding]:
    """Return one finding per observed variable whose PSIS-LOO is unreliable.

    An observation whose Pareto k exceeds the stored threshold ``good_k`` has a
    leave-one-out predictive density the importance sampling cannot estimate.

    Parameters
    ----------
    root : StoredGroup
        An artifact's root group, with a ``loo`` group (one child per observed
        variable).

    Returns
    -------
    list of Finding
    """
    if "loo" not in root.children:
        return []
    findings = []
    for var, loo in root.children["loo"].children.items():
        k = loo.values("pareto_k").astype(float)
        good = float(loo.attrs.get("good_k", 0.7))
        high = k > good
        if "repair" in loo.dims:  # repaired points no longer rest on importance sampling
            high &= ~np.isin(loo.values("repair").astype(str), REPAIRED)
        bad = int(high.sum())
        if not bad:
            continue
        worst = int(np.nanargmax(np.where(high, k, np.nan)))
        what = (
            f"LOO on {var}: {bad} of {k.size} observations have Pareto k above {good:.2f} "
            f"and could not be repaired (max {k[worst]:.2f}: {_observation(loo, worst)}); "
            f"their leave-one-out predictions, this model's elpd on {var} and `compare` "
            "rankings on it are unreliable"
        )
        reason = str(loo.attrs.get("unrepaired_reason", ""))
        remedy = "these observations are influential: check them for data errors; "
        if CV_ADVICE in reason:  # too many to repair one by one: the reason says what to do
            remedy = reason
        elif var in ROBUST_SPECS:
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


def sensitivity_findings(root: StoredGroup) -> list[Finding]:
    """Return one finding per prior-sensitivity diagnosis other than ``ok``.

    Parameters
    ----------
    root : StoredGroup
        An artifact's root group, with a ``prior_sensitivity`` group
        (:func:`bayes_ketamine.inference.sensitivity.prior_sensitivity`).

    Returns
    -------
    list of Finding
    """
    if "prior_sensitivity" not in root.children:
        return []
    group = root.children["prior_sensitivity"]
    threshold = float(group.attrs.get("threshold", 0.05))
    labels = [str(v) for v in group.values("parameter")]
    diagnoses = [str(v) for v in group.values("diagnosis")]
    findings = []
    for diagnosis, (what, remedy) in _SENSITIVITY_WORDS.items():
        flagged = [label for label, d in zip(labels, diagnoses, strict=True) if d == diagnosis]
        if flagged:
            text = what.format(labels=", ".join(flagged), threshold=threshold)
            findings.append(Finding("note", text, remedy))
    return findings
