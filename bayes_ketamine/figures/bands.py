"""ArviZ's simultaneous band for the ECDF of values that should be uniform.

A pointwise 95 % band is crossed somewhere by most calibrated ECDFs (it holds at each
point, not along the whole curve), so it raises false alarms. The band here holds for
the whole curve with probability :data:`BAND_PROB`: the simulation method of
Säilynoja, Bürkner & Vehtari (2022, Statistics and Computing 32:32) as ArviZ
implements it (:func:`arviz_stats.ecdf_utils.ecdf_pit`, the band of
``arviz_plots.plot_ecdf_pit(method="envelope")``), with a fixed seed so figures are
deterministic.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from arviz_stats.ecdf_utils import ecdf_pit

BAND_PROB = 0.95
"""Probability that a calibrated ECDF stays inside the band everywhere."""

N_SIMULATIONS = 1000
"""Uniform samples simulated to calibrate the band (ArviZ's default)."""

SEED = 214
"""Seed of the simulation (ArviZ's default generator seed)."""


@lru_cache(maxsize=64)
def simultaneous_band(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the simultaneous band of the ECDF of ``n`` independent uniform values.

    Parameters
    ----------
    n : int
        Number of values.

    Returns
    -------
    x, lower, upper : numpy.ndarray
        Evaluation points ``0, 1/n, ..., 1`` and the band's bounds of the ECDF there.

    Examples
    --------
    >>> x, lower, upper = simultaneous_band(50)
    >>> bool(((lower <= x) & (x <= upper)).all())
    True
    """
    x, _, lower, upper = ecdf_pit(
        np.linspace(0.0, 1.0, n), BAND_PROB, N_SIMULATIONS, rng=np.random.default_rng(SEED)
    )
    return x, lower, upper


def ecdf(values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Return the empirical CDF of ``values`` at ``x``."""
    return np.searchsorted(np.sort(values), x, side="right") / values.size
