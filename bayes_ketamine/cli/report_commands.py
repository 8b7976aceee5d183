"""Command-line verbs for results: ``figures`` and ``numbers``, read from artifacts only.

Exit codes: 0 success; 2 the command cannot run (no artifact folder, no artifact any
output needs, or an unreadable artifact).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

EXIT_UNUSABLE = 2

PosteriorsOption = Annotated[
    Path, typer.Option("--posteriors", help="Folder of the fitted artifacts (*.nc).")
]


def _check_folder(console: Console, folder: Path) -> None:
    """Exit with code 2 unless ``folder`` holds at least one artifact."""
    if not folder.is_dir() or not any(folder.glob("*.nc")):
        console.print(f"[red]error:[/red] no artifacts (*.nc) in {folder}; run `fit` first")
        raise typer.Exit(EXIT_UNUSABLE)


def figures_command(
    posteriors: PosteriorsOption = Path("posteriors"),
    out: Annotated[
        Path | None, typer.Option(help="Folder of the figure files; default POSTERIORS/figures.")
    ] = None,
) -> None:
    """Draw the paper's figures (PNG and PDF) from the fitted artifacts."""
    out = out or posteriors / "figures"
    from bayes_ketamine.figures import make_figures
    from bayes_ketamine.inference import ArtifactError

    console = Console(stderr=True)
    _check_folder(console, posteriors)
    try:
        paths = make_figures(posteriors, out)
    except ArtifactError as err:
        console.print(f"[red]error:[/red] {err}", soft_wrap=True)
        raise typer.Exit(EXIT_UNUSABLE) from err
    if not paths:
        console.print(f"[red]error:[/red] no figure could be drawn from {posteriors}")
        raise typer.Exit(EXIT_UNUSABLE)
    for path in paths:
        typer.echo(str(path))


def numbers_command(
    posteriors: PosteriorsOption = Path("posteriors"),
    out: Annotated[
        Path | None,
        typer.Option(help="Folder of numbers.json and numbers.tex; default POSTERIORS/numbers."),
    ] = None,
) -> None:
    """Write the headline numbers as JSON and LaTeX macros from the fitted artifacts."""
    out = out or posteriors / "numbers"
    from bayes_ketamine.inference import ArtifactError
    from bayes_ketamine.reporting import headline_numbers, write_numbers
    from bayes_ketamine.reporting.artifacts import Posteriors

    console = Console(stderr=True)
    _check_folder(console, posteriors)
    try:
        if not headline_numbers(Posteriors(posteriors))["quantities"]:
            console.print(
                f"[red]error:[/red] {posteriors} has none of glutamate_partial, "
                "symptoms_partial, joint_partial"
            )
            raise typer.Exit(EXIT_UNUSABLE)
        paths = write_numbers(posteriors, out)
    except ArtifactError as err:
        console.print(f"[red]error:[/red] {err}", soft_wrap=True)
        raise typer.Exit(EXIT_UNUSABLE) from err
    for path in paths:
        typer.echo(str(path))


def register(app: typer.Typer) -> None:
    """Add the ``figures`` and ``numbers`` verbs to ``app``."""
    app.command("figures")(figures_command)
    app.command("numbers")(numbers_command)
