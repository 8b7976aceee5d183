"""Model comparison per observed variable, by repaired PSIS-LOO or by participant CV.

Inputs are either fitted artifacts or cross-validation results
(:func:`bayes_ketamine.calibration.cross_validate`), not a mixture: the two criteria
answer different questions (another rating of a participant in the data, or a new
participant) and their elpd values are not on one footing.

- **Artifacts**: PSIS-LOO from the artifact's stored ``loo`` group, whose pointwise
  ``elpd_i`` are the *repaired* values (:mod:`bayes_ketamine.inference.loo_repair`:
  points with Pareto k above the threshold moment-matched or refitted exactly). A
  model with points still above the threshold and not repaired (an artifact from
  before repairs, a failed repair, or more points to refit than the refit budget
  allows) cannot be ranked reliably on that variable: it is left out of that
  variable's ranking and the table says why (``unranked``, with the table's
  ``unrepaired_reason``).
- **CV results**: the per-participant elpd of leave-one-participant-out (or grouped
  K-fold) CV; the models must have been cross-validated on the same participants.

Ranks, differences with their paired standard errors and stacking weights come from
:func:`arviz_stats.compare` on the pointwise values. A variable enters the comparison
when at least two of the inputs have it.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import arviz_stats as azs
import numpy as np
import xarray as xr
from arviz_stats.utils import ELPDDataLOO, ELPDDataLOOKFold

from bayes_ketamine.api import deprecated_call_forms
from bayes_ketamine.inference.artifact import atomic_write, load_posterior
from bayes_ketamine.inference.loo_columns import REPAIRED

CV_RESULT_KIND = "bayes_ketamine_cv"
"""Root attribute ``kind`` of a cross-validation result netCDF."""


_NUMERIC = ("rank", "elpd", "se", "p", "elpd_diff", "dse", "p_worse", "weight")
_TEXT = ("diag_elpd", "diag_diff")


def is_cv_result(path: str | Path) -> bool:
    """Whether ``path`` is a cross-validation result (else it should be an artifact)."""
    try:
        with xr.open_dataset(path, engine="netcdf4") as ds:
            return ds.attrs.get("kind") == CV_RESULT_KIND
    except (OSError, ValueError):
        return False


def _model_names(attrs: list[dict], paths: Sequence[str | Path]) -> list[str]:
    """Return unique model names: the input's model name, else its file path."""
    names = [str(a["model_name"]) for a in attrs]
    if len(set(names)) < len(names):
        names = [str(p) for p in paths]
    return names


def _require_one_study(attrs: list[dict], paths: Sequence[str | Path]) -> None:
    """Raise ``ValueError`` unless every input was fitted to the same study data."""
    studies: dict[str, list[str]] = {}
    for attr, path in zip(attrs, paths, strict=True):
        key = f"{attr.get('study_name', '?')!r} (data {str(attr.get('data_hash', '?'))[:8]})"
        studies.setdefault(key, []).append(str(path))
    if len(studies) > 1:
        listed = "; ".join(f"{study}: {', '.join(p)}" for study, p in studies.items())
        raise ValueError(
            f"the artifacts were fitted to {len(studies)} different studies ({listed}); "
            "LOO compares models on the same observations, so compare artifacts of one study"
        )


def unrepaired_points(table: xr.Dataset) -> int:
    """Return the points of a stored LOO table above the k threshold and not repaired."""
    high = table["pareto_k"].values > table.attrs["good_k"]
    if "repair" in table:
        high &= ~np.isin(table["repair"].values.astype(str), REPAIRED)
    return int(high.sum())


def loo_elpd(table: xr.Dataset) -> ELPDDataLOO:
    """Return the (repaired) PSIS-LOO of a stored ``loo`` table as arviz-stats' object.

    The Pareto k of repaired points is set to NaN: their elpd no longer rests on
    importance sampling, so the comparison does not flag them.
    """
    elpd_i = table["elpd_i"]
    k = table["pareto_k"]
    if "repair" in table:
        k = k.where(~np.isin(table["repair"].values.astype(str), REPAIRED))
    n = elpd_i.size
    return ELPDDataLOO(
        elpd=float(elpd_i.sum()),
        se=float(np.sqrt(n * elpd_i.var(ddof=1))),
        p=float(table.attrs["p_loo"]),
        n_samples=int(table.attrs["n_samples"]),
        n_data_points=n,
        scale="log",
        warning=unrepaired_points(table) > 0,
        good_k=float(table.attrs["good_k"]),
        elpd_i=elpd_i,
        pareto_k=k,
    )


def cv_elpd(result: xr.Dataset, var: str) -> ELPDDataLOOKFold:
    """Return the participant CV of observed variable ``var`` as arviz-stats' object."""
    elpd_i = result["elpd"].sel(observed=var, drop=True)
    n = elpd_i.sizes["participant"]
    return ELPDDataLOOKFold(
        elpd=float(elpd_i.sum()),
        se=float(np.sqrt(n * elpd_i.var(ddof=1))),
        p=np.nan,
        n_samples=0,
        n_data_points=n,
        scale="log",
        warning=False,
        good_k=None,  # type: ignore[arg-type]  # no PSIS in CV; arviz-stats allows None
        elpd_i=elpd_i,
        n_folds=int(result.sizes["fold"]),
    )


def _read_inputs(
    paths: Sequence[str | Path], trees: Sequence[xr.DataTree] | None
) -> tuple[str, list[dict], list[dict]]:
    """Return the criterion, each input's attributes and its ELPD objects per variable."""
    if trees is not None:
        if len(trees) != len(paths):
            raise ValueError(f"{len(trees)} trees given for {len(paths)} artifacts")
        kinds = [False] * len(paths)
    else:
        kinds = [is_cv_result(p) for p in paths]
    if any(kinds) and not all(kinds):
        raise ValueError(
            "compare needs all artifacts or all CV results, not a mixture: "
            + ", ".join(
                f"{p} ({'CV' if k else 'artifact'})" for p, k in zip(paths, kinds, strict=True)
            )
        )
    attrs: list[dict[Hashable, Any]] = []
    elpds: list[dict[str, Any]] = []
    if all(kinds):
        results = []
        for path in paths:
            with xr.open_dataset(path, engine="netcdf4") as ds:
                results.append(ds.load())
        first = results[0]["participant"].values.tolist()
        for path, result in zip(paths, results, strict=True):
            if result["participant"].values.tolist() != first:
                raise ValueError(f"{path}: cross-validated on other participants than {paths[0]}")
        criteria = {str(r.attrs["criterion"]) for r in results}
        if len(criteria) > 1:
            raise ValueError(f"CV results of different schemes: {', '.join(sorted(criteria))}")
        for result in results:
            attrs.append(dict(result.attrs))
            elpds.append({str(v): cv_elpd(result, str(v)) for v in result["observed"].values})
        return criteria.pop(), attrs, elpds
    trees = list(trees) if trees is not None else [load_posterior(p) for p in paths]
    for tree in trees:
        attrs.append(dict(tree.attrs))
        elpds.append({name: tree["loo"][name].to_dataset() for name in tree["loo"].children})
    repaired = all("repair" in e for tables in elpds for e in tables.values())
    return ("PSIS-LOO, high-k points repaired" if repaired else "PSIS-LOO"), attrs, elpds


@deprecated_call_forms(positional=("out", "trees"), renamed={"out": "out_path"})
def compare(
    paths: Sequence[str | Path],
    *,
    out_path: str | Path | None = None,
    trees: Sequence[xr.DataTree] | None = None,
) -> xr.Dataset:
    """Compare fitted artifacts, or CV results, on each shared observed variable.

    Parameters
    ----------
    paths : sequence of str or pathlib.Path
        Two or more artifacts, or two or more CV results (``cv.nc``).
    out_path : str or pathlib.Path, optional
        If given, the table is also written there as netCDF (atomically).
    trees : sequence of xarray.DataTree, optional
        The artifacts at ``paths`` already loaded (e.g. ``FitResult.tree``), in the
        same order; they are then not read again.

    Returns
    -------
    xarray.Dataset
        Dims ``model`` and ``observed``; variables ``rank`` (0 = best), ``elpd``,
        ``se``, ``p`` (effective number of parameters; NaN for CV), ``elpd_diff`` and
        ``dse`` (difference to the best model and its SE), ``p_worse``, ``weight``
        (stacking), ``diag_elpd`` and ``diag_diff`` (warnings as text); NaN where a
        model lacks the variable or cannot be ranked on it. Attributes ``paths``
        (newline-separated), ``criterion`` (``"PSIS-LOO, high-k points repaired"``,
        ``"PSIS-LOO"`` for artifacts without repairs, or the CV scheme),
        ``unranked_json`` (``{variable: {model: reason}}``) and
        ``provenance_keys_json`` (``{model: key}``: each artifact's provenance key, or
        for a CV result that of the full-data artifact it accompanies), which tells
        whether a stored table still belongs to the artifacts of a folder.

    Raises
    ------
    ValueError
        With fewer than two inputs, a mixture of artifacts and CV results, inputs
        fitted to different study data (root attribute ``data_hash``), CV results on
        different participants, or no observed variable shared by two of them.
    """
    if len(paths) < 2:
        raise ValueError("compare needs at least two artifacts or CV results")
    criterion, attrs, elpds = _read_inputs(paths, trees)
    _require_one_study(attrs, paths)
    names = _model_names(attrs, paths)
    observed = sorted({v for e in elpds for v in e})
    tables, unranked = {}, {}
    for var in observed:
        having, skipped = {}, {}
        for name, e in zip(names, elpds, strict=True):
            if var not in e:
                continue
            if isinstance(e[var], xr.Dataset):
                bad = unrepaired_points(e[var])
                if bad:
                    why = e[var].attrs.get("unrepaired_reason", "")
                    skipped[name] = (
                        f"{bad} point(s) with Pareto k > {e[var].attrs['good_k']:.2f} "
                        "not repaired: PSIS-LOO is unreliable" + (f" ({why})" if why else "")
                    )
                    continue
                having[name] = loo_elpd(e[var])
            else:
                having[name] = e[var]
        if len(having) + len(skipped) < 2:
            continue
        if skipped:
            unranked[var] = skipped
        tables[var] = azs.compare(having, round_to="none") if len(having) >= 2 else None
    if not tables:
        raise ValueError("no observed variable is shared by two of the inputs")
    shape = (len(names), len(tables))
    data = {col: np.full(shape, np.nan) for col in _NUMERIC}
    data.update({col: np.full(shape, "", dtype=object) for col in _TEXT})
    for j, frame in enumerate(tables.values()):
        for i, name in enumerate(names):
            if frame is not None and name in frame.index:
                for col in (*_NUMERIC, *_TEXT):
                    if col in frame.columns:
                        data[col][i, j] = frame.loc[name, col]
    table = xr.Dataset(
        {
            col: (("model", "observed"), values.astype(str if col in _TEXT else float))
            for col, values in data.items()
        },
        coords={"model": names, "observed": list(tables)},
    )
    table.attrs["paths"] = "\n".join(str(p) for p in paths)
    table.attrs["criterion"] = criterion
    table.attrs["unranked_json"] = json.dumps(unranked)
    table.attrs["provenance_keys_json"] = json.dumps(
        {
            name: str(attr.get("provenance_key", attr.get("full_data_provenance_key", "")))
            for name, attr in zip(names, attrs, strict=True)
        }
    )
    if out_path is not None:
        atomic_write(out_path, lambda tmp: table.to_netcdf(tmp, engine="netcdf4"))
    return table
