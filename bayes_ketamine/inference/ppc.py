"""Posterior predictive checks: test statistics, LOO and LOO-PIT per observed variable.

Test statistics are computed per cell of the design, the cells being the combinations
of the observation labels ``condition`` and ``timepoint`` or ``block`` (whichever the
variable has; see :meth:`CrossoverModel.observation_labels`):

``mean``, ``sd``, ``min``, ``max``
    Of the observations in the cell.
``pct_change``
    Only for variables labelled by ``participant_id``, ``session`` and ``block``
    (``log_glx``): the mean over the cell's observations of
    ``100 * (exp(y - y_baseline) - 1)``, the percent change from the same
    participant-session's first block. Observations whose baseline block is missing
    are left out.

For every statistic ``T`` the table holds the observed value, the posterior predictive
mean, SD and 89 % equal-tailed interval of ``T(y_rep)``, and the posterior predictive
p-value ``P(T(y_rep) >= T(y))``. Missing observations (NaN) are left out of both.
"""

from __future__ import annotations

from collections.abc import Iterable

import arviz_stats as azs
import numpy as np
import pandas as pd
import xarray as xr

CELL_LABELS: tuple[str, ...] = ("condition", "timepoint", "block")
"""Observation labels that define the cells of the test statistics, when present."""

INTERVAL_PROB: float = 0.89
"""Probability of the equal-tailed posterior predictive interval."""

_MOMENTS = {
    "mean": lambda y: np.nanmean(y, axis=-1),
    "sd": lambda y: np.nanstd(y, axis=-1, ddof=1),
    "min": lambda y: np.nanmin(y, axis=-1),
    "max": lambda y: np.nanmax(y, axis=-1),
}


def _coord_values(column: pd.Series) -> np.ndarray:
    """Return a label column as a netCDF-friendly numpy array."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return column.to_numpy(dtype=float if column.isna().any() else None)
    return column.astype(str).to_numpy(dtype=str)


def _baseline_index(labels: pd.DataFrame) -> np.ndarray:
    """Return, per observation, the row of its participant-session's first block (-1 if none)."""
    frame = labels[["participant_id", "session", "block"]].reset_index(drop=True)
    first = frame.groupby(["participant_id", "session"])["block"].transform("min")
    rows = frame.reset_index().set_index(["participant_id", "session", "block"])["index"]
    keys = pd.MultiIndex.from_arrays([frame["participant_id"], frame["session"], first])
    return rows.reindex(keys).fillna(-1).to_numpy(dtype=int)


def _cell_statistics(
    y: np.ndarray, labels: pd.DataFrame, cells: pd.Series, keys: list
) -> dict[str, np.ndarray]:
    """Return ``{statistic: values (..., cell)}`` for ``y`` of shape ``(..., n_obs)``."""
    out: dict[str, list[np.ndarray]] = {name: [] for name in _MOMENTS}
    with_pct = {"participant_id", "session", "block"} <= set(labels.columns)
    if with_pct:
        base = _baseline_index(labels)
        y_base = np.where(base >= 0, y[..., np.clip(base, 0, None)], np.nan)
        pct = 100.0 * np.expm1(y - y_base)
        out["pct_change"] = []
    for key in keys:
        idx = np.flatnonzero((cells == key).to_numpy())
        for name, func in _MOMENTS.items():
            out[name].append(func(y[..., idx]))
        if with_pct:
            out["pct_change"].append(np.nanmean(pct[..., idx], axis=-1))
    return {name: np.stack(values, axis=-1) for name, values in out.items()}


def statistics_table(
    observed: xr.DataArray, predictive: xr.DataArray, labels: pd.DataFrame
) -> xr.Dataset:
    """Return the test-statistic table of one observed variable.

    Parameters
    ----------
    observed : xarray.DataArray
        Observed values, one observation dimension.
    predictive : xarray.DataArray
        Posterior predictive draws, dims ``(chain, draw, <observation dim>)``.
    labels : pandas.DataFrame
        One row per observation (``observation_labels()[name]``).

    Returns
    -------
    xarray.Dataset
        Dims ``cell`` and ``statistic``; coordinates along ``cell`` name its labels.
        Variables ``observed``, ``pp_mean``, ``pp_sd``, ``pp_lower``, ``pp_upper`` and
        ``ppp`` (dims ``cell, statistic``) and ``n_obs`` (``cell``).
    """
    obs_dim = observed.dims[0]
    y_obs = observed.to_numpy().astype(float)
    if len(labels) != y_obs.size:
        raise ValueError(
            f"{observed.name}: {len(labels)} observation labels for {y_obs.size} observations"
        )
    y_rep = predictive.stack(sample=("chain", "draw")).transpose("sample", obs_dim).to_numpy()
    y_rep = np.where(np.isnan(y_obs), np.nan, y_rep.astype(float))
    labels = labels.reset_index(drop=True)
    by = [c for c in CELL_LABELS if c in labels.columns]
    cells = labels[by].astype(str).agg("|".join, axis=1) if by else pd.Series("all", labels.index)
    first_rows = labels.assign(_cell=cells).drop_duplicates("_cell")
    keys = first_rows["_cell"].tolist()
    t_obs = _cell_statistics(y_obs, labels, cells, keys)
    t_rep = _cell_statistics(y_rep, labels, cells, keys)
    names = list(t_obs)
    obs = np.stack([t_obs[n] for n in names], axis=-1)
    rep = np.stack([t_rep[n] for n in names], axis=-1)
    n_obs = [int(np.sum(~np.isnan(y_obs[(cells == k).to_numpy()]))) for k in keys]
    tail = (1 - INTERVAL_PROB) / 2
    dims = ("cell", "statistic")
    table = xr.Dataset(
        {
            "observed": (dims, obs),
            "pp_mean": (dims, np.nanmean(rep, axis=0)),
            "pp_sd": (dims, np.nanstd(rep, axis=0, ddof=1)),
            "pp_lower": (dims, np.nanquantile(rep, tail, axis=0)),
            "pp_upper": (dims, np.nanquantile(rep, 1 - tail, axis=0)),
            "ppp": (dims, np.mean(rep >= obs, axis=0)),
            "n_obs": ("cell", n_obs),
        },
        coords={
            "cell": keys,
            "statistic": names,
            **{c: ("cell", _coord_values(first_rows[c])) for c in by},
        },
    )
    table.attrs.update(interval_prob=INTERVAL_PROB, ppp="P(T(y_rep) >= T(y))")
    return table


def ppc_statistics(data: xr.DataTree, labels: dict[str, pd.DataFrame]) -> dict[str, xr.Dataset]:
    """Return the test-statistic tables of every observed variable.

    Parameters
    ----------
    data : xarray.DataTree
        Fit with ``observed_data`` and ``posterior_predictive`` groups.
    labels : dict of str to pandas.DataFrame
        The model's ``observation_labels()``.

    Returns
    -------
    dict of str to xarray.Dataset
        One :func:`statistics_table` table per observed variable.
    """
    return {
        name: statistics_table(
            data["observed_data"].dataset[name], data["posterior_predictive"].dataset[name], frame
        )
        for name, frame in labels.items()
    }


def loo_table(
    data: xr.DataTree,
    var_name: str,
    labels: pd.DataFrame | None = None,
    result: azs.ELPDData | None = None,
) -> xr.Dataset:
    """Return PSIS-LOO of one observed variable with its pointwise values.

    Parameters
    ----------
    data : xarray.DataTree
        Fit with a ``log_likelihood`` group.
    var_name : str
        Observed variable.
    labels : pandas.DataFrame, optional
        Observation labels, attached as coordinates of the observation dimension.
    result : arviz_stats.ELPDData, optional
        ``arviz_stats.loo(data, pointwise=True, var_name=var_name)`` if already
        computed.

    Returns
    -------
    xarray.Dataset
        Variables ``elpd_i`` and ``pareto_k`` over the observation dimension;
        attributes ``elpd``, ``se``, ``p_loo``, ``n_samples``, ``n_data_points``,
        ``good_k`` (the Pareto-k threshold) and ``warning`` (0/1).
    """
    if result is None:
        result = azs.loo(data, pointwise=True, var_name=var_name)
    table = xr.Dataset({"elpd_i": result.elpd_i, "pareto_k": result.pareto_k})
    if labels is not None:
        obs_dim = result.elpd_i.dims[0]
        labels = labels.reset_index(drop=True)
        table = table.assign_coords(
            {c: (obs_dim, _coord_values(labels[c])) for c in labels.columns}
        )
    table.attrs.update(
        var_name=var_name,
        elpd=float(result.elpd),
        se=float(result.se),
        p_loo=float(result.p),
        n_samples=int(result.n_samples),
        n_data_points=int(result.n_data_points),
        good_k=float(result.good_k),
        warning=int(bool(result.warning)),
    )
    return table


def loo_pit_values(
    data: xr.DataTree,
    var_names: Iterable[str],
    loo_results: dict[str, azs.ELPDData] | None = None,
) -> xr.Dataset:
    """Return LOO-PIT values of the observed variables.

    Parameters
    ----------
    data : xarray.DataTree
        Fit with ``observed_data``, ``posterior_predictive`` and ``log_likelihood``.
    var_names : iterable of str
        Observed variables.
    loo_results : dict of str to arviz_stats.ELPDData, optional
        Pointwise ``arviz_stats.loo`` of each variable: its smoothed log weights and
        Pareto k are reused instead of smoothing the importance ratios again (the
        values are the same).

    Returns
    -------
    xarray.Dataset
        One variable per observed variable over its observation dimension; values in
        ``[0, 1]``, uniform for a calibrated model.
    """
    var_names = list(var_names)
    if loo_results is None or not set(var_names) <= set(loo_results):
        return azs.loo_pit(data, var_names=var_names)
    # arviz-stats' loo sets log_weights on the ELPDData it returns (not in its type).
    log_weights = xr.Dataset({v: loo_results[v].log_weights for v in var_names})  # type: ignore[attr-defined]
    pareto_k = xr.Dataset({v: loo_results[v].pareto_k for v in var_names})
    return azs.loo_pit(data, var_names=var_names, log_weights=log_weights, pareto_k=pareto_k)
