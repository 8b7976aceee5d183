"""The simulated default study embedded in the package.

``bayes_ketamine/resources/default_study_simulated/`` holds the output of
``simulate_study(seed=DEFAULT_SEED, n_participants=DEFAULT_PARTICIPANTS)`` written with
:func:`~bayes_ketamine.data.io.write_study`. Regenerate it with::

    bayes-ketamine simulate bayes_ketamine/resources/default_study_simulated --seed 20250 --force

A test checks that regenerating reproduces the shipped files exactly.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from importlib.resources.abc import Traversable

from bayes_ketamine.data.io import load_study
from bayes_ketamine.data.metadata import METADATA_FILE
from bayes_ketamine.data.simulate import SimulationTruth
from bayes_ketamine.data.study import Study

DEFAULT_SEED = 20250
DEFAULT_PARTICIPANTS = 26
DEFAULT_FOLDER = "default_study_simulated"


def _folder() -> Traversable:
    return resources.files("bayes_ketamine") / "resources" / DEFAULT_FOLDER


def default_study() -> Study:
    """Load the embedded simulated default study.

    Returns
    -------
    Study
        26 simulated participants (``simulated=True``) with fMRS and MADRS.

    Examples
    --------
    >>> default_study().simulated
    True
    """
    with resources.as_file(_folder()) as folder:
        return load_study(folder)


def default_study_truth() -> SimulationTruth:
    """Return the true effects behind the default study.

    Returns
    -------
    SimulationTruth
        Read from the ``[simulation.truth]`` table of its ``study.toml``.
    """
    document = tomllib.loads((_folder() / METADATA_FILE).read_text(encoding="utf-8"))
    return SimulationTruth.from_dict(document["simulation"]["truth"])
