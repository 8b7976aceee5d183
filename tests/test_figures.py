"""Figures from mocked artifacts: files, byte identity, labels; no MCMC."""

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from inference_toy import fake_sample_posterior

from bayes_ketamine.data import default_study
from bayes_ketamine.figures import FIGURE_MODULES, make_figures, style
from bayes_ketamine.inference import FitSettings, fit, load_posterior
from bayes_ketamine.inference import fitting as fit_module
from bayes_ketamine.models import resolve_spec
from bayes_ketamine.reporting import Posteriors

MODELS = (
    "glutamate_none",
    "glutamate_partial",
    "glutamate_complete",
    "symptoms_partial",
    "joint_partial",
)
SETTINGS = FitSettings(draws=50, tune=10, chains=2, prior_draws=20)


def mock_posteriors(folder: Path, models=MODELS, study=None) -> Path:
    """Fit ``models`` with NUTS replaced by prior draws; return the artifact folder."""
    study = study or default_study()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fit_module, "posterior_sampler", fake_sample_posterior)
        for name in models:
            fit(resolve_spec(name), study=study, settings=SETTINGS, out_dir=folder, progress=False)
    return folder


@functools.cache
def shared_mock_posteriors() -> Path:
    """Return one folder of mocked artifacts per test process (figures and numbers)."""
    folder = Path(tempfile.mkdtemp(prefix="bk_mock_posteriors_"))
    atexit.register(shutil.rmtree, folder, True)
    return mock_posteriors(folder)


@pytest.fixture(scope="module")
def posteriors_dir():
    return shared_mock_posteriors()


@pytest.fixture(scope="module")
def figure_files(posteriors_dir, tmp_path_factory):
    return make_figures(posteriors_dir, out_dir=tmp_path_factory.mktemp("figures"))


def test_every_figure_is_written_as_png_and_pdf(figure_files):
    stems = {p.stem for p in figure_files}
    expected = {"fig1_glx_timecourse", "fig2_glx_pooling", "fig3_madrs", "fig4_mediation"}
    expected |= {"fig5_mediation_sensitivity"}
    expected |= {f"figS_{kind}_{m}" for kind in ("checks", "ranks") for m in MODELS}
    assert stems == expected
    for stem in stems:
        folder = figure_files[0].parent
        png, pdf = folder / f"{stem}.png", folder / f"{stem}.pdf"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert pdf.read_bytes()[:5] == b"%PDF-"


def test_two_runs_give_identical_bytes(posteriors_dir, figure_files, tmp_path):
    again = make_figures(posteriors_dir, out_dir=tmp_path)
    assert [p.name for p in again] == [p.name for p in figure_files]
    for first, second in zip(figure_files, again, strict=True):
        assert first.read_bytes() == second.read_bytes(), first.name


def test_trees_in_memory_give_the_bytes_of_the_folder(posteriors_dir, figure_files, tmp_path):
    trees = {name: load_posterior(posteriors_dir / f"{name}.nc") for name in MODELS}
    again = make_figures(Posteriors(posteriors_dir, trees=trees), out_dir=tmp_path)
    assert [p.name for p in again] == [p.name for p in figure_files]
    for first, second in zip(figure_files, again, strict=True):
        assert first.read_bytes() == second.read_bytes(), first.name


def test_pdf_and_png_carry_no_timestamp(figure_files):
    for path in figure_files:
        data = path.read_bytes()
        assert b"CreationDate" not in data and b"ModDate" not in data, path.name


def _texts(fig):
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]


def test_simulated_study_is_stamped_on_every_figure(posteriors_dir):
    posteriors = Posteriors(posteriors_dir)
    with style.styled():
        figures = {s: f for m in FIGURE_MODULES for s, f in m.make(posteriors).items()}
    assert len(figures) == 15
    for stem, fig in figures.items():
        texts = _texts(fig)
        assert style.SIMULATED_LABEL in texts, stem
        assert not any("NIMH" in t for t in texts), stem


def test_real_study_has_no_simulated_stamp_and_nimh_is_credited(posteriors_dir):
    tree = Posteriors(posteriors_dir).get("glutamate_partial").copy()
    tree.attrs = {**tree.attrs, "study_simulated": 0, "study_name": "NIMH Ketamine MoA (MDD)"}
    from bayes_ketamine.figures import glx_timecourse

    with style.styled():
        texts = _texts(glx_timecourse.draw(tree))
    assert style.SIMULATED_LABEL not in texts
    assert style.NIMH_CREDIT in texts


def test_missing_artifacts_are_skipped(posteriors_dir, tmp_path):
    only = tmp_path / "posteriors"
    only.mkdir()
    (only / "symptoms_partial.nc").write_bytes(
        (posteriors_dir / "symptoms_partial.nc").read_bytes()
    )
    stems = {p.stem for p in make_figures(only, out_dir=tmp_path / "figures")}
    assert stems == {"fig3_madrs", "figS_checks_symptoms_partial", "figS_ranks_symptoms_partial"}


def test_conditions_are_read_from_the_artifact(posteriors_dir):
    from bayes_ketamine.reporting import condition_labels

    for name in MODELS:
        tree = Posteriors(posteriors_dir).get(name)
        assert condition_labels(tree) == ("placebo", "naltrexone")


def test_mediation_sensitivity_figure_marks_the_crossings(posteriors_dir):
    from bayes_ketamine.figures import mediation_sensitivity
    from bayes_ketamine.inference.mediation import mediation_sensitivity as sensitivity

    tree = Posteriors(posteriors_dir).get("joint_partial")
    crossings = sensitivity(tree)["rho_crossing_pooled"].values
    with style.styled():
        fig = mediation_sensitivity.draw(tree)
    texts = _texts(fig)
    marked = [float(t.split("=")[1].replace("\u2212", "-")) for t in texts if t.startswith(" ρ = ")]
    expected = [round(float(c), 2) for c in crossings if np.isfinite(c) and c != 0.0]
    assert sorted(marked) == sorted(expected)
    assert len(fig.axes) == 2
