"""The command line starts without the scientific stack: ``--help`` stays fast."""

import subprocess
import sys

from typer.testing import CliRunner

from bayes_ketamine.cli import app

HEAVY = ("pymc", "pytensor", "arviz_stats", "pandas", "xarray", "scipy")
VERBS = (
    "simulate",
    "validate",
    "fit",
    "check",
    "compare",
    "figures",
    "numbers",
    "run",
    "sbc",
    "power",
)


def test_importing_the_cli_imports_no_heavy_package():
    code = (
        f"import bayes_ketamine.cli, sys; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_help_lists_every_verb():
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    listed = {
        line.strip("│ ").split()[0]
        for line in result.output.splitlines()
        if line.startswith("│ ") and line.strip("│ ")
    }
    assert set(VERBS) <= listed
