"""One study per output folder: the getting-started path with a second study.

Follows ``docs/getting_started.md`` (step by step) on a simulated study ``my_sim`` next
to the embedded default study, with NUTS mocked, and shows that ``fit`` writes each
study to its own folder and that ``numbers``, ``figures`` and ``compare`` never
combine artifacts of different studies unless asked to (``numbers --mixed-studies``).
"""

import json
import shutil

import pytest
from inference_toy import fake_sample_posterior
from typer.testing import CliRunner

from bayes_ketamine.cli import app
from bayes_ketamine.inference import fitting
from bayes_ketamine.inference.stored import read_attrs
from bayes_ketamine.models import SPEC_DIR

runner = CliRunner()
FAST = ["--draws", "40", "--tune", "10", "--chains", "2", "--quiet"]
DEFAULT_NAME = "Simulated GO-MARK-like crossover (seed 20250)"
MY_NAME = "Simulated GO-MARK-like crossover (seed 7)"


def run(*args: str, code: int = 0):
    result = runner.invoke(app, list(args), prog_name="bayes-ketamine")
    assert result.exit_code == code, result.output
    return result


@pytest.fixture(scope="module")
def two_studies(tmp_path_factory):
    """The getting-started path on ``my_sim``, and one fit of the default study."""
    folder = tmp_path_factory.mktemp("getting_started")
    shutil.copytree(SPEC_DIR, folder / "models")  # the guide runs in the repository
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        mp.setattr(fitting, "posterior_sampler", fake_sample_posterior)
        run("simulate", "my_sim", "--seed", "7", "--participants", "6")
        run("validate", "my_sim")
        for model in ("glutamate_partial", "symptoms_partial", "joint_partial"):
            # Mocked draws come from the prior, so the verdict fails: exit code 1.
            run("fit", f"models/{model}.toml", "--study", "my_sim", *FAST, code=1)
        run("fit", "models/symptoms_partial.toml", *FAST, code=1)  # the default study
    return folder


@pytest.fixture
def in_two_studies(two_studies, monkeypatch):
    monkeypatch.chdir(two_studies)
    return two_studies


def test_fit_writes_each_study_to_its_own_folder(in_two_studies):
    root = in_two_studies / "posteriors"
    assert sorted(p.name for p in root.glob("*.nc")) == ["symptoms_partial.nc"]
    assert sorted(p.name for p in (root / "my_sim").glob("*.nc")) == [
        "glutamate_partial.nc",
        "joint_partial.nc",
        "symptoms_partial.nc",
    ]
    assert read_attrs(root / "symptoms_partial.nc")["study_name"] == DEFAULT_NAME
    assert read_attrs(root / "my_sim" / "joint_partial.nc")["study_name"] == MY_NAME


def test_numbers_and_figures_keep_the_studies_apart(in_two_studies):
    run("check", "posteriors/my_sim/joint_partial.nc", "--quiet", code=1)
    run("numbers")
    default = json.loads((in_two_studies / "posteriors/numbers/numbers.json").read_text())
    assert {s["study_name"] for s in default["sources"].values()} == {DEFAULT_NAME}
    run("numbers", "--posteriors", "posteriors/my_sim")
    mine = in_two_studies / "posteriors/my_sim/numbers"
    assert {
        s["study_name"] for s in json.loads((mine / "numbers.json").read_text())["sources"].values()
    } == {MY_NAME}
    assert rf"\newcommand{{\StudyName}}{{{MY_NAME}}}" in (mine / "numbers.tex").read_text()
    figures = run("figures", "--posteriors", "posteriors/my_sim").stdout.split()
    assert "posteriors/my_sim/figures/fig4_mediation.png" in figures


def test_a_folder_with_two_studies_is_refused(in_two_studies, tmp_path):
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    shutil.copy(in_two_studies / "posteriors/symptoms_partial.nc", mixed)
    shutil.copy(in_two_studies / "posteriors/my_sim/glutamate_partial.nc", mixed)
    mine = read_attrs(mixed / "glutamate_partial.nc")["data_hash"][:8]
    default = read_attrs(mixed / "symptoms_partial.nc")["data_hash"][:8]
    studies = (
        f"{mixed} holds artifacts of 2 different studies: '{MY_NAME}' (data {mine}): "
        f"glutamate_partial; '{DEFAULT_NAME}' (data {default}): symptoms_partial; fit each "
        "study into its own folder (`fit --study DIR` writes to posteriors/<DIR name>) and "
        "pass that folder with --posteriors"
    )
    numbers = run("numbers", "--posteriors", str(mixed), code=2)
    assert numbers.stderr == (
        f"error: {studies}, or pass --mixed-studies to report them together\n"
    )
    assert not (mixed / "numbers").exists()
    figures = run("figures", "--posteriors", str(mixed), code=2)
    assert figures.stderr == f"error: {studies}\n"
    assert not (mixed / "figures").exists()
    compare = run(
        "compare",
        "posteriors/symptoms_partial.nc",
        "posteriors/my_sim/symptoms_partial.nc",
        code=2,
    )
    assert compare.stderr == (
        f"error: the artifacts were fitted to 2 different studies ('{DEFAULT_NAME}' (data "
        f"{default}): posteriors/symptoms_partial.nc; '{MY_NAME}' (data {mine}): "
        "posteriors/my_sim/symptoms_partial.nc); LOO compares models on the same "
        "observations, so compare artifacts of one study\n"
    )
    run("numbers", "--posteriors", str(mixed), "--mixed-studies")
    tex = (mixed / "numbers" / "numbers.tex").read_text()
    assert rf"\newcommand{{\StudyName}}{{{DEFAULT_NAME}; {MY_NAME}}}" in tex
