"""The ``bayes-ketamine`` command line; each part of the package registers its verbs."""

import typer

from bayes_ketamine.cli import data_commands, fit_commands, report_commands, run_command
from bayes_ketamine.cli.errors import OneLineErrors

app = typer.Typer(
    name="bayes-ketamine",
    cls=OneLineErrors,
    help="Bayesian hierarchical models of ketamine crossover trials with opioid blockade.",
    no_args_is_help=True,
)
data_commands.register(app)
fit_commands.register(app)
report_commands.register(app)

from bayes_ketamine.cli import calibration_commands, cv_command  # noqa: E402

calibration_commands.register(app)
cv_command.register(app)
run_command.register(app)
