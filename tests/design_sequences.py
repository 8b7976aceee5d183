"""Sequences of the multi-arm designs the tests simulate (SIMULATED studies)."""

WILLIAMS = (
    "placebo-naltrexone-midazolam",
    "naltrexone-midazolam-placebo",
    "midazolam-placebo-naltrexone",
    "placebo-midazolam-naltrexone",
    "naltrexone-placebo-midazolam",
    "midazolam-naltrexone-placebo",
)
"""Williams design for three conditions: each follows each other once per period pair."""
