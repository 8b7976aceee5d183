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
from bayes_ketamine.figures.bands import ecdf, simultaneous_band
from bayes_ketamine.figures.ranks import fractional_ranks
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


def comparison_table(family: str, var: str, elpd: dict[str, float], dse: float, keys: dict):
    """A comparison table of one family's poolings, as ``compare`` returns it."""
    import json

    import xarray as xr

    models = [f"{family}_{p}" for p in elpd]
    values = dict(zip(models, elpd.values(), strict=True))
    best = max(values.values())
    order = sorted(models, key=lambda m: -values[m])
    table = xr.Dataset(
        {
            "rank": (("model", "observed"), [[float(order.index(m))] for m in models]),
            "elpd": (("model", "observed"), [[values[m]] for m in models]),
            "elpd_diff": (("model", "observed"), [[best - values[m]] for m in models]),
            "dse": (("model", "observed"), [[0.0 if values[m] == best else dse] for m in models]),
        },
        coords={"model": models, "observed": [var]},
    )
    table.attrs["provenance_keys_json"] = json.dumps({m: keys[m] for m in models})
    return table


def glutamate_criteria_tables(posteriors: Posteriors, cv_elpd: dict[str, float]) -> dict:
    """PSIS-LOO and CV tables of the mocked glutamate poolings, by file stem."""
    names = [f"glutamate_{p}" for p in ("none", "partial", "complete")]
    keys = {n: posteriors.get(n).attrs["provenance_key"] for n in names}
    loo = {"none": -300.0, "partial": -290.0, "complete": -295.0}
    return {
        "glutamate_poolings": comparison_table("glutamate", "log_glx", loo, 2.0, keys),
        "glutamate_poolings_cv": comparison_table("glutamate", "log_glx", cv_elpd, 3.0, keys),
    }


def test_pooling_criteria_figure_shows_both_criteria_and_the_verdict(posteriors_dir):
    from bayes_ketamine.figures import pooling_criteria

    base = Posteriors(posteriors_dir)
    cv = {"none": -80.0, "partial": -79.0, "complete": -60.0}
    posteriors = Posteriors(posteriors_dir, comparisons=glutamate_criteria_tables(base, cv))
    with style.styled():
        figures = pooling_criteria.make(posteriors)
    fig = figures[pooling_criteria.STEM]
    texts = _texts(fig)
    verdict = "disagree: PSIS-LOO prefers glutamate_partial, CV glutamate_complete"
    assert f"glutamate (log_glx): {verdict}" in texts  # both separate their first choice
    assert style.SIMULATED_LABEL in texts
    loo_ax, cv_ax = fig.axes
    assert loo_ax.get_title() == "repaired PSIS-LOO"
    assert cv_ax.get_title() == "leave-one-participant-out CV"

    def points(ax):  # elpd difference of none, partial, complete (markers, top to bottom)
        marks = [line for line in ax.get_lines() if line.get_marker() == "o"]
        return {float(m.get_ydata()[0]): float(m.get_xdata()[0]) for m in marks}

    assert points(loo_ax) == {0.0: -10.0, 1.0: 0.0, 2.0: -5.0}
    assert points(cv_ax) == {0.0: -20.0, 1.0: -19.0, 2.0: 0.0}
    thin = [line for line in cv_ax.get_lines() if line.get_linewidth() == 0.8]
    assert [float(t.get_xdata()[0]) for t in thin] == [-26.0, -25.0, 0.0]  # 2 SE of 3


def test_pooling_criteria_figure_skips_tables_of_other_artifacts(posteriors_dir):
    from bayes_ketamine.figures import pooling_criteria

    base = Posteriors(posteriors_dir)
    tables = glutamate_criteria_tables(base, {"none": -80.0, "partial": -70.0, "complete": -75.0})
    tables["glutamate_poolings_cv"].attrs["provenance_keys_json"] = (
        '{"glutamate_none": "older", "glutamate_partial": "older", "glutamate_complete": "x"}'
    )
    with pytest.warns(UserWarning, match="made from other artifacts"):
        figures = pooling_criteria.make(Posteriors(posteriors_dir, comparisons=tables))
    assert figures == {}
    assert pooling_criteria.make(Posteriors(posteriors_dir)) == {}  # no tables: no figure


def test_the_ecdf_band_is_simultaneous_not_pointwise():
    """Calibrated ECDFs leave the band in about 5 % of samples; a pointwise band's far more."""
    n, samples = 100, 400
    x, lower, upper = simultaneous_band(n)
    uniform = np.random.default_rng(5).uniform(size=(samples, n))
    curves = np.array([ecdf(u, x) for u in uniform])
    outside = ((curves < lower - 1e-12) | (curves > upper + 1e-12)).any(axis=1).mean()
    assert 0.02 <= outside <= 0.09
    half = 1.96 * np.sqrt(x * (1 - x) / n)
    pointwise = (np.abs(curves - x) > half + 1e-12).any(axis=1).mean()
    assert pointwise > 3 * outside  # the band it replaced raised false alarms


def test_rank_ecdfs_of_stuck_chains_leave_the_band():
    rng = np.random.default_rng(6)
    mixed = rng.normal(size=(4, 1000))
    stuck = mixed + np.array([0.0, 0.0, 0.0, 1.5])[:, None]  # one chain elsewhere
    for values, expect_outside in ((mixed, False), (stuck, True)):
        ranks = fractional_ranks(values)
        x, lower, upper = simultaneous_band(ranks.shape[1])
        curves = np.array([ecdf(chain, x) for chain in ranks])
        assert ((curves < lower - 1e-12) | (curves > upper + 1e-12)).any() == expect_outside
