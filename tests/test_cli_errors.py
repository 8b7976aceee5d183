"""The error contract of every verb: one plain line on stderr, exit code 2, no traceback.

Each verb is run with a missing path and a bad value (and ``fit`` with a missing
optional extra); the exact message and the exit code are the test.
"""

from __future__ import annotations

import importlib.util

import pytest
from typer.testing import CliRunner

import bayes_ketamine.cli.fit_commands as fit_commands
from bayes_ketamine.cli import app
from bayes_ketamine.models import SPEC_DIR

runner = CliRunner()
SPEC = str(SPEC_DIR / "symptoms_partial.toml")
MISSING_SPEC = "missing: neither a spec file nor a named model variant (named variants: "

CASES: list[tuple[list[str], str]] = [
    # simulate
    (["simulate", "a_file/sub"], "cannot write a_file/sub: File exists (a_file)"),
    (
        ["simulate", "out", "--participants", "0"],
        "simulate: Invalid value for '--participants': Input should be greater than or "
        "equal to 1; see `bayes-ketamine simulate --help`",
    ),
    (["simulate", "full"], "full is not empty; pass --force to replace it"),
    # validate
    (["validate", "missing"], "study folder not found: missing"),
    # fit
    (["fit", "missing.toml"], "missing.toml: model spec file not found"),
    (["fit", SPEC, "--study", "missing"], "study folder not found: missing"),
    (["fit", SPEC, "--draws", "0"], "fit: draws must be a positive integer, got 0"),
    (
        ["fit", SPEC, "--draws", "abc"],
        "fit: Invalid value for '--draws': Input should be a valid integer, unable to parse "
        "string as an integer; see `bayes-ketamine fit --help`",
    ),
    (["fit", SPEC, "--sampler", "stan"], "fit: sampler 'stan' is not one of nutpie, pymc, numpyro"),
    (
        ["fit", SPEC, "--study", "broken"],
        "study broken has 2 problems (first: study.toml: required file is missing); "
        "`bayes-ketamine validate broken` lists every one",
    ),
    # check
    (["check", "missing.nc"], "missing.nc: no such artifact"),
    (["check", "a_file"], "a_file: artifact file names end in .nc (temporary or foreign file?)"),
    (
        ["check", "garbage.nc"],
        "garbage.nc: not a readable netCDF file (truncated or corrupted?): ",
    ),
    # compare
    (["compare", "missing.nc", "other.nc"], "missing.nc: no such artifact"),
    (["compare", "missing.nc"], "compare needs at least two artifacts"),
    # figures and numbers
    (
        ["figures", "--posteriors", "missing"],
        "missing: no such folder; run `fit` first or pass --posteriors DIR",
    ),
    (["figures", "--posteriors", "empty"], "no artifacts (*.nc) in empty; run `fit` first"),
    (
        ["numbers", "--posteriors", "missing"],
        "missing: no such folder; run `fit` first or pass --posteriors DIR",
    ),
    (["numbers", "--posteriors", "empty"], "no artifacts (*.nc) in empty; run `fit` first"),
    # run
    (["run", "--study", "missing"], "study folder not found: missing"),
    (["run", "--study", "/missing"], "study folder not found: /missing"),
    (["run", "--draws", "0"], "run: draws must be a positive integer, got 0"),
    # sbc and power
    (["sbc", "missing"], MISSING_SPEC),
    (
        ["sbc", "glutamate_partial", "--simulations", "abc"],
        "sbc: Invalid value for '--simulations': Input should be a valid integer, unable to "
        "parse string as an integer; see `bayes-ketamine sbc --help`",
    ),
    (["power", "--spec", "missing"], MISSING_SPEC),
    (
        ["power", "--n-per-sex", "abc"],
        "power: --n-per-sex takes whole numbers of at least 2 separated by commas, e.g. "
        "10,20,40; got 'abc'",
    ),
    # cv
    (["cv", "missing"], MISSING_SPEC),
    (["cv", SPEC, "--study", "missing"], "study folder not found: missing"),
    (["cv", SPEC, "--draws", "0"], "cv: draws must be a positive integer, got 0"),
    (["frobnicate"], "No such command 'frobnicate'; see `bayes-ketamine --help`"),
]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty working folder with a file, an empty folder and a broken study."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a_file").write_text("not a folder")
    (tmp_path / "garbage.nc").write_text("not netCDF")
    (tmp_path / "empty").mkdir()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "participants.csv").write_text("participant_id,sex\np1,F\n")
    (tmp_path / "broken" / "symptoms.csv").write_text(
        "participant_id,session,condition,timepoint,hours,score\np1,1,placebo,pre,-1,30\n"
    )
    return tmp_path


@pytest.mark.parametrize(("args", "message"), CASES, ids=[" ".join(a)[-40:] for a, _ in CASES])
def test_every_verb_reports_one_line_and_exit_code_2(workdir, args, message):
    result = runner.invoke(app, args, prog_name="bayes-ketamine")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {message}")
    assert "Traceback" not in result.output and "[red]" not in result.output


def test_validate_of_an_invalid_folder_lists_every_problem_and_exits_2(workdir):
    result = runner.invoke(app, ["validate", "broken"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "broken: 2 problem(s)",
        "  study.toml: required file is missing",
        "  symptoms.csv, line 2, column 'hours': no timepoint is after the infusion "
        "(hours >= 0); the models compare ratings before and after it. Timepoints: "
        "'pre' at -1 h",
    ]


def test_missing_optional_extra_is_named_before_any_work(workdir, monkeypatch):
    real_find_spec = importlib.util.find_spec

    def without_jax(name, *args):
        return None if name in ("jax", "numpyro") else real_find_spec(name, *args)

    def no_study(name):
        raise AssertionError("the study was opened before the extra was checked")

    monkeypatch.setattr(importlib.util, "find_spec", without_jax)
    monkeypatch.setattr(fit_commands, "study_or_exit", no_study)
    result = runner.invoke(app, ["fit", SPEC, "--sampler", "numpyro"])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: numpyro needs the optional package(s) jax, numpyro, which are not "
        "installed; install them with: pip install 'bayes_ketamine[numpyro]'\n"
    )


def test_an_unexpected_error_is_one_line_too(workdir, monkeypatch):
    def broken_fit(*args, **kwargs):
        raise RuntimeError("something deep\nwent wrong")

    monkeypatch.setattr(fit_commands, "fit", broken_fit)
    result = runner.invoke(app, ["fit", SPEC, "--study", "default", "--quiet"])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: RuntimeError: something deep; went wrong "
        "(set BAYES_KETAMINE_DEBUG=1 to see where it happened)\n"
    )


@pytest.mark.parametrize(
    ("column", "problem"),
    [
        ("nosuchcol", "no such column (pooling by 'nosuchcol'); columns are "),
        ("participant_id", "identifies the participants"),
    ],
)
def test_run_checks_pool_by_before_any_fit(workdir, monkeypatch, column, problem):
    import bayes_ketamine.pipeline as pipeline

    def no_run(*args, **kwargs):
        raise AssertionError("the analysis started before --pool-by was checked")

    monkeypatch.setattr(pipeline, "run_analysis", no_run)
    result = runner.invoke(app, ["run", "--pool-by", column])
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: run --pool-by: ")
    assert f"participants.csv, column {column!r}: {problem}" in line
