"""Validation of study folders: every bad input reported with file, line and column."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bayes_ketamine.data import Problem, StudyValidationError, load_study, write_study

TOML = 'name = "Test study"\nconditions = ["placebo", "naltrexone"]\n'
PARTICIPANTS = """participant_id,sex,sequence,age,site
p1,F,placebo-naltrexone,30,A
p2,M,naltrexone-placebo,41,B
p3,F,,25,A
"""
FMRS = """participant_id,session,condition,block,time_min,glx,crlb_pct
p1,1,placebo,0,-10,0.95,4.1
p1,1,placebo,1,5,0.99,4.2
p1,2,naltrexone,0,-10,0.94,4.0
p1,2,naltrexone,1,5,0.97,
p2,1,naltrexone,0,-10,1.01,5.0
p2,1,naltrexone,1,5,1.02,5.1
p2,2,placebo,0,-10,0.98,4.4
p2,2,placebo,1,5,1.05,4.5
"""
SYMPTOMS = """participant_id,session,condition,timepoint,hours,score
p1,1,placebo,pre,-1,30
p1,1,placebo,24h,24,18
p1,2,naltrexone,pre,-1,28
p1,2,naltrexone,24h,24,n/a
p2,1,naltrexone,pre,-1,33
p2,1,naltrexone,24h,24,25
p2,2,placebo,pre,-1,31
p2,2,placebo,24h,24,
p3,1,placebo,pre,-1,27
p3,1,placebo,24h,24,NA
"""
FILES = {
    "study.toml": TOML,
    "participants.csv": PARTICIPANTS,
    "fmrs.csv": FMRS,
    "symptoms.csv": SYMPTOMS,
}


def make_study(tmp_path: Path, **changes: str | bytes | None) -> Path:
    """Write the valid base study with some files replaced (``None`` removes one).

    Keyword names are file names with ``.`` replaced by ``_`` (``fmrs_csv``).
    """
    folder = tmp_path / "study"
    folder.mkdir(parents=True)
    files: dict[str, str | bytes | None] = dict(FILES)
    for key, value in changes.items():
        files[key[: key.rindex("_")] + "." + key[key.rindex("_") + 1 :]] = value
    for name, content in files.items():
        if content is None:
            continue
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def edit_line(text: str, line: int, old: str, new: str) -> str:
    """Replace ``old`` by ``new`` on one 1-based line of ``text``."""
    lines = text.splitlines(keepends=True)
    assert old in lines[line - 1], (old, lines[line - 1])
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    return "".join(lines)


def problems(folder: Path) -> list[Problem]:
    with pytest.raises(StudyValidationError) as info:
        load_study(folder)
    return info.value.problems


def find(found: list[Problem], file: str, row: int | None, column: str | None) -> Problem:
    matches = [p for p in found if (p.file, p.row, p.column) == (file, row, column)]
    assert matches, f"no problem at {file}, {row}, {column}; got:\n" + "\n".join(map(str, found))
    return matches[0]


def test_valid_study_loads_with_types_and_keeps_missing(tmp_path):
    study = load_study(make_study(tmp_path))
    assert study.name == "Test study"
    assert study.conditions == ("placebo", "naltrexone")
    assert not study.simulated
    assert study.symptom_bounds == (0.0, 60.0)
    assert study.metadata["fmrs"]["metabolite"] == "Glx/tNAA"
    assert study.fmrs["session"].dtype == "int64"
    assert study.fmrs["glx"].dtype == "float64"
    assert study.symptoms["score"].dtype == "Int64"
    assert study.symptoms["score"].isna().sum() == 3
    assert pd.isna(study.fmrs.loc[3, "crlb_pct"])
    assert pd.isna(study.participants.loc[2, "sequence"])
    assert study.participants["site"].tolist() == ["A", "B", "A"]
    assert study.participants["age"].tolist() == [30.0, 41.0, 25.0]
    assert (study.symptoms["scale"] == "MADRS").all()


def test_summary_counts(tmp_path):
    summary = load_study(make_study(tmp_path)).summary()
    periods = dict(zip(summary.periods["periods"], summary.periods["participants"], strict=True))
    assert periods == {2: 2, 1: 1, 0: 0}
    table = summary.by_sex_and_sequence
    assert table.loc["total", "total"] == 3
    assert table.loc["(not given)", "F"] == 1
    assert table.loc["placebo-naltrexone", "F"] == 1
    rows = summary.measurements.set_index("table")
    assert rows.loc["fmrs", "rows"] == 8
    assert rows.loc["symptoms", "missing"] == 3
    assert summary.missing_scores["missing"].sum() == 3
    assert "Completed periods" in str(summary)


def test_participant_without_measurements_counts_as_zero_periods(tmp_path):
    folder = make_study(tmp_path, participants_csv=PARTICIPANTS + "p4,M,,,C\n")
    periods = load_study(folder).summary().periods.set_index("periods")["participants"]
    assert periods[0] == 1


def test_tsv_accepted(tmp_path):
    tsv = PARTICIPANTS.replace(",", "\t")
    folder = make_study(tmp_path, participants_csv=None, participants_tsv=tsv)
    assert len(load_study(folder).participants) == 3


def test_csv_and_tsv_both_present(tmp_path):
    folder = make_study(tmp_path, participants_tsv=PARTICIPANTS.replace(",", "\t"))
    problem = find(problems(folder), "participants.csv", None, None)
    assert "both participants.csv and participants.tsv" in problem.message


def test_missing_file(tmp_path):
    found = problems(make_study(tmp_path, symptoms_csv=None))
    assert find(found, "symptoms.csv", None, None).message == "required file is missing"


def test_missing_study_toml(tmp_path):
    found = problems(make_study(tmp_path, study_toml=None))
    assert "missing" in find(found, "study.toml", None, None).message


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_study(tmp_path / "nowhere")


def test_fmrs_is_optional(tmp_path):
    study = load_study(make_study(tmp_path, fmrs_csv=None))
    assert study.fmrs is None
    assert not study.has_fmrs
    assert "fmrs" not in study.metadata


def test_missing_required_column(tmp_path):
    fmrs = "\n".join(
        ",".join(line.split(",")[:5] + line.split(",")[6:]) for line in FMRS.split("\n")
    )
    found = problems(make_study(tmp_path, fmrs_csv=fmrs))
    assert find(found, "fmrs.csv", 1, "glx").message == (
        "required column is missing; the header has 'participant_id', 'session', "
        "'condition', 'block', 'time_min', 'crlb_pct'"
    )


def test_non_numeric_value(tmp_path):
    fmrs = edit_line(FMRS, 7, "1.02", "abc")
    with pytest.raises(StudyValidationError) as info:
        load_study(make_study(tmp_path, fmrs_csv=fmrs))
    assert len(info.value.problems) == 1
    assert "fmrs.csv, line 7, column 'glx': 'abc' is not a number" in str(info.value)


def test_unknown_sex(tmp_path):
    participants = edit_line(PARTICIPANTS, 3, ",M,", ",X,")
    problem = find(
        problems(make_study(tmp_path, participants_csv=participants)), "participants.csv", 3, "sex"
    )
    assert "unknown sex 'X'" in problem.message


def test_missing_sex(tmp_path):
    participants = edit_line(PARTICIPANTS, 3, ",M,", ",n/a,")
    problem = find(
        problems(make_study(tmp_path, participants_csv=participants)), "participants.csv", 3, "sex"
    )
    assert "a value is required" in problem.message


def test_unknown_condition(tmp_path):
    symptoms = edit_line(SYMPTOMS, 6, "naltrexone", "naltrexon")
    found = problems(make_study(tmp_path, symptoms_csv=symptoms))
    assert len(found) == 1
    assert "unknown condition 'naltrexon'" in find(found, "symptoms.csv", 6, "condition").message


def test_duplicate_fmrs_block(tmp_path):
    found = problems(make_study(tmp_path, fmrs_csv=FMRS + "p1,1,placebo,1,5,0.98,4.0\n"))
    assert "first on line 3" in find(found, "fmrs.csv", 10, "block").message


def test_duplicate_rating(tmp_path):
    found = problems(make_study(tmp_path, symptoms_csv=SYMPTOMS + "p2,1,naltrexone,pre,-1,30\n"))
    assert "first on line 6" in find(found, "symptoms.csv", 12, "timepoint").message


def test_duplicate_participant(tmp_path):
    found = problems(make_study(tmp_path, participants_csv=PARTICIPANTS + "p2,M,,,\n"))
    assert "first on line 3" in find(found, "participants.csv", 5, "participant_id").message


def test_participant_not_in_participants(tmp_path):
    symptoms = SYMPTOMS + "p9,1,placebo,pre,-1,20\np9,1,placebo,24h,24,10\n"
    found = problems(make_study(tmp_path, symptoms_csv=symptoms))
    assert len(found) == 1
    problem = find(found, "symptoms.csv", 12, "participant_id")
    assert problem.message == "participant 'p9' is not in participants.csv"


def test_same_condition_in_both_sessions(tmp_path):
    symptoms = SYMPTOMS + "p3,2,placebo,pre,-1,20\n"
    found = problems(make_study(tmp_path, symptoms_csv=symptoms))
    assert "in both sessions" in find(found, "symptoms.csv", 12, "condition").message


def test_session_not_one_or_two(tmp_path):
    fmrs = edit_line(FMRS, 2, "p1,1,", "p1,3,")
    found = problems(make_study(tmp_path, fmrs_csv=fmrs))
    assert find(found, "fmrs.csv", 2, "session").message == "session must be 1 or 2 (got 3)"


def test_session_rows_disagree_on_condition(tmp_path):
    symptoms = edit_line(SYMPTOMS, 3, "placebo", "naltrexone")
    found = problems(make_study(tmp_path, symptoms_csv=symptoms))
    message = find(found, "symptoms.csv", 3, "condition").message
    assert message == (
        "session 1 of participant 'p1' is 'placebo' on fmrs.csv line 2 but 'naltrexone' here"
    )


def test_sequence_inconsistent(tmp_path):
    participants = edit_line(PARTICIPANTS, 2, "placebo-naltrexone", "naltrexone-placebo")
    found = problems(make_study(tmp_path, participants_csv=participants))
    sequence = [
        p for p in found if (p.file, p.row, p.column) == ("participants.csv", 2, "sequence")
    ]
    assert len(sequence) == 2
    assert "puts 'naltrexone' in session 1" in sequence[0].message


def test_sequence_may_list_a_period_not_completed(tmp_path):
    participants = edit_line(PARTICIPANTS, 4, "F,,", "F,placebo-naltrexone,")
    study = load_study(make_study(tmp_path, participants_csv=participants))
    assert study.participants.loc[2, "sequence"] == "placebo-naltrexone"


def test_sequence_single_period_wrong(tmp_path):
    participants = edit_line(PARTICIPANTS, 4, "F,,", "F,naltrexone,")
    found = problems(make_study(tmp_path, participants_csv=participants))
    assert (
        "puts 'naltrexone' in session 1" in find(found, "participants.csv", 4, "sequence").message
    )


def test_sequence_with_unknown_label(tmp_path):
    participants = edit_line(PARTICIPANTS, 4, "F,,", "F,placebo-ketamine,")
    found = problems(make_study(tmp_path, participants_csv=participants))
    assert (
        "unknown condition(s) 'ketamine'" in find(found, "participants.csv", 4, "sequence").message
    )


def test_score_out_of_range(tmp_path):
    symptoms = edit_line(SYMPTOMS, 2, ",30", ",61")
    found = problems(make_study(tmp_path, symptoms_csv=symptoms))
    assert (
        find(found, "symptoms.csv", 2, "score").message == "'61' is outside the MADRS range [0, 60]"
    )


def test_score_out_of_custom_range(tmp_path):
    toml = TOML + '[symptoms]\nscale = "HAMD17"\nmin = 0\nmax = 52\n'
    symptoms = edit_line(SYMPTOMS, 6, ",33", ",53")
    found = problems(make_study(tmp_path, study_toml=toml, symptoms_csv=symptoms))
    assert "outside the HAMD17 range [0, 52]" in find(found, "symptoms.csv", 6, "score").message


def test_score_not_integer(tmp_path):
    symptoms = edit_line(SYMPTOMS, 2, ",30", ",12.5")
    found = problems(make_study(tmp_path, symptoms_csv=symptoms))
    assert find(found, "symptoms.csv", 2, "score").message == "'12.5' is not an integer"


def test_non_positive_glx_and_crlb(tmp_path):
    fmrs = edit_line(edit_line(FMRS, 2, "0.95", "0"), 3, "4.2", "-1")
    found = problems(make_study(tmp_path, fmrs_csv=fmrs))
    assert "greater than 0" in find(found, "fmrs.csv", 2, "glx").message
    assert "greater than 0" in find(found, "fmrs.csv", 3, "crlb_pct").message


def test_missing_and_nan_required_values(tmp_path):
    fmrs = edit_line(edit_line(FMRS, 4, "0.94", ""), 5, ",5,", ",nan,")
    symptoms = edit_line(SYMPTOMS, 8, ",-1,", ",n/a,")
    found = problems(make_study(tmp_path, fmrs_csv=fmrs, symptoms_csv=symptoms))
    assert "a value is required" in find(found, "fmrs.csv", 4, "glx").message
    assert "not a finite number" in find(found, "fmrs.csv", 5, "time_min").message
    assert "a value is required" in find(found, "symptoms.csv", 8, "hours").message


def test_empty_table(tmp_path):
    found = problems(make_study(tmp_path, fmrs_csv=FMRS.splitlines()[0] + "\n"))
    assert "no data rows" in find(found, "fmrs.csv", None, None).message


def test_empty_file(tmp_path):
    found = problems(make_study(tmp_path, participants_csv=""))
    assert "empty" in find(found, "participants.csv", None, None).message


def test_non_utf8_bytes(tmp_path):
    data = edit_line(SYMPTOMS, 4, "pre", "pr\udcff").encode("utf-8", "surrogateescape")
    found = problems(make_study(tmp_path, symptoms_csv=data))
    assert "not valid UTF-8" in find(found, "symptoms.csv", 4, None).message


def test_ragged_row(tmp_path):
    participants = edit_line(PARTICIPANTS, 3, ",B", ",B,extra")
    found = problems(make_study(tmp_path, participants_csv=participants))
    problem = find(found, "participants.csv", 3, None)
    assert problem.message == "row has 6 fields but the header has 5"


def test_metadata_problems(tmp_path):
    toml = 'conditions = ["placebo", "placebo"]\nsimulated = "yes"\n'
    found = problems(make_study(tmp_path, study_toml=toml))
    assert find(found, "study.toml", None, "name").message == "required key is missing"
    assert "must differ" in find(found, "study.toml", None, "conditions").message
    assert "true or false" in find(found, "study.toml", None, "simulated").message


def test_metadata_not_toml(tmp_path):
    found = problems(make_study(tmp_path, study_toml="name = \n"))
    assert "not valid TOML" in find(found, "study.toml", None, None).message


def test_every_problem_reported_at_once(tmp_path):
    participants = edit_line(PARTICIPANTS, 3, ",M,", ",X,")
    fmrs = edit_line(edit_line(FMRS, 7, "1.02", "abc"), 9, "1.05", "-0.5")
    symptoms = edit_line(SYMPTOMS, 2, ",30", ",99")
    folder = make_study(
        tmp_path, participants_csv=participants, fmrs_csv=fmrs, symptoms_csv=symptoms
    )
    with pytest.raises(StudyValidationError) as info:
        load_study(folder)
    text = str(info.value)
    assert text.startswith(f"{folder}: 4 problems found")
    for where in (
        "participants.csv, line 3, column 'sex'",
        "fmrs.csv, line 7, column 'glx'",
        "fmrs.csv, line 9, column 'glx'",
        "symptoms.csv, line 2, column 'score'",
    ):
        assert where in text


def test_write_refuses_to_overwrite_and_round_trips(tmp_path):
    study = load_study(make_study(tmp_path))
    out = tmp_path / "copy"
    write_study(study, out)
    assert load_study(out).content_hash() == study.content_hash()
    assert "SIMULATED" not in (out / "README.txt").read_text()
    with pytest.raises(FileExistsError):
        write_study(study, out)
    write_study(study, out, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy", "study"]


def test_malformed_quoting(tmp_path):
    participants = PARTICIPANTS + 'p4,"M,,,C\n'
    found = problems(make_study(tmp_path, participants_csv=participants))
    problem = find(found, "participants.csv", 5, None)
    assert problem.message.startswith("malformed row")


# Files as spreadsheet programs save them (issue 15).


def test_semicolon_separated_file_with_byte_order_mark(tmp_path):
    text = "\ufeff" + PARTICIPANTS.replace(",", ";")
    found = problems(make_study(tmp_path, participants_csv=text.encode("utf-8")))
    assert [str(p) for p in found] == [
        "participants.csv, line 1: header has one column "
        "'participant_id;sex;sequence;age;site': semicolon-separated? save it "
        "comma-separated as .csv (or tab-separated as .tsv)"
    ]


def test_tab_separated_csv_and_comma_separated_tsv(tmp_path):
    found = problems(make_study(tmp_path, participants_csv=PARTICIPANTS.replace(",", "\t")))
    assert [str(p) for p in found] == [
        "participants.csv, line 1: header has one column "
        "'participant_id\\tsex\\tsequence\\tage\\tsite': tab-separated? rename it to "
        "participants.tsv"
    ]
    folder = make_study(tmp_path / "tsv", participants_csv=None, participants_tsv=PARTICIPANTS)
    assert [p.message for p in problems(folder)] == [
        "header has one column 'participant_id,sex,sequence,age,site': comma-separated? "
        "rename it to participants.csv"
    ]


def test_utf16_file_is_named(tmp_path):
    found = problems(make_study(tmp_path, symptoms_csv=SYMPTOMS.encode("utf-16")))
    assert [str(p) for p in found] == [
        "symptoms.csv: the file is UTF-16 (it starts with a UTF-16 byte-order mark); save it "
        "as UTF-8 (in a spreadsheet program: 'CSV UTF-8')"
    ]


def test_header_case_and_whitespace_are_accepted(tmp_path):
    header = " Participant_ID , SEX ,Sequence,age,site"
    participants = header + PARTICIPANTS[PARTICIPANTS.index("\n") :]
    study = load_study(make_study(tmp_path, participants_csv=participants))
    assert list(study.participants.columns[:3]) == ["participant_id", "sex", "sequence"]
    assert study.participants["sex"].tolist() == ["F", "M", "F"]


def test_missing_column_names_the_header_found(tmp_path):
    participants = PARTICIPANTS.replace("participant_id,", "participant,", 1)
    found = problems(make_study(tmp_path, participants_csv=participants))
    assert str(found[0]) == (
        "participants.csv, line 1, column 'participant_id': required column is missing; "
        "the header has 'participant', 'sex', 'sequence', 'age', 'site'"
    )


def test_delimiter_only_rows_are_blank_lines(tmp_path):
    study = load_study(make_study(tmp_path, participants_csv=PARTICIPANTS + ",,,,\n , ,,,\n\n"))
    assert study.participants["participant_id"].tolist() == ["p1", "p2", "p3"]


def test_baseline_before_the_infusion_is_required(tmp_path):
    symptoms = SYMPTOMS.replace(",pre,-1,", ",pre,0,")
    found = problems(make_study(tmp_path, symptoms_csv=symptoms))
    assert [str(p) for p in found] == [
        "symptoms.csv, line 2, column 'hours': no timepoint is before the infusion "
        "(hours < 0); the models compare ratings before and after it. Timepoints: 'pre' "
        "at 0 h, '24h' at 24 h; give the baseline rating 'pre' negative hours if it was "
        "made before the infusion"
    ]
    symptoms = SYMPTOMS.replace(",24h,24,", ",24h,-2,")
    (problem,) = problems(make_study(tmp_path / "after", symptoms_csv=symptoms))
    assert (problem.file, problem.row, problem.column) == ("symptoms.csv", 2, "hours")
    assert problem.message.startswith("no timepoint is after the infusion (hours >= 0)")


def test_study_toml_typos_get_a_did_you_mean(tmp_path):
    toml = 'name = "Test"\ncondition = ["placebo", "naltrexone"]\n[symptoms]\nmaxx = 50\n'
    found = {str(p) for p in problems(make_study(tmp_path, study_toml=toml))}
    assert {
        "study.toml, column 'condition': unknown key 'condition'; did you mean 'conditions'?",
        "study.toml, column 'conditions': required key is missing",
        "study.toml, column 'symptoms.maxx': unknown key 'maxx' in [symptoms]; did you mean 'max'?",
    } <= found


def test_unrelated_study_toml_keys_are_kept(tmp_path):
    toml = TOML + 'site = "Mannheim"\n[symptoms]\nscale = "MADRS"\n'
    assert load_study(make_study(tmp_path, study_toml=toml)).metadata["site"] == "Mannheim"
    found = problems(make_study(tmp_path / "b", study_toml=TOML + "[symptoms]\nunit = 1\n"))
    assert [p.message for p in found] == [
        "unknown key 'unit' in [symptoms]; [symptoms] has scale, min, max"
    ]


def test_duplicate_message_shows_plain_numbers(tmp_path):
    symptoms = SYMPTOMS + "p1,1,placebo,pre,-1,29\n"
    (problem,) = problems(make_study(tmp_path, symptoms_csv=symptoms))
    assert str(problem) == (
        "symptoms.csv, line 12, column 'timepoint': duplicate rating (participant_id 'p1', "
        "session 1, timepoint 'pre'); first on line 2"
    )


THREE = TOML + "periods = 3\n"


def test_three_periods_allow_session_three_and_repeated_conditions(tmp_path):
    participants = edit_line(PARTICIPANTS, 2, "placebo-naltrexone", "placebo-naltrexone-naltrexone")
    symptoms = SYMPTOMS + "p1,3,naltrexone,pre,-1,26\np1,3,naltrexone,24h,24,20\n"
    study = load_study(
        make_study(tmp_path, study_toml=THREE, participants_csv=participants, symptoms_csv=symptoms)
    )
    assert study.periods == 3
    assert study.summary().periods["periods"].tolist() == [3, 2, 1, 0]
    assert study.to_xarray().sizes["session"] == 3


def test_sequence_longer_than_the_periods(tmp_path):
    participants = edit_line(PARTICIPANTS, 2, "placebo-naltrexone", "placebo-naltrexone-placebo")
    found = problems(make_study(tmp_path, participants_csv=participants))
    message = find(found, "participants.csv", 2, "sequence").message
    assert "lists 3 periods but the study has 2" in message


def test_sequence_with_a_single_condition(tmp_path):
    participants = edit_line(PARTICIPANTS, 4, "F,,", "F,placebo-placebo-placebo,")
    found = problems(make_study(tmp_path, study_toml=THREE, participants_csv=participants))
    assert "same condition" in find(found, "participants.csv", 4, "sequence").message


def test_session_beyond_the_periods_and_sequence(tmp_path):
    symptoms = SYMPTOMS + "p1,4,naltrexone,pre,-1,26\np2,3,placebo,pre,-1,26\n"
    found = problems(make_study(tmp_path, study_toml=THREE, symptoms_csv=symptoms))
    assert find(found, "symptoms.csv", 12, "session").message == "session must be 1 to 3 (got 4)"
    message = find(found, "participants.csv", 3, "sequence").message
    assert "lists 2 period(s) but participant 'p2' has data in session 3" in message


def test_bad_periods(tmp_path):
    found = problems(make_study(tmp_path, study_toml=TOML + "periods = 1\n"))
    assert "at least 2" in find(found, "study.toml", None, "periods").message


def test_three_conditions_and_an_unknown_one(tmp_path):
    toml = 'name = "Three arms"\nconditions = ["placebo", "naltrexone", "midazolam"]\n'
    participants = edit_line(PARTICIPANTS, 4, "F,,", "F,midazolam-placebo,")
    symptoms = edit_line(SYMPTOMS, 10, "p3,1,placebo", "p3,1,midazolam")
    symptoms = edit_line(symptoms, 11, "p3,1,placebo", "p3,1,midazolam")
    study = load_study(
        make_study(tmp_path, study_toml=toml, participants_csv=participants, symptoms_csv=symptoms)
    )
    assert study.conditions == ("placebo", "naltrexone", "midazolam")
    assert study.active_conditions == ("naltrexone", "midazolam")
    wrong = edit_line(symptoms, 10, "p3,1,midazolam", "p3,1,ketamine")
    (tmp_path / "b").mkdir()
    found = problems(
        make_study(
            tmp_path / "b", study_toml=toml, participants_csv=participants, symptoms_csv=wrong
        )
    )
    message = find(found, "symptoms.csv", 10, "condition").message
    assert "unknown condition 'ketamine'" in message and "'midazolam'" in message


def test_a_single_condition_is_an_error(tmp_path):
    toml = 'name = "One arm"\nconditions = ["placebo"]\n'
    found = problems(make_study(tmp_path, study_toml=toml))
    assert "at least two condition labels" in find(found, "study.toml", None, "conditions").message


BALAAM_TOML = TOML + "repeated_conditions = true\n"
P3_PLACEBO_TWICE = edit_line(PARTICIPANTS, 4, "F,,", "F,placebo-placebo,")
SYMPTOMS_PLACEBO_TWICE = SYMPTOMS + "p3,2,placebo,pre,-1,26\np3,2,placebo,24h,24,19\n"


def test_balaam_sequences_are_errors_unless_the_study_says_so(tmp_path):
    found = problems(
        make_study(tmp_path, participants_csv=P3_PLACEBO_TWICE, symptoms_csv=SYMPTOMS_PLACEBO_TWICE)
    )
    sequence = find(found, "participants.csv", 4, "sequence").message
    assert "at most once" in sequence and "repeated_conditions = true" in sequence
    session = find(found, "symptoms.csv", 12, "condition").message
    assert "in both sessions" in session and "repeated_conditions = true" in session
    (tmp_path / "balaam").mkdir()
    study = load_study(
        make_study(
            tmp_path / "balaam",
            study_toml=BALAAM_TOML,
            participants_csv=P3_PLACEBO_TWICE,
            symptoms_csv=SYMPTOMS_PLACEBO_TWICE,
        )
    )
    assert study.metadata["repeated_conditions"] is True
    assert study.participants["sequence"].tolist()[2] == "placebo-placebo"


def test_balaam_sequence_must_still_match_the_sessions(tmp_path):
    participants = edit_line(PARTICIPANTS, 4, "F,,", "F,naltrexone-naltrexone,")
    found = problems(
        make_study(
            tmp_path,
            study_toml=BALAAM_TOML,
            participants_csv=participants,
            symptoms_csv=SYMPTOMS_PLACEBO_TWICE,
        )
    )
    messages = [
        p.message for p in found if (p.file, p.row, p.column) == ("participants.csv", 4, "sequence")
    ]
    assert any("puts 'naltrexone' in session 1" in m for m in messages)
    assert any("puts 'naltrexone' in session 2" in m for m in messages)


def test_repeated_conditions_must_be_true_or_false(tmp_path):
    found = problems(make_study(tmp_path, study_toml=TOML + 'repeated_conditions = "yes"\n'))
    message = find(found, "study.toml", None, "repeated_conditions").message
    assert message == "must be true or false, got 'yes'"
