"""Run records (hybridlib.run_records): a system's identity as the experiment records it,
written atomically and read back by one pair of functions that refuse what is not a record."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
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


def _evaluated(folder: Path, record: dict, weights: dict[str, str], trained_as=None) -> Path:
    """A run folder: ``record`` plus, per suite, a provenance whose model has ``weights[suite]``
    (``trained_as``: the identity its training metadata records)."""
    for suite, digest in weights.items():
        metadata = {"training": {"run": trained_as}} if trained_as is not None else {}
        parameters = {"model_fingerprint": {"model": "m", "weights_sha256": digest},
                      "postprocess": None, "model_metadata": metadata}  # fmt: skip
        (folder / suite).mkdir(parents=True)
        (folder / suite / "provenance.json").write_text(json.dumps({"parameters": parameters}))
    write_run_record(folder, {**record, "suites": list(weights)})
    return folder / RUN_RECORD


HYBRID_S1 = trained_record("mlqa-to-xquad", "hybrid", 0.5, 1, "tiny")


def test_a_run_record_must_describe_its_results(tmp_path: Path) -> None:
    """An edited or copied run.json is refused naming the file, the field and the value."""
    identity = run_records.trained_identity("hybrid", 0.5, 1)
    assert identity == {"sampler": "hybrid", "alpha": 0.5, "alpha_end": None, "seed": 1}
    _evaluated(tmp_path / "ok" / "r", HYBRID_S1, {"xquad-r": "aa"}, trained_as=identity)
    assert len(read_run_records(tmp_path / "ok")) == 1

    cases = {
        # the alpha edited (Hybrid(0.50) would be plotted at 0.25)
        "alpha = 0.25": ({**HYBRID_S1, "alpha": 0.25}, {"xquad-r": "aa"}, identity),
        # the seed edited: the model was trained with seed 1
        "seed = 3": ({**HYBRID_S1, "seed": 3}, {"xquad-r": "aa"}, identity),
        # the alpha deleted (reporting read NaN)
        "alpha = <missing>": (
            {k: v for k, v in HYBRID_S1.items() if k != "alpha"},
            {"xquad-r": "aa"},
            None,
        ),  # fmt: skip
        # one folder holding two models' results
        "model_fingerprint.weights_sha256 = 'bb'": (
            HYBRID_S1,
            {"mlqa-r": "aa", "xquad-r": "bb"},
            None,
        ),  # fmt: skip
        # a record naming another model than its results
        "model_sha256 = 'cc'": ({**HYBRID_S1, "model_sha256": "cc"}, {"xquad-r": "aa"}, None),
    }
    for n, (expected, (record, weights, trained_as)) in enumerate(cases.items()):
        root = tmp_path / f"case{n}"
        run_file = _evaluated(root / "r", record, weights, trained_as)
        with pytest.raises(ValueError, match=re.escape(expected)) as caught:
            read_run_records(root)
        assert str(run_file.parent) in str(caught.value)


def test_a_copied_run_is_not_another_seed(tmp_path: Path) -> None:
    """Copied unchanged, it is the same unit twice (refused by the reader of a comparison);
    copied with its seed edited, its model says which seed it was trained with."""
    from hybridlib.reporting.results import load_results

    identity = run_records.trained_identity("hybrid", 0.5, 1)
    for name in ("a", "b"):
        _evaluated(tmp_path / name, HYBRID_S1, {"xquad-r": "aa"}, trained_as=identity)
        per_query = pd.DataFrame({"suite": ["xquad-r"], "setting": ["mono"], "query_language": ["en"],
                                  "candidate_language": ["en"], "query_id": ["q"], "cluster": ["q"],
                                  "metric": ["map"], "value": [1.0]})  # fmt: skip
        per_query.to_csv(tmp_path / name / "xquad-r" / "per_query.csv.gz", index=False)
    with pytest.raises(ValueError, match=r"b/run.json: seed = 1 makes Hybrid\(0.50\) seed 1 on "
                       r"xquad-r a second time \(first in .*a/run.json\)"):  # fmt: skip
        load_results(tmp_path)
    record = json.loads((tmp_path / "b" / RUN_RECORD).read_text())
    (tmp_path / "b" / RUN_RECORD).write_text(json.dumps({**record, "seed": 2}))
    with pytest.raises(ValueError, match="seed = 2 but the model .* was trained with seed = 1"):
        load_results(tmp_path)
