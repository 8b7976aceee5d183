"""Command-line options shared by several verbs: each option's type and help stated once.

The defaults stay with each verb (they come from the settings classes of
:mod:`bayes_ketamine.inference.settings`, or are the verb's own).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Workers = Annotated[int, typer.Option(help="Worker processes of the local cluster.")]
Scheduler = Annotated[str | None, typer.Option(help="Address of an existing Dask scheduler.")]
MasterSeed = Annotated[int, typer.Option(help="Master seed.")]
Seed = Annotated[int, typer.Option(help="Random seed.")]
Draws = Annotated[int, typer.Option(help="Posterior draws per chain.")]
Tune = Annotated[int, typer.Option(help="Tuning steps per chain.")]
Chains = Annotated[int, typer.Option(help="Number of chains.")]
FitChains = Annotated[int, typer.Option(help="Chains per fit.")]
RunFolder = Annotated[Path, typer.Option(help="Parent folder of the run.")]
NoProgress = Annotated[bool, typer.Option(help="No progress bar.")]
