"""Run NUTS on a built model with the sampler the settings name.

The one entry point is :func:`sample_posterior`. The sampler is always the one
``settings.sampler`` names, passed explicitly:

``"pymc"``, ``"numpyro"``
    :func:`pymc.sample` with ``nuts_sampler=settings.sampler`` and every setting
    passed explicitly.
``"nutpie"``
    nutpie is called directly (:func:`start_nutpie`), with the model compiled once
    per structure and fed the study's data
    (:mod:`bayes_ketamine.inference.nutpie_adapter`), which is what
    ``pymc.sample(nuts_sampler="nutpie")`` does minus its fixed costs.

    The random seed of the chains is derived from ``settings.seed`` exactly as
    ``pymc.sample`` derives it, and the returned tree is patched by PyMC's own
    ``patch_nutpie_idata``, so the groups (``posterior``, ``sample_stats`` with
    ``diverging``, ``maxdepth_reached``, ``energy``, ..., ``observed_data``,
    ``constant_data``) are those of ``pymc.sample(nuts_sampler="nutpie")``.

Timings of the NUTS step are stored as attributes of the ``posterior`` group:
``sampling_time`` (seconds in nutpie/PyMC sampling), ``compile_time`` (nutpie only:
seconds compiling or loading and binding the compiled model) and
``nutpie_compile_path`` (``"cached-cfunc"`` or ``"nutpie"``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from bayes_ketamine.api import deprecated_call_forms
from bayes_ketamine.inference.nutpie_adapter import NutpieCompiled, compile_nutpie, import_nutpie

if TYPE_CHECKING:
    import pymc as pm
    import xarray as xr

    from bayes_ketamine.inference.settings import FitSettings
    from bayes_ketamine.models.base import CrossoverModel

_MAX_DEPTH_KEY = {"nutpie": "max_treedepth", "pymc": "max_treedepth", "numpyro": "max_tree_depth"}
"""Name of the maximum-tree-depth option in each sampler's ``nuts={...}`` options."""


@deprecated_call_forms(positional=("settings", "progressbar"), renamed={"progressbar": "progress"})
def sample_posterior(
    model: CrossoverModel, *, settings: FitSettings, progress: bool = True
) -> xr.DataTree:
    """Draw posterior samples of ``model`` with NUTS.

    Sampler, tuning, draws, chains, cores, seed, target acceptance and maximum tree
    depth are always passed explicitly, so the installed samplers never change which
    one runs or how.

    Parameters
    ----------
    model : CrossoverModel
        The built model.
    settings : FitSettings
        Sampler and its settings.
    progress : bool, default True
        Show the sampler's own progress bar.

    Returns
    -------
    xarray.DataTree
        Groups ``posterior``, ``sample_stats``, ``observed_data`` and (if the model has
        data containers) ``constant_data``, as ``pymc.sample`` returns them.
    """
    if settings.sampler == "nutpie":
        return sample_nutpie(model.pymc_model, settings, progressbar=progress)
    import pymc as pm

    nuts = {
        "target_accept": settings.target_accept,
        _MAX_DEPTH_KEY[settings.sampler]: settings.max_treedepth,
    }
    return pm.sample(
        model=model.pymc_model,
        nuts_sampler=settings.sampler,
        draws=settings.draws,
        tune=settings.tune,
        chains=settings.chains,
        cores=settings.cores,
        random_seed=settings.seed,
        progressbar=progress,
        quiet=not progress,
        compute_convergence_checks=False,
        nuts=nuts,
    )


def chain_seed(seed: int, chains: int) -> int:
    """Return the nutpie seed ``pymc.sample(random_seed=seed, chains=chains)`` passes.

    PyMC spawns one generator per chain from ``seed`` and gives nutpie the first
    chain's integer; doing the same keeps the draws of :func:`sample_nutpie` equal to
    those of ``pymc.sample(nuts_sampler="nutpie")`` with the same frozen model.
    """
    from pymc.util import get_random_generator

    rngs = get_random_generator(seed).spawn(chains)
    return int([rng.integers(2**30) for rng in rngs][0])


def sample_nutpie(
    pm_model: pm.Model, settings: FitSettings, progressbar: bool = True
) -> xr.DataTree:
    """Compile ``pm_model`` with :func:`compile_nutpie` and sample it with nutpie.

    Parameters
    ----------
    pm_model : pymc.Model
        The model.
    settings : FitSettings
        Settings; ``settings.sampler`` must be ``"nutpie"``.
    progressbar : bool, default True
        Show nutpie's progress bar.

    Returns
    -------
    xarray.DataTree
        As ``pymc.sample(nuts_sampler="nutpie")``: ``posterior``, ``sample_stats``,
        ``observed_data``, ``constant_data``; ``posterior.attrs`` also hold
        ``compile_time`` and ``nutpie_compile_path``.
    """
    return start_nutpie(pm_model, settings, progressbar=progressbar).result()


class NutpieRun:
    """nutpie sampling running in its own (Rust) threads; :meth:`result` waits for it.

    The sampler threads do not hold the GIL, so the caller can do other work (prior
    predictive simulation, compiling post-processing functions) while they run.
    """

    def __init__(self, pm_model: pm.Model, compiled: NutpieCompiled, handle: Any) -> None:
        self.pm_model = pm_model
        self.compiled = compiled
        self.handle = handle
        self.start = time.perf_counter()
        self._tree: xr.DataTree | None = None

    def result(self) -> xr.DataTree:
        """Wait for the draws; return them as :func:`sample_nutpie` does."""
        if self._tree is not None:
            return self._tree
        from pymc.backends.arviz import patch_nutpie_idata

        try:
            tree = self.handle.wait()
        except BaseException:
            self.cancel()
            raise
        sampling_time = time.perf_counter() - self.start
        if self.compiled.expansion is not None:
            tree["posterior"] = self.compiled.expansion(tree["posterior"].to_dataset())
        patch_nutpie_idata(tree, self.pm_model, sampling_time=sampling_time)
        tree["posterior"].attrs["compile_time"] = self.compiled.seconds
        tree["posterior"].attrs["nutpie_compile_path"] = self.compiled.path
        self._tree = tree
        return tree

    def cancel(self) -> None:
        """Stop the sampler threads (nothing if they already finished)."""
        try:
            self.handle.cancel()
        except Exception:  # noqa: BLE001 - already finished or cancelled
            pass


def start_nutpie(
    pm_model: pm.Model,
    settings: FitSettings,
    progressbar: bool = True,
    cache_key: str | None = None,
) -> NutpieRun:
    """Compile ``pm_model`` with :func:`compile_nutpie` and start nutpie in the background.

    Parameters are those of :func:`sample_nutpie` and :func:`compile_nutpie`; the
    draws are the same.

    Returns
    -------
    NutpieRun
        Call its :meth:`~NutpieRun.result` for the tree.
    """
    if settings.sampler != "nutpie":
        raise ValueError(f"sample_nutpie needs sampler 'nutpie', got {settings.sampler!r}")
    nutpie = import_nutpie()

    compiled = compile_nutpie(pm_model, cache_key)
    handle = nutpie.sample(
        compiled.compiled,
        draws=settings.draws,
        tune=settings.tune,
        chains=settings.chains,
        cores=settings.cores,
        seed=chain_seed(settings.seed, settings.chains),
        save_warmup=False,
        store_unconstrained=False,
        progress_bar=progressbar,
        target_accept=settings.target_accept,
        maxdepth=settings.max_treedepth,
        blocking=False,
    )
    return NutpieRun(pm_model, compiled, handle)
