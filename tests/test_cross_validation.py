"""Cross-validation by participant: folds, the held-out density, and runs on a loopback cluster."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest
import xarray as xr
from scipy.special import logsumexp

from bayes_ketamine.calibration.cross_validation import assign_folds
from bayes_ketamine.data.simulate import simulate_study
from bayes_ketamine.inference.settings import FitSettings

TINY = FitSettings(draws=50, tune=50, chains=1, cores=1, seed=3)


@pytest.fixture(scope="module")
def small_study():
    study, _ = simulate_study(5, n_participants=8)
    return study


def test_folds_group_participants_and_balance_sexes(small_study):
    folds = assign_folds(small_study, folds=3, seed=1)
    flat = [pid for fold in folds for pid in fold]
    assert sorted(flat) == sorted(small_study.participant_ids)  # each exactly once
    sex = small_study.participants.set_index("participant_id")["sex"]
    for s in ("F", "M"):
        counts = [sum(sex[p] == s for p in fold) for fold in folds]
        assert max(counts) - min(counts) <= 1
    assert assign_folds(small_study) == [[p] for p in small_study.participant_ids]
    with pytest.raises(ValueError, match="folds must be between 2"):
        assign_folds(small_study, folds=1)


def test_select_participants_keeps_only_their_rows(small_study):
    ids = small_study.participant_ids
    part = small_study.select_participants([ids[3], ids[1]], "two")
    assert part.participant_ids == [ids[1], ids[3]]
    assert set(part.symptoms["participant_id"]) == {ids[1], ids[3]}
    assert set(part.fmrs["participant_id"]) == {ids[1], ids[3]}
    with pytest.raises(ValueError, match="no participant"):
        small_study.select_participants(["nobody"], "x")


def test_a_selection_keeps_the_timepoints_of_the_whole_study(small_study):
    from dataclasses import replace

    from bayes_ketamine.models import build_model

    ids = small_study.participant_ids
    sym = small_study.symptoms
    only_baseline = sym[(sym["participant_id"] != ids[0]) | (sym["hours"] < 0)]
    study = replace(small_study, symptoms=only_baseline.reset_index(drop=True))
    held_out = study.select_participants([ids[0]], "held out")
    assert held_out.timepoints().equals(study.timepoints())
    assert set(held_out.symptoms["timepoint"]) == {"pre"}  # rated before the infusion only
    model = build_model("symptoms_partial", held_out)
    assert list(model.pymc_model.coords["post_timepoint"]) == ["24h"]
    assert held_out.content_hash() != replace(held_out, design_timepoints=None).content_hash()


def _posterior(pm_model, draws: int, seed: int, **fixed: np.ndarray) -> xr.Dataset:
    """Prior draws of the free variables as a one-chain posterior, some values fixed."""
    import pymc as pm

    prior = pm.sample_prior_predictive(
        draws, model=pm_model, var_names=[rv.name for rv in pm_model.free_RVs], random_seed=seed
    )["prior"].to_dataset()
    for name, value in fixed.items():
        prior[name] = prior[name] * 0 + value
    return prior


def test_held_out_density_integrates_the_new_participants_levels(small_study):
    """With a vanishing participant SD the density is that of offset 0; with a large
    one the new participant's level spreads the predictive and the density changes."""
    from bayes_ketamine.inference.batched import LogDensity
    from bayes_ketamine.inference.new_participant import held_out_elpd
    from bayes_ketamine.models import build_model

    ids = small_study.participant_ids
    held = build_model("symptoms_partial", small_study.select_participants(ids[:2], "held"))
    pm_model = held.pymc_model
    offset = "symptom_participant_offset"
    free = {rv.name for rv in pm_model.free_RVs}
    level = offset if offset in free else "symptom_participant_z"
    posterior = _posterior(pm_model, 40, 1, symptom_participant_sd=1e-9)
    posterior[level] = posterior[level] * 0.0  # the levels a vanishing SD implies
    scores = held_out_elpd(posterior, held, replicates=5, seed=0)
    loglik, _ = LogDensity(pm_model).compile()(posterior)
    owner = held.observation_labels()["score"]["participant_id"].to_numpy()
    per_draw = loglik["score"].stack(sample=("chain", "draw")).transpose("sample", ...).values
    for pid in ids[:2]:
        total = per_draw[:, owner == pid].sum(axis=1)
        expected = logsumexp(total) - np.log(total.size)
        got = float(scores["elpd"].sel(participant=pid, observed="score"))
        assert got == pytest.approx(expected, abs=1e-6)
        assert int(scores["n_obs"].sel(participant=pid, observed="score")) == (owner == pid).sum()
    wide = held_out_elpd(
        posterior.assign(symptom_participant_sd=posterior["symptom_participant_sd"] * 0 + 30.0),
        held,
        replicates=5,
    )
    assert not np.allclose(wide["elpd"].values, scores["elpd"].values, atol=0.5)


@pytest.fixture(scope="module")
def client():
    from bayes_ketamine.calibration.cluster import dask_client

    with dask_client(workers=2) as c:
        yield c


@pytest.mark.dask
@pytest.mark.sampling
def test_cv_on_a_loopback_cluster_resumes_and_survives_a_killed_worker(
    client, small_study, tmp_path
):
    from bayes_ketamine.calibration import cross_validate
    from bayes_ketamine.inference import compare

    run = {}

    def cv():
        run["result"] = cross_validate(
            "symptoms_partial",
            study=small_study,
            folds=4,
            out_dir=tmp_path,
            settings=TINY,
            replicates=4,
            client=client,
            progress=False,
        )

    thread = threading.Thread(target=cv)
    thread.start()
    pids = client.run(os.getpid)
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and thread.is_alive() and time.monotonic() < deadline:
        busy = [w for w, tasks in client.processing().items() if tasks]
        if busy:
            killed = pids[busy[0]]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.05)
    thread.join(timeout=600)
    assert killed is not None, "no fold was seen running"
    first = run["result"]
    ds = first.dataset
    assert first.computed == 4
    assert ds.sizes["participant"] == 8 and ds.sizes["fold"] == 4
    assert ds["participant"].values.tolist() == small_study.participant_ids
    assert np.isfinite(ds["elpd"]).all() and (ds["elpd"] < 0).all()
    assert float(ds["elpd_cv"].sel(observed="score")) == pytest.approx(
        float(ds["elpd"].sel(observed="score").sum())
    )
    assert ds.attrs["full_data_provenance_key"]
    stored = sorted((tmp_path / "symptoms_partial" / "sims").glob("*.nc"))
    assert len(stored) == 4
    assert killed not in {xr.open_dataset(p).attrs["pid"] for p in stored}
    client.wait_for_workers(2, timeout=60)

    # resume, through the scheduler's address (as `cv --scheduler ADDR`): only the
    # deleted fold is computed again, the others are read back
    mtimes = {p: p.stat().st_mtime_ns for p in stored[1:]}
    stored[0].unlink()
    again = cross_validate(
        "symptoms_partial",
        study=small_study,
        folds=4,
        out_dir=tmp_path,
        settings=TINY,
        replicates=4,
        scheduler=client.scheduler.address,
        progress=False,
    )
    assert again.computed == 1
    assert {p: p.stat().st_mtime_ns for p in stored[1:]} == mtimes
    others = again.dataset["held_out_in"] != 0
    xr.testing.assert_equal(
        again.dataset["elpd"].where(others, drop=True), ds["elpd"].where(others, drop=True)
    )

    # compare accepts CV results and says which criterion it used
    other = cross_validate(
        "symptoms_complete",
        study=small_study,
        folds=4,
        out_dir=tmp_path,
        settings=TINY,
        replicates=4,
        client=client,
        progress=False,
    )
    table = compare([again.path, other.path])
    assert table.attrs["criterion"] == "4-fold CV grouped by participant"
    assert set(table["model"].values) == {"symptoms_partial", "symptoms_complete"}
    assert sorted(table["rank"].values.ravel().tolist()) == [0.0, 1.0]


def _table(elpd: dict[str, float], dse: float) -> xr.Dataset:
    """A comparison table of one observed variable, as ``compare`` returns it."""
    models = list(elpd)
    best = max(elpd.values())
    order = sorted(models, key=lambda m: -elpd[m])
    return xr.Dataset(
        {
            "rank": (("model", "observed"), [[float(order.index(m))] for m in models]),
            "elpd": (("model", "observed"), [[elpd[m]] for m in models]),
            "elpd_diff": (("model", "observed"), [[elpd[m] - best] for m in models]),
            "dse": (("model", "observed"), [[0.0 if elpd[m] == best else dse] for m in models]),
        },
        coords={"model": models, "observed": ["score"]},
    )


def test_criteria_agreement_states_agreement_and_why_not():
    from bayes_ketamine.reporting.criteria import criteria_agreement

    loo = _table({"none": -300.0, "partial": -290.0, "complete": -295.0}, dse=2.0)
    same = criteria_agreement(
        loo, _table({"none": -80.0, "partial": -70.0, "complete": -75.0}, 2.0)
    )
    assert same["score"]["agree"] and same["score"]["loo_best"] == "partial"
    assert same["score"]["cv"]["order"] == ["partial", "complete", "none"]
    decisive = criteria_agreement(
        loo, _table({"none": -80.0, "partial": -75.0, "complete": -60.0}, 2.0)
    )["score"]
    assert not decisive["agree"] and decisive["cv_best"] == "complete"
    assert "new participants" in decisive["why"]
    close = criteria_agreement(
        loo, _table({"none": -80.0, "partial": -70.5, "complete": -70.0}, 2.0)
    )["score"]
    assert not close["agree"] and "not decisively" in close["why"] and "CV (0.5" in close["why"]


def test_criteria_agreement_says_when_loo_cannot_rank():
    from bayes_ketamine.reporting.criteria import criteria_agreement

    loo = _table({"none": -300.0, "partial": -290.0}, dse=2.0)
    loo["rank"][:] = np.nan
    loo.attrs["unranked_json"] = '{"score": {"none": "3 point(s) not repaired"}}'
    entry = criteria_agreement(loo, _table({"none": -80.0, "partial": -70.0}, 2.0))["score"]
    assert entry["agree"] is None and "none: 3 point(s) not repaired" in entry["why"]
