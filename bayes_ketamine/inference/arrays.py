"""The arrays that cross the inference modules' boundaries: their types and sample dims.

``numpy.ndarray`` alone leaves its dtype as ``Any``; the aliases name what the arrays
hold, so the type checker (``make typecheck``) can forbid ``Any`` at the typed
boundaries.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

SAMPLE_DIMS: tuple[str, str] = ("chain", "draw")
"""Dims of the posterior draws in every group of an artifact (ArviZ's convention)."""

type Array = npt.NDArray[np.float64 | np.int64 | np.bool_]
"""Draws or data of any of the dtypes a model holds (floats, integer indices, flags)."""

type Floats = npt.NDArray[np.float64]
"""Real values: draws, log densities, flat points."""

type Ints = npt.NDArray[np.int64]
"""Integer values: indices, counts, ranks."""
