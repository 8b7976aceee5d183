"""The reported quantities of the manuscript and their hypothesised directions.

Plain constants without the scientific stack, shared by :mod:`.numbers` (the
manuscript numbers) and :mod:`.fit_report` (``fit`` and ``check``), which must start
without importing xarray.
"""

from __future__ import annotations

from dataclasses import dataclass

PROBS: dict[str, float] = {"EightyNine": 0.89, "NinetyFive": 0.95}
"""Equal-tailed intervals reported, by the word used in macro names."""

SEX_WORDS: dict[str, str] = {"F": "Female", "M": "Male", "pooled": "Pooled"}
"""Words for the sexes and the pooled estimate in keys and macro names."""


@dataclass(frozen=True)
class Quantity:
    """One reported posterior quantity.

    Parameters
    ----------
    key : str
        CamelCase name, the stem of its macros (letters only).
    model : str
        Artifact (model name) it is read from.
    var : str
        Posterior variable; with dim ``sex`` when ``pooled_var`` is given.
    pooled_var : str or None
        Variable of the mean over the sexes, or ``None`` for a scalar quantity.
    direction : {"<", ">"}
        The hypothesis ``var direction 0`` whose posterior probability is reported.
    unit : str
        Unit of the values.
    meaning : str
        What the probability answers.
    decimals : int
        Decimals in the LaTeX macros.
    """

    key: str
    model: str
    var: str
    pooled_var: str | None
    direction: str
    unit: str
    meaning: str
    decimals: int = 1


QUANTITIES: tuple[Quantity, ...] = (
    Quantity(
        "GlxResponse",
        "glutamate_partial",
        "glx_response",
        None,
        ">",
        "percent",
        "ketamine raises Glx/tNAA under the reference condition",
    ),
    Quantity(
        "GlxEffect",
        "glutamate_partial",
        "glx_condition_effect",
        "glx_condition_effect_pooled",
        "<",
        "percent points",
        "the active condition (naltrexone) attenuates the glutamate response",
    ),
    Quantity(
        "GlxSexDifference",
        "glutamate_partial",
        "glx_sex_difference",
        None,
        "<",
        "percent points",
        "the attenuation is larger in males than in females",
    ),
    Quantity(
        "SymptomChange",
        "symptoms_partial",
        "symptom_change_reference",
        None,
        "<",
        "scale points",
        "symptoms improve at the primary post timepoint under the reference condition",
    ),
    Quantity(
        "SymptomEffect",
        "symptoms_partial",
        "symptom_condition_effect",
        "symptom_condition_effect_pooled",
        ">",
        "scale points",
        "the active condition attenuates the symptom improvement",
    ),
    Quantity(
        "EffectB",
        "joint_partial",
        "effect_b",
        None,
        "<",
        "scale points per percent",
        "a larger glutamate response goes with a larger symptom improvement",
        decimals=2,
    ),
    Quantity(
        "IndirectEffect",
        "joint_partial",
        "indirect_effect",
        "indirect_effect_pooled",
        ">",
        "scale points",
        "the attenuation is carried by the glutamate response (indirect > 0)",
    ),
    Quantity(
        "DirectEffect",
        "joint_partial",
        "direct_effect",
        "direct_effect_pooled",
        ">",
        "scale points",
        "the active condition attenuates the improvement other than via glutamate",
    ),
    Quantity(
        "TotalEffect",
        "joint_partial",
        "total_effect",
        "total_effect_pooled",
        ">",
        "scale points",
        "the active condition attenuates the symptom improvement",
    ),
)
"""The reported quantities, in the order of the output files."""


def hypotheses() -> dict[str, str]:
    """Return the hypothesised direction of every reported variable (sexes and pooled).

    Examples
    --------
    >>> hypotheses()["glx_condition_effect_pooled"]
    '<'
    """
    return {
        var: q.direction for q in QUANTITIES for var in (q.var, q.pooled_var) if var is not None
    }
