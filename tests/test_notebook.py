"""The example notebooks run end to end against small real fits."""

import json
from pathlib import Path

import nbclient
import nbformat
import pytest

from bayes_ketamine.inference import FitSettings, fit
from bayes_ketamine.models import resolve_spec

NOTEBOOKS = Path(__file__).resolve().parents[1] / "docs" / "notebooks"
SMALL_DRAWS = "150"
"""Draws (and tuning steps) per chain of the notebooks' fits in the tests."""


def execute(name: str, *extra_cells: str) -> list[dict]:
    """Run a notebook (plus ``extra_cells`` appended) in a kernel; return its outputs."""
    path = NOTEBOOKS / f"{name}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.extend(nbformat.v4.new_code_cell(source) for source in extra_cells)
    client = nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": path.parent}},
    )
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    return outputs


def text_of(outputs: list[dict]) -> str:
    """Return the printed text and plain-text results of ``outputs``."""
    parts = [str(o.get("text", "")) for o in outputs]
    parts += [str(o.get("data", {}).get("text/plain", "")) for o in outputs]
    return "\n".join(parts)


@pytest.mark.sampling
def test_explore_posteriors_notebook_runs(tmp_path, monkeypatch):
    settings = FitSettings(draws=200, tune=300, chains=2, prior_draws=50)
    fit(resolve_spec("glutamate_partial"), settings=settings, out_dir=tmp_path, progress=False)
    monkeypatch.setenv("BAYES_KETAMINE_POSTERIORS", str(tmp_path))
    monkeypatch.setenv("BAYES_KETAMINE_MODEL", "glutamate_partial")
    outputs = execute("explore_posteriors")
    assert "SIMULATED DATA" in text_of(outputs)
    assert any("image/png" in o.get("data", {}) for o in outputs)


@pytest.mark.sampling
def test_your_own_trial_notebook_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("BAYES_KETAMINE_WORKDIR", str(tmp_path))
    monkeypatch.setenv("BAYES_KETAMINE_DRAWS", SMALL_DRAWS)
    outputs = execute(
        "your_own_trial",
        "import json; print(json.dumps({'ranked': sorted(table['rank'].to_series().dropna()"
        ".astype(int).tolist()), 'simulated': study.simulated}))",
    )
    text = text_of(outputs)
    assert "SIMULATED DATA" in text
    # the three planted mistakes, each located by file, line and column
    assert "symptoms.csv, line 5, column 'score'" in text
    assert "symptoms.csv, line 8, column 'condition'" in text
    assert "symptoms.csv, line 12, column 'participant_id'" in text
    assert json.loads(outputs[-1]["text"]) == {"ranked": [0, 1, 2], "simulated": True}
    for model in ("symptoms_none", "symptoms_partial", "symptoms_complete"):
        assert (tmp_path / "posteriors" / f"{model}.nc").is_file()
    assert (tmp_path / "figures" / "fig3_madrs.png").is_file()
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 2


@pytest.mark.sampling
def test_nimh_real_data_notebook_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("BAYES_KETAMINE_WORKDIR", str(tmp_path))
    monkeypatch.setenv("BAYES_KETAMINE_DRAWS", SMALL_DRAWS)
    outputs = execute(
        "nimh_real_data",
        "import json; print(json.dumps({k: [v['estimate'], v['2.5 %'], v['97.5 %']]"
        " for k, v in rows.items()}))",
    )
    text = text_of(outputs)
    assert "ds005917" in text and "CC0" in text
    effects = json.loads(outputs[-1]["text"])
    estimate, low, high = effects.pop("LMM (REML)")
    assert low < estimate < high < 0  # ketamine lowers MADRS more than placebo
    for name, (mean, lower, upper) in effects.items():
        # the Bayesian and REML estimates of one effect on the same rows agree
        assert lower < estimate < upper, name
        assert low < mean < high, name
    assert any("image/png" in o.get("data", {}) for o in outputs)
