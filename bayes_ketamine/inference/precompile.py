"""Compile the models a run will fit, in a helper process, ahead of the fits.

A first-ever run compiles every model structure it fits. Compiling is mostly
single-threaded (pytensor's graph rewriting, numba's code generation), so while one
fit compiles or post-processes, a core is idle. :class:`Precompiler` starts one
helper Python process (a plain subprocess, so the user's ``__main__`` is never
re-imported) that builds the same models and fills
:mod:`bayes_ketamine.inference.compile_cache` and numba's disk cache with their
compiled functions (:func:`compile_model`), from the last model backwards; the fits,
from the first forwards, then load what the helper has already compiled. A structure
compiled by both at once is stored twice, atomically: the result is the same.

:func:`cache_keys` names the entries of one structure; the fit and the helper use it
alike. ``BAYES_KETAMINE_PRECOMPILE=0`` turns the helper off (the test suite does,
where sampling is mocked and nothing needs compiling).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from bayes_ketamine.inference import batched, compile_cache, prior_predictive

ENV_SWITCH = "BAYES_KETAMINE_PRECOMPILE"
"""Environment variable; ``0`` keeps runs from starting the helper process."""


def enabled() -> bool:
    """Whether runs start the helper (``BAYES_KETAMINE_PRECOMPILE`` is not ``0``)."""
    return os.environ.get(ENV_SWITCH, "1") != "0"


@dataclass(frozen=True)
class CacheKeys:
    """Compile-cache keys of one model structure's functions."""

    nutpie: str
    prior_predictive: str
    posterior_predictive: str
    log_density: str


def cache_keys(structure_key: str) -> CacheKeys:
    """Return the compile-cache keys of the functions of the structure ``structure_key``."""
    from bayes_ketamine.inference.nutpie_adapter import nutpie_cache_key

    return CacheKeys(
        nutpie=nutpie_cache_key(structure_key),
        prior_predictive=compile_cache.cache_key(
            "prior_predictive", structure_key, prior_predictive
        ),
        posterior_predictive=compile_cache.cache_key(
            "posterior_predictive", structure_key, batched
        ),
        log_density=compile_cache.cache_key("log_density", structure_key, batched),
    )


def compile_model(spec: Any, study: Any) -> None:
    """Compile (or load) every function a fit of ``spec`` to ``study`` uses.

    Parameters
    ----------
    spec : ModelSpec
        The model specification.
    study : Study
        A study of the design to compile for (its values do not matter).
    """
    from bayes_ketamine.inference.nutpie_adapter import compile_nutpie
    from bayes_ketamine.inference.provenance import package_versions
    from bayes_ketamine.inference.structure import model_structure_key
    from bayes_ketamine.models import build_model

    pm_model = build_model(spec, study).pymc_model
    keys = cache_keys(model_structure_key(pm_model, package_versions()))
    compile_nutpie(pm_model, keys.nutpie)
    prior_predictive.PriorPredictive(pm_model, 0, keys.prior_predictive).compile()
    batched.PosteriorPredictive(pm_model, 0, keys.posterior_predictive).compile()
    batched.LogDensity(pm_model, keys.log_density).compile()


class Precompiler:
    """A helper process compiling models for later fits; a context manager that stops it.

    Parameters
    ----------
    specs : list of ModelSpec
        The models, in the order the helper compiles them.
    study : Study
        The study they will be fitted to.

    Examples
    --------
    Skipped as a doctest: it compiles a model.

    >>> from bayes_ketamine.data import default_study
    >>> from bayes_ketamine.models import resolve_spec
    >>> with Precompiler([resolve_spec("symptoms_none")], default_study()):  # doctest: +SKIP
    ...     pass  # fit the models here; the helper stops on leaving the block
    """

    def __init__(self, specs: list[Any], study: Any) -> None:
        fd, name = tempfile.mkstemp(prefix="bayes_ketamine_precompile_", suffix=".pkl")
        with os.fdopen(fd, "wb") as handle:
            pickle.dump((specs, study), handle)
        self.job = Path(name)
        self.process = subprocess.Popen(
            [sys.executable, "-m", __name__, str(self.job)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def __enter__(self) -> Precompiler:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """End the helper (whatever it is compiling) and remove its job file."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.job.unlink(missing_ok=True)


def _main(job: str) -> None:
    """Compile the models of a job file written by :class:`Precompiler`."""
    with open(job, "rb") as handle:
        specs, study = pickle.load(handle)
    for spec in specs:
        compile_model(spec, study)


if __name__ == "__main__":
    _main(sys.argv[1])
