"""A small two-likelihood crossover model and study for the inference tests.

The toy has the names the real families use (``log_glx`` on dim ``fmrs_obs``, ``score``
on dim ``symptom_obs``, key effects per ``sex``), so the inference layer is tested
without depending on the model families.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm

from bayes_ketamine.data.study import Study
from bayes_ketamine.models.base import CrossoverModel
from bayes_ketamine.models.spec import ModelSpec

CONDITIONS = ("placebo", "naltrexone")
TIMEPOINTS = (("pre", -1.0), ("24h", 24.0))
BLOCKS = ((0, -5.0), (1, 10.0), (2, 30.0))


def toy_study(n_participants: int = 6, seed: int = 0, name: str = "toy") -> Study:
    """Return a small simulated crossover study with fMRS and symptom tables."""
    rng = np.random.default_rng(seed)
    pids = [f"P{i:02d}" for i in range(n_participants)]
    participants = pd.DataFrame(
        {
            "participant_id": pids,
            "sex": ["F" if i % 2 else "M" for i in range(n_participants)],
            "sequence": [
                "-".join(CONDITIONS if i % 2 else CONDITIONS[::-1]) for i in range(n_participants)
            ],
        }
    )
    fmrs_rows, symptom_rows = [], []
    for i, pid in enumerate(pids):
        order = CONDITIONS if i % 2 else CONDITIONS[::-1]
        base = rng.normal(0.0, 0.05)
        for session, condition in enumerate(order, start=1):
            amp = 0.08 if condition == "placebo" else 0.03
            for block, t in BLOCKS:
                log_glx = base + (amp if t > 0 else 0.0) + rng.normal(0, 0.03)
                fmrs_rows.append((pid, session, condition, block, t, float(np.exp(log_glx)), 5.0))
            pre = rng.normal(25, 4)
            drop = 10.0 if condition == "placebo" else 6.0
            for tp, hours in TIMEPOINTS:
                score = pre - (drop if hours > 0 else 0.0) + rng.normal(0, 2)
                symptom_rows.append((pid, session, condition, tp, hours, "MADRS", round(score)))
    fmrs = pd.DataFrame(
        fmrs_rows,
        columns=["participant_id", "session", "condition", "block", "time_min", "glx", "crlb_pct"],
    )
    symptoms = pd.DataFrame(
        symptom_rows,
        columns=["participant_id", "session", "condition", "timepoint", "hours", "scale", "score"],
    )
    symptoms["score"] = symptoms["score"].astype("Int64")
    return Study(
        name=name,
        simulated=True,
        conditions=CONDITIONS,
        participants=participants,
        fmrs=fmrs,
        symptoms=symptoms,
        metadata={"symptoms": {"scale": "MADRS", "min": 0, "max": 60}},
    )


def toy_spec(name: str = "toy_partial", pooling: str = "partial", **priors) -> ModelSpec:
    """Return a spec for :class:`ToyModel`."""
    return ModelSpec(name=name, family="glutamate", pooling=pooling, priors=priors)


class ToyModel(CrossoverModel):
    """Log Glx and symptom score with per-sex condition effects (test model)."""

    family = "glutamate"
    DEFAULT_PRIORS = {
        "glx_effect": {"mu": 0.0, "sigma": 0.1},
        "glx_effect_sex_sd": {"sigma": 0.05},
        "symptom_effect": {"mu": 0.0, "sigma": 5.0},
        "symptom_effect_sex_sd": {"sigma": 2.0},
    }
    observed_vars = ("log_glx", "score")
    key_effects = ("glx_condition_effect", "symptom_condition_effect")

    def build(self) -> pm.Model:
        """Build the toy model."""
        fmrs, sym = self.study.fmrs, self.study.symptoms
        coords = {
            **self.coords(),
            "fmrs_obs": np.arange(len(fmrs)),
            "symptom_obs": np.arange(len(sym)),
        }
        sex = self.level_index()
        active_f = (fmrs["condition"] == self.study.active_condition).to_numpy(float)
        post_f = (fmrs["time_min"] > 0).to_numpy(float)
        active_s = (sym["condition"] == self.study.active_condition).to_numpy(float)
        post_s = (sym["hours"] > 0).to_numpy(float)
        pf, ps = self.participant_index(fmrs), self.participant_index(sym)
        with pm.Model(coords=coords) as model:
            # contrast SDs as the toy data have them: non-centred with 3 per sex
            sessions = self.study.sessions()
            glx_effect = self.factor_effect(
                "glx_condition_effect", "glx_effect", sessions=sessions, contrast_sd=0.05
            )
            sym_effect = self.factor_effect(
                "symptom_condition_effect", "symptom_effect", sessions=sessions, contrast_sd=4.0
            )
            glx_base = pm.Normal("glx_baseline", 0.0, 0.2)
            glx_resp = pm.Normal("glx_response", 0.05, 0.05)
            glx_sigma = pm.HalfNormal("glx_sigma", 0.1)
            mu_glx = glx_base + post_f * (glx_resp + active_f * glx_effect[sex[pf]])
            pm.Normal(
                "log_glx",
                mu_glx,
                glx_sigma,
                observed=np.log(fmrs["glx"].to_numpy()),
                dims="fmrs_obs",
            )
            sym_base = pm.Normal("symptom_baseline", 25.0, 10.0)
            sym_change = pm.Normal("symptom_change", -5.0, 5.0)
            sym_sigma = pm.HalfNormal("symptom_sigma", 5.0)
            mu_sym = sym_base + post_s * (sym_change + active_s * sym_effect[sex[ps]])
            pm.Normal(
                "score",
                mu_sym,
                sym_sigma,
                observed=sym["score"].to_numpy(dtype=float),
                dims="symptom_obs",
            )
        return model

    def observation_labels(self) -> dict[str, pd.DataFrame]:
        """Return the labels of each observation."""
        sex = self.study.participants.set_index("participant_id")["sex"]
        labels = {}
        for var, table, extra in (
            ("log_glx", self.study.fmrs, "block"),
            ("score", self.study.symptoms, "timepoint"),
        ):
            frame = table[["participant_id", "session", "condition", extra]].reset_index(drop=True)
            labels[var] = frame.assign(sex=frame["participant_id"].map(sex).to_numpy())
        return labels


def toy_model(name: str = "toy_partial", seed: int = 0, **priors) -> ToyModel:
    """Return a built :class:`ToyModel` on :func:`toy_study`."""
    return ToyModel(toy_spec(name, **priors), toy_study(seed=seed))


def fake_sample_posterior(model: CrossoverModel, settings, progressbar: bool = True):
    """Stand in for NUTS: prior draws reshaped as chains, with nutpie-like sample stats.

    Used where the sampler is not what is tested; deterministic given ``settings.seed``.
    """
    from arviz_base import from_dict

    pm_model = model.pymc_model
    n = settings.chains * settings.draws
    prior = pm.sample_prior_predictive(
        draws=n,
        model=pm_model,
        random_seed=settings.seed,
        var_names=_free_and_deterministic(pm_model),
    )["prior"]
    posterior = {
        name: var.values.reshape(settings.chains, settings.draws, *var.shape[2:])
        for name, var in prior.data_vars.items()
    }
    rng = np.random.default_rng(settings.seed)
    shape = (settings.chains, settings.draws)
    sample_stats = {
        "diverging": np.zeros(shape, dtype=bool),
        "maxdepth_reached": np.zeros(shape, dtype=bool),
        "depth": np.full(shape, 3),
        "energy": rng.normal(size=shape),
        "divergence_message": np.full(shape, None, dtype=object),
    }
    observed = {rv.name: pm_model.rvs_to_values[rv].eval() for rv in pm_model.observed_RVs}
    dims = {name: list(d) for name, d in pm_model.named_vars_to_dims.items() if d}
    coords = {k: list(v) for k, v in pm_model.coords.items()}
    return from_dict(
        {"posterior": posterior, "sample_stats": sample_stats, "observed_data": observed},
        dims=dims,
        coords=coords,
    )


def _free_and_deterministic(pm_model: pm.Model) -> list[str]:
    return [v.name for v in pm_model.free_RVs] + [v.name for v in pm_model.deterministics]
