"""The example notebook runs end to end against a small real fit."""

from pathlib import Path

import nbclient
import nbformat
import pytest

from bayes_ketamine.inference import FitSettings, fit
from bayes_ketamine.models import resolve_spec

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "notebooks" / "explore_posteriors.ipynb"


@pytest.mark.sampling
def test_explore_posteriors_notebook_runs(tmp_path, monkeypatch):
    settings = FitSettings(draws=200, tune=300, chains=2, prior_draws=50)
    fit(resolve_spec("glutamate_partial"), settings=settings, out_dir=tmp_path, progress=False)
    monkeypatch.setenv("BAYES_KETAMINE_POSTERIORS", str(tmp_path))
    monkeypatch.setenv("BAYES_KETAMINE_MODEL", "glutamate_partial")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": NOTEBOOK.parent}},
    )
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(str(o.get("text", "")) for o in outputs)
    assert "SIMULATED DATA" in text
    assert any("image/png" in o.get("data", {}) for o in outputs)
