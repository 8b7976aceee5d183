"""Command-line verbs for calibration and design: ``sbc`` and ``power``.

Both run their simulations on Dask (a local cluster of ``--workers`` processes, or an
existing scheduler given by ``--scheduler``), store each simulation as it finishes and
resume from what is stored. Exit codes (:mod:`bayes_ketamine.cli.errors`): 0 success;
1 SBC found a non-uniform parameter or failed fits; 2 the command cannot run (bad spec,
option or output folder).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bayes_ketamine.cli.errors import fail
from bayes_ketamine.cli.options import (
    Draws,
    FitChains,
    MasterSeed,
    NoProgress,
    RunFolder,
    Scheduler,
    Tune,
    Workers,
)
from bayes_ketamine.cli.studies import STUDY_HELP, study_or_exit
from bayes_ketamine.data.simulation_parameters import CONDITIONS, SimulationParameters
from bayes_ketamine.inference.settings import CORES, MASTER_SEED, SamplerSettings

EXIT_NOT_CALIBRATED = 1
_STYLE = {"uniform": "green", "suspect": "yellow", "non-uniform": "red"}


def _run_errors() -> tuple[type[Exception], ...]:
    """Return the errors a calibration run reports as one line: bad spec, run or value."""
    from bayes_ketamine.calibration.store import RunMismatchError
    from bayes_ketamine.models.spec import SpecError

    return (SpecError, RunMismatchError, OSError, ValueError)


def _calibrate[Result](
    run: Callable[..., Result],
    spec: str,
    *,
    seed: int,
    workers: int,
    scheduler: str | None,
    quiet: bool,
    **options: Any,
) -> Result:
    """Return ``run(spec, **options)`` with the options ``sbc`` and ``power`` share.

    ``run`` is ``run_sbc`` or ``run_power``; a bad spec, run or value is one line and
    exit code 2.
    """
    try:
        return run(
            spec, seed=seed, workers=workers, scheduler=scheduler, progress=not quiet, **options
        )
    except _run_errors() as err:
        raise fail(err) from err


def _settings(
    draws: int, tune: int, chains: int, thin: int, target_accept: float
) -> SamplerSettings:
    return SamplerSettings(
        draws=draws, tune=tune, chains=chains, thin_to=thin, target_accept=target_accept
    )


def _glx_effect_option(sex: str) -> typer.models.OptionInfo:
    """Return ``--male-effect`` or ``--female-effect``; the help names the simulator's default."""
    default = SimulationParameters().glx_condition_effect_pct[sex]
    people = {"M": "males", "F": "females"}[sex]
    return typer.Option(
        help=f"{CONDITIONS[1].capitalize()} effect on the Glx response, {people}, % "
        f"(default {default:g})."
    )


def sbc_command(
    spec: Annotated[
        str, typer.Argument(help="Model spec file or variant name, e.g. joint_partial.")
    ],
    simulations: Annotated[int, typer.Option(help="Number of simulations N.")] = 100,
    study: Annotated[
        str,
        typer.Option(help=f"Study whose design is simulated. {STUDY_HELP}"),
    ] = "default",
    workers: Workers = CORES,
    scheduler: Scheduler = None,
    out: RunFolder = Path("posteriors/sbc"),
    seed: MasterSeed = MASTER_SEED,
    draws: Draws = SamplerSettings.draws,
    tune: Tune = SamplerSettings.tune,
    chains: FitChains = SamplerSettings.chains,
    thin: Annotated[
        int, typer.Option(help="L thinned draws to rank among (rank 0..L).")
    ] = SamplerSettings.thin_to,
    target_accept: Annotated[
        float, typer.Option(help="NUTS target acceptance.")
    ] = SamplerSettings.target_accept,
    quiet: NoProgress = False,
) -> None:
    """Simulation-based calibration of SPEC: rank true prior draws among posterior draws.

    The simulated data sets have the design of --study (its participants, levels of
    the pooling factor, conditions, sessions and rows); only the outcomes are drawn.
    """
    from bayes_ketamine.calibration.sbc import run_sbc

    design = study_or_exit(study)
    result = _calibrate(
        run_sbc,
        spec,
        seed=seed,
        workers=workers,
        scheduler=scheduler,
        quiet=quiet,
        simulations=simulations,
        study=design,
        out_dir=out,
        settings=_settings(draws, tune, chains, thin, target_accept),
    )
    v = result.verdicts
    table = Table(title=f"SBC {result.out_dir.name}: {v.attrs['n_simulations']} simulations")
    table.add_column("parameter", no_wrap=True)
    for col in ("verdict", "p", "p (Holm)", "mean bulk ESS"):
        table.add_column(col)
    for k, name in enumerate(v["parameter"].values):
        verdict = str(v["verdict"].values[k])
        table.add_row(
            escape(str(name)),  # labels such as "effect[naltrexone,F]" are not markup
            f"[{_STYLE[verdict]}]{verdict}[/]",
            f"{float(v['p_value'].values[k]):.3f}",
            f"{float(v['p_holm'].values[k]):.3f}",
            f"{float(v['mean_ess_bulk'].values[k]):.0f}",
        )
    out_console = Console(width=max(Console().width, 110))
    out_console.print(table)
    out_console.print(
        f"failed fits: {v.attrs['failed_fits']} of {v.attrs['n_simulations']} "
        f"(with divergences: {v.attrs['fits_with_divergences']}; failing the analysis "
        f"thresholds: {v.attrs['workbench_failed_fits']})"
    )
    if result.new_simulations:
        per = result.wall_seconds / result.new_simulations
        out_console.print(
            f"compile per worker: {', '.join(f'{s:.1f}' for s in result.compile_seconds)} s; "
            f"{result.new_simulations} new simulations in {result.wall_seconds:.1f} s "
            f"(~{per:.2f} s per simulation)"
        )
    else:
        out_console.print("all simulations were already stored; nothing recomputed")
    out_console.print(f"wrote {result.netcdf} and {result.plot}")
    bad = (v["verdict"] == "non-uniform").any() or v.attrs["failed_fits"] > 0
    if bad:
        raise typer.Exit(EXIT_NOT_CALIBRATED)


def power_command(
    spec: Annotated[str, typer.Option(help="Model fitted to each simulated trial.")] = (
        "glutamate_partial"
    ),
    n_per_sex: Annotated[
        str,
        typer.Option(
            "--n-per-sex",
            "--n-per-level",
            help="Sample sizes per sex (per level of the pooling factor), comma-separated, "
            "e.g. 10,20,40.",
        ),
    ] = "10,20,40",
    replicates: Annotated[int, typer.Option(help="Simulated trials per sample size.")] = 50,
    effect: Annotated[
        str, typer.Option(help="'fixed' effects or a design 'prior' around them.")
    ] = "fixed",
    params: Annotated[
        Path | None,
        typer.Option(
            help="TOML file of simulation parameters that differ from the defaults: "
            "sequences (periods), extra conditions, sites and effects_by, effects; or a "
            "simulated study.toml.",
        ),
    ] = None,
    male_effect: Annotated[float | None, _glx_effect_option("M")] = None,
    female_effect: Annotated[float | None, _glx_effect_option("F")] = None,
    condition: Annotated[
        str | None,
        typer.Option(help="With more than two conditions: the active condition asked about."),
    ] = None,
    contrast: Annotated[
        str | None,
        typer.Option(help="Levels compared, FIRST-SECOND (default M-F; last-first by site)."),
    ] = None,
    effect_sd: Annotated[float, typer.Option(help="SD of the design prior, %.")] = 1.5,
    threshold: Annotated[float, typer.Option(help="Posterior probability that settles.")] = 0.95,
    workers: Workers = CORES,
    scheduler: Scheduler = None,
    out: RunFolder = Path("posteriors/power"),
    seed: MasterSeed = MASTER_SEED,
    draws: Draws = SamplerSettings.draws,
    tune: Tune = SamplerSettings.tune,
    chains: FitChains = SamplerSettings.chains,
    quiet: NoProgress = False,
) -> None:
    """Design analysis: probability that a follow-up trial settles the question, by n."""
    from bayes_ketamine.calibration.power import run_power

    sizes = parse_sizes(n_per_sex)
    try:
        simulation = power_parameters(params, male_effect, female_effect)
    except ValueError as err:
        raise fail(err) from err
    result = _calibrate(
        run_power,
        spec,
        seed=seed,
        workers=workers,
        scheduler=scheduler,
        quiet=quiet,
        n_per_sex=sizes,
        replicates=replicates,
        effect=effect,
        effect_sd=effect_sd,
        params=simulation,
        condition=condition,
        contrast=parse_contrast(contrast),
        threshold=threshold,
        out_dir=out,
        settings=_settings(draws, tune, chains, min(99, draws * chains), 0.95),
    )
    s = result.summary
    per = simulation.effects_by
    table = Table(title=f"power {result.out_dir.name}")
    table.add_column("criterion")
    for n in s["n_per_sex"].values:
        table.add_column(f"n/{per}={int(n)}")
    for crit in s["criterion"].values:
        cells = [
            f"{float(p):.2f} ± {float(se):.2f}"
            for p, se in zip(
                s["probability"].sel(criterion=crit).values,
                s["mcse"].sel(criterion=crit).values,
                strict=True,
            )
        ]
        table.add_row(str(s["criterion_label"].sel(criterion=crit).values), *cells)
    out_console = Console()
    out_console.print(table)
    out_console.print("± is the Monte Carlo SE sqrt(p(1-p)/R)")
    out_console.print(f"wrote {result.netcdf} and {result.plot}")


def power_parameters(
    path: Path | None, male_effect: float | None, female_effect: float | None
) -> SimulationParameters:
    """Return the simulation parameters of ``power``: a file's, then the sex effects.

    ``--male-effect`` and ``--female-effect`` replace the naltrexone effects of the
    file (or of the defaults); they need the effects to be keyed by sex.

    Raises
    ------
    ValueError
        For an unreadable file, or sex effects given with effects keyed by site.

    Examples
    --------
    >>> power_parameters(None, -6.0, None).glx_condition_effect_pct
    {'F': -1.5, 'M': -6.0}
    """
    import dataclasses

    from bayes_ketamine.data.simulation_parameters import read_simulation_parameters

    params = read_simulation_parameters(path) if path is not None else SimulationParameters()
    given = {
        sex: value for sex, value in (("M", male_effect), ("F", female_effect)) if value is not None
    }
    if not given:
        return params
    if params.effects_by != "sex":
        raise ValueError(
            f"power: --male-effect/--female-effect need effects keyed by sex; {path} keys "
            f"them by {params.effects_by} (set glx_condition_effect_pct there)"
        )
    effects = {**params.glx_condition_effect_pct, **given}
    return dataclasses.replace(params, glx_condition_effect_pct=effects)


def parse_contrast(text: str | None) -> tuple[str, str] | None:
    """Return the levels of ``--contrast FIRST-SECOND`` (``None`` when not given).

    Raises
    ------
    typer.Exit
        Code 2 unless the text is two labels joined by one ``-``.

    Examples
    --------
    >>> parse_contrast("D-A")
    ('D', 'A')
    """
    if text is None:
        return None
    first, sep, second = text.partition("-")
    if not (sep and first.strip() and second.strip()) or "-" in second:
        raise fail(f"power: --contrast takes two levels joined by '-', e.g. M-F; got {text!r}")
    return first.strip(), second.strip()


def parse_sizes(text: str) -> tuple[int, ...]:
    """Return the sample sizes of ``--n-per-sex`` (comma- or space-separated integers >= 2).

    Raises
    ------
    typer.Exit
        Code 2, naming the entry that is not such an integer.

    Examples
    --------
    >>> parse_sizes("10, 20 40")
    (10, 20, 40)
    """
    sizes = []
    for entry in text.replace(",", " ").split():
        if not entry.isdigit() or int(entry) < 2:
            raise fail(
                f"power: --n-per-sex takes whole numbers of at least 2 separated by commas, "
                f"e.g. 10,20,40; got {entry!r}"
            )
        sizes.append(int(entry))
    if not sizes:
        raise fail("power: --n-per-sex is empty; give sample sizes, e.g. 10,20,40")
    return tuple(sizes)


def register(app: typer.Typer) -> None:
    """Add ``sbc`` and ``power`` to the command line ``app``."""
    app.command("sbc")(sbc_command)
    app.command("power")(power_command)
