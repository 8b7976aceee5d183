"""LOO comparison of fitted artifacts, per observed variable.

Models are compared by PSIS-LOO (:func:`arviz_stats.compare`, stacking weights) on each
observed variable separately: a joint model and a glutamate-only model are compared on
``log_glx``, a joint and a symptom-only model on ``score``. A variable enters the
comparison when at least two of the artifacts have it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import arviz_stats as azs
import numpy as np
import xarray as xr

from bayes_ketamine.inference.artifact import atomic_write, load_posterior

_NUMERIC = ("rank", "elpd", "se", "p", "elpd_diff", "dse", "p_worse", "weight")
_TEXT = ("diag_elpd", "diag_diff")


def _model_names(trees: list[xr.DataTree], paths: Sequence[str | Path]) -> list[str]:
    """Return unique model names: the artifact's model name, else its file path."""
    names = [str(t.attrs["model_name"]) for t in trees]
    if len(set(names)) < len(names):
        names = [str(p) for p in paths]
    return names


def _require_one_study(trees: list[xr.DataTree], paths: Sequence[str | Path]) -> None:
    """Raise ``ValueError`` unless every artifact was fitted to the same study data."""
    studies: dict[str, list[str]] = {}
    for tree, path in zip(trees, paths, strict=True):
        key = f"{tree.attrs.get('study_name', '?')!r} (data {str(tree.attrs['data_hash'])[:8]})"
        studies.setdefault(key, []).append(str(path))
    if len(studies) > 1:
        listed = "; ".join(f"{study}: {', '.join(p)}" for study, p in studies.items())
        raise ValueError(
            f"the artifacts were fitted to {len(studies)} different studies ({listed}); "
            "LOO compares models on the same observations, so compare artifacts of one study"
        )


def compare(
    paths: Sequence[str | Path],
    out: str | Path | None = None,
    trees: Sequence[xr.DataTree] | None = None,
) -> xr.Dataset:
    """Compare fitted artifacts by PSIS-LOO on each shared observed variable.

    Parameters
    ----------
    paths : sequence of str or pathlib.Path
        Two or more artifacts.
    out : str or pathlib.Path, optional
        If given, the table is also written there as netCDF (atomically).
    trees : sequence of xarray.DataTree, optional
        The artifacts at ``paths`` already loaded (e.g. ``FitResult.tree``), in the
        same order; they are then not read again.

    Returns
    -------
    xarray.Dataset
        Dims ``model`` and ``observed``; variables ``rank`` (0 = best), ``elpd``,
        ``se``, ``p`` (effective number of parameters), ``elpd_diff`` and ``dse``
        (difference to the best model and its SE), ``p_worse``, ``weight``
        (stacking), ``diag_elpd`` and ``diag_diff`` (warnings as text); NaN where a
        model lacks the variable. Attribute ``paths`` (newline-separated).

    Raises
    ------
    ValueError
        With fewer than two artifacts, artifacts fitted to different study data (root
        attribute ``data_hash``: LOO compares models on the same observations), or no
        observed variable shared by two of them.
    """
    if len(paths) < 2:
        raise ValueError("compare needs at least two artifacts")
    if trees is None:
        trees = [load_posterior(p) for p in paths]
    elif len(trees) != len(paths):
        raise ValueError(f"{len(trees)} trees given for {len(paths)} artifacts")
    trees = list(trees)
    _require_one_study(trees, paths)
    names = _model_names(trees, paths)
    observed = sorted({v for t in trees for v in t["log_likelihood"].data_vars})
    tables = {}
    for var in observed:
        having = {n: t for n, t in zip(names, trees, strict=True) if var in t["log_likelihood"]}
        if len(having) >= 2:
            tables[var] = azs.compare(having, var_name=var, round_to="none")
    if not tables:
        raise ValueError("no observed variable is shared by two of the artifacts")
    shape = (len(names), len(tables))
    data = {col: np.full(shape, np.nan) for col in _NUMERIC}
    data.update({col: np.full(shape, "", dtype=object) for col in _TEXT})
    for j, frame in enumerate(tables.values()):
        for i, name in enumerate(names):
            if name in frame.index:
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
    if out is not None:
        atomic_write(out, lambda tmp: table.to_netcdf(tmp, engine="netcdf4"))
    return table
