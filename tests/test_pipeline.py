"""The full analysis (``run``) with NUTS mocked: outputs, reuse, refresh on change."""

import json
from collections import Counter
from pathlib import Path

from typer.testing import CliRunner

from bayes_ketamine.cli import app
from bayes_ketamine.data import default_study, import_nimh
from bayes_ketamine.inference import FitSettings, comparison, load_posterior
from bayes_ketamine.pipeline import MANIFEST, analysis_variants, artifact_identity, run_analysis
from bayes_ketamine.reporting import artifacts

SETTINGS = FitSettings(draws=40, tune=10, chains=2, prior_draws=20)


def test_variants_follow_what_the_study_measures():
    assert analysis_variants(default_study()) == [
        "glutamate_none",
        "glutamate_partial",
        "glutamate_complete",
        "symptoms_none",
        "symptoms_partial",
        "symptoms_complete",
        "joint_partial",
    ]
    assert analysis_variants(import_nimh()) == [
        "symptoms_none",
        "symptoms_partial",
        "symptoms_complete",
    ]


def test_run_writes_everything_then_reuses_it(tmp_path, sampler_calls):
    study = default_study()
    first = run_analysis(
        study, out_dir=tmp_path, settings=SETTINGS, progress=False, cross_validation=False
    )
    assert sampler_calls == analysis_variants(study)
    assert set(first.comparisons) == {"glutamate", "symptoms"}
    assert all(p.is_file() for p in first.comparisons.values())
    assert {p.suffix for p in first.figures} == {".png", ".pdf"}
    assert {p.name for p in first.numbers} == {"numbers.json", "numbers.tex"}
    assert json.loads((tmp_path / "numbers" / "numbers.json").read_text())["simulated"] is True
    stamps = {p: p.stat().st_mtime_ns for p in first.figures}

    second = run_analysis(
        study, out_dir=tmp_path, settings=SETTINGS, progress=False, cross_validation=False
    )
    assert sampler_calls == analysis_variants(study)  # nothing refitted
    assert all(r.reused for r in second.fits.values())
    assert {p: p.stat().st_mtime_ns for p in second.figures} == stamps  # nothing redrawn

    third = run_analysis(
        study,
        out_dir=tmp_path,
        settings=SETTINGS,
        force=True,
        progress=False,
        cross_validation=False,
    )
    assert len(sampler_calls) == 2 * len(analysis_variants(study))
    assert any(p.stat().st_mtime_ns != stamps[p] for p in third.figures)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["inputs"] == {name: artifact_identity(r) for name, r in third.fits.items()}


def test_comparisons_figures_and_numbers_reuse_the_fitted_trees(
    tmp_path, sampler_calls, monkeypatch
):
    # The fits load through ``fitting.load_posterior``; this counts what the
    # comparisons, figures and numbers read after the fits: nothing.
    loads = Counter()

    def counting_load(path):
        loads[Path(path).stem] += 1
        return load_posterior(path)

    monkeypatch.setattr(artifacts, "load_posterior", counting_load)
    monkeypatch.setattr(comparison, "load_posterior", counting_load)
    result = run_analysis(
        default_study(),
        out_dir=tmp_path,
        settings=SETTINGS,
        progress=False,
        cross_validation=False,
    )
    assert result.figures and result.numbers and result.comparisons
    assert not loads, loads


def test_run_command_on_nimh_fits_the_symptom_family(tmp_path, sampler_calls, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        app,
        [
            "run",
            "--study",
            "nimh",
            "--draws",
            "40",
            "--tune",
            "10",
            "--chains",
            "2",
            "--no-cv",
            "--quiet",
        ],
    )
    assert sampler_calls == ["symptoms_none", "symptoms_partial", "symptoms_complete"]
    assert (tmp_path / "posteriors" / "nimh" / "symptoms_partial.nc").is_file()
    assert "Headline numbers" in result.output
    assert "SIMULATED" not in result.output
    # Mocked draws come from the prior, so the diagnostics verdict fails: exit code 1.
    assert result.exit_code == 1


def fake_cross_validation(elpd_by_pooling: dict[str, float]):
    """Return a stand-in for the pipeline's CV step: stored CV results, no sampling.

    Each participant's elpd is the pooling's value plus seeded noise; the result
    carries the full-data provenance key that ``cross_validate`` would store.
    """
    import numpy as np
    import xarray as xr

    from bayes_ketamine.calibration.cross_validation import CVResult
    from bayes_ketamine.inference.comparison import CV_RESULT_KIND
    from bayes_ketamine.inference.provenance import package_versions, provenance_key

    def cross_validate_poolings(fits, specs, study, out_dir, settings, *args):
        results = {}
        ids = study.participant_ids
        for k, name in enumerate(sorted(fits)):
            spec = specs[name]
            var = {"glutamate": "log_glx", "symptoms": "score"}.get(spec.family)
            if var is None:
                continue
            noise = np.random.default_rng(k).normal(0.0, 0.5, len(ids))
            ds = xr.Dataset(
                {
                    "elpd": (
                        ("participant", "observed"),
                        (elpd_by_pooling[spec.pooling] + noise)[:, None],
                    )
                },
                coords={"participant": ids, "observed": [var], "fold": np.arange(len(ids))},
                attrs={
                    "kind": CV_RESULT_KIND,
                    "model_name": name,
                    "study_name": study.name,
                    "data_hash": study.content_hash(),
                    "criterion": "leave-one-participant-out CV",
                    "settings_json": "{}",
                    "folds_json": "[]",
                    "full_data_provenance_key": provenance_key(
                        spec, study, settings, package_versions()
                    ),
                },
            )
            path = out_dir / name / "cv.nc"
            path.parent.mkdir(parents=True, exist_ok=True)
            ds.to_netcdf(path, engine="netcdf4")
            results[name] = CVResult(ds, path, computed=len(ids))
        return results

    return cross_validate_poolings


def test_run_states_whether_the_criteria_agree_in_numbers_figure_and_summary(
    tmp_path, sampler_calls, monkeypatch
):
    import bayes_ketamine.pipeline as pipeline
    from bayes_ketamine.figures import make_figures
    from bayes_ketamine.reporting.criteria import pooling_criteria

    fake = fake_cross_validation({"none": -4.0, "partial": -3.9, "complete": -3.0})
    monkeypatch.setattr(pipeline, "_cross_validate_poolings", fake)
    result = run_analysis(default_study(), out_dir=tmp_path, settings=SETTINGS, progress=False)
    assert {"glutamate_cv", "symptoms_cv", "criteria_agreement"} <= set(result.comparisons)
    agreement = json.loads(result.comparisons["criteria_agreement"].read_text())
    assert agreement["symptoms"]["score"]["cv_best"] == "symptoms_complete"
    numbers = json.loads((tmp_path / "numbers" / "numbers.json").read_text())
    assert numbers["pooling_criteria"] == agreement
    assert (
        r"\SymptomsScorePoolingCvBest}{complete}"
        in (tmp_path / "numbers" / "numbers.tex").read_text()
    )
    assert {p.name for p in result.figures} >= {
        "fig6_pooling_criteria.png",
        "fig6_pooling_criteria.pdf",
    }
    # The figures verb reads the stored tables, which belong to these artifacts.
    assert set(pooling_criteria(artifacts.Posteriors(tmp_path))) == {"glutamate", "symptoms"}
    again = make_figures(tmp_path, out_dir=tmp_path / "again")
    assert "fig6_pooling_criteria.png" in {p.name for p in again}
    table = pipeline.agreement_table(result)
    assert table is not None and table.row_count == 2
    assert [c.header for c in table.columns][4] == "runner-up behind by"
