"""Reading fitted artifacts for figures and manuscript numbers (never refitting).

:class:`Posteriors` loads the artifacts of a folder by model name, once each (or takes
the ones already in memory), and leaves out the ones that are absent;
:func:`as_posteriors` accepts a folder or a :class:`Posteriors`; :func:`draws` and
:func:`interval` summarise posterior draws; :func:`condition_labels` and
:func:`symptom_scale` read the study's condition names and symptom scale from the
provenance.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import xarray as xr

from bayes_ketamine.api import deprecated_call_forms
from bayes_ketamine.inference import ArtifactError, load_posterior
from bayes_ketamine.inference.arrays import SAMPLE_DIMS
from bayes_ketamine.inference.stored import read_attrs

COMPARISONS_DIR: str = "comparisons"
"""Subfolder of the artifact folder holding the model comparison tables."""


class MixedStudiesError(ValueError):
    """The artifacts to be combined were fitted to different studies (data hashes)."""


class Posteriors:
    """The artifacts ``<name>.nc`` of one folder, loaded on first use.

    Parameters
    ----------
    folder : str or pathlib.Path
        Folder of the artifacts (``posteriors/``).
    trees : mapping of str to xarray.DataTree, optional
        Artifacts of that folder already in memory, by model name, as
        :func:`~bayes_ketamine.inference.load_posterior` returns them (e.g. the
        ``tree`` of each :class:`~bayes_ketamine.inference.FitResult`); these are
        returned by :meth:`get` instead of being read again.
    comparisons : mapping of str to xarray.Dataset, optional
        Comparison tables of that folder already in memory, by file stem (e.g.
        ``symptoms_poolings``), as :func:`~bayes_ketamine.inference.compare` returns
        them; returned by :meth:`comparison` instead of being read again.

    Examples
    --------
    >>> from bayes_ketamine.reporting import Posteriors
    >>> posteriors = Posteriors("posteriors")
    >>> tree = posteriors.get("glutamate_partial")  # None when not fitted

    Reusing the trees of fits (nothing is read from disk for them; the doctests skip
    this example, whose ``fit_results`` would come from fitting models):

    >>> posteriors = Posteriors(  # doctest: +SKIP
    ...     "posteriors", trees={r.path.stem: r.tree for r in fit_results}
    ... )
    """

    def __init__(
        self,
        folder: str | Path,
        trees: Mapping[str, xr.DataTree] | None = None,
        comparisons: Mapping[str, xr.Dataset] | None = None,
    ) -> None:
        self.folder = Path(folder)
        self._trees: dict[str, xr.DataTree] = dict(trees or {})
        self._comparisons: dict[str, xr.Dataset] = dict(comparisons or {})

    def per_artifact[T](self, draw: Callable[[xr.DataTree], T], *, stem: str) -> dict[str, T]:
        """Return ``{stem.format(name=name): draw(tree)}`` for every artifact of the folder.

        The figures drawn once per fitted model (checks, rank plots) are made this way.
        """
        trees = {name: self.get(name) for name in self.names()}
        return {
            stem.format(name=name): draw(tree) for name, tree in trees.items() if tree is not None
        }

    def names(self) -> list[str]:
        """Return the model names of the artifacts in the folder, sorted.

        Other netCDF files there (e.g. a LOO comparison table) are skipped with a
        warning that says why; files of artifacts already in memory are not opened.
        """
        names = []
        for path in sorted(self.folder.glob("*.nc")):
            if path.name.startswith("."):
                continue
            if path.stem in self._trees:
                names.append(path.stem)
                continue
            try:
                read_attrs(path)
            except ArtifactError as err:
                warnings.warn(f"skipping {path}: {err}", stacklevel=2)
                continue
            names.append(path.stem)
        return names

    def studies(self) -> dict[str, tuple[str, list[str]]]:
        """Return the studies the artifacts were fitted to.

        Returns
        -------
        dict
            ``{data_hash: (study name, [model names])}``, one entry per distinct study
            data (root attribute ``data_hash``); read from the attributes only.
        """
        found: dict[str, tuple[str, list[str]]] = {}
        for name in self.names():
            tree = self._trees.get(name)
            attrs = tree.attrs if tree is not None else read_attrs(self.folder / f"{name}.nc")
            study = str(attrs.get("study_name", "?"))
            found.setdefault(str(attrs["data_hash"]), (study, []))[1].append(name)
        return found

    def require_one_study(self) -> None:
        """Raise unless every artifact of the folder was fitted to the same study data.

        Raises
        ------
        MixedStudiesError
            Naming each study (with its data hash) and the models fitted to it.
        """
        found = self.studies()
        if len(found) > 1:
            listed = "; ".join(
                f"{study!r} (data {data_hash[:8]}): {', '.join(names)}"
                for data_hash, (study, names) in found.items()
            )
            raise MixedStudiesError(
                f"{self.folder} holds artifacts of {len(found)} different studies: {listed}"
            )

    def get(self, name: str) -> xr.DataTree | None:
        """Return the artifact of model ``name``, or ``None`` if there is none."""
        if name not in self._trees:
            path = self.folder / f"{name}.nc"
            if not path.is_file():
                return None
            self._trees[name] = load_posterior(path)
        return self._trees[name]

    def comparison(self, stem: str) -> xr.Dataset | None:
        """Return the comparison table ``<COMPARISONS_DIR>/<stem>.nc``, or ``None``."""
        if stem not in self._comparisons:
            path = self.folder / COMPARISONS_DIR / f"{stem}.nc"
            if not path.is_file():
                return None
            with xr.open_dataset(path, engine="netcdf4") as ds:
                self._comparisons[stem] = ds.load()
        return self._comparisons[stem]

    def variant(self, family: str, pooling: str = "partial") -> xr.DataTree | None:
        """Return the artifact of a family and pooling, whatever the pooling factor.

        ``<family>_<pooling>`` (pooled by sex) when it exists, else the first artifact
        ``<family>_<factor>_<pooling>`` in name order whose spec has that family and
        pooling (e.g. ``symptoms_group_partial``), else ``None``.
        """
        tree = self.get(f"{family}_{pooling}")
        if tree is not None:
            return tree
        for name in self.names():
            if name.startswith(f"{family}_") and name.endswith(f"_{pooling}"):
                found = self.get(name)
                if found is None:
                    continue
                spec = json.loads(found.attrs.get("spec_json", "{}"))
                if spec.get("family") == family and pooling in spec.get("pooling", {}).values():
                    return found
        return None

    def first(self, *names: str) -> xr.DataTree | None:
        """Return the first of ``names`` that has an artifact, or ``None``."""
        for name in names:
            tree = self.get(name)
            if tree is not None:
                return tree
        return None


def as_posteriors(posteriors: str | Path | Posteriors) -> Posteriors:
    """Return ``posteriors`` if it is a :class:`Posteriors`, else those of that folder.

    Parameters
    ----------
    posteriors : str, pathlib.Path or Posteriors
        A folder of artifacts, or artifacts already opened (possibly in memory).

    Returns
    -------
    Posteriors
    """
    return posteriors if isinstance(posteriors, Posteriors) else Posteriors(posteriors)


@deprecated_call_forms(data=2, positional=("group",))
def draws(tree: xr.DataTree, var: str, *, group: str = "posterior") -> xr.DataArray:
    """Return the draws of ``var`` with chain and draw stacked into one ``sample`` dim.

    Parameters
    ----------
    tree : xarray.DataTree
        An artifact.
    var : str
        Variable name.
    group : str, default "posterior"
        Group holding the variable.

    Returns
    -------
    xarray.DataArray
        Dims ``(sample, ...)``.
    """
    da = tree[group].to_dataset()[var]
    return (
        da.stack(sample=SAMPLE_DIMS)
        .transpose("sample", ...)
        .drop_vars(["sample", *SAMPLE_DIMS], errors="ignore")
    )


@deprecated_call_forms(data=2, positional=("axis",))
def interval(values: np.ndarray, prob: float, *, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return the equal-tailed interval of probability ``prob`` along ``axis``.

    Parameters
    ----------
    values : numpy.ndarray
        Draws.
    prob : float
        Probability mass inside the interval, e.g. 0.89.
    axis : int, default 0
        Axis of the draws.

    Returns
    -------
    tuple of numpy.ndarray
        Lower and upper bounds.
    """
    tail = (1.0 - prob) / 2.0
    low, high = np.quantile(np.asarray(values, dtype=float), [tail, 1.0 - tail], axis=axis)
    return low, high


def condition_labels(tree: xr.DataTree, *, arm: str | None = None) -> tuple[str, str]:
    """Return the (reference, active) condition names stored in an artifact's provenance.

    With more than two conditions, ``arm`` names the active one (see :func:`arms`);
    without it the active conditions are joined by ``" / "``.
    """
    reference, *active = (str(c) for c in json.loads(tree.attrs["conditions"]))
    return reference, arm if arm is not None else " / ".join(active)


def arms(tree: xr.DataTree) -> tuple[str | None, ...]:
    """Return the active conditions the effects of an artifact are given for.

    ``(None,)`` with two conditions (the effects have no ``active_condition`` dim),
    else the non-reference conditions in study order.
    """
    conditions = json.loads(tree.attrs["conditions"])
    return (None,) if len(conditions) <= 2 else tuple(str(c) for c in conditions[1:])


def arm_draws(tree: xr.DataTree, var: str, arm: str | None) -> xr.DataArray:
    """Return :func:`draws` of ``var`` for one active condition (all of it when ``None``)."""
    da = draws(tree, var)
    return da.sel(active_condition=arm) if arm is not None else da


def pooling_factor(tree: xr.DataTree) -> str:
    """Return the participant factor an artifact's condition effects are pooled by."""
    (factor,) = json.loads(tree.attrs["spec_json"])["pooling"]
    return str(factor)


def factor_levels(tree: xr.DataTree) -> tuple[str, ...]:
    """Return the levels of the artifact's pooling factor (coordinate order)."""
    return tuple(str(v) for v in tree["posterior"].to_dataset()[pooling_factor(tree)].values)


def participant_levels(tree: xr.DataTree, participant: np.ndarray) -> np.ndarray:
    """Return the pooling-factor level of each participant index in ``participant``."""
    factor = pooling_factor(tree)
    const = tree["constant_data"].to_dataset()
    levels = np.asarray(factor_levels(tree), dtype=object)
    return levels[const[f"participant_{factor}"].values[np.asarray(participant, dtype=int)]]


def symptom_scale(tree: xr.DataTree) -> str:
    """Return the name of the symptom scale stored in an artifact's provenance."""
    return str(tree.attrs["symptom_scale"])
