"""Run records (hybridlib.run_records): a system's identity as the experiment records it,
written atomically and read back by one pair of functions that refuse what is not a record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybridlib import run_records
from hybridlib.run_records import (
    RUN_RECORD,
    baseline_record,
    read_run_records,
    trained_record,
    write_run_record,
)


def test_a_schedule_is_recorded_as_hybrid_with_its_end_and_a_pure_sampler_folds() -> None:
    record = trained_record("xquad-to-mlqa", "hybrid", 1.0, 2, "tiny", alpha_end=0.0)
    assert (record["sampler"], record["alpha"], record["alpha_end"]) == ("hybrid", 1.0, 0.0)
    assert (
        record["system"] == "Schedule(1.00→0.00)" and record["run_name"] == "hybrid-a1.00-0.00-s2"
    )
    plain = trained_record("xquad-to-mlqa", "hybrid", 1.0, 0, "tiny")
    assert (plain["sampler"], plain["system"], plain["alpha_end"]) == ("x-x", "X-X", None)
    assert plain["train_suite"] == "xquad-r" and plain["direction"] == "xquad-to-mlqa"


def test_records_are_written_and_read_back_by_one_pair(tmp_path: Path) -> None:
    trained = {**trained_record("mlqa-to-xquad", "hybrid", 0.5, 1, "tiny"), "suites": ["xquad-r"]}
    baseline = {**baseline_record("bm25", "tiny"), "suites": []}
    write_run_record(tmp_path / "b" / "hybrid-a0.50-s1", trained)
    write_run_record(tmp_path / "a" / "bm25", baseline)
    (tmp_path / "a" / "bm25" / "notes.json").write_text("{}")  # not a record: not read
    read = read_run_records(tmp_path)
    assert [folder.relative_to(tmp_path).as_posix() for folder, _ in read] == [
        "a/bm25",
        "b/hybrid-a0.50-s1",
    ]
    assert read[0][1] == baseline and read[1][1] == trained
    assert read_run_records(tmp_path / "nothing here") == []
    assert not list(tmp_path.rglob("*.tmp*"))  # nothing half-written left beside them


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2]", r"record = \[1, 2\] must be a JSON object"),
        ('{"system": "X-X"', r"JSON at line 1, column 17 = .* is malformed"),
        (
            json.dumps({"run_name": "x", "sampler": "x-x", "alpha": 1.0, "suites": []}),
            "system = <missing> is required in a run record",
        ),
        (
            json.dumps({"system": "X-X", "seed": "0", "suites": []}),
            "seed = '0' must be an integer",
        ),
        (
            json.dumps({**baseline_record("untrained", "tiny"), "suites": "xquad-r"}),
            "suites = 'xquad-r' must be a list of suite names",
        ),
    ],
)
def test_a_broken_record_is_refused_naming_file_and_field(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "run-a" / RUN_RECORD
    path.parent.mkdir()
    path.write_text(content)
    with pytest.raises(ValueError, match=f"{path}: {message}"):
        read_run_records(tmp_path)


def test_an_incomplete_record_is_never_written(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="seed = <missing> is required"):
        write_run_record(tmp_path, {"system": "X-X"})
    assert not (tmp_path / RUN_RECORD).exists()
    with pytest.raises(ValueError, match="must be 'untrained' or 'bm25', but got 'x-x'"):
        run_records.baseline_record("x-x", "tiny")
