"""NIMH ketamine import, checked against counts taken directly from the shipped TSVs."""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from pathlib import Path

import pytest

import bayes_ketamine
from bayes_ketamine.data import StudyValidationError, import_nimh, load_study, write_study

SOURCE = Path(bayes_ketamine.__file__).parent / "resources" / "nimh_ketamine_moa"
CODES = {"d": "ketamine", "p": "placebo"}


def read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def randomised(groups: tuple[str, ...]) -> list[dict[str, str]]:
    rows = read_tsv(SOURCE / "participants.tsv")
    return [r for r in rows if r["group"] in groups and r["infusion_1"] != "n/a"]


def expected_ratings(groups: tuple[str, ...], sessions: set[str]) -> list[dict[str, str]]:
    ids = {r["participant_id"] for r in randomised(groups)}
    rows = read_tsv(SOURCE / "phenotype" / "phenotype.tsv")
    return [r for r in rows if r["participant_id"] in ids and r["session_id"] in sessions]


@pytest.mark.parametrize("group", ["MDD", ("MDD", "HC"), "all"])
def test_counts_match_source(group):
    groups = (
        ("MDD", "BP", "HC") if group == "all" else (group,) if isinstance(group, str) else group
    )
    study = import_nimh(group)
    source = randomised(groups)
    people = study.participants
    assert sorted(people["participant_id"]) == sorted(r["participant_id"] for r in source)
    assert Counter(people["sex"]) == Counter(r["sex"] for r in source)
    sequences = Counter(
        "-".join(CODES[r[c]] for c in ("infusion_1", "infusion_2") if r[c] != "n/a") for r in source
    )
    assert Counter(people["sequence"]) == sequences
    # A period counts as completed when the source has a day-2 rating row for it (the
    # baseline row also belongs to period 1); e.g. sub-MOA307 had two infusions but no
    # ses-p2 row, so with day 2 only it has one period of data.
    rated = {
        (r["participant_id"], r["session_id"])
        for r in read_tsv(SOURCE / "phenotype" / "phenotype.tsv")
    }
    periods = Counter()
    for r in source:
        pid, first, second = r["participant_id"], r["infusion_1"], r["infusion_2"]
        done = int((pid, "ses-b0") in rated or (pid, f"ses-{first}2") in rated)
        done += second != "n/a" and (pid, f"ses-{second}2") in rated
        periods[done] += 1
    table = study.summary().periods.set_index("periods")["participants"]
    assert {k: v for k, v in table.items() if v} == dict(periods)
    assert Counter(people["group"]) == Counter(r["group"] for r in source)


def test_all_timepoints_give_one_period_per_infusion():
    source = randomised(("MDD", "BP", "HC"))
    infusions = Counter(sum(r[c] != "n/a" for c in ("infusion_1", "infusion_2")) for r in source)
    study = import_nimh("all", timepoints=("day2", "day10"))
    table = study.summary().periods.set_index("periods")["participants"]
    assert {k: v for k, v in table.items() if v} == dict(infusions)


def test_ratings_and_missing_scores_kept():
    sessions = {"ses-b0", "ses-d2", "ses-p2"}
    expected = expected_ratings(("MDD", "BP", "HC"), sessions)
    study = import_nimh("all")
    assert len(study.symptoms) == len(expected)
    missing = sum(r["MADRS_Total"] == "n/a" for r in expected)
    assert missing > 0
    assert study.symptoms["score"].isna().sum() == missing
    assert set(study.symptoms["timepoint"]) == {"baseline", "day2"}


def test_session_mapping():
    study = import_nimh("MDD", timepoints=("day2", "day10"))
    sym = study.symptoms.set_index(["participant_id", "timepoint", "condition"])
    # sub-MOA101 had ketamine (d) first: baseline and ses-d2 in session 1, ses-p2 in session 2.
    assert sym.loc[("sub-MOA101", "baseline", "ketamine"), "session"] == 1
    assert sym.loc[("sub-MOA101", "day2", "ketamine"), "session"] == 1
    assert sym.loc[("sub-MOA101", "day2", "placebo"), "session"] == 2
    assert sym.loc[("sub-MOA101", "day10", "placebo"), "score"] == 39
    hours = study.symptoms.groupby("timepoint")["hours"].first().to_dict()
    assert hours == {"baseline": -24.0, "day2": 48.0, "day10": 240.0}
    expected = expected_ratings(("MDD",), {"ses-b0", "ses-d2", "ses-p2", "ses-d10", "ses-p10"})
    assert len(study.symptoms) == len(expected)


def test_one_period_participants_kept():
    study = import_nimh("MDD")
    people = study.participants.set_index("participant_id")
    assert people.loc["sub-MOA103", "sequence"] == "placebo"
    assert set(study.symptoms.loc[study.symptoms["participant_id"] == "sub-MOA103", "session"]) == {
        1
    }


def test_metadata_and_covariates():
    study = import_nimh("MDD")
    assert not study.simulated
    assert study.conditions == ("placebo", "ketamine")
    assert study.fmrs is None
    assert "doi:10.18112/openneuro.ds005917.v1.0.1" in study.metadata["credit"]
    assert study.metadata["source_doi"] == "doi:10.18112/openneuro.ds005917.v1.0.1"
    assert study.metadata["import"]["excluded_participants"] == ["sub-MOA117", "sub-MOA138"]
    assert {"age", "BMI", "group"} <= set(study.participants.columns)
    assert (study.participants["group"] == "MDD").all()


def test_shipped_copy_unchanged_and_credited():
    original = Path("/work/shared/data/nimh_ketamine_moa")
    if original.is_dir():
        for name in ("participants.tsv", "phenotype/phenotype.tsv", "README.md"):
            assert (SOURCE / name).read_bytes() == (original / name).read_bytes()
    credit = (SOURCE / "CREDIT.md").read_text()
    assert "CC0" in credit and "ds005917" in credit and "Evans" in credit


def test_round_trip(tmp_path):
    study = import_nimh("all", timepoints=("day2", "day10"))
    write_study(study, tmp_path / "nimh")
    loaded = load_study(tmp_path / "nimh")
    assert loaded.content_hash() == study.content_hash()
    assert loaded.metadata["credit"] == study.metadata["credit"]
    assert "ds005917" in (tmp_path / "nimh" / "README.txt").read_text()


def test_bad_arguments():
    with pytest.raises(ValueError, match="group"):
        import_nimh("XYZ")
    with pytest.raises(ValueError, match="timepoint"):
        import_nimh(timepoints=("day5",))


def test_inconsistent_source_reported(tmp_path):
    copy = tmp_path / "nimh"
    shutil.copytree(SOURCE, copy)
    phenotype = copy / "phenotype" / "phenotype.tsv"
    lines = phenotype.read_text().splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines, 1) if line.startswith("sub-MOA103\tses-p2"))
    lines[number - 1] = lines[number - 1].replace("ses-p2", "ses-d2")
    phenotype.write_text("".join(lines))
    with pytest.raises(StudyValidationError) as info:
        import_nimh("MDD", source=copy)
    (problem,) = info.value.problems
    assert (problem.file, problem.row, problem.column) == (
        "phenotype/phenotype.tsv",
        number,
        "session_id",
    )
    assert "never received ketamine" in problem.message


@pytest.mark.parametrize(
    ("scale", "column", "label", "maximum"),
    [("HAMD", "HAM17_Total", "HAM-D17", 52), ("HAMD6", "HAMD_Bech", "HAM-D6", 22)],
)
def test_hamd_scales_become_the_score(scale, column, label, maximum):
    study = import_nimh("all", timepoints=("day2", "day10"), scale=scale)
    assert (study.symptom_scale, study.symptom_bounds) == (label, (0.0, float(maximum)))
    sessions = {"ses-b0", "ses-d2", "ses-p2", "ses-d10", "ses-p10"}
    expected = Counter(r[column] for r in expected_ratings(("MDD", "BP", "HC"), sessions))
    got = Counter(
        "n/a" if s is None or s != s else str(int(s))
        for s in study.symptoms["score"].astype(object).where(study.symptoms["score"].notna())
    )
    assert got == expected
    assert "MADRS_Total" in study.symptoms.columns and column not in study.symptoms.columns
    assert sorted(study.participants["group"].unique()) == ["BP", "HC", "MDD"]


def test_unknown_scale():
    with pytest.raises(ValueError, match="unknown scale 'BDI'"):
        import_nimh(scale="BDI")
