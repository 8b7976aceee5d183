"""Command-line verbs for results: ``figures`` and ``numbers``, read from artifacts only.

Both read the artifacts of one folder, which must all be fits to one study (root
attribute ``data_hash``); ``numbers --mixed-studies`` is the documented exception.
Exit codes (:mod:`bayes_ketamine.cli.errors`): 0 success; 2 the command cannot run (no
artifact folder, no artifact any output needs, an unreadable artifact, or artifacts of
different studies).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bayes_ketamine.cli.errors import fail

PosteriorsOption = Annotated[
    Path,
    typer.Option(
        "--posteriors",
        help="Folder of the fitted artifacts (*.nc) of one study; e.g. posteriors/my_study.",
    ),
]

_SEPARATE = (
    "; fit each study into its own folder (`fit --study DIR` writes to posteriors/<DIR "
    "name>) and pass that folder with --posteriors"
)


def _check_folder(folder: Path) -> None:
    """Exit with code 2 unless ``folder`` holds at least one artifact."""
    if not folder.is_dir():
        raise fail(f"{folder}: no such folder; run `fit` first or pass --posteriors DIR")
    if not any(folder.glob("*.nc")):
        raise fail(f"no artifacts (*.nc) in {folder}; run `fit` first")


def figures_command(
    posteriors: PosteriorsOption = Path("posteriors"),
    out: Annotated[
        Path | None, typer.Option(help="Folder of the figure files; default POSTERIORS/figures.")
    ] = None,
) -> None:
    """Draw the paper's figures (PNG and PDF) from the fitted artifacts of one study."""
    out = out or posteriors / "figures"
    from bayes_ketamine.figures import make_figures
    from bayes_ketamine.inference import ArtifactError
    from bayes_ketamine.reporting.artifacts import MixedStudiesError

    _check_folder(posteriors)
    try:
        paths = make_figures(posteriors, out_dir=out)
    except MixedStudiesError as err:
        raise fail(f"{err}{_SEPARATE}") from err
    except ArtifactError as err:
        raise fail(err) from err
    if not paths:
        raise fail(f"no figure could be drawn from {posteriors}")
    for path in paths:
        typer.echo(str(path))


def numbers_command(
    posteriors: PosteriorsOption = Path("posteriors"),
    out: Annotated[
        Path | None,
        typer.Option(help="Folder of numbers.json and numbers.tex; default POSTERIORS/numbers."),
    ] = None,
    mixed_studies: Annotated[
        bool,
        typer.Option(
            help="Allow artifacts of different studies (a deliberate cross-study report; "
            "numbers.json names the study of each number)."
        ),
    ] = False,
) -> None:
    """Write the headline numbers as JSON and LaTeX macros from the fitted artifacts."""
    out = out or posteriors / "numbers"
    from bayes_ketamine.inference import ArtifactError
    from bayes_ketamine.reporting import headline_numbers, write_numbers
    from bayes_ketamine.reporting.artifacts import MixedStudiesError, Posteriors

    _check_folder(posteriors)
    try:
        found = Posteriors(posteriors)
        if not mixed_studies:
            found.require_one_study()
        if not headline_numbers(found)["quantities"]:
            raise fail(
                f"{posteriors} has none of glutamate_partial, symptoms_partial, joint_partial"
            )
        paths = write_numbers(found, out_dir=out, mixed_studies=mixed_studies)
    except MixedStudiesError as err:
        raise fail(f"{err}{_SEPARATE}, or pass --mixed-studies to report them together") from err
    except ArtifactError as err:
        raise fail(err) from err
    for path in paths:
        typer.echo(str(path))


def register(app: typer.Typer) -> None:
    """Add the ``figures`` and ``numbers`` verbs to ``app``."""
    app.command("figures")(figures_command)
    app.command("numbers")(numbers_command)
