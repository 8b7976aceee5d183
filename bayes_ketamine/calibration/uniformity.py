"""Uniformity of SBC ranks: the ECDF, its simultaneous band and the per-parameter test.

Pure rank statistics, with no sampling and no Dask: :mod:`bayes_ketamine.calibration.sbc`
produces the ranks, :mod:`bayes_ketamine.calibration.plots` draws them, and both use
this module (Säilynoja, Bürkner & Vehtari 2022).

>>> import numpy as np
>>> out = uniformity_test(np.random.default_rng(0).integers(0, 20, size=(1, 100)), 20)
>>> str(out["verdict"].values[0])
'uniform'
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import xarray as xr
from scipy import stats

from bayes_ketamine.api import deprecated_call_forms
from bayes_ketamine.inference.arrays import Floats, Ints

ALPHA = 0.05
"""Level of the uniformity test and of the simultaneous band (95 %)."""

UNIFORMITY_VERDICTS = ("uniform", "suspect", "non-uniform")
"""Per-parameter verdicts: ``uniform`` (p >= alpha); ``suspect`` (p < alpha but not
after Holm's correction over all parameters of the model); ``non-uniform`` (Holm-adjusted
p < alpha)."""


def n_bins(n: int, n_ranks: int) -> int:
    """Return the number of ECDF evaluation bins for ``n`` ranks on ``0..n_ranks-1``.

    All ``n_ranks`` values when ``n >= n_ranks``; otherwise the largest divisor of
    ``n_ranks`` not above ``n`` (more evaluation points than ranks only adds a saw-tooth
    to the band). Ranks are merged into equal groups of ``n_ranks // bins`` values,
    which keeps them exactly uniform under the null.
    """
    if n >= n_ranks:
        return n_ranks
    return max(d for d in range(1, n + 1) if n_ranks % d == 0)


def bin_ranks(ranks: npt.ArrayLike, n_ranks: int) -> tuple[Ints, int]:
    """Return ranks merged into :func:`n_bins` bins (last axis = simulations) and the bins."""
    ranks = np.asarray(ranks, dtype=np.int64)
    k = n_bins(ranks.shape[-1], n_ranks)
    return ranks // (n_ranks // k), k


def _ecdf_counts(ranks: npt.ArrayLike, n_ranks: int) -> Ints:
    """Return ``#(ranks < j)`` for ``j = 1..n_ranks-1`` along the last axis."""
    ranks = np.asarray(ranks, dtype=np.int64)
    counts = np.apply_along_axis(np.bincount, -1, ranks, minlength=n_ranks)
    return np.cumsum(counts, axis=-1)[..., :-1]


def _tail_statistic(counts: Ints, n: int, z: Floats) -> Floats:
    """Smallest two-sided pointwise binomial tail probability along the last axis."""
    lower = stats.binom.cdf(counts, n, z)
    upper = stats.binom.sf(counts - 1, n, z)
    return np.min(2 * np.minimum(lower, upper), axis=-1).clip(max=1.0)


@dataclass(frozen=True)
class UniformityBand:
    """Simultaneous ECDF band of ``n`` uniform ranks on ``0..n_ranks-1``.

    Attributes
    ----------
    n_ranks : int
        Number of evaluation bins (:func:`n_bins`).
    z : numpy.ndarray
        Evaluation points ``j / n_ranks`` for ``j = 0..n_ranks``.
    lower, upper : numpy.ndarray
        Band of the ECDF at ``z`` (fractions).
    gamma : float
        Pointwise level giving simultaneous coverage ``1 - alpha``.
    null_statistics : numpy.ndarray
        Simulated test statistics under uniformity.
    """

    n: int
    n_ranks: int
    alpha: float
    z: Floats
    lower: Floats
    upper: Floats
    gamma: float
    null_statistics: Floats


@deprecated_call_forms(data=2, positional=("alpha", "n_sim", "seed"))
def uniformity_band(
    n: int, n_ranks: int, *, alpha: float = ALPHA, n_sim: int = 2000, seed: int = 271828
) -> UniformityBand:
    """Return the simultaneous ``1 - alpha`` ECDF band for ``n`` discrete-uniform ranks.

    Simulation method of Säilynoja et al. (2022, Statistics and Computing 32:32): for
    ``n_sim`` samples of ``n`` ranks uniform on ``0..n_ranks-1``, the statistic is the
    smallest two-sided binomial tail probability of the ECDF over the evaluation
    points; ``gamma`` is its ``alpha`` quantile, and the band is the pointwise binomial
    ``gamma/2`` and ``1 - gamma/2`` quantiles.

    Kept rather than ArviZ's band (:func:`arviz_stats.ecdf_utils.ecdf_pit`, used by the
    posterior figures): SBC ranks are discrete on ``0..L``, and this band simulates
    discrete uniform ranks evaluated at the rank bins, while ArviZ's simulates
    continuous uniform values at ``1/n, ..., (n-1)/n``; and the simulated statistics
    are also the null distribution of :func:`uniformity_test`, so the drawn band and
    the verdict come from one simulation.

    Parameters
    ----------
    n : int
        Number of ranks (simulations).
    n_ranks : int
        Number of possible rank values ``L + 1``.
    alpha : float
        One minus the simultaneous coverage.
    n_sim : int
        Simulated uniform samples.
    seed : int
        Seed of the simulation (the band is deterministic).
    """
    rng = np.random.default_rng(seed)
    n_ranks = n_bins(n, n_ranks)
    z = np.arange(1, n_ranks) / n_ranks
    sims = rng.integers(0, n_ranks, size=(n_sim, n))
    null = _tail_statistic(_ecdf_counts(sims, n_ranks), n, z)
    gamma = float(np.quantile(null, alpha))
    lower = stats.binom.ppf(gamma / 2, n, z) / n
    upper = stats.binom.ppf(1 - gamma / 2, n, z) / n
    z_full = np.concatenate([[0.0], z, [1.0]])
    return UniformityBand(
        n=n,
        n_ranks=n_ranks,
        alpha=alpha,
        z=z_full,
        lower=np.concatenate([[0.0], lower, [1.0]]),
        upper=np.concatenate([[0.0], upper, [1.0]]),
        gamma=gamma,
        null_statistics=null,
    )


def rank_ecdf(ranks: npt.ArrayLike, n_ranks: int) -> Floats:
    """Return the ECDF of ranks at ``j / k``, ``j = 0..k`` (last axis; ``k`` = :func:`n_bins`)."""
    ranks, n_ranks = bin_ranks(ranks, n_ranks)
    inner = _ecdf_counts(ranks, n_ranks) / ranks.shape[-1]
    shape = inner.shape[:-1] + (1,)
    return np.concatenate([np.zeros(shape), inner, np.ones(shape)], axis=-1)


def holm(p: npt.ArrayLike) -> Floats:
    """Return Holm-adjusted p-values (step-down, monotone)."""
    p = np.asarray(p, dtype=float)
    order = np.argsort(p)
    m = p.size
    adjusted = np.empty(m)
    running = 0.0
    for k, i in enumerate(order):
        running = max(running, min(1.0, (m - k) * p[i]))
        adjusted[i] = running
    return adjusted


@deprecated_call_forms(data=2, positional=("alpha", "band"))
def uniformity_test(
    ranks: npt.ArrayLike, n_ranks: int, *, alpha: float = ALPHA, band: UniformityBand | None = None
) -> xr.Dataset:
    """Test each parameter's ranks for uniformity and give a verdict.

    Parameters
    ----------
    ranks : numpy.ndarray
        Ranks ``(parameter, simulation)`` in ``0..n_ranks-1``.
    n_ranks : int
        ``L + 1``.
    alpha : float
        Test level.
    band : UniformityBand, optional
        Precomputed band for these ``n`` and ``n_ranks``.

    Returns
    -------
    xarray.Dataset
        Dim ``parameter`` (positional): ``p_value`` (fraction of simulated uniform
        samples whose statistic is at most the observed one), ``p_holm``,
        ``outside_band`` (the ECDF leaves the simultaneous band somewhere),
        ``max_abs_ecdf_diff`` and ``verdict`` (:data:`UNIFORMITY_VERDICTS`).
    """
    ranks = np.atleast_2d(np.asarray(ranks, dtype=np.int64))
    if ranks.min() < 0 or ranks.max() >= n_ranks:
        raise ValueError(f"ranks must lie in 0..{n_ranks - 1}")
    n = ranks.shape[-1]
    band = band or uniformity_band(n, n_ranks, alpha=alpha)
    ecdf = rank_ecdf(ranks, n_ranks)
    ranks, n_ranks = bin_ranks(ranks, n_ranks)
    counts = _ecdf_counts(ranks, n_ranks)
    observed = _tail_statistic(counts, n, band.z[1:-1])
    p = (band.null_statistics[None, :] <= observed[:, None]).mean(axis=1)
    p_holm = holm(p)
    outside = ((ecdf < band.lower - 1e-12) | (ecdf > band.upper + 1e-12)).any(axis=-1)
    uniform, suspect, non_uniform = UNIFORMITY_VERDICTS
    verdict = np.where(p >= alpha, uniform, np.where(p_holm >= alpha, suspect, non_uniform))
    return xr.Dataset(
        {
            "p_value": ("parameter", p),
            "p_holm": ("parameter", p_holm),
            "outside_band": ("parameter", outside),
            "max_abs_ecdf_diff": ("parameter", np.abs(ecdf - band.z).max(axis=-1)),
            "verdict": ("parameter", verdict.astype(str)),
        }
    )
