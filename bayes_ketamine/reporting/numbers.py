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
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from bayes_ketamine.api import deprecated_call_forms
from bayes_ketamine.inference.mediation import stored_or_computed
from bayes_ketamine.reporting.artifacts import Posteriors, as_posteriors, draws, interval
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


def quantity_numbers(tree: xr.DataTree, quantity: Quantity) -> dict:
    """Return the numbers of one quantity from its artifact.

    Parameters
    ----------
    tree : xarray.DataTree
        The artifact ``quantity.model``.
    quantity : Quantity
        What to report.

    Returns
    -------
    dict
        ``model``, ``variable``, ``unit``, ``hypothesis``, ``meaning`` and
        ``estimates`` (``{"Female"|"Male"|"Pooled"|"All": summarise_draws(...)}``).
    """
    values = _primary(draws(tree, quantity.var))
    if quantity.pooled_var is None:
        estimates = {"All": summarise_draws(values.values, quantity.direction)}
    else:
        estimates = {
            SEX_WORDS[s]: summarise_draws(values.sel(sex=s).values, quantity.direction)
            for s in ("F", "M")
        }
        pooled = draws(tree, quantity.pooled_var).values
        estimates["Pooled"] = summarise_draws(pooled, quantity.direction)
    return {
        "model": quantity.model,
        "variable": quantity.var,
        "unit": quantity.unit,
        "hypothesis": f"P({quantity.var} {quantity.direction} 0)",
        "meaning": quantity.meaning,
        "estimates": estimates,
    }


def headline_numbers(posteriors: Posteriors) -> dict:
    """Return every quantity of :data:`QUANTITIES` whose artifact exists.

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
        artifact, ``mediation_sensitivity`` (:func:`mediation_sensitivity_numbers`).
    """
    quantities, sources = {}, {}
    for quantity in QUANTITIES:
        tree = posteriors.get(quantity.model)
        if tree is None:
            continue
        sources[quantity.model] = {
            "study_name": str(tree.attrs.get("study_name", "")),
            "simulated": bool(int(tree.attrs.get("study_simulated", 0))),
            "spec_hash": str(tree.attrs.get("spec_hash", "")),
            "provenance_key": str(tree.attrs.get("provenance_key", "")),
        }
        quantities[quantity.key] = quantity_numbers(tree, quantity)
    numbers = {
        "simulated": any(s["simulated"] for s in sources.values()),
        "sources": sources,
        "quantities": quantities,
    }
    joint = posteriors.get(MEDIATION_MODEL)
    if joint is not None:
        numbers["mediation_sensitivity"] = mediation_sensitivity_numbers(joint)
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
    decimals = {q.key: q.decimals for q in QUANTITIES}
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
