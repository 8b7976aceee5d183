"""Suite-wide settings."""

import pytest
from inference_toy import fake_sample_posterior

from bayes_ketamine.inference import fitting as fit_module
from bayes_ketamine.inference import precompile


@pytest.fixture(autouse=True)
def _no_precompile_helper(monkeypatch):
    """Runs in tests mock sampling: no helper process compiling real models meanwhile."""
    monkeypatch.setenv(precompile.ENV_SWITCH, "0")


@pytest.fixture
def sampler_calls(monkeypatch):
    """Fits use the toy stand-in sampler; the list records the model of each fit."""
    calls = []

    def counting_sampler(model, settings, progressbar=True):
        calls.append(model.spec.name)
        return fake_sample_posterior(model, settings, progressbar)

    monkeypatch.setattr(fit_module, "posterior_sampler", counting_sampler)
    return calls
