"""Suite-wide settings."""

import pytest

from bayes_ketamine.inference import precompile


@pytest.fixture(autouse=True)
def _no_precompile_helper(monkeypatch):
    """Runs in tests mock sampling: no helper process compiling real models meanwhile."""
    monkeypatch.setenv(precompile.ENV_SWITCH, "0")
