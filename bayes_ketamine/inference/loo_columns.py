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
