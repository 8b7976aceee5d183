r"""Headline numbers for the manuscript, as JSON and as LaTeX macros.

For each quantity in :data:`QUANTITIES` whose artifact exists: the posterior mean,
the 89 % and 95 % equal-tailed intervals and the posterior probability of the
direction the study's hypothesis names (e.g. P(naltrexone attenuates the glutamate
response) = P(``glx_condition_effect`` < 0)), per sex and pooled where the quantity
has a sex dimension. :func:`write_numbers` writes ``numbers.json`` and
``numbers.tex``; the latter defines one macro per number, named
``\<Quantity><Female|Male|Pooled><Stat>`` (e.g. ``\GlxEffectMaleMean``,
``\GlxEffectMaleLowEightyNine``, ``\GlxEffectMaleProb``) for a manuscript to
``\input``. Both files say whether the data are simulated (``\StudySimulated``,
``\SimulatedNote``). Numbers are read from artifacts only.

With a joint artifact (:data:`MEDIATION_MODEL`), the mediation sensitivity
(:mod:`bayes_ketamine.inference.mediation`) adds the correlation :math:`\rho` of the
mediator and outcome residuals at which the indirect effect's 95 % interval first
includes 0, on each side (``\IndirectEffect<Female|Male|Pooled>Rho<Negative|Positive>``,
``none`` when it does not happen for :math:`|\rho| \le 0.99`), the :math:`\rho` at which
its posterior mean is 0 (``\IndirectEffect<Female|Male|Pooled>RhoMeanZero``), and the
posterior of the :math:`\rho` at which each draw's indirect effects are 0
(``\RhoIndirectZeroMean``, ...).

Where the pooling variants of a family were compared by both repaired PSIS-LOO and
leave-one-participant-out CV (the comparison tables of ``bayes-ketamine run``;
:mod:`bayes_ketamine.reporting.criteria`), ``pooling_criteria`` states per family
which pooling each criterion prefers, whether they agree and why, with every
variant's elpd difference to the best and its SE; the macros are
``\<Family><Variable>Pooling<Loo|Cv>Best`` (e.g. ``\SymptomsScorePoolingLooBest``:
``none``), ``\<Family><Variable>PoolingCriteriaAgree`` (``yes``, ``no`` or
``undecided``) and ``\<Family><Variable><Pooling><Loo|Cv>ElpdDiff`` and ``...Se``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from bayes_ketamine.api import deprecated_call_forms
from bayes_ketamine.inference.mediation import applies, stored_or_computed
from bayes_ketamine.models.spec import POOLINGS
from bayes_ketamine.reporting.artifacts import (
    Posteriors,
    arms,
    as_posteriors,
    draws,
    interval,
    pooling_factor,
)
from bayes_ketamine.reporting.criteria import pooling_criteria
from bayes_ketamine.reporting.quantities import PROBS, QUANTITIES, SEX_WORDS, Quantity

__all__ = [
    "PROBS",
    "QUANTITIES",
    "SEX_WORDS",
    "Quantity",
    "headline_numbers",
    "latex_macros",
    "quantity_numbers",
    "summarise_draws",
    "write_numbers",
]


def summarise_draws(values: np.ndarray, direction: str) -> dict[str, float | list[float]]:
    """Return the mean, the intervals of :data:`PROBS` and P(value direction 0).

    Parameters
    ----------
    values : numpy.ndarray
        Posterior draws (one dimension).
    direction : {"<", ">"}
        Direction of the reported probability.

    Returns
    -------
    dict
        ``mean``, ``eti89``, ``eti95`` (``[low, high]``) and ``prob``.
    """
    values = np.asarray(values, dtype=float)
    out: dict[str, float | list[float]] = {"mean": float(values.mean())}
    for prob in PROBS.values():
        low, high = interval(values, prob)
        out[f"eti{round(prob * 100)}"] = [float(low), float(high)]
    hit = values < 0 if direction == "<" else values > 0
    out["prob"] = float(hit.mean())
    return out


MEDIATION_MODEL: str = "joint_partial"
"""Artifact whose mediation sensitivity is reported."""

SIDE_WORDS: dict[str, str] = {"negative": "Negative", "positive": "Positive"}
"""Words for the two sides of rho = 0 in keys and macro names."""


def mediation_sensitivity_numbers(tree: xr.DataTree) -> dict:
    """Return the crossings and the zero of the indirect effect from a joint artifact.

    Parameters
    ----------
    tree : xarray.DataTree
        The artifact :data:`MEDIATION_MODEL` (its ``mediation_sensitivity`` group, or
        that group computed from its draws).

    Returns
    -------
    dict
        ``model``, ``meaning``, ``crossing_prob``, ``rho_crossing``
        (``{"Female"|"Male"|"Pooled": {"negative": rho, "positive": rho}}``, ``None``
        where the interval never includes 0), ``rho_mean_zero`` (the rho at which the
        posterior mean is 0, per sex and pooled) and ``rho_indirect_zero`` (``mean``,
        ``eti89``, ``eti95``).
    """
    sens = stored_or_computed(tree)

    def sides(da: xr.DataArray) -> dict[str, float | None]:
        values = {side: float(da.sel(side=side)) for side in SIDE_WORDS}
        return {side: (None if np.isnan(v) else v) for side, v in values.items()}

    crossing = {SEX_WORDS[s]: sides(sens["rho_crossing"].sel(sex=s)) for s in ("F", "M")}
    crossing["Pooled"] = sides(sens["rho_crossing_pooled"])
    mean_zero = {SEX_WORDS[s]: float(sens["rho_mean_zero"].sel(sex=s)) for s in ("F", "M")}
    mean_zero["Pooled"] = float(sens["rho_mean_zero_pooled"])
    zero = sens["rho_indirect_zero"]
    return {
        "model": str(tree.attrs.get("model_name", MEDIATION_MODEL)),
        "meaning": "correlation of the session glutamate-response residual and the "
        "post-infusion symptom residual (unmeasured confounding) at which the indirect "
        "effect's interval first includes 0 (Imai, Keele & Tingley 2010)",
        "crossing_prob": float(sens.attrs["crossing_prob"]),
        "rho_crossing": crossing,
        "rho_mean_zero": mean_zero,
        "rho_indirect_zero": {
            "mean": float(zero.sel(statistic="mean")),
            **{
                f"eti{round(p * 100)}": [
                    float(zero.sel(statistic=f"eti{round(p * 100)}_low")),
                    float(zero.sel(statistic=f"eti{round(p * 100)}_high")),
                ]
                for p in PROBS.values()
            },
        },
    }


def _primary(da: xr.DataArray) -> xr.DataArray:
    """Select the primary (first) post timepoint of a by-timepoint variable."""
    if "post_timepoint" in da.dims:
        return da.isel(post_timepoint=0)
    return da


DIGIT_WORDS = ("Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine")


def macro_word(label: str) -> str:
    """Return a label as letters only, for keys and LaTeX macro names.

    Words are capitalised and joined, digits spelled out.

    Examples
    --------
    >>> macro_word("MDD"), macro_word("site 2"), macro_word("naltrexone")
    ('MDD', 'SiteTwo', 'Naltrexone')
    """
    text = "".join(f" {DIGIT_WORDS[int(c)]} " if c.isdigit() else c for c in str(label))
    words = "".join(c if c.isalpha() else " " for c in text).split()
    return "".join(w[:1].upper() + w[1:] for w in words) or "Level"


def level_words(tree: xr.DataTree) -> dict[str, str]:
    """Return the word of each level of the artifact's pooling factor (sexes: Female, Male)."""
    factor = pooling_factor(tree)
    levels = [str(v) for v in tree["posterior"].to_dataset()[factor].values]
    if factor == "sex":
        return {s: SEX_WORDS[s] for s in levels}
    return {s: macro_word(s) for s in levels}


def quantity_numbers(tree: xr.DataTree, quantity: Quantity, arm: str | None = None) -> dict:
    """Return the numbers of one quantity from its artifact.

    Parameters
    ----------
    tree : xarray.DataTree
        The artifact of ``quantity.model``'s family and pooling (pooled by sex or by
        another factor).
    quantity : Quantity
        What to report.
    arm : str, optional
        With more than two conditions, the active condition reported.

    Returns
    -------
    dict
        ``model``, ``variable``, ``unit``, ``hypothesis``, ``meaning`` and
        ``estimates`` (``{"Female"|"Male"|<level word>|"Pooled"|"All": summarise_draws(...)}``)
        and, with more than two conditions, ``condition``. A quantity is reported per
        level when its variable has the dim of the pooling factor (the condition
        effects; ``symptom_change_reference`` with ``design.reference_change_by_level``),
        with ``"Pooled"`` when it has a pooled variable, and as ``"All"`` otherwise.
    """
    values = _primary(draws(tree, quantity.var))
    pooled_values = draws(tree, quantity.pooled_var) if quantity.pooled_var else None
    if arm is not None and "active_condition" in values.dims:
        values = values.sel(active_condition=arm)
        if pooled_values is not None:
            pooled_values = pooled_values.sel(active_condition=arm)
    factor = pooling_factor(tree)
    if factor not in values.dims:
        estimates = {"All": summarise_draws(values.values, quantity.direction)}
    else:
        estimates = {
            word: summarise_draws(values.sel({factor: level}).values, quantity.direction)
            for level, word in level_words(tree).items()
        }
    if pooled_values is not None:
        estimates["Pooled"] = summarise_draws(pooled_values.values, quantity.direction)
    entry = {
        "model": str(tree.attrs.get("model_name", quantity.model)),
        "variable": quantity.var,
        "unit": quantity.unit,
        "hypothesis": f"P({quantity.var} {quantity.direction} 0)",
        "meaning": quantity.meaning,
        "estimates": estimates,
    }
    return entry if arm is None else {**entry, "condition": arm}


def contrast_numbers(tree: xr.DataTree, quantity: Quantity, arm: str | None = None) -> dict:
    """Return the contrasts between levels of a per-level quantity (factors other than sex).

    From the artifact's ``<var>_contrast`` (dim ``<factor>_pair``, labels ``"b - a"``):
    per pair ``b - a`` its summary with the probability that it is above 0. The key of
    each estimate is ``<B>Minus<A>`` (:func:`macro_word`).
    """
    factor = pooling_factor(tree)
    values = _primary(draws(tree, f"{quantity.var}_contrast"))
    if arm is not None and "active_condition" in values.dims:
        values = values.sel(active_condition=arm)
    estimates = {}
    for pair in values[f"{factor}_pair"].values:
        second, first = str(pair).split(" - ")
        key = f"{macro_word(second)}Minus{macro_word(first)}"
        estimates[key] = summarise_draws(values.sel({f"{factor}_pair": pair}).values, ">")
    entry = {
        "model": str(tree.attrs.get("model_name", quantity.model)),
        "variable": f"{quantity.var}_contrast",
        "unit": quantity.unit,
        "hypothesis": f"P({quantity.var}[b] - {quantity.var}[a] > 0) per pair of {factor} levels",
        "meaning": f"difference between {factor} levels in: {quantity.meaning}",
        "estimates": estimates,
    }
    return entry if arm is None else {**entry, "condition": arm}


def headline_numbers(posteriors: Posteriors) -> dict:
    """Return every quantity of :data:`QUANTITIES` whose artifact exists.

    A quantity is read from the artifact of its model's family and pooling
    (:meth:`Posteriors.variant`: pooled by sex, else by another factor). Pooled by
    another factor, per-level estimates are keyed by the level's word
    (:func:`macro_word`) and each quantity with levels gets a ``<Key>Contrast`` entry
    (:func:`contrast_numbers`); a quantity the model does not have (the sex
    difference) is left out. With more than two conditions, every quantity with the
    dim ``active_condition`` is reported per active condition as
    ``<Key><Condition>`` (e.g. ``GlxEffectMidazolam``).

    Parameters
    ----------
    posteriors : Posteriors
        The artifacts.

    Returns
    -------
    dict
        ``simulated`` (true if any source study is simulated), ``sources`` (per
        artifact: study name, simulated flag, spec hash and provenance key) and
        ``quantities`` (``{key: quantity_numbers(...)}``) and, with a joint
        artifact, ``mediation_sensitivity`` (:func:`mediation_sensitivity_numbers`)
        and, where the poolings of a family were compared by both criteria,
        ``pooling_criteria`` (:func:`~bayes_ketamine.reporting.criteria.pooling_criteria`).
    """
    quantities, sources = {}, {}
    for quantity in QUANTITIES:
        family, pooling = quantity.model.split("_")
        tree = posteriors.variant(family, pooling)
        if tree is None or quantity.var not in tree["posterior"].data_vars:
            continue
        name = str(tree.attrs.get("model_name", quantity.model))
        sources[name] = {
            "study_name": str(tree.attrs.get("study_name", "")),
            "simulated": bool(int(tree.attrs.get("study_simulated", 0))),
            "spec_hash": str(tree.attrs.get("spec_hash", "")),
            "provenance_key": str(tree.attrs.get("provenance_key", "")),
        }
        with_arms = "active_condition" in tree["posterior"][quantity.var].dims
        contrasted = f"{quantity.var}_contrast" in tree["posterior"].data_vars
        for arm in arms(tree) if with_arms else (None,):
            key = quantity.key + ("" if arm is None else macro_word(arm))
            quantities[key] = quantity_numbers(tree, quantity, arm)
            if contrasted and quantity.pooled_var is not None:
                quantities[f"{key}Contrast"] = contrast_numbers(tree, quantity, arm)
    numbers = {
        "simulated": any(s["simulated"] for s in sources.values()),
        "sources": sources,
        "quantities": quantities,
    }
    joint = posteriors.get(MEDIATION_MODEL)
    if joint is not None and applies(joint):
        numbers["mediation_sensitivity"] = mediation_sensitivity_numbers(joint)
    criteria = pooling_criteria(posteriors)
    if criteria:
        numbers["pooling_criteria"] = criteria
    return numbers


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    """Return ``text`` with LaTeX's special characters escaped."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def _number(value: float, decimals: int) -> str:
    """Format a number for text mode with a typographic minus."""
    text = f"{value:.{decimals}f}"
    if text.startswith("-") and float(text) != 0:
        return r"\ensuremath{-}" + text[1:]
    return text.lstrip("-")


def _probability(value: float) -> str:
    """Format a probability, writing the extremes as bounds rather than 0.00 or 1.00."""
    if value > 0.995:
        return r"\ensuremath{>}0.99"
    if value < 0.005:
        return r"\ensuremath{<}0.01"
    return f"{value:.2f}"


def latex_macros(numbers: dict) -> str:
    r"""Return ``\newcommand`` definitions of every number in ``numbers``.

    Parameters
    ----------
    numbers : dict
        Output of :func:`headline_numbers`.

    Returns
    -------
    str
        The content of ``numbers.tex``.
    """
    base = sorted(QUANTITIES, key=lambda q: -len(q.key))
    decimals = {
        k: next(q.decimals for q in base if k.startswith(q.key)) for k in numbers["quantities"]
    }
    simulated = numbers["simulated"]
    studies = sorted({s["study_name"] for s in numbers["sources"].values()})
    lines = [
        "% Generated by bayes_ketamine.reporting.write_numbers from fitted artifacts.",
        "% Do not edit; regenerate with `bayes-ketamine numbers`.",
        rf"\newcommand{{\StudySimulated}}{{{'yes' if simulated else 'no'}}}",
        rf"\newcommand{{\SimulatedNote}}{{{'SIMULATED DATA' if simulated else ''}}}",
        rf"\newcommand{{\StudyName}}{{{latex_escape('; '.join(studies))}}}",
    ]
    for key, entry in numbers["quantities"].items():
        lines.append(f"% {key}: {entry['variable']} ({entry['unit']}), {entry['hypothesis']}")
        for who, stats in entry["estimates"].items():
            stem = key + ("" if who == "All" else who)
            lines.append(rf"\newcommand{{\{stem}Mean}}{{{_number(stats['mean'], decimals[key])}}}")
            for word, prob in PROBS.items():
                low, high = stats[f"eti{round(prob * 100)}"]
                lines.append(rf"\newcommand{{\{stem}Low{word}}}{{{_number(low, decimals[key])}}}")
                lines.append(rf"\newcommand{{\{stem}High{word}}}{{{_number(high, decimals[key])}}}")
            lines.append(rf"\newcommand{{\{stem}Prob}}{{{_probability(stats['prob'])}}}")
    if "mediation_sensitivity" in numbers:
        lines.extend(_mediation_macros(numbers["mediation_sensitivity"]))
    if "pooling_criteria" in numbers:
        lines.extend(_pooling_macros(numbers["pooling_criteria"]))
    return "\n".join(lines) + "\n"


def _mediation_macros(sensitivity: dict) -> list[str]:
    """Return the macros of :func:`mediation_sensitivity_numbers`' output."""
    lines = [
        f"% Mediation sensitivity ({sensitivity['model']}): rho at which the indirect "
        f"effect's {round(sensitivity['crossing_prob'] * 100)} % interval first includes 0"
    ]
    for who, sides in sensitivity["rho_crossing"].items():
        for side, word in SIDE_WORDS.items():
            value = sides[side]
            text = "none" if value is None else _number(value, 2)
            lines.append(rf"\newcommand{{\IndirectEffect{who}Rho{word}}}{{{text}}}")
    for who, value in sensitivity["rho_mean_zero"].items():
        lines.append(rf"\newcommand{{\IndirectEffect{who}RhoMeanZero}}{{{_number(value, 2)}}}")
    zero = sensitivity["rho_indirect_zero"]
    lines.append(rf"\newcommand{{\RhoIndirectZeroMean}}{{{_number(zero['mean'], 2)}}}")
    for word, prob in PROBS.items():
        low, high = zero[f"eti{round(prob * 100)}"]
        lines.append(rf"\newcommand{{\RhoIndirectZeroLow{word}}}{{{_number(low, 2)}}}")
        lines.append(rf"\newcommand{{\RhoIndirectZeroHigh{word}}}{{{_number(high, 2)}}}")
    return lines


def _camel(name: str) -> str:
    """Return ``name`` (e.g. ``log_glx``) as CamelCase letters for a macro name."""
    return "".join(part.capitalize() for part in name.split("_") if part.isalpha())


def _pooling_macros(criteria: dict) -> list[str]:
    """Return the macros of the pooling comparison by both criteria (module docstring)."""
    lines = ["% Pooling variants: repaired PSIS-LOO vs leave-one-participant-out CV"]
    agree_words = {True: "yes", False: "no", None: "undecided"}
    for family, by_var in criteria.items():
        for var, entry in by_var.items():
            stem = _camel(family) + _camel(var)
            lines.append(f"% {family} ({var}): {latex_escape(entry['why'])}")
            lines.append(
                rf"\newcommand{{\{stem}PoolingCriteriaAgree}}{{{agree_words[entry['agree']]}}}"
            )
            for label in ("loo", "cv"):
                ranking = entry[label]
                word = _camel(label)
                best = ranking["order"][0].rsplit("_", 1)[1] if ranking["order"] else "unranked"
                lines.append(rf"\newcommand{{\{stem}Pooling{word}Best}}{{{best}}}")
                for model in (f"{family}_{p}" for p in POOLINGS):
                    name = stem + _camel(model.rsplit("_", 1)[1]) + word + "ElpdDiff"
                    if model in ranking["elpd_diff"]:
                        diff = _number(-abs(ranking["elpd_diff"][model]), 1)
                        se = _number(ranking["dse"][model], 1)
                    else:
                        diff = se = "unranked"
                    lines.append(rf"\newcommand{{\{name}}}{{{diff}}}")
                    lines.append(rf"\newcommand{{\{name}Se}}{{{se}}}")
    return lines


@deprecated_call_forms(positional=("out_dir",))
def write_numbers(
    posteriors_dir: str | Path | Posteriors,
    *,
    out_dir: str | Path,
    mixed_studies: bool = False,
) -> list[Path]:
    r"""Write the headline numbers as ``numbers.json`` and ``numbers.tex``.

    The artifacts must all be fits to the same study data (root attribute
    ``data_hash``), unless ``mixed_studies``: then each quantity is still read from one
    artifact, ``numbers.json`` names the study of each source and ``\StudyName`` lists
    every study.

    Parameters
    ----------
    posteriors_dir : str, pathlib.Path or Posteriors
        Folder of the fitted artifacts, or a :class:`Posteriors` of it (e.g. holding
        artifacts already in memory, which are not read again).
    out_dir : str or pathlib.Path
        Folder of the output files (created if needed).
    mixed_studies : bool, default False
        Allow artifacts of different studies (a deliberate cross-study report).

    Returns
    -------
    list of pathlib.Path
        The JSON and the LaTeX file.

    Raises
    ------
    MixedStudiesError
        If the artifacts were fitted to different studies and not ``mixed_studies``.

    Examples
    --------
    The artifacts come from fitting the models, so the doctests skip the call:

    >>> from bayes_ketamine.reporting import write_numbers
    >>> write_numbers("posteriors", out_dir="manuscript")  # doctest: +SKIP
    [PosixPath('manuscript/numbers.json'), PosixPath('manuscript/numbers.tex')]
    """
    posteriors = as_posteriors(posteriors_dir)
    if not mixed_studies:
        posteriors.require_one_study()
    numbers = headline_numbers(posteriors)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, tex_path = out_dir / "numbers.json", out_dir / "numbers.tex"
    json_path.write_text(json.dumps(numbers, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    tex_path.write_text(latex_macros(numbers), encoding="utf-8")
    return [json_path, tex_path]
