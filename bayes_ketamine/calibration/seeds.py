"""Seeds of calibration runs: each is a path in one :class:`numpy.random.SeedSequence` tree.

A run's master seed is the root; a simulation, replicate, fold or block is reached by
a path of integers (e.g. ``[seed, 1, i]`` for SBC fit ``i``), so every unit gets the same
seed whatever the number of units, the order they run in, or whether the run resumed.

>>> seed_at(2025, 1, 0) == seed_at(2025, 1, 0) != seed_at(2025, 1, 1)
True
"""

from __future__ import annotations

import numpy as np


def seed_at(*path: int) -> int:
    """Return the 32-bit seed at ``path`` (master seed first) of a ``SeedSequence`` tree.

    Parameters
    ----------
    *path : int
        The master seed, then the indices that lead to one unit of work.

    Returns
    -------
    int
    """
    return int(np.random.SeedSequence([int(x) for x in path]).generate_state(1)[0])
