"""BEIR SciFact (hybridlib.data.beir): hand-made and real files, bad qrels and corpus lines named."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridlib.data import (
    DataError,
    load_beir,
)

from .conftest import assert_names


def _beir_folder(root: Path, qrels: str) -> Path:
    folder = root / "mini"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(
        '{"_id": "d1", "title": "T", "text": "x"}\n{"_id": "d2", "title": "", "text": "y"}\n'
    )
    (folder / "queries.jsonl").write_text('{"_id": "q1", "text": "x?"}\n')
    (folder / "qrels" / "test.tsv").write_text(qrels)
    return folder


def test_beir_hand_made(tmp_path: Path) -> None:
    folder = tmp_path / "tiny"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(
        '{"_id": "d1", "title": "Cats", "text": "Cats purr."}\n'
        '{"_id": "d2", "title": "", "text": "Dogs bark."}\n'
        '{"_id": "d3", "text": "Fish swim."}\n'
    )
    (folder / "queries.jsonl").write_text(
        '{"_id": "q1", "text": "purr?"}\n'
        '{"_id": "q2", "text": "bark?"}\n'
        '{"_id": "q3", "text": "x"}\n'
    )
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq2\td2\t1\nq1\td1\t2\nq1\td3\t0\n"
    )
    suite = load_beir(folder, "test")
    assert suite.name == "beir/tiny/test"
    assert [(q.id, q.text, q.language) for q in suite.queries] == [
        ("q1", "purr?", "en"),
        ("q2", "bark?", "en"),
    ]
    assert [(c.id, c.text) for c in suite.candidates] == [
        ("d1", "Cats Cats purr."), ("d2", "Dogs bark."), ("d3", "Fish swim.")
    ]  # fmt: skip
    assert suite.qrels == {"q2": {"d2": 1}, "q1": {"d1": 2, "d3": 0}}


def test_beir_scifact_real(real_data_dir: Path) -> None:
    test = load_beir("scifact", "test", root=real_data_dir)
    assert len(test.queries) == 300 and sum(map(len, test.qrels.values())) == 339
    assert len(test.candidates) == 5183 and test.languages == ["en"]
    train = load_beir(real_data_dir / "beir" / "scifact", "train")
    assert len(train.queries) == 809 and sum(map(len, train.qrels.values())) == 919
    assert test.qrels["1"] == {"31715818": 1}


def test_qrels_line_with_the_wrong_number_of_columns(tmp_path: Path) -> None:
    folder = _beir_folder(tmp_path, "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1 d2 1\n")
    with pytest.raises(DataError, match="has 1 tab-separated columns, not 3") as caught:
        load_beir(folder)
    assert_names(caught.value, folder / "qrels" / "test.tsv", "line 3", "q1 d2 1")


def test_qrels_bad_score_and_unknown_ids(tmp_path: Path) -> None:
    folder = _beir_folder(tmp_path, "q1\td1\thigh\n")
    qrels = folder / "qrels" / "test.tsv"
    with pytest.raises(DataError, match="is not an integer") as caught:
        load_beir(folder)
    assert_names(caught.value, qrels, "line 1 score", "high")
    qrels.write_text("q1\td9\t1\n")
    with pytest.raises(DataError, match="is not in corpus.jsonl") as caught:
        load_beir(folder)
    assert_names(caught.value, qrels, "corpus-id", "d9")
    qrels.write_text("q7\td1\t1\n")
    with pytest.raises(DataError, match="is not in queries.jsonl") as caught:
        load_beir(folder)
    assert_names(caught.value, qrels, "query-id", "q7")


def test_malformed_jsonl_line_and_missing_field(tmp_path: Path) -> None:
    folder = _beir_folder(tmp_path, "q1\td1\t1\n")
    corpus = folder / "corpus.jsonl"
    corpus.write_text('{"_id": "d1", "text": "x"}\n{"_id": "d2", "text": "y"\n')
    with pytest.raises(DataError, match="is malformed JSON") as caught:
        load_beir(folder)
    assert_names(caught.value, corpus, "line 2, column 26", '": "d2", "text": "y"')
    corpus.write_text('{"_id": "d1", "text": "x"}\n{"_id": "d2", "body": "y"}\n')
    with pytest.raises(DataError, match="is missing") as caught:
        load_beir(folder)
    assert_names(caught.value, corpus, "line 2.text", None)
