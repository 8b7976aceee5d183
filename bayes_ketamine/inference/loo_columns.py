"""What the columns of a stored LOO table (artifact group ``loo/<var>``) mean.

A light module (no imports) shared by the writer
(:mod:`bayes_ketamine.inference.loo_repair`), the comparison and the plain-words
report, which must not import the modelling stack.
"""

REPAIRED: tuple[str, ...] = ("moment_match", "refit")
"""Values of the ``repair`` column whose elpd replaces the PSIS estimate of a point."""

ESTIMATES: tuple[str, ...] = (
    "elpd_i",
    "elpd_i_psis",
    "pareto_k",
    "pareto_k_repaired",
    "n_eff_repaired",
    "repair",
)
"""Columns holding estimates and their repair; every other column labels observations."""

CV_ADVICE = "compare these models with `bayes-ketamine cv` (leave-one-participant-out)"
"""What to do when points are too many to repair one by one; ends the table's
``unrepaired_reason`` in that case (the report then gives the reason as the remedy)."""
