"""The public-API convention of docs/architecture.md, checked on every public function.

Data first and positional, options keyword-only; one name per idea; the old call forms
of moved functions still work for one release, with a DeprecationWarning.
"""

from __future__ import annotations

import importlib
import inspect
import warnings

import pytest

PACKAGES = (
    "bayes_ketamine.data",
    "bayes_ketamine.models",
    "bayes_ketamine.inference",
    "bayes_ketamine.reporting",
    "bayes_ketamine.figures",
    "bayes_ketamine.calibration",
)
DATA_PAIRS = {
    "build_model": ("spec", "study"),
    "draws": ("tree", "var"),
    "interval": ("values", "prob"),
    "response_profile": ("time_min", "tau_min"),
    "sbc_rank": ("draws", "truth", "thin_to"),
    "uniformity_band": ("n", "n_ranks"),
    "uniformity_test": ("ranks", "n_ranks"),
    "write_study": ("study", "folder"),
}
"""Functions whose data are several inputs (all positional), as the page allows."""
OLD_NAMES = {"out", "progressbar", "posteriors_dir_out", "output", "outdir"}


def _public_functions():
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                yield f"{package}.{name}", obj


@pytest.mark.parametrize(("name", "func"), list(_public_functions()))
def test_public_function_takes_its_data_positionally_and_options_by_keyword(name, func):
    params = inspect.signature(func).parameters.values()
    positional = [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
    allowed = DATA_PAIRS.get(func.__name__, positional[:1])
    assert positional == list(allowed)[: len(positional)], f"{name}: {positional}"
    assert not {p.name for p in params} & OLD_NAMES


def test_old_call_forms_still_work_with_a_deprecation_warning(tmp_path):
    from bayes_ketamine.inference import compare

    with pytest.warns(DeprecationWarning, match="out= is deprecated; use out_path="):
        with pytest.raises(ValueError, match="at least two"):
            compare([tmp_path / "a.nc"], out=tmp_path / "t.nc")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="at least two"):
            compare([tmp_path / "a.nc"], out_path=tmp_path / "t.nc")
