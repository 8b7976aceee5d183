"""Convergence and sampler diagnostics of a fit, with a pass/warn/fail verdict.

Two tables are computed from the posterior and its sample statistics:

``parameter_diagnostics``
    One row per scalar parameter (dim ``parameter``, labels such as
    ``glx_condition_effect[F]``): rank-normalised split R-hat, bulk and tail ESS,
    MCSE of the mean and of the SD (arviz-stats).
``sampler_checks``
    One row per chain: post-warmup draws, divergent transitions, draws that saturated
    the maximum tree depth, and E-BFMI.

Sample-statistic names differ between samplers; they are normalised here:

- nutpie: ``diverging``, ``maxdepth_reached``, ``energy``;
- pymc: ``diverging``, ``reached_max_treedepth``, ``energy``;
- numpyro: ``diverging``, ``n_steps >= 2**max_treedepth - 1``, ``energy``.

numpyro has no saturation flag; a draw whose trajectory used all ``2**max - 1``
leapfrog steps is counted as saturated (this may count a trajectory that happened to
U-turn at the very last step, so it errs towards warning).

Verdict thresholds (:data:`THRESHOLDS`)
---------------------------------------
``fail`` if any of
    R-hat > 1.05 for any parameter (chains disagree); bulk or tail ESS < 100;
    divergent transitions in more than 1 % of draws; E-BFMI < 0.2 in any chain.
``warn`` (otherwise) if any of
    R-hat > 1.01 for any parameter (Vehtari et al. 2021's threshold for final
    results: run longer); bulk or tail ESS < 400; any divergent transition;
    tree-depth saturation in more than 1 % of draws; E-BFMI < 0.3 in any chain.
``pass`` otherwise.

Non-finite R-hat or ESS (a parameter constant across all draws) is reported but does
not enter the verdict. Tree-depth saturation is an efficiency problem, not a validity
one, so it never fails a fit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import arviz_stats as azs
import xarray as xr

THRESHOLDS: dict[str, float] = {
    "rhat_warn": 1.01,
    "rhat_fail": 1.05,
    "ess_warn": 400.0,
    "ess_fail": 100.0,
    "divergent_fraction_fail": 0.01,
    "treedepth_fraction_warn": 0.01,
    "ebfmi_warn": 0.3,
    "ebfmi_fail": 0.2,
}
"""Verdict thresholds; see the module docstring."""

VERDICTS: tuple[str, ...] = ("pass", "warn", "fail")
"""Verdicts from best to worst."""

_SATURATION_FLAGS = ("maxdepth_reached", "reached_max_treedepth")


@dataclass(frozen=True)
class Verdict:
    """Outcome of the diagnostic checks.

    Parameters
    ----------
    status : {"pass", "warn", "fail"}
        The worst outcome over all checks.
    reasons : tuple of str
        One message per failed or warned check, prefixed by its level.
    """

    status: str
    reasons: tuple[str, ...]

    @property
    def failures(self) -> tuple[str, ...]:
        """The reasons of the failed checks, without their level prefix."""
        return tuple(r.removeprefix("fail: ") for r in self.reasons if r.startswith("fail: "))


def parameter_diagnostics(data: xr.DataTree) -> xr.Dataset:
    """Return per-parameter convergence diagnostics of the posterior.

    Parameters
    ----------
    data : xarray.DataTree
        Fit with a ``posterior`` group.

    Returns
    -------
    xarray.Dataset
        Dim ``parameter`` (scalar labels, e.g. ``mu[F]``) with coordinate ``variable``
        (the posterior variable each label belongs to) and variables ``r_hat``,
        ``ess_bulk``, ``ess_tail``, ``mcse_mean``, ``mcse_sd``.

    Examples
    --------
    >>> from arviz_base import from_dict
    >>> import numpy as np
    >>> dt = from_dict({"posterior": {"mu": np.random.default_rng(0).normal(size=(4, 500))}})
    >>> table = parameter_diagnostics(dt)
    >>> table["parameter"].values.tolist()
    ['mu']
    """
    frame = azs.summary(data, kind="diagnostics", round_to="none")
    labels = [str(label) for label in frame.index]
    table = xr.Dataset(
        {col: ("parameter", frame[col].to_numpy(dtype=float)) for col in frame.columns},
        coords={
            "parameter": labels,
            "variable": ("parameter", [label.split("[", 1)[0] for label in labels]),
        },
    )
    return table


def saturated_draws(sample_stats: xr.Dataset, max_treedepth: int) -> xr.DataArray:
    """Return, per draw, whether the trajectory saturated the maximum tree depth.

    Parameters
    ----------
    sample_stats : xarray.Dataset
        Sample statistics of nutpie, pymc or numpyro (see the module docstring).
    max_treedepth : int
        Maximum tree depth the sampler ran with.

    Returns
    -------
    xarray.DataArray
        Boolean, dims ``(chain, draw)``.

    Raises
    ------
    KeyError
        If the statistics hold neither a saturation flag nor ``n_steps``.
    """
    for flag in _SATURATION_FLAGS:
        if flag in sample_stats:
            return sample_stats[flag].astype(bool)
    if "n_steps" in sample_stats:
        return sample_stats["n_steps"] >= 2**max_treedepth - 1
    raise KeyError(
        "sample_stats has no tree-depth statistic "
        f"(looked for {', '.join(_SATURATION_FLAGS)} and n_steps)"
    )


def sampler_checks(data: xr.DataTree, max_treedepth: int) -> xr.Dataset:
    """Return per-chain sampler checks.

    Parameters
    ----------
    data : xarray.DataTree
        Fit with a ``sample_stats`` group from nutpie, pymc or numpyro.
    max_treedepth : int
        Maximum tree depth the sampler ran with.

    Returns
    -------
    xarray.Dataset
        Dim ``chain``, variables ``draws``, ``divergences``, ``treedepth_saturated``
        (counts) and ``ebfmi`` (:func:`arviz_stats.bfmi`: the energy Bayesian fraction
        of missing information, ``sum_t (E_t - E_{t-1})^2 / sum_t (E_t - mean(E))^2``
        per chain); attribute ``max_treedepth``.
    """
    stats = data["sample_stats"].to_dataset()
    diverging = stats["diverging"].astype(bool)
    checks = xr.Dataset(
        {
            "draws": diverging.count("draw").astype(int),
            "divergences": diverging.sum("draw").astype(int),
            "treedepth_saturated": saturated_draws(stats, max_treedepth).sum("draw").astype(int),
            "ebfmi": azs.bfmi(stats["energy"].astype(float), sample_dims=["chain", "draw"]),
        }
    )
    checks.attrs["max_treedepth"] = int(max_treedepth)
    return checks


def judge(
    parameters: xr.Dataset, sampler: xr.Dataset, *, thresholds: Mapping[str, float] = THRESHOLDS
) -> Verdict:
    """Apply verdict thresholds to the two diagnostic tables.

    Parameters
    ----------
    parameters : xarray.Dataset
        Output of :func:`parameter_diagnostics`.
    sampler : xarray.Dataset
        Output of :func:`sampler_checks`.
    thresholds : mapping, default :data:`THRESHOLDS`
        The keys of :data:`THRESHOLDS`; calibration fits use their own
        (:data:`bayes_ketamine.calibration.worker.CALIBRATION_THRESHOLDS`).

    Returns
    -------
    Verdict
    """
    t = thresholds
    fails: list[str] = []
    warns: list[str] = []

    def _labels(mask: xr.DataArray) -> str:
        names = parameters["parameter"].values[mask.values].tolist()
        shown = ", ".join(names[:5]) + (f" (+{len(names) - 5} more)" if len(names) > 5 else "")
        return shown

    rhat = parameters["r_hat"]
    for level, reasons in (("fail", fails), ("warn", warns)):
        bad = rhat > t[f"rhat_{level}"]
        if bad.any():
            limit = t[f"rhat_{level}"]
            reasons.append(f"R-hat > {limit} (max {float(rhat.max()):.3f}): {_labels(bad)}")
            break
    for col in ("ess_bulk", "ess_tail"):
        ess = parameters[col]
        if (ess < t["ess_fail"]).any():
            fails.append(
                f"{col} < {t['ess_fail']:.0f} (min {float(ess.min()):.0f}): "
                f"{_labels(ess < t['ess_fail'])}"
            )
        elif (ess < t["ess_warn"]).any():
            warns.append(
                f"{col} < {t['ess_warn']:.0f} (min {float(ess.min()):.0f}): "
                f"{_labels(ess < t['ess_warn'])}"
            )
    n_draws = int(sampler["draws"].sum())
    n_div = int(sampler["divergences"].sum())
    per_chain = ", ".join(str(int(v)) for v in sampler["divergences"].values)
    if n_div > t["divergent_fraction_fail"] * n_draws:
        fails.append(
            f"{n_div} divergent transitions in {n_draws} draws "
            f"(> {t['divergent_fraction_fail']:.0%}; per chain {per_chain})"
        )
    elif n_div:
        warns.append(f"{n_div} divergent transitions (per chain {per_chain})")
    n_sat = int(sampler["treedepth_saturated"].sum())
    if n_sat > t["treedepth_fraction_warn"] * n_draws:
        warns.append(
            f"{n_sat} of {n_draws} draws saturated the maximum tree depth "
            f"{sampler.attrs.get('max_treedepth', '?')} (> {t['treedepth_fraction_warn']:.0%})"
        )
    bfmi = sampler["ebfmi"]
    if (bfmi < t["ebfmi_fail"]).any():
        fails.append(f"E-BFMI < {t['ebfmi_fail']} (min {float(bfmi.min()):.2f})")
    elif (bfmi < t["ebfmi_warn"]).any():
        warns.append(f"E-BFMI < {t['ebfmi_warn']} (min {float(bfmi.min()):.2f})")
    status = "fail" if fails else "warn" if warns else "pass"
    return Verdict(status, tuple(f"fail: {m}" for m in fails) + tuple(f"warn: {m}" for m in warns))


def run_diagnostics(
    data: xr.DataTree, max_treedepth: int, parameters: xr.Dataset | None = None
) -> tuple[xr.Dataset, xr.Dataset]:
    """Compute both diagnostic tables and attach the verdict.

    Parameters
    ----------
    data : xarray.DataTree
        Fit with ``posterior`` and ``sample_stats`` groups.
    max_treedepth : int
        Maximum tree depth the sampler ran with.
    parameters : xarray.Dataset, optional
        :func:`parameter_diagnostics` of ``data`` if already computed (e.g. by
        :class:`~bayes_ketamine.inference.diagnostics_worker.DiagnosticsWorker`).

    Returns
    -------
    parameters, sampler : xarray.Dataset
        :func:`parameter_diagnostics` and :func:`sampler_checks`; ``parameters.attrs``
        holds ``verdict``, ``verdict_reasons`` (JSON list) and ``thresholds`` (JSON).
    """
    if parameters is None:
        parameters = parameter_diagnostics(data)
    sampler = sampler_checks(data, max_treedepth)
    verdict = judge(parameters, sampler)
    parameters.attrs.update(
        verdict=verdict.status,
        verdict_reasons=json.dumps(list(verdict.reasons)),
        thresholds=json.dumps(THRESHOLDS, sort_keys=True),
    )
    return parameters, sampler


def stored_verdict(diagnostics: xr.Dataset) -> Verdict:
    """Return the verdict stored in an artifact's ``diagnostics`` group.

    Parameters
    ----------
    diagnostics : xarray.Dataset
        The ``diagnostics`` group of an artifact.

    Returns
    -------
    Verdict
    """
    return Verdict(
        str(diagnostics.attrs["verdict"]),
        tuple(json.loads(diagnostics.attrs.get("verdict_reasons", "[]"))),
    )


def worst(statuses: list[str]) -> str:
    """Return the worst of several verdict statuses (``"pass"`` if empty)."""
    return max(statuses, key=VERDICTS.index, default="pass")
