"""Whether repaired PSIS-LOO and leave-one-participant-out CV prefer the same pooling.

The main job compares the pooling variants (none, partial, complete) of each family
in :data:`FAMILIES` by two criteria (:func:`bayes_ketamine.inference.compare`):
repaired PSIS-LOO from the artifacts, which scores another rating of a participant
already in the data, and cross-validation by participant, which scores a new
participant. Their tables are stored in the artifact folder as
:func:`comparison_path` gives them. :func:`criteria_agreement` states, per observed
variable, whether the two criteria prefer the same pooling and, where not, why;
:func:`pooling_criteria` does so for every family whose two tables were made from the
artifacts now in a folder (for the numbers and figure 6).

A criterion *separates* its first choice when the runner-up's elpd is lower by at
least :data:`SEPARATION_SE` standard errors of the difference; otherwise the data do
not tell the two apart by that criterion.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from bayes_ketamine.reporting.artifacts import COMPARISONS_DIR, Posteriors

FAMILIES: tuple[str, ...] = ("glutamate", "symptoms")
"""Families whose pooling variants are compared."""

AGREEMENT_FILE: str = "criteria_agreement.json"
"""File (in :data:`COMPARISONS_DIR`) of :func:`criteria_agreement` per family."""

SEPARATION_SE: float = 2.0
"""Standard errors of the elpd difference by which a criterion separates two models."""

CRITERIA: dict[str, str] = {
    "loo": "repaired PSIS-LOO",
    "cv": "leave-one-participant-out CV",
}
"""The two criteria, by key, with their names in sentences and figures."""


def comparison_path(folder: str | Path, family: str, *, cv: bool) -> Path:
    """Return where the pooling comparison of ``family`` by one criterion is stored.

    Parameters
    ----------
    folder : str or pathlib.Path
        The artifact folder (e.g. ``posteriors``).
    family : str
        Model family, e.g. ``"symptoms"``.
    cv : bool
        The CV table (else the PSIS-LOO table).

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> comparison_path("posteriors", "symptoms", cv=True).as_posix()
    'posteriors/comparisons/symptoms_poolings_cv.nc'
    """
    return Path(folder) / COMPARISONS_DIR / f"{family}_poolings{'_cv' if cv else ''}.nc"


def _ranking(table: xr.Dataset, var: str) -> dict:
    """Return one criterion's order, elpd, differences to the best and their SEs."""
    sub = table.sel(observed=var)
    ranked = sub.where(np.isfinite(sub["rank"]), drop=True).sortby("rank")
    models = [str(m) for m in ranked["model"].values]
    elpd_diff = {m: float(ranked["elpd_diff"].sel(model=m)) for m in models}
    dses = {m: float(ranked["dse"].sel(model=m)) for m in models}
    summary: dict[str, Any] = {
        "order": models,
        "elpd": {m: float(ranked["elpd"].sel(model=m)) for m in models},
        "elpd_diff": elpd_diff,
        "dse": dses,
    }
    if len(models) > 1:
        runner = models[1]
        gap, dse = abs(elpd_diff[runner]), dses[runner]
        summary["separated"] = bool(gap >= SEPARATION_SE * dse)
        summary["runner_up_gap"] = f"{gap:.1f} ± {dse:.1f}"
    else:
        summary["separated"] = False
    return summary


def criteria_agreement(loo: xr.Dataset, cv: xr.Dataset) -> dict[str, dict]:
    """State, per observed variable, whether repaired PSIS-LOO and CV prefer one model.

    Parameters
    ----------
    loo, cv : xarray.Dataset
        Tables of :func:`bayes_ketamine.inference.compare` of the same models by
        PSIS-LOO and by cross-validation by participant.

    Returns
    -------
    dict
        Per observed variable: ``agree`` (the same model ranks first; ``None``
        when a criterion can rank no model), ``loo_best`` and ``cv_best``, per
        criterion (``loo``, ``cv``) the order, elpd, elpd differences to the best
        with their SEs and ``separated`` (the first choice is at least
        :data:`SEPARATION_SE` SEs better than the runner-up), and ``why``: a sentence
        on the agreement or the reason for the disagreement. Two criteria "disagree"
        only in their first choice; when that choice is within two standard errors of
        the runner-up under either criterion, the disagreement is called not decisive.

    Examples
    --------
    >>> import xarray as xr
    >>> def table(elpd, dse):
    ...     best = max(elpd.values())
    ...     order = sorted(elpd, key=lambda m: -elpd[m])
    ...     cols = {
    ...         "rank": [order.index(m) for m in elpd],
    ...         "elpd": list(elpd.values()),
    ...         "elpd_diff": [v - best for v in elpd.values()],
    ...         "dse": [0.0 if v == best else dse for v in elpd.values()],
    ...     }
    ...     return xr.Dataset(
    ...         {k: (("model", "observed"), [[float(v)] for v in c]) for k, c in cols.items()},
    ...         coords={"model": list(elpd), "observed": ["score"]},
    ...     )
    >>> entry = criteria_agreement(
    ...     table({"none": -300.0, "complete": -296.0}, 3.0),
    ...     table({"none": -80.0, "complete": -70.0}, 2.0),
    ... )["score"]
    >>> entry["agree"], entry["loo"]["separated"], entry["cv"]["separated"]
    (True, False, True)
    """
    out = {}
    for var in sorted(set(loo["observed"].values) & set(cv["observed"].values)):
        summary = {label: _ranking(table, var) for label, table in (("loo", loo), ("cv", cv))}
        if not summary["loo"]["order"] or not summary["cv"]["order"]:
            reasons = json.loads(loo.attrs.get("unranked_json", "{}")).get(var, {})
            out[var] = {
                "agree": None,
                "loo_best": (summary["loo"]["order"] or ["-"])[0],
                "cv_best": (summary["cv"]["order"] or ["-"])[0],
                "why": "PSIS-LOO cannot rank the models: "
                + "; ".join(f"{m}: {r}" for m, r in reasons.items()),
                **summary,
            }
            continue
        loo_best, cv_best = summary["loo"]["order"][0], summary["cv"]["order"][0]
        agree = loo_best == cv_best
        close = [
            f"{name} ({summary[label]['runner_up_gap']})"
            for label, name in (("loo", "PSIS-LOO"), ("cv", "CV"))
            if "runner_up_gap" in summary[label] and not summary[label]["separated"]
        ]
        if agree and not close:
            why = (
                f"both prefer {loo_best}: it predicts both new ratings of the participants "
                "in the data and new participants best"
            )
        elif agree:
            why = (
                f"both prefer {loo_best}, but the data hardly separate it from the "
                f"runner-up: within 2 SE under {' and '.join(close)}"
            )
        elif close:
            why = (
                f"PSIS-LOO prefers {loo_best}, CV {cv_best}, but not decisively: the first "
                f"choice is within 2 SE of the runner-up under {' and '.join(close)}"
            )
        else:
            why = (
                f"PSIS-LOO prefers {loo_best}, CV {cv_best}: LOO scores new ratings of "
                "participants already in the data, where participant-level terms fitted "
                "to them help; CV scores new participants, whose levels come from the "
                "population distribution, which rewards the pooling that generalises"
            )
        out[var] = {"agree": agree, "loo_best": loo_best, "cv_best": cv_best, "why": why, **summary}
    return out


def short_verdict(entry: dict) -> str:
    """Return a few words on one variable's agreement (figure 6's row labels).

    Parameters
    ----------
    entry : dict
        One observed variable of :func:`criteria_agreement`.

    Returns
    -------
    str
        E.g. ``"agree: both prefer symptoms_none"``, ``"agree on symptoms_none, within
        2 SE"``, ``"disagree: PSIS-LOO prefers symptoms_none, CV symptoms_partial"``
        (``"disagree, within 2 SE: ..."`` when a criterion does not separate its first
        choice from the runner-up) or ``"PSIS-LOO cannot rank"``.
    """
    if entry["agree"] is None:
        return "PSIS-LOO cannot rank" if not entry["loo"]["order"] else "CV cannot rank"
    separated = entry["loo"]["separated"] and entry["cv"]["separated"]
    if entry["agree"]:
        best = entry["loo_best"]
        return f"agree: both prefer {best}" if separated else f"agree on {best}, within 2 SE"
    which = f"PSIS-LOO prefers {entry['loo_best']}, CV {entry['cv_best']}"
    return f"disagree: {which}" if separated else f"disagree, within 2 SE: {which}"


def _is_current(table: xr.Dataset, posteriors: Posteriors) -> bool:
    """Whether a comparison table was made from the artifacts now in the folder.

    The table records each input's provenance key (``provenance_keys_json``); a CV
    result records that of the full-data artifact it accompanies.
    """
    keys = json.loads(table.attrs.get("provenance_keys_json", "null") or "null")
    if not keys:
        return False
    for model, key in keys.items():
        tree = posteriors.get(model)
        if tree is None or str(tree.attrs.get("provenance_key")) != key:
            return False
    return True


def pooling_criteria(posteriors: Posteriors) -> dict[str, dict[str, dict]]:
    """Return :func:`criteria_agreement` of every family with both stored tables.

    Parameters
    ----------
    posteriors : Posteriors
        The artifacts; their comparison tables are :meth:`Posteriors.comparison`
        ``<family>_poolings`` and ``<family>_poolings_cv``.

    Returns
    -------
    dict
        ``{family: {observed variable: agreement}}``; a family is left out when one of
        its tables is absent, and left out with a warning when a table was made from
        other artifacts than those in the folder (rerun ``run`` or ``compare``).
    """
    out = {}
    for family in FAMILIES:
        found = {
            label: posteriors.comparison(comparison_path(posteriors.folder, family, cv=cv).stem)
            for label, cv in (("loo", False), ("cv", True))
        }
        tables = {label: t for label, t in found.items() if t is not None}
        if len(tables) < len(found):
            continue
        stale = [label for label, t in tables.items() if not _is_current(t, posteriors)]
        if stale:
            warnings.warn(
                f"{family}: the {' and '.join(CRITERIA[s] for s in stale)} comparison in "
                f"{posteriors.folder / COMPARISONS_DIR} was made from other artifacts than "
                f"those in {posteriors.folder}; left out (run `bayes-ketamine run` again)",
                stacklevel=2,
            )
            continue
        out[family] = criteria_agreement(tables["loo"], tables["cv"])
    return out
