"""The data verbs of the command line: simulate and validate."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from bayes_ketamine.cli import app
from bayes_ketamine.data import load_study

runner = CliRunner()


def test_simulate_writes_a_labelled_study(tmp_path):
    out = tmp_path / "sim"
    result = runner.invoke(app, ["simulate", str(out), "--seed", "3", "--participants", "8"])
    assert result.exit_code == 0, result.output
    assert "SIMULATED DATA" in result.output
    study = load_study(out)
    assert study.simulated and len(study.participants) == 8
    assert study.metadata["simulation"]["seed"] == 3
    assert "SIMULATED DATA" in (out / "README.txt").read_text()


def test_simulate_refuses_to_overwrite_without_force(tmp_path):
    out = tmp_path / "sim"
    assert runner.invoke(app, ["simulate", str(out), "--participants", "4"]).exit_code == 0
    refused = runner.invoke(app, ["simulate", str(out), "--participants", "4"])
    assert refused.exit_code == 2
    assert "not empty" in refused.output
    forced = runner.invoke(app, ["simulate", str(out), "--participants", "6", "--force"])
    assert forced.exit_code == 0
    assert len(load_study(out).participants) == 6


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('carryover_madrs = "x"\n', "params.toml: carryover_madrs must be a number, got 'x'"),
        (
            "ketamine_madrs_change_by_level = {X = -3.0}\n",
            "ketamine_madrs_change_by_level must have exactly the keys 'F', 'M' "
            "(simulation parameters from",
        ),
    ],
)
def test_simulate_bad_parameter_file_is_one_line_naming_it(tmp_path, text, said):
    params = tmp_path / "params.toml"
    params.write_text(text)
    result = runner.invoke(app, ["simulate", str(tmp_path / "sim"), "--params", str(params)])
    assert result.exit_code == 2
    assert said in " ".join(result.output.split())
    assert "params.toml" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "sim").exists()


def test_simulate_default_folder_is_labelled(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(
        app, ["simulate", "--seed", "7", "--participants", "4", "--dropout", "0.5"]
    )
    assert result.exit_code == 0, result.output
    (folder,) = list(tmp_path.iterdir())
    assert "simulated" in folder.name
    periods = load_study(folder).summary().periods.set_index("periods")["participants"]
    assert periods[1] == 2


def test_validate_valid_folder(tmp_path):
    out = tmp_path / "sim"
    runner.invoke(app, ["simulate", str(out), "--participants", "4"])
    result = runner.invoke(app, ["validate", str(out)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output
    assert "Completed periods" in result.output


def test_validate_built_in_studies():
    for name in ("default", "nimh"):
        result = runner.invoke(app, ["validate", name])
        assert result.exit_code == 0, result.output
    assert "NIMH Ketamine" in result.output


def test_validate_lists_every_problem_and_exits_2(tmp_path):
    out = tmp_path / "sim"
    runner.invoke(app, ["simulate", str(out), "--participants", "4"])
    fmrs = (out / "fmrs.csv").read_text().splitlines()
    fields = fmrs[6].split(",")
    fields[5] = "abc"
    fmrs[6] = ",".join(fields)
    (out / "fmrs.csv").write_text("\n".join(fmrs) + "\n")
    participants = (out / "participants.csv").read_text().replace(",F,", ",X,", 1)
    (out / "participants.csv").write_text(participants)
    result = runner.invoke(app, ["validate", str(out)])
    assert result.exit_code == 2
    assert "2 problem(s)" in result.output
    assert "fmrs.csv, line 7, column 'glx': 'abc' is not a number" in result.output
    assert "column 'sex': unknown sex 'X'" in result.output


def test_validate_missing_folder(tmp_path):
    result = runner.invoke(app, ["validate", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert result.stderr == f"error: study folder not found: {tmp_path / 'nowhere'}\n"


def test_validate_nimh_with_groups_timepoints_and_scale():
    result = runner.invoke(app, ["validate", "nimh:group=all:timepoints=day2,day10:scale=HAMD"])
    assert result.exit_code == 0, result.output
    assert "MDD, BP, HC, HAM-D17" in result.output and "day10" in result.output


def test_validate_nimh_unknown_option_is_one_line():
    result = runner.invoke(app, ["validate", "nimh:grp=all"])
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ")
    assert "option 'grp=all' is not one of group=..., timepoints=..., scale=..." in line
